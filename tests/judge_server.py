"""An OpenAI-compatible server on 127.0.0.1 that stands in for an LLM: judge and agent model.

No LLM can be reached from the test machines, so the tests and benchmarks start this server and
point real clients at it: MLflow's real ``openai:/`` judge path through ``OPENAI_BASE_URL``, and
the real GenAI libraries of the frameworks tier (the ``openai`` SDK, LangChain's ``ChatOpenAI``,
LangGraph agents) through their ``base_url``. This server is the one imitation in those tests:
everything on the client side (prompt building, the HTTP call, streaming, response parsing,
retries, tracing, assessments) is the libraries' and MLflow's own code; only the model's answer
is made up, deterministically.

Judge requests (an MLflow judge prompt: a JSON ``result``/``rationale`` format instruction, or a
``response_format`` schema with those two fields) are answered as they always were:

- the verdict is "no" when the judge's prompt contains ``FAIL_MARKER`` (put it in an output to
  make a record fail), "yes" otherwise;
- the rationale quotes the marker decision, so tests can find it in the grid.

Any other chat request is an agent's model call:

- the answer is ``"Answer: " + <the last user message's text>``; when the prompt contains
  ``ANSWER_WRONG`` (put it in a system prompt to make a "prompt change" regress) the answer
  also carries ``FAIL_MARKER``, so a judge fails it;
- a prompt containing ``RAISE_500`` gets HTTP 500 with an OpenAI-style error body;
- when the request offers ``tools`` and no ``tool`` message follows the last user message, the
  answer is one tool call to the first tool (or the one ``tool_choice`` names), its arguments
  built from the parameter schema: strings are the last user message's first word, numbers 2,
  booleans true; after a tool result, the text answer quotes that result;
- ``stream: true`` answers with server-sent events in OpenAI's chunk format (tool-call deltas
  too), ending with a usage chunk when ``stream_options.include_usage`` is set, then
  ``data: [DONE]``.

Endpoints: ``/v1/chat/completions``, ``/v1/responses`` (the Responses API, plain and streamed
as ``response.created`` ... ``response.output_text.delta`` ... ``response.output_item.done``
... ``response.completed`` events), ``/v1/embeddings`` (deterministic hash-based unit vectors,
``float`` or ``base64``) and ``GET /v1/models``. Every answer has ``usage`` with realistic,
nonzero token counts (about four characters a token).

``delay`` seconds are slept before answering (the benchmark uses 0.1 s), concurrently: one
thread per request, so a judge run's concurrency is measurable (``peak_concurrency``).
``requests`` holds every request body seen, ``paths`` the matching URL paths.

Run it by hand with ``python tests/judge_server.py [PORT] [DELAY]``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAIL_MARKER = "JUDGE_SAYS_NO"
ANSWER_WRONG = "ANSWER_WRONG"
RAISE_500 = "RAISE_500"
EMBEDDING_DIM = 32


@dataclass
class JudgeServer:
    """A running stand-in LLM: ``base_url`` for ``OPENAI_BASE_URL``, ``requests`` seen so far."""

    delay: float = 0.0
    port: int = 0
    requests: list[dict] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    peak_concurrency: int = 0
    _server: ThreadingHTTPServer | None = None
    _active: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> JudgeServer:
        judge = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                if self.path.split("?")[0].rstrip("/").endswith("/models"):
                    models = ["gpt-4o-mini", "gpt-4.1-nano", "stand-in"]
                    data = [
                        {"id": m, "object": "model", "created": 0, "owned_by": "stand-in"}
                        for m in models
                    ]
                    self._send_json(200, {"object": "list", "data": data})
                else:
                    self._send_json(404, _error(f"No route GET {self.path}", "not_found_error"))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    self._send_json(400, _error("The body is not JSON.", "invalid_request_error"))
                    return
                path = self.path.split("?")[0].rstrip("/")
                with judge._lock:
                    judge.requests.append(body)
                    judge.paths.append(path)
                    judge._active += 1
                    judge.peak_concurrency = max(judge.peak_concurrency, judge._active)
                try:
                    if judge.delay:
                        time.sleep(judge.delay)
                    status, answer = _route(path, body)
                finally:
                    with judge._lock:
                        judge._active -= 1
                if isinstance(answer, dict):
                    self._send_json(status, answer)
                else:
                    self._send_events(answer)

            def _send_json(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _send_events(self, events: list[str]) -> None:
                """Server-sent events, one HTTP/1.1 chunk each (the connection stays usable)."""
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for event in events:
                    data = event.encode()
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


# -- routing -----------------------------------------------------------------------------------


def _route(path: str, body: dict) -> tuple[int, dict | list[str]]:
    """(HTTP status, a JSON body or the list of SSE event strings to stream)."""
    if path.endswith("/chat/completions"):
        return _chat_completions(body)
    if path.endswith("/responses"):
        return _responses(body)
    if path.endswith("/embeddings"):
        return 200, _embeddings(body)
    return 404, _error(f"No route POST {path}", "not_found_error")


def _error(message: str, kind: str = "server_error") -> dict:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def _tokens(text: str) -> int:
    """About four characters a token, at least one."""
    return max(1, math.ceil(len(text) / 4))


def _id(prefix: str, *parts: Any) -> str:
    return prefix + hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:24]


# -- judges ------------------------------------------------------------------------------------


def is_judge_request(body: dict) -> bool:
    """An MLflow judge's call: a ``result``/``rationale`` response schema, or a prompt whose
    JSON format instruction names both fields (every MLflow 3.17 judge prompt does)."""
    fmt = body.get("response_format")
    if isinstance(fmt, dict):
        schema = (fmt.get("json_schema") or {}).get("schema") or {}
        if {"result", "rationale"} <= set(schema.get("properties") or {}):
            return True
    text = " ".join(_text(m.get("content")) for m in body.get("messages") or []).lower()
    return "rationale" in text and "result" in text and "json" in text


def _completion(body: dict) -> dict:
    """The judge's verdict as a chat completion (unchanged since the judge-only server)."""
    prompt = json.dumps(body.get("messages", []))
    failed = FAIL_MARKER in prompt
    verdict = {
        "result": "no" if failed else "yes",
        "rationale": (
            f"The response contains {FAIL_MARKER}, so it does not meet the criteria."
            if failed
            else "The response meets the criteria."
        ),
    }
    prompt_tokens = len(prompt) // 4
    return {
        "id": "chatcmpl-standin",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "stand-in"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": json.dumps(verdict)},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": 20,
            "total_tokens": prompt_tokens + 20,
        },
    }


