"""``%mlflow chat``: real ``ResponsesAgent`` and ``ChatAgent`` subclasses and plain functions,
streamed turn by turn, every turn one trace in a session on a real SQLite store; stop, errors,
feedback, the panel's twins and its three tiers."""

from __future__ import annotations

import re
import threading
import time

import mlflow
import pytest
from IPython.core.error import UsageError
from mlflow.entities import AssessmentSourceType
from mlflow.pyfunc import ChatAgent, ResponsesAgent
from mlflow.tracing.constant import TraceMetadataKey
from mlflow.types.agent import ChatAgentChunk, ChatAgentMessage, ChatAgentResponse
from mlflow.types.responses import ResponsesAgentResponse, ResponsesAgentStreamEvent

from mlflow_magics.chat import FEEDBACK_NAME, STOPPED, Chat, agent_for
from mlflow_magics.views.chat_view import LIVE_RATE, ChatView

HOSTILE = "<img src=x onerror=window.__pwned=1><script>window.__pwned=1</script>"


class WeatherAgent(ResponsesAgent):
    """Streams a tool call with its output, then the answer's text deltas, then the done
    message item — whose text differs from the deltas (the done item is the truth). Keeps
    every request it got."""

    def __init__(self, delay: float = 0.0):
        self.requests = []
        self.delay = delay

    def predict(self, request) -> ResponsesAgentResponse:
        events = list(self.predict_stream(request))
        items = [e.item for e in events if e.type == "response.output_item.done"]
        return ResponsesAgentResponse(output=items)

    def predict_stream(self, request):
        self.requests.append(request.model_dump(exclude_none=True))
        n = len(self.requests)
        yield ResponsesAgentStreamEvent(
            type="response.output_item.done",
            item=self.create_function_call_item(
                f"fc_{n}", f"call_{n}", "get_weather", '{"city": "Paris"}'
            ),
        )
        yield ResponsesAgentStreamEvent(
            type="response.output_item.done",
            item=self.create_function_call_output_item(f"call_{n}", '{"forecast": "sunny"}'),
        )
        for piece in ["It ", "is ", "sunny"]:
            if self.delay:
                time.sleep(self.delay)
            yield ResponsesAgentStreamEvent(**self.create_text_delta(piece, f"msg_{n}"))
        yield ResponsesAgentStreamEvent(
            type="response.output_item.done",
            item=self.create_text_output_item(f"It is sunny in Paris (turn {n}).", f"msg_{n}"),
        )


class EndlessAgent(ResponsesAgent):
    """Streams a delta every few milliseconds until stopped."""

    def predict(self, request):
        raise NotImplementedError

    def predict_stream(self, request):
        for i in range(100_000):
            time.sleep(0.002)
            yield ResponsesAgentStreamEvent(**self.create_text_delta(f"w{i} ", "msg_x"))


class BrokenAgent(ResponsesAgent):
    """Streams some text, then raises."""

    def predict(self, request):
        raise NotImplementedError

    def predict_stream(self, request):
        yield ResponsesAgentStreamEvent(**self.create_text_delta("Half an ", "msg_b"))
        raise RuntimeError("the model server went away")


class ErrorEventAgent(ResponsesAgent):
    def predict(self, request):
        raise NotImplementedError

    def predict_stream(self, request):
        yield ResponsesAgentStreamEvent(**self.create_text_delta("Start", "msg_e"))
        yield ResponsesAgentStreamEvent(type="error", message="rate limited", code="429")


