"""Two evaluation runs compared per record (``%mlflow compare A B``), in two tiers.

- static HTML: the per-scorer summary (means A → B with the delta, pass rates, counts), then one
  row per record, regressions first: inputs, both outputs, each scorer's verdict A → B with the
  change marked, and both rationales (or errors) in ``<details>``. Self-contained (its own
  ``<style>``), no JavaScript, every value escaped by :func:`~mlflow_magics.views.markup.tag`
  (outputs and rationales are model-written). Bounded: the first :data:`HTML_MAX_ROWS` records.
- text: the summary table, then regressions, improvements and other changes, bounded.

The HTML is also what widget frontends show: a static table reads the same everywhere.
"""

from __future__ import annotations

from typing import Any

from mlflow_magics.compare import CompareRow, RunComparison, RunRef, ScorerSummary
from mlflow_magics.verdicts import Verdict
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
from mlflow_magics.views.trace_view import _plain

#: Records the static HTML shows before it says how many more there are.
HTML_MAX_ROWS = 200
#: Record lines of the text tier.
TEXT_MAX_ROWS = 40
#: Characters of an input or output shown in a cell, and of a rationale.
PREVIEW_CHARS = 300
RATIONALE_CHARS = 2_000

MARKERS = {"regressed": "▼", "improved": "▲", "changed": "~", "added": "+", "removed": "−"}
_TEXT_MARKERS = {"regressed": "v", "improved": "^", "changed": "~", "added": "+", "removed": "-"}


def format_value(value: float | None) -> str:
    """A mean or score: ``0.5``, ``1``, ``—`` for none."""
    if value is None:
        return "—"
    return str(int(value)) if float(value).is_integer() else f"{value:.3g}"


def format_delta(value: float | None) -> str:
    """``+0.25``, ``−0.5``, ``±0``; empty for none."""
    if value is None:
        return ""
    if abs(value) < 1e-9:
        return "±0"
    return f"{'+' if value > 0 else '−'}{format_value(abs(value))}"


def format_rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def verdict_label(v: Verdict) -> str:
    """What a cell shows for one verdict: pass, fail, 0.8, a text value, error, or —."""
    if v.kind == "missing":
        return "—"
    if v.kind == "error":
        return "error"
    return v.label or format_value(v.score)


def preview(value: Any, limit: int = PREVIEW_CHARS) -> str:
    """One bounded line that tells records apart (untrusted): a chat request's last user
    message, a response's reply text, a question's text, else compact JSON."""
    if value is None:
        return ""
    from mlflow_magics.content import preview as content_preview

    return content_preview(value, limit)


def _counts(c: RunComparison) -> list[tuple[str, int]]:
    return [
        (status, c.count(status))
        for status in ("regressed", "improved", "changed", "added", "removed", "same")
    ]


def _side(run: RunRef) -> str:
    return f"{run.name} ({run.run_id})" if run.name else run.run_id


# -- text ------------------------------------------------------------------------------------


def compare_text(c: RunComparison, max_rows: int = TEXT_MAX_ROWS) -> str:
    """The text tier: header, per-scorer summary, then the records that moved, worst first."""
    lines = [
        f"Compare A {_plain(_side(c.run_a), 100)} → B {_plain(_side(c.run_b), 100)}",
        "  ".join(f"{n:,} {status}" for status, n in _counts(c)),
        "",
    ]
    width = min(max((len(s.name) for s in c.scorers), default=6), 40)
    lines.append(
        f"{'scorer':<{width}}  {'A':>7} {'B':>7} {'Δ':>7}  {'pass A→B':>11}  "
        f"{'regressed':>9} {'improved':>8}  errors A/B"
    )
    for s in c.scorers:
        lines.append(
            f"{_plain(s.name, width):<{width}}  {format_value(s.mean_a):>7} "
            f"{format_value(s.mean_b):>7} {format_delta(s.delta).replace('−', '-'):>7}  "
            f"{_rates(s):>11}  {s.regressed:>9} {s.improved:>8}  {s.errors_a}/{s.errors_b}"
        )
    moved = [r for r in c.rows if r.status != "same"]
    shown = moved[:max_rows]
    current = None
    for r in shown:
        if r.status != current:
            current = r.status
            lines.extend(["", f"{r.status.capitalize()} ({c.count(r.status):,}):"])
        lines.append(
            f"  {_TEXT_MARKERS[r.status]} {_plain(preview(r.inputs, 80), 80)}  {_moves_text(r)}"
        )
        for side, record in (("A", r.a), ("B", r.b)):
            if record is not None:
                lines.append(f"      {side}: {_plain(preview(record.outputs, 120), 120)}")
    if len(moved) > len(shown):
        lines.append(f"… {len(moved) - len(shown):,} more changed records not shown")
    return visible("\n".join(lines))


