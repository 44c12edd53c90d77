"""Evaluation datasets from traces (``%mlflow dataset`` / ``datasets``): unit (records,
expectations, tiers), magics (a real SQLite store of traces) and integration (the same
commands over a PostgreSQL-backed server)."""

from __future__ import annotations

import shutil
import time

import mlflow
import pandas as pd
import pytest
from IPython.core.error import UsageError
from static_html import assert_cells_align_in_jupyterlab, assert_ids_never_wrap

from mlflow_magics import commands, datasets
from mlflow_magics.datasets import EditConflict, expectations_from, records_from_traces
from mlflow_magics.views import display

SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=2">'
N = 6
#: MLflow 3.5 cannot take an expectation off a record (no ``delete_records``); clearing a field
#: is refused there, in one sentence, and nothing is saved.
CAN_CLEAR = hasattr(mlflow.entities.EvaluationDataset, "delete_records")
#: Newer MLflow refuses session records ({"goal": …}) and trace records in one dataset.
SESSION_RULE = hasattr(mlflow.entities.evaluation_dataset, "DatasetGranularity")


def make_traces(n: int = N) -> list[str]:
    """``n`` traces on the current tracking URI: root inputs {"q": …}, outputs "answer i";
    odd ones are tagged env=prod, trace 0's question and answer are hostile markup."""
    ids = []
    for i in range(n):
        root = mlflow.start_span_no_context(
            "answer",
            span_type="AGENT",
            inputs={"q": SCRIPT if i == 0 else f"question {i}"},
            tags={"env": "prod" if i % 2 else "dev"},
        )
        child = mlflow.start_span_no_context("tool", parent_span=root, inputs={"x": i})
        child.end()
        root.set_outputs(IMG if i == 0 else f"answer {i}")
        root.end()
        ids.append(root.trace_id)
    mlflow.flush_trace_async_logging()
    return ids


@pytest.fixture(scope="module")
def store_template(store_template, tmp_path_factory):
    """This module's stores start with N traces (made once, copied per test)."""
    path = tmp_path_factory.mktemp("dataset-traces") / "mlflow.db"
    shutil.copy(store_template, path)
    mlflow.set_tracking_uri(f"sqlite:///{path}")
    try:
        make_traces()
    finally:
        mlflow.set_tracking_uri(None)
    return path


def trace_ids(shell) -> list[str]:
    """Trace ids of the store, oldest first (traces of the same millisecond in any order)."""
    return list(reversed(shell.run("%mlflow traces --page-size 100").trace_ids))


def trace_id_asking(shell, question: str) -> str:
    """The id of the trace whose root span asked ``question``."""
    return next(
        i for i in trace_ids(shell) if mlflow.get_trace(i).data.spans[0].inputs == {"q": question}
    )


# -- unit ------------------------------------------------------------------------------------


def test_records_from_traces_take_root_inputs_outputs_and_the_trace_id(shell):
    # Traces made in the same millisecond have no defined order: find them by their question.
    traces = [mlflow.get_trace(i) for i in trace_ids(shell)]
    records = records_from_traces(traces)
    assert [r["source"]["source_data"]["trace_id"] for r in records] == [
        t.info.trace_id for t in traces
    ]
    by_question = {r["inputs"]["q"]: r for r in records}
    assert by_question[SCRIPT]["outputs"] == IMG
    second = by_question["question 1"]
    assert second["outputs"] == "answer 1"
    source = mlflow.get_trace(second["source"]["source_data"]["trace_id"])
    assert source.data.spans[0].inputs == {"q": "question 1"}
    assert second["source"]["source_type"] == "TRACE"


def test_expectations_from_splits_lines_and_clears_empty_values():
    assert expectations_from(expected_facts="a\n\n b \n") == {"expected_facts": ["a", "b"]}
    assert expectations_from(expected_response="", guidelines=[]) == {
        "expected_response": None,
        "guidelines": None,
    }
    assert expectations_from() == {}


