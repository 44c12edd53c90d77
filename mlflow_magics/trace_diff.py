"""Compare two traces: their span trees aligned by path, as plain rows.

A span's path is the chain root → … → span, each step being a span name and its occurrence
among same-name siblings in start order. So the third ``search`` call under ``agent`` in one
trace meets the third ``search`` call under ``agent`` in the other, and a tool call one trace
made and the other did not shows as added or removed, not as every later call shifting by one.
When each trace has a single root, the roots are paired even if their names differ (two runs
of one agent under different ``--name`` flags).

A pair of spans is ``changed`` when its type, status, inputs or outputs differ; inputs and
outputs are compared as the raw JSON strings MLflow stored. Durations always differ a little, so
they are reported as deltas and do not make a row changed.

No IPython and no display here; :mod:`mlflow_magics.views.diff_view` draws a :class:`TraceDiff`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mlflow_magics.trace_data import (
    Payload,
    TraceData,
    raw_payloads,
    render_payload,
    span_index,
    trace_data,
)

#: Characters of each differing input/output a diff keeps for display.
PREVIEW_CAP = 500

SAME = "same"
CHANGED = "changed"
ADDED = "added"
REMOVED = "removed"


@dataclass(frozen=True)
class SpanSide:
    """One trace's span in a diff row."""

    span_id: str
    name: str
    type: str
    status: str
    duration_ms: float
    tokens: int
    cost: float


@dataclass(frozen=True)
class DiffRow:
    """One aligned position of the two trees: ``a`` and/or ``b`` is the span there.

    ``status`` is ``same``, ``changed``, ``added`` (only in B) or ``removed`` (only in A).
    Previews are set only for fields that differ, each at most :data:`PREVIEW_CAP` characters.
    """

    status: str
    depth: int
    a: SpanSide | None
    b: SpanSide | None
    inputs_differ: bool = False
    outputs_differ: bool = False
    inputs_a: Payload | None = None
    inputs_b: Payload | None = None
    outputs_a: Payload | None = None
    outputs_b: Payload | None = None

    @property
    def name(self) -> str:
        side = self.b or self.a
        assert side is not None
        return side.name

    @property
    def delta_ms(self) -> float | None:
        """B's duration minus A's; None unless both traces have the span."""
        if self.a is None or self.b is None:
            return None
        return round(self.b.duration_ms - self.a.duration_ms, 3)

    @property
    def delta_pct(self) -> float | None:
        """The delta as a percentage of A's duration; None when A took no measurable time."""
        delta = self.delta_ms
        if delta is None or self.a is None or self.a.duration_ms <= 0:
            return None
        return delta / self.a.duration_ms * 100

    @property
    def changes(self) -> list[str]:
        """What differs between the two spans: name, type, status, inputs, outputs."""
        if self.a is None or self.b is None:
            return []
        found = [
            key
            for key in ("name", "type", "status")
            if getattr(self.a, key) != getattr(self.b, key)
        ]
        if self.inputs_differ:
            found.append("inputs")
        if self.outputs_differ:
            found.append("outputs")
        return found


@dataclass(frozen=True)
class DiffSummary:
    """Counts and trace-level totals of a diff."""

    added: int
    removed: int
    changed: int
    same: int
    spans_a: int
    spans_b: int
    duration_a_ms: float
    duration_b_ms: float
    tokens_a: int | None
    tokens_b: int | None
    cost_a: float | None = None
    cost_b: float | None = None

    @property
    def duration_delta_ms(self) -> float:
        return round(self.duration_b_ms - self.duration_a_ms, 3)

    @property
    def duration_delta_pct(self) -> float | None:
        if self.duration_a_ms <= 0:
            return None
        return self.duration_delta_ms / self.duration_a_ms * 100

    @property
    def token_delta(self) -> int | None:
        """B's total tokens minus A's; None when neither trace reports usage."""
        if self.tokens_a is None and self.tokens_b is None:
            return None
        return (self.tokens_b or 0) - (self.tokens_a or 0)


