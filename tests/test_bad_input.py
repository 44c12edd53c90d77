"""Bad input is one sentence, up front: every mistake raises exactly one ``UsageError`` whose
message is one line, before anything changes, and a refused call leaves the store as it was.

Magics tier: a real shell, a real SQLite store (with a prompt, a model and a trace in it). The
fuzz test at the end feeds every subcommand and flag, read from the parsers themselves, values
of the wrong type, empty, huge, unbalanced, 20 digits long and full of control characters.
"""

from __future__ import annotations

import atexit
import hashlib
import re
import shlex
import shutil
import sqlite3
import time

import mlflow
import pytest
from conftest import traces_in
from IPython.core.error import UsageError

from mlflow_magics import commands, registry

# -- a store with something in it -------------------------------------------------------------


def build_store(uri: str) -> None:
    """A prompt ``qa`` (v1, v2; production → v1), a model ``clf`` (v1) and one trace."""
    mlflow.set_tracking_uri(uri)
    registry_uri = mlflow.get_registry_uri()
    mlflow.set_registry_uri(uri)
    try:
        for text in ("Answer {{question}}", "Answer briefly: {{question}}"):
            mlflow.genai.register_prompt("qa", template=text)
        client = mlflow.MlflowClient()
        client.set_prompt_alias("qa", "production", 1)
        client.create_registered_model("clf")
        with mlflow.start_run(run_name="train") as run:
            mlflow.log_metric("loss", 0.1)
        client.create_model_version(
            "clf", source=f"{run.info.artifact_uri}/model", run_id=run.info.run_id
        )
        with mlflow.start_span("seed") as span:
            span.set_inputs({"question": "q"})
            span.set_outputs("a")
        mlflow.flush_trace_async_logging()
    finally:
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(registry_uri)


@pytest.fixture(scope="module")
def store_template(store_template, tmp_path_factory):
    """This module's stores start with build_store's contents (built once, copied per test)."""
    path = tmp_path_factory.mktemp("bad-input") / "mlflow.db"
    shutil.copy(store_template, path)
    build_store(f"sqlite:///{path}")
    return path


class StoreWatch:
    """Whether anything was written to the SQLite store: ``PRAGMA data_version`` changes on
    this connection whenever another connection commits."""

    def __init__(self, uri: str) -> None:
        self._db = sqlite3.connect(uri.removeprefix("sqlite:///"))

    def version(self) -> int:
        return self._db.execute("PRAGMA data_version").fetchone()[0]

    def digest(self) -> str:
        """The whole store's contents, hashed."""
        return hashlib.sha256("\n".join(self._db.iterdump()).encode()).hexdigest()

    def close(self) -> None:
        self._db.close()


@pytest.fixture
def watch(store_uri):
    w = StoreWatch(store_uri)
    yield w
    w.close()


@pytest.fixture
def ns(shell):
    """Names the evaluate lines use: two records and a code scorer."""
    shell.run(
        "from mlflow.genai.scorers import scorer\n"
        "@scorer\n"
        "def short(outputs):\n"
        "    return len(str(outputs)) < 12\n"
    )
    shell.user_ns["data"] = [
        {"inputs": {"question": f"q{i}"}, "outputs": f"answer {i}"} for i in range(2)
    ]
    return shell.user_ns


def refused(shell, line: str) -> str:
    """Run ``line``; it must raise exactly UsageError with a one-line message (returned)."""
    with pytest.raises(UsageError) as info:
        shell.run(line)
    assert type(info.value) is UsageError  # IPython prints a traceback for anything else
    message = str(info.value)
    assert len(message.splitlines()) == 1, message
    assert message.isprintable(), message
    return message


# -- item by item -------------------------------------------------------------------------------

BIG = "99999999999999999999"

