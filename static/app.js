/* app.js: draw a digit, send its strokes to POST /api/predict, show what the network read.

   What is sent (written down here, once):
   - {"strokes": [[[x, y], ...], ...], "pen": w}: every pen-down trace in drawing order, as the
     points the pointer events gave, in CSS pixels of the canvas (y down), and the widest pen
     used, in the same pixels. The server needs nothing else: it scales and places the digit
     itself and draws the centre lines again with MNIST's own pen (digits/preprocess.py), so
     screen size, pixel density and the pen chosen here do not change what the network sees.
     "pen" only tells it when a drawing is a mere tap.
   - What comes back: "input", the 28 x 28 image the network saw, in MNIST polarity (1.0 = ink).
     It is shown here as dark ink on white, like the drawing.

   Coordinates: a stroke's points are stored as fractions (0..1) of the canvas's displayed size,
   read from getBoundingClientRect(), so they are right when CSS scales the canvas, when the page
   is scrolled and on high-DPI screens. The on-screen backing store is the CSS size times
   devicePixelRatio; pen widths are fractions of the canvas width, so they scale with it.
*/
"use strict";

const PEN_WIDTHS = { thin: 0.03, medium: 0.055, thick: 0.09 }; // fraction of the canvas width
const INK_ON_SCREEN = "#1d2733";
// Under this top probability the page says "not sure" and shows two. The server's model carries
// its own level, set from real writers' digits by train.py, and /api/health tells it.
let unsureBelow = 0.6;
const REQUEST_TIMEOUT_MS = 15000;
const PAPER_RGB = [255, 255, 255];
const INK_RGB = [29, 39, 51];

const canvas = document.getElementById("canvas");
const ctx = canvas.getContext("2d");
const paper = canvas.parentElement;
const predictionEl = document.getElementById("prediction");
const messageEl = document.getElementById("message");
const resultEl = document.querySelector(".result");
const seenCanvas = document.getElementById("seen");
const bars = Array.from(document.querySelectorAll("#probabilities .bar"));

const state = {
  strokes: [], // [{width, points: [[x, y], ...]}], x and y in 0..1 of the canvas
  drawing: null, // the stroke under the active pointer, also the last item of strokes
  pointerId: null, // one pointer draws at a time: a second finger is ignored
  pen: "medium",
  latest: 0, // request counter: only the answer to the latest drawing is shown
  frame: 0, // pending requestAnimationFrame id
};

// ------------------------------------------------------------------------------ drawing

function drawStroke(context, stroke, width, height) {
  const points = stroke.points.map(([x, y]) => [x * width, y * height]);
  const lineWidth = stroke.width * width;
  const [x0, y0] = points[0];
  const isDot = points.every(([x, y]) => x === x0 && y === y0);
  if (isDot) {
    context.beginPath();
    context.arc(x0, y0, lineWidth / 2, 0, 2 * Math.PI);
    context.fill();
    return;
  }
  // Quadratic smoothing: each recorded point is a control point, and the curve passes
  // through the midpoints between consecutive points.
  context.lineWidth = lineWidth;
  context.beginPath();
  context.moveTo(x0, y0);
  for (let i = 1; i < points.length - 1; i++) {
    const [x, y] = points[i];
    const [nx, ny] = points[i + 1];
    context.quadraticCurveTo(x, y, (x + nx) / 2, (y + ny) / 2);
  }
  const [xn, yn] = points[points.length - 1];
  context.lineTo(xn, yn);
  context.stroke();
}

function drawStrokes(context, strokes, width, height, colour) {
  context.save();
  context.lineCap = "round";
  context.lineJoin = "round";
  context.strokeStyle = colour;
  context.fillStyle = colour;
  for (const stroke of strokes) drawStroke(context, stroke, width, height);
  context.restore();
}

function render() {
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  drawStrokes(ctx, state.strokes, canvas.width, canvas.height, INK_ON_SCREEN);
  paper.classList.toggle("has-ink", state.strokes.length > 0);
}

function scheduleRender() {
  if (!state.frame) {
    state.frame = requestAnimationFrame(() => {
      state.frame = 0;
      render();
    });
  }
}

