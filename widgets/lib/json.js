// A small collapsible JSON viewer: objects and arrays fold (the first `open` levels start
// open), long strings are cut with "…" and open on request, big containers show their first
// children and more on request. Every fold is a button (Tab reaches it; Enter/Space toggles;
// ArrowRight opens, ArrowLeft closes), with aria-expanded. Children are built the first time a
// fold opens, so a closed 64 KB payload costs one line. Keys and values go in as text.

import { button, h, marked } from "./dom.js";
import { printable } from "./text.js";

/** Children of a container shown before "N more". */
const PAGE = 100;

/**
 * @typedef {{open?: number, cut?: number, mark?: string}} JsonOptions
 * open: levels open at first (2); cut: characters of a string shown before "…" (240);
 * mark: text to highlight, whose containers open wherever it occurs.
 */

/**
 * A JSON value (parsed, or a JSON string) as a foldable tree; a string that is not JSON
 * (or a cut-off payload) shows as text.
 * @param {unknown} value @param {JsonOptions} [opts]
 */
export function jsonView(value, opts = {}) {
  const root = h("div", "mlfm-json");
  let data = value;
  if (typeof value === "string") {
    const parsed = parseJson(value);
    if (parsed === undefined) {
      const pre = h("pre", "mlfm-json-text");
      marked(pre, printable(value), opts.mark);
      root.append(pre);
      return root;
    }
    data = parsed;
  }
  root.append(node(null, data, 0, { open: opts.open ?? 2, cut: opts.cut ?? 240, mark: (opts.mark || "").toLowerCase() }));
  return root;
}

/** The value `text` holds as JSON, or undefined when it holds none. @param {string} text */
export function parseJson(text) {
  const t = text.trim();
  if (!t || !/^[[{"\-\d]|^(?:true|false|null)$/.test(t)) return undefined;
  try {
    return JSON.parse(t);
  } catch {
    return undefined;
  }
}

/** @param {unknown} v */
const isContainer = (v) => typeof v === "object" && v !== null;

/** Whether `needle` (lower case) occurs in `v`'s keys or values. @param {unknown} v @param {string} needle */
function holds(v, needle) {
  if (!needle) return false;
  try {
    return JSON.stringify(v).toLowerCase().includes(needle);
  } catch {
    return false;
  }
}

/**
 * @param {string | null} key @param {unknown} v @param {number} depth
 * @param {{open: number, cut: number, mark: string}} o
 * @returns {HTMLElement}
 */
function node(key, v, depth, o) {
  const row = h("div", "mlfm-jn");
  if (!isContainer(v)) {
    row.classList.add("leaf");
    if (key !== null) row.append(keyLabel(key, o.mark));
    row.append(leaf(v, o));
    return row;
  }
  const entries = Array.isArray(v) ? v.map((x, i) => /** @type {[string, unknown]} */ ([String(i), x])) : Object.entries(/** @type {object} */ (v));
  const isArray = Array.isArray(v);
  const summary = isArray ? `[${entries.length} item${entries.length === 1 ? "" : "s"}]` : `{${entries.length} key${entries.length === 1 ? "" : "s"}}`;
  if (!entries.length) {
    row.classList.add("leaf");
    if (key !== null) row.append(keyLabel(key, o.mark));
    row.append(h("span", "mlfm-jv empty", isArray ? "[]" : "{}"));
    return row;
  }
  const tog = h("button", "mlfm-jt");
  tog.type = "button";
  tog.append(h("span", "mlfm-jarrow", ""));
  if (key !== null) tog.append(keyLabel(key, o.mark));
  tog.append(h("span", "mlfm-jsum", summary));
  if (!isArray) tog.append(h("span", "mlfm-jpeek", peek(entries)));
  const kids = h("div", "mlfm-jk");
  row.append(tog, kids);
  let shown = 0;
  const more = () => {
    const stop = Math.min(entries.length, shown + PAGE);
    for (; shown < stop; shown++) kids.append(node(isArray ? String(shown) : entries[shown][0], entries[shown][1], depth + 1, o));
    if (shown < entries.length) {
      const rest = entries.length - shown;
      const btn = button("mlfm-link mlfm-jmore", `show ${Math.min(rest, PAGE)} more of ${rest.toLocaleString()}`, () => {
        btn.remove();
        more();
      });
      kids.append(btn);
    }
  };
  /** @param {boolean} on */
  const set = (on) => {
    if (on && !shown) more();
    tog.setAttribute("aria-expanded", String(on));
    row.classList.toggle("open", on);
    kids.hidden = !on;
  };
  tog.addEventListener("click", () => set(tog.getAttribute("aria-expanded") !== "true"));
  tog.addEventListener("keydown", (ev) => {
    if (ev.key === "ArrowRight" || ev.key === "ArrowLeft") {
      ev.preventDefault();
      set(ev.key === "ArrowRight");
    }
  });
  set(depth < o.open || holds(v, o.mark));
  return row;
}

/** The first keys of an object, for a closed fold: " role, content, …". @param {[string, unknown][]} entries */
function peek(entries) {
  let s = "";
  for (const [k] of entries) {
    if (s.length + k.length > 40) return `${s}, …`;
    s = s ? `${s}, ${k}` : k;
  }
  return s;
}

/** @param {string} key @param {string} mark */
function keyLabel(key, mark) {
  return marked(h("span", "mlfm-jkey"), `${printable(key)}: `, mark);
}

/** @param {unknown} v @param {{cut: number, mark: string}} o */
function leaf(v, o) {
  if (typeof v !== "string") {
    const kind = v === null ? "null" : typeof v === "boolean" ? "bool" : typeof v === "number" ? "num" : "other";
    return h("span", `mlfm-jv ${kind}`, v === null ? "null" : String(v));
  }
  const text = printable(v);
  const el = h("span", "mlfm-jv str");
  if (text.length <= o.cut) return marked(el, `"${text}"`, o.mark);
  const at = o.mark ? text.toLowerCase().indexOf(o.mark) : -1;
  if (at >= o.cut) return marked(el, `"${text}"`, o.mark); // the match is past the cut: show it all
  marked(el, `"${text.slice(0, o.cut)}…`, o.mark);
  const rest = button("mlfm-link mlfm-jcut", `show all ${text.length.toLocaleString()} characters`, () => {
    el.replaceChildren();
    marked(el, `"${text}"`, o.mark);
  });
  el.append(" ", rest);
  return el;
}
