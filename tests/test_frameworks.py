"""Frameworks tier: traces the real libraries make (the ``openai`` SDK with autolog, LangChain,
LangGraph, LlamaIndex, ResponsesAgent, ChatAgent, ``mlflow.demo``) read as GenAI content in every
tier, and the loop — dataset, ``evaluate --predict``, compare — keyed by the app's request.

The model behind them is ``tests/judge_server.py``, an OpenAI-compatible stand-in on 127.0.0.1
started here (no LLM is reachable from the test machines); every library, MLflow's autologging
and MLflow's judge path are real. The apps are in ``tests/frameworks/apps.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "frameworks"))

import apps
from judge_server import FAIL_MARKER, JudgeServer

pytestmark = pytest.mark.frameworks


@pytest.fixture(scope="module")
def standin():
    server = JudgeServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def made(standin, tmp_path_factory):
    """Every app run once against the stand-in in one fresh SQLite store: app → (run, traces)."""
    import os

    import mlflow

    folder = tmp_path_factory.mktemp("frameworks")
    # no network: MLflow's model catalog (for costs) comes from its bundle, not GitHub
    old_catalog = os.environ.get("MLFLOW_MODEL_CATALOG_URI")
    os.environ["MLFLOW_MODEL_CATALOG_URI"] = ""
    old_cwd = os.getcwd()
    os.chdir(folder)  # experiments made without an artifact location write to ./mlruns
    mlflow.set_tracking_uri(f"sqlite:///{folder}/mlflow.db")
    mlflow.set_experiment("frameworks")
    runs = {}
    try:
        for name, app in apps.APPS.items():
            runs[name] = app(standin.base_url)
        apps.autolog()
        mlflow.flush_trace_async_logging()
        client = mlflow.MlflowClient()
        from mlflow_magics.traces import read_trace

        made = {}
        for name, run in runs.items():
            made[name] = (run, [read_trace(client, t) for t in run.trace_ids])
        yield made
    finally:
        apps.autolog()
        os.chdir(old_cwd)
        mlflow.set_tracking_uri(None)
        if old_catalog is None:
            os.environ.pop("MLFLOW_MODEL_CATALOG_URI", None)
        else:
            os.environ["MLFLOW_MODEL_CATALOG_URI"] = old_catalog


def view_of(made, app: str, index: int = -1):
    from mlflow_magics.views.trace_view import TraceView

    trace, problem = made[app][1][index]
    return TraceView(trace, note=problem)


def contents(view):
    """Every span's content, in tree order."""
    out = []
    for span_id in view.data.spans["id"]:
        detail = view.select(span_id)
        out.append((detail["name"], detail["type"], detail.get("content")))
    return out


CHAT_APPS = {
    "openai_chat": "What is MLflow Tracing?",
    "openai_stream": "Stream a short answer please",
    "openai_responses": "Stream the Responses API",
    "langchain_chat_openai": "Stream about LangChain",
    "langchain_fake": "Stream something fake",
    "langchain_rag": "What does MLflow Tracing record?",
    "langgraph_react": "Rome weather for two days?",
    "llama_index_query": "What does LlamaIndex do?",
    "responses_agent": "Oslo weather for the weekend?",
    "chat_agent": "Lima weather tomorrow?",
    "openai_tool_loop": "Paris weather this week?",
}


@pytest.mark.parametrize("app", sorted(CHAT_APPS))
def test_the_request_and_reply_read_as_a_conversation_in_every_tier(made, app):
    view = view_of(made, app)
    question = CHAT_APPS[app]
    data = view.data
    assert data.request_text == question
    assert data.response_text and "{" not in data.response_text[:1]
    # widget: the one-line summary rides with the span columns
    payload = view.widget.trace
    assert payload["request_text"] == question
    # text tier: a transcript, not JSON
    text = view.to_text()
    assert f"user: {question}" in text
    assert "assistant: " in text
    # static HTML: the question and the reply as text, the raw JSON still there, folded
    html = view.to_html()
    assert question in html
    assert data.response_text[:30].replace("'", "&#x27;") in html or data.response_text[:20] in html


