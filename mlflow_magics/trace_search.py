"""Searching traces page by page, without their spans: the service behind the trace table.

A :class:`TraceQuery` holds what the user asked for (MLflow's own ``search_traces`` filter plus
a few conveniences); :func:`build_filter` turns it into one filter string; :func:`search_page`
fetches one page of plain :class:`TraceRow` s and the token of the next. Spans are never loaded
here: a trace's spans load when it is opened (:func:`mlflow_magics.traces.get_trace`).

No IPython and no display here; a user mistake raises :class:`~mlflow_magics.errors.BadInput`.
"""

from __future__ import annotations

import difflib
import re
import time
from dataclasses import dataclass, field
from typing import Any

from mlflow_magics.errors import BadInput

#: What the table sorts by unless told otherwise: newest first.
DEFAULT_ORDER = ("timestamp_ms DESC",)
#: Table columns the store can sort by, and the search_traces key each one sorts on.
SORT_KEYS = {
    "time": "timestamp_ms",
    "duration": "execution_time_ms",
    "name": "name",
    "status": "status",
}
STATUSES = ("OK", "ERROR")
#: Largest page a tracking server answers (MLflow's REST handler refuses more than 500).
MAX_PAGE = 500
#: Rows per request when walking every match of a local store: fewer, larger queries (MLflow's
#: own per-row work dominates; 100,000 ids take ~7 s at 5,000 a page, ~12 s at 500).
LOCAL_BULK_PAGE = 5_000
#: Tags MLflow itself writes; the table shows the user's tags only.
_SYSTEM_TAG = "mlflow."
_NAME_TAG = "mlflow.traceName"

_UNITS_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_ERROR_CODE_PREFIX = re.compile(r"^[A-Z_]+:\s*")
_QUOTED = re.compile(r"'[^']*'?|\"[^\"]*\"?|`[^`]*`?")
_INTEGER = re.compile(r"(?<![\w.])-?\d+(?![\w.])")
_INT64_MAX = 2**63 - 1
_INT64_MIN = -(2**63)


@dataclass(frozen=True)
class TraceQuery:
    """What to search for. ``filter`` is MLflow's ``search_traces`` syntax, passed through; the
    other fields are conveniences ANDed with it."""

    filter: str | None = None
    last: str | None = None
    max_results: int | None = None
    name: str | None = None
    status: str | None = None
    tags: tuple[tuple[str, str], ...] = ()
    order_by: tuple[str, ...] = ()
    experiment: str | None = None


