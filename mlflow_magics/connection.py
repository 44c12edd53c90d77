"""Where MLflow data goes: tracking/registry URIs, the experiment, and whether the store answers.

Plain functions; a user mistake raises :class:`~mlflow_magics.errors.BadInput` with one
sentence, which the magic layer turns into a ``UsageError``.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from mlflow_magics.errors import BadInput

DEFAULT_URI = "sqlite:///mlflow.db"
_DB_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql")


@dataclass(frozen=True)
class Status:
    """What ``%mlflow status`` shows."""

    tracking_uri: str
    registry_uri: str
    experiment_id: str | None = None
    experiment_name: str | None = None
    active_run_id: str | None = None
    active_run_name: str | None = None
    databricks_host: str | None = None
    ui_url: str | None = None
    experiment_url: str | None = None
    problem: str | None = None


def normalize_uri(uri: str | None) -> str:
    """Check a tracking URI's shape before anything is changed; return it normalized."""
    if not uri:
        return DEFAULT_URI
    uri = uri.strip().strip("'\"")
    if uri == "databricks" or uri.startswith("databricks://"):
        return uri
    shown = _shown_uri(uri)
    if not uri.isprintable():
        raise BadInput(
            f"Tracking URI {shown} holds a control character; type the URI again without it."
        )
    try:
        parsed = urlparse(uri)
        parsed.hostname  # noqa: B018 - raises on a malformed [IPv6] host
    except ValueError as e:
        raise BadInput(
            f"Cannot read the tracking URI {shown} ({e}); write it like http://127.0.0.1:5000 "
            "or http://[::1]:5000."
        ) from None
    scheme = parsed.scheme.split("+", 1)[0]
    if parsed.scheme in ("http", "https"):
        if not parsed.hostname:
            raise BadInput(
                f"Tracking URI {shown} has no host; write it like http://127.0.0.1:5000."
            )
        try:
            parsed.port  # noqa: B018 - raises on a malformed port
        except ValueError:
            raise BadInput(f"Tracking URI {shown} has a malformed port.") from None
        return uri.rstrip("/")
    if scheme == "sqlite":
        path = uri.split(":///", 1)[1] if ":///" in uri else ""
        if not path:
            raise BadInput(
                f"SQLite URI {shown} needs a file path, e.g. sqlite:///mlflow.db "
                "(three slashes for a relative path, four for an absolute one)."
            )
        folder = os.path.dirname(os.path.abspath(path if path != ":memory:" else "."))
        if not os.path.isdir(folder):
            raise BadInput(
                f"Folder {folder!r} for the SQLite store does not exist; create it first."
            )
        return uri
    if scheme in _DB_SCHEMES or parsed.scheme == "file":
        return uri
    raise BadInput(
        f"Unsupported tracking URI {shown}: use sqlite:///mlflow.db (the default), "
        "http(s)://HOST:PORT for a tracking server, postgresql://… for a database, "
        "or databricks[://PROFILE]."
    )


def _shown_uri(uri: str, cap: int = 80) -> str:
    text = repr(uri)
    return text if len(text) <= cap else text[: cap - 2] + "…" + text[0]


