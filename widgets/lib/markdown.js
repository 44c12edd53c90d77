// Markdown (chat text, rationales) to DOM, safely. Message text is untrusted markdown source:
// markdown-it renders it with raw HTML off (tags typed in a message show as text), links only
// to http(s)/mailto, and no images: an image becomes a link reading "image: <alt>", so no
// content makes the browser fetch anything. DOMPurify then keeps only the tags markdown makes,
// and every link opens in a new tab that cannot reach the notebook (rel=noopener noreferrer
// nofollow). Control and bidi characters are made visible before parsing (./text.js).
//
// This is the one place the JS tier turns markup into nodes; the result is a DocumentFragment
// appended as is (nothing sets innerHTML).

import DOMPurify from "dompurify";
import MarkdownIt from "markdown-it";
import { foldable, h, newTab, safeUrl } from "./dom.js";
import { longText, printable } from "./text.js";

/** What markdown-it writes with raw HTML off, and nothing else. */
const TAGS = ["p", "br", "hr", "strong", "em", "s", "code", "pre", "blockquote", "ul", "ol", "li", "a",
  "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td"];
const PURIFY = {
  ALLOWED_TAGS: TAGS,
  ALLOWED_ATTR: ["href", "title", "start"],
  ALLOW_DATA_ATTR: false,
  ALLOWED_URI_REGEXP: /^(?:https?:|mailto:)/i,
  RETURN_DOM_FRAGMENT: true,
};

/** @type {import("markdown-it").MarkdownIt | null} */
let md = null;

function renderer() {
  if (md) return md;
  const m = new MarkdownIt({ html: false, linkify: true, breaks: true, typographer: false });
  m.validateLink = (url) => safeUrl(url) !== null;
  const esc = m.utils.escapeHtml;
  // An image is a link to it, never a fetch. An image whose source is not allowed has
  // src="" here; the pass after sanitizing turns it into text.
  m.renderer.rules.image = (tokens, idx, options, env, self) => {
    const token = tokens[idx];
    const src = String(token.attrGet("src") || "");
    const alt = self.renderInlineAsText(token.children || [], options, env) || "image";
    return `<a href="${esc(src)}" title="${esc(`image, not loaded: ${src}`)}">image: ${esc(alt)}</a>`;
  };
  md = m;
  return m;
}

/**
 * Markdown source as sanitized nodes.
 * @param {unknown} text
 * @returns {DocumentFragment}
 */
export function markdown(text) {
  const html = renderer().render(printable(text));
  const out = /** @type {unknown} */ (DOMPurify.sanitize(html, PURIFY));
  const frag = document.createDocumentFragment();
  if (!(out instanceof DocumentFragment)) {
    // no DOM for DOMPurify to work in: the source as text, never the markup
    frag.append(printable(text));
    return frag;
  }
  for (const a of out.querySelectorAll("a")) {
    const href = safeUrl(a.getAttribute("href"));
    if (href) {
      newTab(/** @type {HTMLAnchorElement} */ (a));
      continue;
    }
    const span = h("span", "mlfm-md-nolink", a.textContent);
    span.title = "link not shown: only http(s) and mailto links are";
    a.replaceWith(span);
  }
  frag.append(out);
  return frag;
}

/**
 * A block of rendered markdown (class `mlfm-md`), folded behind "Show more" past `lines` lines.
 * @param {unknown} text @param {{lines?: number, cls?: string}} [opts]
 */
export function markdownBlock(text, { lines = 12, cls = "" } = {}) {
  const source = printable(text);
  const el = h("div", `mlfm-md${cls ? ` ${cls}` : ""}`);
  el.append(markdown(source));
  return foldable(el, longText(source, lines), lines);
}
