"""Every use of a private MLflow name, in one place.

Each function here reaches into MLflow internals for something the public API does not offer,
falls back to the public behaviour when the internals moved, and is covered by
``tests/test_mlflow_internals.py``, so an MLflow upgrade that breaks one fails a test by name
instead of degrading quietly.
"""

from __future__ import annotations

import contextlib
import os
import time


def _processors() -> list:
    """MLflow's span processors that may hold spans not yet in the store: the batch
    processors' registry (the current provider's processor is not always the one batching)
    plus the current provider's own. Read from the live provider: MLflow's
    ``_get_span_processors()`` builds new processors (each with its own batch thread)."""
    from mlflow.tracing.processor import base_mlflow
    from mlflow.tracing.provider import provider

    with base_mlflow._batch_processor_registry_lock:
        found = list(base_mlflow._batch_processor_registry)
    active = getattr(provider.get(), "_active_span_processor", None)
    for processor in getattr(active, "_span_processors", None) or ():
        if processor not in found:
            found.append(processor)
    return found


def _batched(processor) -> int:
    delegate = getattr(processor, "_batch_delegate", None)
    if delegate is None:
        return 0
    return len(delegate._batch_processor._queue)


def _queued(processor) -> int:
    queue = getattr(getattr(processor, "span_exporter", None), "_async_queue", None)
    return queue._queue.unfinished_tasks if queue is not None else 0


def pending_exports() -> int | None:
    """Spans and traces this process made that are not in the store yet (in MLflow's span
    batch or its async write queue); None when that cannot be told (the caller flushes)."""
    try:
        return sum(_batched(p) + _queued(p) for p in _processors())
    except Exception:
        return None


def wait_for_exports(timeout: float = 30.0) -> bool:
    """Wait until what this process has made is in the store, and no longer.

    MLflow batches spans for up to five seconds before writing them, and
    ``mlflow.flush_trace_async_logging()`` restarts its writer threads, which costs a second
    even with nothing pending. This returns at once when nothing is pending; otherwise it hands
    the batch to the writer now and polls the write queue until it is done. Returns False when
    it gave up after ``timeout`` seconds (a store that does not answer), so the read goes on."""
    try:
        processors = _processors()
        for p in processors:
            condition = getattr(p, "_pending_on_end_condition", None)
            if condition is not None:  # spans being ended right now reach the batch first
                with condition:
                    condition.wait_for(lambda p=p: p._pending_on_end_count == 0, timeout)
            if getattr(p, "_batch_delegate", None) is not None:
                # Always: the batch's worker may have taken spans off the queue and be handing
                # them to the writer (nothing counted anywhere); flushing waits for that hand-off
                # under the batch's lock, and costs microseconds when there is nothing.
                p.force_flush(int(timeout * 1000))
        pending = sum(_queued(p) for p in processors)
    except Exception:
        import mlflow

        with contextlib.suppress(Exception):
            mlflow.flush_trace_async_logging()
        return True
    deadline = time.monotonic() + timeout
    delay = 0.002
    while pending:
        if time.monotonic() > deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
        pending = sum(_queued(p) for p in processors)
    return True


#: Spans per store write for an SQLite store (MLflow's default is 5: one transaction, and one
#: entry of its bounded write queue, per 5 spans, so a 10,000-span trace overflows the queue).
SQLITE_SPAN_BATCH = 500
#: Write-queue bound for an SQLite store (MLflow's default is 1,000 entries).
SQLITE_QUEUE_BOUND = 20_000


