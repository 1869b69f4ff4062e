/* corrections.js: after each answer the person confirms the chosen digit ("Yes", or the key
   of the same digit) or picks the right one (ten buttons, keys 0-9). That digit's strokes
   alone (all of them for a drawing of one digit) go to POST /api/drawings with the label,
   the prediction and the person's opaque id (server.js), so the server reads this person's
   later drawings with their corrections (web/corrections.py), and nobody else's: each digit
   of a number is its own labelled drawing. After a correction the same drawing is read
   again, so the answer shown is the one the person will get from now on.

   For a few seconds after a save an Undo button stands beside the sentence (longer while the
   pointer or the focus is on it): it deletes that drawing (DELETE /api/drawings/<id>) and the
   drawing is read again without it.
*/

import { aDigit } from "./answer.js";
import { drawingKey, hasInk, strokesPayload } from "./drawing.js";
import { counted } from "./mine.js";
import { asMine, errorSentence, personId, postJson } from "./server.js";

const UNDO_SHOWN_MS = 8000;

const teachEl = document.getElementById("teach");
const teachQuestion = document.getElementById("teach-question");
const confirmButton = document.getElementById("confirm");
const digitButtons = Array.from(document.querySelectorAll("#teach-digits button"));
const undoButton = document.getElementById("undo-save");

const teaching = {
  piece: null, // the digit on screen {digit, strokes, adapted, key}, or null: nothing to teach
  saved: new Map(), // piece key -> {label, predicted}: this drawing's digits already saved
  savedDrawing: "", // the drawingKey() those saves belong to
  savedId: null, // the server's id of the latest save, while it can be undone
  savedKey: null, // and its piece key
  undoTimer: 0,
  note: "", // said before the next question ("Undone.")
  sending: false,
  readAgain: () => {}, // asks for the answer again (after a correction)
};

function setTeachState(state, question) {
  teachEl.dataset.state = state;
  teachQuestion.textContent = question;
  const open = state === "ask" || state === "error";
  const saved = teaching.piece && teaching.saved.get(teaching.piece.key);
  confirmButton.disabled = !open || teaching.piece === null || teaching.piece.digit === null;
  confirmButton.hidden = teaching.piece !== null && teaching.piece.digit === null;
  digitButtons.forEach((button, d) => {
    button.disabled = !open;
    button.setAttribute("aria-pressed", String(state === "saved" && d === (saved ? saved.label : -1)));
  });
}

// Called with each digit shown ({digit, strokes, adapted, key}), or with null.
export function offerCorrection(piece) {
  teaching.piece = piece;
  if (teaching.savedDrawing !== drawingKey()) { // a new drawing: its digits are not saved yet
    teaching.saved.clear();
    teaching.savedDrawing = drawingKey();
  }
  if (piece === null) {
    if (!teaching.sending) setTeachState("idle", "Tell the network if it is right.");
    return;
  }
  const saved = teaching.saved.get(piece.key);
  if (saved) {
    setTeachState("saved", savedSentence(saved, piece.digit));
    return;
  }
  const digit = piece.digit;
  if (digit === null) { // read as no digit: the person may still say which digit it is
    setTeachState("ask", teaching.note + "If it is a digit, pick it:");
    teaching.note = "";
    return;
  }
  confirmButton.textContent = `Yes, ${aDigit(digit)}`; // its name too: what is seen is what is said
  setTeachState("ask", teaching.note + (piece.adapted
    ? `Read as ${aDigit(digit)} from your corrections. Right?`
    : `Is it ${aDigit(digit)}? If not, pick the digit:`));
  teaching.note = "";
}

function savedSentence({ label, predicted }, shown) {
  return label !== predicted && label === shown
    ? `Saved as ${aDigit(label)}: drawings like this now read as ${aDigit(label)} for you.`
    : `Saved as ${aDigit(label)}. Thank you!`;
}

