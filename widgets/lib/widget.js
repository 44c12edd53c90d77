// What every widget's render() starts and ends with: the themed root that keeps its keys, the
// saved-notebook hook, the message channel, the note and error lines, and the cleanup.
import { h, show } from "./dom.js";
import { channel, listen } from "./channel.js";
import { containKeys } from "./keys.js";
import { persistOnSave } from "./persist.js";
import { printable } from "./text.js";

/** Classes that keep MathJax (3: `mathjax_ignore`, 2: `tex2jax_ignore`) from typesetting "$"
 * pairs in untrusted text as LaTeX, on every widget's root (the static HTML's roots have them
 * too). */
export const NO_MATH = "mathjax_ignore tex2jax_ignore";

/**
 * Start a widget inside `el`: a root `<div class="mlfm {cls} mathjax_ignore tex2jax_ignore">`.
 * @param {any} model anywidget's model @param {HTMLElement} el @param {string} cls
 */
export function widget(model, el, cls) {
  persistOnSave(model);
  const root = h("div", `mlfm ${cls} ${NO_MATH}`);
  const uncontain = containKeys(root);
  el.append(root);
  const chan = channel(model, root);
  return {
    root,
    /** Send an action ({action, ...}); resolves with Python's reply. */
    send: chan.send,
    /**
     * The one-sentence lines fed by the `note` (if `withNote`) and `error` traits, classed
     * `{prefix}-note` / `{prefix}-error`; `render` redraws them from the model.
     * @param {string} prefix @param {boolean} [withNote]
     */
    status(prefix, withNote = true) {
      const note = h("div", `mlfm-note ${prefix}-note`);
      const error = h("div", `mlfm-error ${prefix}-error`);
      error.setAttribute("role", "alert");
      const render = () => {
        if (withNote) {
          note.textContent = printable(model.get("note") || "");
          show(note, !!note.textContent);
        }
        error.textContent = printable(model.get("error") || "");
      };
      return { note, error, render };
    },
    /**
     * Subscribe `handlers`, draw once with `initial`, and return render()'s cleanup.
     * @param {Record<string, () => void>} handlers @param {...() => void} initial
     */
    start(handlers, ...initial) {
      const unlisten = listen(model, handlers);
      for (const draw of initial) draw();
      return () => {
        unlisten();
        uncontain();
        chan.dispose();
      };
    },
  };
}
