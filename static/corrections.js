/* corrections.js: after each answer the person confirms it ("Yes", or the key of the same
   digit) or picks the right digit (ten buttons, keys 0-9). The drawing goes to
   POST /api/drawings with its strokes, the label, the prediction and the person's opaque id
   (server.js), so the server reads this person's later drawings with their corrections
   (web/corrections.py), and nobody else's. After a correction the same drawing is read again,
   so the answer shown is the one the person will get from now on.
*/

import { aDigit } from "./answer.js";
import { drawingKey, hasInk, strokesPayload } from "./drawing.js";
import { errorSentence, personId, postJson } from "./server.js";

const teachEl = document.getElementById("teach");
const teachQuestion = document.getElementById("teach-question");
const confirmButton = document.getElementById("confirm");
const digitButtons = Array.from(document.querySelectorAll("#teach-digits button"));

const teaching = {
  predicted: null, // the digit on screen, or null when there is no answer to teach from
  savedFor: null, // drawingKey() of the drawing already saved: it is not sent twice
  savedLabel: null,
  savedPredicted: null, // what the network had said when the person answered
  sending: false,
  readAgain: () => {}, // asks for the answer again (after a correction)
};

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

// Called with each answer shown (digit, and whether corrections changed it), or with null.
export function offerCorrection(digit, adapted) {
  teaching.predicted = digit;
  if (digit === null) {
    if (!teaching.sending) setTeachState("idle", "Tell the network if it is right.");
    return;
  }
  if (teaching.savedFor === drawingKey()) {
    setTeachState("saved", savedSentence(digit));
    return;
  }
  confirmButton.textContent = `Yes, ${aDigit(digit)}`; // its name too: what is seen is what is said
  setTeachState("ask", adapted
    ? `Read as ${aDigit(digit)} from your corrections. Right?`
    : `Is it ${aDigit(digit)}? If not, pick the digit:`);
}

function savedSentence(shown) {
  const label = teaching.savedLabel;
  return label !== teaching.savedPredicted && label === shown
    ? `Saved as ${aDigit(label)}: drawings like this now read as ${aDigit(label)} for you.`
    : `Saved as ${aDigit(label)}. Thank you!`;
}

async function teach(label) {
  if (teaching.sending || teaching.predicted === null || !hasInk()) return;
  const key = drawingKey();
  const predicted = teaching.predicted;
  teaching.sending = true;
  setTeachState("sending", `Saving it as ${aDigit(label)}…`);
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
  if (drawingKey() !== key) return; // drawn on or cleared meanwhile
  if (!response || !response.ok) {
    const said = errorSentence(answer) || "the server could not be reached.";
    setTeachState("error", `Not saved: ${said} Try again?`);
    return;
  }
  teaching.savedFor = key;
  teaching.savedLabel = label;
  teaching.savedPredicted = predicted;
  setTeachState("saved", `Saved as ${aDigit(label)}. Thank you!`);
  if (label !== predicted) teaching.readAgain(); // show what this person will get from now on
}

function onTeachKey(event) {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
  if (!/^[0-9]$/.test(event.key) || digitButtons[0].disabled) return;
  event.preventDefault();
  teach(Number(event.key));
}

// readAgain(): ask for the answer to the same drawing again.
export function startCorrections({ readAgain }) {
  teaching.readAgain = readAgain;
  confirmButton.addEventListener("click", () => teach(teaching.predicted));
  digitButtons.forEach((button, d) => button.addEventListener("click", () => teach(d)));
  document.addEventListener("keydown", onTeachKey);
}