async function teach(label) {
  const piece = teaching.piece;
  if (teaching.sending || piece === null || !hasInk()) return;
  const drawing = drawingKey();
  teaching.sending = true;
  setTeachState("sending", `Saving it as ${aDigit(label)}…`);
  let response = null;
  let answer = null;
  try {
    const predicted = piece.digit === null ? {} : { predicted: piece.digit };
    ({ response, answer } = await postJson("/api/drawings", {
      ...strokesPayload(piece.strokes), label, ...predicted, person: personId() }));
  } catch (err) {
    // the server was not reached: response stays null, and that is said below
  } finally {
    teaching.sending = false;
  }
  const kept = response !== null && response.ok;
  if (kept) { // kept, even if the drawing changed meanwhile: counted, and it can be undone
    counted(1);
    offerUndo(answer && Number.isInteger(answer.id) ? answer.id : null, piece.key);
  }
  if (drawingKey() !== drawing) return; // drawn on or cleared meanwhile
  if (!kept) {
    const said = errorSentence(answer) || "the server could not be reached.";
    if (teaching.piece === piece) setTeachState("error", `Not saved: ${said} Try again?`);
    return;
  }
  teaching.saved.set(piece.key, { label, predicted: piece.digit });
  if (teaching.piece === piece) setTeachState("saved", `Saved as ${aDigit(label)}. Thank you!`);
  if (label !== piece.digit) teaching.readAgain(); // show what this person will get from now on
}

// ------------------------------------------------------------------------------ undo

function offerUndo(id, key) {
  teaching.savedId = id;
  teaching.savedKey = key;
  undoButton.hidden = id === null;
  clearTimeout(teaching.undoTimer);
  teaching.undoTimer = setTimeout(hideUndoWhenLeft, UNDO_SHOWN_MS);
}

// Time is up: the button goes, unless the person is on it (then it goes when they leave it).
function hideUndoWhenLeft() {
  teaching.undoTimer = 0;
  if (undoButton.matches(":hover, :focus") || teaching.sending) return;
  undoButton.hidden = true;
  teaching.savedId = null;
}

function onLeaveUndo() {
  if (!teaching.undoTimer && !undoButton.hidden) setTimeout(hideUndoWhenLeft, 0);
}

async function undoSave() {
  const id = teaching.savedId;
  if (id === null || teaching.sending) return;
  teaching.sending = true;
  setTeachState("sending", "Undoing it…");
  let response = null;
  let answer = null;
  try {
    ({ response, answer } = await asMine("DELETE", `/api/drawings/${id}`));
  } catch (err) {
    // not reached: said below
  } finally {
    teaching.sending = false;
  }
  const gone = response !== null && (response.ok || response.status === 404); // 404: gone already
  if (!gone) {
    setTeachState("saved", `Not undone: ${errorSentence(answer) || "the server could not be reached."}`);
    return;
  }
  if (response.ok) counted(-1);
  clearTimeout(teaching.undoTimer);
  teaching.savedId = null;
  teaching.saved.delete(teaching.savedKey);
  undoButton.hidden = true;
  if (teaching.piece !== null && teaching.piece.key === teaching.savedKey) {
    teaching.note = "Undone. "; // said with the next question, once the drawing is read again
    setTeachState("ask", "Undone. Reading it again…");
    focusNextStep();
    teaching.readAgain(); // read without that drawing
  } else if (teaching.piece !== null) { // another drawing or digit is on screen: it stays
    offerCorrection(teaching.piece);
    teaching.note = "";
    teachQuestion.textContent = `Undone: that drawing is no longer kept. ${teachQuestion.textContent}`;
    focusNextStep();
  } else {
    setTeachState("idle", "Undone: that drawing is no longer kept.");
  }
}

// The Undo button went from under the focus: "Yes" takes it, or the first digit, or the canvas's
// nearest control.
function focusNextStep() {
  const next = [confirmButton, ...digitButtons].find((b) => !b.hidden && !b.disabled);
  (next || document.getElementById("predict")).focus();
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
  confirmButton.addEventListener("click", () => teaching.piece && teach(teaching.piece.digit));
  digitButtons.forEach((button, d) => button.addEventListener("click", () => teach(d)));
  undoButton.addEventListener("click", undoSave);
  undoButton.addEventListener("mouseleave", onLeaveUndo);
  undoButton.addEventListener("blur", onLeaveUndo);
  document.addEventListener("keydown", onTeachKey);
}
