// Table pieces shared by the grids: sortable headers reachable by keyboard, with aria-sort.
import { h } from "./dom.js";
import { printable } from "./text.js";
import { activateOnKeys } from "./keys.js";

/**
 * A header cell that sorts when clicked or when Enter / Space is pressed on it.
 * @param {string} cls @param {string} label @param {() => void} onSort @param {string} [title]
 */
export function sortHeader(cls, label, onSort, title) {
  const th = h("th", `${cls} mlfm-sortable`);
  th.setAttribute("aria-sort", "none");
  th.append(h("span", "mlfm-hlabel", label), h("span", "mlfm-arrow"));
  if (title) th.title = printable(title);
  th.addEventListener("click", onSort);
  activateOnKeys(th, onSort);
  return th;
}

/**
 * Show a header's sort state: "ascending", "descending" or "none".
 * @param {HTMLElement} th @param {"ascending"|"descending"|"none"} state
 */
export function setSort(th, state) {
  th.setAttribute("aria-sort", state);
  const arrow = th.querySelector(".mlfm-arrow");
  if (arrow) arrow.textContent = state === "ascending" ? " ▲" : state === "descending" ? " ▼" : "";
}

/** One row spanning every column, for "No records." and similar. @param {string} text @param {number} columns */
export function emptyRow(text, columns) {
  const tr = h("tr", "mlfm-empty");
  const td = h("td", "", text);
  td.colSpan = columns;
  tr.append(td);
  return tr;
}