PROMISED = [
    pytest.param(
        "%mlflow connect http://[::1",
        r"Cannot read the tracking URI 'http://\[::1' \(Invalid IPv6 URL\)",
        id="connect-ipv6",
    ),
    pytest.param(f"%mlflow traces --last {BIG}m", "reaches back before 1970", id="traces-last"),
    pytest.param(f"%mlflow traces --last {BIG}d", "reaches back before 1970", id="traces-last-d"),
    pytest.param(
        f"%mlflow traces attributes.execution_time_ms > {BIG}",
        f"The number '{BIG}' in the filter is too large for a store to compare",
        id="traces-filter",
    ),
    pytest.param(
        f"%mlflow traces trace.timestamp_ms < -{BIG}",
        "too large for a store to compare",
        id="traces-filter-negative",
    ),
    pytest.param(
        f"%mlflow dataset create fz --from attributes.execution_time_ms > {BIG}",
        "too large for a store to compare",
        id="dataset-filter",
    ),
    pytest.param(
        f"%mlflow dataset create fz --from all --last {BIG}h",
        "reaches back before 1970",
        id="dataset-last",
    ),
    pytest.param(
        f"%mlflow alias prompt qa production {BIG}",
        f"Prompt 'qa' has no version {BIG}; it has versions v1–v2",
        id="alias-prompt",
    ),
    pytest.param(
        f"%mlflow alias model clf champion {BIG}",
        f"Model 'clf' has no version {BIG}; it has v1",
        id="alias-model",
    ),
    pytest.param(
        f"%mlflow alias prompt qa production v{'9' * 5000}",
        "Prompt 'qa' has no version 9999",
        id="alias-5000-digits",
    ),
    pytest.param(
        f"%mlflow diff prompt qa 1 {BIG}", f"Prompt 'qa' has no version {BIG}", id="diff-prompt"
    ),
    pytest.param(
        f"%mlflow diff model clf {BIG} 1", f"Model 'clf' has no version {BIG}", id="diff-model"
    ),
    pytest.param(f"%mlflow traces --max {BIG}", "not a whole number from 1 to", id="traces-max"),
    pytest.param(
        f"%mlflow evaluate --data data --max-workers {BIG} --scorers short",
        "not a whole number from 1 to",
        id="evaluate-workers",
    ),
    pytest.param(
        "%%mlflow evaluate --data data\nGuidelines",
        r"Scorer line 1: `Guidelines` needs guidelines; write it as `Guidelines\(guidelines=…\)`",
        id="bare-guidelines",
    ),
    pytest.param(
        "%%mlflow evaluate --data data\nGuidelines(guidelines=1)",
        r"Scorer line 1 `Guidelines\(guidelines=1\)` raised ValidationError: guidelines",
        id="guidelines-wrong-type",
    ),
    pytest.param(
        "%%mlflow evaluate --data data --judge nonsense\nSafety()",
        "'nonsense' is not a judge model URI; write it as provider:/model",
        id="judge-nonsense",
    ),
    pytest.param(
        '%mlflow evaluate --data data --judge openai: --scorers "Safety()"',
        "is not a judge model URI",
        id="judge-no-model",
    ),
    pytest.param(
        "%%mlflow trace --name " + "n" * 4097 + "\nran = True",
        "the span name has 4,097 characters; MLflow takes at most 4,096",
        id="trace-name",
    ),
    pytest.param(
        "%mlflow autotrace on --name " + "n" * 4097,
        "the span name has 4,097 characters",
        id="autotrace-name",
    ),
    pytest.param(
        "%%mlflow trace --tag " + "k" * 251 + "=v\nran = True",
        "the tag key has 251 characters; MLflow takes at most 250",
        id="trace-tag-key",
    ),
    pytest.param(
        "%%mlflow trace --tag k=" + "v" * 8001 + "\nran = True",
        "the tag value has 8,001 characters; MLflow takes at most 8,000",
        id="trace-tag-value",
    ),
    pytest.param(
        "%%mlflow evaluate --data data --run-name " + "r" * 251 + "\nshort",
        "the run name has 251 characters; MLflow takes at most 250",
        id="run-name",
    ),
    pytest.param(
        "%mlflow dataset create " + "d" * 256 + " --from all",
        "the dataset name has 256 characters; MLflow takes at most 255",
        id="dataset-name",
    ),
    pytest.param(
        "%mlflow experiment " + "e" * 501,
        "the experiment name has 501 characters; MLflow takes at most 500",
        id="experiment-name",
    ),
    pytest.param(
        "%mlflow connect --experiment ''",
        "argument --experiment: the experiment name is empty",
        id="connect-experiment-empty",
    ),
    pytest.param(
        "%mlflow connect sqlite:///other.db --experiment '  '",
        "the experiment name is empty",
        id="connect-experiment-blank",
    ),
    pytest.param(
        "%mlflow traces --experiment ''", "the experiment name is empty", id="traces-experiment"
    ),
    pytest.param("%mlflow dataset create fz --from ''", "the filter is empty", id="dataset-from"),
    pytest.param(
        "%%mlflow trace --name ''\nran = True", "the span name is empty", id="trace-name-empty"
    ),
]


