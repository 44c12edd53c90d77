"""Running scorers over data with ``mlflow.genai.evaluate``, reporting each record as it finishes.

The evaluation itself is MLflow's, unchanged: its thread pools, retries, judges, assessments on
the traces, metrics on the run and its ``EvaluationResult``. What this module adds:

- reading scorer expressions (one per cell line, or a comma list) in the user's namespace, with
  MLflow's built-in scorers importable by name, and one sentence for a line that does not work;
- ``--judge``: the judge model for the built-in judges that were not given one;
- a judge preflight: an LLM judge whose server cannot be reached is one sentence (which model,
  which base URL) before anything runs, not a minute of retries per record;
- a per-record callback (:class:`RecordScored`) while MLflow runs, for the live grid. MLflow has
  no public hook for this, so :func:`run_evaluation` wraps its per-record scoring function
  (``harness._compute_eval_scores``, present from 3.5 to today) for the duration of the call.
  Without it the evaluation still runs; the grid then fills in at the end.

No IPython and no display here: the magic and :mod:`mlflow_magics.views.eval_view` do that.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import os
import socket
import threading
import time
import urllib.parse
from collections import ChainMap
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from mlflow_magics.connection import store_lost
from mlflow_magics.errors import BadInput
from mlflow_magics.verdicts import Verdict, read_feedback


@dataclass(frozen=True)
class ScorerSource:
    """One scorer expression and where it came from (``line 3`` of the cell, ``item 2``)."""

    where: str
    text: str


@dataclass(frozen=True)
class RecordScored:
    """One record whose scorers all finished: what the live grid shows in its row."""

    trace_id: str | None
    inputs: Any
    outputs: Any
    expectations: Any
    verdicts: dict[str, Verdict]
    error: str | None = None


@dataclass
class EvalOutcome:
    """What :func:`run_evaluation` ends with: MLflow's result, or how far an interrupted run got."""

    run_id: str | None
    result: Any = None
    interrupted: bool = False
    records: list[RecordScored] = field(default_factory=list)
    #: Why the store stopped answering, when that is what ended the evaluation.
    store_lost: str | None = None
    #: What became of the run then: "marked FAILED", or that it will be once the store answers.
    run_note: str | None = None


# -- scorers --------------------------------------------------------------------------------


def builtin_scorers() -> dict[str, Any]:
    """MLflow's built-in scorer classes and the ``scorer`` decorator, by name."""
    import mlflow.genai.scorers as scorers_module
    from mlflow.genai.scorers import Scorer

    names: dict[str, Any] = {"scorer": scorers_module.scorer}
    for name in dir(scorers_module):
        value = getattr(scorers_module, name)
        if isinstance(value, type) and issubclass(value, Scorer) and value is not Scorer:
            names[name] = value
    return names


def cell_scorers(body: str) -> list[ScorerSource]:
    """The scorer expressions of a cell body: one per non-blank, non-comment line."""
    sources = []
    for number, line in enumerate(body.splitlines(), start=1):
        text = line.strip()
        if text and not text.startswith("#"):
            sources.append(ScorerSource(f"line {number}", text))
    return sources


