"""Plain data for the trace view, built once from an MLflow ``Trace``.

A trace becomes a :class:`TraceData`: trace-level facts plus the spans in depth-first order as
parallel columns (ids, parent index, name, type, status, start offset, duration, tokens, cost).
Columns
keep a 50,000-span trace to a few MB of JSON and make the tree cheap to walk in Python and in the
browser. Span payloads (inputs, outputs, attributes, events) stay in the MLflow ``Trace`` and are
read one span at a time by :func:`span_detail`, bounded by a size cap, or searched in place by
:class:`SpanSearch`.

No IPython and no display here; views consume these objects.
"""

from __future__ import annotations

import base64
import json
import math
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

INPUTS_KEY = "mlflow.spanInputs"
OUTPUTS_KEY = "mlflow.spanOutputs"
SPAN_TYPE_KEY = "mlflow.spanType"
TOKEN_USAGE_KEY = "mlflow.chat.tokenUsage"
COST_KEY = "mlflow.llm.cost"
MODEL_KEY = "mlflow.llm.model"

#: Longest span name or type kept in the span columns (the details pane has the rest).
NAME_CAP = 300
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
    #: Total LLM cost in USD, where the spans or the trace record one.
    cost: float | None = None
    #: The MLflow span of each row, in row order (kernel-side only; never sent).
    span_objects: list = field(default_factory=list, repr=False, compare=False)
    #: The app's request and response read as GenAI content (a ``Content`` dict), if any.
    root_content: dict | None = None
    #: The last user message of the request and the reply text, for one-line summaries.
    request_text: str | None = None
    response_text: str | None = None
    #: The trace's feedback and expectations (``Assessment`` dicts).
    assessments: list = field(default_factory=list)
    #: Rows of spans that never ended (their end time is missing).
    unended: tuple = ()
    #: Why MLflow could not read the trace whole (its own words), when it said so.
    problem: str | None = None

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
            "cost": self.cost,
            "experiment_id": self.experiment_id,
            "span_count": self.span_count,
            "spans": self.spans,
            "request_text": self.request_text,
            "response_text": self.response_text,
            "unended": list(self.unended),
            "problem": self.problem,
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
    """(id, parent id, name, type, status, start ns, end ns, token usage, cost) per span.

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
                _decode_cost(span.get_attribute(COST_KEY)),
                span,
                span.get_attribute(MODEL_KEY),
            )
            for span in spans
        ]


_STATUS_CODES = {"STATUS_CODE_OK": "OK", "STATUS_CODE_ERROR": "ERROR", "STATUS_CODE_UNSET": "UNSET"}


def _stored_form(span) -> dict | None:
    """The stored dict of a span MLflow read from the store and has not decoded yet
    (``LazySpan``): reading it costs nothing, decoding 50,000 of them costs seconds."""
    state = getattr(span, "__dict__", {})
    if state.get("_materialized") is False:
        return state.get("_span_dict")
    return None


def _b64_id(value: Any) -> int | None:
    if not value:
        return None
    return int.from_bytes(base64.b64decode(value), "big")


def _fast_span_rows(spans) -> list[tuple]:
    types: dict[object, str] = {}
    statuses: dict[object, str] = {}
    rows = []
    append = rows.append
    for span in spans:
        stored = _stored_form(span)
        if stored is not None:
            attrs = stored.get("attributes") or {}
            span_id = _b64_id(stored.get("span_id"))
            parent_id = _b64_id(stored.get("parent_span_id"))
            name = stored.get("name", "")
            code = (stored.get("status") or {}).get("code", "STATUS_CODE_UNSET")
            status = _STATUS_CODES.get(code, "UNSET")
            start = int(stored.get("start_time_unix_nano") or 0)
            end = int(stored.get("end_time_unix_nano") or 0)
        else:
            otel = span._span
            attrs = _raw_attributes(otel)
            parent = otel.parent
            span_id = otel.context.span_id
            parent_id = parent.span_id if parent is not None else None
            name = otel.name
            code = otel.status.status_code
            status = statuses.get(code)
            if status is None:
                status = statuses[code] = code.name
            start = otel.start_time or 0
            end = otel.end_time or 0
        raw_type = attrs.get(SPAN_TYPE_KEY)
        raw_usage = attrs.get(TOKEN_USAGE_KEY)
        span_type = types.get(raw_type)
        if span_type is None:
            span_type = types[raw_type] = _decode_str(raw_type)
        cost = attrs.get(COST_KEY)
        append(
            (
                span_id,
                parent_id,
                name,
                span_type,
                status,
                start,
                end,
                raw_usage,  # decoded only where needed
                _decode_cost(cost) if cost else 0.0,
                span,
                attrs.get(MODEL_KEY) if raw_usage else None,
            )
        )
    return rows


_TOTAL_TOKENS = re.compile(r'"total_tokens"\s*:\s*(\d+)')


def _total_tokens(raw: Any) -> int:
    """``total_tokens`` of a raw usage attribute without parsing the whole JSON."""
    if not raw:
        return 0
    if isinstance(raw, str):
        match = _TOTAL_TOKENS.search(raw)
        return int(match.group(1)) if match else 0
    if isinstance(raw, dict):
        value = raw.get("total_tokens", 0)
        return int(value) if isinstance(value, (int, float)) else 0
    return 0


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


def _decode_cost(raw: Any) -> float:
    """``total_cost`` (USD) of an ``mlflow.llm.cost`` attribute; 0 when absent or unreadable."""
    try:
        cost = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return 0.0
    if isinstance(cost, dict):
        cost = cost.get("total_cost", 0.0)
    return float(cost) if isinstance(cost, (int, float)) and math.isfinite(cost) else 0.0


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
    # milliseconds to the microsecond, in integer arithmetic (round() per value is the slow part)
    starts = [(r[5] - t0) // 1000 / 1000 if r[5] else 0.0 for r in order]
    # a span still open when the trace was saved runs to the end of the trace
    durations = [max((r[6] or t_end) - r[5], 0) // 1000 / 1000 if r[5] else 0.0 for r in order]
    tokens = [_total_tokens(r[7]) if r[7] else 0 for r in order]
    costs = [r[8] or (_priced(r[10], r[7]) if r[7] and r[10] else 0.0) for r in order]
    innermost = [bool(r[7]) for r in order]
    _innermost_only(innermost, parents)
    _innermost_only(tokens, parents)
    _innermost_only(costs, parents)
    # Names and types ride in the payload for every span: a runaway one must not bloat it.
    names = [r[2] if len(r[2]) <= NAME_CAP else r[2][: NAME_CAP - 1] + "…" for r in order]
    types = [r[3] if len(r[3]) <= NAME_CAP else r[3][: NAME_CAP - 1] + "…" for r in order]
    statuses = [r[4] for r in order]
    # A span with a start and no end never ended (a stream never consumed, a crash): it is not
    # "OK", whatever status MLflow left on it.
    unended = tuple(i for i, r in enumerate(order) if r[5] and not r[6])
    for i in unended:
        statuses[i] = "UNENDED"

    status = getattr(info.state, "value", None) or str(getattr(info, "status", "UNKNOWN"))
    if status not in ("OK", "ERROR", "IN_PROGRESS"):
        status = "ERROR" if status.endswith("ERROR") else status.rsplit(".", 1)[-1]
    problem = None
    if status == "IN_PROGRESS" and not getattr(trace, "_mlflow_magics_live", False):
        problem = (
            "The trace never ended: its root span was never closed (a stream not read to the "
            "end, or a process that stopped), so the store holds only the spans that did"
        )
    # The spans' own extent, so the header agrees with the root row to the microsecond.
    duration = (t_end - t0) / 1e6 if rows else getattr(info, "execution_duration", None) or 0.0
    root_name = names[0] if names else (info.tags.get("mlflow.traceName") or "trace")
    return TraceData(
        trace_id=info.trace_id,
        name=_capped(info.tags.get("mlflow.traceName") or root_name),
        status=status,
        start_ms=float(getattr(info, "request_time", None) or t0 / 1e6),
        duration_ms=float(duration),
        tokens=_trace_tokens(info, order, innermost),
        spans={
            "id": ids,
            "parent": parents,
            "name": names,
            "type": types,
            "status": statuses,
            "start": starts,
            "dur": durations,
            "tokens": tokens,
            "cost": costs,
        },
        experiment_id=getattr(getattr(info, "trace_location", None), "mlflow_experiment", None)
        and info.trace_location.mlflow_experiment.experiment_id,
        request_preview=getattr(info, "request_preview", None),
        response_preview=getattr(info, "response_preview", None),
        tags=dict(info.tags or {}),
        cost=_trace_cost(info, costs),
        span_objects=[r[9] for r in order],
        unended=unended,
        problem=problem,
        **_request_facts(trace, [r[9] for r in order], parents),
    )


def _priced(model: Any, usage: Any) -> float:
    """The cost of an LLM call the store has not priced yet (a traced cell's spans, still in the
    kernel: the store prices spans when it receives them), with MLflow's own pricing."""
    from mlflow_magics.mlflow_internals import price

    cost = price(_decode_str(model), _decode_usage(usage))
    return cost or 0.0


