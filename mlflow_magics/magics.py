"""The ``%mlflow`` / ``%%mlflow`` magic: a router over small subcommand handlers.

Each handler parses its arguments, calls a service with plain values, and returns a result
object whose display is rich. User mistakes become one ``UsageError`` sentence here, at the
boundary, and nowhere else.
"""

from __future__ import annotations

import contextlib
import functools
import re
import shlex
import sys
import weakref
from collections.abc import Callable
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from traitlets import CaselessStrEnum, Float, TraitError, observe, validate

from mlflow_magics import commands
from mlflow_magics.errors import BadInput
from mlflow_magics.tracing import CellTracer, FinishedCell, TraceOptions
from mlflow_magics.views import display as display_mode
from mlflow_magics.views.markup import visible

try:  # IPython >= 8.11: a trailing ";" hides the result
    from IPython.core.magic import output_can_be_silenced
except ImportError:  # pragma: no cover - older IPython 8

    def output_can_be_silenced(fn):
        return fn


_BEGIN = "_trace_begin"
_TRACED_CELL = re.compile(r"^%%mlflow[ \t]+trace(?:[ \t]+(?P<args>.*))?$")
_MLFLOW_COMMAND = re.compile(r"^\s*%{1,2}mlflow\b")
_installed: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _escapes_shown(magic: Callable) -> Callable:
    """A ``UsageError`` sentence often echoes what was typed or what a store holds (an
    experiment name, a tag): its control and bidi characters become visible escapes before
    IPython prints it to a terminal. The error itself (type, cause) is left as it was."""

    @functools.wraps(magic)
    def run(*args, **kwargs):
        try:
            return magic(*args, **kwargs)
        except UsageError as e:
            e.args = tuple(visible(a) if isinstance(a, str) else a for a in e.args)
            raise

    return run


