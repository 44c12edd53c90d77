"""Plain data for the trace view, built once from an MLflow ``Trace``.

A trace becomes a :class:`TraceData`: trace-level facts plus the spans in depth-first order as
parallel columns (ids, parent index, name, type, status, start offset, duration, tokens). Columns
keep a 50,000-span trace to a few MB of JSON and make the tree cheap to walk in Python and in the
browser. Span payloads (inputs, outputs, attributes, events) stay in the MLflow ``Trace`` and are
read one span at a time by :func:`span_detail`, bounded by a size cap.

No IPython and no display here; views consume these objects.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

INPUTS_KEY = "mlflow.spanInputs"
OUTPUTS_KEY = "mlflow.spanOutputs"
SPAN_TYPE_KEY = "mlflow.spanType"
TOKEN_USAGE_KEY = "mlflow.chat.tokenUsage"

#: Largest payload (characters) the widget receives for one field of one span.
DETAIL_CAP = 64 * 1024


@dataclass(frozen=True)
class TraceData:
    """One trace, ready to draw.

    ``spans`` holds the columns; row ``i`` is the i-th span in depth-first order, children
    sorted by start time, so a parent always precedes its children.
    """

    trace_id: str
    name: str
    status: str
    start_ms: float
    duration_ms: float
    tokens: dict[str, int] | None
    spans: dict[str, list]
    experiment_id: str | None = None
    request_preview: str | None = None
    response_preview: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def span_count(self) -> int:
        return len(self.spans["id"])

    @property
    def error_count(self) -> int:
        return sum(1 for s in self.spans["status"] if s == "ERROR")

    def depth(self) -> list[int]:
        """Depth of every row (root rows are 0)."""
        parents = self.spans["parent"]
        depth = [0] * len(parents)
        for i, p in enumerate(parents):
            if p >= 0:
                depth[i] = depth[p] + 1
        return depth

    def to_payload(self) -> dict[str, Any]:
        """The JSON the widget gets once: trace facts plus the span columns."""
        return {
            "trace_id": self.trace_id,
            "name": self.name,
            "status": self.status,
            "start_ms": self.start_ms,
            "duration_ms": self.duration_ms,
            "tokens": self.tokens,
            "experiment_id": self.experiment_id,
            "span_count": self.span_count,
            "spans": self.spans,
        }


@dataclass(frozen=True)
class Payload:
    """A span field rendered to text, with its full size kept when it was cut."""

    text: str
    size: int
    truncated: bool

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "size": self.size, "truncated": self.truncated}


def _raw_attributes(otel) -> dict:
    """The span's attribute dict without the per-access mapping proxy (hot at 50k spans)."""
    bounded = getattr(otel, "_attributes", None)
    raw = getattr(bounded, "_dict", None)
    if isinstance(raw, dict):
        return raw
    return dict(otel.attributes or {})


def _span_rows(spans) -> list[tuple]:
    """(id, parent id, name, type, status, start ns, end ns, token usage) per span.

    Reads the OpenTelemetry span underneath directly: MLflow's public properties JSON-decode
    an attribute per access, which is the cost that matters at 50,000 spans. Span types and
    status codes repeat, so each distinct value is decoded once.
    """
    try:
        return _fast_span_rows(spans)
    except AttributeError:  # a span class we do not know: the public, slower path
        return [
            (
                int(span.span_id, 16),
                int(span.parent_id, 16) if span.parent_id else None,
                span.name,
                span.span_type or "UNKNOWN",
                span.status.status_code.value if span.status else "UNSET",
                span.start_time_ns or 0,
                span.end_time_ns or 0,
                span.get_attribute(TOKEN_USAGE_KEY),
            )
            for span in spans
        ]


def _fast_span_rows(spans) -> list[tuple]:
    types: dict[object, str] = {}
    statuses: dict[object, str] = {}
    rows = []
    append = rows.append
    for span in spans:
        otel = span._span
        attrs = _raw_attributes(otel)
        raw_type = attrs.get(SPAN_TYPE_KEY)
        span_type = types.get(raw_type)
        if span_type is None:
            span_type = types[raw_type] = _decode_str(raw_type)
        code = otel.status.status_code
        status = statuses.get(code)
        if status is None:
            status = statuses[code] = code.name
        parent = otel.parent
        usage = attrs.get(TOKEN_USAGE_KEY)
        append(
            (
                otel.context.span_id,
                parent.span_id if parent is not None else None,
                otel.name,
                span_type,
                status,
                otel.start_time or 0,
                otel.end_time or 0,
                _decode_usage(usage) if usage else None,
            )
        )
    return rows