class EchoChatAgent(ChatAgent):
    """A ChatAgent whose stream calls a tool and then echoes the last user message in chunks."""

    def __init__(self):
        self.seen = []

    def predict(self, messages, context=None, custom_inputs=None) -> ChatAgentResponse:
        text = f"echo: {messages[-1].content}"
        return ChatAgentResponse(
            messages=[ChatAgentMessage(role="assistant", content=text, id="a1")]
        )

    @mlflow.trace(span_type="AGENT")
    def predict_stream(self, messages, context=None, custom_inputs=None):
        self.seen.append(([m.model_dump(exclude_none=True) for m in messages], custom_inputs))
        call = {"id": "tc1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
        yield ChatAgentChunk(
            delta=ChatAgentMessage(role="assistant", content="", id="c0", tool_calls=[call])
        )
        yield ChatAgentChunk(
            delta=ChatAgentMessage(
                role="tool", content="42", id="t0", tool_call_id="tc1", name="lookup"
            )
        )
        for piece in ["echo: ", messages[-1].content]:
            yield ChatAgentChunk(delta=ChatAgentMessage(role="assistant", content=piece, id="c1"))


def traces_of(chat: Chat):
    from mlflow_magics.traces import fresh

    fresh()
    return [mlflow.get_trace(t.trace_id) for t in chat.turns]


def new_chat(target, name="agent", **kwargs) -> Chat:
    return Chat(agent_for(target, name), client=mlflow.MlflowClient(), **kwargs)


# -- ResponsesAgent ------------------------------------------------------------------------------


def test_responses_agent_streams_tool_calls_and_reconciles_with_the_done_item(shell):
    agent = WeatherAgent()
    chat = new_chat(agent, session_id="s-1", user="alice")
    turn = chat.send("Weather in Paris?")
    assert turn.status == "done" and turn.error is None
    assert turn.text == "It is sunny in Paris (turn 1)."  # the done item, not the deltas
    assert turn.deltas == 3
    (call,) = turn.tool_calls
    assert (call.name, call.call_id, call.output) == (
        "get_weather",
        "call_1",
        '{"forecast": "sunny"}',
    )
    assert call.to_dict()["arguments"] == '{\n  "city": "Paris"\n}'

    second = chat.send("And tomorrow?")
    # the whole conversation goes every turn: the first turn's items, then the new question
    sent = agent.requests[1]["input"]
    assert [i.get("role") or i.get("type") for i in sent] == [
        "user",
        "function_call",
        "function_call_output",
        "assistant",
        "user",
    ]
    assert sent[3]["content"][0]["text"] == "It is sunny in Paris (turn 1)."
    assert chat.history["input"][-1]["content"][0]["text"] == second.text

    first_trace, second_trace = traces_of(chat)
    for trace in (first_trace, second_trace):
        meta = trace.info.trace_metadata
        assert meta[TraceMetadataKey.TRACE_SESSION] == "s-1"
        assert meta[TraceMetadataKey.TRACE_USER] == "alice"
        assert trace.info.state == "OK"
        root = next(s for s in trace.data.spans if s.parent_id is None)
        assert root.name == "chat"
        assert root.inputs["input"][-1]["content"] in ("Weather in Paris?", "And tomorrow?")
        # MLflow traces predict_stream itself: its span nests under the turn's root
        assert [s.name for s in trace.data.spans if s.parent_id == root.span_id] == [
            "predict_stream"
        ]
    assert first_trace.info.trace_id != second_trace.info.trace_id


def test_no_stream_calls_predict(shell):
    agent = WeatherAgent()
    chat = new_chat(agent, stream=False)
    turn = chat.send("hi")
    assert turn.text == "It is sunny in Paris (turn 1)." and turn.deltas == 0
    # this agent's predict reads its own stream: predict_stream nests under predict
    assert [s.name for s in traces_of(chat)[0].data.spans] == ["chat", "predict", "predict_stream"]


def test_a_turn_sent_inside_a_traced_span_is_a_trace_of_its_own(shell):
    chat = new_chat(WeatherAgent())
    with mlflow.start_span("outer") as outer:
        turn = chat.send("hi")
    assert turn.trace_id != outer.trace_id
    (trace,) = traces_of(chat)
    assert trace.info.trace_metadata[TraceMetadataKey.TRACE_SESSION] == chat.session_id


def test_an_agent_that_raises_mid_stream_gives_an_error_turn_and_the_chat_goes_on(shell):
    target = {"agent": BrokenAgent()}
    chat = Chat(agent_for(target["agent"], "broken"), client=mlflow.MlflowClient())
    turn = chat.send("tell me")
    assert turn.status == "error"
    assert turn.error == "RuntimeError: the model server went away"
    assert turn.text == "Half an "  # what came before the failure is kept
    (trace,) = traces_of(chat)
    assert trace.info.state == "ERROR"
    assert all(s.end_time_ns for s in trace.data.spans)
    chat.agent = agent_for(WeatherAgent(), "weather")  # the same chat, a working agent
    assert chat.send("again").status == "done"


def test_an_error_event_ends_the_turn_with_its_message(shell):
    chat = new_chat(ErrorEventAgent())
    turn = chat.send("go")
    assert (turn.status, turn.error, turn.text) == ("error", "rate limited", "Start")
    assert traces_of(chat)[0].info.state == "ERROR"


def test_stop_from_another_thread_keeps_the_partial_text_and_ends_the_trace(shell):
    chat = new_chat(EndlessAgent())
    threading.Timer(0.3, chat.stop).start()
    turn = chat.send("count")
    assert turn.status == "stopped" and turn.error is None
    assert 0 < turn.deltas < 100_000 and turn.text.startswith("w0 w1 ")
    (trace,) = traces_of(chat)
    # the stream's own span (MLflow's, left open by closing the generator) ended too
    assert [s.name for s in trace.data.spans] == ["chat", "predict_stream"]
    assert all(s.end_time_ns for s in trace.data.spans)
    assert {s.status.description for s in trace.data.spans} == {STOPPED}
    root = trace.data.spans[0]
    assert root.attributes["mlflow_magics.chat.status"] == "stopped"
    assert root.outputs["output"][0]["content"][0]["text"] == turn.text
    # the next turn carries the partial answer in its history
    chat.agent = agent_for(WeatherAgent(), "weather")
    chat.send("next")
    assert chat.history["input"][1]["content"][0]["text"] == turn.text
    assert chat.stop() is False  # nothing streaming now


def test_ctrl_c_during_send_stops_the_stream_and_is_raised(shell):
    import _thread

    chat = new_chat(EndlessAgent())
    threading.Timer(0.3, _thread.interrupt_main).start()
    with pytest.raises(KeyboardInterrupt):
        chat.send("count")
    (turn,) = chat.turns
    assert turn.finished and turn.status == "stopped" and turn.text.startswith("w0 ")
    assert all(s.end_time_ns for s in traces_of(chat)[0].data.spans)


def test_a_second_message_while_one_streams_is_refused(shell):
    from mlflow_magics.errors import BadInput

    chat = new_chat(EndlessAgent())
    chat.start("one")
    try:
        with pytest.raises(BadInput, match="still answering"):
            chat.start("two")
    finally:
        chat.stop()
        chat.turns[-1].wait(5)


def test_feedback_is_a_human_user_feedback_on_the_turns_trace(shell):
    chat = new_chat(WeatherAgent(), user="alice")
    turn = chat.send("Weather?")
    chat.feedback(0, False, comment="too vague")
    chat.feedback(turn, True)
    trace = traces_of(chat)[0]
    found = [a for a in trace.info.assessments if a.name == FEEDBACK_NAME]
    assert sorted((a.value, a.rationale) for a in found) == [(False, "too vague"), (True, None)]
    assert {a.source.source_type for a in found} == {AssessmentSourceType.HUMAN}
    assert {a.source.source_id for a in found} == {"alice"}
    assert turn.feedback == {"value": True, "comment": None}


@pytest.mark.parametrize(
    ("turn", "value", "match"), [(5, True, "No turn 5"), (0, "yes", "True .* or False")]
)
def test_bad_feedback_is_one_sentence(shell, turn, value, match):
    from mlflow_magics.errors import BadInput

    chat = new_chat(WeatherAgent())
    chat.send("hi")
    with pytest.raises(BadInput, match=match):
        chat.feedback(turn, value)


# -- ChatAgent and functions -----------------------------------------------------------------


def test_chat_agent_streams_chunks_and_gets_its_messages_with_ids(shell):
    agent = EchoChatAgent()
    chat = new_chat(agent, custom_inputs={"tone": "dry"})
    turn = chat.send("hello")
    assert turn.text == "echo: hello" and turn.deltas == 2
    (call,) = turn.tool_calls
    assert (call.name, call.call_id, call.output) == ("lookup", "tc1", "42")
    chat.send("again")
    messages, custom = agent.seen[1]
    assert custom == {"tone": "dry"}
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant", "user"]
    assert all(m.get("id") for m in messages)
    assert messages[3]["content"] == "echo: hello"
    trace = traces_of(chat)[1]
    assert trace.info.trace_metadata[TraceMetadataKey.TRACE_SESSION] == chat.session_id
    assert [s.name for s in trace.data.spans] == ["chat", "predict_stream"]
    assert trace.data.spans[0].outputs["messages"][-1]["content"] == "echo: again"


def test_chat_agent_without_streaming(shell):
    chat = new_chat(EchoChatAgent(), stream=False)
    assert chat.send("hi").text == "echo: hi"


def test_a_plain_function_and_a_generator_function(shell):
    got = []

    def reply(messages):
        got.append(messages)
        return f"you said {messages[-1]['content']}"

    chat = new_chat(reply, "reply")
    assert chat.send("one").text == "you said one"
    chat.send("two")
    assert got[1] == [
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "you said one"},
        {"role": "user", "content": "two"},
    ]

    def chunks(messages, custom_inputs=None):
        yield from ["a", "b", str(custom_inputs)]

    chat = new_chat(chunks, "chunks", custom_inputs={"k": 1})
    turn = chat.send("go")
    assert (turn.text, turn.deltas) == ("ab{'k': 1}", 3)
    (trace,) = traces_of(chat)
    assert trace.data.spans[0].outputs == "ab{'k': 1}"