@pytest.mark.parametrize(
    "line, message",
    [
        ("", "the following arguments are required"),
        ("create qa", "needs --from FILTER or --traces VAR"),
        ("show qa --from x", "show takes only NAME"),
        ("add qa --traces t --last 2h", "--last and --max go with --from"),
        ("drop qa", "invalid choice"),
        ("create qa --from a --traces t", "not allowed with"),
    ],
)
def test_dataset_flags_that_do_not_parse_are_one_usage_error(line, message):
    with pytest.raises(UsageError, match=message):
        commands.parse_dataset(line)


def test_from_filter_keeps_its_quotes():
    args = commands.parse_dataset("create 'my set' --from trace.status = 'OK' --last 2h --max 3")
    assert (args.name, args.filter, args.last, args.max_results) == (
        "my set",
        "trace.status = 'OK'",
        "2h",
        3,
    )
    assert commands.parse_dataset("add qa --from \"tag.env = 'prod'\"").filter == "tag.env = 'prod'"
    assert commands.parse_dataset("add qa --from all").filter is None


# -- magics ----------------------------------------------------------------------------------


def test_create_from_filter_builds_records_with_provenance(shell):
    ds = shell.run("%mlflow dataset create qa --from tag.env = 'prod'")
    assert ds.merge.added == 3 and ds.merge.already_present == 0
    assert "3 added, 0 already present" in ds.to_text()
    frame = ds.to_pandas()
    assert sorted(frame["outputs"]) == ["answer 1", "answer 3", "answer 5"]
    prod = set(shell.run("%mlflow traces --tag env=prod").trace_ids)
    assert set(frame["source_trace"]) == prod
    assert ds.dataset.name == "qa"


def test_create_with_last_and_max(shell):
    ds = shell.run("%mlflow dataset create recent --from all --last 1h --max 2")
    assert len(ds.records) == 2


def test_adding_the_same_traces_twice_adds_nothing(shell):
    shell.run("t = %mlflow traces")
    shell.run("t.select(t.trace_ids[:4])")
    first = shell.run("%mlflow dataset create qa --traces t")
    assert (first.merge.added, first.merge.already_present) == (4, 0)
    shell.run("t.select(t.trace_ids)")  # all six: four already there
    again = shell.run("%mlflow dataset add qa --traces t")
    assert (again.merge.added, again.merge.already_present) == (2, 4)
    third = shell.run("%mlflow dataset add qa --traces t")
    assert (third.merge.added, third.merge.already_present) == (0, 6)
    assert len(third.records) == 6
    assert "0 added, 6 already present" in third.to_text()


def test_a_trace_with_the_same_inputs_does_not_overwrite_a_record(shell):
    shell.user_ns["ids"] = [trace_id_asking(shell, "question 1")]
    shell.run("%mlflow dataset create qa --traces ids")
    root = mlflow.start_span_no_context("answer", inputs={"q": "question 1"})
    root.set_outputs("a different answer")
    root.end()
    mlflow.flush_trace_async_logging()
    shell.user_ns["ids"] = [root.trace_id]
    ds = shell.run("%mlflow dataset add qa --traces ids")
    assert (ds.merge.added, ds.merge.already_present, ds.merge.same_inputs) == (0, 1, 1)
    assert ds.records[0].outputs == "answer 1"


def test_traces_from_a_list_and_a_search_traces_dataframe(shell):
    shell.user_ns["ids"] = trace_ids(shell)[:2]
    assert len(shell.run("%mlflow dataset create a --traces ids").records) == 2
    shell.run("import mlflow")
    shell.run("df = mlflow.search_traces(max_results=3)")
    ds = shell.run("%mlflow dataset create b --traces df")
    assert len(ds.records) == 3
    assert set(ds.to_pandas()["source_trace"]) == set(shell.user_ns["df"]["trace_id"])


