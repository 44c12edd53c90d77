"""The alias board (``%mlflow prompts|models``, ``%mlflow alias``, ``%mlflow diff prompt``):
unit (parsing, alias rules, diffs, tiers) and magics (a real SQLite registry with prompt
versions, evaluation runs linked to them by MLflow, and a registered model)."""

from __future__ import annotations

import inspect
import json
import shutil
from html.parser import HTMLParser

import mlflow
import pytest
from IPython.core.error import UsageError
from static_html import assert_cells_align_in_jupyterlab

from mlflow_magics import commands, registry
from mlflow_magics.views import display

SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=2">'
TEMPLATES = [
    "You answer questions about MLflow.\nQuestion: {{question}}",
    "You answer questions about MLflow, briefly.\nQuestion: {{question}}",
    f"You answer questions about MLflow, briefly.\n{SCRIPT}\nQuestion: {{{{question}}}}",
]
MESSAGES = ["first", "shorter answers", f"hostile {IMG}"]
#: Prompt versions carry a model config from newer MLflow on (not 3.5); a response format always.
HAS_MODEL_CONFIG = "model_config" in inspect.signature(mlflow.genai.register_prompt).parameters
FORMAT = {"type": "object", "properties": {"answer": {"type": "string"}}}


def settings(i: int) -> dict:
    """Version ``i + 1``'s settings: v3 adds a response format and raises the temperature."""
    out: dict = {"response_format": FORMAT if i == 2 else None}
    if HAS_MODEL_CONFIG:
        out["model_config"] = {"temperature": 0.0 if i < 2 else 0.7, "max_tokens": 200}
    return out


#: Mean of the `correct` scorer in the evaluation run linked to each prompt version.
CORRECT = {1: 1.0, 2: 1.0, 3: 0.5}


def build_registry(uri: str) -> None:
    """Prompt `qa` (3 versions, each evaluated in a run MLflow links to it), prompt `other`,
    and model `clf` (2 versions whose source runs logged `correct/mean`)."""
    from mlflow.genai.scorers import scorer

    registry_uri = mlflow.get_registry_uri()  # `%mlflow connect` sets it in earlier tests
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        for i, template in enumerate(TEMPLATES):
            mlflow.genai.register_prompt(
                "qa",
                template=template,
                commit_message=MESSAGES[i],
                **settings(i),
            )
        mlflow.genai.register_prompt("other", template="Hi {{name}}", commit_message="one")
        mlflow.set_experiment("qa-evals")
        for version, correct in CORRECT.items():

            @scorer
            def correct_answer(outputs) -> bool:
                return outputs == "right"

            answers = ["right", "right" if correct == 1.0 else "wrong"]

            def predict(question: str, _v=version, _answers=answers) -> str:
                mlflow.genai.load_prompt(f"prompts:/qa/{_v}")  # links the version to the run
                return _answers[0] if question == "q0" else _answers[1]

            with mlflow.start_run(run_name=f"eval-v{version}"):
                mlflow.genai.evaluate(
                    data=[{"inputs": {"question": "q0"}}, {"inputs": {"question": "q1"}}],
                    predict_fn=predict,
                    scorers=[correct_answer],
                )
        client = mlflow.MlflowClient()
        client.create_registered_model("clf")
        for i, correct in enumerate([0.9, 0.7]):
            with mlflow.start_run(run_name=f"train-{i}") as run:
                mlflow.log_metric("correct/mean", correct)
                mlflow.log_metric("loss", 1 - correct)
            client.create_model_version(
                "clf",
                source=f"{run.info.artifact_uri}/model",
                run_id=run.info.run_id,
                description=f"model {i + 1}",
            )
    finally:
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(registry_uri)


@pytest.fixture(scope="module")
def store_template(store_template, tmp_path_factory):
    """This module's stores start with the registry above (built once, copied per test)."""
    path = tmp_path_factory.mktemp("alias-board") / "mlflow.db"
    shutil.copy(store_template, path)
    build_registry(f"sqlite:///{path}")
    return path


