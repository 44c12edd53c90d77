"""Magics tier: a fresh InteractiveShell per test, the extension loaded, a real SQLite store."""

from __future__ import annotations

import json
import subprocess
import sys

import mlflow
import pytest
from conftest import traces_in
from IPython.core.error import UsageError

from mlflow_magics.views import display


def test_load_imports_neither_mlflow_nor_anywidget():
    code = (
        "import sys\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "ip = InteractiveShell.instance()\n"
        "ip.run_line_magic('load_ext', 'mlflow_magics')\n"
        "heavy = [m for m in ('mlflow', 'anywidget', 'pandas') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "assert 'mlflow' in ip.magics_manager.magics['line']\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_unload_removes_everything(shell):
    magics = shell.magics_manager.registry["MlflowMagics"]
    shell.run("%unload_ext mlflow_magics")
    assert "mlflow" not in shell.magics_manager.magics["line"]
    assert "mlflow" not in shell.magics_manager.magics["cell"]
    assert magics._post_run_cell not in shell.events.callbacks["post_run_cell"]
    assert magics._pre_run_cell not in shell.events.callbacks["pre_run_cell"]
    assert magics._transformer not in shell.input_transformers_cleanup
    assert not any(
        getattr(t, "__self__", None) is magics or getattr(t, "_rewrite", None) is not None
        for t in shell.input_transformers_cleanup
    )
    assert magics not in shell.configurables
    with pytest.raises(UsageError, match="not found"):
        shell.run("%mlflow status")
    # a cell that starts like a traced cell is an ordinary (unknown) cell magic again
    with pytest.raises(UsageError):
        shell.run("%%mlflow trace\n1")
    shell.run("%load_ext mlflow_magics")  # and it loads again cleanly


def test_status_shows_uri_experiment_and_run(shell, store_uri):
    shell.run("%mlflow experiment my agent")
    with mlflow.start_run(run_name="r1"):
        view = shell.run("%mlflow")
        text = view._repr_mimebundle_()["text/plain"]
    assert store_uri in text
    assert "my agent" in text
    assert "r1" in text
    assert view.status.experiment_name == "my agent"


def test_connect_without_uri_is_the_embedded_store(shell, tmp_path):
    view = shell.run("%mlflow connect --experiment quick")
    assert view.status.tracking_uri == "sqlite:///mlflow.db"
    assert (tmp_path / "mlflow.db").exists()
    assert mlflow.get_experiment_by_name("quick") is not None


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("%mlflow connect foo://bar", "Unsupported tracking URI 'foo://bar'"),
        ("%mlflow connect http://", "has no host"),
        ("%mlflow connect http://127.0.0.1:99999999", "malformed port"),
        ("%mlflow connect sqlite://", "needs a file path"),
        ("%mlflow connect sqlite:///no/such/folder/x.db", "does not exist"),
        ("%mlflow connect --profile p sqlite:///m.db", "--profile applies to Databricks"),
        ("%mlflow shwo", "Did you mean `%mlflow show`"),
        ("%mlflow frobnicate", "Unknown subcommand 'frobnicate'"),
        ("%mlflow show --bogus", "unrecognized arguments: --bogus"),
        ("%mlflow show not-a-trace", "is not a trace id"),
        ("%mlflow show tr-0123456789abcdef0123456789abcdef", "No trace tr-0123"),
        ("%mlflow autotrace maybe", "invalid choice: 'maybe'"),
        ("%mlflow autotrace on --tag novalue", "must look like key=value"),
        ("%mlflow autotrace on --span-type '<b>'", "must be a word"),
        ("%mlflow experiment", "required: name"),
        ("%mlflow trace", "cell command"),
        ("%mlflow connect 'unclosed", "check quotes"),
        ("%%mlflow status\nx", "not a cell command"),
    ],
)
def test_user_mistakes_are_one_usage_error(shell, store_uri, line, match):
    with pytest.raises(UsageError, match=match) as info:
        shell.run(line)
    assert type(info.value) is UsageError  # IPython prints a traceback for subclasses
    assert "\n" not in str(info.value)
    assert mlflow.get_tracking_uri() == store_uri  # and nothing changed


def test_help_lists_subcommands(shell, capsys):
    assert shell.run("%mlflow --help") is None
    out = capsys.readouterr().out
    for name in ("status", "connect", "experiment", "trace", "autotrace", "show"):
        assert name in out
    shell.run("%mlflow connect --help")
    assert "--experiment" in capsys.readouterr().out


