"""GenAI content: spans and traces read as chat messages, tool calls, documents, usage and cost.

Real traces come from autologgers and agent interfaces, each with its own payload shape. This
module reads them all into one plain-dict model (the shapes are written down in
``widgets/lib/content.d.ts``; every tier renders them):

- :func:`messages` normalizes a message list or a request/response payload from OpenAI chat
  completions and Responses, LangChain/LangGraph, LlamaIndex, DSPy, Anthropic, Gemini, ChatAgent
  and ResponsesAgent into ``{"role", "text", "tool_calls"?, ...}`` dicts, tool calls paired
  with their results;
- :func:`documents` reads retriever outputs (MLflow's ``Document``, LangChain documents,
  LlamaIndex nodes with scores);
- :func:`span_content` builds one span's ``Content``; :func:`request_of` finds the trace's
  request and response — the inputs and outputs of the app's entry call, which is what datasets
  store and evaluation and compare pair on;
- :func:`assessments_of` reads a trace's feedback and expectations.

Everything here is a pure function over plain values and MLflow entities; no IPython, no display.
Payloads are untrusted: nothing is evaluated, and a shape that is not recognized gives ``None``
(the views then show the raw JSON).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

#: Span attributes MLflow writes for its own bookkeeping (folded away in the details pane).
INTERNAL_PREFIX = "mlflow."
FORMAT_KEY = "mlflow.message.format"
MODEL_KEY = "mlflow.llm.model"
PROVIDER_KEY = "mlflow.llm.provider"
USAGE_KEY = "mlflow.chat.tokenUsage"
COST_KEY = "mlflow.llm.cost"
TOOLS_KEY = "mlflow.chat.tools"
#: Messages kept per side of a span's content; older ones are counted in ``messages_cut``.
MESSAGE_CAP = 200
#: Characters kept per message text / tool argument / document.
TEXT_CAP = 20_000
#: Documents kept per retriever span.
DOCUMENT_CAP = 50
#: Cell-tracing marker on a traced cell's root span (see tracing.py).
CELL_ATTRIBUTE = "mlflow_magics.cell"

_ROLES = {
    "human": "user",
    "user": "user",
    "ai": "assistant",
    "assistant": "assistant",
    "model": "assistant",
    "chatbot": "assistant",
    "system": "system",
    "developer": "developer",
    "tool": "tool",
    "function": "tool",
    "ipython": "tool",
}
_LC_TYPES = {
    "HumanMessage": "user",
    "AIMessage": "assistant",
    "AIMessageChunk": "assistant",
    "SystemMessage": "system",
    "ToolMessage": "tool",
    "FunctionMessage": "tool",
    "ChatMessage": None,
}


# ----------------------------------------------------------------------------- small helpers


def loads(value: Any) -> Any:
    """A JSON string decoded (MLflow stores payloads and attributes as JSON), else as it is."""
    if isinstance(value, (str, bytes)) and value[:1] in ("{", "[", '"', b"{", b"[", b'"'):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _cap(text: str, cap: int = TEXT_CAP) -> str:
    return text if len(text) <= cap else text[: cap - 1] + "…"


def pretty(value: Any) -> str:
    """Tool arguments and results as a user reads them: JSON strings decoded once and
    pretty-printed (never escaped twice), plain text as it is."""
    if isinstance(value, str):
        stripped = value.strip()
        if stripped[:1] in ("{", "["):
            try:
                value = json.loads(stripped)
            except ValueError:
                return _cap(value)
        else:
            return _cap(value)
    try:
        return _cap(json.dumps(value, indent=2, ensure_ascii=False, default=str))
    except (TypeError, ValueError):
        return _cap(repr(value))


def _role(value: Any) -> str:
    role = str(value or "").strip()
    return _ROLES.get(role.lower(), role or "user")


def text_of(content: Any) -> str:
    """The text of a message's content: a string, or a list of parts/blocks of any of the
    libraries' shapes (OpenAI ``text``/``input_text``/``output_text``, Anthropic ``text``,
    LlamaIndex ``blocks``, Gemini ``parts``). Images and files become a short placeholder."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        for key in ("text", "content", "output_text", "value"):
            if isinstance(content.get(key), str):
                return content[key]
        kind = content.get("type") or content.get("block_type")
        if kind in ("image_url", "image", "input_image"):
            return "[image]"
        if kind in ("file", "input_file", "document"):
            return "[file]"
        if kind == "refusal" and isinstance(content.get("refusal"), str):
            return content["refusal"]
        return ""
    if isinstance(content, (list, tuple)):
        parts = [text_of(p) for p in content]
        return "\n".join(p for p in parts if p)
    return str(content)


