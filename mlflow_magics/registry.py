"""Prompt and model aliases: the service behind ``%mlflow prompts|models|alias`` and
``%mlflow diff prompt``.

A :class:`Board` is one registered prompt or model as it stood when read: its versions, the
aliases drawn on the versions they point at, and the recorded history of alias moves.
:func:`move_alias`, :func:`delete_alias` and :func:`undo` change an alias, and refuse when it
moved since the board was read (``expected``), so nobody overwrites a move they never saw.

History lives in registry tags on the prompt / model: one tag per move, keyed
``mlflow_magics.alias_move.<epoch ms>.<random>`` and holding one JSON move (alias, from, to,
user, UTC time, forced, gate summary). One key per move means two notebooks moving aliases at
the same moment never overwrite each other's record (the registry has no compare-and-set, so a
shared JSON list would lose one of them); the newest :data:`HISTORY_MAX` moves are kept, older
ones are pruned by whoever writes next.

Aliases: MLflow's version searches do not return them, but the registered prompt / model
carries the whole alias map, so a board costs one entity read plus the version pages. For a
prompt, MLflow's public ``get_registered_model`` refuses prompt names, so the entity is read
through the client's registry client (the same store call MLflow itself makes); stores where
that fails fall back to reading each version.

No IPython and no display here; a user mistake raises :class:`~mlflow_magics.errors.BadInput`.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from mlflow_magics.errors import BadInput

KINDS = ("prompt", "model")
#: Registry tag keys of recorded alias moves start with this.
HISTORY_PREFIX = "mlflow_magics.alias_move."
#: Moves kept per prompt / model (one tag each); older ones are pruned.
HISTORY_MAX = 100
#: Versions read per page.
PAGE = 1000
#: Metrics a model version shows from its source run.
KEY_METRICS = 4
_LINKED_PROMPTS = "mlflow.linkedPrompts"
_IS_PROMPT = "mlflow.prompt.is_prompt"
_UC_NAME = re.compile(r"^[^.\s]+\.[^.\s]+\.[^.\s]+$")
_UNSET: Any = object()
#: The largest version number a registry can hold (its version column is a 32-bit INTEGER);
#: a larger one is no version at all, and would overflow the store's query.
VERSION_MAX = 2**31 - 1


# -- plain data ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Version:
    """One prompt or model version as the board shows it."""

    number: int
    message: str = ""
    author: str = ""
    created_ms: int | None = None
    template: Any = None
    model_config: dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None
    run_id: str | None = None
    source: str | None = None
    metrics: tuple[tuple[str, float], ...] = ()

    def template_text(self) -> str:
        """The template as lines of text (a chat template: one ``role: content`` per message)."""
        return template_text(self.template)


@dataclass(frozen=True)
class Move:
    """One recorded alias change: ``after`` None means the alias was deleted."""

    alias: str
    before: int | None
    after: int | None
    user: str = ""
    time: str = ""
    forced: bool = False
    gate: str = ""
    undo: bool = False
    key: str = field(default="", compare=False)
    #: Written before the alias is touched and cleared once it moved: a pending record whose
    #: alias points at ``after`` is a move whose completion mark was lost; one that does not
    #: is a move that never happened (or is happening now, see :func:`_earlier_claim`).
    pending: bool = field(default=False, compare=False)

    def arrow(self) -> str:
        """``production: v2 → v3`` (``(none)`` for a missing side)."""
        return f"{self.alias}: {_v(self.before)} → {_v(self.after)}"

    def to_json(self) -> dict[str, Any]:
        return {
            "alias": self.alias,
            "from": self.before,
            "to": self.after,
            "user": self.user,
            "time": self.time,
            "forced": self.forced,
            "gate": self.gate,
            "undo": self.undo,
            **({"state": "pending"} if self.pending else {}),
        }


def _v(version: int | None) -> str:
    return "(none)" if version is None else f"v{version}"


@dataclass(frozen=True)
class Board:
    """A registered prompt or model as read at ``read_ms``: versions newest first."""

    kind: str
    name: str
    versions: tuple[Version, ...]
    aliases: dict[str, int]
    moves: tuple[Move, ...] = ()
    description: str = ""
    read_ms: int = 0

    @property
    def latest(self) -> int | None:
        return self.versions[0].number if self.versions else None

    @property
    def numbers(self) -> list[int]:
        return [v.number for v in self.versions]

    def version(self, number: Any) -> Version:
        """Version ``number`` (``3``, ``"v3"``, an alias, or ``latest``), or a BadInput
        sentence naming the versions there are."""
        wanted = resolve_version(self, number)
        for v in self.versions:
            if v.number == wanted:
                return v
        raise BadInput(self._no_version(wanted))

    def _no_version(self, number: Any) -> str:
        close = _closest_version(number, self.numbers)
        hint = f" Did you mean v{close}?" if close is not None else ""
        return (
            f"{self.kind.capitalize()} {self.name!r} has no version {number}; it has "
            f"{_version_span(self.numbers)}.{hint}"
        )

    def history(self, alias: str) -> list[Move]:
        """Recorded moves of ``alias``, newest first."""
        return [m for m in self.moves if m.alias == alias]

    def alias_names(self) -> list[str]:
        return sorted(set(self.aliases) | {m.alias for m in self.moves})


@dataclass(frozen=True)
class Entry:
    """One prompt or model in a registry listing."""

    name: str
    description: str = ""
    latest: int | None = None
    aliases: dict[str, int] = field(default_factory=dict)
    updated_ms: int | None = None


@dataclass(frozen=True)
class VersionDiff:
    """Two versions compared: template lines (``op`` is ``" "``, ``"+"`` or ``"-"``) and
    changed settings (``model_config.temperature``, ``response_format.…``) as
    (key, in A, in B); a side that lacks a key holds None."""

    kind: str
    name: str
    a: Version
    b: Version
    lines: tuple[tuple[str, str], ...]
    settings: tuple[tuple[str, Any, Any], ...]

    @property
    def same(self) -> bool:
        return not self.settings and all(op == " " for op, _ in self.lines)

    @property
    def added(self) -> int:
        return sum(op == "+" for op, _ in self.lines)

    @property
    def removed(self) -> int:
        return sum(op == "-" for op, _ in self.lines)


@dataclass(frozen=True)
class GateRow:
    """One scorer both evaluation runs measured."""

    scorer: str
    current: float
    candidate: float

    @property
    def delta(self) -> float:
        return self.candidate - self.current

    @property
    def regressed(self) -> bool:
        return self.candidate < self.current


@dataclass(frozen=True)
class Gate:
    """The candidate version's latest evaluation against the current version's."""

    current_version: int | None
    candidate_version: int
    current_run: str | None
    candidate_run: str | None
    rows: tuple[GateRow, ...] = ()

    @property
    def regressions(self) -> list[GateRow]:
        return [r for r in self.rows if r.regressed]

    @property
    def comparable(self) -> bool:
        return bool(self.current_run and self.candidate_run and self.rows)

    @property
    def passed(self) -> bool:
        return self.comparable and not self.regressions

    def summary(self) -> str:
        """One line for the history: what the gate saw."""
        if not self.comparable:
            return "no comparable evaluation runs"
        bad = self.regressions
        if not bad:
            return f"passed: {len(self.rows)} scorer(s), none regressed"
        return "regressed: " + ", ".join(
            f"{r.scorer} {r.current:.3g} → {r.candidate:.3g}" for r in bad
        )

    def table(self, rows: Iterable[GateRow] | None = None) -> str:
        """A small text table: scorer, current, candidate, delta."""
        rows = list(self.rows if rows is None else rows)
        width = max([len("scorer"), *(len(r.scorer) for r in rows)])
        head = (
            f"  {'scorer':<{width}}  {'current v' + str(self.current_version):>12}  "
            f"{'candidate v' + str(self.candidate_version):>14}  {'delta':>8}"
        )
        lines = [head]
        for r in rows:
            lines.append(
                f"  {r.scorer:<{width}}  {r.current:>12.3f}  {r.candidate:>14.3f}  {r.delta:>+8.3f}"
            )
        return "\n".join(lines)


@dataclass(frozen=True)
class MoveResult:
    """What a move, delete or undo did."""

    kind: str
    name: str
    move: Move
    gate: Gate | None = None
    changed: bool = True

    def sentence(self) -> str:
        what = f"{self.kind} {self.name!r}"
        if not self.changed:
            return (
                f"{what}: {self.move.alias} already points at {_v(self.move.after)}; nothing moved."
            )
        verb = "undone" if self.move.undo else ("deleted" if self.move.after is None else "moved")
        line = f"{what}: {self.move.arrow()} ({verb}"
        if self.move.forced:
            line += ", forced past the gate"
        elif self.gate is not None and self.gate.passed:
            line += ", gate passed"
        return line + ")."


class StaleAlias(BadInput):
    """The alias moved since the board was drawn; ``current`` is where it points now."""

    def __init__(self, message: str, current: int | None) -> None:
        super().__init__(message)
        self.current = current


class GateRefused(BadInput):
    """The gate found a regression (or nothing to compare); ``gate`` holds what it saw."""

    def __init__(self, message: str, gate: Gate) -> None:
        super().__init__(message)
        self.gate = gate


# -- names --------------------------------------------------------------------------------


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise BadInput(f"Aliases belong to a prompt or a model, not {kind!r}.")
    return kind


def check_name(kind: str, name: str, tracking_uri: str) -> str:
    """A prompt / model name; on Databricks a Unity Catalog ``catalog.schema.name``."""
    name = (name or "").strip()
    if not name:
        raise BadInput(f"A {kind} needs a name, e.g. `%mlflow {kind}s NAME`.")
    if is_databricks(tracking_uri) and not _UC_NAME.match(name):
        raise BadInput(
            f"On Databricks {kind}s live in Unity Catalog: name it catalog.schema.{name}, "
            f"e.g. `%mlflow {kind}s main.default.{name}`."
        )
    return name


def is_databricks(uri: str | None) -> bool:
    return str(uri or "").startswith("databricks")


def check_alias(alias: str) -> str:
    """Refuse, before any call, an alias MLflow would refuse (same rules: letters, digits,
    ``_`` and ``-``; at most 255 characters; not ``latest``; not version-like ``v3``)."""
    from mlflow.exceptions import MlflowException
    from mlflow.utils.validation import (
        _validate_model_alias_name,
        _validate_model_alias_name_reserved,
    )

    try:
        _validate_model_alias_name(alias)
        _validate_model_alias_name_reserved(alias)
    except MlflowException as e:
        text = str(e.message)
        if "reserved" in text and alias.lower() == "latest":
            reason = "'latest' is reserved by MLflow for the newest version"
        elif "reserved" in text:
            reason = f"{alias!r} reads as a version number, which MLflow reserves"
        elif "empty" in text:
            reason = "it is empty"
        elif "length" in text or "exceeds" in text:
            reason = "MLflow allows at most 255 characters"
        else:
            reason = "MLflow allows only letters, digits, _ and -"
        raise BadInput(
            f"Alias {alias!r} is not allowed: {reason}; pick a name such as production, "
            "staging or champion."
        ) from e
    return alias


def resolve_version(board: Board, value: Any) -> int:
    """``3`` / ``"3"`` / ``"v3"`` → 3; ``latest`` → the newest; an alias → its version."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    match = re.fullmatch(r"[vV]?(\d+)", text)
    if match:
        number = _version_number(match[1])
        if number is None:
            raise BadInput(board._no_version(_cut(match[1])))
        return number
    if text.lower() == "latest" and board.latest is not None:
        return board.latest
    if text in board.aliases:
        return board.aliases[text]
    hint = _did_you_mean(text, list(board.aliases))
    raise BadInput(
        f"{text!r} is neither a version number nor an alias of {board.kind} {board.name!r}."
        f"{hint} It has {_version_span(board.numbers)}."
    )