# -- the agent's model: one decision for both APIs ---------------------------------------------


def _text(content: Any) -> str:
    """The text of a message's content: a string, or a list of text parts (either API)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        out = []
        for part in content:
            if isinstance(part, str):
                out.append(part)
            elif isinstance(part, dict):
                out.append(str(part.get("text") or part.get("output") or ""))
        return "\n".join(p for p in out if p)
    return str(content)


@dataclass
class _Reply:
    """What the stand-in model says: text, or one tool call, or an HTTP error."""

    text: str | None = None
    tool_name: str | None = None
    tool_arguments: str | None = None
    tool_call_id: str | None = None
    error: str | None = None
    prompt_tokens: int = 1

    @property
    def completion_tokens(self) -> int:
        return _tokens((self.text or "") + (self.tool_name or "") + (self.tool_arguments or ""))


def _arguments(schema: dict, word: str) -> dict:
    """Deterministic arguments for a JSON schema: strings ``word``, numbers 2, booleans true."""
    out: dict[str, Any] = {}
    for name, prop in (schema.get("properties") or {}).items():
        out[name] = _value(prop if isinstance(prop, dict) else {}, word)
    return out


def _value(prop: dict, word: str) -> Any:
    if prop.get("enum"):
        return prop["enum"][0]
    kind = prop.get("type")
    if kind is None:
        for option in prop.get("anyOf") or prop.get("oneOf") or []:
            if isinstance(option, dict) and option.get("type") not in (None, "null"):
                return _value(option, word)
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind in ("number", "integer"):
        return 2
    if kind == "boolean":
        return True
    if kind == "array":
        return [_value(prop.get("items") or {"type": "string"}, word)]
    if kind == "object":
        return _arguments(prop, word)
    return word


def _decide(messages: list[dict], tools: list[dict], tool_choice: Any) -> _Reply:
    """``messages`` in chat form (role, content, tool_calls, tool_call_id); ``tools`` as
    ``{"name", "parameters"}``."""
    prompt = json.dumps(messages) + json.dumps(tools)
    reply = _Reply(prompt_tokens=_tokens(prompt))
    if RAISE_500 in prompt:
        reply.error = f"The stand-in model was asked to fail ({RAISE_500} in the prompt)."
        return reply
    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    question = _text(messages[last_user].get("content")).strip() if last_user >= 0 else ""
    after = messages[last_user + 1 :]
    tool_results = [m for m in after if m.get("role") == "tool"]
    wrong = f" {FAIL_MARKER}" if ANSWER_WRONG in prompt else ""
    if tools and not tool_results and tool_choice != "none":
        tool = tools[0]
        if isinstance(tool_choice, dict):
            wanted = (tool_choice.get("function") or {}).get("name") or tool_choice.get("name")
            tool = next((t for t in tools if t["name"] == wanted), tool)
        words = question.split()
        word = words[0].strip(".,;:!?\"'()[]{}") if words else "x"
        reply.tool_name = tool["name"]
        reply.tool_arguments = json.dumps(_arguments(tool.get("parameters") or {}, word or "x"))
        reply.tool_call_id = _id("call_", question, tool["name"], len(messages))
        return reply
    if tool_results:
        names = {}
        for m in messages:
            for call in m.get("tool_calls") or []:
                names[call.get("id")] = (call.get("function") or {}).get("name")
        quoted = "; ".join(
            f"{names.get(m.get('tool_call_id')) or m.get('name') or 'tool'} returned {_text(m.get('content'))}"
            for m in tool_results
        )
        reply.text = f"Answer: {question} ({quoted}){wrong}"
    else:
        reply.text = f"Answer: {question}{wrong}"
    return reply


def _chat_tools(tools: list | None) -> list[dict]:
    out = []
    for t in tools or []:
        fn = t.get("function") if isinstance(t.get("function"), dict) else t
        if fn.get("name"):
            out.append({"name": fn["name"], "parameters": fn.get("parameters") or {}})
    return out


# -- /v1/chat/completions ----------------------------------------------------------------------


def _chat_completions(body: dict) -> tuple[int, dict | list[str]]:
    if is_judge_request(body):
        verdict = _completion(body)
        if body.get("stream"):
            return 200, _chat_events(
                body, verdict["choices"][0]["message"]["content"], None, verdict["usage"]
            )
        return 200, verdict
    messages = body.get("messages") or []
    reply = _decide(messages, _chat_tools(body.get("tools")), body.get("tool_choice"))
    if reply.error:
        return 500, _error(reply.error)
    usage = {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "total_tokens": reply.prompt_tokens + reply.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    }
    call = None
    if reply.tool_name:
        call = {
            "id": reply.tool_call_id,
            "type": "function",
            "function": {"name": reply.tool_name, "arguments": reply.tool_arguments},
        }
    if body.get("stream"):
        return 200, _chat_events(body, reply.text, call, usage)
    message = {"role": "assistant", "content": reply.text, "refusal": None}
    if call:
        message["tool_calls"] = [call]
    return 200, {
        "id": _id("chatcmpl-", messages),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "stand-in"),
        "system_fingerprint": "fp_standin",
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": "tool_calls" if call else "stop",
            }
        ],
        "usage": usage,
    }


def _pieces(text: str) -> list[str]:
    """A text in streamed deltas: one word (with its trailing space) each."""
    return re.findall(r"\S+\s*|\s+", text) or [""]


def _chat_events(body: dict, text: str | None, call: dict | None, usage: dict) -> list[str]:
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    base = {
        "id": _id("chatcmpl-", body.get("messages")),
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model", "stand-in"),
        "system_fingerprint": "fp_standin",
    }

    def chunk(delta: dict, finish: str | None = None) -> str:
        data = {
            **base,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if include_usage:
            data["usage"] = None
        return f"data: {json.dumps(data)}\n\n"

    events = [
        chunk({"role": "assistant", "content": "" if call is None else None, "refusal": None})
    ]
    if call:
        args = call["function"]["arguments"]
        half = len(args) // 2
        events.append(
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": call["id"],
                            "type": "function",
                            "function": {"name": call["function"]["name"], "arguments": ""},
                        }
                    ]
                }
            )
        )
        for piece in (args[:half], args[half:]):
            events.append(chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}))
        events.append(chunk({}, "tool_calls"))
    else:
        events.extend(chunk({"content": piece}) for piece in _pieces(text or ""))
        events.append(chunk({}, "stop"))
    if include_usage:
        events.append(f"data: {json.dumps({**base, 'choices': [], 'usage': usage})}\n\n")
    events.append("data: [DONE]\n\n")
    return events


# -- /v1/responses -----------------------------------------------------------------------------


def _responses_messages(body: dict) -> list[dict]:
    """The Responses API's ``instructions`` + ``input`` as chat-form messages."""
    messages: list[dict] = []
    if body.get("instructions"):
        messages.append({"role": "system", "content": _text(body["instructions"])})
    items = body.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    for item in items or []:
        kind = item.get("type", "message")
        if kind == "function_call":
            call = {
                "id": item.get("call_id"),
                "type": "function",
                "function": {"name": item.get("name"), "arguments": item.get("arguments")},
            }
            messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": item.get("call_id"),
                    "content": _text(item.get("output")),
                }
            )
        elif kind == "message" or "role" in item:
            role = "system" if item.get("role") == "developer" else item.get("role", "user")
            messages.append({"role": role, "content": _text(item.get("content"))})
    return messages


