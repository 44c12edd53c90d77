"""The evaluation grid's widget: rows arrive through a synced trait while MLflow runs.

The front-end is ``mlflow_magics/widgets/eval_view.js``. Opening a trace and adding the failing
rows to a dataset arrive as messages (``{"action": "open", "trace_id": …}``, ``{"action":
"failing_to_dataset", "name": …}``) and call the same
:class:`~mlflow_magics.views.eval_view.EvalView` methods a script would.
"""

from __future__ import annotations

from typing import Any

import traitlets

from mlflow_magics.errors import BadInput
from mlflow_magics.views.action_widget import WIDGETS, ActionWidget


class EvalWidget(ActionWidget):
    """Progress, per-scorer summary and one row per scored record."""

    _esm = WIDGETS / "eval_view.js"
    _css = WIDGETS / "eval_view.css"

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

    def _act(self, content: dict[str, Any]) -> None:
        view = self._view
        action = content.get("action")
        if action == "open":
            view.open(str(content.get("trace_id", "")))
        elif action == "failing_to_dataset":
            view.add_failing_to_dataset(str(content.get("name", "")))
        else:
            raise BadInput(f"Unknown evaluation action {action!r}.")
