"""The chat panel's widget: a transcript, an input box, Send and Stop, 👍 / 👎 per turn.

The front-end is ``widgets/chat_view/`` (contract: ``model.d.ts``). Finished turns are synced
once each, when they finish (``turns``, the newest :data:`~mlflow_magics.views.chat_view.
WIDGET_TURNS`); the answer that is streaming is ``live``, re-sent at most 30 times a second
however fast its deltas come. Send, Stop, feedback and opening a turn's trace arrive as messages
and call the same :class:`~mlflow_magics.views.chat_view.ChatView` methods a script would.
Send returns at once: the answer streams in on the chat's worker thread, so Stop can arrive
while it does.
"""

from __future__ import annotations

from typing import Any

import traitlets

from mlflow_magics.views.action_widget import ActionWidget


class ChatWidget(ActionWidget):
    """The chat panel of a :class:`~mlflow_magics.views.chat_view.ChatView`."""

    bundle_name = "chat_view"
    noun = "chat"

    header = traitlets.Dict(
        help="{title, agent, kind: responses|chat|function, session_id, user, stream, "
        "turns (how many in all), cut (earlier turns not shown here)}."
    ).tag(sync=True)
    turns = traitlets.List(
        help="The newest finished turns, oldest first: [{i, user, text, tool_calls, reasoning, "
        "status: done|stopped|error, error, trace_id, elapsed, deltas, feedback}]."
    ).tag(sync=True)
    live = traitlets.Dict(
        help="The turn whose answer is streaming (same shape as a turn, status 'streaming'); "
        "empty when none is. Synced at most 30 times a second."
    ).tag(sync=True)
    note = traitlets.Unicode("", help="What the last action did, in one sentence.").tag(sync=True)

    _action: str | None = None

    def act(self, content: dict[str, Any]) -> None:
        self._action = str(content.get("action"))
        super().act(content)

    def _check_store(self) -> None:
        # Sending and stopping ask nothing of the store (a turn's trace is exported on MLflow's
        # queue); feedback and opening a trace read and write it, so a dead one is one sentence.
        if self._action not in ("send", "stop"):
            super()._check_store()

    def _do_send(self, c: dict[str, Any]) -> None:
        self._view.start(str(c.get("text", "")))

    def _do_stop(self, _c: dict[str, Any]) -> None:
        self._view.stop()

    def _do_feedback(self, c: dict[str, Any]) -> None:
        turn = c.get("turn")
        if not isinstance(turn, int) or isinstance(turn, bool):
            from mlflow_magics.errors import BadInput

            raise BadInput("Feedback needs the turn it rates.")
        self._view.feedback(turn, bool(c.get("value")), c.get("comment") or None)

    def _do_open(self, c: dict[str, Any]) -> None:
        self._view.open(str(c.get("trace_id", "")))