def _tool_call(call: Any) -> dict[str, Any] | None:
    """One tool call from OpenAI chat (``function``), Responses (``function_call``), LangChain
    (``name``/``args``), Anthropic (``tool_use``) and Gemini (``function_call``) shapes."""
    if not isinstance(call, dict):
        return None
    fn = call.get("function")
    if isinstance(fn, dict):  # OpenAI chat completions
        name, args = fn.get("name"), fn.get("arguments")
    elif isinstance(call.get("function_call"), dict):  # Gemini part
        name, args = call["function_call"].get("name"), call["function_call"].get("args")
    elif "args" in call:  # LangChain
        name, args = call.get("name"), call.get("args")
    elif "input" in call and call.get("type") == "tool_use":  # Anthropic
        name, args = call.get("name"), call.get("input")
    else:  # Responses function_call, ChatAgent
        name, args = call.get("name"), call.get("arguments")
    if not name:
        return None
    out: dict[str, Any] = {"name": str(name), "arguments": pretty(args if args is not None else {})}
    # Responses items carry their own item id ("fc_…") and the pairing id in call_id.
    call_id = call.get("call_id") or call.get("id") or call.get("tool_call_id")
    if call_id:
        out["id"] = str(call_id)
    return out


# ----------------------------------------------------------------------------- messages


def _message(item: Any) -> dict[str, Any] | list[dict[str, Any]] | None:
    """One message dict from any library's message shape, or None."""
    if isinstance(item, str):
        return {"role": "user", "text": item}
    if (
        isinstance(item, (list, tuple))
        and len(item) == 2
        and isinstance(item[0], str)
        and item[0].lower() in _ROLES
    ):  # LangChain's ("user", "text") shorthand
        return {"role": _role(item[0]), "text": _cap(text_of(item[1]))}
    if not isinstance(item, dict):
        return None
    # LangChain's serialized form: {"lc": 1, "type": "constructor", "id": [..., "HumanMessage"],
    # "kwargs": {...}}
    if item.get("lc") and isinstance(item.get("kwargs"), dict):
        cls = (item.get("id") or [""])[-1]
        kwargs = dict(item["kwargs"])
        kwargs.setdefault("role", _LC_TYPES.get(cls) or kwargs.get("role") or "user")
        item = kwargs
    kind = item.get("type")
    # Responses API items
    if kind == "function_call":
        call = _tool_call(item)
        return {"role": "assistant", "text": "", "tool_calls": [call]} if call else None
    if kind == "function_call_output":
        return {
            "role": "tool",
            "text": pretty(item.get("output")),
            "tool_call_id": str(item.get("call_id") or ""),
        }
    if kind == "reasoning":
        summary = item.get("summary") or item.get("content") or []
        return {"role": "assistant", "text": "", "reasoning": text_of(summary)}
    if kind in ("web_search_call", "file_search_call", "computer_call", "mcp_call"):
        return {"role": "assistant", "text": "", "tool_calls": [
            {"name": kind, "arguments": pretty({k: v for k, v in item.items() if k != "type"})}
        ]}  # fmt: skip
    role = item.get("role")
    if role is None and kind in ("human", "ai", "system", "tool", "function", "chat"):
        role = kind  # LangChain message dicts
    if role is None and kind == "message":
        role = "assistant"
    if role is None and "parts" in item:  # Gemini content without a role
        role = "user"
    if role is None:
        return None
    role = _role(role)
    # Content: string, OpenAI/Anthropic parts, LlamaIndex blocks, Gemini parts.
    raw = item.get("content")
    if raw is None and "blocks" in item:
        raw = item["blocks"]
    if raw is None and "parts" in item:
        raw = item["parts"]
    calls: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    if isinstance(raw, list):
        texts = []
        for part in raw:
            if not isinstance(part, dict):
                texts.append(text_of(part))
                continue
            ptype = part.get("type")
            if ptype == "tool_use" or "function_call" in part:
                call = _tool_call(part)
                if call:
                    calls.append(call)
            elif ptype == "tool_result" or "function_response" in part:
                body = part.get("content")
                if "function_response" in part:
                    body = (part["function_response"] or {}).get("response")
                results.append(
                    {
                        "role": "tool",
                        "text": pretty(body if isinstance(body, str) else text_of(body) or body),
                        "tool_call_id": str(part.get("tool_use_id") or ""),
                        **({"error": True} if part.get("is_error") else {}),
                    }
                )
            else:
                texts.append(text_of(part))
        text = "\n".join(t for t in texts if t)
    else:
        text = text_of(raw)
    for call in item.get("tool_calls") or []:
        parsed = _tool_call(call)
        if parsed:
            calls.append(parsed)
    extra = item.get("additional_kwargs")
    if isinstance(extra, dict) and not calls:  # older LangChain / LlamaIndex
        for call in extra.get("tool_calls") or []:
            parsed = _tool_call(call)
            if parsed:
                calls.append(parsed)
    fc = item.get("function_call")
    if isinstance(fc, dict) and fc.get("name"):  # legacy OpenAI functions
        calls.append({"name": str(fc["name"]), "arguments": pretty(fc.get("arguments"))})
    msg: dict[str, Any] = {"role": role, "text": _cap(text)}
    if item.get("name") and isinstance(item["name"], str):
        msg["name"] = item["name"]
    if calls:
        msg["tool_calls"] = calls
    call_id = item.get("tool_call_id")
    if role == "tool" and call_id:
        msg["tool_call_id"] = str(call_id)
    if role == "tool" and item.get("status") == "error":
        msg["error"] = True
    if results:
        return ([msg] if text or calls else []) + results
    return msg


