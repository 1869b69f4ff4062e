/* inside.js: the "Look inside" panel (#inside, a <details>). While it is open, each answer is
   followed by one POST /api/explain with the same strokes (web/explain.py says what comes
   back: small PNGs as data URLs, about 20 KB in all): the strokes of the chosen digit when a
   number was read (answer.js). A closed panel costs nothing. The panel follows #prediction's
   data-status (set again when another digit is chosen) rather than hooking into the other
   modules.
*/

import { aDigit, chosenStrokes } from "./answer.js";
import { currentTurn, strokesPayload } from "./drawing.js";
import { postJson, serverError } from "./server.js";

const INSIDE_RETRY_MS = 2000;

const predictionEl = document.getElementById("prediction");
const drawCard = document.getElementById("canvas").closest(".card");
const inside = {
  panel: document.getElementById("inside"),
  message: document.getElementById("inside-message"),
  neighbours: document.getElementById("inside-neighbours"),
  neighboursNote: document.getElementById("inside-neighbours-note"),
  latest: 0, // request counter: only the latest explanation is shown
  retry: 0, // timer id: asking again while the server is still reading the training digits
};

function insideStatus(status, message) {
  inside.panel.dataset.status = status;
  if (message !== undefined) inside.message.textContent = message;
}

function insideClear(message) {
  clearTimeout(inside.retry);
  inside.latest += 1; // an explanation still on its way is for an older drawing
  for (const img of inside.panel.querySelectorAll("img")) img.removeAttribute("src");
  inside.neighbours.replaceChildren();
  inside.neighboursNote.textContent = "";
  insideStatus("empty", message);
}

async function explainDrawing() {
  clearTimeout(inside.retry);
  const id = ++inside.latest;
  const turn = currentTurn(); // the answer this explains; a newer drawing makes it stale
  insideStatus("pending");
  let response;
  let answer;
  try {
    ({ response, answer } = await postJson("/api/explain", strokesPayload(chosenStrokes())));
  } catch (err) {
    if (id === inside.latest) insideStatus("error", "Could not reach the server to look inside.");
    return;
  }
  if (id !== inside.latest || turn !== currentTurn()) return;
  if (!response.ok || answer === null || !Array.isArray(answer.layers)) {
    insideStatus("error", serverError(response, answer));
    return;
  }
  showInside(answer);
}

function showInside(answer) {
  document.getElementById("inside-input").src = answer.input;
  document.getElementById("inside-saliency").src = answer.saliency;
  for (const el of inside.panel.querySelectorAll(".inside-digit")) el.textContent = aDigit(answer.digit);
  const [conv1, conv2] = answer.layers;
  document.getElementById("inside-filters").src = conv1 && conv1.filters ? conv1.filters : "";
  document.getElementById("inside-conv1").src = conv1 ? conv1.maps : "";
  document.getElementById("inside-conv2").src = conv2 ? conv2.maps : "";
  document.getElementById("inside-strongest").textContent = conv1
    ? `Strongest here: filters ${conv1.order.slice(0, 3).map((f) => f + 1).join(", ")}.` : "";
  showNeighbours(answer.neighbours);
  insideStatus("done", `Inside the network, for this ${answer.digit}:`);
}

function showNeighbours(neighbours) {
  const items = neighbours.digits.map(({ label, similarity, image }) => {
    const item = document.createElement("li");
    const img = document.createElement("img");
    img.src = image;
    img.width = 28;
    img.height = 28;
    img.alt = `a training ${label}`; // "a training 8": the article is the word's
    const caption = document.createElement("span");
    caption.textContent = `${label} · ${similarity.toFixed(2)}`;
    item.append(img, caption);
    return item;
  });
  inside.neighbours.replaceChildren(...items);
  inside.neighboursNote.textContent = neighbours.note || (items.length
    ? "Label · similarity (1.00: the network describes both the same way)." : "");
  if (neighbours.status === "building" && inside.panel.open) {
    inside.retry = setTimeout(() => {
      if (inside.panel.open && predictionEl.dataset.status === "done") explainDrawing();
    }, INSIDE_RETRY_MS);
  }
}

function onPredictionStatus() {
  const status = predictionEl.dataset.status;
  if (status === "done") {
    if (inside.panel.open) explainDrawing();
    else insideClear("Open to see inside the network for this drawing.");
  } else if (status === "pending") {
    insideStatus("pending");
  } else {
    insideClear(status === "error" ? "Nothing to look inside: the drawing was not read."
      : "Draw a digit to see inside.");
  }
}

function onToggle() {
  if (!inside.panel.open) {
    clearTimeout(inside.retry);
    return;
  }
  if (predictionEl.dataset.status === "done" && inside.panel.dataset.status !== "done") {
    explainDrawing();
  }
  // Where the drawing card stays put (sticky, beside the panel on wide screens) nothing moves:
  // the canvas and the answer stay where the pen is. On one column (phones) the panel's top
  // comes up to where the eye is.
  if (getComputedStyle(drawCard).position !== "sticky") {
    inside.panel.scrollIntoView({ block: "start", behavior: "smooth" });
  }
}

export function startInside() {
  // Enter on the focused summary opens the panel; the page's own Enter (predict) must not see it.
  inside.panel.querySelector("summary").addEventListener("keydown", (event) => {
    if (event.key === "Enter") event.stopPropagation();
  });
  new MutationObserver(onPredictionStatus).observe(predictionEl,
    { attributes: true, attributeFilter: ["data-status"] });
  inside.panel.addEventListener("toggle", onToggle);
}
