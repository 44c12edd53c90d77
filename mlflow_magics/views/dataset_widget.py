"""The dataset grid's widget: one page of records per synced trait, edits as messages.

The front-end is ``widgets/dataset_view/`` (contract: ``model.d.ts``). Saves, "Save all",
settling a refused edit, retries, paging and opening a source trace arrive as messages
(``{"action": "save", "record_id": …, "fields": {changed fields}, "version": …, "drawn":
{…}}``, …) and call the same :class:`~mlflow_magics.views.dataset_view.DatasetView` methods a
script would; the view pushes the new page, unsaved and refused edits and note back through
the traits.
"""

from __future__ import annotations

from typing import Any

import traitlets

from mlflow_magics.views.action_widget import ActionWidget


class DatasetWidget(ActionWidget):
    """Records with inputs, outputs, editable expectations and their source trace."""

    bundle_name = "dataset_view"
    noun = "dataset"

    page = traitlets.Dict(
        help="The page shown: {name, rows: [{id, version, inputs, outputs (bounded), "
        "source_trace, expected_response, expected_facts, guidelines, other}], page, pages, "
        "total, start}."
    ).tag(sync=True)
    unsaved = traitlets.Dict(
        help="Edits the store did not take: {record_id: {fields, reason}}; kept until saved."
    ).tag(sync=True)
    conflicts = traitlets.Dict(
        help="Edits refused because their record changed in the store since the grid drew it: "
        "{record_id: {fields (the edit), drawn (what it was based on), current (the store's "
        "values now), reason}}; kept until overwritten, merged or discarded."
    ).tag(sync=True)
    note = traitlets.Unicode("", help="What the last action did, in one sentence.").tag(sync=True)

    keeps_unsaved = frozenset({"save", "save_all", "retry"})

    def _do_save(self, c: dict[str, Any]) -> None:
        self._view.save(
            str(c.get("record_id", "")),
            version=c.get("version") or None,
            drawn=c.get("drawn") or None,
            **dict(c.get("fields") or {}),
        )

    def _do_save_all(self, c: dict[str, Any]) -> None:
        self._view.save_all(list(c.get("edits") or []))

    def _do_resolve(self, c: dict[str, Any]) -> None:
        fields = c.get("fields")
        self._view.resolve(
            str(c.get("record_id", "")),
            str(c.get("choice", "")),
            dict(fields) if isinstance(fields, dict) else None,
        )

    def _do_retry(self, _c: dict[str, Any]) -> None:
        self._view.retry_unsaved()

    def _do_next(self, _c: dict[str, Any]) -> None:
        self._view.next_page()

    def _do_prev(self, _c: dict[str, Any]) -> None:
        self._view.prev_page()

    def _do_open(self, c: dict[str, Any]) -> None:
        self._view.open(str(c.get("trace_id", "")))
