"""Build hook: bundle the widgets' front-end (``widgets/``) into ``mlflow_magics/static/``.

Runs for wheels, editable installs and sdists. It needs Node and npm only where the bundles are
missing or older than their sources: an sdist carries built bundles, so installing one (or the
wheel) needs no Node. ``MLFLOW_MAGICS_SKIP_JS=1`` skips the build (the bundles must exist).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

try:
    from hatchling.builders.hooks.plugin.interface import BuildHookInterface
except ImportError:  # imported by tests/test_widget_contracts.py, outside a build
    BuildHookInterface = object  # type: ignore[assignment,misc]

ROOT = Path(__file__).resolve().parent
WIDGETS = ROOT / "widgets"
STATIC = ROOT / "mlflow_magics" / "static"


def bundles_fresh(widgets: Path = WIDGETS, static: Path = STATIC) -> bool:
    """True when every bundle exists and was built from the sources as they are now."""
    manifest = static / "manifest.json"
    if not manifest.is_file():
        return False
    built = json.loads(manifest.read_text())
    for name in built.get("widgets", []):
        if not (static / f"{name}.js").is_file() or not (static / f"{name}.css").is_file():
            return False
    if not widgets.is_dir():  # an sdist without sources: the bundles are what there is
        return True
    for rel, digest in built.get("sources", {}).items():
        path = widgets / rel
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            return False
    entries = sorted(p.parent.name for p in widgets.glob("*/index.js"))
    return entries == sorted(built.get("widgets", []))


def build_widgets() -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            "Building mlflow-magics from source needs Node.js and npm to bundle widgets/ "
            "(Debian: apt-get install nodejs npm). Wheels and sdists from PyPI need neither."
        )
    if not (WIDGETS / "node_modules" / ".package-lock.json").is_file():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=WIDGETS, check=True)
    subprocess.run([npm, "run", "build"], cwd=WIDGETS, check=True)


class WidgetsBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict) -> None:
        if os.environ.get("MLFLOW_MAGICS_SKIP_JS") != "1" and not bundles_fresh():
            build_widgets()
        if not bundles_fresh():
            raise RuntimeError(f"The widget bundles in {STATIC} are missing or stale.")
        build_data.setdefault("artifacts", []).append("mlflow_magics/static/*")
