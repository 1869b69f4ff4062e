/* answer.js: ask the server what the drawing is, and show the answer: the digit, a sentence,
   the ten probability bars and the 28 x 28 image the network saw (server.js: the contract).

   #prediction's data-status (empty, pending, done, error) is set last, after the text, so a
   script waiting for "done" reads the answer; the Look inside panel follows it too.
*/

import { hasInk, isDrawing, isLatestTurn, newTurn, strokesPayload } from "./drawing.js";
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
  onShown: () => {}, // (digit or null, adapted): the corrections follow each answer
};

export async function predict() {
  if (isDrawing()) return; // mid-stroke: the end of the stroke will ask
  const turn = newTurn();
  if (!hasInk()) {
    showEmpty("Nothing to read yet: draw a digit, and the network reads it when you lift your pen.");
    return;
  }
  setStatus("pending");
  let response;
  let reply;
  try {
    ({ response, answer: reply } = await postJson("/api/predict",
      { ...strokesPayload(), person: personId() }));
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
  } else if (!isAnswer(reply)) {
    showError("The server's answer could not be read. Please reload the page.");
  } else {
    showAnswer(reply);
  }
}

function isAnswer(reply) {
  return reply !== null && Number.isInteger(reply.digit) &&
    Array.isArray(reply.probabilities) && reply.probabilities.length === 10 &&
    Array.isArray(reply.input) && reply.input.length === 28;
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

function showAnswer({ digit, probabilities, input, adapted }) {
  const ranked = probabilities.map((p, d) => [p, d]).sort((a, b) => b[0] - a[0]);
  const [[p1, d1], [p2, d2]] = ranked;
  const unsure = p1 < answer.unsureBelow;
  predictionEl.textContent = String(digit);
  messageEl.textContent = unsure
    ? `Not sure: ${aDigit(d1)} (${percent(p1)}) or ${aDigit(d2)} (${percent(p2)})?`
    : `It looks like ${aDigit(d1)} (${p1 >= 0.995 && p1 < 1 ? "over 99%" : percent(p1)} sure).`;
  resultEl.classList.toggle("unsure", unsure);
  showBars(probabilities, digit);
  showSeen(input);
  answer.onShown(digit, adapted);
  setStatus("done");
}

function showNoResult(message, status) {
  predictionEl.textContent = "";
  messageEl.textContent = message;
  resultEl.classList.remove("unsure");
  showBars(null);
  showSeen(null);
  answer.onShown(null, false);
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

// onShown(digit, adapted) follows every answer shown, onShown(null) every emptied one.
export function startAnswer({ onShown }) {
  answer.onShown = onShown;
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => showSeen(seen.input));
  showEmpty();
  readUnsureLevel();
}
