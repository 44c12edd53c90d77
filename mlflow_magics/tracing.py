"""Cell tracing: run a notebook cell inside one MLflow root span.

The cell runs as a normal cell (so magics, top-level ``await``, ``display`` and the value of
the last line behave as usual); :class:`CellTracer` opens the root span when the cell starts
and closes it when the cell has finished. Spans made in the cell (``@mlflow.trace``,
``mlflow.start_span``, autolog) find the root through MLflow's context and become its children.

Rule kept everywhere here: tracing never breaks the cell. Every step is guarded; a failure
produces one short warning and the cell's own result and exception are untouched. Export stays
on MLflow's asynchronous queue, never on the cell.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: Span types MLflow knows; others are accepted as written (MLflow allows custom types).
KNOWN_SPAN_TYPES = (
    "AGENT", "CHAIN", "CHAT_MODEL", "EMBEDDING", "EVALUATOR", "GUARDRAIL", "LLM", "MEMORY",
    "PARSER", "RERANKER", "RETRIEVER", "TASK", "TOOL", "UNKNOWN", "WORKFLOW",
)  # fmt: skip
DEFAULT_NAME = "cell"
#: Traced cells kept in memory for `%mlflow show` (their spans are in the kernel anyway).
RECENT_KEPT = 20
DEFAULT_SPAN_TYPE = "CHAIN"
#: Longest text kept as the root span's output when the cell's value is not JSON-like.
OUTPUT_REPR_CAP = 10_000

# Marks the context a cell's root span was attached in. ipykernel runs async-capable cells in
# a Task (a copy of the context) and fires post_run_cell outside it; a context token can only be
# reset where it was made, so the span is detached only when we are still in that context.
_CELL_CONTEXT: contextvars.ContextVar[object | None] = contextvars.ContextVar(
    "mlflow_magics_cell", default=None
)


@dataclass(frozen=True)
class TraceOptions:
    """How a cell is traced (the flags of ``%%mlflow trace`` and ``%mlflow autotrace on``)."""

    name: str | None = None
    span_type: str = DEFAULT_SPAN_TYPE
    tags: dict[str, str] = field(default_factory=dict)
    quiet: bool = False


@dataclass
class _OpenCell:
    span: Any
    token: Any
    marker: object
    internal: Any
    options: TraceOptions
    #: When the user's code stopped (set before IPython prints a traceback); None: at finish.
    ended_ns: int | None = None


@dataclass
class FinishedCell:
    """A traced cell after it ran: its trace id and, lazily, the MLflow ``Trace``."""

    trace_id: str
    options: TraceOptions
    internal: Any = None
    error: BaseException | None = None
    _trace: Any = None

    @property
    def trace(self):
        """MLflow's ``Trace`` for the cell, built from the spans still in the kernel.

        The ended spans are used as they are: MLflow's own conversion copies every span
        (about 0.7 s at 50,000 spans), and nothing changes them after the cell."""
        if self._trace is None and self.internal is not None:
            from mlflow.entities import Trace, TraceData

            internal, self.internal = self.internal, None
            try:
                self._trace = Trace(
                    internal.info, TraceData(spans=list(internal.span_dict.values()))
                )
            except Exception:
                self._trace = internal.to_mlflow_trace()
        return self._trace


def _record_error(span, error: BaseException) -> None:
    """Status ERROR and an exception event. MLflow's ``record_exception`` takes only
    ``Exception``s: a KeyboardInterrupt (Ctrl-C) or SystemExit is recorded by hand."""
    if isinstance(error, Exception):
        span.record_exception(error)
        return
    from mlflow.entities import SpanEvent, SpanStatus, SpanStatusCode

    name = type(error).__name__
    text = str(error) or ("interrupted" if isinstance(error, KeyboardInterrupt) else name)
    span.add_event(
        SpanEvent("exception", attributes={"exception.type": name, "exception.message": text})
    )
    span.set_status(SpanStatus(SpanStatusCode.ERROR, description=f"{name}: {text}"))


def _unrecordable(value: Any) -> str | None:
    """Why a list or dict can't be stored as JSON (a list that contains itself), or None."""
    import json

    try:
        json.dumps(value, default=str)
    except (ValueError, TypeError, RecursionError) as e:
        return f"<{type(value).__name__} not recorded: {_short(e)}>"
    return None