def _innermost_only(values: list, parents: list[int]) -> None:
    """Zero the value of every row that has a descendant with a value, in place, so sums over
    a subtree count each LLM call once: LangChain's chat model span and the OpenAI span inside
    it both carry the same usage, and the innermost is the call that was made."""
    covered = [False] * len(values)
    for i in range(len(values) - 1, -1, -1):  # children follow their parents
        p = parents[i]
        if p >= 0 and (values[i] or covered[i]):
            covered[p] = True
        if covered[i]:
            values[i] = type(values[i])()


def _request_facts(trace, spans: list, parents: list[int]) -> dict[str, Any]:
    """The trace's request/response content, its one-line texts and its assessments."""
    from mlflow_magics import content

    out: dict[str, Any] = {"assessments": content.assessments_of(trace.info)}
    try:
        span = content.entry_span(spans, parents) if spans else None
        if span is None:
            return out
        inputs, outputs = raw_payloads(span)
        called = content.cell_request(span)
        if called is not None:
            inputs = json.dumps(called)
        span_type = span.span_type if _stored_form(span) is None else None
        if span_type is None:
            span_type = _decode_str((raw_attributes(span) or {}).get(SPAN_TYPE_KEY))
        if _too_big(inputs) or _too_big(outputs):
            return out
        root = content.span_content(span_type, inputs, outputs, raw_attributes(span))
        if root and root.get("kind") == "text":  # the app's plain question and answer
            root = _as_turn(root)
        if root and root.get("kind") in ("chat", "retrieval"):
            out["root_content"] = root
        sent = (root or {}).get("input_messages")
        got = (root or {}).get("output_messages")
        out["request_text"] = content.last_user_text(sent) or (
            content.preview(inputs) if inputs is not None else None
        )
        out["response_text"] = content.reply_text(got) or (
            content.preview(outputs) if outputs is not None else None
        )
    except Exception:  # content is a reading aid; the trace view must still open
        pass
    return out