def test_what_is_not_an_agent_is_one_sentence():
    from mlflow_magics.errors import BadInput

    with pytest.raises(BadInput, match="is a int; chat takes a ResponsesAgent"):
        agent_for(3, "x")


# -- the magic --------------------------------------------------------------------------------


def test_the_magic_makes_a_chat_whose_turns_carry_session_and_user(shell):
    shell.user_ns["agent"] = WeatherAgent()
    view = shell.run("%mlflow chat agent --session s-42 --user bob --custom-inputs '{\"a\": 1}'")
    assert isinstance(view, ChatView)
    turn = view.send("hi")
    assert turn.text == "It is sunny in Paris (turn 1)."
    assert shell.user_ns["agent"].requests[0]["custom_inputs"] == {"a": 1}
    (trace,) = traces_of(view.chat)
    assert trace.info.trace_metadata[TraceMetadataKey.TRACE_SESSION] == "s-42"
    assert trace.info.trace_metadata[TraceMetadataKey.TRACE_USER] == "bob"
    assert view.session_id == "s-42" and view.turns == [turn]


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("%mlflow chat nothing_here", "No variable 'nothing_here' in this notebook"),
        ("%mlflow chat number", "number is a int; chat takes"),
        ("%mlflow chat agent --custom-inputs '[1]'", "a JSON object is needed"),
        ("%mlflow chat agent --custom-inputs '{bad'", "--custom-inputs: not JSON"),
        ("%mlflow chat models:/qa@prod", "Could not load models:/qa@prod: "),
        ("%mlflow chat http://127.0.0.1:9/invocations", "over HTTP is not supported yet"),
        ("%mlflow chat agent.nope", "has no attribute 'nope'"),
        ("%mlflow chat", "the following arguments are required: AGENT"),
    ],
)
def test_bad_chat_input_is_one_usage_error(shell, line, match):
    shell.user_ns["agent"] = WeatherAgent()
    shell.user_ns["number"] = 3
    with pytest.raises(UsageError, match=match) as e:
        shell.run(line)
    assert type(e.value) is UsageError and "\n" not in str(e.value)