def _rates(s: ScorerSummary) -> str:
    if s.pass_rate_a is None and s.pass_rate_b is None:
        return ""
    return f"{format_rate(s.pass_rate_a)}→{format_rate(s.pass_rate_b)}"


def _moves_text(r: CompareRow) -> str:
    if r.status == "added":
        return "only in B"
    if r.status == "removed":
        return "only in A"
    parts = [
        f"{change.scorer} {verdict_label(change.a)} → {verdict_label(change.b)}"
        for change in r.changes
        if change.change != "same"
    ]
    return _plain("; ".join(parts), 160)


# -- HTML ------------------------------------------------------------------------------------

_CSS = (
    header_rules("mlfm-cmp")
    + f"""
.mlfm-cmp table{{border-collapse:collapse;width:100%;margin-bottom:8px;table-layout:auto}}
.mlfm-cmp th{{text-align:left;padding:1px 6px;font-weight:normal;font-size:11px;color:{DIM};border-bottom:1px solid var(--jp-border-color1,#d0d7de)}}
.mlfm-cmp td{{padding:2px 6px;text-align:left;border-bottom:1px solid var(--jp-border-color3,#f3f4f6);vertical-align:top}}
.mlfm-cmp table tbody tr{{background:transparent}}
.mlfm-cmp td.mk{{width:16px;text-align:center;font-weight:700}}
.mlfm-cmp span.regressed,.mlfm-cmp td.regressed,.mlfm-cmp span.removed,.mlfm-cmp td.removed{{color:{ERR}}}
.mlfm-cmp span.improved,.mlfm-cmp td.improved,.mlfm-cmp span.added,.mlfm-cmp td.added{{color:{OK}}}
.mlfm-cmp span.changed,.mlfm-cmp td.changed{{color:{WARN}}}
.mlfm-cmp table tbody tr.regressed{{background:{tint("--jp-error-color1", "#c62828")}}}.mlfm-cmp table tbody tr.improved{{background:{tint("--jp-success-color1", "#2e7d32")}}}
.mlfm-cmp table tbody tr.changed{{background:{tint("--jp-warn-color1", "#f57c00")}}}
.mlfm-cmp .io{{white-space:pre-wrap;word-break:break-word;max-width:28em;font:11px/1.4 var(--jp-code-font-family,ui-monospace,monospace)}}
.mlfm-cmp .v{{display:inline-block;margin:0 6px 2px 0;padding:0 5px;border-radius:6px;background:{RAISED};white-space:nowrap}}
.mlfm-cmp .v.regressed{{background:{tint("--jp-error-color1", "#c62828", 24)}}}.mlfm-cmp .v.improved{{background:{tint("--jp-success-color1", "#2e7d32", 24)}}}.mlfm-cmp .v.changed{{background:{tint("--jp-warn-color1", "#f57c00", 24)}}}
.mlfm-cmp details summary{{cursor:pointer;font-size:11px;color:{DIM}}}
.mlfm-cmp .why{{display:grid;grid-template-columns:auto 1fr 1fr;gap:2px 8px;font-size:11px;min-width:26em}}
.mlfm-cmp .why div{{white-space:pre-wrap;word-break:break-word}}
.mlfm-cmp .err{{color:{ERR}}}
.mlfm-cmp .more{{margin-top:6px;color:{DIM}}}
"""
    + table_rules("mlfm-cmp")
)