@dataclass(frozen=True)
class TraceDiff:
    """Two traces compared: rows in tree order over the union of their spans."""

    trace_id_a: str
    trace_id_b: str
    name_a: str
    name_b: str
    status_a: str
    status_b: str
    rows: list[DiffRow]
    summary: DiffSummary

    def by_status(self, status: str) -> list[DiffRow]:
        """The rows whose status is ``status`` (same, changed, added, removed)."""
        return [r for r in self.rows if r.status == status]


def diff_traces(client, trace_id_a: str, trace_id_b: str) -> TraceDiff:
    """Load two traces from the store behind ``client`` and compare them (A → B).

    A malformed or unknown id raises :class:`~mlflow_magics.errors.BadInput`.
    """
    from mlflow_magics.traces import get_trace

    return diff(get_trace(client, trace_id_a), get_trace(client, trace_id_b))


def diff(
    trace_a, trace_b, data_a: TraceData | None = None, data_b: TraceData | None = None
) -> TraceDiff:
    """Compare two MLflow ``Trace`` objects (spans included), A being the baseline."""
    data_a = data_a if data_a is not None else trace_data(trace_a)
    data_b = data_b if data_b is not None else trace_data(trace_b)
    side_a = _Tree(trace_a, data_a)
    side_b = _Tree(trace_b, data_b)

    rows: list[DiffRow] = []
    if len(side_a.roots) == 1 and len(side_b.roots) == 1:
        roots = [(side_a.roots[0], side_b.roots[0])]
    else:
        roots = _merge(side_a, side_a.roots, side_b, side_b.roots)
    stack = [(ia, ib, 0) for ia, ib in reversed(roots)]
    while stack:
        ia, ib, depth = stack.pop()
        rows.append(_row(side_a, ia, side_b, ib, depth))
        kids = _merge(
            side_a, side_a.children(ia) if ia is not None else [],
            side_b, side_b.children(ib) if ib is not None else [],
        )  # fmt: skip
        stack.extend((ka, kb, depth + 1) for ka, kb in reversed(kids))

    counts = {SAME: 0, CHANGED: 0, ADDED: 0, REMOVED: 0}
    for r in rows:
        counts[r.status] += 1
    summary = DiffSummary(
        added=counts[ADDED],
        removed=counts[REMOVED],
        changed=counts[CHANGED],
        same=counts[SAME],
        spans_a=data_a.span_count,
        spans_b=data_b.span_count,
        duration_a_ms=data_a.duration_ms,
        duration_b_ms=data_b.duration_ms,
        tokens_a=_total_tokens(data_a),
        tokens_b=_total_tokens(data_b),
        cost_a=data_a.cost,
        cost_b=data_b.cost,
    )
    return TraceDiff(
        trace_id_a=data_a.trace_id,
        trace_id_b=data_b.trace_id,
        name_a=data_a.name,
        name_b=data_b.name,
        status_a=data_a.status,
        status_b=data_b.status,
        rows=rows,
        summary=summary,
    )


class _Tree:
    """One trace's span columns with children lists and path keys, for the merge."""

    def __init__(self, trace, data: TraceData) -> None:
        self.data = data
        self.index = span_index(trace, data)
        s = data.spans
        n = data.span_count
        self.roots: list[int] = []
        self._children: list[list[int]] = [[] for _ in range(n)]
        for i, p in enumerate(s["parent"]):
            (self._children[p] if p >= 0 else self.roots).append(i)
        # Rows are depth-first with siblings in start order, so counting as we go numbers
        # same-name siblings by start order.
        self.keys: list[tuple[str, int]] = [("", 0)] * n
        self.names = names = _undeduplicated(s["name"])
        for siblings in (self.roots, *self._children):
            seen: dict[str, int] = {}
            for i in siblings:
                name = names[i]
                k = seen.get(name, 0)
                seen[name] = k + 1
                self.keys[i] = (name, k)

    def children(self, i: int) -> list[int]:
        return self._children[i]

    def side(self, i: int) -> SpanSide:
        s = self.data.spans
        cost = s.get("cost")
        return SpanSide(
            span_id=s["id"][i],
            name=self.names[i],
            type=s["type"][i],
            status=s["status"][i],
            duration_ms=s["dur"][i],
            tokens=s["tokens"][i],
            cost=cost[i] if cost else 0.0,
        )

    def payloads(self, i: int) -> tuple[Any, Any]:
        """The span's raw (JSON string) inputs and outputs, as MLflow stored them."""
        span = self.index.get(self.data.spans["id"][i])
        return raw_payloads(span) if span is not None else (None, None)


