"""GenAI content in the static tiers: chat transcripts, tool calls, documents and assessments.

The shapes are the ``Content`` and ``Assessment`` dicts of ``widgets/lib/content.d.ts`` (made by
:mod:`mlflow_magics.content`); the widgets render the same shapes with ``lib/content.js``.

- HTML: :func:`content_html` (message cards by role, tool calls with their arguments and
  results, documents as rows, a chips line for model / tokens / cost) and
  :func:`assessments_html`; message text is markdown made safe by :func:`markdown_html`;
- text: :func:`content_text` and :func:`assessments_text`, measured and clipped by display
  width (an East Asian wide character takes two columns), with no control characters.

Both tiers keep the *newest* turns when a transcript is longer than its budget — the question
that was answered and the answer — and say how many earlier messages they left out.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from functools import cache
from typing import Any

from wcwidth import wcwidth

from mlflow_magics.content import value_text
from mlflow_magics.views.markup import NO_MATH, Markup, join, tag, visible
from mlflow_magics.views.table_css import DIM, ERR, OK, RAISED, WARN, table_rules, tint

#: Characters of message text (tool arguments and results included) a transcript shows.
HTML_BUDGET = 20_000
TEXT_BUDGET = 1_500
#: Characters of one document's text in HTML, and documents the text tier lists.
DOC_HTML_CAP = 600
TEXT_DOCS = 10
#: Lines of one message's text, and of one tool call's arguments or result, in the text tier.
TEXT_MESSAGE_LINES = 4
TEXT_ARG_LINES = 6
#: Characters of an assessment's rationale or error.
RATIONALE_CAP = 1_000
#: What a message may be clipped to at the least, so a cut field still says something.
_MIN_FIELD = 80

# -- untrusted text ----------------------------------------------------------------------------

# Control and bidi characters become visible escapes through markup.visible (the one place
# that decides which characters those are); it is re-exported here for the text tiers.


def _char_width(ch: str) -> int:
    w = wcwidth(ch)
    return 1 if w < 0 else w  # what is left of controls after visible(): count it as one


def text_width(text: str) -> int:
    """Columns ``text`` takes in a terminal (East Asian wide characters two, combining marks
    none)."""
    if text.isascii():
        return len(text)
    return sum(_char_width(ch) for ch in text)


def clip_to_width(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` columns, ending in "…" when cut."""
    if text_width(text) <= width:
        return text
    if width <= 0:
        return ""
    out, used = [], 0
    for ch in text:
        w = _char_width(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def pad_to_width(text: str, width: int) -> str:
    """``text`` padded with spaces to ``width`` columns (clip it first)."""
    return text + " " * max(0, width - text_width(text))


def plain_line(value: object, width: int = 200) -> str:
    """One line of untrusted text for a terminal: control characters escaped, newlines and tabs
    as spaces, at most ``width`` columns."""
    text = visible(value).replace("\n", " ").replace("\t", " ")
    return clip_to_width(text, width)


def wrap_to_width(text: str, width: int) -> list[str]:
    """One line of text wrapped to ``width`` columns: at spaces where it can, inside a word
    (or a run of wide characters, which has no spaces) where it must."""
    width = max(1, width)
    lines: list[str] = []
    line, used = "", 0
    for word in re.findall(r"\S+\s*", text) or [""]:
        w = text_width(word.rstrip())
        if used and used + w > width:
            lines.append(line.rstrip())
            line, used = "", 0
        while text_width(word.rstrip()) > width - used:  # a word longer than the line
            head, head_w = "", 0
            for ch in word:
                cw = _char_width(ch)
                if used + head_w + cw > width:
                    break
                head += ch
                head_w += cw
            if not head and not line:  # a wide character on a one-column line
                head, head_w = word[0], _char_width(word[0])
            lines.append((line + head).rstrip())
            line, used = "", 0
            word = word[len(head) :]
        line += word
        used += text_width(word)
    lines.append(line.rstrip())
    return lines


def _fold(text: str) -> str:
    return " ".join(visible(text).split())


# -- numbers ----------------------------------------------------------------------------------


def format_cost(usd: float | None) -> str:
    """Dollars as a plain decimal, never an exponent: ``$0`` for nothing, two significant digits
    below a dollar (``$0.0000048``, ``$0.012``, ``$0.53``), cents from a dollar up
    (``$1.23``, ``$12,345.60``)."""
    if usd is None or (isinstance(usd, float) and not math.isfinite(usd)):
        return "?"
    if usd < 0:
        return "-" + format_cost(-usd)
    if usd == 0:
        return "$0"
    if usd < 1:
        exponent = math.floor(math.log10(usd))
        decimals = 1 - exponent
        text = f"{usd:.{decimals}f}"
        if float(text) >= 10.0 ** (exponent + 1):  # 0.0996 → 0.10, not 0.100
            decimals -= 1
            text = f"{usd:.{max(decimals, 0)}f}"
        if float(text) < 1:
            # trailing zeros dropped, as the widgets print it: $0.001, $0.1
            return f"${text.rstrip('0').rstrip('.')}"
    return f"${usd:,.2f}"


def format_tokens(usage: dict[str, Any] | None) -> str:
    """``1,234 tokens (in 1,000 / out 234)``; "" without usage."""
    if not usage:
        return ""
    counts = {k: v for k, v in usage.items() if isinstance(v, (int, float))}
    if not counts:
        return ""
    total = counts.get("total_tokens")
    if total is None:
        total = counts.get("input_tokens", 0) + counts.get("output_tokens", 0)
    parts = [f"{int(total):,} tokens"]
    if "input_tokens" in counts or "output_tokens" in counts:
        parts.append(
            f"(in {int(counts.get('input_tokens', 0)):,} / out {int(counts.get('output_tokens', 0)):,})"
        )
    return " ".join(parts)


def _cost_total(cost: dict[str, Any] | None) -> float | None:
    if not isinstance(cost, dict):
        return None
    total = cost.get("total_cost")
    if not isinstance(total, (int, float)):
        parts = [cost.get(k) for k in ("input_cost", "output_cost")]
        parts = [p for p in parts if isinstance(p, (int, float))]
        total = sum(parts) if parts else None
    return float(total) if total is not None else None


def _when(ms: Any) -> str:
    if not isinstance(ms, (int, float)) or isinstance(ms, bool):
        return ""
    try:
        return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return ""


# -- safe markdown ----------------------------------------------------------------------------

_SAFE_URL = re.compile(r"^\s*(https?://|mailto:)", re.IGNORECASE)
#: Formatting the sanitizer lets through; no images, no forms, no frames, no styles.
_TAGS = {
    "a", "p", "br", "hr", "em", "strong", "del", "s", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
_LINK_REL = "noopener noreferrer nofollow"


def _safe_link(url: str) -> bool:
    """Links and autolinks: absolute http(s) and mailto only (no javascript:, data:, file:,
    relative paths into the notebook server)."""
    return bool(_SAFE_URL.match(url))


def _image_as_link(self, tokens, idx, options, env) -> str:
    """An image is never loaded (no network, no tracking pixels): it becomes a link to it."""
    from markdown_it.common.utils import escapeHtml

    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env) or "image"
    src = token.attrGet("src") or ""
    return f'<a href="{escapeHtml(src)}">image: {escapeHtml(alt)}</a>'


@cache
def _markdown():
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True})
    md.enable(["table", "strikethrough"])
    md.validateLink = _safe_link
    md.add_render_rule("image", _image_as_link)
    return md


