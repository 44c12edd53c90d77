"""The trace table's widget: one page of rows per synced trait, actions as messages.

The front-end is ``widgets/trace_table/`` (contract: ``model.d.ts``). Clicks arrive as messages
(``{"action": "next"}``, ``{"action": "open", "trace_id": …}``, …) and call the same
:class:`~mlflow_magics.views.trace_table.TraceTable` methods a script would; the table then
pushes the new page, selection or error back through the traits. A selection of 100,000 ids
stays in Python: the browser gets the count and which rows of its page are selected.
"""

from __future__ import annotations

from typing import Any

import traitlets

from mlflow_magics.views.action_widget import ActionWidget


class TraceTableWidget(ActionWidget):
    """Rows, paging, filter box, sorting and selection for a :class:`TraceTable`."""

    bundle_name = "trace_table"
    noun = "table"

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

    # One method per front-end action (widgets/trace_table/model.d.ts), each the twin of a click.
    def _do_filter(self, c: dict[str, Any]) -> None:
        self._view.set_filter(str(c.get("text", "")))

    def _do_next(self, _c: dict[str, Any]) -> None:
        self._view.next_page()

    def _do_prev(self, _c: dict[str, Any]) -> None:
        self._view.prev_page()

    def _do_sort(self, c: dict[str, Any]) -> None:
        self._view.sort(str(c.get("column", "")), bool(c.get("descending", True)))

    def _do_select(self, c: dict[str, Any]) -> None:
        ids = [str(i) for i in c.get("ids", [])]
        if c.get("on", True):
            self._view.select(ids, add=True)
        else:
            self._view.deselect(ids)

    def _do_select_all(self, _c: dict[str, Any]) -> None:
        self._view.select_all_matching()

    def _do_clear(self, _c: dict[str, Any]) -> None:
        self._view.clear_selection()

    def _do_open(self, c: dict[str, Any]) -> None:
        self._view.open(str(c.get("trace_id", "")))
        self._clear_error()

    def _do_compare(self, _c: dict[str, Any]) -> None:
        self._view.compare()
        self._clear_error()

    def _do_list_datasets(self, _c: dict[str, Any]) -> None:
        self.dataset_names = self._view.dataset_names()

    def _do_add_to_dataset(self, c: dict[str, Any]) -> None:
        self._view.add_to_dataset(str(c.get("name", "")))
        self.dataset_names = self._view.dataset_names()
        self._clear_error()

    def _clear_error(self) -> None:
        """An action that worked clears a refusal left from before (the filter's stays)."""
        if self.error:
            self._view.error = None
            self.error = ""