def test_a_table_without_selection_adds_every_match(shell):
    shell.run("t = %mlflow traces --tag env=dev --page-size 1")
    ds = shell.run("%mlflow dataset create dev --traces t")
    assert len(ds.records) == 3


def test_table_add_to_dataset_twin_reports_added_and_present(shell):
    t = shell.run("%mlflow traces")
    with pytest.raises(Exception, match="Select traces first"):
        t.add_to_dataset("picked")
    t.select(t.trace_ids[:2])
    assert t.add_to_dataset("picked").sentence() == "Created 'picked': 2 added, 0 already present."
    t.select(t.trace_ids[:3])
    result = t.add_to_dataset("picked")
    assert (result.added, result.already_present) == (1, 2)
    assert t.dataset_note == "Dataset 'picked': 1 added, 2 already present."
    assert "picked" in t.dataset_names()
    # the widget's message does the same, and reports into its traits
    widget = t.widget.children[0]
    t.select(t.trace_ids[3:4])
    widget.act({"action": "add_to_dataset", "name": "picked"})
    assert widget.dataset_note == "Dataset 'picked': 1 added, 0 already present."
    assert "picked" in widget.dataset_names and not widget.error


@pytest.mark.parametrize(
    "cell, message",
    [
        ("%mlflow dataset show qaa", r"No dataset 'qaa' .*Did you mean 'qa'\?"),
        ("%mlflow dataset add qz --from all", r"No dataset 'qz' .*Did you mean 'qa'\?"),
        ("%mlflow dataset create qa --from all", "already exists"),
        ("%mlflow dataset create x --from trace.nope = 1", "MLflow rejected the filter"),
        ("%mlflow dataset create x --from tag.env = 'nowhere'", "No traces match"),
        ("%mlflow dataset create x --traces missing", "No variable 'missing'"),
        ("%mlflow dataset create x --traces empty", "No traces to add"),
        ("%mlflow dataset create x --traces number", "not 'int'"),
        ("%mlflow dataset create main.default.qa --from all", "Unity Catalog table name"),
    ],
)
def test_bad_input_is_one_usage_error(shell, cell, message):
    shell.run("%mlflow dataset create qa --from all --max 1")
    shell.user_ns.update(empty=[], number=3)
    with pytest.raises(UsageError, match=message):
        shell.run(cell)


def test_empty_selection_of_a_table_with_no_matches(shell):
    shell.run("t = %mlflow traces tag.env = 'nowhere'")
    with pytest.raises(UsageError, match="No traces to add"):
        shell.run("%mlflow dataset create x --traces t")


def test_unity_catalog_name_says_what_it_needs(shell):
    with pytest.raises(UsageError) as info:
        shell.run("%mlflow dataset show main.eval.qa")
    message = str(info.value)
    assert "Databricks workspace" in message and "%mlflow connect databricks" in message
    assert message.count(". ") <= 1


def test_set_expectations_twin_saves_and_show_reads_it_back(shell):
    ds = shell.run("%mlflow dataset create qa --from all")
    rid = ds.records[0].record_id
    saved = ds.set_expectations(
        rid, expected_response="42", expected_facts=["a fact", "another"], guidelines="be brief"
    )
    assert saved.expectations == {
        "expected_response": "42",
        "expected_facts": ["a fact", "another"],
        "guidelines": ["be brief"],
    }
    if not CAN_CLEAR:
        with pytest.raises(Exception, match="cannot remove an expectation"):
            ds.set_expectations(rid, expected_response="")
        assert shell.run("%mlflow dataset show qa").records[0].expectations == saved.expectations
        return
    ds.set_expectations(rid, expected_response="")  # clears one field, keeps the others
    again = shell.run("%mlflow dataset show qa")
    # dropping an expectation rewrites the record: same inputs and source, same place
    record = next(r for r in again.records if r.source_trace == saved.source_trace)
    assert again.records.index(record) == [r.record_id for r in ds.records].index(
        ds.records[0].record_id
    )
    assert record.expectations == {
        "expected_facts": ["a fact", "another"],
        "guidelines": ["be brief"],
    }
    assert record.outputs == saved.outputs  # a merge must not touch outputs