def _responses(body: dict) -> tuple[int, dict | list[str]]:
    messages = _responses_messages(body)
    reply = _decide(messages, _chat_tools(body.get("tools")), body.get("tool_choice"))
    if reply.error:
        return 500, _error(reply.error)
    rid = _id("resp_", messages)
    if reply.tool_name:
        item = {
            "id": _id("fc_", rid),
            "type": "function_call",
            "status": "completed",
            "call_id": reply.tool_call_id,
            "name": reply.tool_name,
            "arguments": reply.tool_arguments,
        }
    else:
        item = {
            "id": _id("msg_", rid),
            "type": "message",
            "status": "completed",
            "role": "assistant",
            "content": [
                {"type": "output_text", "text": reply.text, "annotations": [], "logprobs": []}
            ],
        }
    now = int(time.time())
    response = {
        "id": rid,
        "object": "response",
        "created_at": now,
        "status": "completed",
        "completed_at": now,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": body.get("model", "stand-in"),
        "output": [item],
        "parallel_tool_calls": True,
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": {"effort": None, "summary": None},
        "store": False,
        "temperature": body.get("temperature", 1.0),
        "text": {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "top_p": body.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": {
            "input_tokens": reply.prompt_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": reply.completion_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": reply.prompt_tokens + reply.completion_tokens,
        },
        "metadata": body.get("metadata") or {},
    }
    if not body.get("stream"):
        return 200, response
    return 200, _responses_events(response, item)