def test_a_registered_agent_is_chatted_through_its_alias(shell):
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(
            name="agent",
            python_model=WeatherAgent(),
            pip_requirements=["mlflow"],
            registered_model_name="weather-agent",
        )
    client = mlflow.MlflowClient()
    client.set_registered_model_alias("weather-agent", "champion", info.registered_model_version)
    view = shell.run("%mlflow chat models:/weather-agent@champion --user dana")
    assert view.chat.agent.kind == "responses" and view.chat.agent.name == (
        "models:/weather-agent@champion"
    )
    turn = view.send("Weather?")
    # (logging ran the agent once on its input example, in the instance that was saved)
    assert re.fullmatch(r"It is sunny in Paris \(turn \d\)\.", turn.text) and turn.deltas == 3
    assert turn.tool_calls[0].name == "get_weather"
    (trace,) = traces_of(view.chat)
    assert trace.info.trace_metadata[TraceMetadataKey.TRACE_USER] == "dana"
    assert trace.data.spans[0].attributes["mlflow_magics.chat.agent"] == (
        "models:/weather-agent@champion"
    )


def test_a_logged_chat_agent_streams_through_its_version(shell):
    with mlflow.start_run():
        mlflow.pyfunc.log_model(
            name="agent",
            python_model=EchoChatAgent(),
            pip_requirements=["mlflow"],
            registered_model_name="echo-agent",
        )
    view = shell.run("%mlflow chat models:/echo-agent/1")
    assert view.chat.agent.kind == "chat"
    turn = view.send("hello")
    assert (turn.text, turn.deltas, turn.tool_calls[0].output) == ("echo: hello", 2, "42")
    assert view.send("again").text == "echo: again"


def test_chat_completes_from_its_parser():
    from mlflow_magics.commands import completions

    assert "chat" in completions("%mlflow ")
    assert "--no-stream" in completions("%mlflow chat agent ")


# -- the panel and its tiers -----------------------------------------------------------------


