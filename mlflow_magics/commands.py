"""Argument parsing for ``%mlflow`` subcommands: one argparse parser each, into frozen
dataclasses. A parse error raises IPython's ``UsageError`` (one sentence, no traceback)."""

from __future__ import annotations

import argparse
import difflib
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field

from IPython.core.error import UsageError

from mlflow_magics.errors import BadInput
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
    "chat": "AGENT [--session ID] [--user U] [--no-stream] …: chat with an agent, every turn a trace",
    "sessions": "[FILTER] [--last D] [--user U]: conversations, traces grouped by session id",
    "session": "ID [--experiment NAME]: one conversation's turns with their traces",
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
        message = _printable(_shorten_values(message)).rstrip(".")
        raise UsageError(f"{self.prog}: {message}. See `{self.prog} --help`.")

    def _get_values(self, action: argparse.Action, arg_strings: list[str]):
        # argparse drops "--" given as an option's own value (--name=--) and hands back [].
        if action.option_strings and action.nargs is None and arg_strings == ["--"]:
            self.error(f"argument {'/'.join(action.option_strings)}: expected one argument")
        return super()._get_values(action, arg_strings)

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
    shown = _shorten_values(repr(name))
    return UsageError(f"Unknown subcommand {shown}.{hint} Run `%mlflow --help` for the list.")


# -- values MLflow would refuse later, refused here first --------------------------------------

#: The longest names and tags MLflow stores (tests/test_bad_input.py checks them against MLflow):
#: a longer one is refused, or fails in a SQL store's column, only when a later cell writes it.
TRACE_NAME_MAX = 4096  # mlflow.tracing.constant.MAX_CHARS_IN_TRACE_INFO_TAGS_VALUE
TRACE_TAG_KEY_MAX = 250  # mlflow.utils.validation.MAX_TRACE_TAG_KEY_LENGTH
TRACE_TAG_VALUE_MAX = 8000  # mlflow.utils.validation.MAX_TRACE_TAG_VAL_LENGTH (else cut)
RUN_NAME_MAX = 250  # the runs.name column: String(250)
DATASET_NAME_MAX = 255  # the evaluation_datasets.name column: String(255)
EXPERIMENT_NAME_MAX = 500  # mlflow.utils.validation.MAX_EXPERIMENT_NAME_LENGTH
#: Counts (``--max``, ``--page-size``, ``--max-workers``) end where a store's INTEGER does.
WHOLE_MAX = 2**31 - 1

_JUDGE_URI = re.compile(r"[A-Za-z][A-Za-z0-9_.+-]*:/+[^/\s].*")
_LONG_VALUE = re.compile(r"'([^']{40})[^']{20,}'")


def _printable(text: str) -> str:
    """Control, line-break and bidi characters as visible escapes: a message stays one line
    and cannot drive the terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _shorten_values(message: str) -> str:
    """A quoted value of thousands of characters, cut to its start in a message."""
    return _LONG_VALUE.sub(lambda m: f"'{m[1]}…'", message)


def _text(what: str, limit: int | None = None) -> Callable[[str], str]:
    """An argparse type for a name: not blank, and no longer than MLflow keeps."""

    def check(value: str) -> str:
        if not value.strip():
            raise argparse.ArgumentTypeError(f"{what} is empty")
        if "\x00" in value:  # PostgreSQL refuses it in any text column
            raise argparse.ArgumentTypeError(
                f"{what} holds a NUL character, which MLflow cannot store"
            )
        if limit is not None and len(value) > limit:
            raise argparse.ArgumentTypeError(
                f"{what} has {len(value):,} characters; MLflow takes at most {limit:,}"
            )
        return value

    return check


def _offer(action: argparse.Action, *words: str) -> argparse.Action:
    """Words tab completion offers for a free-form argument (``last`` for a trace id)."""
    action.completions = words  # type: ignore[attr-defined]
    return action


def _check_text(p: _Parser, flag: str, what: str, value: str, limit: int | None = None) -> str:
    try:
        return _text(what, limit)(value)
    except argparse.ArgumentTypeError as e:
        p.error(f"argument {flag}: {e}")
        raise  # pragma: no cover - error() raises


def _duration(value: str) -> str:
    """``--last``: a duration such as 20m, read now so a bad one is refused before any search."""
    from mlflow_magics.trace_search import parse_duration

    try:
        parse_duration(value)
    except BadInput as e:
        raise argparse.ArgumentTypeError(str(e).rstrip(".")) from None
    return value


def _judge_uri(value: str) -> str:
    """``--judge``: MLflow's judge model form, ``provider:/model`` (or ``databricks``)."""
    if value == "databricks" or _JUDGE_URI.fullmatch(value):
        return value
    raise argparse.ArgumentTypeError(
        f"{value!r} is not a judge model URI; write it as provider:/model, e.g. "
        "openai:/gpt-4o-mini, anthropic:/claude-sonnet-4, endpoints:/my-endpoint or databricks"
    )