@pytest.mark.parametrize(
    ("app", "tool"),
    [
        ("openai_tool_loop", "get_weather"),
        ("langgraph_react", "weather"),
        ("responses_agent", "get_weather"),
        ("chat_agent", "get_weather"),
    ],
)
def test_tool_calls_show_pretty_arguments_paired_with_their_results(made, app, tool):
    view = view_of(made, app)
    calls = [
        call
        for _, _, c in contents(view)
        if c
        for m in c.get("input_messages", []) + c.get("output_messages", [])
        for call in m.get("tool_calls", [])
        if "result" in call
    ]
    assert calls, "no tool call paired with its result"
    call = calls[0]
    assert call["name"] == tool
    assert json.loads(call["arguments"])["days"] == 2  # one JSON decode away, not two
    assert "\n" in call["arguments"] and '\\"' not in call["arguments"]
    assert call["result"].startswith("sunny in")
    # the TOOL span itself is one tool card
    tools = [c for name, kind, c in contents(view) if kind == "TOOL"]
    assert tools and tools[0]["kind"] == "tool" and tools[0]["tool_call"]["name"] == tool
    assert "sunny in" in view.to_text()


@pytest.mark.parametrize("app", ["langchain_rag", "llama_index_query"])
def test_retrieved_documents_are_rows_with_text_and_source(made, app):
    view = view_of(made, app)
    docs = [c for name, kind, c in contents(view) if kind == "RETRIEVER" and c]
    assert docs, "no retriever content"
    first = docs[0]
    assert first["kind"] == "retrieval" and first["query"]
    assert len(first["documents"]) == 2
    assert all(d["text"] for d in first["documents"])
    if app == "llama_index_query":
        assert all(isinstance(d.get("score"), float) for d in first["documents"])


def test_usage_is_counted_once_when_two_autologgers_record_the_same_call(made):
    """LangChain's ChatOpenAI span and the OpenAI span inside it both carry the usage."""
    view = view_of(made, "langchain_rag_with_openai_autolog")
    s = view.data.spans
    carriers = [name for name, kind, c in contents(view) if c and c.get("usage")]
    assert len(carriers) >= 2  # both spans report usage...
    assert sum(s["tokens"]) == view.data.tokens["total_tokens"]  # ...counted once
    assert view.data.cost and sum(s["cost"]) == pytest.approx(view.data.cost)


def test_a_failed_model_call_is_an_error_with_its_request(made):
    view = view_of(made, "openai_error")
    assert view.data.status == "ERROR"
    assert view.data.request_text == "This call fails"
    assert "ERROR" in view.to_text()


def test_a_stream_never_read_to_the_end_is_marked_never_ended(made):
    view = view_of(made, "llama_index_stream")
    assert view.data.status == "IN_PROGRESS"
    assert "never ended" in (view.data.problem or "")
    assert "never ended" in view.to_text()
    assert "never ended" in view.to_html()


def test_the_demo_traces_open(made):
    _run, traces = made["mlflow_demo"]
    assert traces
    for trace, _ in traces[:10]:
        from mlflow_magics.views.trace_view import TraceView

        view = TraceView(trace)
        assert view.to_text().startswith("Trace ")
        view.to_html()


def test_a_trace_table_previews_the_question_and_the_answer(made):
    from mlflow_magics.trace_search import row_from_info

    trace, _ = made["openai_chat"][1][-1]
    row = row_from_info(trace.info)
    assert row.request_preview == CHAT_APPS["openai_chat"]
    assert row.response_preview.startswith("Answer: ")


def test_a_dataset_from_a_never_ended_trace_says_it_skipped_it(made):
    """Before: `--from` dropped the trace silently."""
    import mlflow

    from mlflow_magics.datasets import add_traces

    traces = [made["llama_index_stream"][1][-1][0], made["openai_chat"][1][-1][0]]
    merged = add_traces(mlflow.MlflowClient(), "with-a-stream", traces, create=True)
    assert merged.added == 1
    assert "1 skipped: trace tr-" in merged.sentence()
    assert "never ended" in merged.sentence()


# -- the loop through the magics, keyed by the app's request ---------------------------------