@dataclass(frozen=True)
class TraceRow:
    """One trace as the table shows it: facts from its ``TraceInfo``, no spans."""

    trace_id: str
    time_ms: int
    name: str
    status: str
    duration_ms: float | None
    tokens: int | None
    request_preview: str
    response_preview: str
    tags: dict[str, str] = field(default_factory=dict)
    #: Assessment name → (value as short text, verdict "pass" | "fail" | "error" | None).
    assessments: dict[str, tuple[str, str | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class TracePage:
    """One page of rows and the token that fetches the next (None: this was the last)."""

    rows: list[TraceRow]
    next_token: str | None


def parse_duration(text: str) -> int:
    """``"30s"``, ``"20m"``, ``"2h"``, ``"7d"``, ``"1w"`` → milliseconds."""
    match = _DURATION.match(text or "")
    if match is None or float(match[1]) <= 0:
        raise BadInput(
            f"Cannot read the duration {_shown(text)}; use a positive number and a unit, such "
            "as 30s, 20m, 2h or 7d."
        )
    ms = float(match[1]) * _UNITS_MS[match[2]]
    if ms > time.time() * 1000:
        # A store compares timestamps as 64-bit integers: a cutoff before 1970 is no filter
        # at all, and one of 20 digits overflows the comparison.
        raise BadInput(
            f"The duration {_shown(text)} reaches back before 1970; use a shorter one such as "
            "7d, or leave out --last for traces of every age."
        )
    return int(ms)


def check_filter(text: str | None) -> None:
    """Refuse, before any search, the whole numbers of a filter that no store can compare
    (beyond 64 bits: SQLite and PostgreSQL fail on them with an overflow, not a message)."""
    for number in _filter_integers(text or ""):
        # Length first: int() refuses literals of more than 4,300 digits.
        if len(number.lstrip("-").lstrip("0")) > 19 or not _INT64_MIN <= int(number) <= _INT64_MAX:
            raise BadInput(
                f"The number {_shown(number)} in the filter is too large for a store to compare "
                f"(whole numbers go up to {_INT64_MAX:,}); use a smaller one."
            )


def _filter_integers(text: str) -> list[str]:
    """The whole-number literals of a filter, outside its quoted strings and `names`."""
    bare = _QUOTED.sub(" ", text)
    return _INTEGER.findall(bare)


def _shown(value: str | None, cap: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= cap else text[: cap - 2] + "…" + text[0]


def quote_value(value: str) -> str:
    """A string literal for a search_traces filter. MLflow's filter parser has no escapes, so
    a value is wrapped in whichever quote it does not contain."""
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    raise BadInput(
        f"The value {value!r} holds both kinds of quote, which an MLflow filter cannot express; "
        "filter on part of it with `LIKE` in FILTER instead."
    )


def _tag_key(key: str) -> str:
    if re.fullmatch(r"[A-Za-z_][\w.]*", key):
        return key
    if "`" in key:
        raise BadInput(f"The tag key {key!r} holds a backtick, which an MLflow filter cannot name.")
    return f"`{key}`"


def build_filter(query: TraceQuery, now_ms: int) -> str | None:
    """The user's FILTER and the conveniences joined with AND (None when there are none)."""
    clauses = []
    if query.filter and query.filter.strip():
        check_filter(query.filter)
        clauses.append(query.filter.strip())
    if query.name is not None:
        clauses.append(f"trace.name = {quote_value(query.name)}")
    if query.status is not None:
        status = query.status.upper()
        if status not in STATUSES:
            raise BadInput(f"Status {query.status!r} is not one of {', '.join(STATUSES)}.")
        clauses.append(f"trace.status = '{status}'")
    for key, value in query.tags:
        clauses.append(f"tag.{_tag_key(key)} = {quote_value(value)}")
    if query.last is not None:
        clauses.append(f"trace.timestamp_ms > {now_ms - parse_duration(query.last)}")
    return " AND ".join(clauses) or None


def experiment_ids(client, name: str | None) -> list[str]:
    """The id of experiment ``name`` in ``client``'s store, or of the active experiment."""
    if name is None:
        # The same private helper MLflow's fluent API resolves the active experiment with
        # (MLFLOW_EXPERIMENT_ID / _NAME, set_experiment, else the Default experiment).
        from mlflow.tracking.fluent import _get_experiment_id

        return [_get_experiment_id() or "0"]
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return [experiment.experiment_id]
    names = [e.name for e in client.search_experiments(max_results=1000)]
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise BadInput(
        f"No experiment {name!r} in {client.tracking_uri}.{hint} "
        "`%mlflow experiment NAME` creates one."
    )


def bulk_page_size(client) -> int:
    """Rows per request for walking every match: as many as the store takes in one page."""
    uri = str(getattr(client, "tracking_uri", "") or "")
    local = uri.startswith(("sqlite:", "postgresql", "mysql", "mssql", "file:")) or "://" not in uri
    return LOCAL_BULK_PAGE if local and not uri.startswith("databricks") else MAX_PAGE


def search_page(
    client,
    experiment_ids: list[str],
    filter_string: str | None,
    order_by: list[str] | tuple[str, ...] | None,
    page_size: int,
    page_token: str | None = None,
) -> TracePage:
    """One page of matching traces, without spans, newest first unless ``order_by`` says."""
    infos = search_infos(client, experiment_ids, filter_string, order_by, page_size, page_token)
    return TracePage([row_from_info(info) for info in infos], _token(infos))


def search_ids(
    client,
    experiment_ids: list[str],
    filter_string: str | None,
    order_by: list[str] | tuple[str, ...] | None,
    page_size: int,
    page_token: str | None = None,
) -> tuple[list[str], str | None]:
    """Like :func:`search_page`, the trace ids only (no rows built)."""
    infos = search_infos(client, experiment_ids, filter_string, order_by, page_size, page_token)
    return [info.trace_id for info in infos], _token(infos)


def search_infos(
    client,
    experiment_ids: list[str],
    filter_string: str | None,
    order_by: list[str] | tuple[str, ...] | None,
    page_size: int,
    page_token: str | None = None,
) -> list[Any]:
    """MLflow's ``TraceInfo`` s of one page (a ``PagedList`` carrying ``.token``), after this
    kernel's queued traces are in the store (the first page only: later pages follow it)."""
    from mlflow.exceptions import MlflowException

    if page_token is None:
        from mlflow_magics.traces import fresh

        fresh()

    order = list(order_by or DEFAULT_ORDER)
    try:
        traces = client.search_traces(
            **_where(client, experiment_ids),
            filter_string=filter_string or None,
            max_results=page_size,
            order_by=order,
            page_token=page_token,
            include_spans=False,
        )
    except MlflowException as e:
        if isinstance(e.__cause__ or e.__context__, OverflowError):
            # A number the store cannot hold reached it anyway (say, inside an order or a
            # form check_filter does not read): still the user's mistake, in one sentence.
            raise BadInput(
                f"The store cannot compare a number in the filter {_shown(filter_string)} "
                "(too large); use a smaller one."
            ) from e
        if e.error_code not in ("INVALID_PARAMETER_VALUE", "BAD_REQUEST"):
            raise
        bad_order = order != list(DEFAULT_ORDER) and _filter_works(
            client, experiment_ids, filter_string
        )
        raise BadInput(_rejected(filter_string, order if bad_order else None, e)) from e
    infos = _InfoPage(t.info for t in traces)
    infos.token = traces.token
    return infos


def _where(client, experiment_ids: list[str]) -> dict[str, list[str]]:
    """``locations=`` where this MLflow has it (``experiment_ids=`` is deprecated there)."""
    import inspect

    params = inspect.signature(client.search_traces).parameters
    key = "locations" if "locations" in params else "experiment_ids"
    return {key: list(experiment_ids)}


class _InfoPage(list):
    token: str | None = None


def _token(infos) -> str | None:
    token = getattr(infos, "token", None)
    if isinstance(token, bytes):
        token = token.decode()
    return token or None


def _filter_works(client, experiment_ids: list[str], filter_string: str | None) -> bool:
    """Whether the filter alone is accepted: tells a bad filter from a bad ``order_by``."""
    from mlflow.exceptions import MlflowException

    if not filter_string:
        return True
    try:
        client.search_traces(
            **_where(client, experiment_ids),
            filter_string=filter_string,
            max_results=1,
            include_spans=False,
        )
    except MlflowException:
        return False
    return True


def _rejected(filter_string: str | None, bad_order: list[str] | None, e) -> str:
    """One sentence: what MLflow refused and its reason (first line, HTTP code prefix off)."""
    reason = _ERROR_CODE_PREFIX.sub("", str(e.message).strip().splitlines()[0]).rstrip(".")
    if bad_order:
        return (
            f"MLflow rejected the order {', '.join(bad_order)!r}: {reason}. Orders look like "
            "`timestamp_ms DESC` or `execution_time_ms ASC`."
        )
    return (
        f"MLflow rejected the filter {filter_string or ''!r}: {reason}. Filters look like "
        "`trace.status = 'ERROR' AND tag.env = 'prod'`."
    )


def row_from_info(info) -> TraceRow:
    """A :class:`TraceRow` from MLflow's ``TraceInfo``."""
    tags = info.tags or {}
    state = getattr(info, "state", None)
    status = getattr(state, "value", None) or str(state or "")
    usage = info.token_usage or {}
    tokens = usage.get("total_tokens")
    if tokens is None and usage:
        tokens = usage.get("input_tokens", 0) + usage.get("output_tokens", 0)
    return TraceRow(
        trace_id=info.trace_id,
        time_ms=int(info.request_time or 0),
        name=tags.get(_NAME_TAG, ""),
        status=status,
        duration_ms=info.execution_duration,
        tokens=tokens,
        request_preview=_preview(info.request_preview),
        response_preview=_preview(info.response_preview),
        tags={k: v for k, v in tags.items() if not k.startswith(_SYSTEM_TAG)},
        assessments=_assessment_cells(info),
    )


def _preview(text: str | None) -> str:
    """A preview as a user reads it: MLflow's preview is JSON (cut at 1,000 characters) or the
    last message's text; a chat payload becomes its last user message or reply."""
    if not text:
        return ""
    from mlflow_magics.content import preview

    if text[:1] in ("{", "["):
        try:
            return preview(text)
        except Exception:
            return text
    return text


def _assessment_cells(info) -> dict[str, tuple[str, str | None]]:
    """Assessment name → (short value, verdict) of a trace's valid feedback, newest wins."""
    from mlflow_magics.content import assessments_of, short_value, verdict

    cells: dict[str, tuple[str, str | None]] = {}
    try:
        items = assessments_of(info)
    except Exception:
        return cells
    for a in items:
        if a["kind"] != "feedback":
            continue
        cells[a["name"]] = (
            "error" if a.get("error") else short_value(a.get("value"), 24),
            verdict(a.get("value"), a.get("error")),
        )
    return cells


def order_for(column: str, descending: bool) -> tuple[str, ...]:
    """The ``order_by`` that sorts the table by ``column`` (ties broken newest first)."""
    key = SORT_KEYS.get(column)
    if key is None:
        raise BadInput(f"Cannot sort by {column!r}; choose one of {', '.join(SORT_KEYS)}.")
    primary = f"{key} {'DESC' if descending else 'ASC'}"
    return (primary,) if key == "timestamp_ms" else (primary, "timestamp_ms DESC")
