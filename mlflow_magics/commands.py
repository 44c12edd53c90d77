"""Argument parsing for ``%mlflow`` subcommands: one argparse parser each, into frozen
dataclasses. A parse error raises IPython's ``UsageError`` (one sentence, no traceback)."""

from __future__ import annotations

import argparse
import difflib
import re
import shlex
from dataclasses import dataclass, field

from IPython.core.error import UsageError

from mlflow_magics.trace_search import TraceQuery
from mlflow_magics.tracing import TraceOptions, normalize_span_type

#: Subcommands with their one-line summaries, in the order ``%mlflow --help`` lists them.
SUBCOMMANDS: dict[str, str] = {
    "status": "tracking URI, registry URI, experiment, active run, Databricks host, links",
    "connect": "point MLflow at a store: [URI] [--experiment NAME] [--profile P]",
    "experiment": "set the experiment NAME (created if missing)",
    "trace": "(cell) run the cell inside one root span and show its trace",
    "autotrace": "on|off: trace every following cell the same way",
    "show": "[TRACE_ID|last]: the trace view for a trace",
    "diff": "TRACE_A TRACE_B: two traces span by span; prompt|model NAME V1 V2: two versions",
    "traces": "[FILTER] [--last 20m] [--max N] [--status OK|ERROR] …: the trace table",
    "dataset": "create|add NAME (--from FILTER | --traces VAR), show NAME: evaluation datasets",
    "datasets": "[--name-like PATTERN]: every evaluation dataset, with record counts",
    "evaluate": "(cell) --data D [--predict FN]: run the scorers listed in the cell, live grid",
    "prompts": "[NAME] [--like PATTERN]: the alias board of the prompt registry or one prompt",
    "models": "[NAME] [--like PATTERN]: the alias board of registered models or one model",
    "alias": "prompt|model NAME ALIAS VERSION [--gate [--force]] | --delete | --undo",
    "compare": "RUN_A RUN_B [--experiment NAME]: two evaluation runs side by side per record",
}

USAGE = """\
Usage: %mlflow SUBCOMMAND [options]      (%mlflow SUBCOMMAND --help for its options)

{commands}

Examples:
  %mlflow connect                       # the embedded store sqlite:///mlflow.db
  %mlflow experiment my-agent
  %%mlflow trace --name answer --tag env=dev
  %mlflow autotrace on
  %mlflow show last

Settings: %config MlflowMagics.display = 'auto' | 'widget' | 'html' | 'text'
"""


def usage() -> str:
    width = max(len(n) for n in SUBCOMMANDS)
    lines = [f"  {name:<{width}}  {summary}" for name, summary in SUBCOMMANDS.items()]
    return USAGE.format(commands="\n".join(lines))


