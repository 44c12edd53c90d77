"""Every use of a private MLflow name, in one place.

Each function here reaches into MLflow internals for something the public API does not offer,
falls back to the public behaviour when the internals moved, and is covered by
``tests/test_mlflow_internals.py``, so an MLflow upgrade that breaks one fails a test by name
instead of degrading quietly.
"""

from __future__ import annotations

import contextlib
import time


def _processors() -> list:
    """MLflow's span processors that may hold spans not yet in the store: the batch
    processors' registry (the current provider's processor is not always the one batching)
    plus the current one."""
    from mlflow.tracing.processor import base_mlflow
    from mlflow.tracing.provider import _get_span_processors

    with base_mlflow._batch_processor_registry_lock:
        found = list(base_mlflow._batch_processor_registry)
    for processor in _get_span_processors() or []:
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
