"""Small GenAI apps on the real libraries, each leaving real MLflow traces in the current experiment.

The frameworks tier needs traces as the libraries and MLflow's own autologging really make
them: the ``openai`` SDK, LangChain, LangGraph, LlamaIndex, MLflow's ``ResponsesAgent`` and
``ChatAgent``, and ``mlflow.demo``. No LLM can be reached here, so every app that needs a model
talks to ``tests/judge_server.py``, an OpenAI-compatible stand-in on 127.0.0.1 (the one
imitation in this tier: its answers are made up deterministically, see its docstring), through
``base_url``. LangChain's ``GenericFakeChatModel`` and LlamaIndex's ``MockLLM`` /
``MockEmbedding`` are the libraries' own offline models.

Nothing here downloads at run time: LlamaIndex gets a whitespace tokenizer so tiktoken is never
asked for an encoding (tiktoken fetches BPE files from the internet on first use of an
encoding it has no cache for), and its NLTK data ships inside ``llama-index-core``.

Each app is ``app(base_url) -> AppRun``: the trace ids it made (in order) and, where useful,
the agent or predict function itself for a test to call again (e.g. under
``mlflow.genai.evaluate``). Autologging is process-global: each app turns on exactly the
integrations it needs with :func:`autolog` and the others off.

:data:`OFFLINE_ENV` belongs in the process environment before anything imports MLflow (its
telemetry is decided at import; ``dump_samples.py`` sets it first thing). Without it MLflow
reaches for the internet on its own: the model catalog behind the cost of every autologged LLM
span is fetched from github.com, usage telemetry goes to config.mlflow-telemetry.io. Here
those attempts fail and MLflow falls back, but only after retries.

Run them in a fresh store and a scratch working directory: an experiment made without an
artifact location (``mlflow.set_experiment``, the demo's "MLflow Demo") puts its artifacts in
``./mlruns``. ``dump_samples.py`` runs them all.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import mlflow
from mlflow.entities import SpanType

# What a process running these apps needs so that nothing tries the network at run time.
OFFLINE_ENV = {
    "MLFLOW_MODEL_CATALOG_URI": "",  # costs from MLflow's bundled model catalog, not github.com
    "MLFLOW_DISABLE_TELEMETRY": "true",  # no usage telemetry
    "DO_NOT_TRACK": "true",
}

MODEL = "gpt-4o-mini"
API_KEY = "stand-in-key"  # the stand-in takes any key
# The plain agent's system prompt, read at call time: put "ANSWER_WRONG" in it and the
# stand-in's answers carry the judge's FAIL_MARKER (a prompt change that makes a regression).
SYSTEM_PROMPT = "You are a helpful assistant. Answer in one sentence."

DOCS = [
    "MLflow Tracing records each step of a GenAI app as spans in a trace.",
    "LangGraph builds agents as graphs of nodes that call models and tools.",
    "LlamaIndex answers questions over documents with a retriever and an LLM.",
    "An evaluation runs judges over the traces of an agent to score its answers.",
]

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city for the next few days.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city"},
                "days": {"type": "integer", "description": "How many days"},
            },
            "required": ["city", "days"],
        },
    },
}


@dataclass
class AppRun:
    """What an app left: its traces' ids, its last output, and the agent to call again."""

    trace_ids: list[str] = field(default_factory=list)
    output: Any = None
    agent: Callable | None = None

    def add(self, output: Any = None, trace_id: str | None = None) -> Any:
        """Record the trace the call just ended (or ``trace_id``), and its output."""
        global _last_seen
        trace_id = trace_id or mlflow.get_last_active_trace_id()
        if trace_id and trace_id != _last_seen and trace_id not in self.trace_ids:
            self.trace_ids.append(trace_id)
        _last_seen = trace_id or _last_seen
        self.output = output
        return output


_last_seen: str | None = None  # a call whose trace never ends leaves the previous one "last"


