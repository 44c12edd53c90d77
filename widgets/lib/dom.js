// DOM building. Every value from a trace, record or registry is untrusted: it reaches the page
// as text (textContent / .value), never as markup. Nothing here sets innerHTML.

/**
 * A new element with an optional class list and text.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string} [cls]
 * @param {unknown} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, cls, text) {
  const el = document.createElement(tag);
  if (cls) el.className = cls;
  if (text !== undefined && text !== null) el.textContent = String(text);
  return el;
}

/**
 * A button that calls `onClick`; `title` is its tooltip (and accessible description).
 * @param {string} cls @param {string} text @param {(ev: MouseEvent) => void} onClick
 * @param {string} [title]
 */
export function button(cls, text, onClick, title) {
  const b = h("button", cls, text);
  b.type = "button";
  if (title) b.title = title;
  b.addEventListener("click", onClick);
  return b;
}

/** Show or hide `el` without forgetting its display style. @param {HTMLElement} el @param {boolean} on */
export function show(el, on) {
  el.hidden = !on;
}

/**
 * A text input (or textarea) whose keys stay its own: typing never reaches the notebook.
 * @param {"input"|"textarea"} tag @param {string} cls @param {string} placeholder
 */
export function field(tag, cls, placeholder) {
  const el = h(tag, cls);
  el.placeholder = placeholder;
  el.spellcheck = false;
  el.setAttribute("aria-label", placeholder);
  return el;
}

/** `n word` with an English plural: plural(1, "span") → "1 span". @param {number} n @param {string} word */
export function plural(n, word, many = `${word}s`) {
  return `${n.toLocaleString()} ${n === 1 ? word : many}`;
}

/** An <option> of a <select>. @param {string} value @param {string} [label] */
export function option(value, label = value) {
  const o = h("option", "", label);
  o.value = value;
  return o;
}
