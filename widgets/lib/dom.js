// DOM building. Every value from a trace, record or registry is untrusted: it reaches the page
// as text (textContent / .value), never as markup, and its control and bidi characters as
// visible escapes (printable). Nothing here sets innerHTML.
import { printable } from "./text.js";

/**
 * A new element with an optional class list and text (control and bidi characters shown as
 * escapes).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string} [cls]
 * @param {unknown} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, cls, text) {
  const el = document.createElement(tag);
  if (cls) el.className = cls;
  if (text !== undefined && text !== null) el.textContent = printable(text);
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
  if (title) b.title = printable(title);
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

const SAFE_URL = /^(?:https?:\/\/|mailto:)/i;

/** `url` when it is http(s) or mailto (the only links untrusted content may carry), else null. @param {unknown} url */
export function safeUrl(url) {
  const s = typeof url === "string" ? url.trim() : "";
  return SAFE_URL.test(s) ? s : null;
}

/** Open `a` in a new tab that cannot reach back to the notebook or vouch for the target. @param {HTMLAnchorElement} a */
export function newTab(a) {
  a.target = "_blank";
  a.rel = "noopener noreferrer nofollow";
  return a;
}

/**
 * A link to `url` reading `text`, or the text alone (class `mlfm-uri`) when `url` is not
 * http(s)/mailto.
 * @param {unknown} url @param {unknown} [text]
 */
export function link(url, text = url) {
  const safe = safeUrl(url);
  if (!safe) return h("span", "mlfm-uri", printable(text));
  const a = newTab(h("a", "mlfm-a", printable(text)));
  a.href = safe;
  return a;
}

/**
 * Put `text` into `el` as text (made printable), the first `needle` found (case-insensitive)
 * in a <mark>.
 * @param {HTMLElement} el @param {string} text @param {string} [needle]
 */
export function marked(el, text, needle) {
  text = printable(text);
  needle = needle && printable(needle);
  const at = needle ? text.toLowerCase().indexOf(needle.toLowerCase()) : -1;
  if (at < 0 || !needle) {
    el.textContent = text;
    return el;
  }
  el.append(document.createTextNode(text.slice(0, at)), h("mark", "", text.slice(at, at + needle.length)));
  el.append(document.createTextNode(text.slice(at + needle.length)));
  return el;
}

/**
 * `body` folded to `lines` lines behind a "Show more" button when `long`; `body` itself
 * otherwise. Focus moving into the hidden part unfolds it, so no keyboard user tabs into
 * clipped text.
 * @param {HTMLElement} body @param {boolean} long @param {number} [lines]
 */
export function foldable(body, long, lines = 12) {
  if (!long) return body;
  const box = h("div", "mlfm-fold folded");
  box.style.setProperty("--mlfm-fold-lines", String(lines));
  body.classList.add("mlfm-fold-body");
  /** @param {boolean} folded */
  const set = (folded) => {
    box.classList.toggle("folded", folded);
    more.textContent = folded ? "Show more" : "Show less";
    more.setAttribute("aria-expanded", String(!folded));
  };
  const more = button("mlfm-link mlfm-fold-btn", "Show more", () => set(!box.classList.contains("folded")));
  body.addEventListener("focusin", () => set(false));
  set(true);
  box.append(body, more);
  return box;
}

/**
 * A <details> whose content `build` makes the first time it opens (a closed fold costs
 * nothing). `summary` is text or a node.
 * @param {string} cls @param {string | Node} summary @param {() => Node} build @param {boolean} [open]
 */
export function lazyDetails(cls, summary, build, open = false) {
  const det = h("details", cls);
  const sum = h("summary");
  sum.append(summary);
  det.append(sum);
  let built = false;
  const fill = () => {
    if (built || !det.open) return;
    built = true;
    det.append(build());
  };
  det.addEventListener("toggle", fill);
  det.open = open;
  fill();
  return det;
}
