"""Unit tier: the content model reads each library's payload shapes as chat, tool calls,
documents, usage and cost (the shapes as the libraries' MLflow autologgers record them; the
frameworks tier checks the same on traces the real libraries make)."""

from __future__ import annotations

import json

import pytest

from mlflow_magics import content

OPENAI_REQUEST = {
    "model": "gpt-4o-mini",
    "messages": [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": '{"sky": "sunny"}'},
    ],
}
OPENAI_RESPONSE = {
    "id": "chatcmpl-1",
    "model": "gpt-4o-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "It is **sunny**."}}],
    "usage": {"prompt_tokens": 30, "completion_tokens": 5, "total_tokens": 35},
}


def roles(msgs):
    return [(m["role"], m["text"]) for m in msgs]


def test_openai_chat_pairs_the_tool_call_with_its_result_and_pretty_prints_arguments():
    msgs = content.messages(OPENAI_REQUEST)
    assert roles(msgs) == [
        ("system", "Be terse."),
        ("user", "Weather in Paris?"),
        ("assistant", ""),
    ]
    call = msgs[2]["tool_calls"][0]
    assert call["name"] == "get_weather"
    # decoded once and indented, never escaped twice
    assert call["arguments"] == '{\n  "city": "Paris"\n}'
    assert json.loads(call["result"]) == {"sky": "sunny"}
    reply = content.messages(OPENAI_RESPONSE)
    assert roles(reply) == [("assistant", "It is **sunny**.")]


def test_responses_api_items_instructions_and_reasoning():
    request = {
        "model": "gpt-4o-mini",
        "instructions": "Answer briefly.",
        "input": [{"role": "user", "content": [{"type": "input_text", "text": "Hi?"}]}],
    }
    response = {
        "output": [
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Think."}]},
            {
                "type": "function_call",
                "id": "fc_1",
                "call_id": "c1",
                "name": "f",
                "arguments": "{}",
            },
            {"type": "function_call_output", "call_id": "c1", "output": "42"},
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Hello."}],
            },
        ]
    }
    assert roles(content.messages(request)) == [("system", "Answer briefly."), ("user", "Hi?")]
    got = content.messages(response)
    assert got[0]["reasoning"] == "Think."
    assert got[1]["tool_calls"][0]["result"] == "42"  # paired by call_id, not the item id
    assert got[-1]["text"] == "Hello."


def test_langchain_messages_shorthand_serialized_and_llm_result():
    chat_inputs = [[{"type": "human", "content": "Q?"}, {"type": "ai", "content": "A."}]]
    assert roles(content.messages(chat_inputs)) == [("user", "Q?"), ("assistant", "A.")]
    assert roles(content.messages({"messages": [["user", "Rome?"]]})) == [("user", "Rome?")]
    serialized = {
        "lc": 1,
        "type": "constructor",
        "id": ["langchain", "schema", "messages", "AIMessage"],
        "kwargs": {"content": "", "tool_calls": [{"name": "t", "args": {"a": 1}, "id": "x"}]},
    }
    msg = content.messages([serialized])[0]
    assert msg["role"] == "assistant" and msg["tool_calls"][0]["arguments"] == '{\n  "a": 1\n}'
    result = {"generations": [[{"text": "Done.", "message": {"type": "ai", "content": "Done."}}]]}
    assert roles(content.messages(result)) == [("assistant", "Done.")]


def test_anthropic_and_gemini_shapes():
    anthropic = {
        "system": "Be kind.",
        "messages": [
            {"role": "user", "content": "Hi"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t1", "name": "look", "input": {"q": 1}}],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}],
            },
        ],
    }
    msgs = content.messages(anthropic)
    assert roles(msgs)[:2] == [("system", "Be kind."), ("user", "Hi")]
    assert msgs[2]["tool_calls"][0]["result"] == "ok"
    gemini = {"contents": [{"role": "user", "parts": [{"text": "Hola"}]}]}
    assert roles(content.messages(gemini)) == [("user", "Hola")]
    reply = {"candidates": [{"content": {"role": "model", "parts": [{"text": "Buenas"}]}}]}
    assert roles(content.messages(reply)) == [("assistant", "Buenas")]


