// Span trees in depth-first column form (rows in depth-first order; parent[i] a row index or
// -1): their shape, and which rows show given the folds and a filter. Pure functions, so they
// are tested without a DOM.

/**
 * Depth, end of each subtree (exclusive) and child counts.
 * @param {ArrayLike<number>} parent
 */
export function shape(parent) {
  const n = parent.length;
  const depth = new Int32Array(n);
  const end = new Int32Array(n);
  const kids = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const p = parent[i];
    if (p >= 0) {
      depth[i] = depth[p] + 1;
      kids[p] += 1;
    }
  }
  // depth-first order: a subtree ends at the next row that is not deeper
  /** @type {number[]} */
  const stack = [];
  for (let i = 0; i < n; i++) {
    while (stack.length && depth[stack[stack.length - 1]] >= depth[i]) end[/** @type {number} */ (stack.pop())] = i;
    stack.push(i);
  }
  while (stack.length) end[/** @type {number} */ (stack.pop())] = n;
  return { n, depth, end, kids };
}

/**
 * The rows shown, in order: every kept row when filtering (`keep`), else every row not inside
 * a collapsed subtree.
 * @param {{n: number, end: Int32Array}} tree @param {Uint8Array} collapsed
 * @param {Uint8Array | null} keep
 */
export function visibleRows(tree, collapsed, keep) {
  /** @type {number[]} */
  const rows = [];
  if (keep) {
    for (let i = 0; i < tree.n; i++) if (keep[i]) rows.push(i);
    return rows;
  }
  let i = 0;
  while (i < tree.n) {
    rows.push(i);
    i = collapsed[i] ? tree.end[i] : i + 1;
  }
  return rows;
}

/** Indentation levels drawn before names are cut to depth markers ("⋯ 18"). */
export const MAX_INDENT = 8;

/**
 * How a row at `depth` is indented: `levels` drawn (at most MAX_INDENT), and the depth marker
 * shown when deeper ("" otherwise), so names stay readable at depth 30 and beyond.
 * @param {number} depth
 */
export function indent(depth) {
  if (depth <= MAX_INDENT) return { levels: depth, marker: "" };
  return { levels: MAX_INDENT, marker: `⋯${depth}` };
}

/**
 * Where a tree key moves the focus (WAI-ARIA tree pattern). Returns the row to focus and what
 * to do to the current row: "expand", "collapse", "activate" or null.
 * @param {string} key
 * @param {{rows: number[], at: number, parent: ArrayLike<number>, kids: Int32Array,
 *          collapsed: Uint8Array, folds: boolean}} s  rows: visible rows; at: the focused row
 * @returns {{to: number, act: "expand"|"collapse"|"activate"|null} | null}
 */
export function treeKey(key, s) {
  const pos = s.rows.indexOf(s.at);
  const here = pos < 0 ? (s.rows.length ? s.rows[0] : -1) : s.at;
  if (here < 0) return null;
  const p = pos < 0 ? 0 : pos;
  switch (key) {
    case "ArrowDown":
      return { to: s.rows[Math.min(s.rows.length - 1, p + (pos < 0 ? 0 : 1))], act: null };
    case "ArrowUp":
      return { to: s.rows[Math.max(0, p - 1)], act: null };
    case "Home":
      return { to: s.rows[0], act: null };
    case "End":
      return { to: s.rows[s.rows.length - 1], act: null };
    case "ArrowRight":
      if (s.folds && s.kids[here] && s.collapsed[here]) return { to: here, act: "expand" };
      if (s.kids[here] && p + 1 < s.rows.length && s.parent[s.rows[p + 1]] === here) return { to: s.rows[p + 1], act: null };
      return { to: here, act: null };
    case "ArrowLeft":
      if (s.folds && s.kids[here] && !s.collapsed[here]) return { to: here, act: "collapse" };
      return { to: s.parent[here] >= 0 ? s.parent[here] : here, act: null };
    case "Enter":
    case " ":
      return { to: here, act: "activate" };
    default:
      return null;
  }
}