def test_grid_save_message_is_the_twin(shell):
    ds = shell.run("%mlflow dataset create qa --from all")
    grid = ds.widget.children[0]
    rid = ds.records[1].record_id
    grid.act(
        {
            "action": "save",
            "record_id": rid,
            "fields": {"expected_response": "r", "expected_facts": ["f"], "guidelines": []},
        }
    )
    assert not grid.error and not grid.unsaved
    row = next(r for r in grid.page["rows"] if r["id"] == rid)
    assert (row["expected_response"], row["expected_facts"], row["guidelines"]) == ("r", ["f"], [])


def test_failed_save_stays_unsaved_with_the_reason_and_can_be_retried(shell, monkeypatch):
    ds = shell.run("%mlflow dataset create qa --from all")
    grid = ds.widget.children[0]
    rid = ds.records[0].record_id
    uri = mlflow.get_tracking_uri()
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    mlflow.set_tracking_uri("http://127.0.0.1:9")  # the store goes away
    grid.act({"action": "save", "record_id": rid, "fields": {"expected_response": "kept"}})
    assert list(grid.unsaved) == [rid]
    assert grid.unsaved[rid]["fields"] == {"expected_response": "kept"}
    assert grid.unsaved[rid]["reason"]
    assert f"unsaved edit of {rid}" in ds.to_text()
    assert "Unsaved edit of" in ds.to_html()
    mlflow.set_tracking_uri(uri)  # back
    grid.act({"action": "retry"})
    assert not grid.unsaved and not ds.unsaved
    assert shell.run("%mlflow dataset show qa").records[0].expectations == {
        "expected_response": "kept"
    }


def test_bulk_import_by_record_id_and_by_source_trace(shell):
    ds = shell.run("%mlflow dataset create qa --from all")
    frame = ds.to_pandas()
    by_record = pd.DataFrame(
        {"record_id": frame["record_id"][:2], "expected_response": ["one", "two"]}
    )
    assert ds.import_expectations(by_record) == 2
    by_trace = pd.DataFrame(
        {
            "source_trace_id": frame["source_trace"][1:3],
            "expected_facts": [["x", "y"], "z\nw"],
        }
    )
    assert ds.import_expectations(by_trace) == 2
    got = {r.record_id: r.expectations for r in shell.run("%mlflow dataset show qa").records}
    rids = list(frame["record_id"])
    assert got[rids[0]] == {"expected_response": "one"}
    assert got[rids[1]] == {"expected_response": "two", "expected_facts": ["x", "y"]}
    assert got[rids[2]] == {"expected_facts": ["z", "w"]}
    with pytest.raises(Exception, match="match no record"):
        ds.import_expectations(pd.DataFrame({"trace_id": ["tr-nope"], "guidelines": ["g"]}))


def test_datasets_lists_every_age_with_counts(shell, monkeypatch):
    shell.run("%mlflow dataset create qa-old --from all --max 2")
    shell.run("%mlflow dataset create other --from all --max 1")
    # MLflow's API cannot backdate a dataset, so move the clock instead: 30 days on, the
    # datasets are a month old and MLflow's own default search no longer sees them.
    later = time.time() + 30 * 86_400
    monkeypatch.setattr(time, "time", lambda: later)
    from mlflow.genai.datasets import search_datasets

    assert search_datasets() == []
    listing = shell.run("%mlflow datasets")
    assert sorted(listing.names) == ["other", "qa-old"]
    counts = dict(zip(listing.to_pandas()["name"], listing.to_pandas()["records"], strict=True))
    assert counts == {"qa-old": 2, "other": 1}
    assert shell.run("%mlflow datasets --name-like qa").names == ["qa-old"]
    assert "1 dataset matching 'qa'" in shell.run("%mlflow datasets --name-like qa").to_text()