def _as_turn(found: dict) -> dict:
    """A text span's input and output as one user/assistant turn (the app's request/reply)."""
    turn = {k: v for k, v in found.items() if k not in ("input_text", "output_text")}
    turn["kind"] = "chat"
    if "input_text" in found:
        turn["input_messages"] = [{"role": "user", "text": found["input_text"]}]
    if "output_text" in found:
        turn["output_messages"] = [{"role": "assistant", "text": found["output_text"]}]
    return turn


def _too_big(raw: Any) -> bool:
    return isinstance(raw, str) and len(raw) > 4 * DETAIL_CAP


def _capped(text: str) -> str:
    return text if len(text) <= NAME_CAP else text[: NAME_CAP - 1] + "…"


def _trace_tokens(info, rows: list[tuple], innermost: list[bool]) -> dict[str, int] | None:
    usage = None
    try:
        usage = info.token_usage
    except Exception:  # older MLflow 3 releases compute this lazily and may raise
        usage = None
    if usage:
        return {k: int(v) for k, v in usage.items() if isinstance(v, (int, float))}
    # Sum the innermost spans that report usage (LLM calls); parents that re-report would
    # double count.
    totals: dict[str, int] = {}
    for r, counted in zip(rows, innermost, strict=True):
        if not counted:
            continue
        usage = _decode_usage(r[7]) if r[7] else None
        for k, v in (usage or {}).items():
            totals[k] = totals.get(k, 0) + v
    return totals or None


