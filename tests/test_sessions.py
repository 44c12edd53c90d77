"""``%mlflow sessions``: the turns of real chats read back from a real SQLite store, grouped by
MLflow's session metadata."""

from __future__ import annotations

import mlflow
import pytest
from IPython.core.error import UsageError

from mlflow_magics.chat import Chat, agent_for
from mlflow_magics.views.sessions_view import SessionTable

HOSTILE = "\u202eexe <img src=x onerror=window.__pwned=1>"


def reply(messages):
    if messages[-1]["content"] == "fail":
        raise RuntimeError("no")
    return f"ok {len(messages)}"


def chat(session: str, user: str) -> Chat:
    return Chat(
        agent_for(reply, "reply"), client=mlflow.MlflowClient(), session_id=session, user=user
    )


@pytest.fixture
def two_chats(shell):
    a = chat("s-alice", "alice")
    for text in ("one", "two", "fail"):
        a.send(text)
    a.feedback(0, True)
    a.feedback(1, False, comment="meh")
    b = chat(HOSTILE, "bob")
    b.send("hi")
    with mlflow.start_span("no session"):  # a trace without a session is not a turn
        pass
    return a, b


def test_sessions_group_the_turns_of_each_conversation(shell, two_chats):
    a, _ = two_chats
    table = shell.run("%mlflow sessions")
    assert isinstance(table, SessionTable)
    assert [s.session_id for s in table.sessions] == [HOSTILE, "s-alice"]  # newest first
    alice = table.session("s-alice")
    assert (alice.users, alice.turns, alice.errors) == (["alice"], 3, 1)
    assert (alice.thumbs_up, alice.thumbs_down) == (1, 1)
    assert alice.trace_ids == [t.trace_id for t in a.turns]  # oldest first
    assert alice.first_ms <= alice.last_ms
    assert table.traces == 4 and not table.capped
    frame = table.to_pandas()
    assert list(frame["turns"]) == [1, 3]

    text = table._repr_mimebundle_()["text/plain"]
    lines = text.splitlines()
    assert lines[0] == "2 sessions from 4 traces"
    assert lines[1].split() == [
        "session",
        "users",
        "turns",
        "last",
        "errors",
        "tokens",
        "cost",
        "👍/👎",
    ]
    assert "\u202e" not in text and "\\u202eexe" in text
    assert any(ln.startswith("s-alice") and " 3 " in ln and "1/1" in ln for ln in lines)
    html = table._html()
    assert "<img" not in html and "&lt;img src=x" in html


def test_sessions_by_user_and_limit(shell, two_chats):
    table = shell.run("%mlflow sessions --user bob")
    assert [s.users for s in table.sessions] == [["bob"]]
    capped = shell.run("%mlflow sessions --max 2")
    assert capped.capped and capped.traces == 2
    assert "(the newest 2 traces only: --max reads more)" in capped._text()
    errors = shell.run("%mlflow sessions trace.status = 'ERROR'")
    assert [(s.session_id, s.turns) for s in errors.sessions] == [("s-alice", 1)]


def test_no_sessions_says_so(shell):
    table = shell.run("%mlflow sessions --last 1h")
    assert table.sessions == []
    assert "No traces carry a session id" in table._text()


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("%mlflow sessions --last soon", "--last"),
        ("%mlflow sessions --experiment nope", "No experiment 'nope'"),
        ("%mlflow sessions --max 0", "--max"),
    ],
)
def test_bad_sessions_input_is_one_usage_error(shell, line, match):
    with pytest.raises(UsageError, match=match) as e:
        shell.run(line)
    assert type(e.value) is UsageError


def test_one_session_reads_back_as_its_transcript(shell):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from test_chat import WeatherAgent

    from mlflow_magics.views.sessions_view import SessionView

    weather = Chat(
        agent_for(WeatherAgent(), "weather"),
        client=mlflow.MlflowClient(),
        session_id="s-weather",
        user="erin",
    )
    weather.send(f"Paris? {HOSTILE}")
    weather.send("And tomorrow?")
    weather.feedback(1, False, comment="no forecast")
    view = shell.run("%mlflow session s-weather")
    assert isinstance(view, SessionView)
    assert view.trace_ids == [t.trace_id for t in weather.turns]
    first, second = view.turns
    assert (first.user, second.user) == (f"Paris? {HOSTILE}", "And tomorrow?")
    assert second.text == "It is sunny in Paris (turn 2)."
    assert [c["name"] for m in second.reply for c in m.get("tool_calls") or []] == ["get_weather"]
    assert [(a["name"], a["value"]) for a in second.assessments] == [("user_feedback", False)]
    text = view._text()
    assert text.splitlines()[0] == "Session s-weather · 2 turns · user erin"
    assert "assistant: It is sunny in Paris (turn 2)." in text
    assert '  → get_weather({"city": "Paris"}) ← {"forecast": "sunny"}' in text
    assert "\u202e" not in text
    html = view._html()
    assert "<img" not in html and "no forecast" in html and second.trace_id in html
    with pytest.raises(UsageError, match="No trace carries session 'nope'"):
        shell.run("%mlflow session nope")