def _decode_str(raw: Any) -> str:
    if raw is None:
        return "UNKNOWN"
    if isinstance(raw, str) and raw.startswith('"'):
        try:
            return str(json.loads(raw))
        except ValueError:
            return raw
    return str(raw)


def _decode_usage(raw: Any) -> dict[str, int] | None:
    try:
        usage = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return None
    if not isinstance(usage, dict):
        return None
    return {k: int(v) for k, v in usage.items() if isinstance(v, (int, float))}


def trace_data(trace) -> TraceData:
    """Build :class:`TraceData` from an MLflow ``Trace`` (spans included)."""
    info = trace.info
    rows = _span_rows(trace.data.spans)
    by_id = {r[0]: r for r in rows}
    children: dict[int | None, list[tuple]] = {}
    for r in rows:
        # A parent that is not in the trace (a remote or dropped span) makes its child a root.
        parent = r[1] if r[1] in by_id else None
        children.setdefault(parent, []).append(r)
    for kids in children.values():
        kids.sort(key=lambda r: r[5])

    t0 = min((r[5] for r in rows if r[5]), default=0)
    t_end = max((r[6] for r in rows if r[6]), default=t0)
    order: list[tuple] = []
    parents: list[int] = []
    seen: set[int] = set()
    # Spans caught in a parent cycle (corrupt data) have no root: they follow as roots.
    for roots in (children.get(None, []), rows):
        stack = [(r, -1) for r in reversed(roots) if r[0] not in seen]
        while stack:
            r, parent_index = stack.pop()
            if r[0] in seen:
                continue
            seen.add(r[0])
            i = len(order)
            order.append(r)
            parents.append(parent_index)
            kids = children.get(r[0])
            if kids:
                stack.extend((c, i) for c in reversed(kids))
        if len(order) == len(rows):
            break
    ids = [format(r[0], "016x") for r in order]
    starts = [round((r[5] - t0) / 1e6, 3) if r[5] else 0.0 for r in order]
    # a span still open when the trace was saved runs to the end of the trace
    durations = [round(max((r[6] or t_end) - r[5], 0) / 1e6, 3) if r[5] else 0.0 for r in order]
    tokens = [int(r[7].get("total_tokens", 0)) if r[7] else 0 for r in order]
    names = [r[2] for r in order]
    types = [r[3] for r in order]
    statuses = [r[4] for r in order]

    status = getattr(info.state, "value", None) or str(getattr(info, "status", "UNKNOWN"))
    if status not in ("OK", "ERROR", "IN_PROGRESS"):
        status = "ERROR" if status.endswith("ERROR") else status.rsplit(".", 1)[-1]
    # The spans' own extent, so the header agrees with the root row to the microsecond.
    duration = (t_end - t0) / 1e6 if rows else getattr(info, "execution_duration", None) or 0.0
    root_name = names[0] if names else (info.tags.get("mlflow.traceName") or "trace")
    return TraceData(
        trace_id=info.trace_id,
        name=info.tags.get("mlflow.traceName") or root_name,
        status=status,
        start_ms=float(getattr(info, "request_time", None) or t0 / 1e6),
        duration_ms=float(duration),
        tokens=_trace_tokens(info, rows),
        spans={
            "id": ids,
            "parent": parents,
            "name": names,
            "type": types,
            "status": statuses,
            "start": starts,
            "dur": durations,
            "tokens": tokens,
        },
        experiment_id=getattr(getattr(info, "trace_location", None), "mlflow_experiment", None)
        and info.trace_location.mlflow_experiment.experiment_id,
        request_preview=getattr(info, "request_preview", None),
        response_preview=getattr(info, "response_preview", None),
        tags=dict(info.tags or {}),
    )


def _trace_tokens(info, rows) -> dict[str, int] | None:
    usage = None
    try:
        usage = info.token_usage
    except Exception:  # older MLflow 3 releases compute this lazily and may raise
        usage = None
    if usage:
        return {k: int(v) for k, v in usage.items() if isinstance(v, (int, float))}
    # Sum the leaves that report usage (LLM spans); parents that re-report would double count.
    totals: dict[str, int] = {}
    for r in rows:
        if r[7]:
            for k, v in r[7].items():
                totals[k] = totals.get(k, 0) + v
    return totals or None