# -- reading ------------------------------------------------------------------------------


#: Prompts whose aliases and latest version a listing reads (one registry call each).
ALIASED_LISTED = 200


def _prompt_entry(client, prompt, with_aliases: bool) -> Entry:
    """A prompt as the listing shows it: with its aliases and latest version, as models are
    (``search_prompts`` returns neither; the registered model behind an OSS prompt has both)."""
    entry = Entry(prompt.name, prompt.description or "", updated_ms=prompt.creation_timestamp)
    if not with_aliases:
        return entry
    try:
        rm = client._get_registry_client().get_registered_model(prompt.name)
    except Exception:
        return entry
    versions = [int(v.version) for v in (rm.latest_versions or [])]
    return Entry(
        entry.name,
        entry.description,
        latest=max(versions, default=None),
        aliases={str(a): int(v) for a, v in (rm.aliases or {}).items()},
        updated_ms=entry.updated_ms,
    )


def list_entries(client, kind: str, like: str | None = None) -> list[Entry]:
    """Every prompt / model (``like``: names containing it, or a LIKE pattern with % / _).
    On Databricks ``like`` must start with ``catalog.schema.``: prompt search is scoped to one
    Unity Catalog schema there."""
    check_kind(kind)
    clauses = []
    databricks = is_databricks(client.tracking_uri)
    if databricks:
        scope, pattern = _uc_scope(kind, like)
        clauses.append(scope)
        like = pattern
    if like:
        pattern = like if any(c in like for c in "%_") else f"%{like}%"
        clauses.append(f"name LIKE {_quote(pattern)}")
    filter_string = " AND ".join(clauses) or None
    out: list[Entry] = []
    token = None
    while True:
        if kind == "prompt":
            page = client.search_prompts(
                filter_string=filter_string, max_results=PAGE, page_token=token
            )
            out.extend(
                _prompt_entry(client, p, with_aliases=not databricks and len(out) < ALIASED_LISTED)
                for p in page
            )
        else:
            page = client.search_registered_models(
                filter_string=filter_string, max_results=PAGE, page_token=token
            )
            out.extend(
                Entry(
                    m.name,
                    m.description or "",
                    latest=max((int(v.version) for v in m.latest_versions or []), default=None),
                    aliases={a: int(v) for a, v in (m.aliases or {}).items()},
                    updated_ms=m.last_updated_timestamp,
                )
                for m in page
            )
        token = getattr(page, "token", None)
        if not token or not page:
            return sorted(out, key=lambda e: e.name.lower())