@pytest.fixture
def client(shell, store_uri):
    return mlflow.MlflowClient(tracking_uri=store_uri)


def points_at(client, name: str, alias: str, kind: str = "prompt") -> int:
    if kind == "model":
        return int(client.get_model_version_by_alias(name, alias).version)
    return int(client.get_prompt_version_by_alias(name, alias).version)


class Elements(HTMLParser):
    """Tags and text of an HTML document, as a browser would parse them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


# -- unit ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["prompt", "qa", "production"], "VERSION is missing"),
        (["prompt", "qa", "production", "3", "--force"], "--force overrides --gate"),
        (["prompt", "qa", "production", "3", "--delete"], "--delete takes only NAME and ALIAS"),
        (["prompt", "qa", "production", "--delete", "--undo"], "do not go together"),
        (["dataset", "qa", "production", "3"], "invalid choice"),
    ],
)
def test_alias_flags_that_do_not_parse_are_one_usage_error(argv, message):
    with pytest.raises(UsageError, match=message):
        commands.parse_alias(argv)


def test_board_and_version_diff_parse():
    assert commands.parse_board("prompt", ["qa"]) == commands.BoardArgs("prompt", "qa", None)
    assert commands.parse_board("model", ["--like", "cl"]).like == "cl"
    with pytest.raises(UsageError, match="NAME or --like"):
        commands.parse_board("prompt", ["qa", "--like", "q"])
    args = commands.parse_version_diff(["prompt", "qa", "1", "v3"])
    assert (args.kind, args.name, args.version_a, args.version_b) == ("prompt", "qa", "1", "v3")


@pytest.mark.parametrize(
    ("alias", "message"),
    [
        ("latest", "'latest' is reserved"),
        ("LATEST", "'latest' is reserved"),
        ("v2", "reads as a version number"),
        ("prod env", "only letters, digits, _ and -"),
        ("a" * 256, "at most 255 characters"),
        ("", "it is empty"),
    ],
)
def test_aliases_mlflow_refuses_are_refused_first(alias, message):
    with pytest.raises(registry.BadInput, match=message):
        registry.check_alias(alias)


def test_aliases_mlflow_takes_are_taken():
    for alias in ("production", "staging-2", "champion_b", "v2beta"):
        assert registry.check_alias(alias) == alias


def test_history_tags_read_back_newest_first_and_skip_malformed_ones():
    move = registry.Move("production", 2, 3, "ana", "2026-01-01T00:00:00+00:00", gate="passed")
    tags = {
        f"{registry.HISTORY_PREFIX}0000000000001.aa": json.dumps(move.to_json()),
        f"{registry.HISTORY_PREFIX}0000000000002.bb": "{not json",
        f"{registry.HISTORY_PREFIX}0000000000003.cc": json.dumps(
            registry.Move("staging", None, 1, "bo", "t").to_json()
        ),
        "other": "x",
    }
    moves = registry.moves_from_tags(tags)
    assert [m.arrow() for m in moves] == ["staging: (none) → v1", "production: v2 → v3"]
    assert moves[1] == move


def test_databricks_names_are_unity_catalog_names():
    with pytest.raises(registry.BadInput, match=r"catalog\.schema\.qa"):
        registry.check_name("prompt", "qa", "databricks")
    assert registry.check_name("prompt", "main.default.qa", "databricks") == "main.default.qa"
    assert registry.check_name("prompt", "qa", "sqlite:///mlflow.db") == "qa"
    assert registry._uc_scope("prompt", "main.prompts.qa%") == (
        "catalog = 'main' AND schema = 'prompts'",
        "qa%",
    )
    with pytest.raises(registry.BadInput, match="scoped to one Unity Catalog schema"):
        registry._uc_scope("prompt", None)


# -- magics: the board -----------------------------------------------------------------------


def test_prompt_board_shows_versions_with_aliases_drawn_on_them(shell):
    shell.run("%mlflow alias prompt qa production 2")
    shell.run("%mlflow alias prompt qa staging 3")
    board = shell.run("%mlflow prompts qa")
    assert board.versions == [3, 2, 1]
    assert board.aliases == {"production": 2, "staging": 3}
    v1 = board.board.version(1)
    assert v1.message == "first"
    assert v1.template == TEMPLATES[0]
    assert v1.model_config == settings(0).get("model_config")
    assert board.board.version(3).response_format == FORMAT
    text = board.to_text()
    assert "aliases: production → v2, staging → v3, latest → v3" in text
    assert "v3  [staging, latest]" in text
    assert "v2  [production]" in text
    assert repr(board).startswith("<AliasBoard prompt 'qa' 3 versions")


def test_registry_listing_and_like(shell):
    listing = shell.run("%mlflow prompts")
    assert listing.names == ["other", "qa"]
    assert shell.run("%mlflow prompts --like q").names == ["qa"]
    assert shell.run("%mlflow models").names == ["clf"]
    listing.open("qa")  # what clicking a name does
    assert listing.versions == [3, 2, 1]


def test_model_board_shows_source_runs_and_key_metrics(shell):
    shell.run("%mlflow alias model clf champion 1")
    board = shell.run("%mlflow models clf")
    assert board.versions == [2, 1]
    assert board.aliases == {"champion": 1}
    v1 = board.board.version(1)
    assert v1.run_id
    assert dict(v1.metrics)["correct/mean"] == pytest.approx(0.9)
    assert v1.metrics[0][0] == "correct/mean"  # scorer means first
    assert "champion" in board.to_text()


# -- magics: moving -------------------------------------------------------------------------


def test_alias_line_moves_and_prints_before_and_after(shell, client):
    first = shell.run("%mlflow alias prompt qa production 2")
    assert first.to_text() == "prompt 'qa': production: (none) → v2 (moved)."
    second = shell.run("%mlflow alias prompt qa production v3")
    assert (second.before, second.after) == (2, 3)
    assert "production: v2 → v3" in second._repr_mimebundle_()["text/plain"]
    assert points_at(client, "qa", "production") == 3
    again = shell.run("%mlflow alias prompt qa production 3")
    assert "already points at v3; nothing moved" in again.to_text()


def test_every_move_is_recorded_with_who_and_when(shell, client, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME", raising=False)
    monkeypatch.setenv("LOGNAME", "ana")  # the login name MLflow records as mlflow.user
    shell.run("%mlflow alias prompt qa production 1")
    shell.run("%mlflow alias prompt qa production 2")
    board = shell.run("%mlflow prompts qa")
    history = board.history("production")
    assert [(m.before, m.after) for m in history] == [(1, 2), (None, 1)]
    assert {m.user for m in history} == {"ana"}
    assert history[0].time.endswith("+00:00")
    assert "history of production:" in board.to_text()
    assert "v1 → v2 by ana at" in board.to_text()


def test_history_is_bounded(shell, monkeypatch):
    monkeypatch.setattr(registry, "HISTORY_MAX", 3)
    for version in (1, 2, 3, 1, 2):
        shell.run(f"%mlflow alias prompt qa production {version}")
    moves = shell.run("%mlflow prompts qa").history("production")
    assert [(m.before, m.after) for m in moves] == [(1, 2), (3, 1), (2, 3)]


def test_model_aliases_move_and_undo(shell, client):
    shell.run("%mlflow alias model clf champion 1")
    shell.run("%mlflow alias model clf champion 2")
    assert points_at(client, "clf", "champion", "model") == 2
    undone = shell.run("%mlflow alias model clf champion --undo")
    assert undone.to_text() == "model 'clf': champion: v2 → v1 (undone)."
    assert points_at(client, "clf", "champion", "model") == 1


def test_undo_of_a_new_alias_deletes_it_and_delete_is_recorded(shell, client):
    shell.run("%mlflow alias prompt qa staging 1")
    shell.run("%mlflow alias prompt qa staging --undo")
    assert "staging" not in shell.run("%mlflow prompts qa").aliases
    shell.run("%mlflow alias prompt qa canary 3")
    deleted = shell.run("%mlflow alias prompt qa canary --delete")
    assert deleted.to_text() == "prompt 'qa': canary: v3 → (none) (deleted)."
    board = shell.run("%mlflow prompts qa")
    assert "canary" not in board.aliases
    assert board.history("canary")[0].after is None


def test_undo_refuses_after_a_move_nobody_recorded(shell, client):
    shell.run("%mlflow alias prompt qa production 1")
    shell.run("%mlflow alias prompt qa production 2")
    client.set_prompt_alias("qa", "production", 3)  # raw MLflow: no record
    with pytest.raises(UsageError, match=r"points at v3, not at v2 .* moved without a record"):
        shell.run("%mlflow alias prompt qa production --undo")
    board = shell.run("%mlflow prompts qa")
    with pytest.raises(registry.BadInput, match="moved without a record"):
        board.undo("production")
    assert points_at(client, "qa", "production") == 3


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("%mlflow prompts qq", r"No prompt 'qq' in .*Did you mean 'qa'\?"),
        ("%mlflow models clff", r"No model 'clff' in .*Did you mean 'clf'\?"),
        ("%mlflow models qa", r"No model 'qa'"),
        ("%mlflow prompts clf", r"'clf' is a registered model, not a prompt"),
        ("%mlflow alias prompt qa production 9", r"no version 9; it has versions v1–v3\. Did"),
        ("%mlflow alias prompt qa production prod", r"not a number or an alias"),
        ("%mlflow alias prompt qa prodution --delete", r"has no alias 'prodution'"),
        ("%mlflow alias prompt qaa production 1", r"Did you mean 'qa'\?"),
        ("%mlflow alias prompt qa latest 1", "'latest' is reserved"),
        ("%mlflow alias prompt qa v1 1", "reads as a version number"),
        ("%mlflow alias prompt qa 'prod env' 1", "only letters, digits"),
        ("%mlflow alias prompt qa production --undo", "No recorded move of 'production'"),
        ("%mlflow diff prompt qa 1 7", r"has no version 7"),
        ("%mlflow diff prompt qa 1 staging", r"neither a version number nor an alias"),
    ],
)
def test_bad_input_is_one_usage_error(shell, cell, message):
    with pytest.raises(UsageError, match=message):
        shell.run(cell)


def test_did_you_mean_names_a_close_alias(shell):
    shell.run("%mlflow alias prompt qa production 1")
    with pytest.raises(UsageError, match=r"Did you mean 'production'\?"):
        shell.run("%mlflow alias prompt qa prodution --delete")


def test_refused_alias_names_make_no_call(shell, client):
    with pytest.raises(UsageError):
        shell.run("%mlflow alias prompt qa latest 1")
    board = shell.run("%mlflow prompts qa")
    assert board.aliases == {}
    assert board.board.moves == ()


# -- stale boards ----------------------------------------------------------------------------


def test_a_stale_board_refuses_the_move_and_refreshes(shell, client):
    shell.run("%mlflow alias prompt qa production 1")
    mine = shell.run("%mlflow prompts qa")
    theirs = shell.run("%mlflow prompts qa")  # another notebook, same state
    theirs.move("production", 3)
    theirs.confirm()
    mine.move("production", 2)
    with pytest.raises(registry.StaleAlias, match="points at v3 now, not v1"):
        mine.confirm()
    assert points_at(client, "qa", "production") == 3  # no blind overwrite
    assert mine.aliases["production"] == 3  # the board refreshed
    assert mine.pending is None
    mine.move("production", 2)  # against the fresh board it goes through
    mine.confirm()
    assert points_at(client, "qa", "production") == 2


def test_racing_boards_exactly_one_wins(shell, store_uri):
    boards = [shell.run("%mlflow prompts qa") for _ in range(2)]
    boards[0].move("production", 2)
    boards[1].move("production", 3)
    boards[0].confirm()
    with pytest.raises(registry.StaleAlias, match=r"points at v2 now, not \(none\)"):
        boards[1].confirm()
    assert [(m.before, m.after) for m in boards[1].history("production")] == [(None, 2)]


# -- gate ------------------------------------------------------------------------------------


def test_gate_passes_when_no_shared_scorer_regressed(shell, client):
    shell.run("%mlflow alias prompt qa production 1")
    moved = shell.run("%mlflow alias prompt qa production 2 --gate")
    assert moved.to_text().startswith("prompt 'qa': production: v1 → v2 (moved, gate passed).")
    assert "correct_answer" in moved.to_text()
    history = shell.run("%mlflow prompts qa").history("production")
    assert history[0].gate == "passed: 1 scorer(s), none regressed"


def test_gate_refuses_a_regression_with_a_table(shell, client):
    shell.run("%mlflow alias prompt qa production 2")
    with pytest.raises(UsageError) as refused:
        shell.run("%mlflow alias prompt qa production 3 --gate")
    text = str(refused.value)
    assert text.startswith("Gate refused production: v2 → v3: 1 scorer(s) regressed")
    assert "correct_answer" in text
    assert "1.000" in text and "0.500" in text and "-0.500" in text
    assert points_at(client, "qa", "production") == 2


def test_force_moves_past_the_gate_and_is_recorded(shell, client):
    shell.run("%mlflow alias prompt qa production 2")
    forced = shell.run("%mlflow alias prompt qa production 3 --gate --force")
    assert "(moved, forced past the gate)" in forced.to_text()
    assert points_at(client, "qa", "production") == 3
    last = shell.run("%mlflow prompts qa").history("production")[0]
    assert last.forced
    assert last.gate == "regressed: correct_answer 1 → 0.5"


def test_gate_without_evaluations_says_so(shell):
    with pytest.raises(UsageError, match=r"points at no version yet.*--force"):
        shell.run("%mlflow alias prompt qa production 2 --gate")
    mlflow.genai.register_prompt("qa", template="v4 {{question}}")
    shell.run("%mlflow alias prompt qa production 3")
    with pytest.raises(UsageError, match=r"no evaluation run with scorer means is linked to v4"):
        shell.run("%mlflow alias prompt qa production 4 --gate")


def test_model_gate_reads_the_source_runs(shell):
    shell.run("%mlflow alias model clf champion 1")
    with pytest.raises(UsageError, match=r"correct.*0\.900.*0\.700"):
        shell.run("%mlflow alias model clf champion 2 --gate")


# -- diff -----------------------------------------------------------------------------------


def test_diff_prompt_gives_template_lines_and_settings(shell):
    view = shell.run("%mlflow diff prompt qa 1 3")
    assert ("-", "You answer questions about MLflow.") in view.lines
    assert ("+", SCRIPT) in view.lines
    assert ("response_format.type", None, "object") in view.settings
    if HAS_MODEL_CONFIG:
        assert ("model_config.temperature", 0.0, 0.7) in view.settings
    text = view._repr_mimebundle_()["text/plain"]
    assert text.startswith(
        f"Diff prompt qa v1 → v3: +2 −1 lines, {len(view.settings)} setting(s) changed"
    )
    assert "~ response_format.type: — → object" in text
    board = shell.run("%mlflow prompts qa")
    assert board.diff(1, 3).lines == view.lines  # the board's diff is the same diff
    assert shell.run("%mlflow diff prompt qa latest v3").diff.same


def test_diff_of_traces_still_works(shell):
    shell.run("%%mlflow trace --quiet\n1 + 1")
    view = shell.run("%mlflow diff last last")
    assert type(view).__name__ == "DiffView"


def test_model_diff_compares_runs_and_metrics(shell):
    view = shell.run("%mlflow diff model clf 1 2")
    keys = [k for k, _, _ in view.settings]
    assert "metric.correct/mean" in keys
    assert "run_id" in keys


# -- tiers and escaping ----------------------------------------------------------------------


def test_untrusted_templates_and_messages_are_escaped_in_every_tier(shell):
    shell.run("%mlflow alias prompt qa production 3")
    board = shell.run("%mlflow prompts qa")
    board.diff(2, 3)
    diff_html = shell.run("%mlflow diff prompt qa 2 3")._repr_mimebundle_()["text/html"]
    for html in (board.to_html(), diff_html):
        parsed = Elements(html)
        assert "script" not in parsed.tags
        assert "img" not in parsed.tags
        assert SCRIPT in "".join(parsed.text)
    assert IMG in "".join(Elements(board.to_html()).text)
    assert SCRIPT in board.to_text() and IMG in board.to_text()
    payload = board.widget.board  # the widget gets text; its front-end sets textContent
    assert payload["versions"][0]["template"].count(SCRIPT) == 1
    assert payload["versions"][0]["message"] == MESSAGES[2]


def test_static_html_keeps_versions_and_histories_in_details(shell):
    shell.run("%mlflow alias prompt qa production 1")
    shell.run("%mlflow alias prompt qa production 2")
    parsed = Elements(shell.run("%mlflow prompts qa").to_html())
    assert parsed.tags.count("details") == 3 + 1  # three versions, one history
    assert "mlfm-alias" in shell.run("%mlflow prompts qa").to_html()


def test_display_modes(shell):
    board = shell.run("%mlflow prompts qa")
    display.set_mode("text")
    try:
        assert set(board._repr_mimebundle_()) == {"text/plain"}
        display.set_mode("widget")
        bundle = board._repr_mimebundle_()
        assert display.WIDGET_MIME in bundle and "text/html" in bundle
    finally:
        display.set_mode("auto")


# -- widget twins ----------------------------------------------------------------------------


def test_widget_move_waits_for_confirm(shell, client):
    shell.run("%mlflow alias prompt qa production 2")
    board = shell.run("%mlflow prompts qa")
    w = board.widget
    w.act({"action": "move", "alias": "production", "version": 3})
    assert w.pending["text"] == "production: v2 → v3"
    assert points_at(client, "qa", "production") == 2  # nothing moved yet
    w.act({"action": "cancel"})
    assert w.pending == {}
    assert points_at(client, "qa", "production") == 2
    w.act({"action": "move", "alias": "production", "version": 3})
    w.act({"action": "confirm"})
    assert points_at(client, "qa", "production") == 3
    assert w.error == ""
    assert w.note == "prompt 'qa': production: v2 → v3 (moved)."
    assert w.board["aliases"] == {"production": 3}
    assert w.board["history"]["production"][0]["text"].startswith("v2 → v3 by ")
    w.act({"action": "undo", "alias": "production"})
    assert w.pending["text"] == "production: v3 → v2"
    w.act({"action": "confirm"})
    assert points_at(client, "qa", "production") == 2


def test_widget_reports_a_stale_move_and_shows_the_fresh_board(shell, client):
    board = shell.run("%mlflow prompts qa")
    w = board.widget
    shell.run("%mlflow alias prompt qa production 1")  # elsewhere, after the board was drawn
    w.act({"action": "move", "alias": "production", "version": 3})
    w.act({"action": "confirm"})
    assert "moved since the board was drawn: it points at v1 now" in w.error
    assert w.board["aliases"] == {"production": 1}
    assert points_at(client, "qa", "production") == 1


def test_widget_gate_refuses_then_force_moves(shell, client):
    shell.run("%mlflow alias prompt qa production 2")
    w = shell.run("%mlflow prompts qa").widget
    w.act({"action": "move", "alias": "production", "version": 3, "gate": True})
    w.act({"action": "confirm"})
    assert w.error.startswith("Gate refused production: v2 → v3")
    assert points_at(client, "qa", "production") == 2
    w.act({"action": "move", "alias": "production", "version": 3, "gate": True, "force": True})
    w.act({"action": "confirm"})
    assert w.error == ""
    assert points_at(client, "qa", "production") == 3
    assert w.board["history"]["production"][0]["forced"]


def test_widget_diff_delete_open_and_refused_names(shell, client):
    shell.run("%mlflow alias prompt qa staging 1")
    listing = shell.run("%mlflow prompts")
    w = listing.widget
    assert [e["name"] for e in w.board["listing"]] == ["other", "qa"]
    w.act({"action": "open", "name": "qa"})
    assert w.board["name"] == "qa"
    w.act({"action": "diff", "a": 1, "b": 2})
    assert ["-", "You answer questions about MLflow."] in w.diff["lines"]
    w.act({"action": "move", "alias": "latest", "version": 2})
    assert "'latest' is reserved" in w.error
    assert w.pending == {}
    w.act({"action": "delete", "alias": "staging"})
    assert w.pending["text"] == "staging: v1 → (none)"
    w.act({"action": "confirm"})
    assert "staging" not in w.board["aliases"]
    w.act({"action": "refresh"})
    assert w.error == ""


def test_help_and_completion_name_the_new_subcommands(shell, capsys):
    assert shell.run("%mlflow alias --help") is None
    assert "--gate" in capsys.readouterr().out
    shell.run("%mlflow --help")
    usage = capsys.readouterr().out
    for name in ("prompts", "models", "alias"):
        assert f"\n  {name} " in usage
    assert "--undo" in commands.completions("%mlflow alias ")
    assert "prompt" in commands.completions("%mlflow diff ")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("%mlflow prompts", r"^Cannot read prompts: http://127.0.0.1:\d+ is not reachable"),
        ("%mlflow models qa", r"^Cannot read models: http://127.0.0.1:\d+ is not reachable"),
        (
            "%mlflow alias prompt qa production 2",
            r"^Cannot move aliases: http://127.0.0.1:\d+ is not reachable",
        ),
    ],
)
def test_a_dead_registry_server_is_one_sentence(shell, line, message):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    shell.run(f"%mlflow connect http://127.0.0.1:{dead}")
    with pytest.raises(UsageError, match=message):
        shell.run(line)


def test_widget_confirm_on_a_dead_server_is_refused_at_once_and_moves_nothing(shell, client):
    """MLflow would retry a dead server for minutes; the widget asks /health first."""
    import socket
    import time

    shell.run("%mlflow alias prompt qa production 2")
    board = shell.run("%mlflow prompts qa")
    w = board.widget
    w.act({"action": "move", "alias": "production", "version": 3})
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    live = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"http://127.0.0.1:{dead}")  # the server went away
    try:
        started = time.monotonic()
        w.act({"action": "confirm"})
        assert time.monotonic() - started < 5
    finally:
        mlflow.set_tracking_uri(live)
    assert w.error.startswith(
        f"Cannot reach the tracking server: http://127.0.0.1:{dead} is not reachable ("
    )
    assert w.error.endswith("nothing was changed.")
    assert points_at(client, "qa", "production") == 2
    w.act({"action": "confirm"})  # the server is back: the pending move goes through
    assert w.error == "" and points_at(client, "qa", "production") == 3


def test_board_cells_stay_left_aligned_in_jupyterlab(shell):
    shell.run("%mlflow alias prompt qa production 2")
    assert_cells_align_in_jupyterlab(shell.run("%mlflow prompts").to_html())
