/* server.js: every request the page makes, and what it sends and gets back.

   The contract with the server (written down here, once; the other modules point here):
   - Sent to POST /api/predict, /api/explain and /api/drawings:
     {"strokes": [[[x, y], ...], ...], "pen": w, "person": id}. "strokes" are the pen-down
     traces in drawing order, as the points the pointer events gave, in CSS pixels of the canvas
     (x right, y down); "pen" is the widest pen used, in the same pixels. No PNG is sent: the
     server scales and places the digit itself and draws the centre lines again with MNIST's own
     pen (digits/preprocess.py), so screen size, pixel density and the pen chosen here do not
     change what the network sees; "pen" only tells it when a drawing is a mere tap. "person" is
     this browser's opaque id (personId below), so a person's corrections count for them alone.
   - Back from /api/predict: "digit", "probabilities" (10 floats) and "input", the 28 x 28
     image the network saw, in MNIST polarity: 1.0 = ink, 0.0 = paper. The page shows it as ink
     on paper, like the drawing.
   - A person's own drawings: GET /api/drawings/mine ({"count": N, ...}), DELETE
     /api/drawings/<id> (undo one, {"deleted": 1}) and DELETE /api/drawings/mine (forget them
     all, {"deleted": N}), with personId() in the X-Person header (asMine below): the id is the
     only key, and it never goes in a URL.
*/

const REQUEST_TIMEOUT_MS = 15000;

export function timeoutSignal(ms = REQUEST_TIMEOUT_MS) {
  if (typeof AbortSignal.timeout === "function") return AbortSignal.timeout(ms);
  const controller = new AbortController();
  setTimeout(() => controller.abort(), ms);
  return controller.signal;
}

// POST a JSON body. Resolves to {response, answer}, answer being null when the reply is not
// JSON; rejects when the server cannot be reached or takes over REQUEST_TIMEOUT_MS.
export async function postJson(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    signal: timeoutSignal(),
  });
  return { response, answer: await response.json().catch(() => null) };
}

// A request about the person's own drawings, keyed by the X-Person header. Resolves to
// {response, answer} as postJson does; rejects when the server cannot be reached.
export async function asMine(method, url) {
  const response = await fetch(url, {
    method, headers: { "X-Person": personId() }, signal: timeoutSignal(),
  });
  return { response, answer: await response.json().catch(() => null) };
}

// GET a JSON answer, or null when the server cannot be reached or answers something else.
export async function getJson(url) {
  try {
    const response = await fetch(url, { signal: timeoutSignal() });
    return response.ok ? await response.json() : null;
  } catch (err) {
    return null;
  }
}

// The sentence a refusal carries ({"error": "..."}), or "" when it has none.
export function errorSentence(answer) {
  return answer && typeof answer.error === "string" ? answer.error : "";
}

// What went wrong with a request the server answered: its own sentence, else its status.
export function serverError(response, answer) {
  return errorSentence(answer) || `The server answered ${response.status} ${response.statusText}.`;
}

let visitId = null; // this visit's id when localStorage refuses to keep one

// A random string made once and kept in localStorage: the person's opaque id.
export function personId() {
  const make = () => Array.from(crypto.getRandomValues(new Uint8Array(16)),
    (b) => b.toString(16).padStart(2, "0")).join("");
  try {
    let id = localStorage.getItem("person");
    if (!id || !/^[0-9a-f]{32}$/.test(id)) {
      id = make();
      localStorage.setItem("person", id);
    }
    return id;
  } catch (err) {
    visitId = visitId || make(); // private browsing: an id for this visit
    return visitId;
  }
}