def test_subcommands_tab_complete(shell):
    _, matches = shell.complete("", line="%mlflow sh", cursor_pos=10)
    assert "show" in matches
    _, matches = shell.complete("", line="%mlflow autotrace o", cursor_pos=19)
    assert {"on", "off"} <= set(matches)
    _, matches = shell.complete("", line="%%mlflow tr", cursor_pos=11)
    assert "trace" in matches


def test_display_setting_picks_the_tier(shell):
    shell.run("%%mlflow trace --quiet\n41 + 1")
    view = shell.run("%mlflow show last")
    shell.run("%config MlflowMagics.display = 'text'")
    assert set(view._repr_mimebundle_()) == {"text/plain"}
    shell.run("%config MlflowMagics.display = 'html'")
    assert set(view._repr_mimebundle_()) == {"text/plain", "text/html"}
    shell.run("%config MlflowMagics.display = 'widget'")
    assert display.WIDGET_MIME in view._repr_mimebundle_()
    shell.run("%config MlflowMagics.display = 'auto'")  # a terminal shell: no widget
    assert display.WIDGET_MIME not in view._repr_mimebundle_()


def test_traced_cell_nests_spans_and_records_source_and_value(shell, store_uri):
    shell.run("import mlflow")
    shell.run("@mlflow.trace(span_type='LLM')\ndef llm(q):\n    return q.upper()\n")
    value = shell.run(
        "%%mlflow trace --name answer --span-type agent --tag env=dev --tag team=ml --quiet\n"
        "x = llm('hi')\n"
        "with mlflow.start_span('post') as s:\n"
        "    s.set_inputs({'x': x})\n"
        "x + '!'\n"
    )
    assert value == "HI!"
    assert shell.user_ns["_"] == "HI!"
    (trace,) = traces_in(store_uri)
    spans = {s.name: s for s in trace.data.spans}
    root = spans["answer"]
    assert root.parent_id is None
    assert root.span_type == "AGENT"
    assert spans["llm"].parent_id == root.span_id
    assert spans["post"].parent_id == root.span_id
    assert "x = llm('hi')" in root.inputs["cell"]
    assert "%%mlflow" not in root.inputs["cell"]
    assert root.outputs == "HI!"
    assert trace.info.tags["env"] == "dev"
    assert trace.info.tags["team"] == "ml"
    assert trace.info.state.value == "OK"


def test_traced_cell_runs_magics_await_and_display(shell, store_uri, capsys):
    value = shell.run(
        "%%mlflow trace --quiet\n"
        "import asyncio\n"
        "%time y = 2\n"
        "await asyncio.sleep(0)\n"
        "from IPython.display import display\n"
        "display('shown inside')\n"
        "y * 21\n"
    )
    assert value == 42
    out = capsys.readouterr().out
    assert "Wall time" in out
    assert "shown inside" in out
    (trace,) = traces_in(store_uri)
    assert trace.data.spans[0].outputs == 42


def test_exception_in_traced_cell_reaches_user_and_marks_span(shell, store_uri):
    with pytest.raises(ZeroDivisionError, match="division by zero"):
        shell.run("%%mlflow trace --quiet\nx = 1\n1 / 0\n")
    (trace,) = traces_in(store_uri)
    root = trace.data.spans[0]
    assert trace.info.state.value == "ERROR"
    assert root.status.status_code.value == "ERROR"
    (event,) = [e for e in root.events if e.name == "exception"]
    assert event.attributes["exception.type"] == "ZeroDivisionError"


def test_bad_trace_flag_raises_before_the_body_runs(shell, store_uri):
    with pytest.raises(UsageError, match="unrecognized arguments: --nope"):
        shell.run("%%mlflow trace --nope\nran = True\n")
    assert "ran" not in shell.user_ns
    assert traces_in(store_uri) == []


def test_trace_view_appears_after_the_cell_unless_quiet(shell, capsys):
    shell.run("%%mlflow trace --name shown\n'value'\n")
    out = capsys.readouterr().out
    assert out.index("'value'") < out.index("Trace tr-")
    assert "shown [CHAIN]" in out
    shell.run("%%mlflow trace --quiet --name hidden\n'value'\n")
    assert "Trace tr-" not in capsys.readouterr().out


def test_run_cell_magic_directly_also_traces(shell, store_uri):
    shell.run_cell_magic("mlflow", "trace --quiet --name direct", "z = 5\n")
    assert shell.user_ns["z"] == 5
    (trace,) = traces_in(store_uri)
    assert trace.data.spans[0].name == "direct"


