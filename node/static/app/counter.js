// A live character counter for a text field, counting as the protocol does (code points).
//
// The visible counter updates on every keystroke. Screen readers are told only when it
// matters (20 characters left, over the limit, back under it), not on every key.

import { textLength } from "./core.js";

const WARN_AT = 20;

/**
 * Tie `field` to its counter element (`<p class="counter" data-max="N">`); `live` is an
 * optional polite live region for the announcements. Returns a function telling whether
 * the text is within the limit.
 */
export function attachCounter(field, counter, live = null) {
  const max = Number(counter.dataset.max);
  let lastState = "ok";
  const update = () => {
    const used = textLength(field.value);
    const left = max - used;
    counter.textContent =
      left >= 0 ? `${used} of ${max} characters` : `${used} of ${max} characters: ${-left} too many`;
    const state = left < 0 ? "over" : left <= WARN_AT ? "near" : "ok";
    counter.classList.toggle("counter-near", state === "near");
    counter.classList.toggle("counter-over", state === "over");
    if (live && state !== lastState) {
      live.textContent =
        state === "over"
          ? `${-left} characters too many`
          : state === "near"
            ? `${left} characters left`
            : "";
    }
    lastState = state;
  };
  field.addEventListener("input", update);
  update();
  return () => textLength(field.value) <= max;
}
