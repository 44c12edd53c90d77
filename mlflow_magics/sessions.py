"""Conversations read back from the store: traces grouped by MLflow's session metadata.

Every turn of a chat (``%mlflow chat``, or any app that calls ``mlflow.update_current_trace(
session_id=...)``) is a trace carrying ``mlflow.trace.session`` and ``mlflow.trace.user``.
:func:`search_sessions` reads the matching traces without their spans, newest first, and
groups them into :class:`Session` rows: who, how many turns, when, errors, tokens, cost and the
👍 / 👎 feedback the turns got.

No IPython and no display here; a user mistake raises :class:`~mlflow_magics.errors.BadInput`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from mlflow_magics.trace_search import (
    TraceQuery,
    build_filter,
    bulk_page_size,
    quote_value,
    search_infos,
)

SESSION_KEY = "mlflow.trace.session"  # mlflow.tracing.constant.TraceMetadataKey.TRACE_SESSION
USER_KEY = "mlflow.trace.user"  # mlflow.tracing.constant.TraceMetadataKey.TRACE_USER
#: Traces read at most, unless ``--max`` says otherwise.
MAX_TRACES = 10_000


@dataclass
class Session:
    """One conversation: the traces that carry its session id, oldest first."""

    session_id: str
    users: list[str] = field(default_factory=list)
    trace_ids: list[str] = field(default_factory=list)
    first_ms: int = 0
    last_ms: int = 0
    errors: int = 0
    tokens: int | None = None
    cost: float | None = None
    thumbs_up: int = 0
    thumbs_down: int = 0

    @property
    def turns(self) -> int:
        return len(self.trace_ids)


@dataclass(frozen=True)
class SessionSearch:
    """The sessions found, most recently active first; ``capped`` when ``max_traces`` traces
    were read and there were more."""

    sessions: list[Session]
    traces: int
    capped: bool


def session_filter(query: TraceQuery, user: str | None, now_ms: int | None = None) -> str:
    """The search_traces filter: the user's FILTER and flags, traces with a session, and the
    user when given."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    clauses = [c for c in [build_filter(query, now_ms)] if c]
    clauses.append(f"metadata.`{SESSION_KEY}` != ''")
    if user is not None:
        clauses.append(f"metadata.`{USER_KEY}` = {quote_value(user)}")
    return " AND ".join(clauses)


def search_sessions(
    client,
    experiment_ids: list[str],
    query: TraceQuery | None = None,
    *,
    user: str | None = None,
    max_traces: int | None = None,
) -> SessionSearch:
    """The sessions of ``experiment_ids`` whose traces match ``query`` (and ``user``), from
    at most ``max_traces`` of the newest matching traces."""
    limit = max_traces or MAX_TRACES
    filter_string = session_filter(query or TraceQuery(), user)
    page = min(bulk_page_size(client), limit)
    by_id: dict[str, Session] = {}
    read, token, capped = 0, None, False
    while True:
        infos = search_infos(client, experiment_ids, filter_string, None, page, token)
        for info in infos:
            if read >= limit:
                capped = True
                break
            read += 1
            _add(by_id, info)
        token = getattr(infos, "token", None)
        if capped or not token or not infos:
            break
    sessions = sorted(by_id.values(), key=lambda s: s.last_ms, reverse=True)
    for s in sessions:
        s.trace_ids.reverse()  # read newest first; a conversation reads oldest first
    return SessionSearch(sessions, read, capped)