def listed_scorers(text: str) -> list[ScorerSource]:
    """The scorer expressions of ``--scorers "Safety(), my_scorer"`` (a comma list)."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError) as e:  # ValueError: a NUL byte, before Python 3.12
        raise BadInput(
            f"--scorers {_code(repr(text), 120)} is not a comma-separated list of Python "
            f"expressions ({getattr(e, 'msg', None) or _reason(e)})."
        ) from e
    items = tree.body.elts if isinstance(tree.body, ast.Tuple) else [tree.body]
    return [
        ScorerSource(f"item {i}", ast.get_source_segment(text.strip(), node) or "")
        for i, node in enumerate(items, start=1)
    ]


def build_scorers(
    sources: list[ScorerSource], namespace: Mapping[str, Any], judge: str | None = None
) -> list[Any]:
    """Evaluate each expression in ``namespace`` (the user's names win over MLflow's built-ins).

    A built-in class given bare (``Safety``) is instantiated; a plain function becomes a code
    scorer, as ``@scorer`` would make it. ``judge`` becomes the model of every LLM judge that
    was not given one.
    """
    from mlflow.genai.scorers import Scorer, scorer

    if not sources:
        raise BadInput(
            "No scorers: list one scorer expression per line under `%%mlflow evaluate`, "
            'or pass --scorers "Safety(), my_scorer".'
        )
    builtins = builtin_scorers()
    user_globals = namespace if isinstance(namespace, dict) else dict(namespace)
    scope = ChainMap(user_globals, builtins)
    made = []
    for source in sources:
        try:
            code = compile(source.text, f"<{source.where}>", "eval")
        except (SyntaxError, ValueError) as e:  # ValueError: a NUL byte, before Python 3.12
            raise BadInput(
                f"Scorer {source.where} `{_code(source.text)}` is not a Python expression "
                f"({getattr(e, 'msg', None) or _reason(e)})."
            ) from e
        try:
            value = eval(code, user_globals, scope)  # the user's own cell, like IPython runs it
        except NameError as e:
            raise BadInput(_unknown_name(source, e, scope)) from e
        except Exception as e:
            raise BadInput(
                f"Scorer {source.where} `{_code(source.text)}` raised {type(e).__name__}: {_reason(e)}"
            ) from e
        if isinstance(value, type) and issubclass(value, Scorer):
            try:
                value = value()
            except Exception as e:
                missing = _missing_fields(e)
                if missing:
                    example = ", ".join(f"{f}=…" for f in missing)
                    raise BadInput(
                        f"Scorer {source.where}: `{_code(source.text)}` needs "
                        f"{' and '.join(missing)}; write it as `{_code(source.text)}({example})`."
                    ) from e
                raise BadInput(
                    f"Scorer {source.where}: `{_code(source.text)}()` raised {type(e).__name__}: "
                    f"{_reason(e)}"
                ) from e
        if not isinstance(value, Scorer):
            if callable(value) and not isinstance(value, type):
                value = scorer(value)
            else:
                raise BadInput(
                    f"Scorer {source.where} `{_code(source.text)}` is a {type(value).__name__}, not a "
                    "scorer (a built-in like Safety(), an @scorer function, or a function)."
                )
        made.append(value)
    names = [s.name for s in made]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise BadInput(
            f"Two scorers are named {duplicates[0]!r}; give one a name= so their columns differ."
        )
    if judge:
        for s in made:
            if _is_llm_judge(s) and not s.model:
                s.model = judge
    return made


def _missing_fields(error: Exception) -> list[str]:
    """The required arguments a pydantic ValidationError (a scorer's constructor) names."""
    errors = getattr(error, "errors", None)
    if not callable(errors):
        return []
    try:
        items = errors()
    except Exception:
        return []
    return [
        ".".join(str(part) for part in item.get("loc", ()))
        for item in items
        if item.get("type") == "missing" and item.get("loc")
    ]


def _reason(error: Exception, cap: int = 300) -> str:
    """An exception's message on one line: a pydantic ValidationError as its field errors
    (``guidelines: Field required``), anything else as its first line."""
    errors = getattr(error, "errors", None)
    text = ""
    if callable(errors):
        try:
            text = "; ".join(
                f"{'.'.join(str(p) for p in item.get('loc', ())) or 'value'}: {item.get('msg')}"
                for item in errors()
            )
        except Exception:
            text = ""
    if not text:
        lines = str(error).strip().splitlines()
        text = lines[0] if lines else type(error).__name__
    return _code(text, cap)


def _code(text: str, cap: int = 200) -> str:
    """User text inside a message: control characters escaped, one line, bounded."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= cap else text[: cap - 1] + "…"


def _unknown_name(source: ScorerSource, error: NameError, scope: Mapping[str, Any]) -> str:
    name = error.name or str(error)
    known = [k for k in scope if not k.startswith("_")]
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"; did you mean `{close[0]}`?" if close else "; define it in a cell above first."
    return f"Scorer {source.where}: unknown name `{name}` in `{_code(source.text)}`{hint}"


def _is_llm_judge(scorer: Any) -> bool:
    from mlflow.genai.judges.base import Judge

    return isinstance(scorer, Judge) and "model" in type(scorer).model_fields


# -- judges ---------------------------------------------------------------------------------

_reachable: dict[str, float] = {}
_REACHABLE_FOR = 60.0


def judge_models(scorers: list[Any]) -> list[str]:
    """The model URI each LLM judge will call (MLflow's default where none was given)."""
    models: list[str] = []
    for s in scorers:
        if _is_llm_judge(s):
            model = s.model or _default_judge_model()
            if model and model not in models:
                models.append(model)
    return models


def _default_judge_model() -> str | None:
    try:
        from mlflow.genai.judges.utils import get_default_model
    except ImportError:  # pragma: no cover - older layouts
        return None
    return get_default_model()


def check_judges(scorers: list[Any], timeout: float = 3.0) -> None:
    """Refuse, in one sentence, a judge that cannot answer: no key, or its server unreachable.

    Only OpenAI-protocol judges (``openai:/…``, which honour ``OPENAI_BASE_URL``) are probed;
    other providers are left to MLflow.
    """
    for model in judge_models(scorers):
        provider, _, _name = model.partition(":/")
        if provider != "openai":
            continue
        base = (
            os.environ.get("OPENAI_API_BASE")
            or os.environ.get("OPENAI_BASE_URL")
            or "https://api.openai.com/v1"
        )
        if not _openai_client_available():
            raise BadInput(
                f"The judge {model} needs the `openai` package with this MLflow version; "
                "`pip install openai` in the kernel's environment, then run the cell again."
            )
        if not os.environ.get("OPENAI_API_KEY"):
            raise BadInput(
                f"The judge {model} needs OPENAI_API_KEY (and OPENAI_BASE_URL for an "
                "OpenAI-compatible server); set it, or pass --judge MODEL_URI."
            )
        problem = _unreachable(base, timeout)
        if problem:
            raise BadInput(
                f"The judge {model} at {base} is unreachable ({problem}); start it, point "
                "OPENAI_BASE_URL at a server that answers, or pass --judge MODEL_URI."
            )


def _openai_client_available() -> bool:
    """MLflow from 3.7 calls OpenAI-protocol judges with its own HTTP client; older MLflow
    needs the ``openai`` (or ``litellm``) package."""
    import importlib.util

    if importlib.util.find_spec("mlflow.genai.judges.adapters") is not None:
        return True
    return any(importlib.util.find_spec(m) is not None for m in ("openai", "litellm"))


def _unreachable(base_url: str, timeout: float) -> str | None:
    """Why nothing accepts a connection at ``base_url``'s host and port, else None."""
    if time.monotonic() - _reachable.get(base_url, -_REACHABLE_FOR) < _REACHABLE_FOR:
        return None
    parts = urllib.parse.urlsplit(base_url)
    if not parts.hostname:
        return "not an http(s) URL"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            pass
    except TimeoutError:
        return f"no answer in {timeout:g} s"
    except OSError as e:
        return e.strerror or type(e).__name__
    _reachable[base_url] = time.monotonic()
    return None


# -- data -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvalData:
    """What ``--data`` named, ready for ``mlflow.genai.evaluate``: the data and its size."""

    data: Any
    total: int | None
    label: str
    dataset_name: str | None = None


def predict_function(name: str | None, namespace: Mapping[str, Any]) -> Callable[..., Any] | None:
    """``--predict``: what answers each record (None without the flag). One of

    - a function of the notebook, or a dotted path to one (``agent.predict``);
    - a ``ResponsesAgent`` or ``ChatAgent`` instance (called with the record's ``input`` /
      ``messages``), or any object with a ``predict`` method;
    - a ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION`` URI, loaded with
      ``mlflow.pyfunc.load_model``.
    """
    if name is None:
        return None
    if name.startswith("models:/"):
        return _model_predict(name)
    head, *rest = name.split(".")
    if not head.isidentifier() or not all(part.isidentifier() for part in rest):
        raise BadInput(
            f"--predict {name}: name a function of this notebook (`agent`, `agent.predict`) "
            "or a model URI (`models:/NAME@ALIAS`)."
        )
    if head not in namespace:
        what = "function" if not rest else repr(head)
        raise BadInput(f"--predict {name}: no {what} of that name in this notebook.")
    return _as_predict(name, follow_attributes(namespace[head], head, rest, f"--predict {name}"))


def follow_attributes(value: Any, head: str, rest: list[str], said: str) -> Any:
    """``head.a.b``: the attributes ``rest`` of ``value`` in turn; a missing one is one
    sentence starting with ``said`` (what the user wrote)."""
    for i, part in enumerate(rest):
        try:
            value = getattr(value, part)
        except AttributeError:
            path = ".".join([head, *rest[:i]])
            raise BadInput(
                f"{said}: {path} ({type(value).__name__}) has no attribute {part!r}."
            ) from None
    return value


def _as_predict(name: str, value: Any) -> Callable[..., Any]:
    """A predict function for ``mlflow.genai.evaluate`` from an agent instance or callable."""
    kind = {c.__name__ for c in type(value).__mro__}
    if "ResponsesAgent" in kind:

        def predict_responses(input: Any = None, **kwargs: Any) -> Any:
            from mlflow.types.responses import ResponsesAgentRequest

            if isinstance(input, str):
                input = [{"role": "user", "content": input}]
            return value.predict(ResponsesAgentRequest(input=input, **kwargs))

        return predict_responses
    if "ChatAgent" in kind:

        def predict_chat(messages: Any = None, **kwargs: Any) -> Any:
            from mlflow.types.agent import ChatAgentMessage

            if isinstance(messages, str):
                messages = [{"role": "user", "content": messages}]
            msgs = [
                m if isinstance(m, ChatAgentMessage) else ChatAgentMessage(**m) for m in messages
            ]
            return value.predict(
                msgs, **{k: v for k, v in kwargs.items() if k in ("context", "custom_inputs")}
            )

        return predict_chat
    if not callable(value) and callable(getattr(value, "predict", None)):
        return value.predict
    if not callable(value):
        raise BadInput(
            f"--predict {name}: no function of that name in this notebook (it is a "
            f"{type(value).__name__})."
        )
    return value


def _model_predict(uri: str) -> Callable[..., Any]:
    """A logged model as a predict function: the record's keyword arguments as its input."""
    import mlflow

    try:
        model = mlflow.pyfunc.load_model(uri)
    except Exception as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise BadInput(f"--predict {uri}: MLflow could not load the model: {reason}") from e

    def predict_model(**kwargs: Any) -> Any:
        return model.predict(kwargs)

    return predict_model


def resolve_data(client, ref: str, namespace: Mapping[str, Any]) -> EvalData:
    """``--data REF``: a variable of the notebook if one has that name, else a dataset."""
    from mlflow_magics import datasets

    if ref in namespace:
        return eval_data(client, namespace[ref], ref)
    name = datasets.check_name(ref, client.tracking_uri)
    try:
        dataset = datasets.find_dataset(client, name)
    except BadInput as e:
        reason = str(e)
        raise BadInput(
            f"--data {ref}: no variable of that name in this notebook, and "
            f"{reason[0].lower()}{reason[1:]}"
        ) from e
    return eval_data(client, dataset, name)


def eval_data(client, value: Any, label: str) -> EvalData:
    """Read ``--data``'s value: a DatasetView, EvaluationDataset, DataFrame, list or TraceTable."""
    import pandas as pd

    from mlflow_magics import datasets

    kind = type(value).__name__
    if kind == "DatasetView":
        value = value.dataset
        kind = type(value).__name__
    if kind == "EvaluationDataset" or hasattr(value, "merge_records"):
        return EvalData(value, _dataset_size(value), label, getattr(value, "name", None))
    if kind == "TraceTable":
        ids = datasets.trace_ids_from(value)
        if not ids:
            raise BadInput(f"`{label}` matched no traces; nothing to evaluate.")
        # A frame with a `trace` column, as mlflow.search_traces returns: every MLflow from 3.5
        # reads inputs and outputs from it (a plain list of traces only from 3.6 or so).
        traces = datasets.load_traces(client, ids)
        return EvalData(pd.DataFrame({"trace": traces}), len(traces), label)
    if isinstance(value, pd.DataFrame):
        if value.empty:
            raise BadInput(f"`{label}` is an empty DataFrame; nothing to evaluate.")
        return EvalData(value, len(value), label)
    if isinstance(value, (list, tuple)):
        if not value:
            raise BadInput(f"`{label}` is an empty list; nothing to evaluate.")
        return EvalData(list(value), len(value), label)
    raise BadInput(
        f"`{label}` is a {kind}; --data takes a dataset name, a DatasetView, a DataFrame, "
        "a list of records or a TraceTable."
    )


def _dataset_size(dataset) -> int | None:
    try:
        return len(dataset.to_df())  # MLflow caches the records; evaluate reads them again free
    except Exception:
        return None


# -- running --------------------------------------------------------------------------------


def run_evaluation(
    data: EvalData,
    scorers: list[Any],
    *,
    predict_fn: Callable[..., Any] | None = None,
    run_name: str | None = None,
    max_workers: int | None = None,
    on_record: Callable[[RecordScored], None] | None = None,
    on_run: Callable[[str], None] | None = None,
) -> EvalOutcome:
    """Run ``mlflow.genai.evaluate`` in an MLflow run, calling ``on_record`` per finished record.

    An active run is reused, as MLflow does, unless ``run_name`` asks for a new (nested) one.
    Ctrl-C ends the run as KILLED and returns what finished, with ``interrupted`` set; the
    caller decides whether to re-raise. ``on_record`` runs on MLflow's worker threads: keep it
    cheap and thread-safe; what it raises is dropped, never MLflow's.
    """
    import mlflow

    outcome = EvalOutcome(run_id=None)
    lock = threading.Lock()
    open_ = threading.Event()
    open_.set()

    def record(item: Any, feedbacks: list[Any]) -> None:
        if not open_.is_set():
            return
        row = record_from(item, feedbacks)
        _tag_request(row.trace_id, getattr(item, "inputs", None))
        if not open_.is_set():  # interrupted while the tag was written: the row is not shown
            return
        with lock:
            outcome.records.append(row)
        if on_record is not None:
            with contextlib.suppress(Exception):
                on_record(row)

    started = None
    if run_name is not None or mlflow.active_run() is None:
        started = mlflow.start_run(run_name=run_name, nested=mlflow.active_run() is not None)
    run = mlflow.active_run()
    outcome.run_id = run.info.run_id if run else None
    if on_run is not None and outcome.run_id:
        on_run(outcome.run_id)
    status = "FINISHED"
    try:
        workers = workers_for(max_workers, mlflow.get_tracking_uri())
        with _watch_records(record), _quiet_evaluate(), _workers(workers):
            outcome.result = mlflow.genai.evaluate(
                data=data.data, scorers=scorers, predict_fn=predict_fn
            )
    except KeyboardInterrupt:
        status = "KILLED"
        outcome.interrupted = True
    except BaseException:
        status = "FAILED"
        raise
    finally:
        open_.clear()
        outcome.store_lost = store_lost()
        if started is not None:
            if outcome.store_lost:
                outcome.run_note = _fail_run_later(started.info.run_id)
            else:
                mlflow.end_run(status)
    return outcome


def _fail_run_later(run_id: str) -> str:
    """The store stopped answering mid-evaluation: the run leaves this kernel's stack now and
    is marked FAILED in the store as soon as the store answers again (tried for ten minutes)."""
    from mlflow_magics.mlflow_internals import leave_active_run

    leave_active_run(run_id)

    def mark() -> None:
        import mlflow

        from mlflow_magics.connection import bounded_requests

        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            try:
                with bounded_requests():
                    mlflow.MlflowClient().set_terminated(run_id, "FAILED")
                return
            except Exception:
                time.sleep(3)

    threading.Thread(target=mark, daemon=True, name="mlflow-fail-run").start()
    return f"run {run_id} will be marked FAILED as soon as the store answers again"


def _tag_request(trace_id: str | None, inputs: Any) -> None:
    """Record the data row an evaluation trace answered, on the trace, so compare pairs runs by
    the row (see compare.REQUEST_TAG); best effort, never the evaluation's failure."""
    if not trace_id or inputs is None:
        return
    from mlflow_magics.compare import REQUEST_TAG, record_key

    with contextlib.suppress(Exception):
        import mlflow

        mlflow.MlflowClient().set_trace_tag(trace_id, REQUEST_TAG, record_key(inputs))


def record_from(item: Any, feedbacks: list[Any]) -> RecordScored:
    """A finished record as the grid shows it, from MLflow's eval item and its feedback."""
    from mlflow.entities import Feedback

    verdicts: dict[str, Verdict] = {}
    for fb in feedbacks:
        if isinstance(fb, Feedback):
            verdicts[fb.name] = read_feedback(fb)
    trace = getattr(item, "trace", None)
    inputs = getattr(item, "inputs", None)
    outputs = getattr(item, "outputs", None)
    if trace is not None and (inputs is None or outputs is None):
        inputs = inputs if inputs is not None else _trace_io(trace, "inputs")
        outputs = outputs if outputs is not None else _trace_io(trace, "outputs")
    return RecordScored(
        trace_id=trace.info.trace_id if trace is not None else None,
        inputs=inputs,
        outputs=outputs,
        expectations=getattr(item, "expectations", None) or None,
        verdicts=verdicts,
        error=getattr(item, "error_message", None),
    )


def _trace_io(trace: Any, which: str) -> Any:
    try:
        root = trace.data._get_root_span()
        return getattr(root, which) if root is not None else None
    except Exception:
        return None


@contextlib.contextmanager
def _watch_records(record: Callable[[Any, list[Any]], None]) -> Iterator[None]:
    """Wrap MLflow's per-record scoring so each finished record is reported."""
    try:
        from mlflow.genai.evaluation import harness
    except ImportError:  # pragma: no cover
        yield
        return
    original = getattr(harness, "_compute_eval_scores", None)
    if original is None:  # pragma: no cover - a future MLflow; the grid fills at the end
        yield
        return

    def compute_eval_scores(*args: Any, **kwargs: Any):
        result = original(*args, **kwargs)
        try:
            item = kwargs.get("eval_item", args[0] if args else None)
            feedbacks = result if isinstance(result, list) else getattr(result, "assessments", [])
            record(item, list(feedbacks))
        except Exception:
            pass
        return result

    harness._compute_eval_scores = compute_eval_scores
    try:
        yield
    finally:
        harness._compute_eval_scores = original


#: MLflow loggers whose INFO lines repeat what the grid shows (its one-sample dry run).
_CHATTY_LOGGERS = ("mlflow.genai.utils.data_validation",)


@contextlib.contextmanager
def _quiet_evaluate() -> Iterator[None]:
    """Hide MLflow's own progress bar and "view the results in the UI" banner: the grid is both."""
    import logging

    levels = [(logging.getLogger(n), logging.getLogger(n).level) for n in _CHATTY_LOGGERS]
    for logger, _ in levels:
        logger.setLevel(logging.WARNING)
    patches = []
    with contextlib.suppress(ImportError):
        from mlflow.genai.evaluation import base, harness

        if hasattr(harness, "tqdm"):
            patches.append((harness, "tqdm", None))
        if hasattr(base, "display_evaluation_output"):
            patches.append((base, "display_evaluation_output", lambda *a, **k: None))
        if hasattr(harness, "complete_eval_futures_with_progress_base"):  # MLflow < 3.7
            patches.append((harness, "complete_eval_futures_with_progress_base", _complete_quietly))
    saved = [(obj, name, getattr(obj, name)) for obj, name, _ in patches]
    for obj, name, value in patches:
        setattr(obj, name, value)
    try:
        yield
    finally:
        for obj, name, value in saved:
            setattr(obj, name, value)
        for logger, level in levels:
            logger.setLevel(level)


def _complete_quietly(futures: list[Any]) -> list[Any]:
    """Older MLflow's futures collector, without its tqdm bar, and stoppable: on Ctrl-C the
    records not started are cancelled, so the pool's exit does not wait for all of them."""
    try:
        return [f.result() for f in futures]
    except KeyboardInterrupt:
        for f in futures:
            f.cancel()
        raise


#: Records evaluated at once on a SQLite store when neither ``--max-workers`` nor MLflow's own
#: variable says: MLflow's default of 10 (two pools of 10 threads writing traces) makes SQLite's
#: single writer thrash. Measured on 70 records with one code scorer: 10 workers 122 s, 8 workers
#: 6.7 s, 6 workers 6.1 s, 1 worker 5.9 s. Six keeps LLM judges concurrent.
SQLITE_WORKERS = 6
_WORKERS_ENV = "MLFLOW_GENAI_EVAL_MAX_WORKERS"


def workers_for(max_workers: int | None, tracking_uri: str) -> int | None:
    """How many records to evaluate at once: the flag, else MLflow's setting, else a SQLite
    limit; None leaves MLflow's default."""
    if max_workers is not None:
        return max_workers
    if os.environ.get(_WORKERS_ENV):
        return None
    if tracking_uri.startswith("sqlite:"):
        return SQLITE_WORKERS
    return None


@contextlib.contextmanager
def _workers(max_workers: int | None) -> Iterator[None]:
    if max_workers is None:
        yield
        return
    key = _WORKERS_ENV
    before = os.environ.get(key)
    os.environ[key] = str(max_workers)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = before