function fitCanvas() {
  // Backing store = CSS size x devicePixelRatio: crisp ink on high-DPI screens.
  const dpr = window.devicePixelRatio || 1;
  const width = Math.max(1, Math.round(canvas.clientWidth * dpr));
  const height = Math.max(1, Math.round(canvas.clientHeight * dpr));
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  render();
}

function strokesPayload() {
  // See the top of this file: points and pen in CSS pixels of the canvas, rounded to 0.01 px.
  const width = canvas.clientWidth || 1;
  const height = canvas.clientHeight || width;
  const round = (v) => Math.round(v * 100) / 100;
  return {
    strokes: state.strokes.map((stroke) => stroke.points.map(([x, y]) => [round(x * width), round(y * height)])),
    pen: round(Math.max(...state.strokes.map((stroke) => stroke.width)) * width),
  };
}

// ------------------------------------------------------------------------------ pointers

function pointFromEvent(event, rect) {
  return [(event.clientX - rect.left) / rect.width, (event.clientY - rect.top) / rect.height];
}

function addPoint(point) {
  const points = state.drawing.points;
  const [lx, ly] = points[points.length - 1];
  if (Math.abs(point[0] - lx) + Math.abs(point[1] - ly) > 0.001) points.push(point);
}

function onPointerDown(event) {
  if (state.pointerId !== null) return;
  if (event.pointerType === "mouse" && event.button !== 0) return;
  event.preventDefault();
  try {
    canvas.setPointerCapture(event.pointerId); // keep the stroke even outside the canvas
  } catch (err) {
    // an already-released pointer cannot be captured; drawing still works inside the canvas
  }
  state.pointerId = event.pointerId;
  state.drawing = { width: PEN_WIDTHS[state.pen], points: [pointFromEvent(event, canvas.getBoundingClientRect())] };
  state.strokes.push(state.drawing);
  state.latest += 1; // an answer still on its way is for an older drawing
  setStatus("pending");
  scheduleRender();
}

function onPointerMove(event) {
  if (event.pointerId !== state.pointerId) return;
  const rect = canvas.getBoundingClientRect();
  const coalesced = typeof event.getCoalescedEvents === "function" ? event.getCoalescedEvents() : [];
  for (const e of coalesced.length ? coalesced : [event]) addPoint(pointFromEvent(e, rect));
  scheduleRender();
}

function onPointerEnd(event) {
  if (event.pointerId !== state.pointerId) return;
  if (event.type === "pointerup") addPoint(pointFromEvent(event, canvas.getBoundingClientRect()));
  state.pointerId = null;
  state.drawing = null;
  render();
  predict();
}

// ------------------------------------------------------------------------------ the server

function timeoutSignal(ms) {
  if (typeof AbortSignal.timeout === "function") return AbortSignal.timeout(ms);
  const controller = new AbortController();
  setTimeout(() => controller.abort(), ms);
  return controller.signal;
}

// POST a JSON body. Resolves to {response, answer}, answer being null when the reply is not
// JSON; rejects when the server cannot be reached or takes over REQUEST_TIMEOUT_MS.
async function postJson(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    signal: timeoutSignal(REQUEST_TIMEOUT_MS),
  });
  return { response, answer: await response.json().catch(() => null) };
}

// The sentence a refusal carries ({"error": "..."}), or "" when it has none.
function errorSentence(answer) {
  return answer && typeof answer.error === "string" ? answer.error : "";
}

// What went wrong with a request the server answered: its own sentence, else its status.
function serverError(response, answer) {
  return errorSentence(answer) || `The server answered ${response.status} ${response.statusText}.`;
}

async function predict() {
  if (state.pointerId !== null) return; // mid-stroke: the end of the stroke will ask
  const id = ++state.latest;
  if (state.strokes.length === 0) {
    showEmpty("The canvas is empty: draw a digit first, then press Predict.");
    return;
  }
  setStatus("pending");
  let response;
  let answer;
  try {
    ({ response, answer } = await postJson("/api/predict",
      { ...strokesPayload(), person: personId() }));
  } catch (err) {
    if (id !== state.latest) return;
    const slow = err && (err.name === "TimeoutError" || err.name === "AbortError");
    showError(slow
      ? "The server took too long to answer. Please try again."
      : "Could not reach the server. Is serve.py still running?");
    return;
  }
  if (id !== state.latest) return; // a newer drawing exists: this answer is stale
  if (!response.ok) {
    showError(serverError(response, answer));
  } else if (!isAnswer(answer)) {
    showError("The server's answer could not be read. Please reload the page.");
  } else {
    showAnswer(answer);
  }
}

