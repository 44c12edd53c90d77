"""Chatting with an agent from the notebook: the service behind ``%mlflow chat``.

A :class:`Chat` talks to one agent — a ``ResponsesAgent`` or ``ChatAgent`` instance (streamed
through ``predict_stream`` when it has one) or a plain function of the message list (returning
text, or a generator of text chunks) — and sends the whole conversation every turn: ``input``
items for a ResponsesAgent, ``messages`` for a ChatAgent and a function.

Every turn is one MLflow trace: a root span around the agent call whose inputs are the request
sent and whose outputs are what came back, with MLflow's own session and user metadata
(``mlflow.trace.session``, ``mlflow.trace.user``), so MLflow groups the turns as one
conversation. Turns run on a worker thread with a fresh context, so a turn is its own trace
even when it is sent from inside a traced cell, and :meth:`Chat.stop` (from another thread, or
the widget) can end a stream while it runs.

A stream is read the way the Responses API means it: ``response.output_text.delta`` events
build the text as it comes, and each ``response.output_item.done`` item replaces what its
deltas built (the done item is the truth); ``function_call`` and ``function_call_output``
items pair into tool calls by ``call_id``. An ``error`` event or an exception from the agent
ends the turn with that message and the chat stays usable.

No IPython and no display here; views subscribe with :meth:`Chat.subscribe`.
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from mlflow_magics.content import value_text
from mlflow_magics.errors import BadInput

#: The feedback name 👍 / 👎 writes (MLflow's Review App uses the same idea of a user rating).
FEEDBACK_NAME = "user_feedback"
#: Span attributes of a turn's root span.
TURN_ATTRIBUTE = "mlflow_magics.chat.turn"
STATUS_ATTRIBUTE = "mlflow_magics.chat.status"
AGENT_ATTRIBUTE = "mlflow_magics.chat.agent"
#: The root span's status description when the user stopped the stream.
STOPPED = "Stopped by the user; the partial answer is kept."


@dataclass
class ToolCall:
    """One tool call the agent made, with the output it got back (None until it has one)."""

    name: str
    arguments: str
    call_id: str | None = None
    output: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The content model's tool call (``widgets/lib/content.d.ts``)."""
        from mlflow_magics.content import loads, pretty

        out: dict[str, Any] = {"name": self.name, "arguments": pretty(loads(self.arguments))}
        if self.call_id:
            out["id"] = self.call_id
        if self.output is not None:
            out["result"] = pretty(loads(self.output))
        return out


