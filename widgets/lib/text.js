// Untrusted text, made safe to look at. Control characters (other than tab and newline) and
// bidi overrides (which can make `evil.exe` read `exe.live`) are shown as visible escapes in
// every tier, spelled as the Python tiers spell them: "\u202e", "\x07". dom.js's h() and
// marked() pass every text through printable(), so a widget shows no raw one. Measured here
// too: whether a text is long enough to fold.

// The C0 and C1 controls but \t \n \r, the bidi embeddings/overrides/isolates and the marks
// that steer them.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const HIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * `text` with every hidden character written as `\xhh` (below U+0100) or `\uhhhh`. What it
 * returns has none left, so applying it twice changes nothing. @param {unknown} text
 */
export function printable(text) {
  const s = text === null || text === undefined ? "" : String(text);
  return s.replace(HIDDEN, (ch) => {
    const code = ch.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/**
 * Whether `text` takes more than `lines` lines at about `width` characters a line (wrapped
 * lines count), so it should fold behind "Show more".
 * @param {string} text @param {number} lines @param {number} [width]
 */
export function longText(text, lines, width = 100) {
  let used = 0;
  for (let start = 0; ; ) {
    const nl = text.indexOf("\n", start);
    const stop = nl < 0 ? text.length : nl;
    used += Math.max(1, Math.ceil((stop - start) / width));
    if (used > lines) return true;
    if (nl < 0) return false;
    start = nl + 1;
  }
}

/** At most `limit` characters, "…" at the cut. @param {string} text @param {number} limit */
export function clip(text, limit) {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}
