"""The trace view: span tree, waterfall and span details, in three tiers.

- widget: :class:`~mlflow_magics.views.trace_widget.TraceWidget` (virtualized tree, on-demand
  span details);
- static HTML: nested ``<details>`` with CSS waterfall bars, no JavaScript, bounded to a prefix
  of the tree with counts of what is left out;
- text: an indented tree with durations, bounded the same way.
"""

from __future__ import annotations

from typing import Any

from mlflow_magics.trace_data import (
    SpanSearch,
    TraceData,
    format_duration,
    format_size,
    raw_attributes,
    render_payload,
    span_detail,
    span_index,
    trace_data,
)
from mlflow_magics.views import display
from mlflow_magics.views.content_view import (
    ASSESSMENTS_CSS,
    CONTENT_CSS,
    assessments_html,
    assessments_text,
    content_html,
    content_text,
    format_cost,
    format_tokens,
    plain_line,
)
from mlflow_magics.views.markup import NO_MATH, Markup, join, percent, tag, visible
from mlflow_magics.views.table_css import DIM, ERR, OK, RAISED, WARN, tint

#: Spans the static HTML shows before it says how many more there are (keeps it under ~2 MB).
HTML_MAX_SPANS = 500
#: Characters of each input/output the static HTML shows.
HTML_FIELD_CAP = 1500
#: Characters of the app's request/response as content (a chat transcript, newest turns kept):
#: the room its two JSON fields had.
ROOT_CONTENT_CAP = 2 * HTML_FIELD_CAP
#: Lines of the text tree.
TEXT_MAX_LINES = 200
#: Columns of the text tier's transcript and assessment lines, and characters of the transcript.
TEXT_WIDTH = 100
TEXT_CONTENT_CAP = 1200
#: Marks a traced cell's root span (whose request is the cell's code, not the app's).
_CELL_ATTRIBUTE = "mlflow_magics.cell"


def _plain(value: object, limit: int = 200) -> str:
    """One line of untrusted text for a terminal: control characters as visible escapes, at
    most ``limit`` columns."""
    return plain_line(value, limit)


def _root_content(data: TraceData) -> dict[str, Any] | None:
    """The app's request/response as content, when :mod:`mlflow_magics.content` recognized
    more than raw JSON in it (``TraceData.root_content``; absent on older data)."""
    content = getattr(data, "root_content", None)
    if not isinstance(content, dict) or content.get("kind") in (None, "other"):
        return None
    return content


def _assessments(data: TraceData) -> list[dict[str, Any]]:
    items = getattr(data, "assessments", None)
    return [a for a in items if isinstance(a, dict)] if isinstance(items, list) else []


def _entry_row(data: TraceData, objects: list | None) -> int:
    """The row of the app's entry call: the root, or the one call a traced cell's root holds
    (the cell's own span records the cell source)."""
    parents = data.spans["parent"]
    if not parents or objects is None:
        return 0
    children = [i for i, p in enumerate(parents) if p == 0]
    if len(children) != 1:
        return 0
    try:
        is_cell = bool(raw_attributes(objects[0]).get(_CELL_ATTRIBUTE))
    except AttributeError:
        is_cell = False
    return children[0] if is_cell else 0


def _problems(data: TraceData, note: str | None) -> list[str]:
    """What the reader must know before trusting the tree: a trace MLflow holds only in part,
    spans that never ended."""
    found = [p for p in (getattr(data, "problem", None), note) if p]
    unended = len(getattr(data, "unended", ()) or ())
    if unended:
        found.append(
            f"{unended:,} span{'s' if unended != 1 else ''} never ended (shown as UNENDED)"
        )
    return list(dict.fromkeys(found))


