"""Where MLflow data goes: tracking/registry URIs, the experiment, and whether the store answers.

Plain functions; a user mistake raises :class:`~mlflow_magics.errors.BadInput` with one
sentence, which the magic layer turns into a ``UsageError``.
"""

from __future__ import annotations

import contextlib
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
    parsed = urlparse(uri)
    scheme = parsed.scheme.split("+", 1)[0]
    if parsed.scheme in ("http", "https"):
        if not parsed.hostname:
            raise BadInput(
                f"Tracking URI {uri!r} has no host; write it like http://127.0.0.1:5000."
            )
        try:
            parsed.port  # noqa: B018 - raises on a malformed port
        except ValueError:
            raise BadInput(f"Tracking URI {uri!r} has a malformed port.") from None
        return uri.rstrip("/")
    if scheme == "sqlite":
        path = uri.split(":///", 1)[1] if ":///" in uri else ""
        if not path:
            raise BadInput(
                f"SQLite URI {uri!r} needs a file path, e.g. sqlite:///mlflow.db "
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
        f"Unsupported tracking URI {uri!r}: use sqlite:///mlflow.db (the default), "
        "http(s)://HOST:PORT for a tracking server, postgresql://… for a database, "
        "or databricks[://PROFILE]."
    )


class StoreHealth:
    """Whether the tracking store answers, probed cheaply and remembered for a while.

    Only HTTP stores are probed (``GET /health``): a dead server is the failure users meet,
    and a database or file store fails loudly on its own. Good answers are trusted for a
    minute, bad ones for a few seconds; a stale answer is refreshed in the background while
    the caller gets the last one, so a traced cell never waits on a server that does not
    answer (only the first look at a new URI, or an explicit ``fresh``, waits).
    """

    GOOD_FOR = 60.0
    BAD_FOR = 5.0

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
    problem = health.problem(target, fresh=True)
    if problem and experiment:
        raise BadInput(
            f"Cannot reach {target} ({problem}), so experiment {experiment!r} was not set and "
            "nothing changed; start the server or connect to another URI."
        )
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
