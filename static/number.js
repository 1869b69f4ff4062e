/* number.js: the digits of a number read from the drawing. Each digit's box is drawn over the
   canvas (#boxes, a layer that takes no pointer events: the pen draws through it), and a row
   of buttons under the answer (#number-digits) names the digits in order, so a keyboard or a
   screen reader can choose one too. A tap on a box chooses that digit as well: drawing.js
   hands such taps to answer.js, which asks digitAt() here.

   Boxes come from POST /api/read in the units of the strokes sent (CSS pixels of the canvas
   at that moment); they are kept as fractions of that size, so a resized canvas keeps them
   on their ink. What this is not: the reading (answer.js) or the canvas (drawing.js).
*/

const BOX_PADDING = 0.012; // fraction of the canvas's shorter side, around the ink

const layer = document.getElementById("boxes");
const row = document.getElementById("number-digits");

const number = {
  boxes: [], // [[x0, y0, x1, y1]] in canvas fractions, padded, one per digit
};

// Show the boxes and the buttons of `digits` (POST /api/read's), `chosen` marked;
// size: [width, height] of the canvas the strokes were sent in; onChoose(index).
export function showDigits(digits, chosen, [width, height], onChoose) {
  const pad = BOX_PADDING * Math.min(width, height);
  number.boxes = digits.map(({ box: [x0, y0, x1, y1] }) => [
    (x0 - pad) / width, (y0 - pad) / height, (x1 + pad) / width, (y1 + pad) / height]);
  layer.replaceChildren(...number.boxes.map(([x0, y0, x1, y1], i) => {
    const el = document.createElement("span");
    el.className = i === chosen ? "box chosen" : "box";
    Object.assign(el.style, {
      left: `${(100 * x0).toFixed(2)}%`, top: `${(100 * y0).toFixed(2)}%`,
      width: `${(100 * (x1 - x0)).toFixed(2)}%`, height: `${(100 * (y1 - y0)).toFixed(2)}%`,
    });
    el.dataset.index = String(i);
    return el;
  }));
  const focused = row.contains(document.activeElement) ? document.activeElement.dataset.index : null;
  row.replaceChildren(...digits.map(({ digit }, i) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = String(digit);
    button.dataset.index = String(i);
    button.setAttribute("aria-label", `Digit ${i + 1} of ${digits.length}: ${digit}`);
    button.setAttribute("aria-pressed", String(i === chosen));
    button.addEventListener("click", () => onChoose(i));
    return button;
  }));
  if (focused !== null) { // the row was rebuilt under the focus: keep it on the same digit
    const again = row.querySelector(`button[data-index="${focused}"]`);
    if (again) again.focus();
  }
  row.hidden = false;
  layer.hidden = false;
}

export function hideDigits() {
  number.boxes = [];
  layer.replaceChildren();
  row.replaceChildren();
  row.hidden = true;
  layer.hidden = true;
}

// The index of the digit whose box holds the point [x, y] (canvas fractions), or -1; where
// padded boxes overlap, the one whose centre is nearest.
export function digitAt([x, y]) {
  let best = -1;
  let bestDistance = Infinity;
  number.boxes.forEach(([x0, y0, x1, y1], i) => {
    if (x < x0 || x > x1 || y < y0 || y > y1) return;
    const distance = Math.hypot(x - (x0 + x1) / 2, y - (y0 + y1) / 2);
    if (distance < bestDistance) [best, bestDistance] = [i, distance];
  });
  return best;
}