def trace_text(data: TraceData, max_lines: int = TEXT_MAX_LINES, note: str | None = None) -> str:
    """The text tier: a header line, the app's request/response as a transcript (``user: …`` /
    ``assistant: …``, newest turns kept) and the trace's assessments, then an indented span
    tree with durations."""
    header = [
        f"Trace {data.trace_id}",
        _plain(data.name, 80),
        data.status,
        format_duration(data.duration_ms),
        f"{data.span_count:,} span{'s' if data.span_count != 1 else ''}",
    ]
    if data.tokens:
        header.append(format_tokens(data.tokens))
    if data.cost:
        header.append(format_cost(data.cost))
    lines = ["  ".join(header)]
    lines += [f"! {_plain(p, TEXT_WIDTH)}" for p in _problems(data, note)]
    content = _root_content(data)
    if content is not None:
        text = content_text(content, TEXT_WIDTH - 2, budget=TEXT_CONTENT_CAP)
        lines += ["  " + ln for ln in text.splitlines()]
    assessments = _assessments(data)
    if assessments:
        lines.append(f"  {len(assessments):,} assessment{'s' if len(assessments) != 1 else ''}:")
        lines += ["    " + ln for ln in assessments_text(assessments, TEXT_WIDTH - 4).splitlines()]
    s = data.spans
    parents = s["parent"]
    n = len(parents)
    # "is last child" per row, to draw └─ vs ├─ and the vertical rails of ancestors
    last = [True] * n
    seen_parent: dict[int, int] = {}
    for i in range(n - 1, -1, -1):
        p = parents[i]
        if p in seen_parent:
            last[i] = False
        else:
            seen_parent[p] = i
    prefix: list[str] = [""] * n
    shown = min(n, max_lines)
    for i in range(shown):
        p = parents[i]
        rail = prefix[p] + ("   " if last[p] else "│  ") if p >= 0 else ""
        prefix[i] = rail
        branch = "└─ " if last[i] else "├─ "
        mark = "  ✗ ERROR" if s["status"][i] == "ERROR" else ""
        tokens = f"  {s['tokens'][i]:,} tok" if s["tokens"][i] else ""
        lines.append(
            f"{rail}{branch}{_plain(s['name'][i], 80)} [{_plain(s['type'][i], 24)}] "
            f"{format_duration(s['dur'][i])}{tokens}{mark}"
        )
    if n > shown:
        lines.append(f"… {n - shown:,} more spans not shown ({n:,} in all)")
    return visible("\n".join(lines))


# The tree reads without any CSS too (GitHub strips <style> and style=): depth is drawn as text
# rails in a <samp> and each bar also as block characters, so nothing depends on a rule below.
# Error styling hangs on the failing row's own <summary>, never on its <details>, so the spans
# nested under a failed span keep their own colours.
_CSS = f"""
.mlfm-trace{{font:12px/1.45 var(--jp-ui-font-family,system-ui,sans-serif);color:var(--jp-ui-font-color1,#212121);max-width:100%}}
.mlfm-trace .hdr{{display:flex;flex-wrap:wrap;gap:10px;align-items:baseline;margin:2px 0 6px}}
.mlfm-trace .hdr b{{font-size:13px}}
.mlfm-trace .problem{{color:{WARN};margin:0 0 6px}}
.mlfm-trace .id,.mlfm-trace .dim{{color:{DIM}}}
.mlfm-trace.mlfm-trace .id{{white-space:nowrap;font-family:var(--jp-code-font-family,monospace)}}
.mlfm-trace .badge{{border-radius:8px;padding:0 6px;font-size:11px;font-weight:600;color:{OK};background:{tint("--jp-success-color1", "#2e7d32")}}}
.mlfm-trace .badge.ERROR{{color:{ERR};background:{tint("--jp-error-color1", "#c62828")}}}
.mlfm-trace details{{margin:0;padding:0}}
.mlfm-trace summary{{display:grid;grid-template-columns:minmax(240px,1fr) 96px 52px 64px minmax(100px,220px);gap:6px;align-items:center;cursor:pointer;padding:1px 0;border-bottom:1px solid var(--jp-border-color2,#e0e0e0);list-style:none}}
.mlfm-trace summary::-webkit-details-marker{{display:none}}
.mlfm-trace summary:hover{{background:{RAISED}}}
.mlfm-trace .nm{{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}}
.mlfm-trace .rail{{font:12px/1 var(--jp-code-font-family,monospace);color:{DIM};white-space:pre}}
.mlfm-trace .deep{{font-size:10px;color:{DIM}}}
.mlfm-trace .lbl::before{{content:"\\25B8";display:inline-block;width:1.1em;color:{DIM}}}
.mlfm-trace details[open]>summary .lbl::before{{content:"\\25BE"}}
.mlfm-trace details.leaf>summary .lbl::before{{content:"\\00B7"}}
.mlfm-trace details.leaf>summary{{cursor:default}}
.mlfm-trace .ty{{font-size:10px;color:{DIM};overflow:hidden;text-overflow:ellipsis;white-space:nowrap}}
.mlfm-trace summary.err .lbl,.mlfm-trace summary.err .st{{color:{ERR};font-weight:600}}
.mlfm-trace .du{{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}}
.mlfm-trace .wf{{position:relative;height:10px;background:{RAISED};display:block}}
.mlfm-trace .wf i{{position:absolute;top:1px;bottom:1px;min-width:1px;background:var(--jp-brand-color1,#1976d2);border-radius:2px}}
.mlfm-trace summary.err .wf i{{background:{ERR}}}
.mlfm-trace .tb{{display:none;font:10px/1 var(--jp-code-font-family,monospace);white-space:pre}}
.mlfm-trace .bar:not(:has(i[style])) .wf{{display:none}}
.mlfm-trace .bar:not(:has(i[style])) .tb{{display:inline}}
.mlfm-trace .io{{margin:2px 0 4px;font-size:11px}}
.mlfm-trace pre{{white-space:pre-wrap;word-break:break-word;max-height:240px;overflow:auto;margin:2px 0;padding:4px 6px;background:{RAISED};color:var(--jp-ui-font-color1,#212121);border-radius:4px}}
.mlfm-trace .more{{margin-top:6px;color:{DIM}}}
.mlfm-trace .raw>summary{{cursor:pointer;color:{DIM};font-size:11px;display:list-item;list-style:revert;border:0;padding:0}}
.mlfm-trace .asmt{{margin:2px 0 6px}}.mlfm-trace .asmt>b{{font-size:12px}}
"""

