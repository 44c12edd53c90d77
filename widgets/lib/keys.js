// Keys stay inside a widget. JupyterLab and Notebook 7 route every keydown on the page through
// Lumino's command registry: in command mode `m` makes the active cell Markdown, `d d` deletes
// it, Shift+Enter runs it. While focus is inside a widget, none of that may happen:
//   - JupyterLab 4 listens on the document in the bubbling phase: the widget's root stops the
//     key there, after the widget's own handlers ran;
//   - Notebook 7 listens in the capture phase, before any handler of the widget. There the
//     focused element carries `data-lm-suppress-shortcuts` for the key's duration, which makes
//     Lumino stop looking for shortcuts where it stands (the command-mode selectors end in
//     `:focus`, so it must be on the focused element itself). A listener on the window, which
//     captures before the document, sets it;
//   - VS Code, Colab and the classic Notebook listen on the document too: the root's stop
//     covers them.
// Chords with Ctrl, Alt or Meta (Ctrl+S saves, Ctrl+Shift+C opens the palette) are not command-
// mode keys and pass, except with Enter (Ctrl+Enter runs the cell).
// Stopping mousedown at the root keeps the notebook from taking the focus back: its mousedown
// handler focuses the cell's node, so the keys typed next would be the cell's. The cell still
// becomes active, through the focusin that the widget's own focus sends up.

const SUPPRESS = ["data-lm-suppress-shortcuts", "data-p-suppress-shortcuts"];
const MARK = "data-mlfm-keys";
const KEYS = ["keydown", "keyup", "keypress"];

/** Whether a key event is an application chord that the notebook should still see. @param {KeyboardEvent} ev */
export function passesThrough(ev) {
  return (ev.ctrlKey || ev.metaKey || ev.altKey) && ev.key !== "Enter";
}

/** @param {Event} ev */
function guard(ev) {
  const target = /** @type {Element | null} */ (ev.target);
  if (!target || typeof target.closest !== "function" || !target.closest(`[${MARK}]`)) return;
  const pass = passesThrough(/** @type {KeyboardEvent} */ (ev));
  for (const attr of SUPPRESS) {
    if (pass) target.removeAttribute(attr);
    else target.setAttribute(attr, "true");
  }
}

let guarding = false;

/** Keep every key pressed inside `root` (and the focus it needs) away from the notebook. @param {HTMLElement} root */
export function containKeys(root) {
  if (!guarding && typeof window !== "undefined") {
    for (const type of KEYS) window.addEventListener(type, guard, true);
    guarding = true;
  }
  root.setAttribute(MARK, "");
  /** @param {Event} ev */
  const stopKey = (ev) => {
    if (!passesThrough(/** @type {KeyboardEvent} */ (ev))) ev.stopPropagation();
  };
  /** @param {Event} ev */
  const stop = (ev) => ev.stopPropagation();
  for (const type of KEYS) root.addEventListener(type, stopKey);
  root.addEventListener("mousedown", stop);
  return () => {
    for (const type of KEYS) root.removeEventListener(type, stopKey);
    root.removeEventListener("mousedown", stop);
    root.removeAttribute(MARK);
  };
}

/**
 * Enter and Space activate `el` as a click would (for elements that are not buttons, such as a
 * sortable column header).
 * @param {HTMLElement} el @param {() => void} activate
 */
export function activateOnKeys(el, activate) {
  el.tabIndex = 0;
  el.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" || ev.key === " ") {
      ev.preventDefault();
      activate();
    }
  });
}