function isAnswer(answer) {
  return answer !== null && Number.isInteger(answer.digit) &&
    Array.isArray(answer.probabilities) && answer.probabilities.length === 10 &&
    Array.isArray(answer.input) && answer.input.length === 28;
}

// ------------------------------------------------------------------------------ the result

function percent(p) {
  // Rounded, except that nothing under 1 is shown as 100%: a certainty the model did not give.
  return `${p >= 0.995 && p < 1 ? 99 : Math.round(p * 100)}%`;
}

function setStatus(status) {
  // Set last, after the text: a script waiting for data-status="done" then reads the answer.
  predictionEl.dataset.status = status;
  resultEl.dataset.status = status;
}

function showAnswer({ digit, probabilities, input, adapted }) {
  const ranked = probabilities.map((p, d) => [p, d]).sort((a, b) => b[0] - a[0]);
  const [[p1, d1], [p2, d2]] = ranked;
  const unsure = p1 < unsureBelow;
  predictionEl.textContent = String(digit);
  messageEl.textContent = unsure
    ? `Not sure: a ${d1} (${percent(p1)}) or a ${d2} (${percent(p2)})?`
    : `It looks like a ${d1} (${p1 >= 0.995 && p1 < 1 ? "over 99%" : percent(p1)} sure).`;
  resultEl.classList.toggle("unsure", unsure);
  showBars(probabilities, digit);
  showSeen(input);
  offerTeaching(digit, adapted);
  setStatus("done");
}

function showNoResult(message, status) {
  predictionEl.textContent = "";
  messageEl.textContent = message;
  resultEl.classList.remove("unsure");
  showBars(null);
  showSeen(null);
  offerTeaching(null, false);
  setStatus(status);
}

function showEmpty(message) {
  showNoResult(message, "empty");
}

function showError(message) {
  showNoResult(message, "error");
}

function showBars(probabilities, digit) {
  bars.forEach((bar, d) => {
    const p = probabilities ? probabilities[d] : 0;
    bar.querySelector(".fill").style.height = `${(p * 100).toFixed(1)}%`;
    bar.querySelector(".pct").textContent = probabilities ? percent(p) : "–";
    bar.classList.toggle("best", probabilities !== null && d === digit);
  });
}

function showSeen(input) {
  const context = seenCanvas.getContext("2d");
  const image = context.createImageData(28, 28);
  for (let i = 0; i < 28 * 28; i++) {
    const v = input ? Math.min(1, Math.max(0, input[Math.floor(i / 28)][i % 28])) : 0;
    for (let c = 0; c < 3; c++) image.data[4 * i + c] = Math.round(PAPER_RGB[c] + v * (INK_RGB[c] - PAPER_RGB[c]));
    image.data[4 * i + 3] = 255;
  }
  context.putImageData(image, 0, 0);
}

// ------------------------------------------------------------------------------ commands

function clearAll() {
  const pointerId = state.pointerId;
  state.pointerId = null; // first, so the lostpointercapture that follows is ignored
  if (pointerId !== null && canvas.hasPointerCapture(pointerId)) {
    canvas.releasePointerCapture(pointerId);
  }
  state.strokes = [];
  state.drawing = null;
  state.latest += 1; // forget any answer still on its way
  render();
  showEmpty("Draw a digit to begin.");
}

function undo() {
  if (state.pointerId !== null || state.strokes.length === 0) return;
  state.strokes.pop();
  render();
  if (state.strokes.length === 0) {
    state.latest += 1;
    showEmpty("Draw a digit to begin.");
  } else {
    predict();
  }
}

function onKeyDown(event) {
  if (event.defaultPrevented || event.isComposing || event.altKey) return;
  const key = event.key;
  if ((event.ctrlKey || event.metaKey) && (key === "z" || key === "Z") && !event.shiftKey) {
    event.preventDefault();
    undo();
    return;
  }
  if (event.ctrlKey || event.metaKey) return;
  if (key === "Enter") {
    if (event.target instanceof HTMLButtonElement) return; // the button's own click handles it
    event.preventDefault();
    predict();
  } else if (["Escape", "Backspace", "Delete", "c", "C"].includes(key)) {
    event.preventDefault();
    clearAll();
  }
}