def markdown_html(text: str) -> Markup:
    """Markdown source (untrusted) as safe HTML: markdown-it with raw HTML off and links limited
    to http(s)/mailto, then the nh3 sanitizer over the result (formatting tags only; links get
    ``rel="noopener noreferrer nofollow"``; images become links). Control and bidi characters
    show as escapes."""
    import nh3

    rendered = _markdown().render(visible(text))
    clean = nh3.clean(
        rendered,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel=_LINK_REL,
        strip_comments=True,
    )
    return Markup(clean)


# -- picking what fits ------------------------------------------------------------------------

_ROLE_CLASSES = {"system", "developer", "user", "assistant", "tool"}


def _strings(msg: dict[str, Any]) -> list[tuple[tuple, str]]:
    """The message's text fields as (path, text), in the order they are worth keeping."""
    out: list[tuple[tuple, str]] = [(("text",), str(msg.get("text") or ""))]
    for k, call in enumerate(_calls(msg)):
        out.append((("tool_calls", k, "arguments"), str(call.get("arguments") or "")))
        out.append((("tool_calls", k, "result"), str(call.get("result") or "")))
    out.append((("reasoning",), str(msg.get("reasoning") or "")))
    return out


def _calls(msg: dict[str, Any]) -> list[dict[str, Any]]:
    calls = msg.get("tool_calls")
    return [c for c in calls if isinstance(c, dict)] if isinstance(calls, list) else []