def _trace_cost(info, costs: list[float]) -> float | None:
    try:
        cost = info.cost
    except Exception:  # no such property before MLflow 3.6; unreadable metadata
        cost = None
    if isinstance(cost, dict) and isinstance(cost.get("total_cost"), (int, float)):
        return float(cost["total_cost"])
    total = sum(costs)  # the spans that report cost, as for tokens
    return total or None


def span_index(trace, data: TraceData | None = None) -> dict[str, Any]:
    """Hex span id → MLflow span, built once per trace so a click is a dict lookup."""
    if data is not None and len(data.span_objects) == data.span_count:
        return dict(zip(data.spans["id"], data.span_objects, strict=True))
    index = {}
    for span in trace.data.spans:
        stored = _stored_form(span)
        if stored is not None:
            key = format(_b64_id(stored.get("span_id")) or 0, "016x")
        else:
            context = getattr(getattr(span, "_span", None), "context", None)
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


def raw_attributes(span) -> dict:
    """A span's attributes as MLflow stored them (JSON strings), without decoding the span."""
    stored = _stored_form(span)
    if stored is not None:
        return stored.get("attributes") or {}
    return _raw_attributes(span._span)


def raw_payloads(span) -> tuple[Any, Any]:
    """A span's inputs and outputs as MLflow stored them (JSON strings), without decoding."""
    try:
        attrs = raw_attributes(span)
    except AttributeError:  # a span class we do not know: its public accessors
        return span.get_attribute(INPUTS_KEY), span.get_attribute(OUTPUTS_KEY)
    return attrs.get(INPUTS_KEY), attrs.get(OUTPUTS_KEY)


_FIELDS = ("name", "type", "inputs", "outputs")
#: Most rows one span search returns; the view says when there were more.
SEARCH_CAP = 5000


@dataclass(frozen=True)
class SearchHits:
    """Rows (depth-first indexes) whose span matched a search, in tree order."""

    query: str
    rows: list[int]
    capped: bool  # more rows matched than ``rows`` holds
    #: Where each row matched first: "name", "type", "inputs" or "outputs" (parallel to rows).
    where: list[str] = field(default_factory=list)