def output_value(value: Any) -> Any:
    """What the root span records as the cell's output: JSON-like values as they are, pydantic
    models and dataclasses as their JSON (as MLflow's own spans store a ``ChatCompletion`` or
    ``ResponsesAgentResponse``), else a bounded ``repr`` (a DataFrame's repr, not a
    serialization attempt of the whole frame)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple, dict)) and len(value) <= 1000:
        return _unrecordable(value) or value
    if hasattr(value, "model_dump") or hasattr(value, "__dataclass_fields__"):
        from mlflow_magics.content import jsonable

        dumped = jsonable(value)
        if dumped is not None:
            return dumped
    try:
        text = repr(value)
    except Exception as e:  # a __repr__ that raises: the cell's value is not the trace's failure
        return f"<{type(value).__name__} object, not recorded: its repr raised {_short(e)}>"
    return text if len(text) <= OUTPUT_REPR_CAP else text[:OUTPUT_REPR_CAP] + "…"


#: Loggers through which MLflow (and OpenTelemetry's span batch under it) says a trace, or
#: part of one, did not reach the store.
_EXPORT_LOGGERS = (
    "mlflow.tracing.export.mlflow_v3",
    "mlflow.tracing.export.async_export_queue",
    "mlflow.store.db.utils",
    "opentelemetry.sdk._shared_internal",
)
#: Threads MLflow exports traces from (its write queue's consumer and workers, OpenTelemetry's
#: span batch): a store error logged there is an export failure, not the user's own call.
_EXPORT_THREADS = ("MlflowTraceLoggingWorker", "MLflowTraceLoggingConsumer", "OtelBatch")


class ExportWatch(logging.Filter):
    """Notices MLflow's "trace was not saved" log records from the export queue and keeps
    them for one warning of ours under the next cell, instead of MLflow's log lines (a
    store error in an export thread is a full SQL statement and a traceback, repeated per
    batch)."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._failures: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        failure = self._failure(record)
        if failure is None:
            return True
        with self._lock:
            if failure not in self._failures:
                self._failures.append(failure)
        return False

    @staticmethod
    def _failure(record: logging.LogRecord) -> str | None:
        if record.levelno < logging.WARNING:
            return None
        message = record.getMessage()
        if "queue is full" in message.lower() or "Queue full, dropping" in message:
            return (
                "MLflow's export queue overflowed (it takes one entry per span), so part or all "
                "of it was dropped; raise MLFLOW_ASYNC_TRACE_LOGGING_MAX_QUEUE_SIZE for traces "
                "this large"
            )
        lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
        if record.name == "mlflow.store.db.utils":
            if not record.threadName.startswith(_EXPORT_THREADS):
                return None
            # "SQLAlchemy database error. The following exception is caught." + the error
            reason = lines[1] if len(lines) > 1 else (lines[0] if lines else "")
            return f"MLflow could not write it to the store: {reason[:300]}"
        if "Failed to send trace" not in message and "trace was NOT saved" not in message:
            if (
                record.name == "mlflow.tracing.export.async_export_queue"
                and record.threadName.startswith(_EXPORT_THREADS)
            ):
                return (lines[0] if lines else message)[:300]
            return None
        return (lines[0] if lines else message)[:300]

    def take(self) -> list[str]:
        with self._lock:
            failures, self._failures = self._failures, []
        return failures