#: Levels of indentation drawn; deeper rows say their depth ("⋯30") instead, so names stay
#: readable at any depth.
INDENT_CAP = 12
#: Characters of the text waterfall bar.
BAR_CELLS = 20
_NBSP = "\u00a0"
#: The text bar's background and bar: block characters both, so a font gives them one width
#: (partial blocks such as "▌" come from fallback fonts with other widths and leave gaps).
_TRACK, _BLOCK = "░", "█"


def _rails(parents: list[int], shown: int) -> list[tuple[str, ...]]:
    """Per shown row, the tree segments before its name ("│ ", "├ ", "└ "), one per level
    below the root, drawn as in the text tier."""
    n = len(parents)
    last = [True] * n
    seen: set[int] = set()
    for i in range(n - 1, -1, -1):
        if parents[i] in seen:
            last[i] = False
        else:
            seen.add(parents[i])
    inherit: list[tuple[str, ...]] = []  # what row i's children draw for the levels above them
    rows: list[tuple[str, ...]] = []
    for i in range(shown):
        p = parents[i]
        if p < 0:
            rows.append(())
            inherit.append(())
            continue
        rows.append((*inherit[p], ("└" if last[i] else "├") + _NBSP))
        inherit.append((*inherit[p], (_NBSP if last[i] else "│") + _NBSP))
    return rows


def _rail_html(segments: tuple[str, ...]) -> Markup | None:
    """The indentation of a row as text, at most :data:`INDENT_CAP` levels wide."""
    depth = len(segments)
    if not depth:
        return None
    if depth <= INDENT_CAP:
        return tag("samp", "".join(segments), class_="rail")
    # the depth marker takes the place of the two outermost levels drawn
    marker = f"⋯{depth}".ljust(4, _NBSP)
    return tag(
        "samp",
        tag("span", marker, class_="deep", title=f"depth {depth}"),
        "".join(segments[-(INDENT_CAP - 2) :]),
        class_="rail",
    )


def text_bar(start: float, width: float, cells: int = BAR_CELLS) -> str:
    """A waterfall bar as ``cells`` block characters: ``start`` and ``width`` are fractions of
    the trace; every span gets at least one block."""
    left = min(cells - 1, int(max(0.0, min(1.0, start)) * cells))
    blocks = max(1, min(cells - left, round(max(0.0, width) * cells)))
    return _TRACK * left + _BLOCK * blocks + _TRACK * (cells - left - blocks)


def _utf8_size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _field(label: str, raw: Any) -> Markup | None:
    payload = render_payload(raw, HTML_FIELD_CAP)
    if not payload.size:
        return None
    # sizes in UTF-8 bytes, what the payload weighs on disk and on the wire
    full = _utf8_size(raw) if isinstance(raw, str) else payload.size
    note = (
        f" (showing {format_size(_utf8_size(payload.text))} of {format_size(full)})"
        if payload.truncated
        else ""
    )
    return tag("div", tag("span", label + note, class_="dim"), tag("pre", payload.text))


def _content_body(content: dict[str, Any], raw: list[Markup | None]) -> list[Markup | None]:
    """The entry call's request/response as content (newest turns kept within
    :data:`ROOT_CONTENT_CAP`), with its raw JSON one click away in a closed ``<details>``."""
    body: list[Markup | None] = [content_html(content, ROOT_CONTENT_CAP, style=False)]
    shown = [r for r in raw if r is not None]
    if shown:
        body.append(tag("details", tag("summary", "raw JSON"), shown, class_="raw"))
    return body