def _uc_scope(kind: str, like: str | None) -> tuple[str, str | None]:
    parts = (like or "").split(".", 2)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise BadInput(
            f"On Databricks, {kind} search is scoped to one Unity Catalog schema: "
            f"`%mlflow {kind}s --like CATALOG.SCHEMA[.PATTERN]`."
        )
    scope = f"catalog = {_quote(parts[0])} AND schema = {_quote(parts[1])}"
    return scope, (parts[2] if len(parts) == 3 and parts[2] else None)


def read_board(client, kind: str, name: str) -> Board:
    """One prompt / model: versions newest first, aliases, recorded moves."""
    check_kind(kind)
    aliases, tags, description = _entity(client, kind, name)
    versions = _versions(client, kind, name)
    if aliases is None:  # a store that would not give the entity: read each version
        aliases = {a: v.number for v, alias_list in versions for a in alias_list}
    return Board(
        kind=kind,
        name=name,
        versions=tuple(v for v, _ in versions),
        aliases=dict(sorted(aliases.items())),
        moves=tuple(settled_moves(moves_from_tags(tags), aliases)),
        description=description,
        read_ms=int(time.time() * 1000),
    )


def current_aliases(client, kind: str, name: str) -> tuple[dict[str, int], dict[str, str]]:
    """Where every alias points now, and the registry tags (one call)."""
    aliases, tags, _ = _entity(client, kind, name)
    if aliases is None:
        aliases = {
            a: v.number for v, alias_list in _versions(client, kind, name) for a in alias_list
        }
    return aliases, tags


def _entity(client, kind: str, name: str) -> tuple[dict[str, int] | None, dict[str, str], str]:
    """(aliases or None if the store would not say, tags, description)."""
    from mlflow.exceptions import MlflowException

    if kind == "prompt" and _unity_catalog(client):
        # Unity Catalog keeps prompts apart from models: the prompt API, aliases per version.
        prompt = client.get_prompt(name)
        if prompt is None:
            raise BadInput(_not_found(client, kind, name))
        return None, dict(prompt.tags or {}), prompt.description or ""
    try:
        if kind == "model":
            rm = client.get_registered_model(name)
        else:
            rm = client._get_registry_client().get_registered_model(name)
    except MlflowException as e:
        if _missing(e):
            raise BadInput(_not_found(client, kind, name)) from e
        raise
    internal = _tag_dict(getattr(rm, "_tags", None)) or _tag_dict(rm.tags)
    is_prompt = internal.get(_IS_PROMPT) == "true"
    if kind == "prompt" and not is_prompt:
        raise BadInput(
            f"{name!r} is a registered model, not a prompt: `%mlflow models {name}` shows it."
        )
    aliases = {str(a): int(v) for a, v in (rm.aliases or {}).items()}
    return aliases, _tag_dict(rm.tags), rm.description or ""


