"""The alias board's widget: the board as one synced trait, clicks as messages.

The front-end is ``widgets/alias_board/`` (contract: ``model.d.ts``). Opening a prompt, diffing, planning
a move / delete / undo, confirming, cancelling and refreshing arrive as messages
(``{"action": "move", "alias": …, "version": …, "gate": false}``, …) and call the same
:class:`~mlflow_magics.views.alias_board.AliasBoard` methods a script would; the board pushes
its new state back through the traits. A refused move (stale board, gate) is the ``error``
sentence, and the board shows where the alias points now.
"""

from __future__ import annotations

from typing import Any

import traitlets

from mlflow_magics.views.action_widget import ActionWidget


class AliasBoardWidget(ActionWidget):
    """Versions with their aliases, a version diff, alias moves with a confirm step."""

    bundle_name = "alias_board"
    noun = "alias board"

    board = traitlets.Dict(
        help="What the board shows: {kind, name, description, latest, aliases: {alias: n}, "
        "versions: [{n, message, author, time, preview, template, config, run_id, metrics}], "
        "history: {alias: [{before, after, user, time, forced, gate, undo, text}]}}; a listing "
        "has name null and listing: [{name, description, latest, aliases}], more."
    ).tag(sync=True)
    pending = traitlets.Dict(
        help="The change waiting for Confirm: {alias, before, after, action, text} "
        "(text: 'production: v2 → v3'); {} when none."
    ).tag(sync=True)
    diff = traitlets.Dict(
        help="The version diff shown: {a, b, lines: [[op, text]], more, settings: [[key, a, b]], "
        "same}; {} when none."
    ).tag(sync=True)
    note = traitlets.Unicode("", help="What the last action did, in one sentence.").tag(sync=True)

    def _do_open(self, c: dict[str, Any]) -> None:
        self._view.open(str(c.get("name", "")))

    def _do_refresh(self, _c: dict[str, Any]) -> None:
        self._view.refresh()

    def _do_diff(self, c: dict[str, Any]) -> None:
        self._view.diff(c.get("a"), c.get("b"))

    def _do_move(self, c: dict[str, Any]) -> None:
        self._view.move(
            str(c.get("alias", "")).strip(),
            c.get("version"),
            gate=bool(c.get("gate")),
            force=bool(c.get("force")),
        )

    def _do_delete(self, c: dict[str, Any]) -> None:
        self._view.delete_alias(str(c.get("alias", "")))

    def _do_undo(self, c: dict[str, Any]) -> None:
        self._view.undo(str(c.get("alias", "")))

    def _do_confirm(self, _c: dict[str, Any]) -> None:
        self._view.confirm()

    def _do_cancel(self, _c: dict[str, Any]) -> None:
        self._view.cancel()