def _message_list(items: Iterable[Any]) -> list[dict[str, Any]] | None:
    out: list[dict[str, Any]] = []
    for item in items:
        msg = _message(item)
        if msg is None:
            return None
        out.extend(msg if isinstance(msg, list) else [msg])
    return out


def _merge_deltas(deltas: list[Any]) -> list[dict[str, Any]] | None:
    """Streamed chunks (``{"delta": message}``) joined into messages: a chunk whose message id
    is the previous one's continues its text."""
    out: list[dict[str, Any]] = []
    last_id = None
    for delta in deltas:
        msg = _message(delta) if isinstance(delta, dict) else None
        if not isinstance(msg, dict):
            continue
        msg_id = delta.get("id")
        if out and msg_id is not None and msg_id == last_id and not msg.get("tool_calls"):
            out[-1]["text"] = _cap(out[-1]["text"] + msg["text"])
        else:
            out.append(msg)
        last_id = msg_id
    return out or None


def pair_tool_results(msgs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Attach each tool message to the tool call it answers (by id, else the next unanswered
    call of the turn) and drop it from the list; unclaimed tool messages stay as they are."""
    open_calls: list[dict[str, Any]] = []
    out: list[dict[str, Any]] = []
    for msg in msgs:
        if msg.get("tool_calls"):
            msg = {**msg, "tool_calls": [dict(c) for c in msg["tool_calls"]]}
            open_calls.extend(msg["tool_calls"])
            out.append(msg)
            continue
        if msg.get("role") == "tool":
            call_id = msg.get("tool_call_id")
            match = next((c for c in open_calls if call_id and c.get("id") == call_id), None)
            if match is None and not call_id:
                match = next((c for c in open_calls if "result" not in c), None)
            if match is not None and "result" not in match:
                match["result"] = pretty(msg.get("text", ""))
                if msg.get("error"):
                    match["error"] = True
                continue
        out.append(msg)
    return out


def messages(value: Any) -> list[dict[str, Any]] | None:
    """The chat messages in ``value`` (a message list or a request/response payload of any of
    the libraries' shapes), tool results paired with their calls; None when ``value`` is not
    chat."""
    value = loads(value)
    found = _find_messages(value)
    if found is None:
        return None
    return pair_tool_results(found)


def _find_messages(value: Any) -> list[dict[str, Any]] | None:
    if isinstance(value, list):
        if not value:
            return None
        if all(isinstance(v, (list, tuple)) for v in value):
            shorthand = _message_list(value)  # [("user", "text"), ...]
            if shorthand is not None:
                return shorthand
            # LangChain chat model inputs: [[messages]]
            return _message_list(value[0]) if value[0] else None
        if all(isinstance(v, dict) for v in value):
            if all("delta" in v for v in value):  # ChatAgent stream chunks
                return _merge_deltas([v["delta"] for v in value])
            return _message_list(value)
        return None
    if not isinstance(value, dict):
        return None
    if len(value) == 1 and isinstance(value.get("request"), dict):  # ResponsesAgent.predict
        return _find_messages(value["request"])
    # requests
    if isinstance(value.get("messages"), list) and value["messages"]:
        msgs = _message_list(value["messages"])
        if msgs is not None:
            system = value.get("system")  # Anthropic
            if system:
                msgs = [{"role": "system", "text": _cap(text_of(system))}, *msgs]
            return msgs
    if "input" in value and (isinstance(value["input"], list) or "instructions" in value):
        items = value["input"]
        msgs = _message_list(items if isinstance(items, list) else [items])
        if msgs is not None:
            if value.get("instructions"):
                msgs = [{"role": "system", "text": _cap(str(value["instructions"]))}, *msgs]
            return msgs
    if isinstance(value.get("contents"), list):  # Gemini request
        return _message_list(value["contents"])
    # responses
    if isinstance(value.get("choices"), list) and value["choices"]:  # OpenAI chat completion
        msgs = []
        for choice in value["choices"]:
            if isinstance(choice, dict):
                msg = _message(choice.get("message") or choice.get("delta") or {})
                if msg is None and "text" in choice:
                    msg = {"role": "assistant", "text": str(choice["text"])}
                if isinstance(msg, dict):
                    msgs.append(msg)
        return msgs or None
    if isinstance(value.get("output"), list):  # Responses / ResponsesAgentResponse
        return _message_list(value["output"])
    if isinstance(value.get("candidates"), list):  # Gemini response
        return _message_list([c.get("content") for c in value["candidates"] if isinstance(c, dict)])
    if isinstance(value.get("generations"), list):  # LangChain LLMResult
        msgs = []
        for gens in value["generations"]:
            for gen in gens if isinstance(gens, list) else [gens]:
                if not isinstance(gen, dict):
                    continue
                msg = _message(gen.get("message")) if gen.get("message") else None
                if not isinstance(msg, dict):
                    msg = {"role": "assistant", "text": _cap(str(gen.get("text", "")))}
                msgs.append(msg)
        return msgs or None
    if isinstance(value.get("message"), dict):  # LlamaIndex ChatResponse, Ollama
        msg = _message(value["message"])
        return [msg] if isinstance(msg, dict) else None
    if value.get("type") == "message" or (
        value.get("role") in ("assistant", "model") and "content" in value
    ):  # Anthropic Message, a single assistant message
        msg = _message(value)
        return (msg if isinstance(msg, list) else [msg]) if msg else None
    return None


def last_user_text(msgs: list[dict[str, Any]] | None) -> str | None:
    """The last user message's text: what a chat request asks."""
    for msg in reversed(msgs or []):
        if msg.get("role") == "user" and msg.get("text"):
            return msg["text"]
    return None


def reply_text(msgs: list[dict[str, Any]] | None) -> str | None:
    """The last assistant text of a response."""
    for msg in reversed(msgs or []):
        if msg.get("role") == "assistant" and msg.get("text"):
            return msg["text"]
    return None


# ----------------------------------------------------------------------------- documents


def _document(item: Any) -> dict[str, Any] | None:
    if not isinstance(item, dict):
        return None
    score = item.get("score")
    node = item.get("node") if isinstance(item.get("node"), dict) else item  # LlamaIndex
    text = node.get("page_content")
    if text is None:
        text = node.get("text")
    if text is None:
        text = node.get("content")
    if not isinstance(text, str):
        return None
    metadata = node.get("metadata") if isinstance(node.get("metadata"), dict) else {}
    doc: dict[str, Any] = {"text": _cap(text)}
    uri = metadata.get("doc_uri") or metadata.get("source") or metadata.get("url")
    uri = uri or metadata.get("file_path") or node.get("doc_uri")
    if uri:
        doc["uri"] = str(uri)[:2000]
    doc_id = node.get("id") or node.get("id_") or metadata.get("chunk_id")
    if doc_id:
        doc["id"] = str(doc_id)[:200]
    if score is None:
        score = metadata.get("score")
    if isinstance(score, (int, float)) and math.isfinite(score):
        doc["score"] = float(score)
    rest = {
        k: v
        for k, v in metadata.items()
        if k not in ("doc_uri", "source", "url", "score", "chunk_id", "file_path")
        and isinstance(v, (str, int, float, bool))
        and len(str(v)) <= 200
    }
    if rest:
        doc["metadata"] = dict(list(rest.items())[:12])
    return doc


def documents(value: Any) -> list[dict[str, Any]] | None:
    """Retrieved documents in a retriever's output, or None when it holds none."""
    value = loads(value)
    if isinstance(value, dict):
        for key in ("documents", "source_nodes", "nodes", "results"):
            if isinstance(value.get(key), list):
                value = value[key]
                break
        else:
            return None
    if not isinstance(value, list) or not value:
        return None
    docs = [_document(v) for v in value[:DOCUMENT_CAP]]
    if any(d is None for d in docs):
        return None
    return docs  # type: ignore[return-value]


def _query(value: Any) -> str | None:
    value = loads(value)
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        keys = ("query", "input", "question", "query_str", "str_or_query_bundle", "prompt", "text")
        for key in keys:
            v = value.get(key)
            if isinstance(v, str):
                return v
            if isinstance(v, dict) and isinstance(v.get("query_str"), str):
                return v["query_str"]
        if len(value) == 1:
            only = next(iter(value.values()))
            if isinstance(only, str):
                return only
    return None


# ----------------------------------------------------------------------------- usage and cost


def usage_of(raw: Any) -> dict[str, int] | None:
    raw = loads(raw)
    if not isinstance(raw, dict):
        return None
    usage = {k: int(v) for k, v in raw.items() if isinstance(v, (int, float)) and v == v}
    return usage or None


def cost_of(raw: Any) -> dict[str, float] | None:
    raw = loads(raw)
    if isinstance(raw, (int, float)):
        raw = {"total_cost": raw}
    if not isinstance(raw, dict):
        return None
    cost = {
        k: float(v)
        for k, v in raw.items()
        if isinstance(v, (int, float)) and math.isfinite(v) and k.endswith("cost")
    }
    return cost or None


def _model_of(attrs: dict[str, Any], inputs: Any, outputs: Any) -> str | None:
    model = loads(attrs.get(MODEL_KEY))
    if isinstance(model, str) and model:
        return model
    for payload in (outputs, inputs):
        if isinstance(payload, dict):
            for key in ("model", "model_name"):
                if isinstance(payload.get(key), str):
                    return payload[key]
    invocation = loads(attrs.get("invocation_params"))  # LangChain
    if isinstance(invocation, dict):
        for key in ("model", "model_name"):
            if isinstance(invocation.get(key), str):
                return invocation[key]
    return None


# ----------------------------------------------------------------------------- span content


def span_content(
    span_type: str | None, inputs: Any, outputs: Any, attributes: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """One span's ``Content`` from its type, decoded inputs/outputs and raw attributes; None
    when nothing in it is GenAI content (the raw JSON is then all there is)."""
    attrs = attributes or {}
    inputs, outputs = loads(inputs), loads(outputs)
    span_type = (span_type or "").upper()
    out: dict[str, Any] = {}
    fmt = loads(attrs.get(FORMAT_KEY))
    if isinstance(fmt, str):
        out["format"] = fmt
    model = _model_of(attrs, inputs, outputs)
    if model:
        out["model"] = model
    provider = loads(attrs.get(PROVIDER_KEY))
    if isinstance(provider, str) and provider:
        out["provider"] = provider
    usage = usage_of(attrs.get(USAGE_KEY))
    if usage:
        out["usage"] = usage
    cost = cost_of(attrs.get(COST_KEY))
    if cost:
        out["cost"] = cost
    tools = loads(attrs.get(TOOLS_KEY))
    if isinstance(tools, list) and tools:
        named = []
        for t in tools:
            fn = t.get("function", t) if isinstance(t, dict) else None
            if isinstance(fn, dict) and fn.get("name"):
                entry = {"name": str(fn["name"])}
                if fn.get("description"):
                    entry["description"] = _cap(str(fn["description"]), 500)
                named.append(entry)
        if named:
            out["tools"] = named

    if span_type == "RETRIEVER":
        docs = documents(outputs)
        if docs is not None:
            out.update(kind="retrieval", documents=docs)
            query = _query(inputs)
            if query:
                out["query"] = _cap(query)
            return out
    if span_type == "TOOL":
        args = inputs
        if isinstance(inputs, dict) and set(inputs) <= {"input", "tool_input", "kwargs", "args"}:
            args = next(iter(inputs.values()), inputs) if len(inputs) == 1 else inputs
        result = outputs
        if isinstance(outputs, dict) and outputs.get("type") == "tool" and "content" in outputs:
            result = outputs["content"]  # a LangChain ToolMessage
        call: dict[str, Any] = {"name": "", "arguments": pretty(args)}
        if result is not None:
            call["result"] = pretty(result)
        out.update(kind="tool", tool_call=call)
        return out
    sent = messages(inputs)
    got = messages(outputs)
    query = _query(inputs) if sent is None and isinstance(inputs, dict) else None
    if got is None and (sent is not None or query is not None):
        reply = _plain_reply(outputs)
        if reply is not None:
            got = [{"role": "assistant", "text": _cap(reply)}]
    if sent is None and got is not None and query is not None:
        sent = [{"role": "user", "text": _cap(query)}]
    if sent is not None or got is not None:
        out["kind"] = "chat"
        if sent is not None:
            if len(sent) > MESSAGE_CAP:
                out["messages_cut"] = len(sent) - MESSAGE_CAP
                sent = sent[-MESSAGE_CAP:]
            out["input_messages"] = sent
        if got is not None:
            out["output_messages"] = _new_messages(sent, got)[-MESSAGE_CAP:]
        return out
    if isinstance(inputs, str) or isinstance(outputs, str):
        out["kind"] = "text"
        if isinstance(inputs, str):
            out["input_text"] = _cap(inputs)
        if isinstance(outputs, str):
            out["output_text"] = _cap(outputs)
        return out
    if len(out) > 0 and any(k in out for k in ("model", "usage", "cost")):
        out["kind"] = "other"
        return out
    return None


def _new_messages(sent: list[dict[str, Any]] | None, got: list[dict[str, Any]]) -> list:
    """The response's messages without the conversation it repeats (LangGraph returns its whole
    state: the request's messages, then the new ones)."""
    if not sent or len(got) <= len(sent):
        return got

    def same(a: dict[str, Any], b: dict[str, Any]) -> bool:
        return a.get("role") == b.get("role") and a.get("text") == b.get("text")

    if all(same(a, b) for a, b in zip(sent, got, strict=False)):
        return got[len(sent) :]
    return got


def _plain_reply(outputs: Any) -> str | None:
    """A reply given as plain text or as a dict holding one (``response``, ``answer``)."""
    if isinstance(outputs, str):
        return outputs
    if isinstance(outputs, list) and outputs and all(isinstance(o, str) for o in outputs):
        return outputs[0]  # DSPy LM outputs
    if isinstance(outputs, dict):
        for key in ("response", "answer", "output", "text", "content", "result"):
            if isinstance(outputs.get(key), str):
                return outputs[key]
    return None


# ----------------------------------------------------------------------------- request / response


def entry_span(spans: list[Any], parents: list[int] | None = None) -> Any:
    """The span of the app's entry call: the root, except that a traced cell's root (which
    records the cell source) yields to the outermost span the cell's code made — the first
    child, when there is exactly one top-level call, and the root itself when the code made no
    span or several, or when the cell's one call was recorded (:func:`cell_request`).
    ``parents`` (row → parent row, -1 for roots, as in ``TraceData``) saves reading every
    span's parent, which decodes a stored span: seconds at 50,000."""
    # With depth-first rows and parent indexes no span is decoded to find its parent.
    if parents is not None:
        root = spans[0] if spans else None
    else:
        root = next((s for s in spans if not s.parent_id), None)
    if root is None or not _is_cell(root) or cell_request(root) is not None:
        return root
    if parents is not None:
        kids = [spans[i] for i, p in enumerate(parents) if p == 0]
    else:
        kids = [s for s in spans if s.parent_id == root.span_id]
    return kids[0] if len(kids) == 1 else root


def cell_request(span: Any) -> dict[str, Any] | None:
    """The recorded keyword arguments of a traced cell's one app call (see
    :func:`call_request`), from its root span; None when the cell was not one such call."""
    try:
        value = loads(span.get_attribute(CALL_ATTRIBUTE))
    except Exception:
        return None
    return value if isinstance(value, dict) else None


def _is_cell(span: Any) -> bool:
    try:
        return bool(span.get_attribute(CELL_ATTRIBUTE))
    except Exception:
        return False


def as_kwargs(inputs: Any) -> dict[str, Any]:
    """A request as a predict function's keyword arguments (MLflow's evaluation requires a
    dict): a dict stays as it is, anything else becomes ``{"request": value}``."""
    if isinstance(inputs, dict):
        return inputs
    return {"request": inputs}


def jsonable(value: Any) -> Any:
    """``value`` as JSON-compatible data: pydantic models through ``model_dump``, dataclasses
    through ``asdict``, containers recursively; None when it can't be (the caller decides)."""
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        try:
            return jsonable(dump(mode="json"))
        except Exception:
            try:
                return jsonable(dump())
            except Exception:
                return None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        try:
            return jsonable(dataclasses.asdict(value))
        except Exception:
            return None
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and not isinstance(value, type):
        try:
            out = to_dict()
        except Exception:
            return None
        if isinstance(out, (dict, list)):
            return jsonable(out)
    return None


def value_text(value: Any) -> str:
    """A value as one string: text as it is, anything else as JSON (``""`` for None)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


def preview(value: Any, cap: int = 300) -> str:
    """One line that tells records apart: a chat request's last user message, a response's
    reply text, a lone string value, else compact JSON."""
    value = loads(value)
    if isinstance(value, str):
        text = value
    else:
        msgs = messages(value)
        text = last_user_text(msgs) or reply_text(msgs) if msgs else None
        if text is None and isinstance(value, dict):
            query = _query(value)
            reply = _plain_reply(value)
            text = query if query is not None else reply
        if text is None:
            return short_value(value, cap)
    return short_value(text, cap)


def record_content(inputs: Any, outputs: Any, text_cap: int = 4000) -> dict[str, Any] | None:
    """An evaluation record's request and response as a chat ``Content`` (for a grid row's
    expanded view), messages cut to ``text_cap`` characters; None when neither side reads as
    chat (the row's previews say it all)."""
    found = span_content(None, jsonable(inputs) or inputs, jsonable(outputs) or outputs)
    if not found or found.get("kind") != "chat":
        return None
    for side in ("input_messages", "output_messages"):
        for msg in found.get(side) or []:
            msg["text"] = _cap(msg.get("text") or "", text_cap)
    return found


# ----------------------------------------------------------------------------- assessments


def _source(assessment: Any) -> tuple[str, str | None]:
    source = getattr(assessment, "source", None)
    kind = getattr(source, "source_type", None)
    kind = getattr(kind, "value", kind) or "UNKNOWN"
    return str(kind), getattr(source, "source_id", None)


def assessment_dict(assessment: Any) -> dict[str, Any]:
    """One MLflow ``Feedback`` / ``Expectation`` as an ``Assessment`` dict."""
    kind = "expectation" if getattr(assessment, "expectation", None) is not None else "feedback"
    value = getattr(assessment, "value", None)
    out: dict[str, Any] = {
        "id": str(getattr(assessment, "assessment_id", "") or ""),
        "name": str(getattr(assessment, "name", "") or ""),
        "kind": kind,
        "value": jsonable(value) if jsonable(value) is not None else value and str(value),
    }
    source_type, source_id = _source(assessment)
    out["source_type"] = source_type
    if source_id:
        out["source_id"] = str(source_id)
    rationale = getattr(assessment, "rationale", None)
    if rationale:
        out["rationale"] = _cap(str(rationale))
    error = getattr(assessment, "error", None)
    if error is not None:
        message = getattr(error, "error_message", None) or getattr(error, "error_code", None)
        out["error"] = _cap(str(message or error), 2000)
    stamp = getattr(assessment, "last_update_time_ms", None) or getattr(
        assessment, "create_time_ms", None
    )
    if stamp:
        out["time_ms"] = int(stamp)
    if getattr(assessment, "span_id", None):
        out["span_id"] = str(assessment.span_id)
    run_id = (getattr(assessment, "metadata", None) or {}).get("mlflow.assessment.sourceRunId")
    if run_id:
        out["run_id"] = str(run_id)
    return out


def assessments_of(info: Any) -> list[dict[str, Any]]:
    """A trace's valid assessments (the ones not overridden), newest last."""
    items = []
    for a in getattr(info, "assessments", None) or []:
        if getattr(a, "valid", True) is False:
            continue
        try:
            items.append(assessment_dict(a))
        except Exception:
            continue
    items.sort(key=lambda a: a.get("time_ms") or 0)
    return items


_PASS = {"yes", "true", "pass", "passed", "correct", "1"}
_FAIL = {"no", "false", "fail", "failed", "incorrect", "0"}


def verdict(value: Any, error: Any = None) -> str | None:
    """``pass`` / ``fail`` for yes/no and boolean values, ``error`` for a failed scorer."""
    if error:
        return "error"
    if isinstance(value, bool):
        return "pass" if value else "fail"
    if isinstance(value, str):
        v = value.strip().lower()
        if v in _PASS:
            return "pass"
        if v in _FAIL:
            return "fail"
    return None


def short_value(value: Any, cap: int = 40) -> str:
    """One line of at most ``cap`` characters: a string as it is, anything else as compact
    JSON, whitespace runs collapsed."""
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = str(value)
    text = " ".join(text.split())
    return text if len(text) <= cap else text[: cap - 1] + "…"


def parse_value(text: str) -> Any:
    """A value typed into a form: JSON when it parses (true, 3, ["a"]), ``yes``/``no`` kept as
    the strings MLflow's judges use, else the text itself."""
    stripped = text.strip()
    if not stripped:
        return stripped
    try:
        return json.loads(stripped)
    except ValueError:
        return stripped


# ----------------------------------------------------------------------------- a cell's call

#: Root-span attribute holding the keyword arguments of the one call a traced cell made.
CALL_ATTRIBUTE = "mlflow_magics.request"


def call_request(source: str, namespace: dict[str, Any]) -> dict[str, Any] | None:
    """The keyword arguments of the app call a cell makes, when the cell is one call of a
    function of the notebook with literal arguments — ``agent("What is MLflow?")`` or
    ``answer = bot.predict(question="…")`` — bound to that function's parameter names; else
    None. Nothing is evaluated: only the names are looked up, the arguments are literals."""
    import ast
    import inspect

    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return None
    if len(tree.body) != 1:
        return None
    stmt = tree.body[0]
    call = stmt.value if isinstance(stmt, (ast.Expr, ast.Assign)) else None
    if not isinstance(call, ast.Call) or any(isinstance(a, ast.Starred) for a in call.args):
        return None
    if any(k.arg is None for k in call.keywords):
        return None
    target: Any = call.func
    path: list[str] = []
    while isinstance(target, ast.Attribute):
        path.insert(0, target.attr)
        target = target.value
    if not isinstance(target, ast.Name) or target.id not in namespace:
        return None
    fn: Any = namespace[target.id]
    try:
        for part in path:
            fn = inspect.getattr_static(fn, part) if isinstance(fn, type) else getattr(fn, part)
        args = [ast.literal_eval(a) for a in call.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
        bound = inspect.signature(fn).bind(*args, **kwargs)
    except Exception:
        return None
    out: dict[str, Any] = {}
    for name, value in bound.arguments.items():
        param = bound.signature.parameters[name]
        if param.kind is param.VAR_KEYWORD:
            out.update(value)
        elif param.kind is param.VAR_POSITIONAL:
            return None
        else:
            out[name] = value
    try:
        json.dumps(out)
    except (TypeError, ValueError):
        return None
    return out
