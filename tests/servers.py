"""Pytest fixtures that start real servers: PostgreSQL, ``mlflow server``, JupyterLab, Chromium.

Loaded as a plugin (``pytest_plugins = ["servers"]``). Every fixture stands alone and is
session-scoped, except ``page``. Servers run in their own process group on 127.0.0.1 with a free
port, log to a file under pytest's temp dir, and are killed with their children at teardown.

A missing or unreachable server is a failure, never a skip: CI must not go green on a tier it did
not run. Heavy imports (psycopg, playwright) happen inside the fixtures, so the unit and magics
tiers do not pay for them.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
# Flags Debian's Chromium needs to run headless as root in a container without reaching out.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# The first start of mlflow server on an empty database runs every schema migration (~15 s).
MLFLOW_START_TIMEOUT = 120.0
LAB_START_TIMEOUT = 60.0


def artifacts_dir() -> Path:
    """``<repo>/test-artifacts``, created if missing: screenshots and logs worth keeping."""
    path = REPO / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


# --- processes -------------------------------------------------------------------------------


def _executable(name: str) -> str:
    """``name`` from the interpreter's own venv, so servers run the code under test."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        pytest.fail(
            f"`{name}` is not installed beside {sys.executable}; run `bash scripts/setup`.",
            pytrace=False,
        )
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _clean_env(**overrides: str) -> dict[str, str]:
    """The test process's environment minus anything that would point a server elsewhere."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(overrides)
    return env


def _start(cmd: list[str], log_path: Path, **kwargs) -> subprocess.Popen:
    with open(log_path, "wb") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so teardown reaches the workers
            **kwargs,
        )


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the process group, wait up to 10 s, then SIGKILL whatever is left of it."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)
    # Also catches workers that outlive their leader: the group id stays valid while one remains.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=5)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _wait_http_ok(url: str, proc: subprocess.Popen, log_path: Path, what: str, timeout: float):
    """Poll ``url`` until it answers 200; fail early if ``proc`` dies, with its last log lines."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            pytest.fail(
                f"{what} exited with code {proc.returncode} before answering {url}; "
                f"last lines of {log_path}:\n{_tail(log_path)}",
                pytrace=False,
            )
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            _stop(proc)
            pytest.fail(
                f"{what} did not answer {url} within {timeout:.0f} s; "
                f"last lines of {log_path}:\n{_tail(log_path)}",
                pytrace=False,
            )
        time.sleep(0.25)


# --- PostgreSQL ------------------------------------------------------------------------------

_SESSION_DB = re.compile(r"^mlflow_magics_(\d+)_[0-9a-f]+$")


def _base_postgres_uri() -> str:
    uri = os.environ.get("MLFLOW_MAGICS_TEST_PG_URI")
    if uri:
        return uri
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "postgres")], capture_output=True, text=True, check=False
    )
    if result.returncode != 0 or not result.stdout.strip():
        pytest.fail(
            "MLFLOW_MAGICS_TEST_PG_URI is unset and `bash scripts/postgres` could not provide "
            f"PostgreSQL (exit {result.returncode}):\n{result.stderr.strip()}",
            pytrace=False,
        )
    return result.stdout.strip().splitlines()[-1]


def _with_database(uri: str, name: str) -> str:
    parts = urllib.parse.urlsplit(uri)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def _libpq(uri: str) -> str:
    """SQLAlchemy spells drivers into the scheme (``postgresql+psycopg://``); libpq does not."""
    return re.sub(r"^postgres(ql)?\+\w+://", "postgresql://", uri)


def _drop_stale_databases(conn) -> None:
    """Drop session databases whose pytest process died before its teardown (kill -9, Ctrl-C)."""
    for (name,) in conn.execute("SELECT datname FROM pg_database").fetchall():
        match = _SESSION_DB.match(name)
        if not match or int(match[1]) == os.getpid():
            continue
        try:
            os.kill(int(match[1]), 0)
        except ProcessLookupError:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except PermissionError:
            pass  # alive, someone else's