def _open_trace_ids() -> set[str]:
    """Ids of the traces MLflow still holds in memory, i.e. not ended (MLflow internals)."""
    try:
        from mlflow.tracing.trace_manager import InMemoryTraceManager

        return set(InMemoryTraceManager.get_instance()._traces)
    except Exception:  # an internal API: only the unended-stream app needs it
        return set()


# -- autologging -------------------------------------------------------------------------------

_ENABLED: set[str] = set()


def autolog(*, openai: bool = False, langchain: bool = False, llama_index: bool = False) -> None:
    """Exactly these MLflow autolog integrations on, the ones this module turned on before off.

    LangChain and OpenAI autologging together is a real configuration: a ``ChatOpenAI`` call
    then has a LangChain ``ChatOpenAI`` span *and* an OpenAI ``Completions`` span under it, both
    carrying token usage (the double count a trace summary must not add up twice)."""
    wanted = {"openai": openai, "langchain": langchain, "llama_index": llama_index}
    for name, on in wanted.items():
        if on == (name in _ENABLED):
            continue
        if name == "openai":
            import mlflow.openai

            mlflow.openai.autolog(disable=not on, silent=True)
        elif name == "langchain":
            import mlflow.langchain

            mlflow.langchain.autolog(disable=not on, silent=True)
        else:
            import mlflow.llama_index

            mlflow.llama_index.autolog(disable=not on, silent=True)
        (_ENABLED.add if on else _ENABLED.discard)(name)


def _client(base_url: str):
    import openai

    return openai.OpenAI(base_url=base_url, api_key=API_KEY, max_retries=0, timeout=30)


@mlflow.trace(span_type=SpanType.TOOL)
def get_weather(city: str, days: int = 1) -> str:
    """The one tool of the tool-calling apps (a real Python function, traced as a TOOL span)."""
    return f"sunny in {city} for the next {days} days"


# -- the openai SDK, mlflow.openai.autolog() ---------------------------------------------------


def openai_chat(base_url: str) -> AppRun:
    """One chat completion: one trace, its root the autologged ``Completions`` CHAT_MODEL span."""
    autolog(openai=True)
    run = AppRun()
    response = _client(base_url).chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "What is MLflow Tracing?"},
        ],
        temperature=0.0,
    )
    run.add(response.choices[0].message.content)
    return run


def make_tool_agent(base_url: str) -> Callable[[str], str]:
    """``tool_agent(question) -> answer``: a hand-written tool loop, traced as an AGENT."""
    client = _client(base_url)

    @mlflow.trace(span_type=SpanType.AGENT, name="tool_agent")
    def tool_agent(question: str) -> str:
        messages: list[dict] = [{"role": "user", "content": question}]
        for _ in range(3):
            response = client.chat.completions.create(
                model=MODEL, messages=messages, tools=[WEATHER_TOOL]
            )
            message = response.choices[0].message
            if not message.tool_calls:
                return message.content
            messages.append(message.model_dump(exclude_none=True))
            for call in message.tool_calls:
                result = get_weather(**json.loads(call.function.arguments))
                messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
        raise RuntimeError("the model kept asking for tools")

    return tool_agent


def openai_tool_loop(base_url: str) -> AppRun:
    """A hand-written tool loop: AGENT root > Completions (asks for get_weather) > get_weather
    TOOL > Completions (answers, quoting the tool's result)."""
    autolog(openai=True)
    agent = make_tool_agent(base_url)
    run = AppRun(agent=agent)
    run.add(agent("Paris weather this week?"))
    return run


def openai_stream(base_url: str) -> AppRun:
    """A streamed chat completion with ``include_usage``: the span ends when the stream does."""
    autolog(openai=True)
    run = AppRun()
    stream = _client(base_url).chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Stream a short answer please"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    run.add(text)
    return run