def _summary_table(c: RunComparison) -> Markup:
    head = tag(
        "thead",
        tag(
            "tr",
            tag("th", "Scorer"),
            tag("th", "A", class_="num"),
            tag("th", "B", class_="num"),
            tag("th", "Δ", class_="num"),
            tag("th", "Pass rate A → B", class_="num"),
            tag("th", "Regressed", class_="num"),
            tag("th", "Improved", class_="num"),
            tag("th", "Errors A / B", class_="num"),
        ),
    )
    rows = []
    for s in c.scorers:
        delta = s.delta
        trend = "" if not delta else ("improved" if delta > 0 else "regressed")
        rows.append(
            tag(
                "tr",
                tag("td", s.name),
                tag("td", format_value(s.mean_a), class_="num"),
                tag("td", format_value(s.mean_b), class_="num"),
                tag("td", format_delta(delta), class_=f"num {trend}".strip()),
                tag("td", _rates(s).replace("→", " → "), class_="num"),
                tag("td", s.regressed, class_="num regressed" if s.regressed else "num"),
                tag("td", s.improved, class_="num improved" if s.improved else "num"),
                tag("td", f"{s.errors_a} / {s.errors_b}", class_="num"),
                data_scorer=s.name,
            )
        )
    return tag("table", head, tag("tbody", rows), class_="scorers")


def _verdict_chips(r: CompareRow) -> Markup:
    if r.status in ("added", "removed"):
        record = r.b or r.a
        assert record is not None
        side = "B" if r.status == "added" else "A"
        chips = [
            tag("span", f"{name}: {verdict_label(v)}", class_="v")
            for name, v in sorted(record.verdicts.items())
        ]
        return join([tag("span", f"only in {side} ", class_="dim"), chips])
    return join(
        tag(
            "span",
            f"{ch.scorer}: {verdict_label(ch.a)}"
            + ("" if ch.change == "same" else f" → {verdict_label(ch.b)}"),
            class_=f"v {ch.change}" + (" err" if "error" in (ch.a.kind, ch.b.kind) else ""),
            title=ch.change,
        )
        for ch in r.changes
    )


def _why(r: CompareRow) -> Markup:
    """Both rationales (or errors) per scorer that has one, in ``<details>``."""
    cells = []
    names = sorted({*(r.a.verdicts if r.a else {}), *(r.b.verdicts if r.b else {})})
    for name in names:
        a, b = r.verdict(name, "a"), r.verdict(name, "b")
        if not any((a.rationale, a.error, b.rationale, b.error)):
            continue
        cells.extend([tag("b", name), _reason(a), _reason(b)])
    if not cells:
        return Markup("")
    return tag(
        "details",
        tag("summary", "rationales"),
        tag("div", tag("span", ""), tag("b", "A"), tag("b", "B"), cells, class_="why"),
    )


def _reason(v: Verdict) -> Markup:
    if v.error:
        return tag("div", preview(v.error, RATIONALE_CHARS), class_="err")
    return tag("div", preview(v.rationale or "", RATIONALE_CHARS))


def _record_row(r: CompareRow) -> Markup:
    return tag(
        "tr",
        tag("td", MARKERS.get(r.status, ""), class_=f"mk {r.status}"),
        tag("td", tag("div", preview(r.inputs), class_="io")),
        tag("td", tag("div", preview(r.a.outputs) if r.a else "—", class_="io")),
        tag("td", tag("div", preview(r.b.outputs) if r.b else "—", class_="io")),
        tag("td", _verdict_chips(r), _why(r)),
        class_=r.status,
        data_status=r.status,
    )


