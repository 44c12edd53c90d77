"""Reading traces back from the store."""

from __future__ import annotations

import contextlib
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
    """The trace with its spans. The trace this kernel finished last may still sit on MLflow's
    async export queue: when the store does not have it (or has it half-written), the queue is
    flushed once and the store asked again. Other ids are not flushed for, since a flush costs
    MLflow a second or two even with nothing pending (a mistyped id must not wait for it)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    trace_id = check_trace_id(trace_id)
    try:
        may_be_pending = trace_id == mlflow.get_last_active_trace_id()
    except Exception:
        may_be_pending = True
    attempts = (1, 2) if may_be_pending else (2,)
    for attempt in attempts:
        try:
            trace = client.get_trace(trace_id)
        except MlflowException as e:
            if attempt == 1:
                # Missing, or found half-written ("span data is corrupted") while its spans
                # are still being exported: both settle once the queue is flushed.
                _flush_exports(mlflow)
                continue
            missing = e.error_code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND")
            if missing or e.error_code == "INVALID_PARAMETER_VALUE":
                raise BadInput(
                    f"No trace {trace_id} in {client.tracking_uri}; check the id or "
                    "`%mlflow connect` to the store that has it."
                ) from e
            raise BadInput(f"Could not read trace {trace_id}: {e.message.splitlines()[0]}") from e
        if trace is not None:
            return trace
        if attempt == 1:
            _flush_exports(mlflow)
    raise BadInput(f"No trace {trace_id} in {client.tracking_uri}.")


def _flush_exports(mlflow) -> None:
    # Nothing pending, or an MLflow without the call: the second lookup runs either way.
    with contextlib.suppress(Exception):
        mlflow.flush_trace_async_logging()
