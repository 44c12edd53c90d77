"""The evaluation grid's widget: rows arrive through a synced trait while MLflow runs.

The front-end is ``widgets/eval_view/`` (contract: ``model.d.ts``). Opening a trace and adding the failing
rows to a dataset arrive as messages (``{"action": "open", "trace_id": …}``, ``{"action":
"failing_to_dataset", "name": …}``) and call the same
:class:`~mlflow_magics.views.eval_view.EvalView` methods a script would.
"""

from __future__ import annotations

from typing import Any

import traitlets

from mlflow_magics.views.action_widget import ActionWidget


class EvalWidget(ActionWidget):
    """Progress, per-scorer summary and one row per scored record."""

    bundle_name = "eval_view"
    noun = "evaluation"

    header = traitlets.Dict(
        help="{status: running|done|interrupted|failed, done, total, elapsed (s), run_id, "
        "run_name, run_url, data, shown}."
    ).tag(sync=True)
    scorers = traitlets.List(
        help="Per scorer, over the rows so far: [{name, text, mean, passed, failed, errors}]."
    ).tag(sync=True)
    rows = traitlets.List(
        help="Scored records in the order they finished: [{i, trace_id, inputs, outputs "
        "(bounded previews), error, v: {scorer: [kind, label, rationale, error]}}]."
    ).tag(sync=True)
    note = traitlets.Unicode("", help="What the run or the last action did, in one sentence.").tag(
        sync=True
    )

    def _do_open(self, c: dict[str, Any]) -> None:
        self._view.open(str(c.get("trace_id", "")))

    def _do_failing_to_dataset(self, c: dict[str, Any]) -> None:
        self._view.add_failing_to_dataset(str(c.get("name", "")))