@magics_class
class MlflowMagics(Magics):
    """MLflow's GenAI loop in the notebook: ``%mlflow SUBCOMMAND`` (``%mlflow --help``).

    Subcommands::

      %mlflow [status]                      where MLflow data goes now
      %mlflow connect [URI] [--experiment NAME] [--profile P]
      %mlflow experiment NAME               set (create if missing) the experiment
      %%mlflow trace [--name N] [--span-type T] [--tag k=v ...] [--quiet]
      %mlflow autotrace on|off [same flags as trace]
      %mlflow show [TRACE_ID|last]
      %mlflow diff TRACE_A TRACE_B          compare two traces span by span (or `last`)
      %mlflow traces [FILTER] [--last 20m] [--max N] [--name N] [--status OK|ERROR]
                     [--tag k=v ...] [--order-by EXPR ...] [--experiment NAME] [--page-size N]
      %mlflow dataset create|add NAME (--from FILTER [--last D] [--max N] | --traces VAR)
      %mlflow dataset show NAME             the records; edit expectations in the grid
      %mlflow datasets [--name-like PATTERN]
      %%mlflow evaluate --data NAME|VAR [--predict FN] [--run-name R] [--judge MODEL_URI]
                       [--max-workers N]    one scorer expression per body line; live grid
      %mlflow evaluate --data NAME|VAR --scorers "Safety(), my_scorer" [same flags]
      %mlflow prompts [NAME] [--like PATTERN]   alias board: versions, aliases, diff, move
      %mlflow models [NAME] [--like PATTERN]    the same for registered models
      %mlflow alias prompt|model NAME ALIAS VERSION [--gate [--force]] | --delete | --undo
      %mlflow diff prompt|model NAME V1 V2  compare two versions
      %mlflow compare RUN_A RUN_B [--experiment NAME]   two evaluation runs, per record
      %mlflow chat AGENT [--session ID] [--user U] [--no-stream] [--custom-inputs JSON]
                   [--title T]          chat panel; every turn one trace in the session
      %mlflow sessions [FILTER] [--last D] [--user U] [--max N]   conversations by session id
      %mlflow session ID [--experiment NAME]   one conversation, turn by turn

    Examples
    --------
    ::

      %load_ext mlflow_magics
      %mlflow connect --experiment quickstart

      %%mlflow trace --name answer
      answer = agent("What is MLflow?")   # @mlflow.trace spans nest under the cell's span
      answer

      %mlflow show last
      %mlflow diff tr-0123456789abcdef0123456789abcdef last
      t = %mlflow traces trace.status = 'ERROR' --last 2h --tag env=dev
      t.selected                          # trace ids ticked in the table
      ds = %mlflow dataset create qa-v1 --traces t
      ds.set_expectations(ds.records[0].record_id, expected_facts=["MLflow is open source"])
      %%mlflow evaluate --data qa-v1 --predict agent --judge openai:/gpt-4o-mini
      Safety()
      Guidelines(name="concise", guidelines="The answer is under 100 words.")
      my_code_scorer

      ev = _                              # the EvalView: ev.metrics, ev.to_pandas()
      ev.add_failing_to_dataset("qa-hard")

      board = %mlflow prompts qa           # versions, aliases drawn on them, histories
      %mlflow diff prompt qa 2 3
      %mlflow alias prompt qa production 3 --gate
      %mlflow alias prompt qa production --undo

      cmp = %mlflow compare baseline candidate   # run names, ids, or result variables
      cmp.regressions                     # records that got worse, worst first
      chat = %mlflow chat agent --user alice   # a ResponsesAgent, ChatAgent or function
      turn = chat.send("What is MLflow?")  # the finished turn: .text, .tool_calls, .trace_id
      chat.feedback(turn, False, comment="too long")
      %config MlflowMagics.display = 'html'
    """

    display = CaselessStrEnum(
        display_mode.MODES,
        default_value="auto",
        help="How results render: auto (widget where the frontend runs widgets, else static "
        "HTML), widget, html (no JavaScript), or text.",
    ).tag(config=True)
    health_timeout = Float(
        1.0, help="Seconds to wait for a tracking server's /health before calling it unreachable."
    ).tag(config=True)

    def __init__(self, shell=None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        from mlflow_magics.connection import StoreHealth

        self.health = StoreHealth(self.health_timeout)
        self.tracer = CellTracer(warn=self._warn, problem=self._store_problem)
        self.last_evaluation = None
        self._transformer = _CellTransformer(self._rewrite_traced_cell)
        display_mode.set_mode(self.display)
        self._handlers: dict[str, Callable[[list[str]], Any]] = {
            "status": self._status,
            "connect": self._connect,
            "experiment": self._experiment,
            "autotrace": self._autotrace,
            "show": self._show,
            "diff": self._diff,
            "traces": self._traces,
            "dataset": self._dataset,
            "datasets": self._datasets,
            "evaluate": self._evaluate,
            "prompts": self._prompts,
            "models": self._models,
            "alias": self._alias,
            "compare": self._compare,
            "chat": self._chat,
            "sessions": self._sessions,
            "session": self._session,
            "trace": self._trace_line,
            _BEGIN: self._trace_begin,
        }

    @observe("display")
    def _display_changed(self, change) -> None:
        display_mode.set_mode(change["new"])

    @validate("health_timeout")
    def _check_timeout(self, proposal) -> float:
        value = proposal["value"]
        if not 0 < value < float("inf"):  # also refuses NaN
            raise TraitError(
                "MlflowMagics.health_timeout must be a number of seconds above 0, such as 1 "
                f"or 2.5, not {value!r}; the setting is unchanged."
            )
        return value

    @observe("health_timeout")
    def _timeout_changed(self, change) -> None:
        health = getattr(self, "health", None)  # a config file sets it before __init__ ends
        if health is not None:
            health.timeout = change["new"]

    # -- installation ---------------------------------------------------------------------

    @classmethod
    def install(cls, shell) -> MlflowMagics:
        """Register the magic, the cell tracer's hooks, the transformer and completions."""
        if shell in _installed:
            return _installed[shell]
        magics = cls(shell)
        shell.register_magics(magics)
        shell.events.register("pre_run_cell", magics._pre_run_cell)
        shell.events.register("post_run_cell", magics._post_run_cell)
        shell.input_transformers_cleanup.append(magics._transformer)
        for key in ("%mlflow", "%%mlflow"):
            shell.set_hook("complete_command", magics._complete, str_key=key)
        magics._watch_tracebacks()
        _installed[shell] = magics
        return magics

    def _watch_tracebacks(self) -> None:
        """A raising traced cell ends when its code raised, not after IPython has formatted
        and printed the traceback (seconds, the first time): the shell's traceback printer
        marks the end first."""
        original = self.shell.showtraceback
        tracer = self.tracer

        shell = self.shell

        def showtraceback(*args, **kwargs):
            with contextlib.suppress(Exception):
                tracer.mark_end()
            exc_tuple = args[0] if args else kwargs.get("exc_tuple")
            error = (exc_tuple or sys.exc_info())[1]
            if isinstance(error, BadInput) and not kwargs.get("exception_only"):
                # A result method called from Python (``t.next_page()``) refusing: the same
                # one sentence a magic gives, not a traceback through this package.
                return shell.show_usage_error(error)
            return original(*args, **kwargs)

        showtraceback.__wrapped__ = original  # type: ignore[attr-defined]
        self.shell.showtraceback = showtraceback
        self._traceback_wrapper = showtraceback

    @classmethod
    def uninstall(cls, shell) -> None:
        """Undo :meth:`install`: magics, hooks, transformer, completions, config, open span."""
        magics = _installed.pop(shell, None)
        if magics is None:
            return
        magics.tracer.close()
        if shell.__dict__.get("showtraceback") is getattr(magics, "_traceback_wrapper", None):
            del shell.showtraceback
        for kind in ("line", "cell"):
            shell.magics_manager.magics[kind].pop("mlflow", None)
        shell.magics_manager.registry.pop(cls.__name__, None)
        for event, fn in (
            ("pre_run_cell", magics._pre_run_cell),
            ("post_run_cell", magics._post_run_cell),
        ):
            with contextlib.suppress(ValueError):
                shell.events.unregister(event, fn)
        if magics._transformer in shell.input_transformers_cleanup:
            shell.input_transformers_cleanup.remove(magics._transformer)
        strs = getattr(shell.strdispatchers.get("complete_command"), "strs", {})
        for key in ("%mlflow", "%%mlflow"):
            strs.pop(key, None)
        if magics in shell.configurables:
            shell.configurables.remove(magics)
        display_mode.set_mode("auto")

    # -- the magic ------------------------------------------------------------------------

    @output_can_be_silenced
    @line_cell_magic
    @_escapes_shown
    def mlflow(self, line: str = "", cell: str | None = None):
        """MLflow's GenAI loop in the notebook. Run ``%mlflow --help`` for subcommands."""
        # IPython hands a trailing ";" (hide the result) to the magic with the line; it is not
        # part of a URI or a name.
        line = re.sub(r"\s*;\s*$", "", line)
        argv = self._split(line)
        if not argv:
            argv = ["status"]
        name, rest = argv[0], argv[1:]
        if name in ("-h", "--help", "help"):
            print(commands.usage())
            return None
        if cell is not None:
            if name == "evaluate":
                return self._run_handler(lambda: self._evaluate(rest, cell))
            if name != "trace":
                raise UsageError(
                    f"`%%mlflow {name}` is not a cell command; use `%mlflow {name}` on one line."
                )
            return self._trace_cell(rest, cell)
        handler = self._handlers.get(name)
        if handler is None:
            raise commands.unknown_subcommand(name)
        self._line = line  # `traces` re-reads its FILTER from it: shlex drops the quotes
        return self._run_handler(lambda: handler(rest))

    def _run_handler(self, call: Callable[[], Any]):
        from mlflow_magics.connection import bounded_requests

        try:
            with bounded_requests():
                return call()
        except commands.HelpShown:
            return None
        except BadInput as e:
            raise UsageError(str(e)) from e
        except Exception as e:
            lost = self._lost_store(e)
            if lost is None:
                raise
            raise UsageError(lost) from e

    def _lost_store(self, error: BaseException) -> str | None:
        """One sentence when ``error`` is the store going away mid-command, else None; the
        health state forgets its last good answer either way."""
        import mlflow

        from mlflow_magics.connection import redact, transport_failure

        reason = transport_failure(error)
        if reason is None:
            return None
        uri = mlflow.get_tracking_uri()
        self.health.failed(uri, reason)
        return (
            f"{redact(uri)} stopped answering during the command ({reason}); what it finished "
            "is kept — run the command again once the store answers."
        )

    @staticmethod
    def _split(line: str) -> list[str]:
        try:
            return shlex.split(line, posix=True)
        except ValueError as e:
            raise UsageError(f"Could not read the arguments ({e}); check quotes.") from e

    # -- subcommands ----------------------------------------------------------------------

    def _status(self, argv: list[str]):
        from mlflow_magics.connection import current_status
        from mlflow_magics.views.status_view import StatusView

        commands.parse_status(argv)
        return StatusView(current_status(self.health))

    def _connect(self, argv: list[str]):
        from mlflow_magics.connection import connect
        from mlflow_magics.views.status_view import StatusView

        args = commands.parse_connect(argv)
        status = connect(args.uri, args.experiment, args.profile, health=self.health)
        note = None
        if status.problem:
            note = (
                f"Connected, but {status.problem}. Traced cells will run untraced, with a "
                "warning, until it answers."
            )
            self._warn(f"{status.tracking_uri}: {status.problem}.")
        return StatusView(status, note=note)

    def _experiment(self, argv: list[str]):
        from mlflow_magics.connection import set_experiment
        from mlflow_magics.views.status_view import StatusView

        args = commands.parse_experiment(argv)
        return StatusView(set_experiment(args.name, health=self.health))

    def _autotrace(self, argv: list[str]):
        from mlflow_magics.views.status_view import Notice

        args = commands.parse_autotrace(argv)
        if not args.on:
            was_on = self.tracer.autotrace is not None
            self.tracer.autotrace = None
            return Notice("Autotrace off." if was_on else "Autotrace was already off.")
        self.tracer.autotrace = args.options
        name = args.options.name or "cell"
        return Notice(
            f"Autotrace on: every following cell runs inside a {args.options.span_type} span "
            f"named {name!r}. `%mlflow autotrace off` stops it."
        )

    def _show(self, argv: list[str]):
        from mlflow_magics.views.trace_view import TraceView

        args = commands.parse_show(argv)
        trace, problem = self._read_trace(args.trace_id)
        return TraceView(trace, note=problem)

    def _diff(self, argv: list[str]):
        if argv and argv[0] in ("prompt", "model"):
            return self._version_diff(argv)
        from mlflow_magics.trace_diff import diff
        from mlflow_magics.views.diff_view import DiffView

        args = commands.parse_diff(argv)
        return DiffView(diff(self._find_trace(args.trace_a), self._find_trace(args.trace_b)))

    def _find_trace(self, trace_id: str):
        return self._read_trace(trace_id)[0]

    def _read_trace(self, trace_id: str):
        """``(trace, problem)`` for ``last`` (the newest trace this kernel made, traced cell or
        not), a traced cell still in memory, or a trace read from the store."""
        import mlflow

        from mlflow_magics.traces import check_trace_id, read_trace

        if trace_id == "last":
            trace_id = mlflow.get_last_active_trace_id() or ""
            last = self.tracer.last
            if not trace_id and last is not None:
                trace_id = last.trace_id
            if not trace_id:
                raise BadInput(
                    "No trace yet in this session; trace a cell with `%%mlflow trace` "
                    "or pass a trace id."
                )
        recent = self.tracer.recent.get(check_trace_id(trace_id))
        if recent is not None and recent.trace is not None:
            return recent.trace, None
        problem = self._store_problem(fresh=True)
        if problem:
            raise BadInput(f"Cannot read traces: {problem}.")
        return read_trace(mlflow.MlflowClient(), trace_id)

    def _traces(self, argv: list[str]):
        import mlflow

        from mlflow_magics.views.trace_table import TraceTable

        args = commands.parse_traces(re.sub(r"^\s*traces\b", "", self._line, count=1))
        problem = self._store_problem(fresh=True)
        if problem:
            raise BadInput(f"Cannot search traces: {problem}.")
        return TraceTable(mlflow.MlflowClient(), args.query, page_size=args.page_size)

    def _dataset(self, argv: list[str]):
        import mlflow

        from mlflow_magics import datasets
        from mlflow_magics.views.dataset_view import DatasetView

        args = commands.parse_dataset(re.sub(r"^\s*dataset\b", "", self._line, count=1))
        problem = self._store_problem(fresh=True)
        if problem:
            raise BadInput(f"Cannot reach datasets: {problem}.")
        client = mlflow.MlflowClient()
        with _mlflow_refusal():
            name = datasets.check_name(args.name, client.tracking_uri)
            if args.action == "show":
                return DatasetView(client, datasets.find_dataset(client, name))
            if args.traces is not None:
                traces = datasets.trace_ids_from(self._variable(args.traces))
            else:
                traces = datasets.search_traces(client, args.filter, args.last, args.max_results)
            result = datasets.add_traces(client, name, traces, create=args.action == "create")
            return DatasetView(client, datasets.open_dataset(client, result.dataset_id), result)

    def _datasets(self, argv: list[str]):
        import mlflow

        from mlflow_magics.datasets import list_datasets
        from mlflow_magics.views.dataset_view import DatasetList

        pattern = commands.parse_datasets(argv)
        problem = self._store_problem(fresh=True)
        if problem:
            raise BadInput(f"Cannot list datasets: {problem}.")
        with _mlflow_refusal():
            return DatasetList(list_datasets(mlflow.MlflowClient(), pattern), pattern)

    # -- alias board ----------------------------------------------------------------------

    def _prompts(self, argv: list[str]):
        return self._board(commands.parse_board("prompt", argv))

    def _models(self, argv: list[str]):
        return self._board(commands.parse_board("model", argv))

    def _board(self, args: commands.BoardArgs):
        from mlflow_magics import registry
        from mlflow_magics.views.alias_board import AliasBoard

        client = self._registry_client(f"read {args.kind}s")
        with _mlflow_refusal():
            name = args.name and registry.check_name(args.kind, args.name, client.tracking_uri)
            return AliasBoard(client, args.kind, name or None, args.like)

    def _alias(self, argv: list[str]):
        from mlflow_magics import registry
        from mlflow_magics.views.alias_board import MoveView

        args = commands.parse_alias(argv)
        client = self._registry_client("move aliases")
        with _mlflow_refusal():
            name = registry.check_name(args.kind, args.name, client.tracking_uri)
            if args.delete:
                return MoveView(registry.delete_alias(client, args.kind, name, args.alias))
            if args.undo:
                return MoveView(registry.undo(client, args.kind, name, args.alias))
            result = registry.move_alias(
                client, args.kind, name, args.alias, args.version, gate=args.gate, force=args.force
            )
            return MoveView(result)

    def _version_diff(self, argv: list[str]):
        from mlflow_magics import registry
        from mlflow_magics.views.alias_board import VersionDiffView

        args = commands.parse_version_diff(argv)
        client = self._registry_client(f"read {args.kind}s")
        with _mlflow_refusal():
            name = registry.check_name(args.kind, args.name, client.tracking_uri)
            board = registry.read_board(client, args.kind, name)
            return VersionDiffView(registry.diff_versions(board, args.version_a, args.version_b))

    def _registry_client(self, what: str):
        import mlflow

        problem = self._store_problem(fresh=True)
        if problem:
            raise BadInput(f"Cannot {what}: {problem}.")
        return mlflow.MlflowClient()

    def _compare(self, argv: list[str]):
        import mlflow

        from mlflow_magics import compare
        from mlflow_magics.trace_search import experiment_ids
        from mlflow_magics.views.compare_view import CompareView

        args = commands.parse_compare(argv)
        problem = self._store_problem(fresh=True)
        if problem:
            raise BadInput(f"Cannot read runs: {problem}.")
        client = mlflow.MlflowClient()
        with _mlflow_refusal():
            experiment = experiment_ids(client, args.experiment)[0]
            run_a, run_b = (
                compare.resolve_run(client, self._run_ref(ref), experiment)
                for ref in (args.run_a, args.run_b)
            )
            return CompareView(compare.compare_runs(client, run_a, run_b))

    def _chat(self, argv: list[str]):
        import mlflow

        from mlflow_magics import chat
        from mlflow_magics.views.chat_view import ChatView

        args = commands.parse_chat(argv)
        # a variable is looked up first; a model is loaded once the store is known to answer
        is_model = args.agent.startswith("models:/")
        target = None if is_model else self._chat_agent(args.agent)
        problem = self._store_problem(fresh=True)
        if problem:
            raise BadInput(f"Cannot chat: {problem}, so the turns could not be traced.")
        agent = chat.load_agent(args.agent) if is_model else chat.agent_for(target, args.agent)
        return ChatView(
            chat.Chat(
                agent,
                client=mlflow.MlflowClient(),
                session_id=args.session,
                user=args.user,
                stream=not args.no_stream,
                custom_inputs=chat.parse_custom_inputs(args.custom_inputs),
                title=args.title,
            )
        )

    def _sessions(self, argv: list[str]):
        import mlflow

        from mlflow_magics.sessions import search_sessions
        from mlflow_magics.trace_search import experiment_ids
        from mlflow_magics.views.sessions_view import SessionTable

        args = commands.parse_sessions(re.sub(r"^\s*sessions\b", "", self._line, count=1))
        problem = self._store_problem(fresh=True)
        if problem:
            raise BadInput(f"Cannot read sessions: {problem}.")
        client = mlflow.MlflowClient()
        with _mlflow_refusal():
            exps = experiment_ids(client, args.query.experiment)
            found = search_sessions(
                client, exps, args.query, user=args.user, max_traces=args.max_traces
            )
        where = f"experiment {args.query.experiment}" if args.query.experiment else ""
        return SessionTable(found, where=where)

    def _session(self, argv: list[str]):
        import mlflow

        from mlflow_magics.sessions import read_session
        from mlflow_magics.trace_search import experiment_ids
        from mlflow_magics.views.sessions_view import SessionView

        args = commands.parse_session(argv)
        problem = self._store_problem(fresh=True)
        if problem:
            raise BadInput(f"Cannot read the session: {problem}.")
        client = mlflow.MlflowClient()
        with _mlflow_refusal():
            exps = experiment_ids(client, args.experiment)
            return SessionView(read_session(client, exps, args.session_id))

    def _chat_agent(self, name: str):
        """The agent ``%mlflow chat`` names: a variable of the notebook (``agent``,
        ``agents.weather``)."""
        if name.startswith(("http://", "https://")):
            raise BadInput(
                f"%mlflow chat {name}: chatting with a served agent over HTTP is not "
                "supported yet; pass a variable holding the agent, or a logged model's "
                "`models:/NAME@ALIAS` URI."
            )
        head, *rest = name.split(".")
        if not head.isidentifier() or not all(part.isidentifier() for part in rest):
            raise BadInput(
                f"%mlflow chat {name}: name a variable of this notebook holding the agent "
                "(`chat = %mlflow chat agent`)."
            )
        if head not in self.shell.user_ns:
            raise BadInput(
                f"No variable {head!r} in this notebook; pass a ResponsesAgent or ChatAgent "
                "instance or a function of the message list (`chat = %mlflow chat agent`)."
            )
        from mlflow_magics.scoring import follow_attributes

        return follow_attributes(self.shell.user_ns[head], head, rest, f"%mlflow chat {name}")

    def _run_ref(self, ref: str) -> str:
        """A variable holding an evaluation result (``.run_id``) names its run; else ``ref``."""
        from mlflow_magics.compare import run_id_of

        if ref.isidentifier() and ref in self.shell.user_ns:
            value = self.shell.user_ns[ref]
            return value if isinstance(value, str) else run_id_of(value) or ref
        return ref

    def _variable(self, name: str):
        if name not in self.shell.user_ns:
            raise BadInput(
                f"No variable {name!r} in this notebook; --traces takes a trace table "
                "(`t = %mlflow traces …`), a DataFrame from mlflow.search_traces or a list of ids."
            )
        return self.shell.user_ns[name]

    def _evaluate(self, argv: list[str], cell: str | None = None):
        import mlflow

        from mlflow_magics import scoring
        from mlflow_magics.views.eval_view import EvalView

        args = commands.parse_evaluate(argv, cell=cell is not None)
        sources = (
            scoring.cell_scorers(cell)
            if cell is not None
            else scoring.listed_scorers(args.scorers or "")
        )
        scorers = scoring.build_scorers(sources, self.shell.user_ns, judge=args.judge)
        predict = scoring.predict_function(args.predict, self.shell.user_ns)
        problem = self._store_problem(fresh=True)
        if problem:
            raise BadInput(f"Cannot evaluate: {problem}.")
        client = mlflow.MlflowClient()
        with _mlflow_refusal():
            data = scoring.resolve_data(client, args.data, self.shell.user_ns)
        scoring.check_judges(scorers)
        view = EvalView(
            client, [s.name for s in scorers], data.total, data.label, run_name=args.run_name
        )
        view.workers = scoring.workers_for(args.max_workers, client.tracking_uri)
        self.last_evaluation = view  # also reachable after Ctrl-C, which returns nothing
        view.show_live()
        try:
            with _mlflow_refusal():
                outcome = scoring.run_evaluation(
                    data,
                    scorers,
                    predict_fn=predict,
                    run_name=args.run_name,
                    max_workers=args.max_workers,
                    on_record=view.add,
                    on_run=view.set_run,
                )
        except BaseException as e:
            view.finish(None, failure=f"The evaluation failed: {type(e).__name__}: {e}")
            raise
        if outcome.store_lost:
            done = len(outcome.records)
            sentence = (
                f"The store stopped answering ({outcome.store_lost}), so the evaluation "
                f"stopped: {done} records finished and are shown"
                + (f", {max(0, data.total - done)} of {data.total} were left" if data.total else "")
                + f"; {outcome.run_note or 'no run was started'}."
            )
            view.finish(outcome, failure=sentence)
            raise BadInput(sentence)
        view.finish(outcome)
        if outcome.interrupted:
            # The live grid stays as the record of what finished; Ctrl-C still stops the cell.
            raise KeyboardInterrupt
        view.close_live()
        return view

    def _trace_line(self, argv: list[str]):
        raise UsageError(
            "`trace` is a cell command: put `%%mlflow trace` on the first line of the cell, "
            "or use `%mlflow autotrace on` to trace every cell."
        )

    # -- cell tracing ---------------------------------------------------------------------

    def _rewrite_traced_cell(self, lines: list[str]) -> list[str]:
        """Input transformer for ``%%mlflow trace ARGS``: the magic line becomes a comment,
        so the body runs as an ordinary cell (await, magics, display and the last value all
        native, line numbers unchanged) while pre/post_run_cell open and close the root span.
        Flags that do not parse become a ``%mlflow _trace_begin`` line that raises the
        UsageError before the body runs."""
        if not lines or not lines[0].startswith("%%mlflow"):
            return lines
        match = _TRACED_CELL.match(lines[0].rstrip("\r\n"))
        if match is None:
            return lines
        args = match.group("args") or ""
        if self._trace_options(args) is None:
            if _asks_for_help(args):  # print the help; do not run the body
                return [f"%mlflow {_BEGIN} {args}\n"]
            return [f"%mlflow {_BEGIN} {args}\n", *lines[1:]]
        return [f"# {lines[0].rstrip()}\n", *lines[1:]]

    def _trace_options(self, args: str) -> TraceOptions | None:
        """The flags of a ``%%mlflow trace`` line, or None if they do not parse (or ask for
        help). Quiet: the UsageError or help is produced when the cell runs, not here."""
        return _parse_trace_line(args)

    def _trace_begin(self, argv: list[str]):
        # Reached only when the flags of a %%mlflow trace cell do not parse (or --help).
        commands.parse_trace(argv)
        return None

    def _trace_cell(self, argv: list[str], cell: str):
        """``%%mlflow trace`` reached as a real cell magic (e.g. ``run_cell_magic``): the body
        runs as a nested cell; its post_run_cell closes the span."""
        try:
            options = commands.parse_trace(argv)
        except commands.HelpShown:
            return None
        self.tracer.begin(
            cell, options, execution_count=self._cell_number(), request=self._cell_request(cell)
        )
        self.shell.run_cell(cell, store_history=False)
        if self.tracer.is_open:  # a frontend that does not fire post_run_cell
            self.tracer.finish(None, None, display=self._show_finished)
        return None

    def _pre_run_cell(self, info) -> None:
        self._hide_mlflow_display_first()
        if self.tracer.is_open:
            return
        raw = (getattr(info, "raw_cell", "") or "").lstrip("\r\n")
        first, _, body = raw.partition("\n")
        match = _TRACED_CELL.match(first.rstrip("\r")) if first.startswith("%%mlflow") else None
        if match is not None:
            options = self._trace_options(match.group("args") or "")
            if options is not None:  # else the transformed cell raises the UsageError itself
                self.tracer.begin(
                    body,
                    options,
                    execution_count=self._cell_number(info),
                    request=self._cell_request(body),
                )
            return
        options = self.tracer.autotrace
        if options is None or not raw.strip() or _is_mlflow_command(raw):
            return
        self.tracer.begin(
            raw, options, execution_count=self._cell_number(info), request=self._cell_request(raw)
        )

    def _cell_request(self, source: str) -> dict[str, Any] | None:
        try:
            from mlflow_magics.content import call_request

            return call_request(source, self.shell.user_ns)
        except Exception:  # a reading aid for datasets: never the cell's failure
            return None

    def _cell_number(self, info=None) -> int:
        """The running cell's ``[n]``: IPython counts the cell up before pre_run_cell fires."""
        stored = getattr(info, "store_history", True) if info is not None else True
        return self.shell.execution_count - 1 if stored else self.shell.execution_count

    def _post_run_cell(self, result) -> None:
        if not self.tracer.is_open:
            # Export runs in the background: a trace that failed to save after its own cell
            # ended is reported under the next cell, traced or not.
            self.tracer.report_export_failures()
            return
        value = getattr(result, "result", None)
        error = getattr(result, "error_in_exec", None) or getattr(result, "error_before_exec", None)
        self.tracer.finish(value, error, display=self._show_finished)

    def _show_finished(self, finished: FinishedCell) -> None:
        from IPython.display import display

        from mlflow_magics.views.trace_view import TraceView

        trace = finished.trace
        if trace is not None:
            display(TraceView(trace))

    def _hide_mlflow_display_first(self) -> None:
        """Keep our post_run_cell hook ahead of MLflow's own, which may have registered
        earlier, so a traced cell's trace is taken off MLflow's display queue in time."""
        callbacks = self.shell.events.callbacks.get("post_run_cell", [])
        if callbacks and callbacks[0] != self._post_run_cell and self._post_run_cell in callbacks:
            callbacks.remove(self._post_run_cell)
            callbacks.insert(0, self._post_run_cell)

    def _store_problem(self, fresh: bool = False) -> str | None:
        """Why the tracking store does not answer, else None: ``fresh`` (commands) asks it
        now; a traced cell takes the last answer rather than wait on a frozen server."""
        import mlflow

        from mlflow_magics import store_file

        uri = mlflow.get_tracking_uri()
        gone = store_file.problem(uri)  # an SQLite file deleted under the kernel
        if gone:
            return gone
        problem = self.health.problem(uri, fresh=fresh)
        return f"{uri} is not reachable ({problem})" if problem else None

    def _warn(self, message: str) -> None:
        print(f"mlflow: {visible(message)}", file=sys.stderr)

    # -- completion -----------------------------------------------------------------------

    def _complete(self, _shell, event) -> list[str]:
        """Tab completion, read from the subcommands' parsers (IPython keeps the matches that
        start with the word being typed)."""
        line = getattr(event, "text_until_cursor", None) or event.line
        return commands.completions(line.lstrip())


class _CellTransformer:
    """The input transformer that rewrites a ``%%mlflow trace`` cell (see
    ``MlflowMagics._rewrite_traced_cell``), marked for IPython's ``check_complete`` to skip.

    ``check_complete`` (Enter in terminal IPython, a kernel's ``is_complete`` answer) runs the
    cleanup transformers first; it must still see the ``%%mlflow`` line, so that the cell, like
    any cell magic, is complete only at a blank line. Rewritten to a comment it would read as
    complete after its first line, and the body would run later, on its own and untraced."""

    has_side_effects = True  # IPython's flag: "check_complete does not run this one"

    def __init__(self, rewrite: Callable[[list[str]], list[str]]) -> None:
        self._rewrite = rewrite

    def __call__(self, lines: list[str]) -> list[str]:
        return self._rewrite(lines)


@contextlib.contextmanager
def _mlflow_refusal():
    """MLflow refusing a dataset call (bad name, bad value) becomes one BadInput sentence."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlflowException as e:
        if e.error_code not in (
            "INVALID_PARAMETER_VALUE",
            "RESOURCE_DOES_NOT_EXIST",
            "BAD_REQUEST",
        ):
            raise
        raise BadInput(f"MLflow refused: {_whole_reason(e.message)}") from e


def _whole_reason(message: object, cap: int = 800) -> str:
    """MLflow's whole refusal on one line: its "Correct example" (which names the keys it
    wants) is the part that tells the user what to do, so it is kept, not cut at line one."""
    text = " ".join(str(message).replace("```python", "").replace("```", "").split())
    return text if len(text) <= cap else text[: cap - 1] + "…"


@functools.lru_cache(maxsize=64)
def _parse_trace_line(args: str) -> TraceOptions | None:
    # Cached: every traced cell parses its flags twice (transformer, pre_run_cell), and
    # building an argparse parser costs a tenth of a millisecond each time.
    if _asks_for_help(args):
        return None
    try:
        return commands.parse_trace(MlflowMagics._split(args))
    except (UsageError, commands.HelpShown):
        return None


def _asks_for_help(args: str) -> bool:
    return bool(re.search(r"(^|\s)(-h|--help)(\s|$)", args))


def _is_mlflow_command(raw: str) -> bool:
    """A cell made only of %mlflow lines (and blanks/comments) is a command, not user code."""
    lines = [ln for ln in raw.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    return (
        bool(lines)
        and all(_MLFLOW_COMMAND.match(ln) for ln in lines[:1])
        and (
            lines[0].lstrip().startswith("%%mlflow")
            or all(_MLFLOW_COMMAND.match(ln) for ln in lines)
        )
    )


__all__ = ["MlflowMagics", "TraceOptions"]
