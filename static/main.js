/* main.js: the page's one starting point. Each feature is a module of its own:

     drawing.js      the canvas, the pens and the strokes
     answer.js       asking POST /api/read and showing the number, the bars, what it saw
     number.js       a number's digits: their boxes over the canvas, choosing one
     corrections.js  "Yes, a 7" or the right digit, kept with POST /api/drawings; Undo
     mine.js         "Your corrections: N · forget them"
     inside.js       the Look inside panel (POST /api/explain)
     server.js       requests, and the contract of what is sent and what comes back

   This file wires them together and holds the keys that are the page's, not a feature's.
   No build step: the browser loads these files as they are (type="module").
*/

import { predict, setStatus, showEmpty, startAnswer, tapDigit } from "./answer.js";
import { offerCorrection, startCorrections } from "./corrections.js";
import { clearDrawing, hasInk, startDrawing, undoStroke } from "./drawing.js";
import { startInside } from "./inside.js";
import { startMine } from "./mine.js";

function clearAll() {
  clearDrawing();
  showEmpty();
}

function undo() {
  if (!undoStroke()) return;
  if (hasInk()) predict();
  else showEmpty();
}

// The page's keys, as the footer names them: Backspace (or Ctrl+Z) undoes the last stroke;
// Esc, Delete or C clears; Enter reads the drawing again. Digits are corrections.js's.
function onKeyDown(event) {
  if (event.defaultPrevented || event.isComposing || event.altKey) return;
  const key = event.key;
  const ctrl = event.ctrlKey || event.metaKey;
  if ((ctrl && (key === "z" || key === "Z") && !event.shiftKey) || (!ctrl && key === "Backspace")) {
    event.preventDefault();
    undo();
  } else if (ctrl) {
    return;
  } else if (key === "Enter") {
    if (event.target instanceof HTMLButtonElement) return; // the button's own click handles it
    if (event.target instanceof Element && event.target.closest("summary")) return;
    event.preventDefault();
    predict();
  } else if (["Escape", "Delete", "c", "C"].includes(key)) {
    event.preventDefault();
    clearAll();
  }
}

function start() {
  startDrawing({ onStrokeStart: () => setStatus("pending"), onStrokeEnd: predict, onTap: tapDigit });
  startInside(); // before the first answer, so the panel follows every status
  startCorrections({ readAgain: predict });
  startAnswer({ onShown: offerCorrection });
  startMine(); // before the first answer: whether this person has corrections to read with
  document.getElementById("predict").addEventListener("click", () => predict());
  document.getElementById("clear").addEventListener("click", clearAll);
  document.getElementById("undo").addEventListener("click", undo);
  document.addEventListener("keydown", onKeyDown);
}

start();
