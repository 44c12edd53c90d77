"""Argument parsing for ``%mlflow`` subcommands: one argparse parser each, into frozen
dataclasses. A parse error raises IPython's ``UsageError`` (one sentence, no traceback)."""

from __future__ import annotations

import argparse
import difflib
import re
from dataclasses import dataclass, field

from IPython.core.error import UsageError

from mlflow_magics.tracing import TraceOptions, normalize_span_type

#: Subcommands with their one-line summaries, in the order ``%mlflow --help`` lists them.
SUBCOMMANDS: dict[str, str] = {
    "status": "tracking URI, registry URI, experiment, active run, Databricks host, links",
    "connect": "point MLflow at a store: [URI] [--experiment NAME] [--profile P]",
    "experiment": "set the experiment NAME (created if missing)",
    "trace": "(cell) run the cell inside one root span and show its trace",
    "autotrace": "on|off: trace every following cell the same way",
    "show": "[TRACE_ID|last]: the trace view for a trace",
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


def parse_status(argv: list[str]) -> None:
    p = _parser("status", "Show where MLflow data goes now.")
    p.parse_args(argv)


#: Flags per subcommand, for tab completion.
FLAGS: dict[str, list[str]] = {
    "connect": ["--experiment", "--profile", "--help"],
    "experiment": ["--help"],
    "trace": ["--name", "--span-type", "--tag", "--quiet", "--help"],
    "autotrace": ["on", "off", "--name", "--span-type", "--tag", "--quiet", "--help"],
    "show": ["last", "--help"],
    "status": ["--help"],
}