def openai_responses(base_url: str) -> AppRun:
    """The Responses API: ``client.responses.create`` plain, then streamed (two traces)."""
    autolog(openai=True)
    run = AppRun()
    client = _client(base_url)
    response = client.responses.create(
        model=MODEL, instructions="You are terse.", input="What does a span record?"
    )
    run.add(response.output_text)
    events = client.responses.create(model=MODEL, input="Stream the Responses API", stream=True)
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    run.add(text)
    return run


def openai_error(base_url: str) -> AppRun:
    """An HTTP 500 from the model: ``openai.InternalServerError`` (caught here), and a trace
    whose ``Completions`` span has status ERROR and an exception event."""
    import openai

    autolog(openai=True)
    run = AppRun()
    try:
        _client(base_url).chat.completions.create(
            model=MODEL,
            messages=[
                {"role": "system", "content": "RAISE_500"},
                {"role": "user", "content": "This call fails"},
            ],
        )
    except openai.InternalServerError as e:
        run.add(f"{type(e).__name__}: {e}")
    else:
        raise AssertionError("the stand-in did not fail")
    return run


def make_agent(base_url: str) -> Callable[[str], str]:
    """``agent(question) -> answer``: one autologged chat call with the module's SYSTEM_PROMPT
    (read at call time), untraced itself, so an evaluation's trace has the OpenAI span as root."""
    client = _client(base_url)

    def agent(question: str) -> str:
        response = client.chat.completions.create(
            model=MODEL,
            messages=[
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": question},
            ],
        )
        return response.choices[0].message.content

    return agent


def openai_agent(base_url: str) -> AppRun:
    """The plain predict function, called once as is and once with ANSWER_WRONG in its prompt."""
    global SYSTEM_PROMPT
    autolog(openai=True)
    agent = make_agent(base_url)
    run = AppRun(agent=agent)
    run.add(agent("What is an MLflow experiment?"))
    saved = SYSTEM_PROMPT
    SYSTEM_PROMPT = saved + " ANSWER_WRONG"
    try:
        run.add(agent("What is an MLflow experiment?"))
    finally:
        SYSTEM_PROMPT = saved
    return run


def openai_agent_evaluate(base_url: str) -> AppRun:
    """``mlflow.genai.evaluate`` of the plain agent with a Guidelines judge (MLflow's real
    ``openai:/`` judge path, answered by the same stand-in), before and after a prompt change
    that makes the answers fail. One trace per row and run, each rooted at the OpenAI
    ``Completions`` span (autologged, so evaluate does not wrap the agent), with assessments."""
    global SYSTEM_PROMPT
    from mlflow.genai.scorers import Guidelines

    autolog(openai=True)
    agent = make_agent(base_url)
    run = AppRun(agent=agent)
    data = [{"inputs": {"question": q}} for q in ("What is a trace?", "What is a span?")]
    judge = Guidelines(
        name="correct", guidelines="The answer is correct.", model=f"openai:/{MODEL}"
    )
    env = {"OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": API_KEY, "MLFLOW_MODEL_CATALOG_URI": ""}
    saved_env = {k: os.environ.get(k) for k in env}
    saved_prompt = SYSTEM_PROMPT
    os.environ.update(env)
    try:
        results = {}
        for label, prompt in (
            ("baseline", saved_prompt),
            ("changed", saved_prompt + " ANSWER_WRONG"),
        ):
            SYSTEM_PROMPT = prompt
            result = mlflow.genai.evaluate(data=data, predict_fn=agent, scorers=[judge])
            results[label] = {"run_id": result.run_id, "metrics": result.metrics}
    finally:
        SYSTEM_PROMPT = saved_prompt
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    mlflow.flush_trace_async_logging()
    for r in results.values():
        traces = mlflow.search_traces(run_id=r["run_id"], return_type="list")
        run.trace_ids += [t.info.trace_id for t in traces]
    run.output = results
    return run


# -- LangChain, mlflow.langchain.autolog() -----------------------------------------------------