def _unity_catalog(client) -> bool:
    """Whether the client's registry is Databricks' Unity Catalog (``databricks-uc``)."""
    return str(getattr(client, "_registry_uri", "") or "").startswith("databricks-uc")


def _tag_dict(tags: Any) -> dict[str, str]:
    if not tags:
        return {}
    if isinstance(tags, dict):
        return dict(tags)
    return {t.key: t.value for t in tags}


def _missing(e: Exception) -> bool:
    return getattr(e, "error_code", "") == "RESOURCE_DOES_NOT_EXIST" or "not found" in str(e)


def _not_found(client, kind: str, name: str) -> str:
    try:
        names = [e.name for e in list_entries(client, kind)]
    except Exception:  # the listing is only for the hint
        names = []
    hint = _did_you_mean(name, names)
    return f"No {kind} {name!r} in {client.tracking_uri}.{hint} `%mlflow {kind}s` lists them."


def _versions(client, kind: str, name: str) -> list[tuple[Version, list[str]]]:
    """Every version newest first, with the aliases the store returned on it (often none)."""
    out: list[tuple[Version, list[str]]] = []
    token = None
    while True:
        if kind == "prompt":
            page, token = _prompt_version_page(client, name, token)
            out.extend((_prompt_version(p), list(p.aliases or [])) for p in page)
        else:
            page = client.search_model_versions(
                f"name = {_quote(name)}", max_results=PAGE, page_token=token
            )
            out.extend((_model_version(m), list(m.aliases or [])) for m in page)
            token = getattr(page, "token", None)
        if not token or not page:
            break
    out.sort(key=lambda pair: pair[0].number, reverse=True)
    if kind == "model":
        out = _with_metrics(client, out)
    return out


def _prompt_version_page(client, name: str, token: str | None) -> tuple[list, str | None]:
    """One page of prompt versions and the next page's token."""
    from mlflow.exceptions import MlflowException

    try:
        page = client.search_prompt_versions(name, max_results=PAGE, page_token=token)
    except MlflowException as e:
        if "only available in Unity Catalog" not in str(e):
            raise
        # MLflow 3.5 searches prompt versions only in Unity Catalog; elsewhere they are the
        # registered model's versions, which its registry client finds and converts.
        from mlflow.prompt.registry_utils import model_version_to_prompt_version

        page = client._get_registry_client().search_model_versions(
            f"name = {_quote(name)} AND tag.`{_IS_PROMPT}` = 'true'",
            max_results=PAGE,
            page_token=token,
        )
        items = [model_version_to_prompt_version(mv) for mv in page]
        return items, getattr(page, "token", None)
    # MLflow 3.5 on Unity Catalog answers with a response object instead of a PagedList.
    items = getattr(page, "prompt_versions", page)
    return list(items), getattr(page, "next_page_token", None) or getattr(page, "token", None)


def _prompt_version(p) -> Version:
    return Version(
        number=int(p.version),
        message=p.commit_message or "",
        author=p.user_id or "",
        created_ms=p.creation_timestamp,
        template=p.template,
        model_config=getattr(p, "model_config", None) or None,  # MLflow 3.7+
        response_format=_safe(lambda: p.response_format) or None,
    )


def _model_version(m) -> Version:
    return Version(
        number=int(m.version),
        message=m.description or "",
        author=m.user_id or "",
        created_ms=m.creation_timestamp,
        run_id=m.run_id or None,
        source=m.source or None,
    )


def _safe(fn):
    try:
        return fn()
    except Exception:  # a malformed stored value shows as nothing rather than breaking the board
        return None


def _with_metrics(client, versions: list[tuple[Version, list[str]]]):
    """Model versions with their source run's key metrics (one search per 100 runs)."""
    run_ids = sorted({v.run_id for v, _ in versions if v.run_id})
    metrics = run_metrics(client, run_ids)
    out = []
    for v, aliases in versions:
        found = metrics.get(v.run_id or "", {})
        if found:
            v = Version(**{**v.__dict__, "metrics": key_metrics(found)})
        out.append((v, aliases))
    return out


def key_metrics(metrics: dict[str, float], n: int = KEY_METRICS) -> tuple[tuple[str, float], ...]:
    """Scorer means first, then the rest, alphabetically; at most ``n``."""
    names = sorted(metrics, key=lambda k: (not k.endswith("/mean"), k))
    return tuple((k, float(metrics[k])) for k in names[:n])


def run_metrics(client, run_ids: list[str]) -> dict[str, dict[str, float]]:
    """Latest metrics of each run, read in batches across every experiment."""
    if not run_ids:
        return {}
    experiments = _experiment_ids(client)
    out: dict[str, dict[str, float]] = {}
    for i in range(0, len(run_ids), 100):
        chunk = run_ids[i : i + 100]
        runs = client.search_runs(
            experiments,
            filter_string=f"attributes.run_id IN ({', '.join(_quote(r) for r in chunk)})",
            max_results=len(chunk),
        )
        for run in runs:
            out[run.info.run_id] = dict(run.data.metrics)
    return out


def _experiment_ids(client) -> list[str]:
    from mlflow.entities import ViewType

    ids: list[str] = []
    token = None
    while True:
        page = client.search_experiments(view_type=ViewType.ALL, max_results=1000, page_token=token)
        ids.extend(e.experiment_id for e in page)
        token = getattr(page, "token", None)
        if not token or not page:
            return ids


# -- history ------------------------------------------------------------------------------


def moves_from_tags(tags: dict[str, str]) -> list[Move]:
    """Recorded moves in registry tags, newest first (a malformed one is skipped)."""
    out = []
    for key in sorted((k for k in tags if k.startswith(HISTORY_PREFIX)), reverse=True):
        try:
            data = json.loads(tags[key])
            out.append(
                Move(
                    alias=str(data["alias"]),
                    before=_int_or_none(data.get("from")),
                    after=_int_or_none(data.get("to")),
                    user=str(data.get("user") or ""),
                    time=str(data.get("time") or ""),
                    forced=bool(data.get("forced")),
                    gate=str(data.get("gate") or ""),
                    undo=bool(data.get("undo")),
                    key=key,
                    pending=data.get("state") == "pending",
                )
            )
        except (ValueError, KeyError, TypeError):
            continue
    return out