class CellTracer:
    """Opens and closes the root span of traced cells, one cell at a time.

    ``problem()`` returns why the store cannot take traces now (or None); when it has a reason
    the cell runs untraced and ``warn`` says so once.
    """

    def __init__(
        self,
        warn: Callable[[str], None],
        problem: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.warn = warn
        self.problem = problem
        self.autotrace: TraceOptions | None = None
        self.last: FinishedCell | None = None
        #: The latest traced cells by trace id, so `show` needs no store round trip for them.
        self.recent: OrderedDict[str, FinishedCell] = OrderedDict()
        self.export_watch = ExportWatch()
        self._open: _OpenCell | None = None
        self._watching = False
        #: The store problem last told to the user (export failures it explains are not
        #: repeated).
        self._told: str | None = None
        # Watched from the start (loggers exist by name before mlflow is imported), so traces
        # made outside traced cells are covered too.
        self._watch_exports()

    @property
    def is_open(self) -> bool:
        return self._open is not None

    def begin(
        self,
        source: str,
        options: TraceOptions,
        execution_count: int | None = None,
        request: dict[str, Any] | None = None,
    ) -> bool:
        """Open the cell's root span and make it current. Returns whether tracing started."""
        if self._open is not None:
            # A cell that never reached post_run_cell (a kernel interrupt at the wrong moment)
            # must not leave its span open under the next one.
            self.finish(None, None, display=None)
        try:
            problem = self.problem()
            if problem:
                self.export_watch.take()  # earlier traces lost to the same cause: said here
                self._told = _store_file_problem()
                self.warn(f"Tracing skipped, the cell ran untraced: {problem}.")
                return False
            import mlflow
            from mlflow.tracing.provider import set_span_in_context

            attributes: dict[str, Any] = {"mlflow_magics.cell": True}
            if execution_count is not None:
                attributes["mlflow_magics.execution_count"] = execution_count
            if request is not None:  # the one app call the cell makes (content.call_request)
                attributes["mlflow_magics.request"] = request
                attributes["mlflow_magics.cell_source"] = source
            with _TakeWarnings("mlflow.tracing.fluent") as mlflow_warnings:
                span = mlflow.start_span_no_context(
                    options.name or DEFAULT_NAME,
                    span_type=options.span_type,
                    # the app's request when the cell is one call of a notebook function
                    # (MLflow's previews and UI then show the question), else the source
                    inputs=request if request is not None else {"cell": source},
                    attributes=attributes,
                )
            trace_id = getattr(span, "trace_id", None)
            if not trace_id or "NO_OP" in str(trace_id):
                # MLflow hands out a no-op span both when the user turned tracing off (say
                # nothing) and when starting the span failed (say why, once).
                if mlflow_warnings.messages:
                    reason = mlflow_warnings.messages[0].replace("Failed to start span", "")
                    self.warn(f"Tracing failed, the cell runs untraced: {reason.strip(' :')[:300]}")
                return False
            # MLflow makes its exporter when a first span starts (again after a new tracking
            # URI or a reset); fitting it to an SQLite store costs microseconds once done.
            from mlflow_magics.mlflow_internals import fit_exports_to_sqlite

            fit_exports_to_sqlite()
            internal = self._internal_trace(trace_id)
            if options.tags and internal is not None:
                internal.info.tags.update({str(k): str(v) for k, v in options.tags.items()})
            # The user's code starts now: MLflow's own start-up (tracer, store, experiment)
            # happened inside start_span and is not the cell's time.
            from mlflow_magics.mlflow_internals import restart_span_clock

            restart_span_clock(span)
            marker = object()
            token = set_span_in_context(span)
            _CELL_CONTEXT.set(marker)
            self._open = _OpenCell(span, token, marker, internal, options)
            return True
        except Exception as e:
            self.warn(f"Tracing failed, the cell runs untraced: {_short(e)}")
            self._open = None
            return False

    def finish(
        self,
        value: Any,
        error: BaseException | None,
        display: Callable[[FinishedCell], None] | None = None,
    ) -> FinishedCell | None:
        """Record the cell's value or exception on the root span and end it."""
        cell, self._open = self._open, None
        if cell is None:
            return None
        finished = None
        span = cell.span
        try:
            if error is not None:
                _record_error(span, error)
            else:
                if value is not None:
                    span.set_outputs(output_value(value))
                span.set_status("OK")
        except Exception as e:  # recording failed: the span still ends below
            self.warn(f"Tracing could not record the cell's result: {_short(e)}")
            with contextlib.suppress(Exception):
                span.set_outputs(f"<not recorded: {_short(e)}>")
        # Whatever the cell did (raised, was interrupted, made an unrecordable value), the root
        # span ends and leaves the context, or every later cell would nest under it and none
        # would reach the store.
        try:
            if _CELL_CONTEXT.get() is cell.marker:
                from mlflow.tracing.provider import detach_span_from_context

                detach_span_from_context(cell.token)
                _CELL_CONTEXT.set(None)
        except Exception as e:
            self.warn(f"Tracing failed while closing the cell's span: {_short(e)}")
        try:
            span.end(end_time_ns=cell.ended_ns)
            finished = FinishedCell(span.trace_id, cell.options, cell.internal, error)
            self.last = finished
            self.recent[finished.trace_id] = finished
            while len(self.recent) > RECENT_KEPT:
                self.recent.popitem(last=False)
            _hide_from_mlflow_display(finished.trace_id)
        except Exception as e:
            self.warn(f"Tracing failed while closing the cell's span: {_short(e)}")
            return None
        self.report_export_failures()
        if display is not None and not cell.options.quiet:
            try:
                display(finished)
            except Exception as e:
                self.warn(f"The trace was recorded but could not be shown: {_short(e)}")
        return finished

    def mark_end(self) -> None:
        """The user's code has stopped (IPython is about to print its traceback): the root span
        ends here, not when the traceback is printed."""
        import time

        cell = self._open
        if cell is not None and cell.ended_ns is None:
            cell.ended_ns = time.time_ns()

    def report_export_failures(self) -> None:
        """One warning for the export failures MLflow logged since the last report. When the
        store's file was deleted, that is the reason, said once (a traced cell skipped for it
        already said so)."""
        failures = self.export_watch.take()
        if not failures:
            return
        gone = _store_file_problem()
        if gone:
            if gone != self._told:
                self._told = gone
                self.warn(f"A trace was not saved: {gone}.")
            return
        more = f" (and {len(failures) - 1} more export failures)" if len(failures) > 1 else ""
        self.warn(f"A trace was not saved: {failures[0]}{more}.")

    @staticmethod
    def _internal_trace(trace_id: str):
        """MLflow's in-memory record of the trace, so the view needs no store round trip."""
        try:
            from mlflow.tracing.trace_manager import InMemoryTraceManager

            with InMemoryTraceManager.get_instance().get_trace(trace_id) as internal:
                return internal
        except Exception:
            return None

    def _watch_exports(self) -> None:
        if self._watching:
            return
        for name in _EXPORT_LOGGERS:
            logging.getLogger(name).addFilter(self.export_watch)
        self._watching = True

    def close(self) -> None:
        """End an open span and stop watching exports (extension unload)."""
        if self._open is not None:
            self.finish(None, None)
        if self._watching:
            for name in _EXPORT_LOGGERS:
                logging.getLogger(name).removeFilter(self.export_watch)
            self._watching = False


def _store_file_problem() -> str | None:
    """Why the SQLite file of the current store is gone, else None (never raises)."""
    try:
        import mlflow

        from mlflow_magics import store_file

        return store_file.problem(mlflow.get_tracking_uri())
    except Exception:
        return None


class _TakeWarnings(logging.Filter):
    """Collects (and keeps from printing) a logger's warnings inside a ``with`` block, so a
    failure reaches the user as our one sentence instead of MLflow's log line plus ours."""

    def __init__(self, logger_name: str) -> None:
        super().__init__()
        self.logger = logging.getLogger(logger_name)
        self.messages: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            self.messages.append(record.getMessage().split(". For full traceback")[0])
            return False
        return True

    def __enter__(self) -> _TakeWarnings:
        self.logger.addFilter(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self.logger.removeFilter(self)


def _hide_from_mlflow_display(trace_id: str) -> None:
    """MLflow queues each finished trace for its own post-cell display (an iframe to a server,
    ``Trace(trace_id=…)`` elsewhere). The cell's trace gets our view instead, so it is taken
    off that queue; traces we did not make are left to MLflow."""
    if "mlflow.tracing.display" not in sys.modules:
        return
    try:
        from mlflow.tracing.display import get_display_handler

        get_display_handler().traces_to_display.pop(trace_id, None)
    except Exception:
        pass


def normalize_span_type(value: str) -> str:
    """``llm`` → ``LLM``; custom types are kept as written."""
    upper = value.strip().upper()
    return upper if upper in KNOWN_SPAN_TYPES else value.strip()


def _short(e: BaseException) -> str:
    text = str(e).splitlines()[0] if str(e) else ""
    return f"{type(e).__name__}: {text[:200]}" if text else type(e).__name__