@pytest.mark.parametrize(("line", "match"), PROMISED)
def test_promised_sentences_come_up_front_and_change_nothing(
    shell, ns, store_uri, watch, line, match
):
    experiment = mlflow.tracking.fluent._get_experiment_id()
    before = watch.version()
    message = refused(shell, line)
    assert re.search(match, message), message
    assert watch.version() == before  # nothing written
    assert mlflow.get_tracking_uri() == store_uri
    assert mlflow.tracking.fluent._get_experiment_id() == experiment
    assert "ran" not in shell.user_ns  # a traced cell refused runs nothing
    assert len(traces_in(store_uri)) == 1  # only the seed trace
    assert shell.magics_manager.registry["MlflowMagics"].tracer.autotrace is None


def test_judge_nonsense_is_refused_before_any_run(shell, ns):
    runs = len(mlflow.search_runs(search_all_experiments=True))
    refused(shell, "%%mlflow evaluate --data data --judge nonsense\nSafety()\nshort\n")
    assert len(mlflow.search_runs(search_all_experiments=True)) == runs


@pytest.mark.parametrize(
    "judge", ["openai:/gpt-4o-mini", "anthropic:/claude-sonnet-4", "endpoints:/my-ep", "databricks"]
)
def test_judge_uris_mlflow_takes_are_taken(judge):
    assert commands.parse_evaluate(["--data", "d", "--judge", judge], cell=True).judge == judge


def test_name_limits_are_mlflows():
    from mlflow.store.tracking.dbmodels.models import SqlEvaluationDataset, SqlRun
    from mlflow.tracing.constant import MAX_CHARS_IN_TRACE_INFO_TAGS_VALUE
    from mlflow.utils import validation

    ours_and_mlflows = [
        (commands.TRACE_NAME_MAX, MAX_CHARS_IN_TRACE_INFO_TAGS_VALUE),
        (commands.TRACE_TAG_KEY_MAX, validation.MAX_TRACE_TAG_KEY_LENGTH),
        (commands.TRACE_TAG_VALUE_MAX, validation.MAX_TRACE_TAG_VAL_LENGTH),
        (commands.EXPERIMENT_NAME_MAX, validation.MAX_EXPERIMENT_NAME_LENGTH),
        (commands.RUN_NAME_MAX, SqlRun.__table__.c.name.type.length),
        (commands.DATASET_NAME_MAX, SqlEvaluationDataset.__table__.c.name.type.length),
    ]
    for ours, mlflows in ours_and_mlflows:
        assert ours == mlflows


def test_the_longest_names_mlflow_takes_are_taken(shell, store_uri):
    name = "n" * commands.TRACE_NAME_MAX
    tag = ("k" * commands.TRACE_TAG_KEY_MAX, "v" * 100)
    shell.run(f"%%mlflow trace --quiet --name {name} --tag {tag[0]}={tag[1]}\nran = True\n")
    assert shell.user_ns["ran"] is True
    newest = traces_in(store_uri)[0]
    assert newest.data.spans[0].name == name
    assert newest.info.tags[tag[0]] == tag[1]


