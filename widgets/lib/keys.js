// Keys stay inside a widget. JupyterLab and Notebook 7 route every keydown on the page through
// Lumino's command registry: in command mode `m` makes the active cell Markdown, `d d` deletes
// it, Shift+Enter runs it. A widget holding focus must keep its keys to itself:
//   - `data-lm-suppress-shortcuts` makes Lumino stop looking for shortcut selectors where it
//     stands (JupyterLab 4 / Notebook 7; `data-p-` is the older spelling). Lumino walks up from
//     the focused element and the command-mode selectors end in `:focus`, so the focused
//     element matches before the walk reaches the root: every element that takes the focus
//     carries the attribute too. Notebook 7 listens in the capture phase, where this is the
//     only thing that holds;
//   - stopping keydown/keyup/keypress at the root covers frontends that listen on the document
//     in the bubbling phase (VS Code, Colab, classic Notebook), after the widget's own handlers;
//   - stopping mousedown at the root keeps the notebook from taking the focus back: its
//     mousedown handler focuses the cell's node (Notebook 7 does so after the widget had it), so
//     the keys typed next would be the cell's. The cell still becomes active, through the
//     focusin that the widget's own focus sends up.

const STOPPED = ["keydown", "keyup", "keypress", "mousedown"];

/** Keep every key pressed inside `root` (and the focus it needs) away from the notebook. @param {HTMLElement} root */
export function containKeys(root) {
  root.setAttribute("data-lm-suppress-shortcuts", "true");
  root.setAttribute("data-p-suppress-shortcuts", "true");
  /** @param {Event} ev */
  const stop = (ev) => ev.stopPropagation();
  /** @param {FocusEvent} ev */
  const mark = (ev) => {
    const el = /** @type {Element} */ (ev.target);
    if (el && el.setAttribute) {
      el.setAttribute("data-lm-suppress-shortcuts", "true");
      el.setAttribute("data-p-suppress-shortcuts", "true");
    }
  };
  for (const type of STOPPED) root.addEventListener(type, stop);
  root.addEventListener("focusin", mark);
  return () => {
    for (const type of STOPPED) root.removeEventListener(type, stop);
    root.removeEventListener("focusin", mark);
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