function choosePen(name) {
  if (!(name in PEN_WIDTHS)) return;
  state.pen = name;
  const radio = document.querySelector(`input[name="pen"][value="${name}"]`);
  if (radio) radio.checked = true;
  try {
    localStorage.setItem("pen", name);
  } catch (err) {
    // private browsing may refuse storage; the choice still holds for this visit
  }
}

function start() {
  canvas.addEventListener("pointerdown", onPointerDown);
  canvas.addEventListener("pointermove", onPointerMove);
  canvas.addEventListener("pointerup", onPointerEnd);
  canvas.addEventListener("pointercancel", onPointerEnd);
  canvas.addEventListener("lostpointercapture", onPointerEnd);
  canvas.addEventListener("contextmenu", (event) => event.preventDefault());
  document.getElementById("predict").addEventListener("click", () => predict());
  document.getElementById("clear").addEventListener("click", clearAll);
  document.getElementById("undo").addEventListener("click", undo);
  document.addEventListener("keydown", onKeyDown);
  for (const radio of document.querySelectorAll('input[name="pen"]')) {
    radio.addEventListener("change", () => choosePen(radio.value));
  }
  let saved = null;
  try {
    saved = localStorage.getItem("pen");
  } catch (err) {
    saved = null;
  }
  if (saved) choosePen(saved);
  new ResizeObserver(fitCanvas).observe(canvas);
  window.addEventListener("resize", fitCanvas);
  fitCanvas();
  showEmpty("Draw a digit to begin.");
  readUnsureLevel();
}

async function readUnsureLevel() {
  try {
    const response = await fetch("/api/health", { signal: timeoutSignal(REQUEST_TIMEOUT_MS) });
    const level = (await response.json()).unsure_below;
    if (typeof level === "number" && level > 0 && level < 1) unsureBelow = level;
  } catch (err) {
    // keep the default: the page works the same, with the 0.6 level
  }
}

// ------------------------------------------------------------------------------ teaching
/* After each answer the person confirms it ("Yes", or the key of the same digit) or picks the
   right digit (ten buttons, keys 0-9). The drawing goes to POST /api/drawings with its strokes,
   the label and the prediction, and with the person's opaque id: a random string made once and
   kept in localStorage, sent with every prediction too, so the server reads this person's later
   drawings with their corrections (web/corrections.py), and nobody else's. After a correction the
   same drawing is read again, so the answer shown is the one the person will get from now on. */

const teachEl = document.getElementById("teach");
const teachQuestion = document.getElementById("teach-question");
const confirmButton = document.getElementById("confirm");
const digitButtons = Array.from(document.querySelectorAll("#teach-digits button"));

const teaching = {
  predicted: null, // the digit on screen, or null when there is no answer to teach from
  savedFor: null, // JSON of the strokes already saved: the same drawing is not sent twice
  savedLabel: null,
  savedPredicted: null, // what the network had said when the person answered
  sending: false,
  person: null, // this visit's id when localStorage refuses to keep one
};

function personId() {
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
    teaching.person = teaching.person || make(); // private browsing: an id for this visit
    return teaching.person;
  }
}

function setTeachState(state, question) {
  teachEl.dataset.state = state;
  teachQuestion.textContent = question;
  const open = state === "ask" || state === "error";
  confirmButton.disabled = !open || teaching.predicted === null;
  digitButtons.forEach((button, d) => {
    button.disabled = !open;
    button.setAttribute("aria-pressed", String(state === "saved" && d === teaching.savedLabel));
  });
}

function offerTeaching(digit, adapted) {
  teaching.predicted = digit;
  if (digit === null) {
    if (!teaching.sending) setTeachState("idle", "Tell the network if it is right.");
    return;
  }
  if (teaching.savedFor === JSON.stringify(state.strokes)) {
    setTeachState("saved", savedSentence(digit));
    return;
  }
  confirmButton.textContent = `Yes, a ${digit}`;
  confirmButton.setAttribute("aria-label", `Yes, it is a ${digit}`);
  setTeachState("ask", adapted
    ? `Read as a ${digit} from your corrections. Right?`
    : `Is it a ${digit}? If not, pick the digit:`);
}