def _check_filter(p: _Parser, text: str | None) -> None:
    from mlflow_magics.trace_search import check_filter

    try:
        check_filter(text)
    except BadInput as e:
        p.error(str(e))


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


def _trace_tag(value: str) -> tuple[str, str]:
    """A tag the trace will carry: also within MLflow's key and value lengths."""
    key, val = _tag(value)
    if "\x00" in value:  # PostgreSQL refuses it in any text column
        raise argparse.ArgumentTypeError("the tag holds a NUL character, which MLflow cannot store")
    for what, text, limit in (
        ("key", key, TRACE_TAG_KEY_MAX),
        ("value", val, TRACE_TAG_VALUE_MAX),
    ):
        if len(text) > limit:
            raise argparse.ArgumentTypeError(
                f"the tag {what} has {len(text):,} characters; MLflow takes at most {limit:,}"
            )
    return key, val


def _span_type(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", value.strip()):
        raise argparse.ArgumentTypeError(
            f"span type {value!r} must be a word such as CHAIN, AGENT, LLM or TOOL"
        )
    return normalize_span_type(value)


def _add_trace_flags(p: _Parser) -> None:
    p.add_argument(
        "--name", type=_text("the span name", TRACE_NAME_MAX), help="root span name (default: cell)"
    )
    p.add_argument(
        "--span-type",
        type=_span_type,
        default="CHAIN",
        help="root span type: CHAIN (default), AGENT, LLM, TOOL, … or your own",
    )
    p.add_argument(
        "--tag",
        action="append",
        type=_trace_tag,
        default=[],
        metavar="KEY=VALUE",
        help="trace tag; repeat for more",
    )
    p.add_argument("--quiet", action="store_true", help="record the trace without showing it")


def _trace_options(ns: argparse.Namespace) -> TraceOptions:
    return TraceOptions(name=ns.name, span_type=ns.span_type, tags=dict(ns.tag), quiet=ns.quiet)


def _connect_parser() -> _Parser:
    p = _parser("connect", "Point MLflow at a tracking store; no URI means sqlite:///mlflow.db.")
    p.add_argument("uri", nargs="?", help="sqlite:///mlflow.db, http(s)://HOST:PORT, databricks, …")
    p.add_argument(
        "--experiment",
        type=_text("the experiment name", EXPERIMENT_NAME_MAX),
        help="experiment to use (created if missing)",
    )
    p.add_argument(
        "--profile",
        type=_text("the profile name"),
        help="Databricks config profile (with `databricks`)",
    )
    return p


def parse_connect(argv: list[str]) -> ConnectArgs:
    ns = _connect_parser().parse_args(argv)
    return ConnectArgs(ns.uri, ns.experiment, ns.profile)


def _experiment_parser() -> _Parser:
    p = _parser("experiment", "Set the active experiment, creating it if missing.")
    p.add_argument("name", nargs="+", help="experiment name (spaces allowed)")
    return p


def parse_experiment(argv: list[str]) -> ExperimentArgs:
    p = _experiment_parser()
    ns = p.parse_args(argv)
    name = " ".join(ns.name)
    _check_text(p, "name", "the experiment name", name, EXPERIMENT_NAME_MAX)
    return ExperimentArgs(name)


def _trace_parser() -> _Parser:
    p = _parser("trace", "Run the cell inside one root span and show its trace.", cell=True)
    _add_trace_flags(p)
    return p


def parse_trace(argv: list[str]) -> TraceOptions:
    return _trace_options(_trace_parser().parse_args(argv))


def _autotrace_parser() -> _Parser:
    p = _parser("autotrace", "Trace every following cell (on) or stop (off).")
    p.add_argument("state", choices=["on", "off"], help="on or off")
    _add_trace_flags(p)
    return p


def parse_autotrace(argv: list[str]) -> AutotraceArgs:
    ns = _autotrace_parser().parse_args(argv)
    return AutotraceArgs(ns.state == "on", _trace_options(ns))


def _show_parser() -> _Parser:
    p = _parser("show", "Show the trace view for a trace id, or `last`.")
    _offer(
        p.add_argument("trace_id", nargs="?", default="last", help="a trace id, or last (default)"),
        "last",
    )
    return p


def parse_show(argv: list[str]) -> ShowArgs:
    ns = _show_parser().parse_args(argv)
    return ShowArgs(ns.trace_id)


def _diff_parser() -> _Parser:
    p = _parser(
        "diff",
        "Compare two traces: span trees aligned by path, A as the baseline. "
        "(`%mlflow diff prompt|model NAME V1 V2` compares two versions.)",
    )
    _offer(p.add_argument("trace_a", help="the baseline trace id, or last"), "last")
    _offer(p.add_argument("trace_b", help="the trace to compare with it, or last"), "last")
    return p


def parse_diff(argv: list[str]) -> DiffArgs:
    ns = _diff_parser().parse_args(argv)
    return DiffArgs(ns.trace_a, ns.trace_b)


@dataclass(frozen=True)
class TracesArgs:
    query: TraceQuery
    page_size: int


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if not 1 <= number <= WHOLE_MAX:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number from 1 to {WHOLE_MAX:,}")
    return number


def _value_flags(p: _Parser) -> frozenset[str]:
    """The parser's flags that take exactly one value (its quotes are read the shell way)."""
    return frozenset(
        flag for action in p._actions if action.nargs is None for flag in action.option_strings
    )


def _traces_words(line: str, value_flags: frozenset[str]) -> list[str]:
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
            value_next = not eq and flag in value_flags
        else:
            out.append(word)
    return out


def _unquote(word: str) -> str:
    parts = shlex.split(word)
    return parts[0] if len(parts) == 1 else word


def _traces_parser() -> _Parser:
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
    p.add_argument(
        "--last", type=_duration, metavar="D", help="only traces newer than D: 30s, 20m, 2h, 7d"
    )
    p.add_argument(
        "--max",
        dest="max_results",
        type=_positive_int,
        metavar="N",
        help="browse at most N matches",
    )
    p.add_argument("--name", type=_text("the trace name"), help="trace name (its root span's name)")
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
        type=_text("the order"),
        metavar="EXPR",
        help="e.g. 'execution_time_ms DESC'; repeat for more (default: newest first)",
    )
    p.add_argument(
        "--experiment",
        type=_text("the experiment name"),
        help="experiment name (default: the active experiment)",
    )
    p.add_argument(
        "--page-size", type=_positive_int, default=25, metavar="N", help="rows per page (25)"
    )
    return p


