"""The dataset grid's widget: one page of records per synced trait, edits as messages.

The front-end is ``mlflow_magics/widgets/dataset_view.js``. Saves, retries, paging and
opening a source trace arrive as messages (``{"action": "save", "record_id": …, "fields":
{…}}``, …) and call the same :class:`~mlflow_magics.views.dataset_view.DatasetView` methods a
script would; the view pushes the new page, unsaved edits and note back through the traits.
"""

from __future__ import annotations

from typing import Any

import traitlets

from mlflow_magics.errors import BadInput
from mlflow_magics.views.action_widget import WIDGETS, ActionWidget


class DatasetWidget(ActionWidget):
    """Records with inputs, outputs, editable expectations and their source trace."""

    _esm = WIDGETS / "dataset_view.js"
    _css = WIDGETS / "dataset_view.css"

    page = traitlets.Dict(
        help="The page shown: {name, rows: [{id, inputs, outputs (bounded), source_trace, "
        "expected_response, expected_facts, guidelines, other}], page, pages, total, start}."
    ).tag(sync=True)
    unsaved = traitlets.Dict(
        help="Edits the store did not take: {record_id: {fields, reason}}; kept until saved."
    ).tag(sync=True)
    note = traitlets.Unicode("", help="What the last action did, in one sentence.").tag(sync=True)

    keeps_unsaved = frozenset({"save", "retry"})

    def _act(self, content: dict[str, Any]) -> None:
        view = self._view
        action = content.get("action")
        if action == "save":
            fields = content.get("fields") or {}
            view.save(str(content.get("record_id", "")), **dict(fields))
        elif action == "retry":
            view.retry_unsaved()
        elif action == "next":
            view.next_page()
        elif action == "prev":
            view.prev_page()
        elif action == "open":
            view.open(str(content.get("trace_id", "")))
        else:
            raise BadInput(f"Unknown dataset action {action!r}.")