def _add(by_id: dict[str, Session], info) -> None:
    from mlflow_magics.chat import FEEDBACK_NAME
    from mlflow_magics.content import assessments_of

    meta = info.trace_metadata or {}
    sid = meta.get(SESSION_KEY)
    if not sid:
        return
    s = by_id.get(sid)
    at = int(info.request_time or 0)
    if s is None:
        s = by_id[sid] = Session(sid, first_ms=at, last_ms=at)
    s.trace_ids.append(info.trace_id)
    user = meta.get(USER_KEY)
    if user and user not in s.users:
        s.users.append(user)
    s.first_ms = min(s.first_ms, at)
    s.last_ms = max(s.last_ms, at)
    state = getattr(info.state, "value", info.state)
    if str(state) == "ERROR":
        s.errors += 1
    usage = getattr(info, "token_usage", None) or {}
    tokens = usage.get("total_tokens")
    if tokens is None and usage:
        tokens = usage.get("input_tokens", 0) + usage.get("output_tokens", 0)
    if tokens is not None:
        s.tokens = (s.tokens or 0) + int(tokens)
    cost = _number(meta.get("mlflow.trace.cost"), "total_cost")
    if cost is not None:
        s.cost = (s.cost or 0.0) + float(cost)
    for a in assessments_of(info):
        if a.get("name") == FEEDBACK_NAME and a.get("kind") == "feedback":
            if a.get("value") is True:
                s.thumbs_up += 1
            elif a.get("value") is False:
                s.thumbs_down += 1


def _number(raw: Any, key: str) -> float | None:
    """A total out of MLflow's JSON metadata (``{"total_tokens": 12, ...}``), or None."""
    if raw is None:
        return None
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return None
    if isinstance(value, dict):
        value = value.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


#: Turns one conversation shows at most (its newest).
MAX_TURNS = 500


@dataclass
class SessionTurn:
    """One turn of a conversation read back from its trace: what the user asked, the
    messages that answered it (assistant text, tool calls with their outputs), its status and
    its assessments."""

    trace_id: str
    time_ms: int
    user: str
    reply: list[dict[str, Any]]
    status: str
    user_id: str | None = None
    assessments: list[dict[str, Any]] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The answer's text."""
        return "\n\n".join(m["text"] for m in self.reply if m.get("text"))


@dataclass(frozen=True)
class Conversation:
    """The turns of session ``session_id``, oldest first; ``cut`` earlier turns left out."""

    session_id: str
    turns: list[SessionTurn]
    cut: int = 0


def read_session(
    client, experiment_ids: list[str], session_id: str, max_turns: int = MAX_TURNS
) -> Conversation:
    """The conversation of ``session_id``: its traces with their spans, oldest first (the
    newest ``max_turns`` of them). A session no trace carries is one sentence."""
    from mlflow_magics.errors import BadInput
    from mlflow_magics.trace_search import _where
    from mlflow_magics.traces import fresh

    fresh()
    filter_string = f"metadata.`{SESSION_KEY}` = {quote_value(session_id)}"
    traces = client.search_traces(
        **_where(client, experiment_ids),
        filter_string=filter_string,
        max_results=max_turns + 1,
        order_by=["timestamp_ms DESC"],
    )
    traces = list(traces)
    if not traces:
        raise BadInput(
            f"No trace carries session {session_id!r} here; `%mlflow sessions` lists the "
            "sessions there are."
        )
    cut = max(0, len(traces) - max_turns)
    turns = [_turn(t) for t in reversed(traces[:max_turns])]
    return Conversation(session_id, turns, cut)


def _turn(trace) -> SessionTurn:
    from mlflow_magics.content import assessments_of, last_user_text, messages, pretty

    info = trace.info
    spans = list(trace.data.spans) if trace.data else []
    root = next((s for s in spans if s.parent_id is None), None)
    request = root.inputs if root is not None else None
    response = root.outputs if root is not None else None
    asked = last_user_text(messages(request)) if request is not None else None
    reply = messages(response) if response is not None else None
    if reply is None and response not in (None, ""):
        text = response if isinstance(response, str) else pretty(response)
        reply = [{"role": "assistant", "text": text}]
    state = getattr(info.state, "value", info.state)
    return SessionTurn(
        trace_id=info.trace_id,
        time_ms=int(info.request_time or 0),
        user=asked if asked is not None else (info.request_preview or ""),
        reply=[m for m in reply or [] if m.get("role") != "user"],
        status=str(state),
        user_id=(info.trace_metadata or {}).get(USER_KEY),
        assessments=assessments_of(info),
    )
