/* answer.js: ask the server what the drawing is (POST /api/read: one digit or a number), and
   show the answer: the number, a sentence, and for the chosen digit its ten probability bars
   and the 28 x 28 image the network saw (server.js: the contract). With 2+ digits, number.js
   draws their boxes and lets the person choose one; the corrections and Look inside follow
   the chosen digit. /api/read reads each digit with the person's corrections (their id is
   sent); a drawing it finds no digit in is read whole once more (POST /api/predict), for a
   person who has labelled one like it.

   #prediction's text is the digit, or the number when several were drawn ("" for a drawing
   that is not a digit); its data-status (empty, pending, done, error) is set last, after the
   text, so a script waiting for "done" reads the answer; the Look inside panel follows it too.
*/

import { canvasSize, drawingKey, hasInk, isDrawing, isLatestTurn, newTurn,
  strokesPayload } from "./drawing.js";
import { hasCorrections } from "./mine.js";
import { digitAt, hideDigits, showDigits } from "./number.js";
import { getJson, personId, postJson, serverError } from "./server.js";

const predictionEl = document.getElementById("prediction");
const messageEl = document.getElementById("message");
const resultEl = document.querySelector(".result");
const seenCanvas = document.getElementById("seen");
const bars = Array.from(document.querySelectorAll("#probabilities .bar"));
const seen = { input: null }; // what #seen shows, drawn again when the colour scheme changes

const answer = {
  // Under this top probability the page says "not sure" and shows two. The server's model
  // carries its own level, set from real writers' digits by train.py; /api/health tells it.
  unsureBelow: 0.6,
  reading: null, // the reading shown: {key, number, digits, size}, or null
  chosen: 0, // the index of the chosen digit in reading.digits
  onShown: () => {}, // ({digit, strokes, adapted, key} or null): the corrections follow
};

export async function predict() {
  if (isDrawing()) return; // mid-stroke: the end of the stroke will ask
  const turn = newTurn();
  if (!hasInk()) {
    showEmpty("Nothing to read yet: draw a digit, and the network reads it when you lift your pen.");
    return;
  }
  setStatus("pending");
  const key = drawingKey();
  const size = canvasSize(); // the units of the strokes sent, and so of the boxes back
  let response;
  let reply;
  try {
    ({ response, answer: reply } = await postJson("/api/read",
      { ...strokesPayload(), person: personId() }));
    if (response.ok && isReading(reply) && reply.digits.length === 0 && hasCorrections()) {
      await withCorrections(reply, turn).catch(() => {}); // not reached: the plain reading stands
    }
  } catch (err) {
    if (!isLatestTurn(turn)) return;
    const slow = err && (err.name === "TimeoutError" || err.name === "AbortError");
    showError(slow
      ? "The server took too long to answer. Please try again."
      : "Could not reach the server. Is serve.py still running?");
    return;
  }
  if (!isLatestTurn(turn)) return; // a newer drawing exists: this answer is stale
  if (!response.ok) {
    showError(serverError(response, reply));
  } else if (!isReading(reply)) {
    showError("The server's answer could not be read. Please reload the page.");
  } else {
    showReading({ key, size, number: reply.number, digits: reply.digits });
  }
}

function isDigit(item) {
  return item !== null && typeof item === "object" && Number.isInteger(item.digit) &&
    Array.isArray(item.probabilities) && item.probabilities.length === 10 &&
    Array.isArray(item.input) && item.input.length === 28 &&
    Array.isArray(item.box) && item.box.length === 4 && Array.isArray(item.strokes);
}

function isReading(reply) {
  return reply !== null && typeof reply.number === "string" && Array.isArray(reply.digits) &&
    reply.digits.every(isDigit) && typeof reply.not_a_digit === "boolean";
}

// A drawing read as no digit, read whole with the person's corrections: they may have labelled
// one like it.
async function withCorrections(reply, turn) {
  const { strokes } = strokesPayload();
  const { response, answer: mine } = await postJson("/api/predict",
    { ...strokesPayload(), person: personId() });
  if (!isLatestTurn(turn) || !response.ok || !mine || !mine.adapted) return;
  const points = strokes.flat();
  const xs = points.map(([x]) => x);
  const ys = points.map(([, y]) => y);
  reply.digits = [{ digit: mine.digit, probabilities: mine.probabilities, input: mine.input,
    box: [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)],
    strokes: strokes.map((_, i) => i), adapted: true }];
  reply.number = String(mine.digit);
}

// A tap at canvas fractions [x, y]: true when it chose a digit of the reading on screen.
export function tapDigit(point) {
  const reading = answer.reading;
  if (!reading || reading.key !== drawingKey() || reading.digits.length < 2) return false;
  const index = digitAt(point);
  if (index < 0) return false;
  choose(index);
  return true;
}

function choose(index) {
  answer.chosen = index;
  showChosen();
}

// ------------------------------------------------------------------------------ showing it

// "a 7", "an 8": the article a digit takes when it is read aloud.
export function aDigit(digit) {
  return `${digit === 8 ? "an" : "a"} ${digit}`;
}