class StoreHealth:
    """Whether the tracking store answers, probed cheaply and remembered for a while.

    Only HTTP stores are probed (``GET /health``): a dead server is the failure users meet,
    and a database or file store fails loudly on its own. Commands ask ``fresh`` (one
    request, ~1 ms on a live server, ``timeout`` on a frozen one). Traced cells take the last
    answer, trusted for a few seconds and refreshed in the background, so a traced cell never
    waits on a server that does not answer; a request that fails marks the URI bad at once.
    """

    GOOD_FOR = 10.0
    BAD_FOR = 2.0

    def __init__(self, timeout: float = 1.0) -> None:
        self.timeout = timeout
        self._cache: dict[str, tuple[float, str | None]] = {}
        self._refreshing: set[str] = set()
        self._lock = threading.Lock()

    def problem(self, uri: str, *, fresh: bool = False) -> str | None:
        """None when ``uri`` answers, else a short reason (``connection refused``)."""
        cached = self._cache.get(uri)
        if cached is None or fresh:
            return self._probe(uri)
        at, reason = cached
        if time.monotonic() - at >= (self.BAD_FOR if reason else self.GOOD_FOR):
            with self._lock:
                start = uri not in self._refreshing
                self._refreshing.add(uri)
            if start:
                threading.Thread(target=self._refresh, args=(uri,), daemon=True).start()
        return reason

    def _probe(self, uri: str) -> str | None:
        reason = probe(uri, self.timeout)
        self._cache[uri] = (time.monotonic(), reason)
        return reason

    def _refresh(self, uri: str) -> None:
        try:
            self._probe(uri)
        finally:
            with self._lock:
                self._refreshing.discard(uri)

    def forget(self) -> None:
        self._cache.clear()

    def failed(self, uri: str, reason: str) -> None:
        """A request to ``uri`` just failed: nothing may trust an older good answer."""
        self._cache[uri] = (time.monotonic(), reason)


def probe(uri: str, timeout: float = 1.0) -> str | None:
    """One health request to an HTTP tracking server; None when it answers."""
    if not uri.startswith(("http://", "https://")):
        return None
    try:
        with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=timeout) as resp:
            if resp.status >= 500:
                return f"health check answered HTTP {resp.status}"
        return None
    except urllib.error.HTTPError as e:
        # Some deployments put /health behind auth or omit it; any HTTP answer means it is up.
        return None if e.code < 500 else f"health check answered HTTP {e.code}"
    except urllib.error.URLError as e:
        reason = e.reason
        return str(getattr(reason, "strerror", None) or reason).lower()
    except (TimeoutError, OSError) as e:
        return f"no answer within {timeout:g} s" if isinstance(e, TimeoutError) else str(e)


#: While a command or a widget action runs, MLflow's HTTP calls are bounded, so a server that
#: dies or freezes in the middle is one sentence within seconds instead of MLflow's defaults
#: (120 s per request, 7 retries with exponential backoff: minutes); a frozen server is caught by
#: :class:`bounded_requests`' watchdog. A variable the user set wins. Databricks goes through its
#: SDK, which these do not touch; background trace export outside commands keeps MLflow's defaults.
REQUEST_BOUNDS = {
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "60",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0",
}
_bounds_lock = threading.Lock()
_bounds_depth = 0
_bounds_set: list[str] = []


class StoreLost(BadInput):
    """The store stopped answering while a command ran; the sentence says what to do."""


class bounded_requests:
    """For the duration of a command: MLflow's HTTP timeout and retries bounded
    (:data:`REQUEST_BOUNDS`), and a watchdog on an HTTP store. Re-entrant; what the user set in
    the environment is left alone.

    The watchdog lets a slow command run as long as the server answers ``/health``; once the
    command has run :attr:`FIRST` seconds and the server does not answer, the command is
    interrupted (a signal to the main thread, as Ctrl-C) and ends as :class:`StoreLost`, one
    sentence, within about ten seconds of the server dying or freezing.
    """

    FIRST = 5.0
    EVERY = 2.0
    PROBE_TIMEOUT = 1.5

    def __init__(self, uri: str | None = None) -> None:
        self._uri = uri
        self._dog: _Watchdog | None = None

    def __enter__(self) -> bounded_requests:
        global _bounds_depth
        with _bounds_lock:
            outermost = _bounds_depth == 0
            if outermost:
                _bounds_set[:] = [k for k in REQUEST_BOUNDS if k not in os.environ]
                for key in _bounds_set:
                    os.environ[key] = REQUEST_BOUNDS[key]
            _bounds_depth += 1
        if outermost:
            uri = self._uri or _tracking_uri()
            if uri.startswith(("http://", "https://")) and _in_main_thread():
                self._dog = _Watchdog(uri, self.FIRST, self.EVERY, self.PROBE_TIMEOUT)
                _watchdogs.append(self._dog)
        return self

    def __exit__(self, kind, error, tb) -> bool:
        global _bounds_depth
        dog, self._dog = self._dog, None
        fired = dog.stop() if dog is not None else None
        if dog is not None:
            with contextlib.suppress(ValueError):
                _watchdogs.remove(dog)
        with _bounds_lock:
            _bounds_depth -= 1
            if _bounds_depth == 0:
                for key in _bounds_set:
                    if os.environ.get(key) == REQUEST_BOUNDS[key]:
                        del os.environ[key]
                _bounds_set.clear()
        if fired is None:
            return False
        if kind is None or not issubclass(kind, KeyboardInterrupt):
            _absorb_interrupt()  # the signal may still be on its way; the outcome stands
            return False
        raise StoreLost(
            f"{redact(dog.uri)} stopped answering during the command ({fired}); what it "
            "finished is kept — run the command again once the server answers."
        ) from error