def _size(msg: dict[str, Any]) -> int:
    return sum(len(s) for _, s in _strings(msg)) + 20  # a card's own room


def _clipped(msg: dict[str, Any], limit: int) -> dict[str, Any]:
    """A copy of ``msg`` whose text fields together take about ``limit`` characters (each
    keeps at least a little); ``_cut`` says how many characters went."""
    if _size(msg) <= limit:
        return msg
    out = dict(msg)
    out["tool_calls"] = [dict(c) for c in _calls(msg)]
    left, cut = max(limit - 20, _MIN_FIELD), 0
    for path, text in _strings(msg):
        if not text:
            continue
        keep = min(len(text), max(left, _MIN_FIELD))
        left -= keep
        if keep < len(text):
            cut += len(text) - keep
            at = out
            for key in path[:-1]:
                at = at[key]
            at[path[-1]] = text[:keep] + "…"
    out["_cut"] = cut
    return out


def transcript(content: dict[str, Any], budget: int) -> list[dict[str, Any] | int]:
    """The messages to show, oldest first, within ``budget`` characters: the newest question
    and the last message always (clipped if they must be), then what led from one to the other
    and what came before, newest first, while it fits. An ``int`` in the list stands for that
    many messages not shown at that place."""
    msgs = [
        m
        for m in [*(content.get("input_messages") or []), *(content.get("output_messages") or [])]
        if isinstance(m, dict)
    ]
    cut = content.get("messages_cut")
    earlier = cut if isinstance(cut, int) and not isinstance(cut, bool) and cut > 0 else 0
    n = len(msgs)
    if not n:
        return [earlier] if earlier else []
    q = next((i for i in range(n - 1, -1, -1) if msgs[i].get("role") == "user"), n - 1)
    last = n - 1
    if q == last:
        kept = {last: _clipped(msgs[last], budget)}
    else:
        q_size, a_size = _size(msgs[q]), _size(msgs[last])
        q_room = min(q_size, max(budget // 3, budget - a_size))
        kept = {q: _clipped(msgs[q], q_room), last: _clipped(msgs[last], budget - q_room)}
    left = budget - sum(min(_size(m), budget) for m in kept.values())
    middle_from = last
    for i in range(last - 1, q, -1):  # the steps between the question and the answer
        size = _size(msgs[i])
        if size > left:
            break
        kept[i], left, middle_from = msgs[i], left - size, i
    first = q
    if middle_from == q + 1 or q == last:  # nothing left out after the question: go back
        for i in range(q - 1, -1, -1):
            size = _size(msgs[i])
            if size > left:
                break
            kept[i], left, first = msgs[i], left - size, i
    out: list[dict[str, Any] | int] = []
    if earlier + first:
        out.append(earlier + first)
    out += [kept[i] for i in range(first, q + 1)]
    if q != last:
        if middle_from - q - 1:
            out.append(middle_from - q - 1)
        out += [kept[i] for i in range(middle_from, last + 1)]
    return out


def _not_shown(count: int, earlier: bool) -> str:
    noun = "message" if count == 1 else "messages"
    return f"… {count:,} {'earlier ' if earlier else ''}{noun} not shown"


# -- HTML -------------------------------------------------------------------------------------

_ROLE_TINT = {
    "user": ("--jp-brand-color1", "#1976d2"),
    "assistant": ("--jp-success-color1", "#388e3c"),
    "tool": ("--jp-warn-color1", "#f57c00"),
    "system": ("--jp-ui-font-color2", "#616161"),
    "developer": ("--jp-ui-font-color2", "#616161"),
    "other": ("--jp-ui-font-color2", "#616161"),
}

_R = ".mlfm-content"
CONTENT_CSS = (
    f"""
{_R}{{font:12px/1.45 var(--jp-ui-font-family,system-ui,sans-serif);max-width:100%}}
{_R} .msg{{margin:4px 0;padding:3px 8px;border-left:3px solid {tint("--jp-ui-font-color2", "#616161", 40)};background:{RAISED};border-radius:0 4px 4px 0}}
"""
    + "".join(
        f"{_R} .msg.r-{role}{{border-left-color:{tint(var, fallback, 70)}}}\n"
        for role, (var, fallback) in _ROLE_TINT.items()
    )
    + f"""{_R} .who{{font-size:11px;color:{DIM}}}{_R} .who b{{text-transform:capitalize}}
{_R} .md p,{_R} .md ul,{_R} .md ol,{_R} .md blockquote,{_R} .md table{{margin:2px 0}}
{_R} .md h1,{_R} .md h2,{_R} .md h3,{_R} .md h4,{_R} .md h5,{_R} .md h6{{font-size:1.05em;margin:4px 0 2px}}
{_R} .md blockquote{{padding-left:8px;border-left:2px solid {tint("--jp-ui-font-color2", "#616161", 40)};color:{DIM}}}
{_R} .md code{{font-family:var(--jp-code-font-family,monospace);font-size:11px}}
{_R} pre{{white-space:pre-wrap;word-break:break-word;max-height:240px;overflow:auto;margin:2px 0;padding:4px 6px;background:{RAISED};border-radius:4px;font:11px/1.4 var(--jp-code-font-family,monospace)}}
{_R} .tc{{margin:3px 0;padding:2px 6px;border:1px solid {tint("--jp-warn-color1", "#f57c00", 45)};border-radius:4px}}
{_R} .tc .nm{{font-family:var(--jp-code-font-family,monospace);font-weight:600}}
{_R} .dim,{_R} .id{{color:{DIM}}}{_R} .id{{white-space:nowrap;font-family:var(--jp-code-font-family,monospace)}}
{_R} .bad{{color:{ERR};font-weight:600}}
{_R} .gap,{_R} .cut{{color:{DIM};font-style:italic;margin:3px 0}}
{_R} .chips{{display:flex;flex-wrap:wrap;gap:6px;margin:4px 0 2px}}
{_R} .chip{{border-radius:8px;padding:0 6px;font-size:11px;background:{RAISED}}}
{_R} table.docs td{{border-bottom:1px solid {RAISED};padding:2px 6px;vertical-align:top}}
{_R} .fold>summary{{cursor:pointer;color:{DIM};font-size:11px;display:list-item;list-style:revert;border:0;padding:0}}
"""
    + table_rules("mlfm-content")
)

_A = ".mlfm-asmt"
ASSESSMENTS_CSS = f"""
{_A}{{font:12px/1.45 var(--jp-ui-font-family,system-ui,sans-serif);max-width:100%}}
{_A} th,{_A} td{{border-bottom:1px solid {RAISED};padding:2px 8px;vertical-align:top}}
{_A} th{{font-weight:600;background:{RAISED}}}
{_A} .v-pass{{color:{OK};font-weight:600}}{_A} .v-fail{{color:{ERR};font-weight:600}}
{_A} .v-error{{color:{WARN};font-weight:600}}
{_A} .dim,{_A} .id{{color:{DIM}}}{_A} .id{{white-space:nowrap;font-family:var(--jp-code-font-family,monospace);font-size:10px}}
{_A} .t{{white-space:nowrap}}{_A} .md p{{margin:0 0 2px}}
""" + table_rules("mlfm-asmt")


def _chips(content: dict[str, Any]) -> list[str]:
    chips = []
    if content.get("model"):
        chips.append(f"model {content['model']}")
    if content.get("provider"):
        chips.append(str(content["provider"]))
    tokens = format_tokens(content.get("usage"))
    if tokens:
        chips.append(tokens)
    cost = _cost_total(content.get("cost"))
    if cost:
        chips.append(format_cost(cost))
    return chips


def _cut_note(msg: dict[str, Any]) -> Markup | None:
    cut = msg.get("_cut")
    return tag("div", f"({cut:,} more characters not shown)", class_="cut") if cut else None


def _tool_call_html(call: dict[str, Any], label: str = "tool call") -> Markup:
    result = call.get("result")
    return tag(
        "div",
        tag(
            "div",
            tag("span", label, class_="dim"),
            " ",
            tag("span", visible(call.get("name") or "(unnamed)"), class_="nm"),
            (" ", tag("span", visible(call["id"]), class_="id")) if call.get("id") else None,
        ),
        # the arguments and result as the content model gives them (pretty JSON or text):
        # escaped for HTML here, never JSON-encoded a second time
        tag("pre", visible(call.get("arguments") or "")) if call.get("arguments") else None,
        tag(
            "div",
            tag(
                "span",
                "error" if call.get("error") else "result",
                class_="bad" if call.get("error") else "dim",
            ),
            tag("pre", visible(result)),
        )
        if result is not None and result != ""
        else None,
        class_="tc",
    )


def _message_html(msg: dict[str, Any]) -> Markup:
    role = str(msg.get("role") or "unknown")
    kind = role if role in _ROLE_CLASSES else "other"
    text = str(msg.get("text") or "")
    who = [tag("b", visible(role))]
    if msg.get("name"):
        who += [" ", tag("span", visible(msg["name"]))]
    if msg.get("tool_call_id"):
        who += [" ", tag("span", f"answers {visible(msg['tool_call_id'])}", class_="id")]
    body: list[object] = []
    if msg.get("reasoning"):
        body.append(
            tag(
                "details",
                tag("summary", "reasoning"),
                tag("div", markdown_html(str(msg["reasoning"])), class_="md"),
                class_="fold",
            )
        )
    if text:
        # a tool's answer is data (JSON, a table, a traceback): shown as it came
        body.append(
            tag("pre", visible(text))
            if kind == "tool"
            else tag("div", markdown_html(text), class_="md")
        )
    body.extend(_tool_call_html(c) for c in _calls(msg))
    return tag("div", tag("div", who, class_="who"), body, _cut_note(msg), class_=f"msg r-{kind}")


def _clip_chars(text: str, cap: int) -> tuple[str, int]:
    return (text, 0) if len(text) <= cap else (text[: cap - 1] + "…", len(text) - cap + 1)


def _safe_href(uri: str) -> str | None:
    return uri if _safe_link(uri) and not any(c.isspace() for c in uri.strip()) else None


def _meta_text(meta: Any) -> str:
    if not isinstance(meta, dict):
        return ""
    parts = []
    for k, v in meta.items():
        value = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
        parts.append(f"{k}={value}")
    return ", ".join(parts)


def _score(score: Any) -> str:
    if not isinstance(score, (int, float)) or isinstance(score, bool) or not math.isfinite(score):
        return ""
    return f"{score:.3f}".rstrip("0").rstrip(".") if abs(score) < 1000 else f"{score:,.0f}"


def _documents_html(docs: list[Any]) -> Markup:
    rows = []
    for n, doc in enumerate(d for d in docs if isinstance(d, dict)):
        text, cut = _clip_chars(_fold(str(doc.get("text") or "")), DOC_HTML_CAP)
        uri = str(doc.get("uri") or "")
        href = _safe_href(uri)
        facts: list[object] = []
        if uri:
            facts.append(tag("a", visible(uri), href=href, rel=_LINK_REL) if href else visible(uri))
        if doc.get("id"):
            facts.append(tag("span", f"id {visible(doc['id'])}", class_="id"))
        meta = _meta_text(doc.get("metadata"))
        if meta:
            facts.append(visible(clip_to_width(meta, 300)))
        score = doc.get("score")
        rows.append(
            tag(
                "tr",
                tag("td", f"{n + 1}.", class_="num"),
                tag(
                    "td",
                    _score(score),
                    class_="num",
                    title="score",
                ),
                tag(
                    "td",
                    tag("div", text, f" ({cut:,} more characters)" if cut else None),
                    tag("div", [(f, " · ") for f in facts[:-1]], facts[-1:], class_="dim")
                    if facts
                    else None,
                ),
            )
        )
    return tag("table", tag("tbody", rows), class_="docs")


def content_html(
    content: dict[str, Any], budget: int = HTML_BUDGET, *, style: bool = True
) -> Markup:
    """A ``Content`` dict as static HTML: chat messages as cards by role (tool calls with their
    arguments and results), a retrieval's query and documents as rows, a tool call, text in and
    out, and a chips line (model, tokens, cost). A transcript longer than ``budget`` characters
    keeps its newest turns and says how many earlier messages it left out. ``style=False``
    leaves out the ``<style>`` block (for a page that includes :data:`CONTENT_CSS` once)."""
    kind = content.get("kind")
    parts: list[object] = []
    if kind == "chat" or content.get("input_messages") or content.get("output_messages"):
        for item in transcript(content, budget):
            if isinstance(item, int):
                earlier = not parts
                parts.append(tag("div", _not_shown(item, earlier), class_="gap"))
            else:
                parts.append(_message_html(item))
    if content.get("query"):
        parts.append(tag("div", tag("span", "query", class_="dim"), " ", visible(content["query"])))
    docs = content.get("documents")
    if isinstance(docs, list):
        parts.append(
            tag(
                "div",
                tag("span", f"{len(docs):,} document{'s' if len(docs) != 1 else ''}", class_="dim"),
            )
        )
        if docs:
            parts.append(_documents_html(docs))
    if isinstance(content.get("tool_call"), dict):
        parts.append(_tool_call_html(content["tool_call"], "tool"))
    for key, label in (("input_text", "input"), ("output_text", "output")):
        if isinstance(content.get(key), str):
            text, cut = _clip_chars(content[key], budget // 2)
            parts.append(
                tag(
                    "div",
                    tag("span", label, class_="dim"),
                    tag("pre", visible(text)),
                    tag("div", f"({cut:,} more characters not shown)", class_="cut")
                    if cut
                    else None,
                )
            )
    tools = content.get("tools")
    if isinstance(tools, list) and tools:
        names = [visible(t.get("name", "")) for t in tools if isinstance(t, dict)]
        parts.append(tag("div", "tools offered: ", ", ".join(names), class_="dim"))
    chips = _chips(content)
    if chips:
        # spaces between the chips: flex ignores them, a page without CSS needs them
        parts.append(
            tag(
                "div",
                [(tag("span", visible(c), class_="chip"), " ") for c in chips],
                class_="chips",
            )
        )
    body = tag("div", parts, class_=f"mlfm-content {NO_MATH}")
    return join([tag("style", Markup(CONTENT_CSS)) if style else None, body])


_SOURCES = {"HUMAN": "human", "LLM_JUDGE": "LLM judge", "CODE": "code"}
_MARKS = {"pass": "✓", "fail": "✗", "error": "!"}


def _verdict(item: dict[str, Any]) -> str | None:
    from mlflow_magics.content import verdict

    return verdict(item.get("value"), item.get("error"))


def _source_text(item: dict[str, Any]) -> str:
    kind = str(item.get("source_type") or "")
    return _SOURCES.get(kind.upper(), kind.lower().replace("_", " "))


def assessments_html(items: list[dict[str, Any]], *, style: bool = True) -> Markup:
    """Assessments as a table: name, value (pass / fail marked and coloured), rationale
    (safe markdown) or the scorer's error, source (human / LLM judge / code, and who) and
    time. ``style=False`` leaves out the ``<style>`` block (see :data:`ASSESSMENTS_CSS`)."""
    rows = []
    for item in items:
        if not isinstance(item, dict):
            continue
        verdict = _verdict(item)
        value = "error" if verdict == "error" else value_text(item.get("value"))
        value, _ = _clip_chars(visible(value), 200)
        mark = _MARKS.get(verdict or "")
        name = [tag("b", visible(item.get("name") or "(unnamed)"))]
        if item.get("kind") == "expectation":
            name += [" ", tag("span", "expectation", class_="dim")]
        if item.get("span_id"):
            name += [tag("div", f"span {visible(item['span_id'])}", class_="id")]
        why: list[object] = []
        if item.get("error"):
            text, _ = _clip_chars(str(item["error"]), RATIONALE_CAP)
            why.append(tag("div", tag("span", "error: ", class_="v-error"), visible(text)))
        if item.get("rationale"):
            text, _ = _clip_chars(str(item["rationale"]), RATIONALE_CAP)
            why.append(tag("div", markdown_html(text), class_="md"))
        source = [_source_text(item)]
        if item.get("source_id"):
            source += [tag("div", visible(item["source_id"]), class_="id")]
        rows.append(
            tag(
                "tr",
                tag("td", name),
                tag(
                    "td",
                    f"{mark} {value}" if mark else value,
                    class_=f"v-{verdict}" if verdict else None,
                ),
                tag("td", why),
                tag("td", source),
                tag("td", _when(item.get("time_ms")), class_="t"),
            )
        )
    if not rows:
        return Markup("")
    head = tag("tr", [tag("th", t) for t in ("assessment", "value", "rationale", "source", "time")])
    body = tag(
        "div",
        tag("table", tag("thead", head), tag("tbody", rows)),
        class_=f"mlfm-asmt {NO_MATH}",
    )
    return join([tag("style", Markup(ASSESSMENTS_CSS)) if style else None, body])


# -- text -------------------------------------------------------------------------------------


def _with_ellipsis(line: str, room: int) -> str:
    while line and text_width(line) + 1 > room:
        line = line[:-1]
    return line + "…"


def _block(text: str, width: int, indent: str, max_lines: int) -> list[str]:
    """Untrusted multi-line text as at most ``max_lines`` lines under ``indent``, each wrapped
    to ``width`` columns; blank lines dropped; "…" says more was there."""
    room = max(8, width - text_width(indent))
    pieces: list[str] = []
    for raw in visible(text).replace("\t", "    ").split("\n"):
        if raw.strip():
            pieces += wrap_to_width(raw[: room * (max_lines + 1)], room)
            if len(pieces) > max_lines:
                break
    if len(pieces) > max_lines:
        pieces = [*pieces[: max_lines - 1], _with_ellipsis(pieces[max_lines - 1], room)]
    return [indent + ln for ln in pieces]


def _args_lines(text: str, width: int, indent: str) -> list[str]:
    """Tool arguments or a result, line by line as given (pretty JSON keeps its shape), each
    clipped to the width, at most :data:`TEXT_ARG_LINES`."""
    room = max(8, width - text_width(indent))
    source = visible(text).replace("\t", "    ").split("\n")
    out = [indent + clip_to_width(ln.rstrip(), room) for ln in source[:TEXT_ARG_LINES]]
    if len(source) > TEXT_ARG_LINES:
        out.append(f"{indent}… {len(source) - TEXT_ARG_LINES:,} more lines")
    return out


def _message_text(msg: dict[str, Any], width: int) -> list[str]:
    role = plain_line(msg.get("role") or "unknown", 20)
    if msg.get("name"):
        role += f" ({plain_line(msg['name'], 30)})"
    head = f"{role}: "
    pad = " " * min(text_width(head), 12)
    text = str(msg.get("text") or "")
    lines = _block(text, width - text_width(head), "", TEXT_MESSAGE_LINES)
    out = [head + lines[0]] if lines else [head.rstrip()]
    out += [pad + ln for ln in lines[1:]]
    if msg.get("reasoning"):
        out.append(pad + clip_to_width(f"(reasoning: {_fold(msg['reasoning'])})", width - len(pad)))
    for call in _calls(msg):
        call_id = f" [{plain_line(call['id'], 40)}]" if call.get("id") else ""
        line = f"→ {plain_line(call.get('name') or '(unnamed)', 60)}{call_id}"
        if out == [head.rstrip()]:  # a message that is only tool calls: the first on its line
            out = [head + line]
        else:
            out.append(pad + line)
        if call.get("arguments"):
            out += _args_lines(str(call["arguments"]), width, pad + "    ")
        if call.get("result") not in (None, ""):
            out.append(f"{pad}{'✗ error' if call.get('error') else '← result'}")
            out += _args_lines(str(call["result"]), width, pad + "    ")
    if msg.get("_cut"):
        out.append(f"{pad}({msg['_cut']:,} more characters not shown)")
    return out


def content_text(content: dict[str, Any], width: int = 100, budget: int = TEXT_BUDGET) -> str:
    """A ``Content`` dict as lines of plain text at most ``width`` columns: ``user: …`` /
    ``assistant: …`` (tool calls ``→ name`` with arguments, results ``← result``), newest turns
    kept within ``budget`` characters; a retrieval's query and documents; a tool call; text in
    and out; and a chips line (model · tokens · cost). No control characters."""
    lines: list[str] = []
    if (
        content.get("kind") == "chat"
        or content.get("input_messages")
        or content.get("output_messages")
    ):
        for item in transcript(content, budget):
            if isinstance(item, int):
                lines.append(_not_shown(item, earlier=not lines))
            else:
                lines += _message_text(item, width)
    if content.get("query"):
        lines += _block(f"query: {content['query']}", width, "", 2)
    docs = content.get("documents")
    if isinstance(docs, list):
        docs = [d for d in docs if isinstance(d, dict)]
        lines.append(f"{len(docs):,} document{'s' if len(docs) != 1 else ''}")
        for n, doc in enumerate(docs[:TEXT_DOCS]):
            score = doc.get("score")
            mark = f"[{_score(score)}] " if _score(score) else ""
            lines.append(
                clip_to_width(f"  {n + 1}. {mark}{_fold(str(doc.get('text') or ''))}", width)
            )
            facts = [plain_line(doc["uri"], 80)] if doc.get("uri") else []
            if doc.get("id"):
                facts.append(f"id {plain_line(doc['id'], 40)}")
            meta = _meta_text(doc.get("metadata"))
            if meta:
                facts.append(plain_line(meta, 200))
            if facts:
                lines.append(clip_to_width("     " + "  ".join(facts), width))
        if len(docs) > TEXT_DOCS:
            lines.append(f"  … {len(docs) - TEXT_DOCS:,} more documents")
    call = content.get("tool_call")
    if isinstance(call, dict):
        lines.append(f"tool {plain_line(call.get('name') or '(unnamed)', 60)}")
        if call.get("arguments"):
            lines += _args_lines(str(call["arguments"]), width, "    ")
        if call.get("result") not in (None, ""):
            lines.append("✗ error" if call.get("error") else "← result")
            lines += _args_lines(str(call["result"]), width, "    ")
    for key, label in (("input_text", "in: "), ("output_text", "out: ")):
        if isinstance(content.get(key), str):
            block = _block(content[key], width - len(label), "", TEXT_MESSAGE_LINES)
            lines.append(label + (block[0] if block else ""))
            lines += [" " * len(label) + ln for ln in block[1:]]
    line = ""
    for chip in (plain_line(c, 80) for c in _chips(content)):
        if line and text_width(line) + 3 + text_width(chip) > width:
            lines.append(line)
            line = ""
        line = f"{line} · {chip}" if line else chip
    if line:
        lines.append(line)
    return "\n".join(clip_to_width(ln, width) for ln in lines)


def assessments_text(items: list[dict[str, Any]], width: int = 100) -> str:
    """Assessments, one line each (``✓ name: value  source who  time``) with the rationale or
    error folded on the next, at most ``width`` columns."""
    lines = []
    for item in items:
        if not isinstance(item, dict):
            continue
        verdict = _verdict(item)
        mark = _MARKS.get(verdict or "", "·")
        value = "error" if verdict == "error" else value_text(item.get("value"))
        head = f"{mark} {plain_line(item.get('name') or '(unnamed)', 40)}: {plain_line(value, 40)}"
        if item.get("kind") == "expectation":
            head += " (expectation)"
        source = " ".join(
            [_source_text(item)]
            + ([plain_line(item["source_id"], 40)] if item.get("source_id") else [])
        )
        tail = "  ".join(x for x in (source, _when(item.get("time_ms"))) if x)
        lines.append(clip_to_width(f"{head}  {tail}" if tail else head, width))
        if item.get("error"):
            lines.append(clip_to_width(f"    error: {_fold(str(item['error']))}", width))
        if item.get("rationale"):
            lines.append(clip_to_width(f"    {_fold(str(item['rationale']))}", width))
    return "\n".join(lines)


__all__ = [
    "ASSESSMENTS_CSS",
    "CONTENT_CSS",
    "assessments_html",
    "assessments_text",
    "clip_to_width",
    "content_html",
    "content_text",
    "format_cost",
    "format_tokens",
    "markdown_html",
    "pad_to_width",
    "plain_line",
    "text_width",
    "transcript",
    "visible",
    "wrap_to_width",
]