def chat_openai(base_url: str, **kwargs: Any):
    """LangChain's real ``ChatOpenAI``, pointed at the stand-in."""
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=MODEL, base_url=base_url, api_key=API_KEY, max_retries=0, timeout=30, **kwargs
    )


def langchain_chat_openai(base_url: str) -> AppRun:
    """``ChatOpenAI.invoke`` and ``.stream`` (with ``stream_usage``): two one-span traces."""
    autolog(langchain=True)
    run = AppRun()
    model = chat_openai(base_url, stream_usage=True)
    run.add(model.invoke([("system", "You are terse."), ("human", "What is LangChain?")]).content)
    run.add("".join(chunk.content for chunk in model.stream("Stream about LangChain")))
    return run


def langchain_fake(base_url: str) -> AppRun:
    """LangChain's own ``GenericFakeChatModel`` in prompt | model | parser, invoked then
    streamed (it needs no server)."""
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate

    autolog(langchain=True)
    run = AppRun()
    model = GenericFakeChatModel(
        messages=iter(
            [AIMessage(content="A fake answer."), AIMessage(content="A streamed fake answer.")]
        )
    )
    prompt = ChatPromptTemplate.from_messages(
        [("system", "You are terse."), ("human", "{question}")]
    )
    chain = prompt | model | StrOutputParser()
    run.add(chain.invoke({"question": "Say something fake"}))
    run.add("".join(chain.stream({"question": "Stream something fake"})))
    run.agent = chain
    return run


def make_retriever(k: int = 2):
    """A real ``InMemoryVectorStore`` retriever over DOCS, with LangChain's
    ``DeterministicFakeEmbedding`` (hash-seeded vectors, no model)."""
    from langchain_core.embeddings import DeterministicFakeEmbedding
    from langchain_core.vectorstores import InMemoryVectorStore

    store = InMemoryVectorStore(DeterministicFakeEmbedding(size=16))
    ids = [f"doc{i}" for i in range(len(DOCS))]
    store.add_texts(DOCS, metadatas=[{"source": i} for i in ids], ids=ids)
    return store.as_retriever(search_kwargs={"k": k})


def make_rag_chain(model):
    """retriever -> prompt -> model -> StrOutputParser."""
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.runnables import RunnablePassthrough

    def format_docs(docs) -> str:
        return "\n".join(d.page_content for d in docs)

    prompt = ChatPromptTemplate.from_messages(
        [
            ("system", "Answer from this context only:\n{context}"),
            ("human", "{question}"),
        ]
    )
    retriever = make_retriever()
    return (
        {"context": retriever | format_docs, "question": RunnablePassthrough()}
        | prompt
        | model
        | StrOutputParser()
    )


def langchain_rag(base_url: str, *, openai_too: bool = False) -> AppRun:
    """A RAG chain on ``ChatOpenAI``: RunnableSequence root > RunnableParallel > retriever
    (RETRIEVER span, Documents out) ... > ChatPromptTemplate > ChatOpenAI > StrOutputParser."""
    autolog(langchain=True, openai=openai_too)
    run = AppRun()
    chain = make_rag_chain(chat_openai(base_url))
    run.add(chain.invoke("What does MLflow Tracing record?"))
    run.agent = chain
    return run


def langchain_rag_with_openai_autolog(base_url: str) -> AppRun:
    """The same RAG chain with LangChain *and* OpenAI autologging on: the ChatOpenAI span gets
    an OpenAI ``Completions`` child, and both carry the same token usage."""
    return langchain_rag(base_url, openai_too=True)


# -- LangGraph ---------------------------------------------------------------------------------


def make_react_agent(base_url: str):
    """LangGraph's prebuilt ReAct agent (``create_react_agent``; in LangGraph 1.x it is
    deprecated in favour of ``langchain.agents.create_agent``, from the separate ``langchain``
    package) with one tool, model = ChatOpenAI on the stand-in."""
    from langchain_core.tools import tool

    @tool
    def weather(city: str, days: int) -> str:
        """The weather in a city for the next few days."""
        return f"sunny in {city} for the next {days} days"

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from langgraph.prebuilt import create_react_agent

        return create_react_agent(chat_openai(base_url), [weather])