def test_untrusted_content_is_escaped_in_every_tier(shell):
    display.set_mode("auto")
    ds = shell.run("%mlflow dataset create qa --from all")
    html = ds.to_html()
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html
    row = next(r for r in ds.page_payload()["rows"] if "script" in r["inputs"])
    assert SCRIPT in row["inputs"]  # raw for the JS tier, which sets textContent only
    bundle = ds._repr_mimebundle_()
    assert bundle["text/plain"].startswith("Dataset qa (")


def test_html_and_text_tiers_are_paged(shell):
    ds = shell.run("%mlflow dataset create qa --from all")
    ds.page_size = 4
    assert "2 more records" in ds.to_text()
    ds.next_page()
    assert ds.summary() == "records 5–6 of 6"
    assert "more records" not in ds.to_html()


def test_open_source_trace_from_the_grid(shell):
    ds = shell.run("%mlflow dataset create qa --from all --max 1")
    view = ds.open(ds.records[0].source_trace)
    assert view.trace_id == ds.records[0].source_trace


def test_dataset_feeds_genai_evaluate_unchanged(shell):
    from mlflow.genai.scorers import scorer

    ds = shell.run("%mlflow dataset create qa --from all")
    for record in ds.records:
        ds.set_expectations(record.record_id, expected_response=f"{record.outputs}")

    @scorer
    def exact(outputs, expectations):
        return outputs == expectations["expected_response"]

    result = mlflow.genai.evaluate(data=ds.dataset, scorers=[exact])
    assert result.metrics["exact/mean"] == 1.0


# -- all or nothing (create) -------------------------------------------------------------------


def traces_answering(outputs: list, asking: str = "mixed question") -> list[str]:
    """One trace per output, asking ``{asking} {i}`` (in the list's order)."""
    ids = []
    for i, out in enumerate(outputs):
        root = mlflow.start_span_no_context("answer", inputs={"q": f"{asking} {i}"})
        root.set_outputs(out)
        root.end()
        ids.append(root.trace_id)
    mlflow.flush_trace_async_logging()
    return ids


def test_records_whose_outputs_mix_text_and_objects_are_all_stored(shell):
    # MLflow's schema inference fails on an object output after a text one; the product orders
    # the write so the store takes both, and each record keeps its own output.
    shell.user_ns["ids"] = traces_answering(["plain text", {"answer": "an object", "n": 2}, "more"])
    ds = shell.run("%mlflow dataset create mixed --traces ids")
    assert (ds.merge.added, len(ds.records)) == (3, 3)
    outputs = {r.inputs["q"]: r.outputs for r in ds.records}
    assert outputs == {
        "mixed question 0": "plain text",
        "mixed question 1": {"answer": "an object", "n": 2},
        "mixed question 2": "more",
    }
    from mlflow.genai.scorers import scorer

    @scorer
    def has_output(outputs):
        return outputs is not None

    result = mlflow.genai.evaluate(data=ds.dataset, scorers=[has_output])
    assert result.metrics["has_output/mean"] == 1.0


def test_object_outputs_for_a_dataset_of_text_outputs_are_one_sentence_and_add_nothing(shell):
    shell.user_ns["ids"] = traces_answering(["text only"])
    shell.run("%mlflow dataset create texts --traces ids")
    shell.user_ns["ids"] = traces_answering([{"answer": "an object"}, "text again"], "later")
    with pytest.raises(UsageError, match=r"holds string outputs .*nothing was added") as info:
        shell.run("%mlflow dataset add texts --traces ids")
    assert "\n" not in str(info.value)
    assert len(shell.run("%mlflow dataset show texts").records) == 1