def test_autotrace_traces_following_cells_until_off(shell, store_uri, capsys):
    note = shell.run("%mlflow autotrace on --name auto --quiet")
    assert "Autotrace on" in note.text
    shell.run("a = 1")
    shell.run("b = a + 1")
    shell.run("%mlflow status")  # a command cell is not user code: not traced
    shell.run("%mlflow autotrace off")
    shell.run("c = 3")
    traces = traces_in(store_uri)
    assert len(traces) == 2
    assert {t.data.spans[0].inputs["cell"] for t in traces} == {"a = 1", "b = a + 1"}


def test_explicit_trace_wins_over_autotrace(shell, store_uri):
    shell.run("%mlflow autotrace on --quiet")
    shell.run("%%mlflow trace --name explicit --quiet\n1\n")
    shell.run("%mlflow autotrace off")
    (trace,) = traces_in(store_uri)
    assert trace.data.spans[0].name == "explicit"


def test_show_reads_any_trace_from_the_store(shell, store_uri):
    shell.run("%%mlflow trace --quiet --name first\n1\n")
    trace_id = shell.run("%mlflow show last").trace_id
    shell.run("%%mlflow trace --quiet --name second\n2\n")
    assert shell.run(f"%mlflow show {trace_id}").data.name == "first"
    # a trace this kernel did not trace as a cell comes from the store (export just queued)
    shell.run("import mlflow\nwith mlflow.start_span('outside') as s:\n    s.set_outputs(3)\n")
    outside = mlflow.get_last_active_trace_id()
    view = shell.run(f"%mlflow show {outside}")
    assert view.trace_id == outside
    assert view.data.name == "outside"


def test_unreachable_store_never_breaks_a_traced_cell(shell, capsys):
    untraced = shell.run("sum(range(10))")
    shell.run("%mlflow connect http://127.0.0.1:9")
    err = capsys.readouterr().err
    assert "not reachable" in err or "refused" in err
    value = shell.run("%%mlflow trace\nsum(range(10))\n")
    assert value == untraced
    captured = capsys.readouterr()
    warnings = [ln for ln in captured.err.splitlines() if ln.startswith("mlflow:")]
    assert len(warnings) == 1
    assert "untraced" in warnings[0]
    assert "127.0.0.1:9" in warnings[0]
    # an exception stays exactly the user's own
    with pytest.raises(KeyError, match="'k'"):
        shell.run("%%mlflow trace\n{}['k']\n")


def test_experiment_on_unreachable_store_is_refused_and_changes_nothing(shell, store_uri):
    with pytest.raises(UsageError, match=r"Cannot reach http://127\.0\.0\.1:9"):
        shell.run("%mlflow connect http://127.0.0.1:9 --experiment x")
    assert mlflow.get_tracking_uri() == store_uri


def test_tracing_disabled_in_mlflow_leaves_the_cell_alone(shell, store_uri):
    mlflow.tracing.disable()
    try:
        assert shell.run("%%mlflow trace\n6 * 7\n") == 42
    finally:
        mlflow.tracing.enable()
    assert traces_in(store_uri) == []


def test_hostile_span_content_is_escaped_in_every_tier(shell):
    shell.run("import mlflow")
    shell.run(
        "%%mlflow trace --quiet --name '<img src=x onerror=alert(1)>'\n"
        "with mlflow.start_span('\"><svg onload=alert(2)>') as s:\n"
        "    s.set_inputs({'url': 'javascript:alert(3)'})\n"
        "    s.set_outputs('<script>alert(4)</script>')\n"
        "    s.set_attribute('note', '<iframe src=javascript:alert(5)>')\n"
    )
    view = shell.run("%mlflow show last")
    html = view.to_html()
    tags, attrs = _parse_html(html)
    assert tags <= SAFE_TAGS, tags - SAFE_TAGS  # no element came from the data
    assert not [a for a in attrs if a[0].startswith("on")]
    assert not [a for a in attrs if a[0] == "href"]
    assert "&lt;script&gt;alert(4)&lt;/script&gt;" in html
    text = view.to_text()
    assert "<img src=x onerror=alert(1)>" in text  # text shows it verbatim, as text
    child = view.data.spans["id"][1]
    detail = view.select(child)
    assert "<script>alert(4)</script>" in detail["outputs"]["text"]  # JS sets it as textContent
    assert "javascript:alert(3)" in detail["inputs"]["text"]


SAFE_TAGS = {"style", "div", "span", "b", "details", "summary", "pre", "i", "samp"}
# Message text renders as safe markdown: these come from the renderer, never from the data.
SAFE_TAGS |= {"p", "br", "strong", "em", "code", "ul", "ol", "li", "blockquote", "table"}
SAFE_TAGS |= {"thead", "tbody", "tr", "th", "td", "del", "hr", "h1", "h2", "h3", "h4", "h5"}


