"""Conversations: ``%mlflow sessions`` (one row per session) and ``%mlflow session ID`` (one
conversation's transcript, turn by turn with its trace and assessments), in the static tiers.

- static HTML: a table of sessions (id, users, turns, first and last time, errors, tokens,
  cost, 👍 / 👎), everything escaped;
- text: the same as aligned lines.

There is no interactive widget for this table yet: the HTML tier is what every frontend shows.
``s.sessions`` holds every row, ``s.session(ID)`` one of them (its ``trace_ids`` oldest first),
``s.to_pandas()`` all of them.
"""

from __future__ import annotations

from typing import Any

from mlflow_magics.errors import BadInput
from mlflow_magics.sessions import Conversation, Session, SessionSearch
from mlflow_magics.views import display
from mlflow_magics.views.content_view import (
    ASSESSMENTS_CSS,
    CONTENT_CSS,
    assessments_html,
    assessments_text,
    content_html,
    format_cost,
    pad_to_width,
    plain_line,
    text_width,
)
from mlflow_magics.views.markup import NO_MATH, Markup, join, tag
from mlflow_magics.views.table_css import DIM, ERR, RAISED, table_rules
from mlflow_magics.views.trace_table import format_time

#: Rows the HTML and text tiers show (the newest); ``s.sessions`` has them all.
HTML_ROWS = 200
TEXT_ROWS = 30


class SessionTable:
    """The sessions found: ``s.sessions`` (most recently active first), ``s.session(ID)``,
    ``s.to_pandas()``; ``s.capped`` when the trace limit was reached."""

    def __init__(self, found: SessionSearch, where: str = "") -> None:
        self.sessions: list[Session] = list(found.sessions)
        self.traces = found.traces
        self.capped = found.capped
        self.where = where

    def session(self, session_id: str) -> Session:
        """One session by its id."""
        for s in self.sessions:
            if s.session_id == session_id:
                return s
        raise BadInput(f"No session {session_id!r} among the {len(self.sessions)} found.")

    def to_pandas(self):
        """One row per session."""
        import pandas as pd

        return pd.DataFrame([_row(s) for s in self.sessions])

    def _summary(self) -> str:
        n = len(self.sessions)
        text = f"{n:,} session{'s' if n != 1 else ''} from {self.traces:,} traces"
        if self.where:
            text += f" in {self.where}"
        if self.capped:
            text += f" (the newest {self.traces:,} traces only: --max reads more)"
        return text

    def _text(self, width: int = 120) -> str:
        lines = [plain_line(self._summary(), width)]
        if not self.sessions:
            lines.append("No traces carry a session id (mlflow.trace.session) yet.")
            return "\n".join(lines)
        # the text tier leaves out the first time (the HTML has it) to fit a terminal
        head = ["session", "users", "turns", "last", "errors", "tokens", "cost", "👍/👎"]
        rows = [[c for i, c in enumerate(_cells(s)) if i != 3] for s in self.sessions[:TEXT_ROWS]]
        caps = [28, 20, 8, 19, 8, 10, 10, 9]
        widths = [
            min(cap, max(text_width(h), *(text_width(r[i]) for r in rows)))
            for i, (h, cap) in enumerate(zip(head, caps, strict=True))
        ]
        for cells in [head, *rows]:
            line = "  ".join(
                pad_to_width(plain_line(c, w), w) for c, w in zip(cells, widths, strict=True)
            )
            lines.append(line.rstrip())
        if len(self.sessions) > TEXT_ROWS:
            lines.append(f"… {len(self.sessions) - TEXT_ROWS:,} more sessions (s.sessions)")
        return "\n".join(plain_line(ln, width) for ln in lines)

    def _html(self) -> Markup:
        head = ["session", "users", "turns", "first", "last", "errors", "tokens", "cost", "👍 / 👎"]
        nums = {2, 5, 6, 7}
        body = [
            tag(
                "tr",
                [tag("th", h, class_="num" if i in nums else None) for i, h in enumerate(head)],
            )
        ]
        for s in self.sessions[:HTML_ROWS]:
            cells = _cells(s)
            body.append(
                tag(
                    "tr",
                    [
                        tag(
                            "td",
                            c,
                            class_=("num" if i in nums else "id" if i == 0 else None),
                        )
                        for i, c in enumerate(cells)
                    ],
                    class_="bad" if s.errors else None,
                )
            )
        parts: list[object] = [tag("div", tag("strong", self._summary()), class_="head")]
        if self.sessions:
            parts.append(tag("table", tag("tbody", body)))
        else:
            parts.append(
                tag("div", "No traces carry a session id (mlflow.trace.session) yet.", class_="dim")
            )
        if len(self.sessions) > HTML_ROWS:
            parts.append(
                tag(
                    "div",
                    f"… {len(self.sessions) - HTML_ROWS:,} more sessions (s.sessions has all)",
                    class_="dim",
                )
            )
        return join(
            [tag("style", Markup(_CSS)), tag("div", parts, class_=f"mlfm-sessions {NO_MATH}")]
        )

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        return display.mimebundle(self._text(), html=self._html)

    def __repr__(self) -> str:
        return f"<SessionTable {len(self.sessions)} sessions from {self.traces} traces>"


