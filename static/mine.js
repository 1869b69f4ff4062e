/* mine.js: a calm line under the answer, "Your corrections: N · forget them". N is the number
   of drawings this person labelled and the server keeps (GET /api/drawings/mine); "forget
   them" asks once more, then DELETE /api/drawings/mine removes them all and the line says how
   many went (server.js: the X-Person contract). The line stays hidden until there is
   something to say.
*/

import { asMine, errorSentence } from "./server.js";

const mineEl = document.getElementById("mine");
const textEl = document.getElementById("mine-text");
const forgetButton = document.getElementById("forget");
const yesButton = document.getElementById("forget-yes");
const keepButton = document.getElementById("forget-keep");

const mine = {
  count: 0, // what the server keeps for this person, as far as the page knows
};

function show(state, text) {
  mineEl.dataset.state = state; // "count", "ask" (forget them?), "forgetting", "said"
  mineEl.hidden = state === "count" && mine.count === 0;
  textEl.textContent = text;
  forgetButton.hidden = state !== "count";
  yesButton.hidden = keepButton.hidden = state !== "ask";
}

function showCount() {
  show("count", `Your corrections: ${mine.count}`);
}

function setCount(count) {
  mine.count = Math.max(0, count);
}

// The person's count changed by `delta` (a drawing saved, +1; one undone, -1).
export function counted(delta) {
  setCount(mine.count + delta);
  showCount();
}

// Whether the server keeps drawings of this person (answer.js then reads with them).
export function hasCorrections() {
  return mine.count > 0;
}

function ask() {
  const n = mine.count;
  show("ask", `Forget ${n === 1 ? "the drawing" : `all ${n} drawings`} you labelled? ` +
    "The network then reads your drawings as it reads everyone's.");
  keepButton.focus(); // the safe choice under the finger; Yes is one Tab away
}

async function forget() {
  show("forgetting", "Forgetting them…");
  let response = null;
  let answer = null;
  try {
    ({ response, answer } = await asMine("DELETE", "/api/drawings/mine"));
  } catch (err) {
    // not reached: said below
  }
  if (!response || !response.ok || !answer || !Number.isInteger(answer.deleted)) {
    show("said", `Not forgotten: ${errorSentence(answer) || "the server could not be reached."}`);
    forgetButton.hidden = false; // try again
    forgetButton.focus();
    return;
  }
  setCount(0);
  const n = answer.deleted;
  show("said", `Forgotten: ${n} ${n === 1 ? "drawing" : "drawings"} removed from the server.`);
  textEl.focus(); // the buttons went; the sentence that replaced them keeps the focus
}

async function readCount() {
  try {
    const { response, answer } = await asMine("GET", "/api/drawings/mine");
    if (response.ok && answer && Number.isInteger(answer.count)) setCount(answer.count);
  } catch (err) {
    // no server, or no store: the line stays hidden
  }
  if (mineEl.dataset.state !== "said") showCount();
}

export function startMine() {
  forgetButton.addEventListener("click", ask);
  yesButton.addEventListener("click", forget);
  keepButton.addEventListener("click", () => {
    showCount();
    forgetButton.focus();
  });
  showCount();
  readCount();
}
