"""Two traces compared, in two tiers (the HTML is also what widget frontends show).

- static HTML: one table in tree order with colored markers (+ added, − removed, ~ changed),
  durations A / B with the delta, and the differing inputs/outputs side by side in
  ``<details>``. Self-contained (its own ``<style>``), no JavaScript, every value escaped by
  :func:`~mlflow_magics.views.markup.tag`, so it can also sit inside an ``ipywidgets.HTML``.
- text: the same tree, indented, with ``+ - ~`` markers and deltas.

Both are bounded for very large traces and say how many rows they left out.
"""

from __future__ import annotations

from typing import Any

from mlflow_magics.trace_data import Payload, format_duration
from mlflow_magics.trace_diff import ADDED, CHANGED, REMOVED, DiffRow, DiffSummary, TraceDiff
from mlflow_magics.views import display
from mlflow_magics.views.markup import NO_MATH, Markup, join, tag, visible
from mlflow_magics.views.table_css import (
    DIM,
    ERR,
    OK,
    RAISED,
    WARN,
    header_rules,
    table_rules,
    tint,
)
from mlflow_magics.views.trace_view import _plain, format_cost

#: Rows the static HTML shows before it says how many more there are.
HTML_MAX_ROWS = 1000
#: Lines of the text tree.
TEXT_MAX_LINES = 200

MARKERS = {ADDED: "+", REMOVED: "−", CHANGED: "~"}
_TEXT_MARKERS = {ADDED: "+", REMOVED: "-", CHANGED: "~"}
#: A duration change smaller than this (either way) is not colored.
_NOTABLE_PCT = 10.0


def format_delta(ms: float | None, pct: float | None = None) -> str:
    """``+3.0 ms (+25.0%)``, ``−1.20 s (−40.0%)``, ``±0 ms``; empty when there is no delta."""
    if ms is None:
        return ""
    if abs(ms) < 0.0005:
        return "±0 ms"
    sign = "+" if ms > 0 else "−"
    text = f"{sign}{format_duration(abs(ms))}"
    if pct is not None:
        text += f" ({sign}{abs(pct):.1f}%)"
    return text


def _pair(*values: object) -> str:
    """``x`` for one value or two equal ones, ``a → b`` for two that differ."""
    if len(values) == 1 or values[0] == values[1]:
        return str(values[0])
    return f"{values[0]} → {values[1]}"


def summary_parts(diff: TraceDiff) -> list[tuple[str, str]]:
    """(css class, text) pieces of the one-line summary, shared by both tiers."""
    s: DiffSummary = diff.summary
    parts = [
        ("add" if s.added else "dim", f"+{s.added:,} added"),
        ("rem" if s.removed else "dim", f"−{s.removed:,} removed"),
        ("chg" if s.changed else "dim", f"~{s.changed:,} changed"),
        ("dim", f"{s.same:,} same"),
        (
            "",
            f"duration {format_duration(s.duration_a_ms)} → {format_duration(s.duration_b_ms)}"
            f", {format_delta(s.duration_delta_ms, s.duration_delta_pct)}",
        ),
    ]
    if s.token_delta is not None:
        parts.append(("", f"tokens {s.tokens_a or 0:,} → {s.tokens_b or 0:,}, {s.token_delta:+,}"))
    if s.cost_a or s.cost_b:
        parts.append(("", f"cost {format_cost(s.cost_a or 0)} → {format_cost(s.cost_b or 0)}"))
    return parts


def diff_text(diff: TraceDiff, max_lines: int = TEXT_MAX_LINES) -> str:
    """The text tier: header, summary, and the aligned tree with markers and deltas."""
    lines = [
        f"Diff A {diff.trace_id_a} {_plain(diff.name_a, 60)!r} → "
        f"B {diff.trace_id_b} {_plain(diff.name_b, 60)!r}",
        "  ".join(text.replace("−", "-") for _, text in summary_parts(diff)),
    ]
    labels = [
        "  " * min(r.depth, 30) + f"{_plain(_pair_name(r), 60)} [{_plain(_type(r), 30)}]"
        for r in diff.rows[:max_lines]
    ]
    width = min(max((len(x) for x in labels), default=0), 72)
    for r, label in zip(diff.rows, labels, strict=False):
        durations = f"{_duration(r.a)} → {_duration(r.b)}"
        notes = []
        if r.status == CHANGED:
            notes.append(f"changed: {', '.join(r.changes)}")
        status = _pair(*(side.status for side in (r.a, r.b) if side is not None))
        if status != "OK":
            notes.append(status)
        line = (
            f"{_TEXT_MARKERS.get(r.status, ' ')} {label:<{width}}  {durations:<22}"
            f"{format_delta(r.delta_ms, r.delta_pct):<20}{'  '.join(notes)}"
        )
        lines.append(line.rstrip())
    if len(diff.rows) > max_lines:
        lines.append(
            f"… {len(diff.rows) - max_lines:,} more rows not shown ({len(diff.rows):,} in all)"
        )
    return visible("\n".join(lines))