def _parse_html(markup: str) -> tuple[set[str], list[tuple[str, str | None]]]:
    """Elements and attributes a browser would create from ``markup``."""
    from html.parser import HTMLParser

    tags: set[str] = set()
    attrs: list[tuple[str, str | None]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, tag_attrs):
            tags.add(tag)
            attrs.extend(tag_attrs)

    Collect().feed(markup)
    return tags, attrs


def test_five_megabyte_output_is_bounded_with_its_size_stated(shell):
    shell.run("import mlflow")
    shell.run(
        "%%mlflow trace --quiet\n"
        "with mlflow.start_span('big') as s:\n"
        "    s.set_outputs('x' * (5 * 1024 * 1024))\n"
    )
    view = shell.run("%mlflow show last")
    html = view.to_html()
    assert len(html) < 100_000
    assert "of 5.0 MB" in html
    detail = view.select(view.data.spans["id"][1])
    assert detail["outputs"]["truncated"] is True
    assert detail["outputs"]["size"] > 5 * 1024 * 1024
    assert len(detail["outputs"]["text"]) <= 64 * 1024
    widget = view.widget
    assert len(json.dumps(widget.trace)) < 10_000  # payloads never ride along with the tree


def test_span_that_cannot_start_gives_one_warning_and_the_cell_runs(shell, capsys):
    import os

    os.environ["MLFLOW_EXPERIMENT_ID"] = "987654"  # an experiment this store does not have
    assert shell.run("%%mlflow trace\n'still runs'\n") == "still runs"
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("mlflow: Tracing failed")
    assert "987654" in lines[0]


def test_switching_stores_drops_an_experiment_the_new_store_lacks(shell, tmp_path, capsys):
    shell.run("%mlflow experiment only-in-first")
    shell.run(f"%mlflow connect sqlite:///{tmp_path / 'second.db'}")
    assert shell.run("%%mlflow trace --quiet\n7\n") == 7
    assert "Tracing failed" not in capsys.readouterr().err
    assert traces_in(f"sqlite:///{tmp_path / 'second.db'}")


def test_trace_cell_help_prints_once_and_runs_nothing(shell, store_uri, capsys):
    shell.run("%%mlflow trace --help\nran = True\n")
    out = capsys.readouterr().out
    assert out.count("usage: %%mlflow trace") == 1
    assert "ran" not in shell.user_ns
    assert traces_in(store_uri) == []


def test_traces_dropped_by_mlflows_export_queue_are_reported(shell, store_uri, monkeypatch, capsys):
    """Either every trace is saved or the user is told one was not (MLflow's async queue drops
    traces when it is full; older MLflow exports SQLite traces synchronously and never does)."""
    monkeypatch.setenv("MLFLOW_ASYNC_TRACE_LOGGING_MAX_QUEUE_SIZE", "1")
    mlflow.tracing.reset()  # the queue is sized when MLflow's exporter is made
    try:
        shell.run(
            "import mlflow\n"
            "for i in range(300):  # traces of their own: one export task each\n"
            "    mlflow.start_span_no_context(f't{i}').end()\n"
        )
        mlflow.flush_trace_async_logging()
        shell.run("pass")  # failures logged in the background are reported under a next cell
        err = capsys.readouterr().err
    finally:
        monkeypatch.delenv("MLFLOW_ASYNC_TRACE_LOGGING_MAX_QUEUE_SIZE")
        mlflow.tracing.reset()
    saved = len(traces_in(store_uri))
    if saved < 300:
        assert "mlflow: A trace was not saved: MLflow's export queue overflowed" in err
    else:
        assert "not saved" not in err


def test_connect_prints_nothing_but_its_result(shell, tmp_path, capsys):
    shell.run(f"%mlflow connect sqlite:///{tmp_path / 'fresh.db'} --experiment new-one")
    captured = capsys.readouterr()
    assert "INFO" not in captured.err
    assert "new-one" in captured.out


def test_a_trailing_semicolon_hides_the_result_and_is_not_part_of_the_arguments(shell, tmp_path):
    import mlflow

    assert shell.run("%mlflow experiment quiet-one;") is None
    assert mlflow.get_experiment_by_name("quiet-one") is not None
    assert mlflow.get_experiment_by_name("quiet-one;") is None
    shell.run(f"%mlflow connect sqlite:///{tmp_path}/other.db ;")
    assert mlflow.get_tracking_uri() == f"sqlite:///{tmp_path}/other.db"
