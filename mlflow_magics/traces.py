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


def fresh() -> None:
    """Wait for what this kernel still has on MLflow's async export queue, so a read of the
    store sees the traces of cells that already ran (and waits for nothing else)."""
    from mlflow_magics.mlflow_internals import wait_for_exports

    wait_for_exports(timeout=EXPORT_WAIT)


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
    fresh()
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