_DEDUP_SUFFIX = re.compile(r"^(?P<base>.*)_(?P<n>[1-9]\d*)$")


def _undeduplicated(names: list[str]) -> list[str]:
    """Names as the code gave them. Older MLflow (before 3.6 or so) renames repeated span
    names in a trace to ``name_1``, ``name_2``, …; aligning by those would pair the first
    ``search`` of one trace with nothing in a trace whose MLflow kept the plain name."""
    present = set(names)
    out = []
    for name in names:
        match = _DEDUP_SUFFIX.match(name)
        # only a numbered series MLflow made (its first member is there), not `step_2` alone
        if match and f"{match['base']}_1" in present:
            out.append(match["base"])
        else:
            out.append(name)
    return out


def _merge(
    a: _Tree, kids_a: list[int], b: _Tree, kids_b: list[int]
) -> list[tuple[int | None, int | None]]:
    """Pair two sibling lists by (name, occurrence); keep A's order, B-only siblings slotted in
    where B has them, A-only ones where A has them."""
    if not kids_a:
        return [(None, j) for j in kids_b]
    if not kids_b:
        return [(i, None) for i in kids_a]
    pos_b = {b.keys[j]: p for p, j in enumerate(kids_b)}
    in_a = {a.keys[i] for i in kids_a}
    out: list[tuple[int | None, int | None]] = []
    cursor = 0
    for i in kids_a:
        p = pos_b.get(a.keys[i])
        if p is None:
            out.append((i, None))
            continue
        while cursor < p:  # B-only siblings that come before this match in B
            j = kids_b[cursor]
            if b.keys[j] not in in_a:
                out.append((None, j))
            cursor += 1
        cursor = max(cursor, p + 1)
        out.append((i, kids_b[p]))
    out.extend((None, j) for j in kids_b[cursor:] if b.keys[j] not in in_a)
    return out


def _row(a: _Tree, ia: int | None, b: _Tree, ib: int | None, depth: int) -> DiffRow:
    if ia is None:
        assert ib is not None
        return DiffRow(ADDED, depth, None, b.side(ib))
    if ib is None:
        return DiffRow(REMOVED, depth, a.side(ia), None)
    side_a, side_b = a.side(ia), b.side(ib)
    in_a, out_a = a.payloads(ia)
    in_b, out_b = b.payloads(ib)
    inputs_differ = in_a != in_b
    outputs_differ = out_a != out_b
    changed = (
        inputs_differ
        or outputs_differ
        or side_a.name != side_b.name
        or side_a.type != side_b.type
        or side_a.status != side_b.status
    )
    return DiffRow(
        CHANGED if changed else SAME,
        depth,
        side_a,
        side_b,
        inputs_differ=inputs_differ,
        outputs_differ=outputs_differ,
        inputs_a=_preview(in_a) if inputs_differ else None,
        inputs_b=_preview(in_b) if inputs_differ else None,
        outputs_a=_preview(out_a) if outputs_differ else None,
        outputs_b=_preview(out_b) if outputs_differ else None,
    )


def _preview(raw: Any) -> Payload:
    """At most PREVIEW_CAP characters of a field, pretty-printed when it is small enough."""
    payload = render_payload(raw, PREVIEW_CAP)
    if len(payload.text) > PREVIEW_CAP:  # pretty-printing can grow a value past the cap
        return Payload(payload.text[:PREVIEW_CAP], payload.size, True)
    return payload


def _total_tokens(data: TraceData) -> int | None:
    if not data.tokens:
        return None
    return data.tokens.get("total_tokens", sum(data.tokens.values()))