def _responses_events(response: dict, item: dict) -> list[str]:
    events: list[str] = []

    def emit(kind: str, **data: Any) -> None:
        payload = {"type": kind, "sequence_number": len(events), **data}
        events.append(f"event: {kind}\ndata: {json.dumps(payload)}\n\n")

    started = {
        **response,
        "status": "in_progress",
        "output": [],
        "usage": None,
        "completed_at": None,
    }
    emit("response.created", response=started)
    emit("response.in_progress", response=started)
    if item["type"] == "function_call":
        emit(
            "response.output_item.added",
            output_index=0,
            item={**item, "arguments": "", "status": "in_progress"},
        )
        args = item["arguments"]
        for piece in (args[: len(args) // 2], args[len(args) // 2 :]):
            emit(
                "response.function_call_arguments.delta",
                item_id=item["id"],
                output_index=0,
                delta=piece,
            )
        emit(
            "response.function_call_arguments.done",
            item_id=item["id"],
            output_index=0,
            arguments=args,
            name=item["name"],
        )
    else:
        text = item["content"][0]["text"]
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        emit(
            "response.output_item.added",
            output_index=0,
            item={**item, "content": [], "status": "in_progress"},
        )
        emit(
            "response.content_part.added",
            item_id=item["id"],
            output_index=0,
            content_index=0,
            part=part,
        )
        for piece in _pieces(text):
            emit(
                "response.output_text.delta",
                item_id=item["id"],
                output_index=0,
                content_index=0,
                delta=piece,
                logprobs=[],
            )
        emit(
            "response.output_text.done",
            item_id=item["id"],
            output_index=0,
            content_index=0,
            text=text,
            logprobs=[],
        )
        emit(
            "response.content_part.done",
            item_id=item["id"],
            output_index=0,
            content_index=0,
            part={**part, "text": text},
        )
    emit("response.output_item.done", output_index=0, item=item)
    emit("response.completed", response=response)
    return events


# -- /v1/embeddings ----------------------------------------------------------------------------


def embed(text: str, dim: int = EMBEDDING_DIM) -> list[float]:
    """A deterministic unit vector from the text's SHA-256 (same text, same vector)."""
    raw = b""
    counter = 0
    while len(raw) < dim * 4:
        raw += hashlib.sha256(f"{counter}:{text}".encode()).digest()
        counter += 1
    values = [(v / 2**31) - 1.0 for v in struct.unpack(f"<{dim}I", raw[: dim * 4])]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


def _embeddings(body: dict) -> dict:
    inputs = body.get("input")
    if isinstance(inputs, str) or (
        isinstance(inputs, list) and inputs and isinstance(inputs[0], int)
    ):
        inputs = [inputs]
    dim = int(body.get("dimensions") or EMBEDDING_DIM)
    data = []
    tokens = 0
    for i, text in enumerate(inputs or []):
        text = text if isinstance(text, str) else json.dumps(text)
        tokens += _tokens(text)
        vector: Any = embed(text, dim)
        if body.get("encoding_format") == "base64":
            vector = base64.b64encode(struct.pack(f"<{dim}f", *vector)).decode()
        data.append({"object": "embedding", "index": i, "embedding": vector})
    return {
        "object": "list",
        "data": data,
        "model": body.get("model", "stand-in"),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    delay = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    server = JudgeServer(delay=delay, port=port).start()
    print(server.base_url, flush=True)
    threading.Event().wait()