def store_lost() -> str | None:
    """Why the running command's store stopped answering, when its watchdog fired; else None."""
    for dog in list(_watchdogs):
        if dog.fired:
            return dog.fired
    return None


_watchdogs: list[_Watchdog] = []


class _Watchdog:
    def __init__(self, uri: str, first: float, every: float, timeout: float) -> None:
        self.uri = uri
        self.fired: str | None = None
        self._first, self._every, self._timeout = first, every, timeout
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._main = threading.main_thread().ident
        self._thread = threading.Thread(target=self._watch, daemon=True, name="mlflow-watchdog")
        self._thread.start()

    def _watch(self) -> None:
        if self._stopped.wait(self._first):
            return
        while True:
            reason = probe(self.uri, self._timeout)
            if reason:
                with self._lock:
                    if self._stopped.is_set():
                        return
                    self.fired = reason
                    import signal

                    signal.pthread_kill(self._main, signal.SIGINT)
                return
            if self._stopped.wait(self._every):
                return

    def stop(self) -> str | None:
        with self._lock:
            self._stopped.set()
            return self.fired


def _absorb_interrupt() -> None:
    """Take a watchdog's interrupt that arrived as the command was ending."""
    import time as _time

    try:
        for _ in range(5):
            _time.sleep(0.002)
    except KeyboardInterrupt:
        pass


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _tracking_uri() -> str:
    import mlflow

    return mlflow.get_tracking_uri()


_TRANSPORT_REASONS = (
    ("timed out", "no answer in time"),
    ("timeout", "no answer in time"),
    ("connection refused", "connection refused"),
    ("newconnectionerror", "connection refused"),
    ("remotedisconnected", "the server closed the connection"),
    ("connection aborted", "the server closed the connection"),
    ("connection reset", "the server closed the connection"),
    ("max retries exceeded", "no answer"),
    ("error code 502", "HTTP 502"),
    ("error code 503", "HTTP 503"),
    ("error code 504", "HTTP 504"),
    ("too many 502", "HTTP 502"),
    ("too many 503", "HTTP 503"),
    ("too many 504", "HTTP 504"),
)