@pytest.fixture(scope="session")
def postgres_uri() -> Iterator[str]:
    """URI of a fresh, empty PostgreSQL database for this session, dropped at the end.

    The base database comes from ``MLFLOW_MAGICS_TEST_PG_URI`` (``scripts/test`` sets it) or from
    running ``scripts/postgres``; its role needs CREATEDB.
    """
    import psycopg

    base = _base_postgres_uri()
    name = f"mlflow_magics_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(_libpq(base), autocommit=True, connect_timeout=10)
    except psycopg.Error as e:
        pytest.fail(
            f"PostgreSQL at {base} is unreachable ({str(e).strip()}); "
            "start it with `bash scripts/postgres`.",
            pytrace=False,
        )
    with admin:
        _drop_stale_databases(admin)
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(base, name)
    finally:
        with psycopg.connect(_libpq(base), autocommit=True, connect_timeout=10) as admin:
            # FORCE ends connections a server that outlived its fixture might still hold.
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- mlflow server ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MlflowServer:
    """A running ``mlflow server``: point clients at ``uri``."""

    uri: str
    artifact_root: Path
    backend_store_uri: str
    log_path: Path


@pytest.fixture(scope="session")
def mlflow_server(postgres_uri: str, tmp_path_factory: pytest.TempPathFactory):
    """A real ``mlflow server`` on 127.0.0.1 over this session's PostgreSQL database."""
    home = tmp_path_factory.mktemp("mlflow-server")
    artifact_root = home / "artifacts"
    artifact_root.mkdir()
    log_path = home / "server.log"
    port = _free_port()
    cmd = [
        _executable("mlflow"),
        "server",
        "--backend-store-uri", postgres_uri,
        "--default-artifact-root", str(artifact_root),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--workers", "1",
    ]  # fmt: skip
    proc = _start(cmd, log_path, cwd=home, env=_clean_env())
    uri = f"http://127.0.0.1:{port}"
    try:
        _wait_http_ok(f"{uri}/health", proc, log_path, "mlflow server", MLFLOW_START_TIMEOUT)
        yield MlflowServer(uri, artifact_root, postgres_uri, log_path)
    finally:
        _stop(proc)


class ControlledServer:
    """An ``mlflow server`` over this session's PostgreSQL that a test can kill, freeze (SIGSTOP:
    it keeps accepting connections and never answers), thaw and restart on the same port."""

    def __init__(self, postgres_uri: str, home: Path) -> None:
        self.backend_store_uri = postgres_uri
        self.home = home
        self.artifact_root = home / "artifacts"
        self.artifact_root.mkdir(exist_ok=True)
        self.log_path = home / "server.log"
        self.port = _free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.frozen = False

    def start(self) -> None:
        cmd = [
            _executable("mlflow"),
            "server",
            "--backend-store-uri", self.backend_store_uri,
            "--default-artifact-root", str(self.artifact_root),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--workers", "1",
        ]  # fmt: skip
        self.proc = _start(cmd, self.log_path, cwd=self.home, env=_clean_env())
        _wait_http_ok(
            f"{self.uri}/health", self.proc, self.log_path, "mlflow server", MLFLOW_START_TIMEOUT
        )

    def kill(self) -> None:
        """SIGKILL the whole process group: the port refuses connections at once."""
        if self.proc is None:
            return
        self.thaw()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None

    def freeze(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        if self.proc is not None and self.frozen:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGCONT)
        self.frozen = False

    def restart(self) -> None:
        self.kill()
        self.start()

    def ensure_running(self) -> None:
        self.thaw()
        if self.proc is None or self.proc.poll() is not None:
            self.proc = None
            self.start()

    def stop(self) -> None:
        if self.proc is not None:
            self.thaw()
            _stop(self.proc)
            self.proc = None


