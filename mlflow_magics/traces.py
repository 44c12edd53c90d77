"""Reading traces back from the store."""

from __future__ import annotations

import re

from mlflow_magics.errors import BadInput

# MLflow trace ids: "tr-" + 32 hex (MLflow 3), 32 hex (v2), or a "trace:/location/id" URI.
_TRACE_ID = re.compile(r"^(tr-[0-9a-f]{32}|[0-9a-f]{32}|trace:/[\w./-]+)$")


def check_trace_id(trace_id: str) -> str:
    """Refuse what cannot be a trace id before asking the store."""
    trace_id = trace_id.strip().strip("'\"")
    if not _TRACE_ID.match(trace_id):
        raise BadInput(
            f"{trace_id!r} is not a trace id (they look like tr-0123…cdef, 32 hex digits); "
            "use `%mlflow show last` or copy an id from a trace view."
        )
    return trace_id


def fresh() -> bool:
    """Wait for what this kernel still has on MLflow's async export queue, so a read of the
    store sees the traces of cells that already ran (and waits for nothing else). Returns
    False when MLflow was still writing after :data:`EXPORT_WAIT` seconds."""
    from mlflow_magics.mlflow_internals import wait_for_exports

    return wait_for_exports(timeout=EXPORT_WAIT)


#: Longest wait, in seconds, for this kernel's queued traces before a read goes ahead anyway.
EXPORT_WAIT = 15.0
#: How MLflow says a trace's spans are not all in the store (a root span that never ended
#: leaves the others "not fully exported" or "corrupted", depending on the store).
_PARTIAL = ("not fully exported", "span data is corrupted", "missing span data")


def get_trace(client, trace_id: str):
    """The trace with its spans (see :func:`read_trace`)."""
    return read_trace(client, trace_id)[0]


def read_trace(client, trace_id: str):
    """``(trace, problem)``: the trace with its spans, after this kernel's pending exports
    are in. A trace MLflow holds only in part (a span that never ended, an export cut off) is
    returned as far as it goes, with MLflow's own reason as ``problem``; otherwise problem is
    None."""
    from mlflow.exceptions import MlflowException

    trace_id = check_trace_id(trace_id)
    if not fresh():
        return _read_while_exporting(client, trace_id)
    try:
        trace = client.get_trace(trace_id)
    except MlflowException as e:
        reason = e.message.splitlines()[0] if e.message else str(e)
        if any(p in reason for p in _PARTIAL):
            from mlflow_magics.mlflow_internals import partial_trace

            partial = partial_trace(client, trace_id)
            if partial is not None:
                return partial, f"MLflow holds this trace only in part: {reason}"
        if "is not found" in reason or e.error_code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"):
            raise BadInput(
                f"No trace {trace_id} in {client.tracking_uri}; check the id or "
                "`%mlflow connect` to the store that has it."
            ) from e
        raise BadInput(f"Could not read trace {trace_id}: {reason}") from e
    if trace is None:
        raise BadInput(f"No trace {trace_id} in {client.tracking_uri}.")
    return trace, None


def _read_while_exporting(client, trace_id: str):
    """MLflow is still writing this kernel's traces. ``MlflowClient.get_trace`` would poll the
    store for a trace still being written (three full reads over three seconds, each taking
    the SQLite lock its writer needs), so the store is read once, as far as it goes."""
    from mlflow_magics.mlflow_internals import partial_trace, pending_exports

    pending = pending_exports()
    still = f"MLflow is still writing this kernel's traces ({pending or 'some'} spans to go)"
    trace = partial_trace(client, trace_id)
    if trace is None:
        raise BadInput(f"{still}, and trace {trace_id} is not in the store yet; try again shortly.")
    missing = _missing_spans(trace)
    if missing == 0:
        return trace, None
    if missing is None:
        return trace, f"{still}; this trace may not be complete yet"
    return trace, f"{still}: {missing:,} spans of this trace are not in the store yet"


def _missing_spans(trace) -> int | None:
    """Spans the trace had when it ended that the read lacks (MLflow records the count with
    the trace's end); None when the store does not have that record yet."""
    import json

    from mlflow.tracing.constant import TraceMetadataKey, TraceSizeStatsKey

    try:
        stats = json.loads(trace.info.trace_metadata[TraceMetadataKey.SIZE_STATS])
        return max(0, int(stats[TraceSizeStatsKey.NUM_SPANS]) - len(trace.data.spans))
    except Exception:
        return None