def compare_html(c: RunComparison, max_rows: int = HTML_MAX_ROWS) -> str:
    """The static HTML tier: summary table and record rows, self-contained, no script."""
    header = tag(
        "div",
        tag("b", "Compare runs"),
        tag("span", "A", class_="side"),
        tag("span", c.run_a.name),
        tag("span", c.run_a.run_id, class_="id"),
        tag("span", "→", class_="dim"),
        tag("span", "B", class_="side"),
        tag("span", c.run_b.name),
        tag("span", c.run_b.run_id, class_="id"),
        class_="hdr",
    )
    summary = tag(
        "div",
        [
            tag("span", f"{n:,} {status}", class_=status if n and status != "same" else "dim")
            for status, n in _counts(c)
        ],
        class_="sum",
    )
    head = tag(
        "thead",
        tag(
            "tr",
            tag("th", ""),
            tag("th", "Inputs"),
            tag("th", "Output A"),
            tag("th", "Output B"),
            tag("th", "Verdicts A → B"),
        ),
    )
    shown = c.rows[:max_rows]
    body = tag("tbody", Markup("".join(_record_row(r) for r in shown)))
    n = len(c.rows)
    more = (
        tag(
            "div",
            f"Showing the first {len(shown):,} of {n:,} records; {n - len(shown):,} more not "
            "shown. `view.rows` and `view.to_pandas()` have them all.",
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
                _summary_table(c),
                tag("table", head, body, class_="records"),
                more,
                class_=f"mlfm-cmp {NO_MATH}",
            ),
        ]
    )


# -- the result object ---------------------------------------------------------------------


class CompareView:
    """Two evaluation runs compared per record (``%mlflow compare A B``), A the baseline.

    ``view.rows`` are all records, regressions first (most regressed scorers first), then
    improvements, other changes, records only in B (added) or only in A (removed), and the
    unchanged; ``view.regressions`` the regressed ones; ``view.scorers`` the per-scorer
    summary; ``view.to_pandas()`` one row per record.
    """

    def __init__(self, comparison: RunComparison) -> None:
        self.comparison = comparison

    @property
    def run_a(self) -> RunRef:
        return self.comparison.run_a

    @property
    def run_b(self) -> RunRef:
        return self.comparison.run_b

    @property
    def rows(self) -> tuple[CompareRow, ...]:
        return self.comparison.rows

    @property
    def regressions(self) -> list[CompareRow]:
        """Records whose verdict got worse on at least one scorer, worst first."""
        return [r for r in self.comparison.rows if r.status == "regressed"]

    @property
    def improvements(self) -> list[CompareRow]:
        """Records better on some scorer and worse on none."""
        return [r for r in self.comparison.rows if r.status == "improved"]

    @property
    def scorers(self) -> tuple[ScorerSummary, ...]:
        return self.comparison.scorers

    def to_pandas(self):
        """One row per record: status, inputs, both outputs and trace ids, and per scorer its
        A value, B value and change (``<scorer>/a``, ``<scorer>/b``, ``<scorer>/change``).
        Values are numbers for numeric scorers, else labels (pass, fail, error, text)."""
        import pandas as pd

        names = [s.name for s in self.comparison.scorers]
        records = []
        for r in self.comparison.rows:
            row: dict[str, Any] = {
                "status": r.status,
                "inputs": r.inputs,
                "outputs_a": r.a.outputs if r.a else None,
                "outputs_b": r.b.outputs if r.b else None,
            }
            moves = {c.scorer: c.change for c in r.changes}
            for name in names:
                row[f"{name}/a"] = _cell(r.verdict(name, "a"))
                row[f"{name}/b"] = _cell(r.verdict(name, "b"))
                row[f"{name}/change"] = moves.get(name)
            row["trace_id_a"] = r.a.trace_id if r.a else None
            row["trace_id_b"] = r.b.trace_id if r.b else None
            records.append(row)
        return pd.DataFrame.from_records(records)

    def to_text(self) -> str:
        return compare_text(self.comparison)

    def to_html(self) -> str:
        return compare_html(self.comparison)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        # No widget tier of its own: the static tables are what widget frontends show too.
        return display.mimebundle(self.to_text(), html=self.to_html)

    def __repr__(self) -> str:
        c = self.comparison
        return (
            f"<CompareView {c.run_a.run_id} → {c.run_b.run_id}: {c.count('regressed')} "
            f"regressed, {c.count('improved')} improved, {len(c.rows)} records>"
        )


def _cell(v: Verdict) -> Any:
    if v.kind == "missing":
        return None
    if v.kind == "number":
        return v.score
    return verdict_label(v)