def test_a_create_whose_records_mlflow_refuses_leaves_nothing_and_runs_again(shell):
    # A session record ({"goal": …}) and a trace record cannot share a dataset: MLflow refuses
    # the write after the dataset was made.
    session = mlflow.start_span_no_context("chat", inputs={"goal": "book a flight"})
    session.set_outputs("booked")
    session.end()
    mlflow.flush_trace_async_logging()
    good = trace_id_asking(shell, "question 1")
    shell.user_ns.update(both=[good, session.trace_id], good=[good])
    if not SESSION_RULE:  # MLflow 3.5 has no such rule: both records are taken
        ds = shell.run("%mlflow dataset create sess --traces both")
        assert len(ds.records) == 2
        return
    with pytest.raises(UsageError, match=r"Could not write the 2 records .*nothing was kept") as e:
        shell.run("%mlflow dataset create sess --traces both")
    assert "\n" not in str(e.value)
    assert "sess" not in shell.run("%mlflow datasets").names
    ds = shell.run("%mlflow dataset create sess --traces good")  # the same name, again
    assert (ds.merge.created, len(ds.records)) == (True, 1)
    assert shell.run("%mlflow datasets").names.count("sess") == 1


def test_a_create_with_a_trace_the_store_lacks_makes_nothing(shell):
    # A trace that cannot be loaded is found before anything is made.
    shell.user_ns["ids"] = [trace_id_asking(shell, "question 1"), "tr-" + "0" * 32]
    with pytest.raises(UsageError, match=r"not in|No trace"):
        shell.run("%mlflow dataset create early --traces ids")
    assert "early" not in shell.run("%mlflow datasets").names


def test_create_takes_over_an_empty_dataset_a_failed_create_could_not_remove(shell):
    from mlflow.genai.datasets import create_dataset

    create_dataset(name="left")  # what a create whose store died before cleanup leaves
    ds = shell.run("%mlflow dataset create left --from all --max 2")
    assert len(ds.records) == 2
    assert shell.run("%mlflow datasets").names.count("left") == 1
    with pytest.raises(UsageError, match="already exists"):
        shell.run("%mlflow dataset create left --from all")


# -- edits: only what changed, never over a newer store, never a None expectation ----------------


def store_record(shell, name: str, source_trace: str):
    """The record of ``source_trace`` as the store holds it now (MLflow's own read)."""
    client = mlflow.MlflowClient()
    entity = datasets._find_entity(client, name)
    for r in client.get_dataset(entity.dataset_id).records:
        if r.source_id == source_trace:
            return r
    raise AssertionError(f"no record of {source_trace}")


def another_kernel_sets(name: str, record_id: str, **fields) -> None:
    """A write by someone else: straight to the store, no view of this kernel hears of it."""
    datasets.set_expectations(
        datasets.find_dataset(mlflow.MlflowClient(), name), record_id, **fields
    )


def row_of(grid, record_id: str) -> dict:
    return next(r for r in grid.page["rows"] if r["id"] == record_id)


def grid_save(grid, record_id: str, **fields) -> None:
    """The grid's Save, as the front-end sends it: the changed fields, with the row's version
    and values as drawn."""
    row = row_of(grid, record_id)
    drawn = {k: row[k] for k in datasets.EXPECTATION_FIELDS}
    grid.act(
        {
            "action": "save",
            "record_id": record_id,
            "fields": fields,
            "version": row["version"],
            "drawn": drawn,
        }
    )


@pytest.fixture
def curated(shell):
    """Dataset qa of every trace, its grid, and a record with a response and two facts."""
    ds = shell.run("%mlflow dataset create qa --from all")
    rid = ds.records[0].record_id
    ds.set_expectations(rid, expected_response="ours", expected_facts=["a", "b"])
    return ds, ds.widget.children[0], rid


