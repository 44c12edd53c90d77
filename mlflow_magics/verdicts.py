"""What a scorer's value means: one reading of MLflow feedback values for every view.

MLflow judges answer ``"yes"``/``"no"`` (``CategoricalRating``), code scorers return booleans,
numbers or free text. MLflow aggregates the first three into ``<scorer>/mean`` (yes and True count
as 1); everything else is shown but not aggregated. The evaluation grid, its summary and
``%mlflow compare`` all read values through this module, so a "pass" means the same everywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["pass", "fail", "number", "text", "error", "missing"]

_YES = frozenset({"yes", "true", "pass", "passed"})
_NO = frozenset({"no", "false", "fail", "failed"})


@dataclass(frozen=True)
class Verdict:
    """One scorer's reading on one record.

    ``kind`` is ``pass``/``fail`` for yes-no and boolean values, ``number`` for numbers, ``text``
    for anything else, ``error`` when the scorer raised, and ``missing`` when it produced nothing.
    ``score`` is the number MLflow aggregates (1.0 / 0.0 for pass / fail), else None.
    """

    kind: Kind
    score: float | None = None
    label: str = ""
    rationale: str | None = None
    error: str | None = None


MISSING = Verdict("missing")


def read_value(value: Any, *, rationale: str | None = None, error: str | None = None) -> Verdict:
    """Read one feedback value (and its rationale or error message) as a `Verdict`."""
    if error:
        return Verdict("error", label="error", rationale=rationale, error=error)
    if value is None:
        return Verdict("missing", rationale=rationale)
    if isinstance(value, bool):
        return Verdict(
            "pass" if value else "fail", float(value), "pass" if value else "fail", rationale
        )
    if isinstance(value, (int, float)):
        if isinstance(value, float) and math.isnan(value):
            return Verdict("missing", rationale=rationale)
        return Verdict("number", float(value), _number_label(float(value)), rationale)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _YES:
            return Verdict("pass", 1.0, "pass", rationale)
        if word in _NO:
            return Verdict("fail", 0.0, "fail", rationale)
        return Verdict("text", None, value, rationale)
    return Verdict("text", None, str(value), rationale)


def read_feedback(feedback: Any) -> Verdict:
    """Read an MLflow ``Feedback`` (or anything with ``value``/``rationale``/``error``)."""
    err = getattr(feedback, "error", None)
    message = None
    if err is not None:
        message = (
            getattr(err, "error_message", None) or getattr(err, "error_code", None) or str(err)
        )
    return read_value(
        getattr(feedback, "value", None),
        rationale=getattr(feedback, "rationale", None),
        error=message,
    )


def _number_label(x: float) -> str:
    return str(int(x)) if x.is_integer() else f"{x:.3g}"


def aggregate(verdicts: list[Verdict]) -> dict[str, float | int | None]:
    """Summarise one scorer's verdicts as MLflow would: the mean of aggregatable scores.

    Returns ``mean`` (None when nothing aggregates), ``n`` (verdicts with a score), ``passed`` and
    ``failed`` (yes-no / boolean only) and ``errors``.
    """
    scores = [v.score for v in verdicts if v.score is not None]
    return {
        "mean": sum(scores) / len(scores) if scores else None,
        "n": len(scores),
        "passed": sum(v.kind == "pass" for v in verdicts),
        "failed": sum(v.kind == "fail" for v in verdicts),
        "errors": sum(v.kind == "error" for v in verdicts),
    }


def change(before: Verdict, after: Verdict) -> Literal["regressed", "improved", "same", "changed"]:
    """How a record's verdict moved from ``before`` to ``after``.

    A lower score is a regression (pass → fail, 0.9 → 0.4); a new error is a regression and a
    fixed error an improvement; anything else that differs in label is ``changed``.
    """
    if before.kind == "error" and after.kind != "error":
        return "improved" if after.kind != "missing" else "changed"
    if after.kind == "error" and before.kind != "error":
        return "regressed"
    if before.score is not None and after.score is not None:
        if after.score < before.score:
            return "regressed"
        if after.score > before.score:
            return "improved"
        return "same"
    return "same" if before.label == after.label and before.kind == after.kind else "changed"