def parse_traces(line: str) -> TracesArgs:
    """Parse the raw text after ``%mlflow traces`` (raw, so FILTER keeps its quotes)."""
    p = _traces_parser()
    ns = p.parse_intermixed_args(_traces_words(line, _value_flags(p)))
    words = ns.filter
    text = _unquote(words[0]) if len(words) == 1 else " ".join(words)
    _check_filter(p, text)
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


def _dataset_parser() -> _Parser:
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
    p.add_argument(
        "--last", type=_duration, metavar="D", help="with --from: only traces newer than D (7d)"
    )
    p.add_argument(
        "--max", dest="max_results", type=_positive_int, metavar="N", help="at most N traces"
    )
    return p


def parse_dataset(line: str) -> DatasetArgs:
    """Parse the raw text after ``%mlflow dataset`` (raw, so ``--from FILTER`` keeps quotes)."""
    p = _dataset_parser()
    ns = p.parse_args(_traces_words(line, _value_flags(p)))
    name = _check_text(p, "NAME", "the dataset name", _unquote(ns.name), DATASET_NAME_MAX)
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
        if not text.strip():
            p.error("argument --from: the filter is empty; give one, or `all` for every trace")
        text = None if text.strip().lower() in ("all", "*") else text
        _check_filter(p, text)
    return DatasetArgs(ns.action, name, text, ns.last, ns.max_results, ns.traces)


