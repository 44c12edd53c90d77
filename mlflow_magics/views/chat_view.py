"""A chat with an agent (``%mlflow chat``), in three tiers.

- widget: :class:`~mlflow_magics.views.chat_widget.ChatWidget` above a detail area — the
  transcript as message cards (safe markdown, tool cards), an input box, Send and Stop, the
  answer streaming in as its deltas arrive, 👍 / 👎 with a comment per turn, and a turn's
  "trace" opening its trace view below;
- static HTML: the newest turns as the shared message cards (everything escaped), each with
  its trace id, status and feedback;
- text: ``user: …`` / ``assistant: …`` lines, a tool call one line each.

Every tier is bounded, and says what it left out: the widget holds the newest
:data:`WIDGET_TURNS` turns, the HTML :data:`HTML_TURNS`, the text :data:`TEXT_TURNS`;
``chat.turns`` has them all.

The view reaches MLflow only through :class:`~mlflow_magics.chat.Chat` and the trace service.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

from mlflow_magics.chat import Chat, Turn
from mlflow_magics.views import display
from mlflow_magics.views.content_view import (
    CONTENT_CSS,
    content_html,
    plain_line,
    visible,
    wrap_to_width,
)
from mlflow_magics.views.detail_area import WithDetailArea
from mlflow_magics.views.markup import NO_MATH, Markup, join, tag
from mlflow_magics.views.table_css import DIM, ERR, OK, RAISED

#: Turns each tier shows (the newest); the rest are in ``chat.turns``.
WIDGET_TURNS = 100
HTML_TURNS = 50
TEXT_TURNS = 20
#: Most pushes a second of the streaming answer to the widget.
LIVE_RATE = 30
#: Characters of one tool call's arguments or output on its text line.
TOOL_LINE = 100
#: Lines of one message in the text tier.
TEXT_LINES = 8


class Coalescer:
    """Calls ``push`` at most ``rate`` times a second however often :meth:`poke` is called:
    a poke inside the gap schedules one push at its end; :meth:`flush` pushes now. ``push``
    reads the state as it is then, so a late push never shows something stale."""

    def __init__(self, push: Callable[[], None], rate: float = LIVE_RATE) -> None:
        self._push = push
        self._gap = 1.0 / rate
        self._last = 0.0
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self.pushes = 0

    def poke(self) -> None:
        with self._lock:
            if self._timer is not None:
                return
            wait = self._last + self._gap - time.monotonic()
            if wait > 0:
                self._timer = threading.Timer(wait, self._fire)
                self._timer.daemon = True
                self._timer.start()
                return
            self._last = time.monotonic()
        self._call()

    def _fire(self) -> None:
        with self._lock:
            self._timer = None
            self._last = time.monotonic()
        self._call()

    def flush(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._last = time.monotonic()
        self._call()

    def _call(self) -> None:
        self.pushes += 1
        with contextlib.suppress(Exception):  # a frontend hiccup never stops the stream
            self._push()


def turn_payload(turn: Turn) -> dict[str, Any]:
    """One turn for the widget (``widgets/chat_view/model.d.ts``)."""
    return {
        "i": turn.index,
        "user": turn.user,
        "text": turn.text,
        "tool_calls": [c.to_dict() for c in turn.tool_calls],
        "reasoning": turn.reasoning,
        "status": turn.status,
        "error": turn.error or "",
        "trace_id": turn.trace_id or "",
        "elapsed": round(turn.elapsed, 3) if turn.elapsed is not None else None,
        "deltas": turn.deltas,
        "feedback": dict(turn.feedback) if turn.feedback else None,
    }


class ChatView(WithDetailArea):
    """A chat panel over a :class:`~mlflow_magics.chat.Chat`, with the chat's Python twins.

    ``chat.send(text)`` returns the finished :class:`~mlflow_magics.chat.Turn` (``.text``,
    ``.tool_calls``, ``.trace_id``, ``.error``); ``chat.start(text)`` returns it while it
    streams; ``chat.stop()``; ``chat.turns``, ``chat.history``, ``chat.session_id``;
    ``chat.feedback(turn, value, comment=None)``; ``chat.open(trace_id)`` /
    ``chat.open_turn(turn)`` show a turn's trace under the panel.
    """

    def __init__(self, chat: Chat) -> None:
        self.chat = chat
        self._client = chat._client
        self.note = ""
        self._live = Coalescer(self._push_live)
        self._first_text = -1  # the turn whose first text was pushed
        chat.subscribe(self._on_turn)

    # -- the chat's twins ------------------------------------------------------------------

    @property
    def session_id(self) -> str:
        return self.chat.session_id

    @property
    def turns(self) -> list[Turn]:
        return list(self.chat.turns)

    @property
    def history(self) -> dict[str, Any]:
        return self.chat.history

    def send(self, text: str) -> Turn:
        """Send ``text`` and return the finished turn (the panel streams it meanwhile)."""
        return self.chat.send(text)

    def start(self, text: str) -> Turn:
        """Send ``text`` and return its turn at once, while the answer streams (the panel's
        Send)."""
        return self.chat.start(text)

    def stop(self) -> bool:
        """Stop the answer that streams (the panel's Stop); False when none was."""
        return self.chat.stop()

    def feedback(self, turn: Turn | int, value: bool, comment: str | None = None) -> Turn:
        """👍 (True) / 👎 (False) with an optional comment on the turn's trace."""
        turn = self.chat.feedback(turn, value, comment)
        self.note = f"Feedback on turn {turn.index + 1} recorded on trace {turn.trace_id}."
        self._sync_all()
        return turn

    def open_turn(self, turn: Turn | int):
        """The trace view of a turn, shown under the panel."""
        from mlflow_magics.errors import BadInput

        turn = self.chat.turn(turn)
        if not turn.trace_id:
            raise BadInput(f"Turn {turn.index} has no trace.")
        return self.open(turn.trace_id)

    # -- keeping the widget current ----------------------------------------------------------

    def _on_turn(self, turn: Turn) -> None:
        if self._control_widget is None:
            return
        if turn.finished:
            self._live.flush()
            self._sync_all()
        elif self._first_text != turn.index and turn.text:
            # the first text of an answer is never held back by the rate limit
            self._first_text = turn.index
            self._live.flush()
        else:
            self._live.poke()

    def _push_live(self) -> None:
        w = self._control_widget
        if w is None:
            return
        turn = self.chat.streaming
        w.live = turn_payload(turn) if turn is not None else {}

    def _control(self):
        from mlflow_magics.views.chat_widget import ChatWidget

        return ChatWidget(self)

    def _sync(self) -> None:
        self._sync_all()

    def _sync_all(self) -> None:
        w = self._control_widget
        if w is None:
            return
        finished = [t for t in self.chat.turns if t.finished]
        shown = finished[-WIDGET_TURNS:]
        live = self.chat.streaming
        with w.hold_sync():
            w.header = self._header(cut=len(finished) - len(shown))
            w.turns = [turn_payload(t) for t in shown]
            w.live = turn_payload(live) if live is not None else {}
            w.note = self.note

    def _header(self, cut: int = 0) -> dict[str, Any]:
        c = self.chat
        return {
            "title": c.title,
            "agent": c.agent.name,
            "kind": c.agent.kind,
            "session_id": c.session_id,
            "user": c.user,
            "stream": c.stream and c.agent.streams,
            "turns": len(c.turns),
            "cut": cut,
        }

    # -- static tiers ----------------------------------------------------------------------

    def _summary(self) -> str:
        c = self.chat
        n = len(c.turns)
        return (
            f"{c.title} · {c.agent.name} · session {c.session_id} · user {c.user} · "
            f"{n} turn{'s' if n != 1 else ''}"
        )

    def _text(self, width: int = 100) -> str:
        lines = [plain_line(self._summary(), width)]
        turns = list(self.chat.turns)
        if len(turns) > TEXT_TURNS:
            lines.append(f"… {len(turns) - TEXT_TURNS:,} earlier turns not shown (chat.turns)")
        for t in turns[-TEXT_TURNS:]:
            lines += _said("user", t.user, width)
            for call in t.tool_calls:
                line = f"  → {plain_line(call.name, 40)}({one_line(call.arguments, TOOL_LINE)})"
                if call.output is not None:
                    line += f" ← {one_line(call.output, TOOL_LINE)}"
                lines.append(plain_line(line, width))
            if t.text or t.status == "done":
                lines += _said("assistant", t.text, width)
            tail = _turn_tail(t)
            if tail:
                lines.append(plain_line(f"  ({tail})", width))
        if not turns:
            lines.append("No turns yet: chat.send('hello') or type in the panel.")
        return "\n".join(lines)

    def _html(self) -> Markup:
        turns = list(self.chat.turns)
        parts: list[object] = [tag("div", tag("strong", self._summary()), class_="head")]
        if len(turns) > HTML_TURNS:
            parts.append(
                tag(
                    "div",
                    f"… {len(turns) - HTML_TURNS:,} earlier turns not shown (chat.turns has all)",
                    class_="gap",
                )
            )
        for t in turns[-HTML_TURNS:]:
            body = content_html(
                {"kind": "chat", "input_messages": t.messages()}, budget=8000, style=False
            )
            foot: list[object] = []
            if t.error:
                foot.append(tag("div", f"error: {t.error}", class_="bad"))
            tail = _turn_tail(t, with_error=False)
            if tail:
                foot.append(tag("div", tail, class_="dim"))
            parts.append(tag("div", body, foot, class_="turn", data_status=t.status))
        if not turns:
            parts.append(tag("div", "No turns yet.", class_="dim"))
        return join(
            [
                tag("style", Markup(CONTENT_CSS + _CSS)),
                tag("div", parts, class_=f"mlfm-chat {NO_MATH}"),
            ]
        )

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        return display.mimebundle(self._text(), html=self._html, widget=lambda: self.widget)

    def __repr__(self) -> str:
        return f"<ChatView {self.chat.agent.name} session={self.session_id} turns={len(self.chat.turns)}>"


def one_line(text: str, width: int) -> str:
    """A tool call's arguments or output on one line: JSON compacted, other text with its
    whitespace folded, at most ``width`` columns."""
    import json
    import re

    try:
        text = json.dumps(json.loads(text), ensure_ascii=False)
    except (TypeError, ValueError):
        text = re.sub(r"\s+", " ", str(text)).strip()
    return plain_line(text, width)


def _said(role: str, text: str, width: int) -> list[str]:
    head = f"{role}: "
    pad = " " * len(head)
    pieces: list[str] = []
    for raw in visible(text).replace("\t", "    ").split("\n"):
        if raw.strip():
            pieces += wrap_to_width(raw, width - len(head))
    if len(pieces) > TEXT_LINES:
        pieces = [*pieces[: TEXT_LINES - 1], f"… {len(pieces) - TEXT_LINES + 1:,} more lines"]
    if not pieces:
        return [head.rstrip()]
    return [head + pieces[0], *(pad + p for p in pieces[1:])]


def _turn_tail(t: Turn, with_error: bool = True) -> str:
    bits = []
    if t.status == "stopped":
        bits.append("stopped")
    elif t.status == "streaming":
        bits.append("streaming…")
    elif t.status == "error" and with_error:
        bits.append(f"error: {t.error}")
    if t.trace_id:
        bits.append(f"trace {t.trace_id}")
    if t.elapsed is not None:
        bits.append(f"{t.elapsed:.1f} s")
    if t.feedback:
        mark = "👍" if t.feedback.get("value") else "👎"
        comment = t.feedback.get("comment")
        bits.append(f"{mark} {comment}" if comment else mark)
    return " · ".join(bits)


_CSS = f"""
.mlfm-chat{{font:12px/1.45 var(--jp-ui-font-family,system-ui,sans-serif);color:var(--jp-ui-font-color1,#212121);max-width:100%}}
.mlfm-chat .head{{margin:2px 0 6px}}
.mlfm-chat .turn{{margin:0 0 8px;padding:0 0 4px;border-bottom:1px solid {RAISED}}}
.mlfm-chat .dim,.mlfm-chat .gap{{color:{DIM}}}
.mlfm-chat .gap{{font-style:italic}}
.mlfm-chat .bad{{color:{ERR};font-weight:600}}
.mlfm-chat .turn[data-status=done] .dim{{color:{DIM}}}
.mlfm-chat .ok{{color:{OK}}}
"""