@pytest.fixture(scope="session")
def _controlled_server(postgres_uri: str, tmp_path_factory: pytest.TempPathFactory):
    server = ControlledServer(postgres_uri, tmp_path_factory.mktemp("controlled-server"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def controlled_server(_controlled_server: ControlledServer) -> ControlledServer:
    """The session's killable server, running and answering when the test starts (a test that
    killed or froze it leaves the restart to the next one)."""
    _controlled_server.ensure_running()
    yield _controlled_server
    _controlled_server.thaw()


# --- JupyterLab ------------------------------------------------------------------------------


@dataclass(frozen=True)
class JupyterLab:
    """A running JupyterLab; copy notebooks into ``root_dir`` and open ``notebook_url(name)``."""

    url: str
    token: str
    root_dir: Path
    log_path: Path

    def notebook_url(self, name: str) -> str:
        # ?reset drops the saved workspace, so each test starts from an empty layout.
        return f"{self.url}/lab/tree/{urllib.parse.quote(name)}?reset&token={self.token}"


# Preset answers to JupyterLab's first-run questions: a news toast would cover the notebook, and
# fetching news or update checks needs the internet.
_LAB_USER_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": (
        '{"fetchNews": "false", "checkForUpdates": false}'
    ),
}


@pytest.fixture(scope="session")
def jupyter_lab(tmp_path_factory: pytest.TempPathFactory):
    """A real JupyterLab on 127.0.0.1 with its own HOME, config and runtime dirs.

    Kernels inherit its environment without any ``MLFLOW_*`` variables and start in ``root_dir``,
    so a notebook's default store ``sqlite:///mlflow.db`` lands there.
    """
    home = tmp_path_factory.mktemp("jupyter-lab")
    root_dir = home / "notebooks"
    root_dir.mkdir()
    settings_dir = home / "lab-user-settings"
    for rel, text in _LAB_USER_SETTINGS.items():
        (settings_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (settings_dir / rel).write_text(text)
    log_path = home / "lab.log"
    token = secrets.token_hex(16)
    port = _free_port()
    env = _clean_env(
        HOME=str(home),
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        IPYTHONDIR=str(home / "ipython"),
        JUPYTERLAB_SETTINGS_DIR=str(settings_dir),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
    )
    cmd = [
        _executable("jupyter"),
        "lab",
        "--no-browser",
        "--allow-root",
        "--ip", "127.0.0.1",
        "--port", str(port),
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        "--ServerApp.disable_check_xsrf=True",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    proc = _start(cmd, log_path, cwd=root_dir, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        status = f"{url}/api/status?token={token}"
        _wait_http_ok(status, proc, log_path, "JupyterLab", LAB_START_TIMEOUT)
        yield JupyterLab(url, token, root_dir, log_path)
    finally:
        _stop(proc)


# --- Chromium --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright (its own browser download cannot work here)."""
    from playwright.sync_api import sync_playwright

    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"{CHROMIUM} is missing; `bash scripts/setup` installs Debian's chromium.",
            pytrace=False,
        )
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Keep each phase's report on the item (``item.rep_call``) so fixtures can see failures."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def page(browser, request: pytest.FixtureRequest):
    """A fresh 1400x900 page in its own context; on failure its screenshot and console log are
    saved to ``test-artifacts/<test>-failure.png`` / ``-console.txt``."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
    page.on("pageerror", lambda err: console.append(f"pageerror: {err}"))
    try:
        yield page
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            stem = re.sub(r"[^\w.-]+", "_", request.node.name)
            out = artifacts_dir()
            try:
                page.screenshot(path=str(out / f"{stem}-failure.png"), full_page=True)
            except Exception as e:  # a crashed page must not hide the test's own failure
                console.append(f"(screenshot failed: {e})")
            (out / f"{stem}-console.txt").write_text("\n".join(console) + "\n")
        context.close()