def test_a_version_number_past_any_registry_is_no_version():
    assert registry._version_number(str(registry.VERSION_MAX)) == registry.VERSION_MAX
    assert registry._version_number(str(registry.VERSION_MAX + 1)) is None
    assert registry._version_number("0003") == 3
    assert registry._version_number("0") is None
    assert registry._version_number("9" * 5000) is None


@pytest.mark.parametrize("value", ["-1", "0", "float('nan')", "float('inf')", "-0.5"])
def test_health_timeout_must_be_seconds_above_zero(shell, caplog, value):
    magics = shell.magics_manager.registry["MlflowMagics"]
    shell.run("%config MlflowMagics.health_timeout = 2.5")
    with caplog.at_level("ERROR"):
        shell.run(f"%config MlflowMagics.health_timeout = {value}")
    (record,) = [r for r in caplog.records if "health_timeout" in r.getMessage()]
    message = record.getMessage()
    assert len(message.splitlines()) == 1
    assert "must be a number of seconds above 0" in message
    assert magics.health_timeout == 2.5 and magics.health.timeout == 2.5  # unchanged
    with pytest.raises(Exception, match="above 0"):
        magics.health_timeout = -1


def test_health_timeout_from_a_config_file_reaches_the_health_check():
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    from mlflow_magics.magics import MlflowMagics

    config = Config()
    config.MlflowMagics.health_timeout = 3.0
    config.HistoryManager.enabled = False
    shell = InteractiveShell(config=config)
    try:
        magics = MlflowMagics.install(shell)  # a traceback here before: no .health yet
        assert magics.health_timeout == 3.0 and magics.health.timeout == 3.0
    finally:
        MlflowMagics.uninstall(shell)
        atexit.unregister(shell.atexit_operations)


# -- item 10: tab completion comes from the parsers, and the parsers take what it offers -------

#: Words in a message that mean the parser did not take the word completion offered.
REJECTED = (
    "unrecognized arguments",
    "invalid choice",
    "ambiguous option",
    "Unknown subcommand",
    "not a cell command",
    "is a cell command",
)


def _offered(shell, line: str) -> list[str]:
    """What pressing Tab at the end of ``line`` offers."""
    shell.Completer.use_jedi = False  # seconds per call, and it adds nothing to a magic line
    _, matches = shell.complete("", line=line, cursor_pos=len(line))
    return list(matches)


def test_completion_and_help_and_the_router_know_the_same_subcommands(shell):
    magics = shell.magics_manager.registry["MlflowMagics"]
    assert set(commands.LINE_PARSERS) | set(commands.CELL_PARSERS) == set(commands.SUBCOMMANDS)
    assert set(commands.LINE_PARSERS) <= set(magics._handlers)
    assert "trace" not in commands.LINE_PARSERS  # `%mlflow trace` is refused: a cell command


def test_traces_completion_offers_only_flags_its_parser_takes(shell):
    assert "traces" in _offered(shell, "%mlflow tr")
    assert _offered(shell, "%%mlflow ") == ["trace", "evaluate"]
    offered = _offered(shell, "%mlflow traces --")
    assert "--traces" not in offered
    assert {"--last", "--max", "--name", "--status", "--tag", "--order-by"} <= set(offered)
    assert _offered(shell, "%mlflow traces --status ") == ["OK", "ERROR"]
    assert "--traces" in _offered(shell, "%mlflow dataset create d --")