def settled_moves(moves: Iterable[Move], aliases: dict[str, int]) -> list[Move]:
    """The moves that happened, newest first: a pending record counts only as its alias's
    newest record with the alias where it was taking it (the move landed, its completion mark
    did not); any other pending record is a move that never happened."""
    out, newest_seen = [], set()
    for m in moves:
        newest = m.alias not in newest_seen
        newest_seen.add(m.alias)
        if m.pending and not (newest and aliases.get(m.alias) == m.after):
            continue
        out.append(Move(**{**m.__dict__, "pending": False}) if m.pending else m)
    return out


def _int_or_none(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


#: A pending record older than this is a writer that died mid-move, not one still moving.
CLAIM_LIFETIME_MS = 60_000
#: The least wait between writing a move's record and looking for an earlier writer's.
SETTLE_S = 0.01


def _history_key(now_ms: int) -> str:
    return f"{HISTORY_PREFIX}{now_ms:013d}.{secrets.token_hex(4)}"


def _claim_ms(key: str) -> int:
    try:
        return int(key[len(HISTORY_PREFIX) :].split(".", 1)[0])
    except ValueError:
        return 0


def _recorded_change(
    client,
    kind: str,
    name: str,
    move: Move,
    keys: Iterable[str],
    apply,
    expected: Any,
    confirmed_ms: int,
) -> Move:
    """Make the change ``apply()`` with its record: no change without a record, and of two
    writers confirming at once exactly one wins.

    1. The record is written first, marked pending (if that write fails nothing changes),
       under a key that orders writers by when they confirmed (``confirmed_ms``).
    2. After a short settle, the tags are read back: an earlier live pending record for the same alias means
       another writer confirmed first; this one withdraws, saying so.
    3. The alias is checked against ``expected`` again, now that the claim is visible.
    4. ``apply()``; then the alias is read back: if another writer's value is there, this
       one lost and says whose version won.
    5. The record is marked done (if that write fails the pending record still reads as done,
       because the alias is where it says).
    """
    key = _history_key(confirmed_ms)
    claim = Move(**{**move.__dict__, "key": key, "pending": True})
    started = time.monotonic()
    try:
        _set_tag(client, kind, name, key, json.dumps(claim.to_json(), ensure_ascii=False))
    except BadInput:
        raise
    except Exception as e:
        raise BadInput(
            f"The move of {move.alias!r} on {kind} {name!r} could not be recorded "
            f"({_first_line(e)}), so nothing moved."
        ) from e
    # A writer who confirmed just before this one may still have its record on the way:
    # wait about twice as long as this write took (at least SETTLE_S) before looking.
    wrote = time.monotonic() - started
    time.sleep(max(0.0, max(SETTLE_S, 2 * wrote) - wrote))
    try:
        aliases, tags = current_aliases(client, kind, name)
        rival = _earlier_claim(tags, move.alias, key, aliases.get(move.alias))
        if rival is not None:
            raise StaleAlias(
                f"{move.alias!r} of {kind} {name!r} is being moved to {_v(rival.after)} by "
                f"{rival.user or 'another writer'}, who confirmed first; nothing moved — "
                "check the board and move again if you still want to.",
                aliases.get(move.alias),
            )
        if expected is not _UNSET:
            _check_not_stale(kind, name, move.alias, aliases.get(move.alias), expected)
        apply()
    except BaseException:
        with contextlib.suppress(Exception):
            _delete_tag(client, kind, name, key)
        raise
    now = _alias_after(client, kind, name, move.alias)
    if now != move.after:
        with contextlib.suppress(Exception):
            _delete_tag(client, kind, name, key)
        raise StaleAlias(
            f"Another move of {move.alias!r} on {kind} {name!r} landed at the same time and "
            f"won: it points at {_v(now)}, not {_v(move.after)}; check the board.",
            now,
        )
    done = Move(**{**claim.__dict__, "pending": False})
    with contextlib.suppress(Exception):  # the pending record reads as done (see settled_moves)
        _set_tag(client, kind, name, key, json.dumps(done.to_json(), ensure_ascii=False))
    older = sorted(k for k in keys if k.startswith(HISTORY_PREFIX) and k != key)
    for old in older[: max(0, len(older) + 1 - HISTORY_MAX)]:
        with contextlib.suppress(Exception):  # another writer may have pruned it first
            _delete_tag(client, kind, name, old)
    return done


def _earlier_claim(tags: dict[str, str], alias: str, key: str, now: int | None) -> Move | None:
    """Another writer's move of ``alias`` confirmed before ``key`` and still under way: a
    pending record newer than the alias's last finished one, less than a minute old, whose
    alias is not yet where it takes it (``now``)."""
    mine = _claim_ms(key)
    for m in moves_from_tags({k: v for k, v in tags.items() if k < key}):
        if m.alias != alias:
            continue
        if not m.pending:
            return None
        if mine - _claim_ms(m.key) < CLAIM_LIFETIME_MS and m.after != now:
            return m
    return None


def _alias_after(client, kind: str, name: str, alias: str) -> int | None:
    if kind == "prompt" and not _unity_catalog(client):
        _forget_cached_alias(client, name, alias)
    return _alias_now(client, kind, name, alias)


def _first_line(e: Exception) -> str:
    text = str(getattr(e, "message", None) or e).strip()
    return text.splitlines()[0][:300] if text else type(e).__name__


def _set_tag(client, kind: str, name: str, key: str, value: str) -> None:
    if kind == "prompt":
        client.set_prompt_tag(name, key, value)
    else:
        client.set_registered_model_tag(name, key, value)


def _delete_tag(client, kind: str, name: str, key: str) -> None:
    if kind == "prompt":
        client.delete_prompt_tag(name, key)
    else:
        client.delete_registered_model_tag(name, key)


def current_user() -> str:
    """The user MLflow records on runs (``mlflow.user``): the tracking username if one is
    configured, else the login name."""
    from mlflow.tracking.context.default_context import _get_user
    from mlflow.utils.credentials import read_mlflow_creds

    try:
        username = read_mlflow_creds().username
    except Exception:  # an unreadable credentials file: MLflow's run tag would fail too
        username = None
    return username or _get_user()


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# -- moving -------------------------------------------------------------------------------


def move_alias(
    client,
    kind: str,
    name: str,
    alias: str,
    version: Any,
    *,
    expected: Any = _UNSET,
    gate: bool = False,
    force: bool = False,
    versions: list[int] | None = None,
    history: list[str] | None = None,
    undo: bool = False,
) -> MoveResult:
    """Point ``alias`` at ``version``; record who, when and from where.

    ``expected``: the version the caller saw the alias on (None: not set); if it points
    elsewhere now the move is refused with :class:`StaleAlias`. ``gate``: refuse unless the
    candidate's latest evaluation regressed no scorer shared with the current version's
    (:func:`gate_check`); ``force`` moves anyway and records the regressions.

    A board passes what it read: ``versions`` (the version numbers) and ``history`` (the
    history tag keys, for pruning); then the stale check reads only this alias instead of
    the whole prompt / model."""
    confirmed_ms = int(time.time() * 1000)
    check_kind(kind)
    check_alias(alias)
    if history is not None and versions is not None and _is_number(version):
        aliases, keys = None, history
        before = _alias_now(client, kind, name, alias)
    else:
        aliases, tags = current_aliases(client, kind, name)
        keys = list(tags)
        before = aliases.get(alias)
    target = _check_version(client, kind, name, version, aliases or {}, versions)
    _check_not_stale(kind, name, alias, before, expected)
    user, when = current_user(), utc_now()
    if before == target:
        move = Move(alias, before, target, user, when)
        return MoveResult(kind, name, move, changed=False)
    # A move writes its record first, so a missing version is found before, not by the store.
    if versions is None and not _version_exists(client, kind, name, target):
        raise BadInput(_no_version(client, kind, name, target, None))
    seen = None
    if gate:
        seen = gate_check(client, kind, name, before, target)
        if not seen.passed and not force:
            raise GateRefused(_gate_refusal(kind, name, alias, seen), seen)
    forced = bool(gate and force and seen is not None and not seen.passed)
    move = Move(
        alias,
        before,
        target,
        user,
        when,
        forced=forced,
        gate=seen.summary() if seen is not None else "",
        undo=undo,
    )
    recorded = _recorded_change(
        client,
        kind,
        name,
        move,
        keys,
        lambda: _set_alias(client, kind, name, alias, target),
        before,
        confirmed_ms,
    )
    return MoveResult(kind, name, recorded, seen)


def _is_number(version: Any) -> bool:
    return re.fullmatch(r"[vV]?\d+", str(version).strip()) is not None


def _alias_now(client, kind: str, name: str, alias: str) -> int | None:
    """The version ``alias`` points at now (None: not set), in one small read."""
    from mlflow.exceptions import MlflowException

    try:
        if kind == "prompt" and _unity_catalog(client):
            mv = client.get_prompt_version_by_alias(name, alias)
        else:
            mv = client._get_registry_client().get_model_version_by_alias(name, alias)
    except MlflowException as e:
        if _missing(e):
            return None
        raise
    return None if mv is None else int(mv.version)


def delete_alias(
    client, kind: str, name: str, alias: str, *, expected: Any = _UNSET, undo: bool = False
) -> MoveResult:
    """Remove ``alias`` (refused if it moved since ``expected``); the deletion is recorded."""
    confirmed_ms = int(time.time() * 1000)
    check_kind(kind)
    check_alias(alias)
    aliases, tags = current_aliases(client, kind, name)
    before = aliases.get(alias)
    if before is None and expected is _UNSET:
        raise BadInput(no_alias(kind, name, alias, aliases))
    _check_not_stale(kind, name, alias, before, expected)
    if before is None:
        raise BadInput(no_alias(kind, name, alias, aliases))

    def apply() -> None:
        if kind == "prompt":
            client.delete_prompt_alias(name, alias)
        else:
            client.delete_registered_model_alias(name, alias)

    move = Move(alias, before, None, current_user(), utc_now(), undo=undo)
    return MoveResult(
        kind,
        name,
        _recorded_change(client, kind, name, move, list(tags), apply, before, confirmed_ms),
    )


def undo(client, kind: str, name: str, alias: str) -> MoveResult:
    """Put ``alias`` back where its last recorded move took it from (deleting it if it did
    not exist before); refused if it was moved since without a record."""
    check_kind(kind)
    check_alias(alias)
    aliases, tags = current_aliases(client, kind, name)
    last = last_move(
        kind, name, alias, settled_moves(moves_from_tags(tags), aliases), aliases.get(alias)
    )
    expected = last.after
    if last.before is None:
        return delete_alias(client, kind, name, alias, expected=expected, undo=True)
    return move_alias(client, kind, name, alias, last.before, expected=expected, undo=True)


def last_move(kind: str, name: str, alias: str, moves: Iterable[Move], now: int | None) -> Move:
    """The recorded move an undo reverses: ``alias``'s newest, if the alias is still where it
    took it."""
    history = [m for m in moves if m.alias == alias]
    if not history:
        raise BadInput(
            f"No recorded move of {alias!r} on {kind} {name!r} to undo; only moves made with "
            "`%mlflow alias` or the board are recorded."
        )
    if history[0].undo:
        raise BadInput(
            f"Nothing left to undo for {alias!r} of {kind} {name!r}: its last change "
            f"({history[0].arrow()}) was an undo; move it explicitly if you want it back."
        )
    if history[0].after != now:
        raise BadInput(
            f"{alias!r} of {kind} {name!r} points at {_v(now)}, not at {_v(history[0].after)} "
            "where its last recorded move took it, so it was moved without a record; move it "
            "explicitly instead of undoing."
        )
    return history[0]


def _check_not_stale(kind, name, alias, now: int | None, expected: Any) -> None:
    if expected is _UNSET or now == expected:
        return
    raise StaleAlias(
        f"{alias!r} of {kind} {name!r} moved since the board was drawn: it points at {_v(now)} "
        f"now, not {_v(expected)}; the board is refreshed, check it and move again.",
        now,
    )


def _set_alias(client, kind: str, name: str, alias: str, version: int) -> None:
    from mlflow.exceptions import MlflowException

    try:
        if kind == "model":
            client.set_registered_model_alias(name, alias, str(version))
            return
        # MlflowClient.set_prompt_alias first re-reads the version, then makes this store
        # call. The stale check's entity read has just proven the prompt, and the store
        # refuses a missing version itself, so a move costs about what the raw call does.
        if _unity_catalog(client):
            client.set_prompt_alias(name, alias, version)
        else:
            client._get_registry_client().set_prompt_alias(name, alias, version)
    except MlflowException as e:
        if _missing(e):
            raise BadInput(_no_version(client, kind, name, version, None)) from e
        raise
    _forget_cached_alias(client, name, alias)


def _forget_cached_alias(client, name: str, alias: str) -> None:
    """Drop MLflow's cached ``prompts:/NAME@ALIAS`` as its own set_prompt_alias does (the
    cache exists from MLflow 3.7 on)."""
    try:
        from mlflow.prompt.registry_utils import PromptCache
    except ImportError:
        return
    with contextlib.suppress(Exception):
        PromptCache.get_instance().delete(name, alias=alias, registry_uri=client._registry_uri)


def _check_version(client, kind, name, version: Any, aliases, versions) -> int:
    text = str(version).strip()
    match = re.fullmatch(r"[vV]?(\d+)", text)
    if match is None:
        if text in aliases:
            return aliases[text]
        hint = _did_you_mean(text, list(aliases))
        raise BadInput(
            f"Version {_shown(text)} of {kind} {name!r} is not a number or an alias.{hint}"
        )
    number = _version_number(match[1])
    if number is None:  # no such version can exist, and asking the store would overflow
        raise BadInput(_no_version(client, kind, name, _cut(match[1]), versions))
    # Without the caller's list, move_alias asks the store whether the version exists.
    if versions is None or number in versions:
        return number
    raise BadInput(_no_version(client, kind, name, number, versions))


def _no_version(client, kind: str, name: str, number: int | str, versions: list[int] | None) -> str:
    if versions is None:
        try:
            versions = [v.number for v, _ in _versions(client, kind, name)]
        except Exception:  # only for the hint
            versions = []
    close = _closest_version(number, versions)
    hint = f" Did you mean v{close}?" if close is not None else ""
    return (
        f"{kind.capitalize()} {name!r} has no version {number}; it has "
        f"{_version_span(versions)}.{hint}"
    )


def _version_exists(client, kind: str, name: str, number: int) -> bool:
    from mlflow.exceptions import MlflowException

    try:
        if kind == "prompt":
            return client.get_prompt_version(name, number) is not None
        client.get_model_version(name, str(number))
        return True
    except MlflowException as e:
        if _missing(e):
            return False
        raise


def no_alias(kind: str, name: str, alias: str, aliases: dict[str, int]) -> str:
    hint = _did_you_mean(alias, list(aliases))
    have = ", ".join(sorted(aliases)) or "none"
    return f"{kind.capitalize()} {name!r} has no alias {alias!r} (it has: {have}).{hint}"


# -- the gate -----------------------------------------------------------------------------


def gate_check(client, kind: str, name: str, current: int | None, candidate: int) -> Gate:
    """Compare the latest evaluation run of ``candidate`` with that of ``current`` on every
    ``<scorer>/mean`` metric both logged; a lower candidate mean is a regression.

    Prompts: runs MLflow linked the version to (``mlflow.genai.load_prompt`` inside a run
    tags it with ``mlflow.linkedPrompts``), newest first, with at least one scorer mean.
    Models: the version's source run."""
    cur = eval_run(client, kind, name, current) if current is not None else None
    cand = eval_run(client, kind, name, candidate)
    rows = []
    if cur and cand:
        for key in sorted(set(cur[1]) & set(cand[1])):
            rows.append(GateRow(key.removesuffix("/mean"), cur[1][key], cand[1][key]))
    return Gate(
        current,
        candidate,
        cur[0] if cur else None,
        cand[0] if cand else None,
        tuple(rows),
    )


def eval_run(client, kind: str, name: str, version: int) -> tuple[str, dict[str, float]] | None:
    """(run id, {``scorer/mean``: value}) of the newest evaluation of one version, or None."""
    if kind == "model":
        mv = client.get_model_version(name, str(version))
        if not mv.run_id:
            return None
        means = _means(run_metrics(client, [mv.run_id]).get(mv.run_id, {}))
        return (mv.run_id, means) if means else None
    # LIKE narrows on the name; the JSON is checked exactly below (_ is a LIKE wildcard).
    pattern = _quote(f'%"{name}"%')
    runs = client.search_runs(
        _experiment_ids(client),
        filter_string=f"tags.`{_LINKED_PROMPTS}` LIKE {pattern}",
        order_by=["attributes.start_time DESC"],
        max_results=1000,
    )
    for run in runs:
        if not _links(run.data.tags.get(_LINKED_PROMPTS), name, version):
            continue
        means = _means(run.data.metrics)
        if means:
            return run.info.run_id, means
    return None


def _links(tag: str | None, name: str, version: int) -> bool:
    try:
        linked = json.loads(tag or "[]")
    except ValueError:
        return False
    return any(
        isinstance(p, dict) and p.get("name") == name and str(p.get("version")) == str(version)
        for p in linked
    )


def _means(metrics: dict[str, float]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if k.endswith("/mean")}


def _gate_refusal(kind: str, name: str, alias: str, gate: Gate) -> str:
    arrow = f"{alias}: {_v(gate.current_version)} → v{gate.candidate_version}"
    if gate.current_version is None:
        return (
            f"Gate: {alias!r} points at no version yet, so there is no evaluation to compare "
            f"v{gate.candidate_version} with; add --force to move it anyway."
        )
    if not gate.comparable:
        missing = [
            f"v{v}"
            for v, run in (
                (gate.current_version, gate.current_run),
                (gate.candidate_version, gate.candidate_run),
            )
            if not run
        ]
        if missing:
            return (
                f"Gate: no evaluation run with scorer means is linked to {' or '.join(missing)} "
                f"of {kind} {name!r}, so {arrow} cannot be checked; evaluate it "
                "(mlflow.genai.evaluate in a run that loads the version) or add --force."
            )
        return (
            f"Gate: the evaluation runs of v{gate.current_version} and v{gate.candidate_version} "
            f"share no scorer, so {arrow} cannot be checked; add --force to move it anyway."
        )
    bad = gate.regressions
    return (
        f"Gate refused {arrow}: {len(bad)} scorer(s) regressed (--force moves it anyway and "
        f"records this):\n{gate.table(bad)}"
    )


# -- diff ---------------------------------------------------------------------------------


def diff_versions(board: Board, a: Any, b: Any) -> VersionDiff:
    """Version ``a`` (the baseline) against ``b``: template lines and settings."""
    va, vb = board.version(a), board.version(b)
    lines = []
    for line in difflib.ndiff(va.template_text().splitlines(), vb.template_text().splitlines()):
        op = line[:1]
        if op in (" ", "+", "-"):
            lines.append((op, line[2:]))
    settings = []
    for prefix, left, right in (
        ("model_config", va.model_config, vb.model_config),
        ("response_format", va.response_format, vb.response_format),
    ):
        settings.extend(_dict_changes(prefix, left or {}, right or {}))
    if board.kind == "model":
        settings.extend(_dict_changes("metric", dict(va.metrics), dict(vb.metrics)))
        for key in ("message", "run_id", "source"):
            if getattr(va, key) != getattr(vb, key):
                settings.append((key, getattr(va, key), getattr(vb, key)))
    return VersionDiff(board.kind, board.name, va, vb, tuple(lines), tuple(settings))


def _dict_changes(prefix: str, left: dict, right: dict) -> list[tuple[str, Any, Any]]:
    out = []
    for key in sorted(set(left) | set(right), key=str):
        a, b = left.get(key), right.get(key)
        if a != b:
            out.append((f"{prefix}.{key}", a, b))
    return out


def template_text(template: Any) -> str:
    if template is None:
        return ""
    if isinstance(template, str):
        return template
    if isinstance(template, list):
        lines = []
        for message in template:
            if isinstance(message, dict):
                content = message.get("content", "")
                if not isinstance(content, str):
                    content = json.dumps(content, ensure_ascii=False)
                lines.append(f"{message.get('role', '?')}: {content}")
            else:
                lines.append(str(message))
        return "\n".join(lines)
    return json.dumps(template, default=str, ensure_ascii=False)


# -- small helpers ------------------------------------------------------------------------


def _quote(value: str) -> str:
    from mlflow_magics.trace_search import quote_value

    return quote_value(value)


def _did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    return f" Did you mean {close[0]!r}?" if close else ""


def _version_number(digits: str) -> int | None:
    """The version number written in ``digits``, or None for one no registry can have: 0
    (versions count from 1) or past VERSION_MAX (length first: ``int`` refuses more than
    4,300 digits)."""
    digits = digits.lstrip("0") or "0"
    if len(digits) > len(str(VERSION_MAX)) or not 1 <= int(digits) <= VERSION_MAX:
        return None
    return int(digits)


def _shown(value: str, cap: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= cap else text[: cap - 2] + "…" + text[0]


def _cut(digits: str, cap: int = 30) -> str:
    return digits if len(digits) <= cap else digits[: cap - 1] + "…"


def _closest_version(number: Any, numbers: list[int]) -> int | None:
    try:
        wanted = int(number)
    except (TypeError, ValueError):
        return None
    return min(numbers, key=lambda n: (abs(n - wanted), -n)) if numbers else None


def _version_span(numbers: list[int]) -> str:
    if not numbers:
        return "no versions"
    lo, hi = min(numbers), max(numbers)
    if len(numbers) == hi - lo + 1:
        return f"v{lo}" if lo == hi else f"versions v{lo}–v{hi}"
    shown = ", ".join(f"v{n}" for n in sorted(numbers)[-8:])
    return f"versions {shown}" if len(numbers) <= 8 else f"{len(numbers)} versions (…, {shown})"


__all__ = [
    "HISTORY_MAX",
    "HISTORY_PREFIX",
    "KINDS",
    "Board",
    "Entry",
    "Gate",
    "GateRefused",
    "GateRow",
    "Move",
    "MoveResult",
    "StaleAlias",
    "Version",
    "VersionDiff",
    "check_alias",
    "check_name",
    "delete_alias",
    "diff_versions",
    "gate_check",
    "list_entries",
    "move_alias",
    "read_board",
    "undo",
]
