"""The trace table's widget: one page of rows per synced trait, actions as messages.

The front-end is ``mlflow_magics/widgets/trace_table.js``. Clicks arrive as messages
(``{"action": "next"}``, ``{"action": "open", "trace_id": …}``, …) and call the same
:class:`~mlflow_magics.views.trace_table.TraceTable` methods a script would; the table then
pushes the new page, selection or error back through the traits. A selection of 100,000 ids
stays in Python: the browser gets the count and which rows of its page are selected.
"""

from __future__ import annotations

from typing import Any

import traitlets

from mlflow_magics.errors import BadInput
from mlflow_magics.views.action_widget import WIDGETS, ActionWidget


class TraceTableWidget(ActionWidget):
    """Rows, paging, filter box, sorting and selection for a :class:`TraceTable`."""

    _esm = WIDGETS / "trace_table.js"
    _css = WIDGETS / "trace_table.css"

    page = traitlets.Dict(
        help="The page shown: {rows, page, start, has_prev, has_next, count, capped}; rows carry "
        "bounded previews. Sent once per page."
    ).tag(sync=True)
    filter = traitlets.Unicode(
        "", help="The filter applied now, in MLflow's search_traces syntax (empty: all)."
    ).tag(sync=True)
    order = traitlets.Dict(
        help="The sort applied now: {column: time|duration|name|status|'', descending}."
    ).tag(sync=True)
    selection = traitlets.Dict(
        help="{count: selected traces in all pages, on_page: ids of this page's selected rows}."
    ).tag(sync=True)

    dataset_names = traitlets.List(
        traitlets.Unicode(),
        help='Names of the store\'s datasets, for the "Add selected to dataset…" picker; '
        "filled when the picker opens.",
    ).tag(sync=True)
    dataset_note = traitlets.Unicode(
        "", help="What the last \"Add selected to dataset…\" did: 'n added, m already present'."
    ).tag(sync=True)

    def _before_action(self) -> None:
        pass  # the table's own error stays shown until an action replaces or clears it

    def _refused(self, sentence: str) -> None:
        self._view.error = sentence
        self.error = sentence

    def _act(self, content: dict[str, Any]) -> None:
        table = self._view
        action = content.get("action")
        if action == "filter":
            table.set_filter(str(content.get("text", "")))
        elif action == "next":
            table.next_page()
        elif action == "prev":
            table.prev_page()
        elif action == "sort":
            table.sort(str(content.get("column", "")), bool(content.get("descending", True)))
        elif action == "select":
            ids = [str(i) for i in content.get("ids", [])]
            if content.get("on", True):
                table.select(ids, add=True)
            else:
                table.deselect(ids)
        elif action == "select_all":
            table.select_all_matching()
        elif action == "clear":
            table.clear_selection()
        elif action == "open":
            table.open(str(content.get("trace_id", "")))
        elif action == "compare":
            table.compare()
        elif action == "list_datasets":
            self.dataset_names = table.dataset_names()
        elif action == "add_to_dataset":
            table.add_to_dataset(str(content.get("name", "")))
            self.dataset_names = table.dataset_names()
        else:
            raise BadInput(f"Unknown table action {action!r}.")
        if action in ("open", "compare", "add_to_dataset") and self.error:
            table.error = None
            self.error = ""