class HelpShown(Exception):
    """``--help`` was asked for and printed; nothing else to do."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        raise UsageError(f"{self.prog}: {message}. See `{self.prog} --help`.")

    def exit(self, status: int = 0, message: str | None = None):
        if message:
            raise UsageError(message.strip())
        raise HelpShown()


def _parser(name: str, description: str, cell: bool = False) -> _Parser:
    prog = f"%%mlflow {name}" if cell else f"%mlflow {name}"
    return _Parser(prog=prog, description=description, add_help=True, allow_abbrev=False)


def unknown_subcommand(name: str) -> UsageError:
    close = difflib.get_close_matches(name, list(SUBCOMMANDS), n=1, cutoff=0.5)
    hint = f" Did you mean `%mlflow {close[0]}`?" if close else ""
    return UsageError(f"Unknown subcommand {name!r}.{hint} Run `%mlflow --help` for the list.")


@dataclass(frozen=True)
class ConnectArgs:
    uri: str | None
    experiment: str | None
    profile: str | None


@dataclass(frozen=True)
class ExperimentArgs:
    name: str


@dataclass(frozen=True)
class AutotraceArgs:
    on: bool
    options: TraceOptions = field(default_factory=TraceOptions)


@dataclass(frozen=True)
class ShowArgs:
    trace_id: str


@dataclass(frozen=True)
class DiffArgs:
    trace_a: str
    trace_b: str


def _tag(value: str) -> tuple[str, str]:
    key, sep, val = value.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"tag {value!r} must look like key=value")
    return key.strip(), val


def _span_type(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", value.strip()):
        raise argparse.ArgumentTypeError(
            f"span type {value!r} must be a word such as CHAIN, AGENT, LLM or TOOL"
        )
    return normalize_span_type(value)


def _add_trace_flags(p: _Parser) -> None:
    p.add_argument("--name", help="root span name (default: cell)")
    p.add_argument(
        "--span-type",
        type=_span_type,
        default="CHAIN",
        help="root span type: CHAIN (default), AGENT, LLM, TOOL, … or your own",
    )
    p.add_argument(
        "--tag",
        action="append",
        type=_tag,
        default=[],
        metavar="KEY=VALUE",
        help="trace tag; repeat for more",
    )
    p.add_argument("--quiet", action="store_true", help="record the trace without showing it")


def _trace_options(ns: argparse.Namespace) -> TraceOptions:
    return TraceOptions(name=ns.name, span_type=ns.span_type, tags=dict(ns.tag), quiet=ns.quiet)


def parse_connect(argv: list[str]) -> ConnectArgs:
    p = _parser("connect", "Point MLflow at a tracking store; no URI means sqlite:///mlflow.db.")
    p.add_argument("uri", nargs="?", help="sqlite:///mlflow.db, http(s)://HOST:PORT, databricks, …")
    p.add_argument("--experiment", help="experiment to use (created if missing)")
    p.add_argument("--profile", help="Databricks config profile (with `databricks`)")
    ns = p.parse_args(argv)
    return ConnectArgs(ns.uri, ns.experiment, ns.profile)


def parse_experiment(argv: list[str]) -> ExperimentArgs:
    p = _parser("experiment", "Set the active experiment, creating it if missing.")
    p.add_argument("name", nargs="+", help="experiment name (spaces allowed)")
    ns = p.parse_args(argv)
    return ExperimentArgs(" ".join(ns.name))


def parse_trace(argv: list[str]) -> TraceOptions:
    p = _parser("trace", "Run the cell inside one root span and show its trace.", cell=True)
    _add_trace_flags(p)
    return _trace_options(p.parse_args(argv))


def parse_autotrace(argv: list[str]) -> AutotraceArgs:
    p = _parser("autotrace", "Trace every following cell (on) or stop (off).")
    p.add_argument("state", choices=["on", "off"], help="on or off")
    _add_trace_flags(p)
    ns = p.parse_args(argv)
    return AutotraceArgs(ns.state == "on", _trace_options(ns))


def parse_show(argv: list[str]) -> ShowArgs:
    p = _parser("show", "Show the trace view for a trace id, or `last`.")
    p.add_argument("trace_id", nargs="?", default="last", help="a trace id, or last (default)")
    ns = p.parse_args(argv)
    return ShowArgs(ns.trace_id)


def parse_diff(argv: list[str]) -> DiffArgs:
    p = _parser(
        "diff",
        "Compare two traces: span trees aligned by path, A as the baseline. "
        "(`%mlflow diff prompt|model NAME V1 V2` compares two versions.)",
    )
    p.add_argument("trace_a", help="the baseline trace id, or last")
    p.add_argument("trace_b", help="the trace to compare with it, or last")
    ns = p.parse_args(argv)
    return DiffArgs(ns.trace_a, ns.trace_b)


@dataclass(frozen=True)
class TracesArgs:
    query: TraceQuery
    page_size: int


#: ``%mlflow traces`` flags that take a value (their quotes are read the shell way).
_TRACES_VALUE_FLAGS = frozenset(
    (
        "--last",
        "--max",
        "--name",
        "--status",
        "--tag",
        "--order-by",
        "--experiment",
        "--page-size",
        "--traces",
    )
)


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of at least 1")
    return number


def _traces_words(line: str) -> list[str]:
    """Split a ``%mlflow traces`` line keeping the FILTER's own quotes (``trace.name = 'x'``
    must reach MLflow quoted); flag values are unquoted as a shell would."""
    words: list[str] = []
    word: list[str] = []
    quote = ""
    for ch in line:
        if quote:
            word.append(ch)
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
            word.append(ch)
        elif ch.isspace():
            if word:
                words.append("".join(word))
                word = []
        else:
            word.append(ch)
    if quote:
        raise UsageError(f"Could not read the arguments (a {quote} is not closed); check quotes.")
    if word:
        words.append("".join(word))
    out: list[str] = []
    value_next = False
    for word in words:
        if value_next:
            out.append(_unquote(word))
            value_next = False
        elif word.startswith("--"):
            flag, eq, _ = word.partition("=")
            out.append(_unquote(word) if eq else word)
            value_next = not eq and flag in _TRACES_VALUE_FLAGS
        else:
            out.append(word)
    return out


def _unquote(word: str) -> str:
    parts = shlex.split(word)
    return parts[0] if len(parts) == 1 else word


def parse_traces(line: str) -> TracesArgs:
    """Parse the raw text after ``%mlflow traces`` (raw, so FILTER keeps its quotes)."""
    p = _parser(
        "traces",
        "Search traces (no spans) and show them as a table: page, sort, filter, select, open, "
        "compare. FILTER is MLflow's search_traces syntax; the flags are ANDed with it. "
        "Example: %%mlflow traces trace.status = 'ERROR' --last 2h --tag env=prod",
    )
    # Given, because argparse's own wrapping of a long usage line trips over the % in prog.
    p.usage = (
        "%(prog)s [FILTER ...] [--last D] [--max N] [--name NAME] [--status {OK,ERROR}]\n"
        "       [--tag KEY=VALUE ...] [--order-by EXPR ...] [--experiment NAME] [--page-size N]"
    )
    p.add_argument(
        "filter",
        nargs="*",
        metavar="FILTER",
        help="e.g. trace.status = 'ERROR' AND tag.env = 'prod' (quote it or not)",
    )
    p.add_argument("--last", metavar="D", help="only traces newer than D: 30s, 20m, 2h, 7d")
    p.add_argument(
        "--max",
        dest="max_results",
        type=_positive_int,
        metavar="N",
        help="browse at most N matches",
    )
    p.add_argument("--name", help="trace name (its root span's name)")
    p.add_argument("--status", type=str.upper, choices=["OK", "ERROR"], help="OK or ERROR")
    p.add_argument(
        "--tag",
        action="append",
        type=_tag,
        default=[],
        metavar="KEY=VALUE",
        help="tag value; repeat for more",
    )
    p.add_argument(
        "--order-by",
        action="append",
        default=[],
        metavar="EXPR",
        help="e.g. 'execution_time_ms DESC'; repeat for more (default: newest first)",
    )
    p.add_argument("--experiment", help="experiment name (default: the active experiment)")
    p.add_argument(
        "--page-size", type=_positive_int, default=25, metavar="N", help="rows per page (25)"
    )
    ns = p.parse_intermixed_args(_traces_words(line))
    words = ns.filter
    text = _unquote(words[0]) if len(words) == 1 else " ".join(words)
    query = TraceQuery(
        filter=text or None,
        last=ns.last,
        max_results=ns.max_results,
        name=ns.name,
        status=ns.status,
        tags=tuple(ns.tag),
        order_by=tuple(ns.order_by),
        experiment=ns.experiment,
    )
    return TracesArgs(query, ns.page_size)


@dataclass(frozen=True)
class DatasetArgs:
    action: str
    name: str
    filter: str | None = None
    last: str | None = None
    max_results: int | None = None
    traces: str | None = None


def parse_dataset(line: str) -> DatasetArgs:
    """Parse the raw text after ``%mlflow dataset`` (raw, so ``--from FILTER`` keeps quotes)."""
    p = _parser(
        "dataset",
        "Build an evaluation dataset from traces, or show one. Records take the root span's "
        "inputs and outputs; the source trace id makes adding idempotent. "
        "Example: %mlflow dataset create qa-v1 --from trace.status = 'OK' --last 7d",
    )
    p.usage = (
        "%(prog)s create|add NAME (--from FILTER [--last D] [--max N] | --traces VAR)\n"
        "       %(prog)s show NAME"
    )
    p.add_argument("action", choices=["create", "add", "show"], help="create, add or show")
    p.add_argument("name", metavar="NAME", help="dataset name")
    source = p.add_mutually_exclusive_group()
    source.add_argument(
        "--from",
        dest="filter",
        nargs="+",
        metavar="FILTER",
        help="traces of the active experiment matching this search_traces filter (`all`: every "
        "trace)",
    )
    source.add_argument(
        "--traces",
        metavar="VAR",
        help="a variable: a trace table (its selection, else its matches), a DataFrame from "
        "mlflow.search_traces, or a list of trace ids",
    )
    p.add_argument("--last", metavar="D", help="with --from: only traces newer than D (7d)")
    p.add_argument(
        "--max", dest="max_results", type=_positive_int, metavar="N", help="at most N traces"
    )
    ns = p.parse_args(_traces_words(line))
    name = _unquote(ns.name)
    if ns.action == "show":
        if ns.filter or ns.traces or ns.last or ns.max_results:
            p.error("show takes only NAME")
        return DatasetArgs("show", name)
    if ns.filter is None and ns.traces is None:
        p.error(f"{ns.action} needs --from FILTER or --traces VAR")
    if ns.traces is not None and (ns.last or ns.max_results):
        p.error("--last and --max go with --from")
    text = None
    if ns.filter is not None:
        text = _unquote(ns.filter[0]) if len(ns.filter) == 1 else " ".join(ns.filter)
        text = None if text.strip().lower() in ("all", "*") else text
    return DatasetArgs(ns.action, name, text, ns.last, ns.max_results, ns.traces)


def parse_datasets(argv: list[str]) -> str | None:
    """``%mlflow datasets [--name-like PATTERN]`` → the pattern (None: every dataset)."""
    p = _parser("datasets", "List evaluation datasets of every age, newest update first.")
    p.add_argument(
        "--name-like", metavar="PATTERN", help="names containing PATTERN (or a LIKE pattern: qa_%%)"
    )
    return p.parse_args(argv).name_like


@dataclass(frozen=True)
class EvaluateArgs:
    data: str
    predict: str | None = None
    run_name: str | None = None
    judge: str | None = None
    max_workers: int | None = None
    scorers: str | None = None


def parse_evaluate(argv: list[str], cell: bool) -> EvaluateArgs:
    """``%%mlflow evaluate --data D [--predict FN] …`` with scorers in the body, or the line
    form with ``--scorers "Safety(), my_scorer"``."""
    p = _parser(
        "evaluate",
        "Run scorers over data with mlflow.genai.evaluate, watching rows arrive. As a cell "
        "magic, each body line is one scorer expression (MLflow's built-in scorers need no "
        "import); on one line, pass --scorers.",
        cell=cell,
    )
    p.usage = (
        "%%%%mlflow evaluate --data NAME|VAR [--predict FN] [--run-name R] [--judge MODEL_URI] "
        "[--max-workers N]\n  <one scorer expression per line>\n"
        '       %%mlflow evaluate --data NAME|VAR --scorers "Safety(), my_scorer" [...]'
    )
    p.add_argument(
        "--data",
        required=True,
        metavar="NAME|VAR",
        help="a variable (DatasetView, EvaluationDataset, DataFrame, list of records, "
        "TraceTable) or the name of an evaluation dataset",
    )
    p.add_argument(
        "--predict",
        metavar="FN",
        help="a function of the record's inputs; without it, the outputs in the data are scored",
    )
    p.add_argument("--run-name", metavar="R", help="name of the MLflow run (default: MLflow's)")
    p.add_argument(
        "--judge",
        metavar="MODEL_URI",
        help="judge model for the built-in LLM judges not given one (openai:/gpt-4o-mini)",
    )
    p.add_argument(
        "--max-workers",
        type=_positive_int,
        metavar="N",
        help="records evaluated at once (default: MLflow's 10, or 6 on a SQLite store, whose "
        "single writer stalls with more)",
    )
    p.add_argument("--scorers", metavar="EXPRS", help="line form: comma-separated scorers")
    ns = p.parse_args(argv)
    if cell and ns.scorers is not None:
        p.error("list the scorers in the cell body, or use --scorers on one line, not both")
    if not cell and ns.scorers is None:
        p.error(
            'needs --scorers "Safety(), my_scorer" (or use %%mlflow evaluate with one scorer per line)'
        )
    return EvaluateArgs(ns.data, ns.predict, ns.run_name, ns.judge, ns.max_workers, ns.scorers)


@dataclass(frozen=True)
class CompareArgs:
    run_a: str
    run_b: str
    experiment: str | None = None


def parse_compare(argv: list[str]) -> CompareArgs:
    """``%mlflow compare RUN_A RUN_B [--experiment NAME]``."""
    p = _parser(
        "compare",
        "Compare two evaluation runs per record, A as the baseline: regressions first. A run "
        "is a run id, a run name in the experiment, or a variable holding an evaluation "
        "result (anything with .run_id).",
    )
    p.add_argument("run_a", metavar="RUN_A", help="the baseline run: id, name or variable")
    p.add_argument("run_b", metavar="RUN_B", help="the run compared with it: id, name or variable")
    p.add_argument(
        "--experiment", help="experiment whose run names to look in (default: the active one)"
    )
    ns = p.parse_args(argv)
    return CompareArgs(ns.run_a, ns.run_b, ns.experiment)


def parse_status(argv: list[str]) -> None:
    p = _parser("status", "Show where MLflow data goes now.")
    p.parse_args(argv)


# -- alias board ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BoardArgs:
    kind: str
    name: str | None
    like: str | None


@dataclass(frozen=True)
class AliasArgs:
    kind: str
    name: str
    alias: str
    version: str | None
    gate: bool = False
    force: bool = False
    delete: bool = False
    undo: bool = False


@dataclass(frozen=True)
class VersionDiffArgs:
    kind: str
    name: str
    version_a: str
    version_b: str


def parse_board(kind: str, argv: list[str]) -> BoardArgs:
    """``%mlflow prompts|models [NAME] [--like PATTERN]``."""
    p = _parser(
        f"{kind}s",
        f"The alias board: every {kind} (or those whose name contains PATTERN), or one {kind}'s "
        "versions with its aliases drawn on them; diff versions, move, delete and undo aliases.",
    )
    p.add_argument("name", nargs="?", metavar="NAME", help=f"one {kind}: its versions and aliases")
    p.add_argument(
        "--like",
        metavar="PATTERN",
        help="names containing PATTERN (or a LIKE pattern: qa_%%); on Databricks "
        "CATALOG.SCHEMA[.PATTERN]",
    )
    ns = p.parse_args(argv)
    if ns.name and ns.like:
        p.error("give NAME or --like, not both")
    return BoardArgs(kind, ns.name, ns.like)


def parse_alias(argv: list[str]) -> AliasArgs:
    """``%mlflow alias prompt|model NAME ALIAS VERSION [--gate [--force]] | --delete | --undo``."""
    p = _parser(
        "alias",
        "Move an alias to a version and print before → after; every move is recorded (who, "
        "when, from which version) and can be undone. --gate moves only if no scorer shared by "
        "the latest evaluation runs of the current and the candidate version regressed. "
        "Example: %mlflow alias prompt qa production 3 --gate",
    )
    p.add_argument("kind", choices=["prompt", "model"], help="prompt or model")
    p.add_argument("name", metavar="NAME", help="the prompt or registered model")
    p.add_argument("alias", metavar="ALIAS", help="production, staging, champion, …")
    p.add_argument("version", nargs="?", metavar="VERSION", help="version number (3 or v3)")
    p.add_argument(
        "--gate", action="store_true", help="refuse if the candidate's evaluation regressed"
    )
    p.add_argument("--force", action="store_true", help="with --gate: move anyway, recorded")
    p.add_argument("--delete", action="store_true", help="remove ALIAS (no VERSION)")
    p.add_argument("--undo", action="store_true", help="move ALIAS back to where it was")
    ns = p.parse_args(argv)
    if ns.delete and ns.undo:
        p.error("--delete and --undo do not go together")
    if ns.delete or ns.undo:
        if ns.version is not None or ns.gate or ns.force:
            p.error(f"{'--delete' if ns.delete else '--undo'} takes only NAME and ALIAS")
    elif ns.version is None:
        p.error("VERSION is missing (or use --delete / --undo)")
    if ns.force and not ns.gate:
        p.error("--force overrides --gate; give both")
    return AliasArgs(ns.kind, ns.name, ns.alias, ns.version, ns.gate, ns.force, ns.delete, ns.undo)


def parse_version_diff(argv: list[str]) -> VersionDiffArgs:
    """``%mlflow diff prompt|model NAME V1 V2``."""
    p = _parser(
        "diff",
        "Compare two versions of a prompt (template lines, model config, response format) or a "
        "model (source run, metrics); V1 is the baseline.",
    )
    p.add_argument("kind", choices=["prompt", "model"], help="prompt or model")
    p.add_argument("name", metavar="NAME", help="the prompt or registered model")
    p.add_argument("version_a", metavar="V1", help="baseline version (number, alias or latest)")
    p.add_argument("version_b", metavar="V2", help="version to compare with it")
    ns = p.parse_args(argv)
    return VersionDiffArgs(ns.kind, ns.name, ns.version_a, ns.version_b)


#: Flags per subcommand, for tab completion.
FLAGS: dict[str, list[str]] = {
    "connect": ["--experiment", "--profile", "--help"],
    "experiment": ["--help"],
    "trace": ["--name", "--span-type", "--tag", "--quiet", "--help"],
    "autotrace": ["on", "off", "--name", "--span-type", "--tag", "--quiet", "--help"],
    "show": ["last", "--help"],
    "diff": ["last", "prompt", "model", "--help"],
    "traces": [*sorted(_TRACES_VALUE_FLAGS), "--help"],
    "status": ["--help"],
    "dataset": ["create", "add", "show", "--from", "--traces", "--last", "--max", "--help"],
    "datasets": ["--name-like", "--help"],
    "evaluate": [
        "--data",
        "--predict",
        "--run-name",
        "--judge",
        "--max-workers",
        "--scorers",
        "--help",
    ],
    "prompts": ["--like", "--help"],
    "models": ["--like", "--help"],
    "alias": ["prompt", "model", "--gate", "--force", "--delete", "--undo", "--help"],
    "compare": ["--experiment", "--help"],
}