def trace_html(
    data: TraceData, trace=None, max_spans: int = HTML_MAX_SPANS, note: str | None = None
) -> str:
    """The static HTML tier: nested ``<details>``, waterfall bars as CSS widths, no script.

    It stays readable with no CSS at all: indentation is text (tree rails, capped at
    :data:`INDENT_CAP` levels with the depth written beyond), every bar is also block
    characters, and failed spans with their ancestors start open.
    """
    s = data.spans
    n = data.span_count
    total = max(
        data.duration_ms, max((a + b for a, b in zip(s["start"], s["dur"], strict=True)), default=0)
    )
    total = total or 1.0
    depth = data.depth()
    # the shown rows' spans: from the row order when at hand, else looked up once
    objects = data.span_objects if len(data.span_objects) == n else None
    spans_by_id = {} if objects is not None or trace is None else span_index(trace)

    header = [
        tag("b", data.name),
        tag("span", data.trace_id, class_="id"),
        tag("span", data.status, class_=f"badge {data.status}"),
        tag("span", format_duration(data.duration_ms)),
        tag("span", f"{n:,} span{'s' if n != 1 else ''}", class_="dim"),
    ]
    if data.error_count:
        header.append(tag("span", f"{data.error_count:,} error", class_="badge ERROR"))
    if data.tokens:
        header.append(tag("span", format_tokens(data.tokens), class_="dim"))
    if data.cost:
        header.append(tag("span", format_cost(data.cost), class_="dim"))

    parents = s["parent"]
    # a failed span and every span above it start open, so the failure is in view
    err_below = [st == "ERROR" for st in s["status"]]
    for i in range(n - 1, -1, -1):
        if err_below[i] and parents[i] >= 0:
            err_below[parents[i]] = True
    content = _root_content(data)
    entry = _entry_row(data, objects) if content is not None else -1
    assessments = _assessments(data)
    out: list[str] = []
    open_depths: list[int] = []
    shown = min(n, max_spans)
    rails = _rails(parents, shown)
    for i in range(shown):
        d = depth[i]
        while open_depths and open_depths[-1] >= d:
            open_depths.pop()
            out.append("</details>")
        err = s["status"][i] == "ERROR"
        start, dur = s["start"][i] / total, s["dur"][i] / total
        # spaces between the cells: the grid ignores them, a page without CSS needs them
        summary = tag(
            "summary",
            tag("span", _rail_html(rails[i]), tag("span", s["name"][i], class_="lbl"), class_="nm"),
            " ",
            tag("span", s["type"][i], class_="ty"),
            " ",
            tag("span", s["status"][i], class_=f"st {s['status'][i]}"),
            " ",
            tag("span", format_duration(s["dur"][i]), class_="du"),
            " ",
            tag(
                "span",
                tag(
                    "span",
                    tag("i", style=f"left:{percent(start * 100)};width:{percent(dur * 100)}"),
                    class_="wf",
                ),
                tag("samp", text_bar(start, dur), class_="tb"),
                class_="bar",
            ),
            class_="err" if err else None,
        )
        body: list[Markup | None] = _content_body(content, []) if i == entry else []
        span = objects[i] if objects is not None else spans_by_id.get(s["id"][i])
        if span is not None:
            try:
                attrs = raw_attributes(span)
            except AttributeError:
                attrs = {}
            body = [
                _field("inputs", attrs.get("mlflow.spanInputs")),
                _field("outputs", attrs.get("mlflow.spanOutputs")),
            ]
            if i == entry:
                body = _content_body(content, body)
            if err:
                desc = getattr(span.status, "description", "") or ""
                if desc:
                    body.append(_field("error", desc))
        io = [b for b in body if b is not None]
        leaf = not io and not (i + 1 < shown and parents[i + 1] == i)
        opened = " open" if d < 2 or err_below[i] else ""
        kind = ' class="leaf"' if leaf else ""
        # under the name, past the rail (two 12px monospace cells, ~7.2px each, a level)
        indent = (min(d, INDENT_CAP) * 2 + 2) * 7.2
        out.append(
            f"<details{opened}{kind}>"
            + summary
            + (tag("div", io, class_="io", style=f"padding-left:{indent:.0f}px") if io else "")
        )
        open_depths.append(d)
    out.extend("</details>" for _ in open_depths)
    more = (
        tag(
            "div",
            f"Showing the first {shown:,} of {n:,} spans; {n - shown:,} more not shown here. "
            "The interactive view (JupyterLab, Notebook 7, VS Code, Colab) opens them all.",
            class_="more",
        )
        if n > shown
        else ""
    )
    asmt = (
        tag(
            "div",
            tag("b", f"Assessments ({len(assessments):,})"),
            assessments_html(assessments, style=False),
            class_="asmt",
        )
        if assessments
        else None
    )
    css = _CSS + (CONTENT_CSS if content is not None else "") + (ASSESSMENTS_CSS if asmt else "")
    return join(
        [
            tag("style", Markup(css)),
            tag(
                "div",
                # spaces between the parts: flex ignores them, a page without CSS needs them
                tag("div", [(part, " ") for part in header], class_="hdr"),
                [tag("div", p, class_="problem", role="note") for p in _problems(data, note)],
                asmt,
                Markup("".join(out)),
                more,
                # not typeset as LaTeX: "$" in the cost or in span names stays text
                class_=f"mlfm-trace {NO_MATH}",
            ),
        ]
    )


