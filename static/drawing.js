/* drawing.js: the canvas, the pens and the strokes a person draws on it.

   A stroke's points are kept as fractions (0..1) of the canvas's displayed size, read from
   getBoundingClientRect(), so they are right when CSS scales the canvas, when the page is
   scrolled and on high-DPI screens. The on-screen backing store is the CSS size times
   devicePixelRatio; pen widths are fractions of the canvas's shorter side (its height on a
   wide canvas), so they scale with it. What is sent to the server is strokesPayload()
   (server.js states that contract).

   A tap (a stroke that barely moved, quickly lifted) is first offered to onTap: when it
   chooses a digit of the number on screen (number.js), it is not ink.
*/

// fraction of the canvas's shorter side; digits/canvas.py has the same table (a test holds
// them equal)
const PEN_WIDTHS = { thin: 0.03, medium: 0.055, thick: 0.09 };
const TAP_MOVE = 0.015; // at most this far (fraction of the shorter side) ...
const TAP_MS = 350; // ... and this long: a tap, not a dot drawn with care

const canvas = document.getElementById("canvas");
const ctx = canvas.getContext("2d");
const paper = canvas.parentElement;

const state = {
  strokes: [], // [{width, points: [[x, y], ...]}], x and y in 0..1 of the canvas
  drawing: null, // the stroke under the active pointer, also the last item of strokes
  pointerId: null, // one pointer draws at a time: a second finger is ignored
  pen: "medium",
  downAt: 0, // when the active stroke began (performance.now())
  turn: 0, // bumped by every change and every request: only the latest answer is shown
  frame: 0, // pending requestAnimationFrame id
  onStrokeStart: () => {},
  onStrokeEnd: () => {},
  onTap: () => false, // ([x, y] in canvas fractions): true when the tap was taken
};

// ------------------------------------------------------------------------------ turns

// A new turn: any answer still on its way belongs to an older one and will not be shown.
export function newTurn() {
  state.turn += 1;
  return state.turn;
}

export function isLatestTurn(turn) {
  return turn === state.turn;
}

export function currentTurn() {
  return state.turn;
}

// ------------------------------------------------------------------------------ what is drawn

export function hasInk() {
  return state.strokes.length > 0;
}

export function isDrawing() {
  return state.pointerId !== null;
}

// A key that names this drawing: equal keys, the same strokes.
export function drawingKey() {
  return JSON.stringify(state.strokes);
}

// The canvas's CSS size [width, height]: the units of strokesPayload(), and of the boxes back.
export function canvasSize() {
  const width = canvas.clientWidth || 1;
  return [width, canvas.clientHeight || width];
}

function shorterSide(width, height) {
  return Math.min(width, height);
}

// The strokes (all of them, or those at `indices`) and the pen, as the server takes them.
export function strokesPayload(indices = null) {
  // Points and pen in CSS pixels of the canvas, rounded to 0.01 px (server.js, the contract).
  const [width, height] = canvasSize();
  const round = (v) => Math.round(v * 100) / 100;
  const strokes = indices ? indices.map((i) => state.strokes[i]).filter(Boolean) : state.strokes;
  return {
    strokes: strokes.map((stroke) => stroke.points.map(([x, y]) => [round(x * width), round(y * height)])),
    pen: round(Math.max(...strokes.map((stroke) => stroke.width)) * shorterSide(width, height)),
  };
}

// ------------------------------------------------------------------------------ rendering

function drawStroke(context, stroke, width, height) {
  const points = stroke.points.map(([x, y]) => [x * width, y * height]);
  const lineWidth = stroke.width * shorterSide(width, height);
  const [x0, y0] = points[0];
  const isDot = points.every(([x, y]) => x === x0 && y === y0);
  if (isDot) {
    context.beginPath();
    context.arc(x0, y0, lineWidth / 2, 0, 2 * Math.PI);
    context.fill();
    return;
  }
  // Quadratic smoothing: each recorded point is a control point, and the curve passes
  // through the midpoints between consecutive points (digits/canvas.py smooths the same way).
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

function render() {
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.save();
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  const ink = getComputedStyle(canvas).color; // the style sheet's ink: light or dark theme
  ctx.strokeStyle = ink;
  ctx.fillStyle = ink;
  for (const stroke of state.strokes) drawStroke(ctx, stroke, canvas.width, canvas.height);
  ctx.restore();
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
  state.downAt = performance.now();
  newTurn(); // an answer still on its way is for an older drawing
  state.onStrokeStart();
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
  const stroke = state.drawing;
  state.pointerId = null;
  state.drawing = null;
  if (event.type === "pointerup" && isTap(stroke)) {
    state.strokes.pop(); // offered as a tap first: not ink, if it is taken
    if (state.onTap(stroke.points[0])) {
      render();
      return;
    }
    state.strokes.push(stroke);
  }
  render();
  state.onStrokeEnd();
}

function isTap(stroke) {
  const [width, height] = canvasSize();
  const side = shorterSide(width, height);
  const [x0, y0] = stroke.points[0];
  const still = stroke.points.every(([x, y]) =>
    Math.hypot((x - x0) * width, (y - y0) * height) <= TAP_MOVE * side);
  return still && performance.now() - state.downAt <= TAP_MS;
}

// ------------------------------------------------------------------------------ commands

// Empty the canvas (a stroke being drawn is dropped too).
export function clearDrawing() {
  const pointerId = state.pointerId;
  state.pointerId = null; // first, so the lostpointercapture that follows is ignored
  if (pointerId !== null && canvas.hasPointerCapture(pointerId)) {
    canvas.releasePointerCapture(pointerId);
  }
  state.strokes = [];
  state.drawing = null;
  newTurn(); // forget any answer still on its way
  render();
}

// Remove the last stroke; false when there was none to remove (or one is being drawn).
export function undoStroke() {
  if (state.pointerId !== null || state.strokes.length === 0) return false;
  state.strokes.pop();
  newTurn();
  render();
  return true;
}

export function choosePen(name) {
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

function savedPen() {
  try {
    return localStorage.getItem("pen");
  } catch (err) {
    return null;
  }
}

// onStrokeStart(): a stroke began; onStrokeEnd(): the pen lifted; onTap([x, y]): a tap, true
// when it was taken (and so is not a stroke).
export function startDrawing({ onStrokeStart, onStrokeEnd, onTap }) {
  state.onStrokeStart = onStrokeStart;
  state.onStrokeEnd = onStrokeEnd;
  state.onTap = onTap;
  canvas.addEventListener("pointerdown", onPointerDown);
  canvas.addEventListener("pointermove", onPointerMove);
  canvas.addEventListener("pointerup", onPointerEnd);
  canvas.addEventListener("pointercancel", onPointerEnd);
  canvas.addEventListener("lostpointercapture", onPointerEnd);
  canvas.addEventListener("contextmenu", (event) => event.preventDefault());
  for (const radio of document.querySelectorAll('input[name="pen"]')) {
    radio.addEventListener("change", () => choosePen(radio.value));
  }
  const saved = savedPen();
  if (saved) choosePen(saved);
  new ResizeObserver(fitCanvas).observe(canvas);
  window.addEventListener("resize", fitCanvas);
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", render);
  fitCanvas();
}