def _datasets_parser() -> _Parser:
    p = _parser("datasets", "List evaluation datasets of every age, newest update first.")
    p.add_argument(
        "--name-like",
        type=_text("the pattern"),
        metavar="PATTERN",
        help="names containing PATTERN (or a LIKE pattern: qa_%%)",
    )
    return p


def parse_datasets(argv: list[str]) -> str | None:
    """``%mlflow datasets [--name-like PATTERN]`` → the pattern (None: every dataset)."""
    return _datasets_parser().parse_args(argv).name_like


@dataclass(frozen=True)
class EvaluateArgs:
    data: str
    predict: str | None = None
    run_name: str | None = None
    judge: str | None = None
    max_workers: int | None = None
    scorers: str | None = None


def _evaluate_parser(cell: bool) -> _Parser:
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
        type=_text("the data"),
        metavar="NAME|VAR",
        help="a variable (DatasetView, EvaluationDataset, DataFrame, list of records, "
        "TraceTable) or the name of an evaluation dataset",
    )
    p.add_argument(
        "--predict",
        type=_text("the predict function"),
        metavar="FN",
        help="a function of the record's inputs; without it, the outputs in the data are scored",
    )
    p.add_argument(
        "--run-name",
        type=_text("the run name", RUN_NAME_MAX),
        metavar="R",
        help="name of the MLflow run (default: MLflow's)",
    )
    p.add_argument(
        "--judge",
        type=_judge_uri,
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
    p.add_argument(
        "--scorers",
        type=_text("the scorer list"),
        metavar="EXPRS",
        help="line form: comma-separated scorers",
    )
    return p


def parse_evaluate(argv: list[str], cell: bool) -> EvaluateArgs:
    """``%%mlflow evaluate --data D [--predict FN] …`` with scorers in the body, or the line
    form with ``--scorers "Safety(), my_scorer"``."""
    p = _evaluate_parser(cell)
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


def _compare_parser() -> _Parser:
    p = _parser(
        "compare",
        "Compare two evaluation runs per record, A as the baseline: regressions first. A run "
        "is a run id, a run name in the experiment, or a variable holding an evaluation "
        "result (anything with .run_id).",
    )
    p.add_argument("run_a", metavar="RUN_A", help="the baseline run: id, name or variable")
    p.add_argument("run_b", metavar="RUN_B", help="the run compared with it: id, name or variable")
    p.add_argument(
        "--experiment",
        type=_text("the experiment name"),
        help="experiment whose run names to look in (default: the active one)",
    )
    return p


def parse_compare(argv: list[str]) -> CompareArgs:
    """``%mlflow compare RUN_A RUN_B [--experiment NAME]``."""
    ns = _compare_parser().parse_args(argv)
    return CompareArgs(ns.run_a, ns.run_b, ns.experiment)


def _status_parser() -> _Parser:
    return _parser("status", "Show where MLflow data goes now.")


def parse_status(argv: list[str]) -> None:
    _status_parser().parse_args(argv)


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


def _board_parser(kind: str) -> _Parser:
    p = _parser(
        f"{kind}s",
        f"The alias board: every {kind} (or those whose name contains PATTERN), or one {kind}'s "
        "versions with its aliases drawn on them; diff versions, move, delete and undo aliases.",
    )
    p.add_argument("name", nargs="?", metavar="NAME", help=f"one {kind}: its versions and aliases")
    p.add_argument(
        "--like",
        type=_text("the pattern"),
        metavar="PATTERN",
        help="names containing PATTERN (or a LIKE pattern: qa_%%); on Databricks "
        "CATALOG.SCHEMA[.PATTERN]",
    )
    return p


def parse_board(kind: str, argv: list[str]) -> BoardArgs:
    """``%mlflow prompts|models [NAME] [--like PATTERN]``."""
    p = _board_parser(kind)
    ns = p.parse_args(argv)
    if ns.name and ns.like:
        p.error("give NAME or --like, not both")
    return BoardArgs(kind, ns.name, ns.like)


def _alias_parser() -> _Parser:
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
    return p


def parse_alias(argv: list[str]) -> AliasArgs:
    """``%mlflow alias prompt|model NAME ALIAS VERSION [--gate [--force]] | --delete | --undo``."""
    p = _alias_parser()
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


def _version_diff_parser() -> _Parser:
    p = _parser(
        "diff",
        "Compare two versions of a prompt (template lines, model config, response format) or a "
        "model (source run, metrics); V1 is the baseline.",
    )
    p.add_argument("kind", choices=["prompt", "model"], help="prompt or model")
    p.add_argument("name", metavar="NAME", help="the prompt or registered model")
    _offer(
        p.add_argument(
            "version_a", metavar="V1", help="baseline version (number, alias or latest)"
        ),
        "latest",
    )
    _offer(p.add_argument("version_b", metavar="V2", help="version to compare with it"), "latest")
    return p


def parse_version_diff(argv: list[str]) -> VersionDiffArgs:
    """``%mlflow diff prompt|model NAME V1 V2``."""
    ns = _version_diff_parser().parse_args(argv)
    return VersionDiffArgs(ns.kind, ns.name, ns.version_a, ns.version_b)


# -- chat -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatArgs:
    agent: str
    session: str | None = None
    user: str | None = None
    no_stream: bool = False
    custom_inputs: str | None = None
    title: str | None = None


def _json_object(value: str) -> str:
    """``--custom-inputs``: a JSON object, read now so a bad one is refused before any turn."""
    import json

    try:
        parsed = json.loads(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not JSON ({e.args[0]})") from None
    if not isinstance(parsed, dict):
        raise argparse.ArgumentTypeError(
            f"a JSON object is needed ('{{\"k\": 1}}'), not {type(parsed).__name__}"
        )
    return value


def _chat_parser() -> _Parser:
    p = _parser(
        "chat",
        "Chat with an agent in a panel, streaming; every turn is one trace carrying the "
        "session id (mlflow.trace.session) and the user (mlflow.trace.user). AGENT is a "
        "variable holding a ResponsesAgent or ChatAgent instance or a function of the "
        "message list, or a logged model's models:/NAME@ALIAS or models:/NAME/VERSION URI. "
        "Example: chat = %mlflow chat agent --user alice",
    )
    p.add_argument(
        "agent",
        metavar="AGENT",
        help="a ResponsesAgent / ChatAgent instance, a function of the message list, or "
        "models:/NAME@ALIAS",
    )
    p.add_argument(
        "--session",
        type=_text("the session id", TRACE_TAG_VALUE_MAX),
        metavar="ID",
        help="the session id the turns' traces carry (default: a new one)",
    )
    p.add_argument(
        "--user",
        type=_text("the user", TRACE_TAG_VALUE_MAX),
        metavar="U",
        help="the user the turns' traces carry (default: your login name)",
    )
    p.add_argument("--no-stream", action="store_true", help="call predict, not predict_stream")
    p.add_argument(
        "--custom-inputs",
        type=_json_object,
        metavar="JSON",
        help="custom_inputs sent with every turn, a JSON object",
    )
    p.add_argument("--title", type=_text("the title"), metavar="T", help="the panel's title")
    return p


def parse_chat(argv: list[str]) -> ChatArgs:
    """``%mlflow chat AGENT [--session ID] [--user U] [--no-stream] [--custom-inputs JSON]
    [--title T]``."""
    ns = _chat_parser().parse_args(argv)
    return ChatArgs(ns.agent, ns.session, ns.user, ns.no_stream, ns.custom_inputs, ns.title)


@dataclass(frozen=True)
class SessionsArgs:
    query: TraceQuery
    user: str | None = None
    max_traces: int | None = None


def _sessions_parser() -> _Parser:
    p = _parser(
        "sessions",
        "Conversations: the traces that carry a session id (mlflow.trace.session), one row "
        "per session with its users, turns, times, errors, tokens, cost and 👍 / 👎. FILTER "
        "is MLflow's search_traces syntax. Example: %mlflow sessions --last 7d --user alice",
    )
    p.usage = "%(prog)s [FILTER ...] [--last D] [--user U] [--max N] [--experiment NAME]"
    p.add_argument(
        "filter", nargs="*", metavar="FILTER", help="e.g. trace.status = 'ERROR' (quoted or not)"
    )
    p.add_argument(
        "--last", type=_duration, metavar="D", help="only traces newer than D: 30s, 20m, 2h, 7d"
    )
    p.add_argument(
        "--user",
        type=_text("the user", TRACE_TAG_VALUE_MAX),
        metavar="U",
        help="only traces of this user (mlflow.trace.user)",
    )
    p.add_argument(
        "--max",
        dest="max_traces",
        type=_positive_int,
        metavar="N",
        help="read at most N of the newest traces (10,000)",
    )
    p.add_argument(
        "--experiment",
        type=_text("the experiment name"),
        help="experiment name (default: the active experiment)",
    )
    return p


def parse_sessions(line: str) -> SessionsArgs:
    """Parse the raw text after ``%mlflow sessions`` (raw, so FILTER keeps its quotes)."""
    p = _sessions_parser()
    ns = p.parse_intermixed_args(_traces_words(line, _value_flags(p)))
    words = ns.filter
    text = _unquote(words[0]) if len(words) == 1 else " ".join(words)
    _check_filter(p, text)
    query = TraceQuery(filter=text or None, last=ns.last, experiment=ns.experiment)
    return SessionsArgs(query, ns.user, ns.max_traces)


@dataclass(frozen=True)
class SessionArgs:
    session_id: str
    experiment: str | None = None


def _session_parser() -> _Parser:
    p = _parser(
        "session",
        "One conversation: the traces that carry session ID (mlflow.trace.session), oldest "
        "first, each turn's question, answer, tool calls, trace id and assessments. Example: "
        "%mlflow session chat-0123456789ab",
    )
    p.add_argument("session_id", metavar="ID", type=_text("the session id", TRACE_TAG_VALUE_MAX))
    p.add_argument(
        "--experiment",
        type=_text("the experiment name"),
        help="experiment name (default: the active experiment)",
    )
    return p


def parse_session(argv: list[str]) -> SessionArgs:
    """``%mlflow session ID [--experiment NAME]``."""
    ns = _session_parser().parse_args(argv)
    return SessionArgs(ns.session_id, ns.experiment)


# -- tab completion: read from the parsers above ----------------------------------------------

#: Each line subcommand's parsers. Where there are several, as for ``diff``, the first whose
#: positional choices fit the words typed is the one the magic routes to.
LINE_PARSERS: dict[str, tuple[Callable[[], _Parser], ...]] = {
    "status": (_status_parser,),
    "connect": (_connect_parser,),
    "experiment": (_experiment_parser,),
    "autotrace": (_autotrace_parser,),
    "show": (_show_parser,),
    "diff": (_version_diff_parser, _diff_parser),
    "traces": (_traces_parser,),
    "dataset": (_dataset_parser,),
    "datasets": (_datasets_parser,),
    "evaluate": (lambda: _evaluate_parser(cell=False),),
    "prompts": (lambda: _board_parser("prompt"),),
    "models": (lambda: _board_parser("model"),),
    "alias": (_alias_parser,),
    "compare": (_compare_parser,),
    "chat": (_chat_parser,),
    "sessions": (_sessions_parser,),
    "session": (_session_parser,),
}
#: The ``%%mlflow`` cell subcommands' parsers.
CELL_PARSERS: dict[str, tuple[Callable[[], _Parser], ...]] = {
    "trace": (_trace_parser,),
    "evaluate": (lambda: _evaluate_parser(cell=True),),
}


def completions(line: str) -> list[str]:
    """What may come next on ``line`` (the text up to the cursor, ``%mlflow …`` or
    ``%%mlflow …``): subcommands, then the chosen parser's flags, the choices of the
    positional argument due next, or the choices of the flag whose value is due."""
    from IPython.utils.process import arg_split

    words = arg_split(line, posix=True, strict=False)  # tolerates an unclosed quote
    if not words:
        return []
    table = CELL_PARSERS if words[0].startswith("%%") else LINE_PARSERS
    typed = words[1:] if line[-1:].isspace() else words[1:-1]
    if not typed:
        return list(table)
    builders = table.get(typed[0])
    if builders is None:
        return []
    found: list[str] = []
    for parser in _parsers_for([b() for b in builders], typed[1:]):
        for word in _next_words(parser, typed[1:]):
            if word not in found:
                found.append(word)
    return found


def _parsers_for(parsers: list[_Parser], words: list[str]) -> list[_Parser]:
    """The parsers whose positional choices the words typed fit: every one before any
    positional is typed, else the first (the one the magic routes to)."""
    if len(parsers) == 1 or not any(_positionals_typed(p, words) for p in parsers):
        return parsers
    for parser in parsers:
        if _walk(parser, words) is not None:
            return [parser]
    return []


def _positionals_typed(parser: _Parser, words: list[str]) -> int:
    state = _walk(parser, words)
    return state[1] if state is not None else 0


def _walk(parser: _Parser, words: list[str]) -> tuple[argparse.Action | None, int] | None:
    """``(flag whose value is due, positional words typed)`` after ``words``, or None when
    a typed positional is not one of its argument's choices."""
    options = parser._option_string_actions
    positionals = [a for a in parser._actions if not a.option_strings]
    due: argparse.Action | None = None
    greedy = False  # after a flag of nargs "+" / "*": its values run to the next flag
    count = 0
    for word in words:
        flag = word.partition("=")[0]
        if word.startswith("-") and flag in options:
            action = options[flag]
            due = None if "=" in word or action.nargs == 0 else action
            greedy = due is not None and action.nargs in ("+", "*")
            continue
        if due is not None:
            due = None if not greedy else due
            continue
        index = min(count, len(positionals) - 1) if positionals else -1
        if index >= 0:
            action = positionals[index]
            if action.choices is not None and word not in action.choices:
                return None
        count += 1
    return (None if greedy else due), count


def _next_words(parser: _Parser, words: list[str]) -> list[str]:
    state = _walk(parser, words)
    if state is None:
        return []
    due, count = state
    if due is not None:
        return [*(due.choices or ()), *getattr(due, "completions", ())]
    out: list[str] = []
    positionals = [a for a in parser._actions if not a.option_strings]
    if count < len(positionals):
        action = positionals[count]
        out.extend([*(action.choices or ()), *getattr(action, "completions", ())])
    flags = [f for a in parser._actions for f in a.option_strings if f.startswith("--")]
    return out + sorted(flags, key=lambda flag: flag == "--help")  # --help last