def fit_exports_to_sqlite() -> bool:
    """Make MLflow's trace export write an SQLite store one transaction at a time, in batches.

    MLflow's async export runs up to ten writers at once; SQLite takes one writer, and two
    export transactions that each read before they write deadlock at once (SQLite answers
    "database is locked" without waiting, and MLflow does not retry it), so a large trace
    lost spans or all of them. Here, for exporters writing an ``sqlite:`` store, the write
    queue dispatches one task at a time, batches carry up to :data:`SQLITE_SPAN_BATCH` spans,
    and the queue holds more entries. A setting the user made through MLflow's environment
    variables is kept. Returns whether any exporter was changed."""
    import mlflow.environment_variables as variables

    def user_set(name: str) -> bool:
        # Older MLflow (3.5) has no span batch size variable: nobody can have set it.
        variable = getattr(variables, name, None)
        return variable is not None and variable.is_set()

    changed = False
    with contextlib.suppress(Exception):
        for processor in _processors():
            exporter = getattr(processor, "span_exporter", None)
            uri = getattr(getattr(exporter, "_client", None), "tracking_uri", None) or ""
            if not uri.startswith("sqlite:"):
                continue
            queue = getattr(exporter, "_async_queue", None)
            if queue is not None:
                if (
                    not user_set("MLFLOW_ASYNC_TRACE_LOGGING_MAX_WORKERS")
                    and queue._max_workers != 1
                ):
                    queue._max_workers = 1
                    changed = True
                bound = queue._queue.maxsize
                if not user_set("MLFLOW_ASYNC_TRACE_LOGGING_MAX_QUEUE_SIZE") and (
                    0 < bound < SQLITE_QUEUE_BOUND
                ):
                    queue._queue.maxsize = SQLITE_QUEUE_BOUND
                    changed = True
            delegate = getattr(processor, "_batch_delegate", None)
            batch = getattr(delegate, "_batch_processor", None)
            if batch is not None and not user_set("MLFLOW_ASYNC_TRACE_LOGGING_MAX_SPAN_BATCH_SIZE"):
                # A quarter of the span buffer at most: the buffer drops spans when it is full,
                # and it must keep taking them while a batch is handed over.
                size = min(SQLITE_SPAN_BATCH, batch._max_queue_size // 4)
                if batch._max_export_batch_size < size:
                    batch._max_export_batch_size = size
                    changed = True
    return changed


def sqlite_file(uri: str) -> str | None:
    """The absolute path of the file behind an ``sqlite:`` URI (None: not a file store)."""
    if not uri.startswith("sqlite:") or ":///" not in uri:
        return None
    path = uri.split(":///", 1)[1].split("?", 1)[0]
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return os.path.abspath(path)


def forget_sqlite_store(path: str) -> None:
    """Drop what MLflow keeps open for the SQLite file at ``path``: its engines (whose pooled
    connections still read and write a deleted file's old inode) and its cached stores, so the
    next use opens the file afresh, creating its tables when the file is new."""
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore as RegistryStore
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore as TrackingStore
    from mlflow.tracking._model_registry.registry import ModelRegistryStoreRegistry
    from mlflow.tracking._tracking_service.registry import TrackingStoreRegistry

    for store_class in (TrackingStore, RegistryStore):
        # The engine map's name changed (MLflow 3.5: ``_db_uri_sql_alchemy_engine_map``).
        engines = getattr(store_class, "_engine_map", None)
        lock = getattr(store_class, "_engine_map_lock", None)
        if engines is None:
            engines = getattr(store_class, "_db_uri_sql_alchemy_engine_map", None)
            lock = getattr(store_class, "_db_uri_sql_alchemy_engine_map_lock", None)
        if engines is None or lock is None:
            continue
        with lock:
            for uri in [u for u in engines if sqlite_file(u) == path]:
                with contextlib.suppress(Exception):
                    engines.pop(uri).dispose()
    # Both caches are keyed by URI on the registry method; clearing costs the other stores one
    # rebuild on their next use.
    for registry in (TrackingStoreRegistry, ModelRegistryStoreRegistry):
        with contextlib.suppress(AttributeError):
            registry._get_store_with_resolved_uri.cache_clear()


def partial_trace(client, trace_id: str):
    """The part of a trace the store holds, when MLflow refuses it as "not fully exported"
    (``allow_partial`` is on the store, not on ``MlflowClient.get_trace``); None if unreadable."""
    try:
        store = client._tracing_client.store
        return store.get_trace(trace_id, allow_partial=True)
    except Exception:
        return None


def trace_info(client, trace_id: str):
    """A trace's ``TraceInfo`` (tags, assessments) as the store holds it now, without its spans
    (``MlflowClient`` has no public call for it; its tracing client prefers the in-memory copy,
    which does not see assessments logged since)."""
    try:
        return client._tracing_client.store.get_trace_info(trace_id)
    except AttributeError:
        return client.get_trace(trace_id).info


def restart_span_clock(span) -> None:
    """Move a just-started span's start time to now (MLflow's ``start_span`` takes no start
    time after its own set-up): a traced cell times the user's code, not the tracer's first
    start-up or the store's creation."""
    import time

    with contextlib.suppress(Exception):
        otel = span._span
        otel._start_time = time.time_ns()


def price(model: str | None, usage: dict | None) -> float | None:
    """Total cost in USD of one LLM call, priced the way MLflow's store prices a span it
    receives (its model catalog); None when the model is unknown or pricing is unavailable."""
    if not model or not usage:
        return None
    try:
        from mlflow.tracing.utils import calculate_cost_by_model_and_token_usage

        cost = calculate_cost_by_model_and_token_usage(model, usage)
    except Exception:
        return None
    total = (cost or {}).get("total_cost")
    return float(total) if isinstance(total, (int, float)) else None


def leave_active_run(run_id: str) -> bool:
    """Take run ``run_id`` off this thread's stack of active runs without telling the store
    (which stopped answering), as ``mlflow.end_run`` does before its own store call; True when
    it was there."""
    try:
        from mlflow.tracking import fluent

        stack = fluent._active_run_stack.get()
    except Exception:
        return False
    for i in range(len(stack) - 1, -1, -1):
        if stack[i].info.run_id == run_id:
            del stack[i]
            return True
    return False


def open_spans(trace_id: str) -> list:
    """The spans of trace ``trace_id`` (still in this process, not yet exported) that have not
    ended. A generator traced by ``@mlflow.trace`` (``ResponsesAgent.predict_stream`` is) ends
    its span only when read to the end: a stream closed early leaves it open, and the caller
    ends it. Empty when MLflow's in-memory trace registry moved."""
    try:
        from mlflow.tracing.trace_manager import InMemoryTraceManager

        with InMemoryTraceManager.get_instance().get_trace(trace_id) as trace:
            if trace is None:
                return []
            return [s for s in trace.span_dict.values() if s.end_time_ns is None]
    except Exception:
        return []