class SpanSearch:
    """Case-insensitive substring search over every span's name, type and raw inputs/outputs.

    The text is gathered once, lower-cased, into one string with a table of where each row
    starts, so a query is ``str.find`` calls (C speed, one per matching row) and a bisect each;
    the payloads never leave Python. Inputs and outputs are searched as MLflow stores them
    (JSON), so a query is also tried JSON-escaped: ``say "hi"`` finds ``"say \\"hi\\""``.
    """

    def __init__(self, trace, data: TraceData, index: dict[str, Any] | None = None) -> None:
        index = index if index is not None else span_index(trace)
        s = data.spans
        texts: list[str] = []
        starts: list[int] = []
        offset = 0
        for span_id, name, span_type in zip(s["id"], s["name"], s["type"], strict=True):
            span = index.get(span_id)
            inputs, outputs = raw_payloads(span) if span is not None else (None, None)
            # lower() per row, not on the whole: it can change a string's length ("İ").
            text = f"{name}\x00{span_type}\x00{inputs or ''}\x00{outputs or ''}\x00".lower()
            starts.append(offset)
            texts.append(text)
            offset += len(text)
        self._text = "".join(texts)
        self._starts = starts

    def find(self, query: str, cap: int = SEARCH_CAP) -> SearchHits:
        """Rows whose name, type, inputs or outputs contain ``query`` (at most ``cap``)."""
        needle = query.replace("\x00", "").lower()
        if not needle:
            return SearchHits(query, [], False, [])
        needles = {needle, json.dumps(needle, ensure_ascii=False)[1:-1]}
        needles.add(json.dumps(needle)[1:-1])
        hits: dict[int, int] = {}
        text, starts, n = self._text, self._starts, len(self._starts)
        for nd in needles:
            pos = text.find(nd)
            while pos >= 0:
                row = bisect_right(starts, pos) - 1
                part = text.count("\x00", starts[row], pos)
                hits[row] = min(part, hits.get(row, part))
                if len(hits) > cap:
                    return self._hits(query, hits, cap, True)
                if row + 1 >= n:
                    break
                pos = text.find(nd, starts[row + 1])  # next row: one hit per row is enough
        return self._hits(query, hits, cap, False)

    @staticmethod
    def _hits(query: str, hits: dict[int, int], cap: int, capped: bool) -> SearchHits:
        rows = sorted(hits)[:cap]
        return SearchHits(query, rows, capped, [_FIELDS[min(hits[r], 3)] for r in rows])


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
            return Payload(str(value["cell"]), utf8_size(raw), False)
    text = raw if isinstance(raw, str) else _dumps(raw)
    size = utf8_size(text)
    if len(text) > cap:
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


def utf8_size(text: str) -> int:
    """Bytes of ``text`` in UTF-8 (what "KB" means to a user), without copying ASCII text."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


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
    raw_attrs = dict(attrs)
    attrs.pop(SPAN_TYPE_KEY, None)
    shown_attrs = {k: _decode_attr(v) for k, v in attrs.items() if not k.startswith("mlflow.")}
    internal_attrs = {
        k: _decode_attr(v)
        for k, v in attrs.items()
        if k.startswith("mlflow.") and k not in ("mlflow.traceRequestId", "mlflow.experimentId")
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
        "status": "UNENDED"
        if span.start_time_ns and not span.end_time_ns
        else (status.status_code.value if status else "UNSET"),
        "status_message": (status.description or "") if status else "",
        "duration_ms": round((end - start) / 1e6, 3),
        "inputs": render_payload(inputs, cap).to_dict(),
        "outputs": render_payload(outputs, cap).to_dict(),
        "attributes": render_payload(shown_attrs, cap).to_dict(),
        "internal_attributes": render_payload(internal_attrs, cap).to_dict(),
        "content": _content(span, inputs, outputs, raw_attrs),
        "events": events[:100],
        "event_count": len(events),
        "exception": exception,
    }


def _content(span, inputs: Any, outputs: Any, attrs: dict) -> dict | None:
    """The span's GenAI content; None when it has none or its payloads are too big to decode
    for the pane (the raw text, cut, is still shown)."""
    if _too_big(inputs) or _too_big(outputs):
        return None
    from mlflow_magics.content import span_content

    try:
        found = span_content(span.span_type, inputs, outputs, attrs)
    except Exception:  # a reading aid: the raw payloads are still shown
        return None
    if found and found.get("tool_call") is not None and not found["tool_call"]["name"]:
        found["tool_call"]["name"] = span.name
    return found


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