def test_the_widget_streams_live_coalesced_and_its_actions_are_the_twins(shell):
    view = ChatView(new_chat(EndlessAgent(), user="carol"))
    w = view.widget and view._control_widget
    seen = []
    w.observe(lambda change: seen.append(change["new"]), names="live")
    started = time.monotonic()
    w.act({"action": "send", "text": "count"})
    assert w.error == ""
    time.sleep(0.6)
    assert w.live and w.live["status"] == "streaming" and w.live["user"] == "count"
    w.act({"action": "stop"})
    view.chat.turns[-1].wait(5)
    took = time.monotonic() - started
    turn = view.turns[-1]
    assert turn.status == "stopped"
    assert w.live == {}
    assert [t["status"] for t in w.turns] == ["stopped"] and w.turns[0]["text"] == turn.text
    # hundreds of deltas, at most ~30 pushes a second (plus the final one)
    assert turn.deltas > 50
    assert len(seen) <= took * LIVE_RATE + 3
    assert w.header["session_id"] == view.session_id and w.header["user"] == "carol"

    w.act({"action": "feedback", "turn": 0, "value": False, "comment": "cut short"})
    assert w.error == "" and w.turns[0]["feedback"] == {"value": False, "comment": "cut short"}
    w.act({"action": "open", "trace_id": turn.trace_id})
    assert w.error == "" and view.opened.trace.info.trace_id == turn.trace_id
    assert view.detail_children
    w.act({"action": "send", "text": "   "})
    assert w.error == "Type a message first; nothing was sent."
    view.opened = None
    assert view.open_turn(0).trace.info.trace_id == turn.trace_id


def test_open_spans_finds_the_live_spans_of_a_trace(shell):
    from mlflow_magics.mlflow_internals import open_spans

    with mlflow.start_span("root") as root:
        child = mlflow.start_span_no_context("child", parent_span=root)
        assert {s.name for s in open_spans(root.trace_id)} == {"root", "child"}
        child.end()
        assert [s.name for s in open_spans(root.trace_id)] == ["root"]
    assert open_spans("tr-" + "0" * 32) == []


def test_text_and_html_tiers_show_the_transcript_escaped(shell):
    def hostile(messages):
        return f"**bold** {HOSTILE}\x1b[2J"

    view = ChatView(new_chat(hostile, "hostile"))
    view.send(f"hi {HOSTILE}")
    view.chat.agent = agent_for(WeatherAgent(), "weather")
    view.send("weather?")
    text = view._repr_mimebundle_()["text/plain"]
    lines = text.splitlines()
    assert lines[0].startswith("Chat with hostile · weather · session chat-")
    assert f"user: hi {HOSTILE}" in lines
    assert "assistant: **bold** " + HOSTILE + "\\x1b[2J" in lines
    assert '  → get_weather({"city": "Paris"}) ← {"forecast": "sunny"}' in lines
    assert "assistant: It is sunny in Paris (turn 1)." in lines
    assert "\x1b" not in text
    html = view._html()
    assert "<img" not in html and "<script" not in html
    assert "<strong>bold</strong>" in html
    assert "get_weather" in html and "&lt;img src=x" in html
    assert f"trace {view.turns[0].trace_id}" in html


def test_the_tiers_are_bounded_and_say_so(shell, monkeypatch):
    from mlflow_magics.views import chat_view

    monkeypatch.setattr(chat_view, "TEXT_TURNS", 2)
    monkeypatch.setattr(chat_view, "HTML_TURNS", 2)
    monkeypatch.setattr(chat_view, "WIDGET_TURNS", 2)
    view = ChatView(new_chat(lambda messages: "ok", "ok"))
    for i in range(4):
        view.send(f"q{i}")
    assert "… 2 earlier turns not shown (chat.turns)" in view._text()
    assert "2 earlier turns not shown" in view._html()
    w = view.widget and view._control_widget
    assert [t["user"] for t in w.turns] == ["q2", "q3"] and w.header["cut"] == 2
    assert len(view.turns) == 4


def test_the_coalescer_pushes_at_most_its_rate_and_the_last_state_always():
    from mlflow_magics.views.chat_view import Coalescer

    state = {"n": 0, "seen": []}
    pushes = Coalescer(lambda: state["seen"].append(state["n"]), rate=30)
    started = time.monotonic()
    while time.monotonic() - started < 0.3:
        state["n"] += 1
        pushes.poke()
    time.sleep(0.1)  # a poke inside the last gap is pushed at its end
    assert 2 <= len(state["seen"]) <= 0.4 * 30 + 2
    assert state["seen"][-1] == state["n"]  # nothing is left behind
    pushes.flush()
    assert len(state["seen"]) == pushes.pushes