def test_chat_agent_stream_chunks_merge_by_message_id():
    chunks = [
        {"delta": {"role": "assistant", "content": "Hel", "id": "m1"}},
        {"delta": {"role": "assistant", "content": "lo", "id": "m1"}},
    ]
    assert roles(content.messages(chunks)) == [("assistant", "Hello")]


def test_not_chat_is_none():
    assert content.messages({"x": 1}) is None
    assert content.messages("plain") is None
    assert content.messages([1, 2]) is None


def test_retriever_documents_from_mlflow_langchain_and_llamaindex():
    mlflow_docs = [{"page_content": "A", "metadata": {"doc_uri": "https://x/a", "chunk_id": "1"}}]
    assert content.documents(mlflow_docs) == [{"text": "A", "uri": "https://x/a", "id": "1"}]
    nodes = [{"node": {"id_": "n1", "text": "B", "metadata": {"file_path": "b.md"}}, "score": 0.5}]
    assert content.documents(nodes) == [{"text": "B", "uri": "b.md", "id": "n1", "score": 0.5}]
    c = content.span_content("RETRIEVER", {"query": "q?"}, mlflow_docs)
    assert c["kind"] == "retrieval" and c["query"] == "q?"


def test_span_content_model_usage_cost_and_tools_from_attributes():
    attrs = {
        "mlflow.llm.model": '"gpt-4o-mini"',
        "mlflow.chat.tokenUsage": '{"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}',
        "mlflow.llm.cost": '{"total_cost": 4.8e-06}',
        "mlflow.chat.tools": json.dumps([{"type": "function", "function": {"name": "f"}}]),
    }
    c = content.span_content("CHAT_MODEL", OPENAI_REQUEST, OPENAI_RESPONSE, attrs)
    assert c["kind"] == "chat"
    assert (c["model"], c["usage"]["total_tokens"], c["cost"]["total_cost"]) == (
        "gpt-4o-mini",
        5,
        4.8e-06,
    )
    assert c["tools"] == [{"name": "f"}]


def test_a_function_with_a_question_and_a_text_answer_reads_as_one_turn():
    c = content.span_content("AGENT", {"question": "Why?"}, "Because.")
    assert roles(c["input_messages"]) == [("user", "Why?")]
    assert roles(c["output_messages"]) == [("assistant", "Because.")]
    assert content.span_content("CHAIN", {"x": 1}, {"y": 2}) is None


def test_a_graph_state_response_shows_only_the_new_messages():
    sent = {"messages": [{"type": "human", "content": "Q"}]}
    got = {"messages": [{"type": "human", "content": "Q"}, {"type": "ai", "content": "A"}]}
    c = content.span_content("CHAIN", sent, got)
    assert roles(c["output_messages"]) == [("assistant", "A")]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (OPENAI_REQUEST, "Weather in Paris?"),
        (OPENAI_RESPONSE, "It is **sunny**."),
        ({"question": "What is MLflow?"}, "What is MLflow?"),
        ('{"a": 1}', "{'a': 1}".replace("'", '"')),
        ("  two\nlines ", "two lines"),
    ],
)
def test_preview_tells_chat_records_apart(value, expected):
    assert content.preview(value) == expected


def test_jsonable_dumps_pydantic_and_refuses_arbitrary_objects():
    from mlflow.types.responses import ResponsesAgentResponse

    response = ResponsesAgentResponse(
        output=[
            {
                "type": "message",
                "id": "m1",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Hi"}],
            }
        ]
    )
    dumped = content.jsonable(response)
    assert dumped["output"][0]["content"][0]["text"] == "Hi"
    assert content.jsonable(object()) is None
    assert content.as_kwargs("q") == {"request": "q"}


def test_verdicts_and_typed_values():
    assert [content.verdict(v) for v in ("yes", "No", True, 0.5)] == ["pass", "fail", "pass", None]
    assert content.verdict("yes", error="boom") == "error"
    assert [content.parse_value(t) for t in ("true", "3", "yes", '["a"]')] == [
        True,
        3,
        "yes",
        ["a"],
    ]