def test_every_completion_offered_is_taken_by_the_parser(shell, ns, store_uri, capsys):
    """Two words deep from ``%mlflow `` and ``%%mlflow ``: each completion, typed, reaches the
    parser and is taken (at worst the command then says what else it needs)."""
    magics = shell.magics_manager.registry["MlflowMagics"]
    checked = 0
    prefixes = ["%mlflow ", "%%mlflow "]
    for depth in range(3):
        deeper = []
        for prefix in prefixes:
            for word in commands.completions(prefix):  # what the Tab hook offers
                line = prefix + word
                cell = line.startswith("%%")
                try:
                    body = "\nshort" if " evaluate" in line else "\n1"
                    shell.run(line + (body if cell else ""))
                except UsageError as e:
                    assert not any(r in str(e) for r in REJECTED), (line, str(e))
                checked += 1
                magics.tracer.autotrace = None  # `autotrace on` was taken: stop it
                if mlflow.get_tracking_uri() != store_uri:
                    shell.run(f"%mlflow connect {store_uri}")
                if word != "--help" and depth < 2:
                    deeper.append(line + " ")
        prefixes = deeper
    capsys.readouterr()
    assert checked > 100


# -- the fuzz test --------------------------------------------------------------------------------

HUGE = "x" * 10_000
#: Values no flag or argument should take with a traceback. (Line breaks, \x0b, \x1c, U+2028
#: and the like, are not among them: IPython splits a cell into lines at them before any
#: magic sees its line.)
HOSTILE = [
    "",  # empty (and, typed bare, no value at all)
    HUGE,
    "'unbalanced",
    BIG,
    "-1",
    "9" * 5000,  # past the 4,300 digits int() reads
    "1e400",
    "None",
    "\x00",
    "\x1b[2J\x1b]0;owned\x07",
    "\u202eevil",
    "--",
    "k=v",
]
#: What a flag that takes no value is given (it becomes a stray positional).
FOR_SWITCHES = ["", "0", "'unbalanced"]

#: A line each subcommand takes, in pieces: positionals, then flags. The fuzz swaps one piece
#: for a hostile value, or adds a flag with one. Versions and data that do not exist keep a
#: line the fuzz leaves valid from moving aliases or running evaluations.
BASE = {
    "status": [],
    "connect": ["{store}"],
    "experiment": ["fz-exp"],
    "autotrace": ["on"],
    "show": ["last"],
    "diff": ["last", "last"],
    "traces": [],
    "dataset": ["show", "nope"],
    "datasets": [],
    "evaluate": ["--data", "nope", "--scorers", "short"],
    "prompts": ["qa"],
    "models": ["clf"],
    "alias": ["prompt", "qa", "production", "99"],
    "compare": ["run-a", "run-b"],
}
EXTRA_BASES = {"diff": [["prompt", "qa", "1", "2"], ["model", "clf", "1", "1"]]}
CELL_BASE = {"trace": ["--quiet"], "evaluate": ["--data", "nope"]}
CELL_BODY = {"trace": "fuzzed = True", "evaluate": "short"}


def _forms(value: str) -> list[str]:
    """The value as typed (quotes unbalanced, words split or gone) and, where that differs,
    shell-quoted (reaching the parser whole)."""
    if value and not any(c.isspace() or c in "'\"" for c in value):
        return [value]
    return [value, shlex.quote(value)]


def _fuzz_lines(store_uri: str) -> list[tuple[str, str | None]]:
    """(line, cell body or None): every flag and positional of every parser (read from the
    parsers, as completion reads them), each given each hostile value."""
    found: list[tuple[str, str | None]] = []
    for table, bases, magic in (
        (commands.LINE_PARSERS, BASE, "%mlflow"),
        (commands.CELL_PARSERS, CELL_BASE, "%%mlflow"),
    ):
        for name, builders in table.items():
            body = CELL_BODY[name] if magic == "%%mlflow" else None
            pieces = [p.replace("{store}", store_uri) for p in bases.get(name, [])]
            actions = {
                flag: action
                for build in builders
                for action in build()._actions
                for flag in action.option_strings
                if flag.startswith("--") and flag != "--help"
            }
            head = f"{magic} {name}"
            if magic == "%%mlflow" and name == "evaluate":  # its flags are the line form's
                found.extend((f"{head} {' '.join(pieces)}", value) for value in HOSTILE)
                continue
            for value in HOSTILE:
                for typed in _forms(value):
                    found.append((f"{head} {typed}", body))
                    for base in [pieces, *EXTRA_BASES.get(name, [])]:
                        for i in range(len(base)):  # each positional (or flag value) swapped
                            found.append(
                                (f"{head} {' '.join([*base[:i], typed, *base[i + 1 :]])}", body)
                            )
                    for flag, action in actions.items():
                        if action.nargs != 0 or value in FOR_SWITCHES:
                            found.append((f"{head} {' '.join(pieces)} {flag} {typed}", body))
                    if value in ("", "--", "="):
                        for flag in actions:
                            found.append((f"{head} {' '.join(pieces)} {flag}={typed}", body))
    return list(dict.fromkeys(found))