def _row(s: Session) -> dict[str, Any]:
    return {
        "session_id": s.session_id,
        "users": ", ".join(s.users),
        "turns": s.turns,
        "first_ms": s.first_ms,
        "last_ms": s.last_ms,
        "errors": s.errors,
        "tokens": s.tokens,
        "cost": s.cost,
        "thumbs_up": s.thumbs_up,
        "thumbs_down": s.thumbs_down,
        "trace_ids": list(s.trace_ids),
    }


def _cells(s: Session) -> list[str]:
    return [
        s.session_id,
        ", ".join(s.users),
        f"{s.turns:,}",
        format_time(s.first_ms) if s.first_ms else "",
        format_time(s.last_ms) if s.last_ms else "",
        f"{s.errors:,}" if s.errors else "0",
        f"{s.tokens:,}" if s.tokens is not None else "",
        format_cost(s.cost) if s.cost else "",
        f"{s.thumbs_up}/{s.thumbs_down}" if s.thumbs_up or s.thumbs_down else "",
    ]


_CSS = f"""
.mlfm-sessions{{font:12px/1.45 var(--jp-ui-font-family,system-ui,sans-serif);color:var(--jp-ui-font-color1,#212121);max-width:100%;overflow-x:auto}}
.mlfm-sessions .head{{margin:2px 0 6px}}
.mlfm-sessions th,.mlfm-sessions td{{border-bottom:1px solid var(--jp-border-color2,#e0e0e0);padding:3px 8px;vertical-align:top}}
.mlfm-sessions th{{font-weight:600;background:{RAISED}}}
.mlfm-sessions tr.bad td:nth-child(6){{color:{ERR};font-weight:600}}
.mlfm-sessions .dim{{color:{DIM}}}
""" + table_rules("mlfm-sessions")


#: Turns of one conversation the HTML and text tiers show (the newest).
SESSION_HTML_TURNS = 100
SESSION_TEXT_TURNS = 20


class SessionView:
    """One conversation (``%mlflow session ID``): ``v.turns`` oldest first (each with
    ``.trace_id``, ``.user``, ``.text``, ``.reply``, ``.status``, ``.assessments``),
    ``v.trace_ids``, ``v.session_id``."""

    def __init__(self, conversation: Conversation) -> None:
        self.session_id = conversation.session_id
        self.turns = list(conversation.turns)
        self.cut = conversation.cut

    @property
    def trace_ids(self) -> list[str]:
        return [t.trace_id for t in self.turns]

    def _summary(self) -> str:
        users = sorted({t.user_id for t in self.turns if t.user_id})
        n = len(self.turns) + self.cut
        text = f"Session {self.session_id} · {n:,} turn{'s' if n != 1 else ''}"
        return text + (f" · user {', '.join(users)}" if users else "")

    def _text(self, width: int = 100) -> str:
        from mlflow_magics.views.chat_view import _said, one_line

        lines = [plain_line(self._summary(), width)]
        earlier = self.cut + max(0, len(self.turns) - SESSION_TEXT_TURNS)
        if earlier:
            lines.append(f"… {earlier:,} earlier turns not shown (v.turns)")
        for t in self.turns[-SESSION_TEXT_TURNS:]:
            lines += _said("user", t.user, width)
            for msg in t.reply:
                for call in msg.get("tool_calls") or []:
                    line = f"  → {plain_line(call.get('name') or '?', 40)}"
                    line += f"({one_line(call.get('arguments') or '', 100)})"
                    if call.get("result") is not None:
                        line += f" ← {one_line(call['result'], 100)}"
                    lines.append(plain_line(line, width))
            lines += _said("assistant", t.text, width)
            tail = f"  ({t.status} · trace {t.trace_id} · {format_time(t.time_ms)})"
            lines.append(plain_line(tail, width))
            if t.assessments:
                block = assessments_text(t.assessments, width - 4)
                lines += ["    " + ln for ln in block.splitlines()]
        return "\n".join(lines)

    def _html(self) -> Markup:
        parts: list[object] = [tag("div", tag("strong", self._summary()), class_="head")]
        earlier = self.cut + max(0, len(self.turns) - SESSION_HTML_TURNS)
        if earlier:
            parts.append(tag("div", f"… {earlier:,} earlier turns not shown", class_="dim"))
        for t in self.turns[-SESSION_HTML_TURNS:]:
            msgs = [{"role": "user", "text": t.user}, *t.reply]
            body = content_html({"kind": "chat", "input_messages": msgs}, 8000, style=False)
            foot = tag(
                "div", f"{t.status} · trace {t.trace_id} · {format_time(t.time_ms)}", class_="dim"
            )
            asmt = assessments_html(t.assessments, style=False) if t.assessments else None
            parts.append(tag("div", body, foot, asmt, class_="turn", data_status=t.status))
        css = CONTENT_CSS + ASSESSMENTS_CSS + _SESSION_CSS
        return join(
            [tag("style", Markup(css)), tag("div", parts, class_=f"mlfm-session {NO_MATH}")]
        )

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        return display.mimebundle(self._text(), html=self._html)

    def __repr__(self) -> str:
        return f"<SessionView {self.session_id} turns={len(self.turns)}>"


_SESSION_CSS = f"""
.mlfm-session{{font:12px/1.45 var(--jp-ui-font-family,system-ui,sans-serif);color:var(--jp-ui-font-color1,#212121);max-width:100%}}
.mlfm-session .head{{margin:2px 0 6px}}
.mlfm-session .turn{{margin:0 0 8px;padding:0 0 4px;border-bottom:1px solid {RAISED}}}
.mlfm-session .dim{{color:{DIM}}}
"""