class TraceView:
    """A trace, shown as a span tree with a waterfall and span details.

    ``view.select(span_id)`` returns the details pane's content for one span (and selects it in
    the widget); ``view.trace`` is MLflow's ``Trace``; ``view.data`` the plain span columns.
    """

    def __init__(self, trace, data: TraceData | None = None, *, note: str | None = None):
        self.trace = trace
        self.data = data if data is not None else trace_data(trace)
        self.note = note
        self._widget = None
        self._search: SpanSearch | None = None

    @property
    def trace_id(self) -> str:
        return self.data.trace_id

    @property
    def widget(self):
        """The interactive widget (created on first use)."""
        if self._widget is None:
            from mlflow_magics.views.trace_widget import TraceWidget

            self._widget = TraceWidget(self.trace, self.data, view=self)
        return self._widget

    @property
    def assessments(self) -> list[dict[str, Any]]:
        """The trace's feedback and expectations (name, kind, value, rationale, source...)."""
        if self._widget is not None:
            return list(self._widget.assessments)
        return list(getattr(self.data, "assessments", []))

    def add_feedback(self, name: str, value: Any, rationale: str | None = None) -> dict:
        """Log feedback on this trace (``mlflow.log_feedback``, source HUMAN); returns it."""
        return self.add_assessment("feedback", name, value, rationale=rationale)

    def add_expectation(self, name: str, value: Any) -> dict:
        """Log an expectation on this trace (``mlflow.log_expectation``); returns it."""
        return self.add_assessment("expectation", name, value)

    def add_assessment(
        self, kind: str, name: str, value: Any, rationale: str | None = None
    ) -> dict[str, Any]:
        """The form's Python twin: log a feedback or expectation, refresh the list shown."""
        import mlflow

        from mlflow_magics.assessments import add_assessment

        before = {a["id"] for a in self.assessments}
        items = add_assessment(
            mlflow.MlflowClient(), self.trace_id, kind, name, value, rationale=rationale
        )
        object.__setattr__(self.data, "assessments", items)  # frozen: the same list everywhere
        if self._widget is not None:
            self._widget.assessments = items
        added = [a for a in items if a["id"] not in before]
        return added[-1] if added else items[-1]

    def search(self, text: str) -> list[str]:
        """Ids of the spans whose name, type, inputs or outputs contain ``text``
        (case-insensitive, at most 5,000); shown in the widget when it exists."""
        if self._widget is not None:
            return self._widget.search(text)
        if self._search is None:
            self._search = SpanSearch(self.trace, self.data)
        ids = self.data.spans["id"]
        return [ids[i] for i in self._search.find(text).rows]

    def select(self, span_id: str) -> dict[str, Any]:
        """Details of one span (inputs, outputs, attributes, events, exception), bounded."""
        if self._widget is not None:
            self._widget.select(span_id)
            return self._widget.detail
        detail = span_detail(self.trace, span_id)
        if detail is None:
            raise KeyError(f"no span {span_id!r} in trace {self.trace_id}")
        return detail

    def to_text(self) -> str:
        return trace_text(self.data, note=self.note)

    def to_html(self) -> str:
        return trace_html(self.data, self.trace, note=self.note)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        extra = None
        if display.in_databricks():
            try:
                extra = {display.DATABRICKS_TRACE_MIME: self.trace._serialize_for_mimebundle()}
            except Exception:
                extra = None
        return display.mimebundle(
            self.to_text(), html=self.to_html, widget=lambda: self.widget, extra=extra
        )

    def __repr__(self) -> str:
        d = self.data
        return (
            f"<TraceView {d.trace_id} {_plain(d.name, 40)!r} {d.span_count} spans "
            f"{d.status} {format_duration(d.duration_ms)}>"
        )