def transport_failure(error: BaseException) -> str | None:
    """A short reason when ``error`` (or what caused it) is the store not answering — refused,
    timed out, dropped, a gateway error — else None (a refusal, a bug: not ours to reword)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        kind = f"{type(current).__module__}.{type(current).__name__}".lower()
        if kind.startswith(("requests.", "urllib3.")) or "operationalerror" in kind:
            return _transport_reason(f"{kind} {current}") or "no answer"
        if isinstance(current, (ConnectionError, TimeoutError)):
            return _transport_reason(f"{kind} {current}") or "no answer"
        if kind.endswith("mlflowexception") and str(current).startswith("API request to"):
            reason = _transport_reason(str(current))
            if reason:
                return reason
        current = current.__cause__ or current.__context__
    return None


def store_call(method):
    """For a result's method that reads or writes the store (``t.next_page()``, a board's
    ``confirm()``): a store that does not answer now, or stops answering midway, is one
    :class:`BadInput` sentence within seconds, as in a magic."""

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        problem = store_unreachable(getattr(self, "_client", None))
        if problem:
            raise BadInput(f"Cannot reach the store: {problem}; nothing was changed.")
        with bounded_requests():
            try:
                return method(self, *args, **kwargs)
            except BadInput:
                raise
            except Exception as e:
                reason = transport_failure(e)
                if reason is None:
                    raise
                raise BadInput(
                    f"The store stopped answering ({reason}); what it finished is kept — "
                    "try again once it answers."
                ) from e

    return call


def _transport_reason(text: str) -> str | None:
    lowered = text.lower()
    for needle, reason in _TRANSPORT_REASONS:
        if needle in lowered:
            return reason
    return None


def reachable_store(uri: str, timeout: float = 5.0) -> str | None:
    """Why the store at ``uri`` cannot be opened now, else None; bounded by ``timeout``.

    HTTP: one ``/health``. SQLite: the file opens (or can be created). A database server: its
    port accepts a connection and, for PostgreSQL, it answers a login within ``timeout`` (a
    frozen server accepts the TCP connection and never answers). Databricks is left to its SDK.
    """
    if uri.startswith(("http://", "https://")):
        return probe(uri, timeout)
    scheme = urlparse(uri).scheme.split("+", 1)[0]
    if scheme == "sqlite":
        return _sqlite_problem(uri)
    if scheme in ("postgresql", "postgres", "mysql", "mssql"):
        return _database_problem(uri, scheme, timeout)
    return None


def _sqlite_problem(uri: str) -> str | None:
    import sqlite3

    path = uri.split(":///", 1)[1] if ":///" in uri else ""
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    try:
        conn = sqlite3.connect(path, timeout=1.0)
        try:
            conn.execute("PRAGMA schema_version").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as e:
        return f"{path} cannot be opened as an SQLite database ({e})"
    return None


_DEFAULT_PORTS = {"postgresql": 5432, "postgres": 5432, "mysql": 3306, "mssql": 1433}


def _database_problem(uri: str, scheme: str, timeout: float) -> str | None:
    import socket

    parsed = urlparse(uri)
    host = parsed.hostname or "localhost"
    try:
        port = parsed.port or _DEFAULT_PORTS[scheme]
    except ValueError:
        return "its port is malformed"
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as e:
        reason = "no answer in time" if isinstance(e, TimeoutError) else (e.strerror or str(e))
        return f"{host}:{port}: {str(reason).lower()}"
    if scheme in ("postgresql", "postgres"):
        return _postgres_login_problem(uri, timeout)
    return None


def _postgres_login_problem(uri: str, timeout: float) -> str | None:
    try:
        import sqlalchemy
    except ImportError:  # pragma: no cover - MLflow depends on it
        return None
    try:
        engine = sqlalchemy.create_engine(
            uri, connect_args={"connect_timeout": max(1, int(timeout))}, poolclass=_null_pool()
        )
    except Exception as e:  # a missing driver, a malformed URI
        return str(e).splitlines()[0]
    try:
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("SELECT 1"))
    except Exception as e:
        message = str(getattr(e, "orig", None) or e).strip().splitlines()
        return message[0] if message else type(e).__name__
    finally:
        engine.dispose()
    return None


def _null_pool():
    from sqlalchemy.pool import NullPool

    return NullPool


def store_unreachable(client: Any = None, timeout: float = 2.0) -> str | None:
    """Why the HTTP tracking or registry server behind ``client`` (and MLflow's current
    tracking URI) does not answer now, else None. One fresh ``/health`` request each: called
    before a widget action, where MLflow itself would retry a dead server for minutes."""
    import mlflow

    uris = [mlflow.get_tracking_uri()]
    for attr in ("tracking_uri", "_registry_uri"):
        uri = getattr(client, attr, None)
        if isinstance(uri, str) and uri not in uris:
            uris.append(uri)
    for uri in uris:
        reason = probe(uri, timeout)
        if reason:
            return f"{uri} is not reachable ({reason})"
    return None


def _databricks_host(uri: str) -> str:
    profile = uri.split("://", 1)[1] if "://" in uri else None
    try:
        from databricks.sdk.core import Config

        host = Config(profile=profile).host
    except Exception as e:
        raise BadInput(
            f"Databricks authentication failed ({str(e).splitlines()[0]}); run "
            "`databricks auth login` or set DATABRICKS_HOST and DATABRICKS_TOKEN."
        ) from e
    if not host:
        raise BadInput("No Databricks host configured; run `databricks auth login`.")
    return host.rstrip("/")


def ui_base(tracking_uri: str, databricks_host: str | None = None) -> str | None:
    """The web UI for this store, where one exists."""
    if tracking_uri.startswith(("http://", "https://")):
        return tracking_uri.rstrip("/")
    if databricks_host:
        return databricks_host
    return None


def run_url(experiment_id: str | None, run_id: str | None) -> str | None:
    """The web UI page of a run, where a UI exists (a tracking server or Databricks)."""
    import mlflow

    if not (experiment_id and run_id):
        return None
    tracking = mlflow.get_tracking_uri()
    host = None
    if tracking.startswith("databricks"):
        host = os.environ.get("DATABRICKS_HOST") or _safe_databricks_host(tracking)
    base = ui_base(tracking, host)
    if not base:
        return None
    if host:
        return f"{base}/ml/experiments/{experiment_id}/runs/{run_id}"
    return f"{base}/#/experiments/{experiment_id}/runs/{run_id}"


def current_status(health: StoreHealth | None = None) -> Status:
    """Tracking/registry URI, experiment, active run, Databricks host and UI links."""
    import mlflow

    tracking = mlflow.get_tracking_uri()
    registry = mlflow.get_registry_uri()
    problem = (health or StoreHealth()).problem(tracking)
    host = None
    if tracking.startswith("databricks"):
        host = os.environ.get("DATABRICKS_HOST") or _safe_databricks_host(tracking)
    exp_id, exp_name = _current_experiment(skip_store=problem is not None)
    run = mlflow.active_run()
    base = ui_base(tracking, host)
    exp_url = None
    if base and exp_id:
        exp_url = f"{base}/ml/experiments/{exp_id}" if host else f"{base}/#/experiments/{exp_id}"
    return Status(
        tracking_uri=tracking,
        registry_uri=registry,
        experiment_id=exp_id,
        experiment_name=exp_name,
        active_run_id=run.info.run_id if run else None,
        active_run_name=run.info.run_name if run else None,
        databricks_host=host,
        ui_url=base,
        experiment_url=exp_url,
        problem=f"store not reachable: {problem}" if problem else None,
    )


def _safe_databricks_host(uri: str) -> str | None:
    try:
        return _databricks_host(uri)
    except BadInput:
        return None


def _current_experiment(skip_store: bool) -> tuple[str | None, str | None]:
    import mlflow
    from mlflow.tracking.fluent import _get_experiment_id

    try:
        exp_id = _get_experiment_id()
    except Exception:
        exp_id = None
    if not exp_id or skip_store:
        return exp_id, None
    try:
        exp = mlflow.get_experiment(exp_id)
    except Exception:
        return exp_id, None
    return exp_id, exp.name if exp else None


@contextlib.contextmanager
def quiet_mlflow_info():
    """MLflow logs INFO lines while creating a store or an experiment ("Creating initial MLflow
    database tables…", and on older MLflow every alembic migration step); in a notebook they
    print in red under a command that succeeded. The result we return says what happened, so
    INFO is held back for the command's duration. ``logging.disable`` rather than logger
    levels or filters: older MLflow re-reads a logging config mid-migration and logs from
    one logger per migration script."""
    previous = logging.root.manager.disable
    logging.disable(max(previous, logging.INFO))
    try:
        yield
    finally:
        logging.disable(previous)


def connect(
    uri: str | None,
    experiment: str | None = None,
    profile: str | None = None,
    health: StoreHealth | None = None,
) -> Status:
    """Point MLflow at ``uri`` (default: the embedded SQLite store), optionally an experiment.

    An unreachable server is accepted with a problem noted (tracing then skips with a
    warning) unless an experiment is asked for, which needs the store: then nothing changes.
    """
    import mlflow

    target = normalize_uri(uri)
    if profile:
        if target != "databricks" and not target.startswith("databricks://"):
            raise BadInput(
                "--profile applies to Databricks; use `%mlflow connect databricks --profile P`."
            )
        target = f"databricks://{profile}"
    health = health or StoreHealth()
    if target.startswith("databricks"):
        _databricks_host(target)  # fail now, with the login hint, rather than on first use
    previous = (mlflow.get_tracking_uri(), mlflow.get_registry_uri())
    if not target.startswith(("http://", "https://", "databricks")):
        # A database or file that cannot be opened would cost MLflow's engine retries (minutes
        # on a closed port) and then "succeed"; refuse now, changing nothing.
        unopenable = reachable_store(target, timeout=min(5.0, 4 * health.timeout + 1))
        if unopenable:
            raise BadInput(
                f"Cannot open the store {redact(target)} ({unopenable}); nothing changed."
            )
    problem = health.problem(target, fresh=True)
    if problem and experiment:
        raise BadInput(
            f"Cannot reach {target} ({problem}), so experiment {experiment!r} was not set and "
            "nothing changed; start the server or connect to another URI."
        )
    from mlflow_magics import store_file

    store_file.reopen(target)  # a deleted or replaced SQLite file is opened afresh
    mlflow.set_tracking_uri(target)
    mlflow.set_registry_uri("databricks-uc" if target.startswith("databricks") else target)
    with quiet_mlflow_info():
        if experiment:
            try:
                set_experiment(experiment, health)
            except Exception:
                mlflow.set_tracking_uri(previous[0])
                mlflow.set_registry_uri(previous[1])
                raise
        elif not problem:
            _reset_experiment_if_missing()
        return current_status(health)


def redact(uri: str) -> str:
    """``uri`` without its password, for messages."""
    parsed = urlparse(uri)
    if parsed.password:
        netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@", 1)
        return parsed._replace(netloc=netloc).geturl()
    return uri


def _reset_experiment_if_missing() -> None:
    """After switching stores, an experiment id from the old store must not linger: MLflow
    keeps it both in memory and in MLFLOW_EXPERIMENT_ID (set by ``mlflow.set_experiment``),
    and a stale one makes every new span fail to start."""
    import mlflow
    from mlflow.tracking import fluent

    for exp_id, clear in (
        (getattr(fluent, "_active_experiment_id", None), _clear_active_experiment),
        (os.environ.get("MLFLOW_EXPERIMENT_ID"), _clear_experiment_env),
    ):
        if not exp_id:
            continue
        try:
            exp = mlflow.get_experiment(exp_id)
        except Exception:
            exp = None
        if exp is None or exp.lifecycle_stage != "active":
            clear()


def _clear_active_experiment() -> None:
    from mlflow.tracking import fluent

    fluent._active_experiment_id = None


def _clear_experiment_env() -> None:
    os.environ.pop("MLFLOW_EXPERIMENT_ID", None)


def set_experiment(name: str, health: StoreHealth | None = None) -> Status:
    """Make ``name`` the active experiment, creating it if missing."""
    import mlflow
    from mlflow.exceptions import MlflowException

    name = name.strip()
    if not name:
        raise BadInput("Give an experiment name, e.g. `%mlflow experiment my-agent`.")
    uri = mlflow.get_tracking_uri()
    # A dead server would otherwise cost minutes of MLflow's HTTP retries before failing.
    problem = (health or StoreHealth()).problem(uri, fresh=True)
    if problem:
        raise BadInput(
            f"Cannot reach {uri} ({problem}); start the server or `%mlflow connect` another URI."
        )
    try:
        with quiet_mlflow_info():
            mlflow.set_experiment(name)
    except MlflowException as e:
        message = e.message.splitlines()[0] if e.message else str(e)
        if "deleted" in message.lower():
            raise BadInput(
                f"Experiment {name!r} is deleted; restore it with "
                f"`mlflow.MlflowClient().restore_experiment(...)` or choose another name."
            ) from e
        raise BadInput(f"Could not set experiment {name!r}: {message}") from e
    return current_status(health)