def _run(shell, magics, line: str, body: str | None):
    """A line as a user runs it; one with a value thousands of characters long straight into
    the magic, past IPython's ``$name`` expansion of magic lines (seconds each at that size)."""
    if len(line) < 1000 and (body is None or len(body) < 1000):
        return shell.run(line if body is None else f"{line}\n{body}")
    rest = line.partition(" ")[2]
    return magics.mlflow(rest, body)


def test_fuzz_every_subcommand_and_flag(shell, ns, store_uri, watch, capsys):
    """Each line raises exactly one one-line UsageError, or succeeds; nothing prints a
    traceback; a refused line leaves the store's contents, the URI and the experiment as
    they were (a write it undid itself, such as a withdrawn claim, is allowed)."""
    magics = shell.magics_manager.registry["MlflowMagics"]
    lines = _fuzz_lines(store_uri)
    assert len(lines) > 1000
    started = time.monotonic()
    problems: list[str] = []
    succeeded = 0
    contents = watch.digest()
    for line, body in lines:
        shown = repr(line[:100] + ("" if body is None else "\n" + body[:20]))
        traced = magics.tracer.last
        experiment = mlflow.tracking.fluent._get_experiment_id()
        before = watch.version()
        try:
            _run(shell, magics, line, body)
        except UsageError as e:
            message = str(e)
            if type(e) is not UsageError or len(message.splitlines()) != 1:
                problems.append(f"{shown}: not one line: {message[:300]!r}")
            elif not message.isprintable():
                problems.append(f"{shown}: raw control characters: {message[:300]!r}")
            elif watch.version() != before and watch.digest() != contents:
                problems.append(f"{shown}: refused ({message[:100]!r}) yet changed the store")
            elif mlflow.get_tracking_uri() != store_uri:
                problems.append(f"{shown}: refused yet changed the tracking URI")
            elif mlflow.tracking.fluent._get_experiment_id() != experiment:
                problems.append(f"{shown}: refused yet changed the experiment")
        except BaseException as e:  # the finding itself
            problems.append(f"{shown}: {type(e).__name__}: {str(e)[:300]!r}")
        else:
            succeeded += 1
        if magics.tracer.last is not traced:  # a cell was traced: its export, before the next
            mlflow.flush_trace_async_logging()
        if watch.version() != before:
            contents = watch.digest()
        out = capsys.readouterr()
        if "Traceback" in out.out or "Traceback" in out.err:
            problems.append(f"{shown}: printed a traceback: {(out.out + out.err)[-300:]!r}")
        # Undo what a line that was taken set up for the lines after it.
        magics.tracer.autotrace = None
        if mlflow.get_tracking_uri() != store_uri:
            shell.run(f"%mlflow connect {store_uri}")
            capsys.readouterr()
    elapsed = time.monotonic() - started
    assert not problems, f"{len(problems)} of {len(lines)} lines:\n" + "\n".join(problems[:40])
    assert succeeded < len(lines) / 2  # the fuzz is mostly refusals
    print(f"{len(lines)} lines, {succeeded} taken, in {elapsed:.1f} s")
