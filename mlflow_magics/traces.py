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


def get_trace(client, trace_id: str):
    """The trace with its spans; pending async exports are flushed first so a trace that just
    finished is found."""
    import mlflow
    from mlflow.exceptions import MlflowException

    trace_id = check_trace_id(trace_id)
    try:
        mlflow.flush_trace_async_logging()
    except Exception:
        pass  # nothing pending, or an older MLflow without the call: the lookup still works
    try:
        trace = client.get_trace(trace_id)
    except MlflowException as e:
        if e.error_code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "INVALID_PARAMETER_VALUE"):
            raise BadInput(
                f"No trace {trace_id} in {client.tracking_uri}; check the id or "
                "`%mlflow connect` to the store that has it."
            ) from e
        raise BadInput(f"Could not read trace {trace_id}: {e.message.splitlines()[0]}") from e
    if trace is None:
        raise BadInput(f"No trace {trace_id} in {client.tracking_uri}.")
    return trace