def _pair_name(r: DiffRow) -> str:
    return _pair(*(side.name for side in (r.a, r.b) if side is not None))


def _type(r: DiffRow) -> str:
    return _pair(*(side.type for side in (r.a, r.b) if side is not None))


def _duration(side) -> str:
    return format_duration(side.duration_ms) if side is not None else "—"


# Selectors that must beat JupyterLab's rendered-HTML table rules (right-aligned cells, striped
# rows) repeat the class to gain specificity.
_CSS = (
    header_rules("mlfm-diff")
    + f"""
.mlfm-diff .sum .add{{color:{OK}}}.mlfm-diff .sum .rem{{color:{ERR}}}.mlfm-diff .sum .chg{{color:{WARN}}}
.mlfm-diff table{{border-collapse:collapse;width:100%;table-layout:fixed}}
.mlfm-diff th{{text-align:left;padding:1px 4px;font-weight:normal;font-size:11px;color:{DIM};border-bottom:1px solid var(--jp-border-color1,#d0d7de)}}
.mlfm-diff td{{padding:1px 4px;text-align:left;border-bottom:1px solid var(--jp-border-color3,#f3f4f6);white-space:nowrap;overflow:hidden;text-overflow:ellipsis;vertical-align:top}}
.mlfm-diff.mlfm-diff td.mk,.mlfm-diff.mlfm-diff th.mk{{width:16px;text-align:center;font-weight:700}}
.mlfm-diff table tbody tr{{background:transparent}}
.mlfm-diff table tbody tr.added{{background:{tint("--jp-success-color1", "#2e7d32")}}}.mlfm-diff tr.added .mk{{color:{OK}}}
.mlfm-diff table tbody tr.removed{{background:{tint("--jp-error-color1", "#c62828")}}}.mlfm-diff tr.removed .mk{{color:{ERR}}}.mlfm-diff tr.removed .nm{{text-decoration:line-through}}
.mlfm-diff table tbody tr.changed{{background:{tint("--jp-warn-color1", "#f57c00")}}}.mlfm-diff tr.changed .mk{{color:{WARN}}}
.mlfm-diff table tbody tr:hover{{background:{RAISED}}}
.mlfm-diff .slower{{color:{ERR}}}.mlfm-diff .faster{{color:{OK}}}
.mlfm-diff .ERROR{{color:{ERR};font-weight:600}}
.mlfm-diff td.io{{white-space:normal;padding-bottom:4px}}
.mlfm-diff details summary{{cursor:pointer;font-size:11px;color:{DIM}}}
.mlfm-diff .sbs{{display:grid;grid-template-columns:1fr 1fr;gap:8px;text-align:left}}
.mlfm-diff pre{{white-space:pre-wrap;word-break:break-word;max-height:200px;overflow:auto;margin:2px 0;padding:4px 6px;background:{RAISED};border-radius:4px;font:11px/1.4 var(--jp-code-font-family,ui-monospace,monospace)}}
.mlfm-diff .more{{margin-top:6px;color:{DIM}}}
"""
    + table_rules("mlfm-diff", layout="fixed")
)


def _side_by_side(label: str, a: Payload | None, b: Payload | None) -> Markup:
    def one(side: str, payload: Payload | None) -> Markup:
        if payload is None or not payload.size:
            return tag("div", tag("span", f"{side}: (none)", class_="dim"))
        note = (
            f" (first {len(payload.text):,} of {payload.size:,} chars)" if payload.truncated else ""
        )
        return tag("div", tag("span", f"{side}{note}", class_="dim"), tag("pre", payload.text))

    return tag(
        "details",
        tag("summary", f"{label} differ"),
        tag("div", one("A", a), one("B", b), class_="sbs"),
        class_=label,
    )