@pytest.fixture
def agent_shell(shell, standin, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", standin.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "stand-in-key")
    monkeypatch.setenv("MLFLOW_MODEL_CATALOG_URI", "")
    shell.user_ns["base_url"] = standin.base_url
    shell.user_ns["apps"] = apps
    yield shell
    apps.autolog()


def _loop(shell, make_agent: str, calls: list[str], predict: str, worsen: str) -> object:
    """Trace cells calling the agent, make a dataset of them, evaluate, worsen, evaluate, compare."""
    shell.run(make_agent)
    for call in calls:
        shell.run(f"%%mlflow trace --tag loop=yes\n{call}")
    ds = shell.run("%mlflow dataset create loop-qa --from \"tag.loop = 'yes'\"")
    assert ds.merge.added == len(calls), ds.to_text()
    body = "Guidelines(name='on_topic', guidelines='The answer addresses the question.')"
    shell.run(
        f"%%mlflow evaluate --data loop-qa --predict {predict} --run-name v1 "
        f"--judge openai:/gpt-4o-mini\n{body}"
    )
    shell.run(worsen)
    shell.run(
        f"%%mlflow evaluate --data loop-qa --predict {predict} --run-name v2 "
        f"--judge openai:/gpt-4o-mini\n{body}"
    )
    return shell.run("%mlflow compare v1 v2")


def test_openai_agent_loop_pairs_records_by_the_question(agent_shell):
    cmp = _loop(
        agent_shell,
        "agent = apps.make_agent(base_url)\napps.autolog(openai=True)",
        ['agent("What is a span?")', 'agent("What is a trace?")'],
        "agent",
        "apps.SYSTEM_PROMPT = 'Be helpful. ANSWER_WRONG'",
    )
    c = cmp.comparison
    assert (c.count("regressed"), c.count("added"), c.count("removed")) == (2, 0, 0)
    questions = sorted(r.inputs["question"] for r in cmp.regressions)
    assert questions == ["What is a span?", "What is a trace?"]
    text = cmp.to_text()
    assert "v What is a span?" in text and FAIL_MARKER in text  # the question and B's answer


def test_langgraph_agent_loop(agent_shell):
    agent_shell.run("import mlflow")
    cmp = _loop(
        agent_shell,
        "graph = apps.make_react_agent(base_url)\napps.autolog(langchain=True)\n"
        "PROMPT = 'You are a weather assistant.'\n"
        "@mlflow.trace\ndef ask(question: str) -> str:\n"
        "    state = graph.invoke({'messages': [('system', PROMPT), ('user', question)]})\n"
        "    return state['messages'][-1].content",
        ['ask("Rome weather for two days?")'],
        "ask",
        "PROMPT = 'You are a weather assistant. ANSWER_WRONG'",
    )
    assert [r.inputs["question"] for r in cmp.regressions] == ["Rome weather for two days?"]


@pytest.mark.parametrize("kind", ["responses", "chat"])
def test_agent_instances_are_predict_functions(agent_shell, kind):
    shell = agent_shell
    shell.run("import mlflow")
    maker = "make_responses_agent" if kind == "responses" else "make_chat_agent"
    shell.run(f"bot = apps.{maker}(base_url)\napps.autolog(openai=True)")
    field = "input" if kind == "responses" else "messages"
    shell.run(
        "from mlflow.genai.datasets import create_dataset\n"
        "ds = create_dataset(name='agent-qa')\n"
        f"ds.merge_records([{{'inputs': {{'{field}': [{{'role': 'user', 'content': "
        "'Oslo weather?'}]}}])"
    )
    shell.run("def mentions_sunny(outputs) -> bool:\n    return 'sunny' in str(outputs)")
    view = shell.run("%%mlflow evaluate --data agent-qa --predict bot\nmentions_sunny")
    assert [r.error for r in view.rows] == [None]
    assert view.rows[0].verdicts["mentions_sunny"].kind == "pass"


def test_a_traced_cells_pydantic_value_is_stored_as_json(agent_shell):
    shell = agent_shell
    shell.run("bot = apps.make_responses_agent(base_url)\napps.autolog(openai=True)")
    shell.run(
        "%%mlflow trace --tag kind=pyd\n"
        "bot.predict({'input': [{'role': 'user', 'content': 'Oslo weather?'}]})"
    )
    import mlflow

    from mlflow_magics.traces import read_trace

    trace, _ = read_trace(mlflow.MlflowClient(), mlflow.get_last_active_trace_id())
    root = trace.data._get_root_span()
    assert isinstance(root.outputs, dict) and root.outputs["output"][-1]["type"] == "message"
    ds = shell.run("%mlflow dataset create pyd --from \"tag.kind = 'pyd'\"")
    record = ds.records[0]
    assert isinstance(record.outputs, dict), record.outputs