def langgraph_react(base_url: str) -> AppRun:
    """One invoke of the ReAct agent: LangGraph root > agent node > ChatOpenAI (tool call) >
    tools node > weather TOOL > agent node > ChatOpenAI (answer)."""
    autolog(langchain=True)
    run = AppRun()
    graph = make_react_agent(base_url)
    state = graph.invoke({"messages": [("user", "Rome weather for two days?")]})
    run.add(state["messages"][-1].content)
    run.agent = graph
    return run


# -- LlamaIndex, mlflow.llama_index.autolog() --------------------------------------------------


def _whitespace_tokens(text: str) -> list[str]:
    return text.split()


def make_query_engine(*, streaming: bool = False):
    """A ``VectorStoreIndex`` over DOCS with ``MockEmbedding`` and a ``MockLLM`` (it echoes
    its prompt), and a whitespace tokenizer so tiktoken is never used."""
    from llama_index.core import Document, Settings, VectorStoreIndex
    from llama_index.core.embeddings import MockEmbedding
    from llama_index.core.llms import MockLLM
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.core.utils import set_global_tokenizer

    set_global_tokenizer(_whitespace_tokens)
    llm, embed = MockLLM(), MockEmbedding(embed_dim=8)
    Settings.llm, Settings.embed_model = llm, embed  # never the default OpenAI ones
    # MockEmbedding's vectors are all equal: retrieval breaks the ties by node id, so the ids
    # are fixed (random uuids would make the retrieved nodes change from run to run).
    docs = [Document(text=t, id_=f"doc{i}") for i, t in enumerate(DOCS)]
    splitter = SentenceSplitter(id_func=lambda i, doc: f"{doc.id_}-node{i}")
    index = VectorStoreIndex.from_documents(docs, embed_model=embed, transformations=[splitter])
    return index.as_query_engine(llm=llm, similarity_top_k=2, streaming=streaming)


def llama_index_query(base_url: str) -> AppRun:
    """Index build (two traces: SentenceSplitter, MockEmbedding batch) and one query."""
    autolog(llama_index=True)
    run = AppRun()
    engine = make_query_engine()
    run.add()
    run.add(str(engine.query("What does LlamaIndex do?")))
    run.agent = engine
    return run


def llama_index_stream(base_url: str) -> AppRun:
    """A streaming query, its ``response_gen`` consumed fully (the index is built untraced).

    Quirk (MLflow 3.17 + llama-index-core 0.14.25): the query engine's own spans
    (``RetrieverQueryEngine.query`` and the synthesizer's) never end. The stored trace stays
    IN_PROGRESS, without its root, holding only the spans that did end (retriever, text
    splitters, ``MockLLM.stream_complete``), and MLflow keeps the unended spans in memory."""
    autolog()
    streaming = make_query_engine(streaming=True)
    autolog(llama_index=True)
    run = AppRun()
    before = _open_trace_ids()
    response = streaming.query("Stream what LlamaIndex does")
    text = "".join(response.response_gen)
    unended = sorted(_open_trace_ids() - before)
    run.add(text, trace_id=unended[0] if unended else None)
    run.agent = streaming
    return run


# -- MLflow's agent interfaces -----------------------------------------------------------------