def span_index(trace) -> dict[str, Any]:
    """Hex span id → MLflow span, built once per trace so a click is a dict lookup."""
    index = {}
    for span in trace.data.spans:
        otel = getattr(span, "_span", None)
        context = getattr(otel, "context", None)
        key = format(context.span_id, "016x") if context is not None else span.span_id
        index[key] = span
    return index


def find_span(trace, span_id: str, index: dict[str, Any] | None = None):
    """The MLflow span with hex id ``span_id`` in ``trace``, or None."""
    if index is not None:
        return index.get(span_id)
    for span in trace.data.spans:
        if span.span_id == span_id:
            return span
    return None


def render_payload(raw: Any, cap: int = DETAIL_CAP) -> Payload:
    """Render a span field (raw JSON string or value) as indented text, at most ``cap`` chars.

    Large payloads are cut without being decoded: a 5 MB output costs one slice, not a parse.
    A traced cell's input (``{"cell": source}``) shows as the source itself, lines intact.
    """
    if raw is None:
        return Payload("", 0, False)
    if isinstance(raw, str) and raw.startswith('{"cell": "') and len(raw) <= cap:
        try:
            value = json.loads(raw)
        except ValueError:
            value = None
        if isinstance(value, dict) and list(value) == ["cell"]:
            return Payload(str(value["cell"]), len(raw), False)
    text = raw if isinstance(raw, str) else _dumps(raw)
    size = len(text)
    if size > cap:
        return Payload(text[:cap], size, True)
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError:
            return Payload(raw, size, False)
        if isinstance(value, str):
            return Payload(value, size, False)
        text = _dumps(value)
    return Payload(text, size, False)


def _dumps(value: Any) -> str:
    try:
        return json.dumps(value, indent=2, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(value)


def span_detail(
    trace, span_id: str, cap: int = DETAIL_CAP, index: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """Everything the details pane shows for one span, each field bounded by ``cap``."""
    span = find_span(trace, span_id, index)
    if span is None:
        return None
    try:
        attrs = dict(_raw_attributes(span._span))
    except AttributeError:
        attrs = {k: json.dumps(v, default=str) for k, v in span.attributes.items()}
    inputs = attrs.pop(INPUTS_KEY, None)
    outputs = attrs.pop(OUTPUTS_KEY, None)
    shown_attrs = {
        k: _decode_attr(v)
        for k, v in attrs.items()
        if k not in (SPAN_TYPE_KEY, "mlflow.traceRequestId", "mlflow.experimentId")
    }
    events = []
    exception = None
    for ev in span.events or []:
        ev_attrs = dict(ev.attributes or {})
        if ev.name == "exception" and exception is None:
            exception = {
                "type": str(ev_attrs.get("exception.type", "")),
                "message": render_payload(str(ev_attrs.get("exception.message", "")), cap).text,
                "stacktrace": render_payload(
                    str(ev_attrs.get("exception.stacktrace", "")), cap
                ).text,
            }
        events.append(
            {
                "name": ev.name,
                "time_ns": ev.timestamp,
                "attributes": render_payload(ev_attrs, cap).to_dict(),
            }
        )
    status = span.status
    start = span.start_time_ns or 0
    end = span.end_time_ns or start
    return {
        "span_id": span_id,
        "name": span.name,
        "type": span.span_type or "UNKNOWN",
        "status": status.status_code.value if status else "UNSET",
        "status_message": (status.description or "") if status else "",
        "duration_ms": round((end - start) / 1e6, 3),
        "inputs": render_payload(inputs, cap).to_dict(),
        "outputs": render_payload(outputs, cap).to_dict(),
        "attributes": render_payload(shown_attrs, cap).to_dict(),
        "events": events[:100],
        "event_count": len(events),
        "exception": exception,
    }


def _decode_attr(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def format_duration(ms: float) -> str:
    """``0.4 ms``, ``12.3 ms``, ``1.25 s``, ``3 m 05 s``."""
    if ms is None or (isinstance(ms, float) and math.isnan(ms)):
        return "?"
    if ms < 0.1:
        return f"{ms * 1000:.0f} µs"
    if ms < 1000:
        return f"{ms:.1f} ms" if ms < 100 else f"{ms:.0f} ms"
    s = ms / 1000
    if s < 60:
        return f"{s:.2f} s"
    m, s = divmod(int(s), 60)
    return f"{m} m {s:02d} s"


def format_size(n: int) -> str:
    """``512 B``, ``64.0 KB``, ``5.0 MB``."""
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / (1024 * 1024):.1f} MB"
