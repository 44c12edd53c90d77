"""Feedback and expectations on traces: the service behind the trace view's assessments.

Writes go through MLflow's own ``mlflow.log_feedback`` / ``mlflow.log_expectation`` (source
HUMAN, the user's name as source id), so they appear in MLflow's UI and in evaluation exactly
like assessments made there. No IPython and no display here.
"""

from __future__ import annotations

import getpass
from typing import Any

from mlflow_magics.content import assessments_of, parse_value
from mlflow_magics.errors import BadInput

KINDS = ("feedback", "expectation")


def user_name() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "notebook user"


def add_assessment(
    client,
    trace_id: str,
    kind: str,
    name: str,
    value: Any,
    rationale: str | None = None,
    source_id: str | None = None,
) -> list[dict[str, Any]]:
    """Log one feedback or expectation on ``trace_id``; returns the trace's assessments as
    the store now holds them. Text values are read as JSON where they parse (``true``, ``3``)."""
    import mlflow
    from mlflow.entities import AssessmentSource, AssessmentSourceType

    from mlflow_magics.traces import fresh

    name = (name or "").strip()
    if kind not in KINDS:
        raise BadInput(f"An assessment is feedback or an expectation, not {kind!r}.")
    if not name:
        raise BadInput(f"Name the {kind} (e.g. `correctness`); nothing was logged.")
    if isinstance(value, str):
        value = parse_value(value)
    if value is None or value == "":
        raise BadInput(f"Give the {kind} {name!r} a value; nothing was logged.")
    source = AssessmentSource(
        source_type=AssessmentSourceType.HUMAN, source_id=source_id or user_name()
    )
    fresh()  # a trace still on the export queue is not in the store to take it yet
    if kind == "feedback":
        mlflow.log_feedback(
            trace_id=trace_id, name=name, value=value, rationale=rationale or None, source=source
        )
    else:
        if rationale:
            raise BadInput("An expectation has no rationale; put it in the value or a feedback.")
        mlflow.log_expectation(trace_id=trace_id, name=name, value=value, source=source)
    return read_assessments(client, trace_id)


def read_assessments(client, trace_id: str) -> list[dict[str, Any]]:
    """The trace's valid assessments, as the store holds them now."""
    from mlflow_magics.mlflow_internals import trace_info

    return assessments_of(trace_info(client, trace_id))
