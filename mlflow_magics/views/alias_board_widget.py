"""The alias board's widget: the board as one synced trait, clicks as messages.

The front-end is ``mlflow_magics/widgets/alias_board.js``. Opening a prompt, diffing, planning
a move / delete / undo, confirming, cancelling and refreshing arrive as messages
(``{"action": "move", "alias": …, "version": …, "gate": false}``, …) and call the same
:class:`~mlflow_magics.views.alias_board.AliasBoard` methods a script would; the board pushes
its new state back through the traits. A refused move (stale board, gate) is the ``error``
sentence, and the board shows where the alias points now.
"""

from __future__ import annotations

from typing import Any

import traitlets

from mlflow_magics.errors import BadInput
from mlflow_magics.views.action_widget import WIDGETS, ActionWidget


class AliasBoardWidget(ActionWidget):
    """Versions with their aliases, a version diff, alias moves with a confirm step."""

    _esm = WIDGETS / "alias_board.js"
    _css = WIDGETS / "alias_board.css"

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

    def _act(self, content: dict[str, Any]) -> None:
        view = self._view
        action = content.get("action")
        if action == "open":
            view.open(str(content.get("name", "")))
        elif action == "refresh":
            view.refresh()
        elif action == "diff":
            view.diff(content.get("a"), content.get("b"))
        elif action == "move":
            view.move(
                str(content.get("alias", "")).strip(),
                content.get("version"),
                gate=bool(content.get("gate")),
                force=bool(content.get("force")),
            )
        elif action == "delete":
            view.delete_alias(str(content.get("alias", "")))
        elif action == "undo":
            view.undo(str(content.get("alias", "")))
        elif action == "confirm":
            view.confirm()
        elif action == "cancel":
            view.cancel()
        else:
            raise BadInput(f"Unknown alias board action {action!r}.")
