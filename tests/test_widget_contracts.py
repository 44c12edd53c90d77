"""Front-end tier, Python side: every widget's synced traits and action messages match the
contract written in ``widgets/<name>/model.d.ts``, and the shipped bundles are built from the
sources as they are now."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import anywidget
import pytest

from mlflow_magics.views.action_widget import STATIC, ActionWidget
from mlflow_magics.views.alias_board_widget import AliasBoardWidget
from mlflow_magics.views.chat_widget import ChatWidget
from mlflow_magics.views.dataset_widget import DatasetWidget
from mlflow_magics.views.eval_widget import EvalWidget
from mlflow_magics.views.trace_table_widget import TraceTableWidget
from mlflow_magics.views.trace_widget import TraceWidget

REPO = Path(__file__).resolve().parent.parent
WIDGETS = REPO / "widgets"
CLASSES = [TraceWidget, TraceTableWidget, EvalWidget, DatasetWidget, AliasBoardWidget, ChatWidget]


def _hook():
    spec = importlib.util.spec_from_file_location("hatch_build", REPO / "hatch_build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _block(source: str, opening: str) -> str:
    """The text of the brace block that follows ``opening`` (nested braces included)."""
    start = source.index(opening) + len(opening)
    depth, i = 1, start
    while depth:
        depth += {"{": 1, "}": -1}.get(source[i], 0)
        i += 1
    return source[start : i - 1]


def contract(name: str) -> tuple[set[str], set[str]]:
    """(trait names, action names) that ``widgets/<name>/model.d.ts`` declares."""
    source = (WIDGETS / name / "model.d.ts").read_text()
    source = re.sub(r"/\*.*?\*/|//[^\n]*", "", source, flags=re.S)
    body = _block(source, "export interface Model {")
    traits, depth = set(), 0
    for line in body.splitlines():
        if depth == 0 and (m := re.match(r"\s*(\w+)\??:", line)):
            traits.add(m.group(1))
        depth += line.count("{") - line.count("}")
    action_type = re.search(r"export type Action =(.*?);\s*(?:$|export)", source, re.S)
    assert action_type, f"{name}/model.d.ts declares no Action type"
    actions = set(re.findall(r'action:\s*"(\w+)"', action_type.group(1)))
    return traits, actions


def synced_traits(cls) -> set[str]:
    base = set(anywidget.AnyWidget.class_trait_names(sync=True))
    return set(cls.class_trait_names(sync=True)) - base


def test_every_widget_folder_has_one_class():
    folders = {p.parent.name for p in WIDGETS.glob("*/index.js")}
    assert folders == {cls.bundle_name for cls in CLASSES}


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_traits_match_the_written_contract(cls):
    traits, _ = contract(cls.bundle_name)
    assert synced_traits(cls) == traits


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_actions_match_the_written_contract(cls):
    _, actions = contract(cls.bundle_name)
    python = cls.actions() if issubclass(cls, ActionWidget) else set()
    assert python == actions


def test_contract_parser_sees_a_drifted_trait(tmp_path, monkeypatch):
    """The check above can fail: a trait renamed in model.d.ts is reported."""
    copy = tmp_path / "widgets"
    shutil.copytree(WIDGETS / "eval_view", copy / "eval_view")
    text = (copy / "eval_view" / "model.d.ts").read_text()
    (copy / "eval_view" / "model.d.ts").write_text(text.replace("  header: {", "  head: {"))
    monkeypatch.setattr(sys.modules[__name__], "WIDGETS", copy)
    traits, _ = contract("eval_view")
    assert "head" in traits and "header" not in traits
    assert synced_traits(EvalWidget) != traits


def test_bundles_are_built_from_the_current_sources():
    assert _hook().bundles_fresh(), (
        "widgets/ changed since the last build: run `npm run build` in widgets/"
    )


def test_an_edited_source_makes_the_bundles_stale(tmp_path):
    widgets, static = tmp_path / "widgets", tmp_path / "static"
    shutil.copytree(WIDGETS, widgets, ignore=shutil.ignore_patterns("node_modules"))
    shutil.copytree(STATIC, static)
    hook = _hook()
    assert hook.bundles_fresh(widgets, static)
    lib = widgets / "lib" / "format.js"
    lib.write_text(lib.read_text() + "\n// edited\n")
    assert not hook.bundles_fresh(widgets, static)


def test_the_wheel_ships_the_bundles(tmp_path):
    """A wheel carries every bundle (users need no Node); built here without rebuilding them."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
        check=True,
        env={**os.environ, "MLFLOW_MAGICS_SKIP_JS": "1"},
    )
    (wheel,) = tmp_path.glob("mlflow_magics-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for cls in CLASSES:
        assert f"mlflow_magics/static/{cls.bundle_name}.js" in names
        assert f"mlflow_magics/static/{cls.bundle_name}.css" in names