@pytest.mark.parametrize(
    "choice, facts",
    [
        ("overwrite", ["a", "b", "mine"]),
        ("merge", ["t1", "t2", "mine"]),  # the store's facts, and the one the edit added
        ("discard", ["t1", "t2"]),
    ],
)
def test_a_save_from_a_grid_drawn_before_a_newer_write_is_refused_then_settled(
    shell, curated, choice, facts
):
    ds, grid, rid = curated
    trace = ds.records[0].source_trace
    another_kernel_sets("qa", rid, expected_response="theirs", expected_facts=["t1", "t2"])
    grid_save(grid, rid, expected_facts=["a", "b", "mine"])
    # refused: the store keeps the newer values, the grid shows them beside the edit
    stored = store_record(shell, "qa", trace)
    assert stored.expectations == {"expected_response": "theirs", "expected_facts": ["t1", "t2"]}
    conflict = grid.conflicts[rid]
    assert conflict["current"]["expected_facts"] == ["t1", "t2"]
    assert conflict["fields"] == {"expected_facts": ["a", "b", "mine"]}
    assert "changed in the store" in grid.note and not grid.error
    assert "refused edit of" in ds.to_text()
    # the user chooses
    grid.act({"action": "resolve", "record_id": rid, "choice": choice})
    assert not grid.conflicts and not grid.error
    stored = store_record(shell, "qa", trace)
    assert stored.expectations == {"expected_response": "theirs", "expected_facts": facts}
    assert row_of(grid, stored.dataset_record_id)["expected_facts"] == facts


def test_settling_a_refusal_after_yet_another_write_is_refused_again(shell, curated):
    ds, grid, rid = curated
    another_kernel_sets("qa", rid, expected_facts=["t1"])
    grid_save(grid, rid, expected_facts=["mine"])
    another_kernel_sets("qa", rid, expected_facts=["t1", "t2"])
    grid.act({"action": "resolve", "record_id": rid, "choice": "overwrite"})
    assert grid.conflicts[rid]["current"]["expected_facts"] == ["t1", "t2"]
    assert store_record(shell, "qa", ds.records[0].source_trace).expectations["expected_facts"] == [
        "t1",
        "t2",
    ]


def test_the_python_api_refuses_a_stale_edit_in_one_sentence_unless_told(shell, curated, capsys):
    ds, _grid, rid = curated
    another_kernel_sets("qa", rid, expected_facts=["t1"])
    with pytest.raises(EditConflict, match=r"changed in the store.*expected_facts now \["):
        ds.set_expectations(rid, expected_facts=["mine"])
    shell.user_ns.update(ds=ds, rid=rid)
    another_kernel_sets("qa", rid, expected_facts=["t2"])
    capsys.readouterr()
    with pytest.raises(EditConflict):  # from a cell the user sees the one sentence
        shell.run("ds.set_expectations(rid, expected_facts=['mine'])")
    shown = capsys.readouterr().err.strip()
    assert shown.startswith("UsageError: Record ") and "\n" not in shown
    saved = ds.set_expectations(rid, expected_facts=["mine"], on_conflict="merge")
    assert saved.expectations["expected_facts"] == ["t2", "mine"]


def test_a_save_writes_only_the_changed_fields(shell, curated):
    ds, grid, rid = curated
    grid_save(grid, rid, guidelines=["be brief"])
    assert store_record(shell, "qa", ds.records[0].source_trace).expectations == {
        "expected_response": "ours",
        "expected_facts": ["a", "b"],
        "guidelines": ["be brief"],
    }


def test_a_cleared_field_removes_the_expectation_and_the_dataset_still_evaluates(shell, curated):
    from mlflow.genai.scorers import scorer

    ds, grid, rid = curated
    trace = ds.records[0].source_trace
    if not CAN_CLEAR:
        before = store_record(shell, "qa", trace).expectations
        grid_save(grid, rid, expected_response="", expected_facts=["a", "b"])
        assert "cannot remove an expectation" in grid.error and "\n" not in grid.error
        assert store_record(shell, "qa", trace).expectations == before
        return
    grid_save(grid, rid, expected_response="", expected_facts=["a", "b"])
    assert store_record(shell, "qa", trace).expectations == {"expected_facts": ["a", "b"]}
    # a blank save of every field of an untouched record (what a Save of an unedited row sent)
    other = ds.records[1].record_id
    grid.act(
        {
            "action": "save",
            "record_id": other,
            "fields": {"expected_response": "", "expected_facts": [], "guidelines": []},
        }
    )
    assert not store_record(shell, "qa", ds.records[1].source_trace).expectations
    ds.set_expectations(row_of(grid, ds.records[0].record_id)["id"], expected_facts=[])
    assert not store_record(shell, "qa", trace).expectations

    @scorer
    def anything(outputs, expectations):
        return True

    result = mlflow.genai.evaluate(data=ds.dataset, scorers=[anything])
    frame = result.tables["eval_results"]
    assert len(frame) == len(ds.records)
    assert result.metrics["anything/mean"] == 1.0