def _row_html(r: DiffRow) -> Markup:
    delta_class = "num"
    pct = r.delta_pct
    if pct is not None and abs(pct) >= _NOTABLE_PCT and abs(r.delta_ms or 0) >= 1:
        delta_class += " slower" if pct > 0 else " faster"
    status = _pair(*(side.status for side in (r.a, r.b) if side is not None))
    ids = " / ".join(f"{k}: {side.span_id}" for k, side in (("A", r.a), ("B", r.b)) if side)
    cells = tag(
        "tr",
        tag("td", MARKERS.get(r.status, ""), class_="mk"),
        tag(
            "td",
            _pair_name(r),
            class_="nm",
            style=f"padding-left:{min(r.depth, 40) * 14 + 4}px",
            title=ids,
        ),
        tag("td", _type(r), class_="ty"),
        tag("td", _duration(r.a), class_="num"),
        tag("td", _duration(r.b), class_="num"),
        tag("td", format_delta(r.delta_ms, pct), class_=delta_class),
        tag("td", status, class_=status if status in ("ERROR", "OK") else "chg"),
        class_=f"row {r.status}",
        data_status=r.status,
    )
    io = []
    if r.inputs_differ:
        io.append(_side_by_side("inputs", r.inputs_a, r.inputs_b))
    if r.outputs_differ:
        io.append(_side_by_side("outputs", r.outputs_a, r.outputs_b))
    if not io:
        return cells
    return join(
        [
            cells,
            tag(
                "tr",
                tag("td"),
                tag(
                    "td",
                    io,
                    colspan=6,
                    class_="io",
                    style=f"padding-left:{min(r.depth, 40) * 14 + 18}px",
                ),
                class_=f"detail {r.status}",
            ),
        ]
    )


def diff_html(diff: TraceDiff, max_rows: int = HTML_MAX_ROWS) -> str:
    """The static HTML tier: a self-contained table, no script."""
    header = tag(
        "div",
        tag("b", "Compare"),
        tag("span", "A", class_="side"),
        tag("span", diff.name_a),
        tag("span", diff.trace_id_a, class_="id"),
        tag("span", "→", class_="dim"),
        tag("span", "B", class_="side"),
        tag("span", diff.name_b),
        tag("span", diff.trace_id_b, class_="id"),
        class_="hdr",
    )
    summary = tag(
        "div",
        [tag("span", text, class_=cls or None) for cls, text in summary_parts(diff)],
        class_="sum",
    )
    head = tag(
        "thead",
        tag(
            "tr",
            tag("th", "", class_="mk"),
            tag("th", "Span"),
            tag("th", "Type", style="width:110px"),
            tag("th", "A", class_="num", style="width:72px"),
            tag("th", "B", class_="num", style="width:72px"),
            tag("th", "Δ", class_="num", style="width:130px"),
            tag("th", "Status", style="width:90px"),
        ),
    )
    shown = diff.rows[:max_rows]
    body = tag("tbody", Markup("".join(_row_html(r) for r in shown)))
    n = len(diff.rows)
    more = (
        tag(
            "div",
            f"Showing the first {len(shown):,} of {n:,} rows; {n - len(shown):,} more not shown. "
            "`view.diff.rows` has them all.",
            class_="more",
        )
        if n > len(shown)
        else ""
    )
    return join(
        [
            tag("style", Markup(_CSS)),
            tag(
                "div",
                header,
                summary,
                tag("table", head, body),
                more,
                class_=f"mlfm-diff {NO_MATH}",
            ),
        ]
    )


class DiffView:
    """Two traces compared, span by span (``%mlflow diff A B``).

    ``view.diff`` is the plain :class:`~mlflow_magics.trace_diff.TraceDiff` (rows, summary);
    ``view.to_html()`` is self-contained HTML that also fits in an ``ipywidgets.HTML``.
    """

    def __init__(self, diff: TraceDiff) -> None:
        self.diff = diff

    @property
    def rows(self) -> list[DiffRow]:
        return self.diff.rows

    @property
    def summary(self) -> DiffSummary:
        return self.diff.summary

    def to_text(self) -> str:
        return diff_text(self.diff)

    def to_html(self) -> str:
        return diff_html(self.diff)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        # No widget tier of its own: the static table is what widget frontends show too.
        return display.mimebundle(self.to_text(), html=self.to_html)

    def __repr__(self) -> str:
        s = self.diff.summary
        return (
            f"<DiffView {self.diff.trace_id_a} → {self.diff.trace_id_b}: +{s.added} "
            f"-{s.removed} ~{s.changed} ={s.same}>"
        )