def make_responses_agent(base_url: str):
    """A ``mlflow.pyfunc.ResponsesAgent`` with a tool: function_call, function_call_output
    and message output items; ``predict_stream`` streams the answer's text deltas."""
    from mlflow.pyfunc import ResponsesAgent
    from mlflow.types.responses import (
        ResponsesAgentRequest,
        ResponsesAgentResponse,
        ResponsesAgentStreamEvent,
    )

    class WeatherResponsesAgent(ResponsesAgent):
        def __init__(self) -> None:
            self.client = _client(base_url)

        def _tool_items(self, request: ResponsesAgentRequest) -> tuple[list[dict], list[dict]]:
            messages = self.prep_msgs_for_cc_llm([i.model_dump() for i in request.input])
            response = self.client.chat.completions.create(
                model=MODEL, messages=messages, tools=[WEATHER_TOOL]
            )
            items = []
            for call in response.choices[0].message.tool_calls or []:
                items.append(
                    self.create_function_call_item(
                        id=f"fc_{call.id}",
                        call_id=call.id,
                        name=call.function.name,
                        arguments=call.function.arguments,
                    )
                )
                result = get_weather(**json.loads(call.function.arguments))
                items.append(self.create_function_call_output_item(call.id, result))
            return messages + self.prep_msgs_for_cc_llm(items), items

        def predict(self, request: ResponsesAgentRequest) -> ResponsesAgentResponse:
            messages, items = self._tool_items(request)
            response = self.client.chat.completions.create(
                model=MODEL, messages=messages, tools=[WEATHER_TOOL]
            )
            items.append(
                self.create_text_output_item(response.choices[0].message.content, response.id)
            )
            return ResponsesAgentResponse(output=items, custom_outputs=request.custom_inputs)

        def predict_stream(
            self, request: ResponsesAgentRequest
        ) -> Iterator[ResponsesAgentStreamEvent]:
            messages, items = self._tool_items(request)
            for item in items:
                yield ResponsesAgentStreamEvent(type="response.output_item.done", item=item)
            stream = self.client.chat.completions.create(
                model=MODEL,
                messages=messages,
                tools=[WEATHER_TOOL],
                stream=True,
                stream_options={"include_usage": True},
            )
            text, item_id = "", None
            for chunk in stream:
                item_id = item_id or chunk.id
                if chunk.choices and chunk.choices[0].delta.content:
                    text += chunk.choices[0].delta.content
                    yield ResponsesAgentStreamEvent(
                        **self.create_text_delta(chunk.choices[0].delta.content, item_id)
                    )
            yield ResponsesAgentStreamEvent(
                type="response.output_item.done", item=self.create_text_output_item(text, item_id)
            )

    return WeatherResponsesAgent()


def responses_agent(base_url: str) -> AppRun:
    """``predict`` then ``predict_stream`` (consumed): two traces, AGENT roots (MLflow traces
    ResponsesAgent methods itself) over the autologged OpenAI calls and the TOOL span."""
    autolog(openai=True)
    run = AppRun()
    agent = make_responses_agent(base_url)
    request = {"input": [{"role": "user", "content": "Oslo weather for the weekend?"}]}
    run.add(agent.predict(request).output[-1].model_dump()["content"][0]["text"])
    events = list(agent.predict_stream(request))
    run.add("".join(e.delta for e in events if e.type == "response.output_text.delta"))
    run.agent = agent
    return run