function savedSentence(shown) {
  const label = teaching.savedLabel;
  return label !== teaching.savedPredicted && label === shown
    ? `Saved as a ${label}: drawings like this now read as a ${label} for you.`
    : `Saved as a ${label}. Thank you!`;
}

async function teach(label) {
  if (teaching.sending || teaching.predicted === null || state.strokes.length === 0) return;
  const strokes = JSON.stringify(state.strokes);
  const predicted = teaching.predicted;
  teaching.sending = true;
  setTeachState("sending", `Saving it as a ${label}…`);
  let response = null;
  let answer = null;
  try {
    ({ response, answer } = await postJson("/api/drawings",
      { ...strokesPayload(), label, predicted, person: personId() }));
  } catch (err) {
    // the server was not reached: response stays null, and that is said below
  } finally {
    teaching.sending = false;
  }
  if (JSON.stringify(state.strokes) !== strokes) return; // drawn on or cleared meanwhile
  if (!response || !response.ok) {
    const said = errorSentence(answer) || "the server could not be reached.";
    setTeachState("error", `Not saved: ${said} Try again?`);
    return;
  }
  teaching.savedFor = strokes;
  teaching.savedLabel = label;
  teaching.savedPredicted = predicted;
  setTeachState("saved", `Saved as a ${label}. Thank you!`);
  if (label !== predicted) predict(); // show what this person will get from now on
}

function onTeachKey(event) {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
  if (!/^[0-9]$/.test(event.key) || digitButtons[0].disabled) return;
  event.preventDefault();
  teach(Number(event.key));
}

function startTeaching() {
  confirmButton.addEventListener("click", () => teach(teaching.predicted));
  digitButtons.forEach((button, d) => button.addEventListener("click", () => teach(d)));
  document.addEventListener("keydown", onTeachKey);
}

start();

// ============================================================================== look inside
// The "Look inside" panel (#inside, a <details>). While it is open, each answer of /api/predict
// is followed by one POST /api/explain with the same strokes (web/explain.py says what comes
// back: small PNGs as data URLs, about 20 KB in all). A closed panel costs nothing. The panel
// follows #prediction's data-status rather than hooking into the code above.

const inside = {
  panel: document.getElementById("inside"),
  message: document.getElementById("inside-message"),
  neighbours: document.getElementById("inside-neighbours"),
  neighboursNote: document.getElementById("inside-neighbours-note"),
  latest: 0, // request counter, as for predictions
  retry: 0, // timer id: asking again while the server is still reading the training digits
};
const INSIDE_RETRY_MS = 2000;

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
  const drawing = state.latest; // the prediction this explains; a newer one makes it stale
  insideStatus("pending");
  let response;
  let answer;
  try {
    ({ response, answer } = await postJson("/api/explain", strokesPayload()));
  } catch (err) {
    if (id === inside.latest) insideStatus("error", "Could not reach the server to look inside.");
    return;
  }
  if (id !== inside.latest || drawing !== state.latest) return;
  if (!response.ok || answer === null || !Array.isArray(answer.layers)) {
    insideStatus("error", serverError(response, answer));
    return;
  }
  showInside(answer);
}

function showInside(answer) {
  document.getElementById("inside-input").src = answer.input;
  document.getElementById("inside-saliency").src = answer.saliency;
  for (const el of inside.panel.querySelectorAll(".inside-digit")) el.textContent = String(answer.digit);
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
    img.alt = `a training ${label}`;
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

function startInside() {
  // Enter on the focused summary opens the panel; the page's own Enter (predict) must not see it.
  inside.panel.querySelector("summary").addEventListener("keydown", (event) => {
    if (event.key === "Enter") event.stopPropagation();
  });
  new MutationObserver(onPredictionStatus).observe(predictionEl,
    { attributes: true, attributeFilter: ["data-status"] });
  inside.panel.addEventListener("toggle", () => {
    if (!inside.panel.open) {
      clearTimeout(inside.retry);
      return;
    }
    if (predictionEl.dataset.status === "done" && inside.panel.dataset.status !== "done") {
      explainDrawing();
    }
    inside.panel.scrollIntoView({ block: "nearest" });
  });
}

startInside();


startTeaching();