@dataclass
class Turn:
    """One exchange: the user's message and what the agent answered.

    ``text`` is the answer's text (as far as it came, while streaming or when stopped),
    ``tool_calls`` the tools it called with their outputs, ``trace_id`` the turn's trace,
    ``error`` the message when the agent failed, ``status`` one of ``streaming``, ``done``,
    ``stopped``, ``error``, and ``feedback`` what :meth:`Chat.feedback` recorded."""

    index: int
    user: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    reasoning: str = ""
    annotations: list[Any] = field(default_factory=list)
    trace_id: str | None = None
    error: str | None = None
    status: str = "streaming"
    feedback: dict[str, Any] | None = None
    deltas: int = 0
    started: float = field(default_factory=time.time)
    elapsed: float | None = None
    #: The output items as the agent finished them (Responses item shapes): the history.
    items: list[dict[str, Any]] = field(default_factory=list, repr=False)
    # Text parts ({"id", "pieces", "done"}) and tool calls, in the order they came. A delta
    # appends a piece; the text is joined when read (at most ~30 times a second by the panel),
    # so a stream of n deltas costs O(n), not O(n²) in copies.
    _parts: list[Any] = field(default_factory=list, repr=False)
    _version: int = field(default=0, repr=False)
    _joined: tuple[int, str] = field(default=(-1, ""), repr=False)
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def text(self) -> str:
        """The answer's text as far as it came: its message parts, joined."""
        version, text = self._joined
        if version != self._version:
            version = self._version  # read first: a delta arriving meanwhile makes it stale
            texts = ["".join(p["pieces"]) for p in list(self._parts) if isinstance(p, dict)]
            text = "\n\n".join(t for t in texts if t)
            self._joined = (version, text)
        return text

    @property
    def finished(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the turn has finished; False when ``timeout`` ran out first."""
        return self._done.wait(timeout)

    def messages(self) -> list[dict[str, Any]]:
        """The turn as content-model messages: the user's, then the assistant's (text,
        reasoning and tool calls with their outputs)."""
        answer: dict[str, Any] = {"role": "assistant", "text": self.text}
        if self.tool_calls:
            answer["tool_calls"] = [c.to_dict() for c in self.tool_calls]
        if self.reasoning:
            answer["reasoning"] = self.reasoning
        return [{"role": "user", "text": self.user}, answer]

    def __repr__(self) -> str:
        text = self.text if len(self.text) <= 60 else self.text[:59] + "…"
        return f"<Turn {self.index} {self.status} {text!r} trace={self.trace_id}>"

    # -- reading a stream ------------------------------------------------------------------

    def _text_part(self, item_id: str | None) -> dict[str, Any]:
        for part in reversed(self._parts):
            if isinstance(part, dict) and part["id"] == item_id and not part["done"]:
                return part
        part = {"id": item_id, "pieces": [], "done": False}
        self._parts.append(part)
        return part

    def _apply(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "response.output_text.delta":
            self._text_part(event.get("item_id"))["pieces"].append(str(event.get("delta") or ""))
            self.deltas += 1
            self._version += 1
            return
        elif kind == "response.output_item.done" and isinstance(event.get("item"), dict):
            self._item_done(event["item"])
        elif kind == "response.output_text.annotation.added":
            self.annotations.append(event.get("annotation"))
        elif kind == "error":
            raise AgentError(str(event.get("message") or event.get("code") or "error event"))
        self._rebuild()

    def _item_done(self, item: dict[str, Any]) -> None:
        from mlflow_magics.content import text_of

        self.items.append(item)
        kind = item.get("type")
        if kind == "message" or (kind is None and item.get("role") == "assistant"):
            part = next(
                (
                    p
                    for p in self._parts
                    if isinstance(p, dict) and p["id"] == item.get("id") and not p["done"]
                ),
                None,
            )
            if part is None:
                part = {"id": item.get("id"), "pieces": [], "done": False}
                self._parts.append(part)
            part["pieces"], part["done"] = [text_of(item.get("content"))], True
            for ann in _annotations(item):
                if ann not in self.annotations:
                    self.annotations.append(ann)
        elif kind == "function_call":
            self._parts.append(
                ToolCall(
                    str(item.get("name") or "?"),
                    value_text(item.get("arguments")),
                    str(item.get("call_id") or item.get("id") or "") or None,
                )
            )
        elif kind == "function_call_output":
            call_id = str(item.get("call_id") or "")
            call = next(
                (
                    p
                    for p in self._parts
                    if isinstance(p, ToolCall) and p.call_id == call_id and p.output is None
                ),
                None,
            )
            if call is None:
                call = ToolCall("?", "{}", call_id or None)
                self._parts.append(call)
            call.output = value_text(item.get("output"))
        elif kind == "reasoning":
            summary = text_of(item.get("summary") or item.get("content") or [])
            self.reasoning = "\n\n".join(t for t in (self.reasoning, summary) if t)

    def _rebuild(self) -> None:
        self._version += 1
        self.tool_calls = [p for p in self._parts if isinstance(p, ToolCall)]

    def _history_items(self) -> list[dict[str, Any]]:
        """What this turn adds to the conversation sent next: the done items, and text that
        no done item confirmed (a stopped stream, a ChatAgent, a function) as a message."""
        out = list(self.items)
        for part in self._parts:
            text = "".join(part["pieces"]) if isinstance(part, dict) else ""
            if text and not part["done"]:
                out.append(_message_item(text, part["id"]))
        return out


class AgentError(Exception):
    """The agent's stream said it failed (an ``error`` event)."""


def _annotations(item: dict[str, Any]) -> list[Any]:
    content = item.get("content")
    found: list[Any] = []
    for part in content if isinstance(content, list) else []:
        if isinstance(part, dict) and isinstance(part.get("annotations"), list):
            found.extend(part["annotations"])
    return found


def _message_item(text: str, item_id: str | None = None) -> dict[str, Any]:
    return {
        "type": "message",
        "role": "assistant",
        "id": item_id or f"msg_{uuid.uuid4().hex[:16]}",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def _event(value: Any) -> Any:
    """A stream event as a plain dict. A text delta (most of a stream) is read off the event
    without dumping the whole pydantic model."""
    if isinstance(value, dict):
        return value
    if getattr(value, "type", None) == "response.output_text.delta":
        return {
            "type": "response.output_text.delta",
            "item_id": getattr(value, "item_id", None),
            "delta": getattr(value, "delta", None),
        }
    return _dump(value)


def _dump(value: Any) -> Any:
    """A pydantic event or message as a plain dict (None fields left out)."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(exclude_none=True)
    return value


# -- agents ------------------------------------------------------------------------------------


class Agent:
    """What the chat talks to: turns the conversation into a request and the agent's answer
    into Responses-style events (``response.output_text.delta`` / ``.output_item.done`` /
    ``error``)."""

    kind = "function"

    def __init__(self, target: Any, name: str, *, pyfunc: bool = False) -> None:
        self.target = target
        self.name = name
        #: A loaded pyfunc model: its predict / predict_stream take the request as a dict.
        self.pyfunc = pyfunc

    @property
    def streams(self) -> bool:
        return callable(getattr(self.target, "predict_stream", None))

    def request(self, turns: list[Turn], custom_inputs: dict[str, Any] | None) -> dict[str, Any]:
        raise NotImplementedError

    def events(self, request: dict[str, Any], stream: bool) -> Iterator[dict[str, Any]]:
        raise NotImplementedError

    def output(self, turn: Turn) -> Any:
        return {"output": turn._history_items()}


class ResponsesAgentAdapter(Agent):
    """A ``mlflow.pyfunc.ResponsesAgent``: ``input`` items in, output items and events out."""

    kind = "responses"

    def request(self, turns, custom_inputs):
        items: list[dict[str, Any]] = []
        for t in turns:
            items.append({"role": "user", "content": t.user})
            items.extend(t._history_items() if t is not turns[-1] else [])
        out: dict[str, Any] = {"input": items}
        if custom_inputs:
            out["custom_inputs"] = custom_inputs
        return out

    def events(self, request, stream):
        from mlflow.types.responses import ResponsesAgentRequest

        req = request if self.pyfunc else ResponsesAgentRequest(**request)
        if stream and self.streams:
            for event in self.target.predict_stream(req):
                yield _event(event)
            return
        response = _dump(self.target.predict(req))
        for item in (response or {}).get("output") or []:
            yield {"type": "response.output_item.done", "item": _dump(item)}


class ChatAgentAdapter(Agent):
    """A ``mlflow.pyfunc.ChatAgent``: ``messages`` in, messages (or chunks of them) out."""

    kind = "chat"

    def request(self, turns, custom_inputs):
        msgs: list[dict[str, Any]] = []
        for t in turns:
            msgs.append({"role": "user", "content": t.user, "id": f"user-{t.index}"})
            if t is not turns[-1]:
                msgs.extend(_chat_messages(t._history_items()))
        out: dict[str, Any] = {"messages": msgs}
        if custom_inputs:
            out["custom_inputs"] = custom_inputs
        return out

    def events(self, request, stream):
        from mlflow.types.agent import ChatAgentMessage

        if self.pyfunc:
            if stream:
                for chunk in self.target.predict_stream(request):
                    yield from _chat_events(_dump(chunk).get("delta") or {}, streamed=True)
                return
            for msg in _dump(self.target.predict(request)).get("messages") or []:
                yield from _chat_events(_dump(msg), streamed=False)
            return
        messages = [ChatAgentMessage(**m) for m in request["messages"]]
        custom = request.get("custom_inputs")
        if stream and self.streams:
            for chunk in self.target.predict_stream(messages, context=None, custom_inputs=custom):
                delta = _dump(getattr(chunk, "delta", None) or (chunk or {}).get("delta"))
                yield from _chat_events(delta or {}, streamed=True)
            return
        response = _dump(self.target.predict(messages, context=None, custom_inputs=custom))
        for msg in (response or {}).get("messages") or []:
            yield from _chat_events(_dump(msg), streamed=False)

    def output(self, turn):
        return {"messages": _chat_messages(turn._history_items())}


def _chat_events(msg: dict[str, Any], streamed: bool) -> Iterator[dict[str, Any]]:
    """One ChatAgent message (a streamed chunk's delta or a whole message) as events."""
    role = msg.get("role")
    msg_id = msg.get("id")
    if role == "tool":
        yield {
            "type": "response.output_item.done",
            "item": {
                "type": "function_call_output",
                "call_id": msg.get("tool_call_id") or "",
                "output": msg.get("content") or "",
            },
        }
        return
    for call in msg.get("tool_calls") or []:
        fn = call.get("function") or {}
        yield {
            "type": "response.output_item.done",
            "item": {
                "type": "function_call",
                "id": call.get("id") or "",
                "call_id": call.get("id") or "",
                "name": fn.get("name") or "?",
                "arguments": fn.get("arguments") or "{}",
            },
        }
    content = msg.get("content")
    if content:
        if streamed:  # chunks of one message share its id: their content adds up
            yield {"type": "response.output_text.delta", "item_id": msg_id, "delta": content}
        else:
            yield {"type": "response.output_item.done", "item": _message_item(content, msg_id)}


def _chat_messages(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Responses-style items as ChatAgent messages (each with the id ChatAgent wants)."""
    from mlflow_magics.content import text_of

    out: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # ChatAgent wants a tool message's name with its call id
    for item in items:
        kind = item.get("type")
        if kind == "function_call":
            names[str(item.get("call_id") or item.get("id") or "")] = str(item.get("name") or "?")
            out.append(
                {
                    "role": "assistant",
                    "content": "",
                    "id": item.get("id") or uuid.uuid4().hex,
                    "tool_calls": [
                        {
                            "id": item.get("call_id") or item.get("id") or uuid.uuid4().hex,
                            "type": "function",
                            "function": {
                                "name": item.get("name"),
                                "arguments": value_text(item.get("arguments")) or "{}",
                            },
                        }
                    ],
                }
            )
        elif kind == "function_call_output":
            out.append(
                {
                    "role": "tool",
                    "content": value_text(item.get("output")),
                    "tool_call_id": item.get("call_id") or "",
                    "name": names.get(str(item.get("call_id") or ""), "tool"),
                    "id": uuid.uuid4().hex,
                }
            )
        elif kind == "message":
            out.append(
                {
                    "role": "assistant",
                    "content": text_of(item.get("content")),
                    "id": item.get("id") or uuid.uuid4().hex,
                }
            )
    return out


class FunctionAdapter(Agent):
    """A plain function of the message list (``[{"role", "content"}, …]``) returning text,
    a generator of text chunks, or any chat-shaped answer the content model reads."""

    kind = "function"

    @property
    def streams(self) -> bool:
        return True  # whatever it returns is read as it comes

    def request(self, turns, custom_inputs):
        msgs: list[dict[str, Any]] = []
        for t in turns:
            msgs.append({"role": "user", "content": t.user})
            if t is not turns[-1] and t.text:
                msgs.append({"role": "assistant", "content": t.text})
        out: dict[str, Any] = {"messages": msgs}
        if custom_inputs:
            out["custom_inputs"] = custom_inputs
        return out

    def events(self, request, stream):
        kwargs = {}
        if request.get("custom_inputs") and _accepts(self.target, "custom_inputs"):
            kwargs["custom_inputs"] = request["custom_inputs"]
        answer = self.target(request["messages"], **kwargs)
        if isinstance(answer, str):
            yield {"type": "response.output_item.done", "item": _message_item(answer)}
            return
        if inspect.isgenerator(answer) or (
            isinstance(answer, Iterator) and not isinstance(answer, (dict, list))
        ):
            item_id = f"msg_{uuid.uuid4().hex[:16]}"
            for chunk in answer:
                chunk = _dump(chunk)
                if isinstance(chunk, dict) and isinstance(chunk.get("type"), str):
                    yield chunk  # a Responses event
                elif chunk is not None:
                    yield {
                        "type": "response.output_text.delta",
                        "item_id": item_id,
                        "delta": str(chunk),
                    }
            return
        yield {"type": "response.output_item.done", "item": _message_item(_reply(answer))}

    def output(self, turn):
        return turn.text


def _reply(answer: Any) -> str:
    """The reply text of a function's answer that is not text (a dict, a response object)."""
    from mlflow_magics.content import jsonable, messages, reply_text

    value = jsonable(_dump(answer))
    text = reply_text(messages(value)) if messages(value) else None
    return text if text is not None else value_text(value)


def _accepts(fn: Callable, name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name or p.kind is p.VAR_KEYWORD for p in params)


def agent_for(target: Any, name: str) -> Agent:
    """The adapter for ``target``: a ResponsesAgent, a ChatAgent or a function; anything else
    is one sentence saying what the chat takes."""
    kinds = {c.__name__ for c in type(target).__mro__}
    if "ResponsesAgent" in kinds:
        return ResponsesAgentAdapter(target, name)
    if "ChatAgent" in kinds:
        return ChatAgentAdapter(target, name)
    if callable(target) and not isinstance(target, type):
        return FunctionAdapter(target, name)
    raise BadInput(
        f"{name} is a {type(target).__name__}; chat takes a ResponsesAgent or ChatAgent "
        "instance, or a function of the message list."
    )


def load_agent(uri: str) -> Agent:
    """A logged model as the chat's agent: ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``,
    loaded with ``mlflow.pyfunc.load_model``. A logged ``ResponsesAgent`` or ``ChatAgent`` is
    talked to through the model's ``predict_stream`` / ``predict`` with the request as a dict
    (as a served model would be); any other model gets ``{"messages": [...]}`` through
    ``predict``. A model that cannot be loaded is one sentence."""
    import mlflow

    try:
        model = mlflow.pyfunc.load_model(uri)
    except Exception as e:  # missing version, alias or artifacts, or a dependency it lacks
        message = getattr(e, "message", None) or str(e) or type(e).__name__
        raise BadInput(f"Could not load {uri}: {message.splitlines()[0]}") from e
    loader = str((model.metadata.flavors.get("python_function") or {}).get("loader_module"))
    if loader.endswith(".responses_agent"):
        return ResponsesAgentAdapter(model, uri, pyfunc=True)
    if loader.endswith(".chat_agent"):
        return ChatAgentAdapter(model, uri, pyfunc=True)

    def predict(messages: list[dict[str, Any]]) -> Any:
        return model.predict({"messages": messages})

    return FunctionAdapter(predict, uri)


# -- the chat ----------------------------------------------------------------------------------


class Chat:
    """A conversation with one agent; every turn one trace in the session ``session_id``.

    ``send(text)`` returns the finished :class:`Turn`; ``start(text)`` returns it at once
    while it streams on a worker thread; ``stop()`` ends the stream that runs; ``turns``,
    ``history`` (the request the next turn builds on) and ``feedback(turn, value, comment)``.
    """

    def __init__(
        self,
        agent: Agent,
        *,
        client=None,
        session_id: str | None = None,
        user: str | None = None,
        stream: bool = True,
        custom_inputs: dict[str, Any] | None = None,
        title: str | None = None,
    ) -> None:
        from mlflow_magics.assessments import user_name

        self.agent = agent
        self._client = client
        self.session_id = session_id or f"chat-{uuid.uuid4().hex[:12]}"
        self.user = user or user_name()
        self.stream = stream
        self.custom_inputs = dict(custom_inputs) if custom_inputs else None
        self.title = title or f"Chat with {agent.name}"
        self.turns: list[Turn] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listeners: list[Callable[[Turn], None]] = []
        self._worker: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"<Chat {self.agent.name} session={self.session_id} turns={len(self.turns)}>"

    # -- subscribing -----------------------------------------------------------------------

    def subscribe(self, listener: Callable[[Turn], None]) -> None:
        """Call ``listener(turn)`` on each change of a turn (on the worker thread), and once
        more when it finished."""
        self._listeners.append(listener)

    def _changed(self, turn: Turn) -> None:
        for listener in list(self._listeners):
            with contextlib.suppress(Exception):  # a view's hiccup never stops the chat
                listener(turn)

    # -- talking ---------------------------------------------------------------------------

    @property
    def streaming(self) -> Turn | None:
        """The turn whose answer is still coming, if any."""
        with self._lock:
            last = self.turns[-1] if self.turns else None
        return last if last is not None and not last.finished else None

    @property
    def history(self) -> dict[str, Any]:
        """The request the next turn would build on: ``{"input": [...]}`` for a
        ResponsesAgent, ``{"messages": [...]}`` for a ChatAgent or a function."""
        with self._lock:
            turns = [t for t in self.turns if t.finished]
        request = self.agent.request([*turns, Turn(len(turns), "")], self.custom_inputs)
        key = "input" if "input" in request else "messages"
        request[key] = request[key][:-1]  # without the empty message standing for "next"
        return request

    def start(self, text: str) -> Turn:
        """Send ``text`` and return its turn at once; the answer streams in on a worker."""
        text = str(text or "")
        if not text.strip():
            raise BadInput("Type a message first; nothing was sent.")
        with self._lock:
            if self.turns and not self.turns[-1].finished:
                raise BadInput(
                    "The agent is still answering; wait for it or stop it (`chat.stop()`)."
                )
            turn = Turn(len(self.turns), text)
            self.turns.append(turn)
            request = self.agent.request(list(self.turns), self.custom_inputs)
            self._stop.clear()
        # A fresh context: the turn is a trace of its own, never a child of a traced cell.
        context = contextvars.Context()
        self._worker = threading.Thread(
            target=context.run,
            args=(self._run, turn, request),
            daemon=True,
            name=f"mlfm-chat-{self.session_id}-{turn.index}",
        )
        self._changed(turn)
        self._worker.start()
        return turn

    def send(self, text: str) -> Turn:
        """Send ``text``, wait for the whole answer and return the finished :class:`Turn`.
        Ctrl-C stops the stream (the turn keeps its partial text) and is raised."""
        turn = self.start(text)
        try:
            while not turn.wait(0.1):
                pass
        except KeyboardInterrupt:
            self.stop()
            turn.wait(10)
            raise
        return turn

    def stop(self) -> bool:
        """End the stream that runs (between two of its events): its turn keeps the text it
        had and its trace ends. False when nothing was streaming."""
        if self.streaming is None:
            return False
        self._stop.set()
        return True

    def _run(self, turn: Turn, request: dict[str, Any]) -> None:
        import mlflow
        from mlflow.entities import SpanStatus, SpanStatusCode
        from mlflow.tracing.constant import TraceMetadataKey

        started = time.monotonic()
        stopped = False
        failure: BaseException | None = None
        try:
            with mlflow.start_span(name="chat", span_type="AGENT") as root:
                turn.trace_id = getattr(root, "trace_id", None) or None
                root.set_inputs(request)
                root.set_attributes({TURN_ATTRIBUTE: turn.index, AGENT_ATTRIBUTE: self.agent.name})
                mlflow.update_current_trace(
                    metadata={
                        TraceMetadataKey.TRACE_SESSION: self.session_id,
                        TraceMetadataKey.TRACE_USER: self.user,
                    }
                )
                events = self.agent.events(request, self.stream)
                try:
                    for event in events:
                        turn._apply(event)
                        self._changed(turn)
                        if self._stop.is_set():
                            stopped = True
                            break
                except Exception as e:
                    failure = e
                finally:
                    close = getattr(events, "close", None)
                    if callable(close):
                        with contextlib.suppress(Exception):
                            close()
                if turn.trace_id:  # a stream closed early leaves its own span open
                    from mlflow_magics.mlflow_internals import open_spans

                    for span in open_spans(turn.trace_id):
                        if span.span_id != root.span_id:
                            span.end(status=SpanStatus(SpanStatusCode.ERROR, STOPPED))
                turn.status = "error" if failure else "stopped" if stopped else "done"
                if failure is not None:
                    turn.error = _sentence(failure)
                    root.record_exception(failure)
                root.set_outputs(self.agent.output(turn))
                root.set_attribute(STATUS_ATTRIBUTE, turn.status)
                if stopped:
                    root.set_status(SpanStatus(SpanStatusCode.ERROR, STOPPED))
        except Exception as e:  # tracing itself failed: the turn still says what happened
            if turn.status == "streaming":
                turn.status = "error"
                turn.error = _sentence(e)
        finally:
            turn.elapsed = time.monotonic() - started
            if turn.status == "streaming":
                turn.status = "error"
                turn.error = turn.error or "The turn ended without an answer."
            turn._done.set()
            self._changed(turn)

    # -- feedback --------------------------------------------------------------------------

    def turn(self, turn: Turn | int) -> Turn:
        """A turn by itself or by its index (negative counts from the end)."""
        if isinstance(turn, Turn):
            return turn
        try:
            return self.turns[int(turn)]
        except (IndexError, ValueError, TypeError):
            raise BadInput(
                f"No turn {turn!r}: this chat has {len(self.turns)} turn"
                f"{'s' if len(self.turns) != 1 else ''} (0 is the first)."
            ) from None

    def feedback(self, turn: Turn | int, value: bool, comment: str | None = None) -> Turn:
        """Record 👍 (True) or 👎 (False), with an optional comment, on the turn's trace:
        ``mlflow.log_feedback`` named ``user_feedback``, source HUMAN (the chat's user)."""
        from mlflow_magics.assessments import add_assessment

        turn = self.turn(turn)
        if not isinstance(value, bool):
            raise BadInput("Feedback is True (👍) or False (👎).")
        if not turn.finished:
            raise BadInput("Wait for the answer to finish before rating it.")
        if not turn.trace_id:
            raise BadInput(f"Turn {turn.index} has no trace to record feedback on.")
        comment = (comment or "").strip() or None
        add_assessment(
            self._client,
            turn.trace_id,
            "feedback",
            FEEDBACK_NAME,
            value,
            rationale=comment,
            source_id=self.user,
        )
        turn.feedback = {"value": value, "comment": comment}
        self._changed(turn)
        return turn


def _sentence(error: BaseException) -> str:
    message = str(error).strip() or type(error).__name__
    if isinstance(error, AgentError):
        return message
    return f"{type(error).__name__}: {message}"


def parse_custom_inputs(text: str | None) -> dict[str, Any] | None:
    """``--custom-inputs``: a JSON object, or one sentence saying what is wrong."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as e:
        raise BadInput(
            f"--custom-inputs is not JSON ({e.args[0]}); give an object: '{{\"k\": 1}}'."
        ) from None
    if not isinstance(value, dict):
        raise BadInput(f"--custom-inputs must be a JSON object, not {type(value).__name__}.")
    return value