def make_chat_agent(base_url: str):
    """A ``mlflow.pyfunc.ChatAgent`` with a tool; ChatAgent does not trace itself, so
    ``predict`` and ``predict_stream`` carry ``@mlflow.trace(span_type="AGENT")``."""
    from mlflow.pyfunc import ChatAgent
    from mlflow.types.agent import ChatAgentChunk, ChatAgentMessage, ChatAgentResponse

    class WeatherChatAgent(ChatAgent):
        def __init__(self) -> None:
            self.client = _client(base_url)

        def _tool_messages(self, messages) -> tuple[list[dict], list[ChatAgentMessage]]:
            history = [{"role": m.role, "content": m.content or ""} for m in messages]
            response = self.client.chat.completions.create(
                model=MODEL, messages=history, tools=[WEATHER_TOOL]
            )
            message = response.choices[0].message
            calls = [c.model_dump() for c in message.tool_calls or []]
            out = [ChatAgentMessage(role="assistant", content="", id=response.id, tool_calls=calls)]
            history.append({"role": "assistant", "content": "", "tool_calls": calls})
            for call in message.tool_calls or []:
                result = get_weather(**json.loads(call.function.arguments))
                out.append(
                    ChatAgentMessage(
                        role="tool",
                        content=result,
                        name=call.function.name,
                        tool_call_id=call.id,
                        id=f"tool_{call.id}",
                    )
                )
                history.append({"role": "tool", "tool_call_id": call.id, "content": result})
            return history, out

        @mlflow.trace(span_type=SpanType.AGENT)
        def predict(self, messages, context=None, custom_inputs=None) -> ChatAgentResponse:
            history, out = self._tool_messages(messages)
            response = self.client.chat.completions.create(
                model=MODEL, messages=history, tools=[WEATHER_TOOL]
            )
            out.append(
                ChatAgentMessage(
                    role="assistant", content=response.choices[0].message.content, id=response.id
                )
            )
            return ChatAgentResponse(messages=out)

        @mlflow.trace(span_type=SpanType.AGENT)
        def predict_stream(
            self, messages, context=None, custom_inputs=None
        ) -> Iterator[ChatAgentChunk]:
            history, out = self._tool_messages(messages)
            for message in out:
                yield ChatAgentChunk(delta=message)
            stream = self.client.chat.completions.create(
                model=MODEL, messages=history, tools=[WEATHER_TOOL], stream=True
            )
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    delta = ChatAgentMessage(
                        role="assistant", content=chunk.choices[0].delta.content, id=chunk.id
                    )
                    yield ChatAgentChunk(delta=delta)

    return WeatherChatAgent()


def chat_agent(base_url: str) -> AppRun:
    """``predict`` then ``predict_stream`` (consumed): two traces with AGENT roots."""
    autolog(openai=True)
    run = AppRun()
    agent = make_chat_agent(base_url)
    request = {"messages": [{"role": "user", "content": "Lima weather tomorrow?"}]}
    run.add(agent.predict(request).messages[-1].content)
    run.add(
        "".join(
            c.delta.content or ""
            for c in agent.predict_stream(request)
            if c.delta.role == "assistant"
        )
    )
    run.agent = agent
    return run


# -- mlflow.demo -------------------------------------------------------------------------------


def mlflow_demo(base_url: str, features: list[str] | None = ("traces",)) -> AppRun:  # type: ignore[assignment]
    """``mlflow.demo.generate_all_demos`` (MLflow >= 3.9): synthetic traces written straight to
    the store, in the "MLflow Demo" experiment. Only the ``traces`` feature by default (about
    4 s; all eight features take about 35 s); ``features=None`` for all."""
    autolog()
    from mlflow.demo import generate_all_demos

    run = AppRun()
    results = generate_all_demos(features=None if features is None else list(features))
    run.output = [(r.feature.value, len(r.entity_ids)) for r in results]
    for r in results:
        if r.feature.value == "traces":
            run.trace_ids = list(r.entity_ids)
    return run


APPS: dict[str, Callable[[str], AppRun]] = {
    "openai_chat": openai_chat,
    "openai_tool_loop": openai_tool_loop,
    "openai_stream": openai_stream,
    "openai_responses": openai_responses,
    "openai_error": openai_error,
    "openai_agent": openai_agent,
    "openai_agent_evaluate": openai_agent_evaluate,
    "langchain_chat_openai": langchain_chat_openai,
    "langchain_fake": langchain_fake,
    "langchain_rag": langchain_rag,
    "langchain_rag_with_openai_autolog": langchain_rag_with_openai_autolog,
    "langgraph_react": langgraph_react,
    "llama_index_query": llama_index_query,
    "llama_index_stream": llama_index_stream,
    "responses_agent": responses_agent,
    "chat_agent": chat_agent,
    "mlflow_demo": mlflow_demo,
}