def test_other_open_grids_of_the_dataset_refresh_after_a_save(shell, curated):
    _ds, grid, rid = curated
    other = shell.run("%mlflow dataset show qa")
    other_grid = other.widget.children[0]
    elsewhere = shell.run("%mlflow dataset create unrelated --from all --max 1")
    before = elsewhere.records
    grid_save(grid, rid, expected_facts=["a", "b", "c"])
    assert row_of(other_grid, rid)["expected_facts"] == ["a", "b", "c"]
    assert other.records[0].expectations["expected_facts"] == ["a", "b", "c"]
    assert elsewhere.records == before
    # the refreshed view's own edits are based on what it now shows: no refusal
    other.set_expectations(rid, expected_facts=["a"])
    assert row_of(grid, rid)["expected_facts"] == ["a"]


def test_save_all_saves_every_edit_and_refuses_only_the_stale_one(shell, curated):
    ds, grid, _rid = curated
    rows = grid.page["rows"][:3]
    another_kernel_sets("qa", rows[2]["id"], guidelines=["theirs"])
    edits = [
        {
            "record_id": r["id"],
            "fields": {"expected_response": f"answer {i}"},
            "version": r["version"],
            "drawn": {k: r[k] for k in datasets.EXPECTATION_FIELDS},
        }
        for i, r in enumerate(rows)
    ]
    grid.act({"action": "save_all", "edits": edits})
    assert list(grid.conflicts) == [rows[2]["id"]]
    assert grid.note.startswith("Saved the expectations of 2 records; record ")
    got = {r.record_id: r.expectations.get("expected_response") for r in ds.records}
    assert (got[rows[0]["id"]], got[rows[1]["id"]]) == ("answer 0", "answer 1")
    assert got[rows[2]["id"]] is None


# -- integration -----------------------------------------------------------------------------


@pytest.mark.integration
def test_dataset_from_traces_over_the_server(shell, mlflow_server):
    shell.run(f"%mlflow connect {mlflow_server.uri} --experiment datasets-it")
    make_traces(3)
    name = f"it-{time.time_ns()}"
    ds = shell.run(f"%mlflow dataset create {name} --from all --last 1h")
    assert (ds.merge.added, ds.merge.already_present) == (3, 0)
    again = shell.run(f"%mlflow dataset add {name} --from all --last 1h")
    assert (again.merge.added, again.merge.already_present) == (0, 3)
    rid = again.records[0].record_id
    again.set_expectations(rid, expected_facts=["over http"])
    shown = shell.run(f"%mlflow dataset show {name}")
    assert next(r for r in shown.records if r.record_id == rid).expectations == {
        "expected_facts": ["over http"]
    }
    assert name in shell.run(f"%mlflow datasets --name-like {name}").names
    with pytest.raises(UsageError, match="Did you mean"):
        shell.run(f"%mlflow dataset show {name}x")


def test_grid_cells_stay_left_aligned_in_jupyterlab_and_ids_do_not_wrap(shell):
    ds = shell.run("%mlflow dataset create qa --from all")
    html = ds.to_html()
    assert_cells_align_in_jupyterlab(html)
    assert assert_ids_never_wrap(html) >= len(ds.records[:5])
    assert_cells_align_in_jupyterlab(shell.run("%mlflow datasets").to_html())