function percent(p) {
  // Rounded, except that nothing under 1 is shown as 100%: a certainty the model did not give.
  return `${p >= 0.995 && p < 1 ? 99 : Math.round(p * 100)}%`;
}

export function setStatus(status) {
  // Set last, after the text: a script waiting for data-status="done" then reads the answer.
  predictionEl.dataset.status = status;
  resultEl.dataset.status = status;
}

function showReading(reading) {
  const previous = answer.reading;
  const same = previous && previous.key === reading.key &&
    previous.digits.length === reading.digits.length; // read again: keep the chosen digit
  answer.reading = reading;
  answer.chosen = same ? Math.min(answer.chosen, reading.digits.length - 1) : 0;
  predictionEl.textContent = reading.number;
  predictionEl.style.setProperty("--chars", String(Math.max(1, reading.number.length)));
  if (reading.digits.length === 0) {
    messageEl.textContent = "That doesn't look like a digit. Try drawing it again?";
    resultEl.classList.remove("unsure");
    resultEl.dataset.reading = "not-a-digit";
    showBars(null);
    showSeen(null);
    hideDigits();
    const all = strokesPayload().strokes.map((_, i) => i); // if it is a digit, the person says
    answer.onShown({ digit: null, strokes: all, adapted: false, key: `${reading.key}#${all}` });
    setStatus("done");
    return;
  }
  resultEl.dataset.reading = reading.digits.length > 1 ? "number" : "digit";
  showChosen();
}

// The chosen digit of the reading on screen: its sentence, bars, 28 x 28 and box.
function showChosen() {
  const { key, digits, size } = answer.reading;
  const index = answer.chosen;
  const { digit, probabilities, input, strokes, adapted } = digits[index];
  const ranked = probabilities.map((p, d) => [p, d]).sort((a, b) => b[0] - a[0]);
  const [[p1, d1], [p2, d2]] = ranked;
  const unsure = p1 < answer.unsureBelow;
  const sentence = unsure
    ? `Not sure: ${aDigit(d1)} (${percent(p1)}) or ${aDigit(d2)} (${percent(p2)})?`
    : `It looks like ${aDigit(d1)} (${p1 >= 0.995 && p1 < 1 ? "over 99%" : percent(p1)} sure).`;
  messageEl.textContent = digits.length > 1 // "Digit 2 of 3: it looks like a 0 (98% sure)."
    ? `Digit ${index + 1} of ${digits.length}: ${sentence[0].toLowerCase()}${sentence.slice(1)}`
    : sentence;
  resultEl.classList.toggle("unsure", unsure);
  showBars(probabilities, digit);
  showSeen(input);
  if (digits.length > 1) showDigits(digits, index, size, choose);
  else hideDigits();
  answer.onShown({ digit, strokes, adapted: Boolean(adapted), key: `${key}#${strokes.join(",")}` });
  setStatus("done"); // again for a newly chosen digit: Look inside follows the status
}

// The strokes of the chosen digit (indices), or null for the whole drawing.
export function chosenStrokes() {
  const reading = answer.reading;
  if (!reading || reading.key !== drawingKey() || reading.digits.length === 0) return null;
  return reading.digits[answer.chosen].strokes;
}

function showNoResult(message, status) {
  answer.reading = null;
  hideDigits();
  delete resultEl.dataset.reading;
  predictionEl.textContent = "";
  messageEl.textContent = message;
  resultEl.classList.remove("unsure");
  showBars(null);
  showSeen(null);
  answer.onShown(null);
  setStatus(status);
}

export function showEmpty(message = "Draw a digit to begin.") {
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

// "rgb(29, 39, 51)" -> [29, 39, 51]
function rgb(colour) {
  return (colour.match(/[\d.]+/g) || [0, 0, 0]).slice(0, 3).map(Number);
}

// The network's input (MNIST polarity, 1.0 = ink) as ink on paper, in the colours the style
// sheet gives #seen (color: the ink, background: the paper), so it follows a dark theme too.
function showSeen(input) {
  seen.input = input;
  const style = getComputedStyle(seenCanvas);
  const ink = rgb(style.color);
  const paper = rgb(style.backgroundColor);
  const context = seenCanvas.getContext("2d");
  const image = context.createImageData(28, 28);
  for (let i = 0; i < 28 * 28; i++) {
    const v = input ? Math.min(1, Math.max(0, input[Math.floor(i / 28)][i % 28])) : 0;
    for (let c = 0; c < 3; c++) image.data[4 * i + c] = Math.round(paper[c] + v * (ink[c] - paper[c]));
    image.data[4 * i + 3] = 255;
  }
  context.putImageData(image, 0, 0);
}

async function readUnsureLevel() {
  const health = await getJson("/api/health");
  const level = health && health.unsure_below;
  if (typeof level === "number" && level > 0 && level < 1) answer.unsureBelow = level;
  // else keep the default: the page works the same, with the 0.6 level
}

// onShown({digit, strokes, adapted, key}) follows every digit shown (key names the digit's
// strokes in this drawing; digit null for a drawing read as no digit), onShown(null) every
// emptied answer.
export function startAnswer({ onShown }) {
  answer.onShown = onShown;
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => showSeen(seen.input));
  showEmpty();
  readUnsureLevel();
}
