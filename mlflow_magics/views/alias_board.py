"""The alias board (``%mlflow prompts|models``) and a version diff (``%mlflow diff prompt``),
in three tiers.

- widget: :class:`~mlflow_magics.views.alias_board_widget.AliasBoardWidget`: the versions with
  their aliases drawn on them, a diff of any two, a move bar whose Move shows
  ``production: v2 → v3`` and waits for Confirm, and each alias's history with Undo;
- static HTML: the same board without controls; versions and histories in ``<details>``;
- text: the versions as lines, aliases after them, then the histories.

Every widget action has a Python twin on :class:`AliasBoard`: ``open``, ``refresh``, ``diff``,
``move`` / ``delete_alias`` / ``undo`` (each only plans; ``confirm`` does it, ``cancel``
drops it) and ``history``. A move is refused, and the board refreshed, when the alias moved
since the board was drawn. The view reaches MLflow only through :mod:`mlflow_magics.registry`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlflow_magics import registry
from mlflow_magics.connection import store_call
from mlflow_magics.errors import BadInput
from mlflow_magics.registry import Board, Entry, Move, MoveResult, VersionDiff
from mlflow_magics.views import display
from mlflow_magics.views.markup import NO_MATH, Markup, join, tag, visible
from mlflow_magics.views.table_css import DIM, RAISED, WARN, table_rules, tint
from mlflow_magics.views.trace_table import clip, format_time

#: Versions the static tiers list (aliased versions are always listed too).
STATIC_VERSIONS = 50
#: Characters of a template preview line / of a whole template sent to the widget or HTML.
PREVIEW = 120
TEMPLATE_CAP = 4000
#: Diff lines the static tiers show.
DIFF_LINES = 400
#: Names the listing shows.
LIST_CAP = 200


@dataclass(frozen=True, repr=False)
class Pending:
    """A planned alias change, waiting for :meth:`AliasBoard.confirm`."""

    alias: str
    before: int | None
    after: int | None
    action: str = "move"  # move, delete or undo
    gate: bool = False
    force: bool = False

    def arrow(self) -> str:
        return Move(self.alias, self.before, self.after).arrow()

    def __repr__(self) -> str:
        gate = " with the gate" if self.gate else ""
        return f"<Pending {self.action} {self.arrow()}{gate}: board.confirm() does it>"


class AliasBoard:
    """A prompt / model registry listing, or one prompt / model with its aliases.

    ``b.board`` is the plain :class:`~mlflow_magics.registry.Board` (versions, aliases,
    moves); ``b.move("production", 3)`` then ``b.confirm()`` moves an alias as the widget's
    Move and Confirm do; ``b.diff(2, 3)`` compares two versions; ``b.undo("production")`` then
    ``b.confirm()`` moves it back; ``b.history("production")`` lists its recorded moves.
    """

    def __init__(self, client, kind: str, name: str | None = None, like: str | None = None):
        self._client = client
        self.kind = registry.check_kind(kind)
        self.like = like
        self.entries: list[Entry] = []
        self.board: Board | None = None
        self.pending: Pending | None = None
        self.shown_diff: VersionDiff | None = None
        self.last: MoveResult | None = None
        self.note = ""
        self._widget = None
        if name:
            self.board = registry.read_board(client, kind, name)
        else:
            self.entries = registry.list_entries(client, kind, like)

    # -- reading ------------------------------------------------------------------------

    @property
    def name(self) -> str | None:
        return self.board.name if self.board else None

    @property
    def aliases(self) -> dict[str, int]:
        """Where each alias pointed when the board was (re)drawn."""
        return dict(self.board.aliases) if self.board else {}

    @property
    def versions(self) -> list[int]:
        return self.board.numbers if self.board else []

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.entries]

    @store_call
    def open(self, name: str) -> AliasBoard:
        """Show one prompt / model (what clicking its name in the listing does)."""
        self.board = registry.read_board(self._client, self.kind, name)
        self.pending = None
        self.shown_diff = None
        self.note = ""
        self._sync()
        return self

    @store_call
    def refresh(self) -> AliasBoard:
        """Re-read from the registry (a pending change is dropped)."""
        if self.board is not None:
            self.board = registry.read_board(self._client, self.kind, self.board.name)
        else:
            self.entries = registry.list_entries(self._client, self.kind, self.like)
        self.pending = None
        self._sync()
        return self

    def history(self, alias: str) -> list[Move]:
        """Recorded moves of ``alias``, newest first."""
        board = self._one()
        registry.check_alias(alias)
        return board.history(alias)

    def diff(self, a: Any, b: Any) -> VersionDiffView:
        """Version ``a`` (baseline) against ``b``; also shown under the board."""
        self.shown_diff = registry.diff_versions(self._one(), a, b)
        self._sync()
        return VersionDiffView(self.shown_diff)

    # -- planning and confirming ------------------------------------------------------------

    def move(self, alias: str, version: Any, gate: bool = False, force: bool = False) -> Pending:
        """Plan pointing ``alias`` at ``version`` (``production: v2 → v3``); nothing moves
        until :meth:`confirm`."""
        board = self._one()
        registry.check_alias(alias)
        target = board.version(version).number
        return self._plan(Pending(alias, board.aliases.get(alias), target, "move", gate, force))

    def delete_alias(self, alias: str) -> Pending:
        """Plan removing ``alias``; :meth:`confirm` does it."""
        board = self._one()
        registry.check_alias(alias)
        if alias not in board.aliases:
            raise BadInput(registry.no_alias(self.kind, board.name, alias, board.aliases))
        return self._plan(Pending(alias, board.aliases[alias], None, "delete"))

    def undo(self, alias: str) -> Pending:
        """Plan moving ``alias`` back to where its last recorded move took it from."""
        board = self._one()
        registry.check_alias(alias)
        now = board.aliases.get(alias)
        last = registry.last_move(self.kind, board.name, alias, board.moves, now)
        return self._plan(Pending(alias, now, last.before, "undo"))

    def _plan(self, pending: Pending) -> Pending:
        self.pending = pending
        self.note = f"{pending.arrow()}: confirm to {pending.action}."
        self._sync()
        return pending

    def cancel(self) -> None:
        """Drop the planned change."""
        self.pending = None
        self.note = "Cancelled; nothing moved."
        self._sync()

    @store_call
    def confirm(self) -> MoveView:
        """Do the planned change, unless the alias moved since the board was drawn (then the
        board is refreshed and the change refused) or the gate refuses it."""
        pending, board = self.pending, self._one()
        if pending is None:
            raise BadInput("Nothing to confirm: plan a change with move, delete_alias or undo.")
        self.pending = None
        args = (self._client, self.kind, board.name, pending.alias)
        try:
            if pending.after is None:
                result = registry.delete_alias(
                    *args, expected=pending.before, undo=pending.action == "undo"
                )
            else:
                result = registry.move_alias(
                    *args,
                    pending.after,
                    expected=pending.before,
                    gate=pending.gate,
                    force=pending.force,
                    versions=board.numbers,
                    history=[m.key for m in board.moves],
                    undo=pending.action == "undo",
                )
        except registry.StaleAlias:
            self.board = registry.read_board(self._client, self.kind, board.name)
            self.note = ""
            self._sync()
            raise
        except BadInput:
            self.note = ""
            self._sync()
            raise
        self.last = result
        self.board = registry.read_board(self._client, self.kind, board.name)
        self.note = result.sentence()
        self._sync()
        return MoveView(result)

    def _one(self) -> Board:
        if self.board is None:
            raise BadInput(
                f"This board lists {self.kind}s; open one first: board.open(NAME) or "
                f"`%mlflow {self.kind}s NAME`."
            )
        return self.board

    # -- the widget ---------------------------------------------------------------------

    @property
    def widget(self):
        """The interactive board (created on first use)."""
        if self._widget is None:
            from mlflow_magics.views.alias_board_widget import AliasBoardWidget

            self._widget = AliasBoardWidget(self)
            self._sync()
        return self._widget

    def payload(self) -> dict[str, Any]:
        """The board as the widget receives it (one synced trait)."""
        if self.board is None:
            return {
                "kind": self.kind,
                "name": None,
                "listing": [
                    {
                        "name": e.name,
                        "description": clip(e.description, PREVIEW),
                        "latest": e.latest,
                        "aliases": e.aliases,
                    }
                    for e in self.entries[:LIST_CAP]
                ],
                "more": max(0, len(self.entries) - LIST_CAP),
            }
        b = self.board
        return {
            "kind": self.kind,
            "name": b.name,
            "description": clip(b.description, 300),
            "latest": b.latest,
            "aliases": b.aliases,
            "versions": [_version_payload(v) for v in b.versions],
            "history": {
                alias: [_move_payload(m) for m in b.history(alias)] for alias in b.alias_names()
            },
        }

    def _sync(self) -> None:
        w = self._widget
        if w is None:
            return
        with w.hold_sync():
            w.board = self.payload()
            w.pending = (
                {
                    "alias": self.pending.alias,
                    "before": self.pending.before,
                    "after": self.pending.after,
                    "action": self.pending.action,
                    "text": self.pending.arrow(),
                }
                if self.pending
                else {}
            )
            w.diff = _diff_payload(self.shown_diff) if self.shown_diff else {}
            w.note = self.note

    # -- static tiers -------------------------------------------------------------------

    def _title(self) -> str:
        if self.board is None:
            n = len(self.entries)
            what = f"{n} {self.kind}{'' if n == 1 else 's'}"
            return f"{what} matching {self.like!r}" if self.like else what
        b = self.board
        n = len(b.versions)
        return f"{self.kind.capitalize()} {b.name} · {n} version{'' if n == 1 else 's'}"

    def _static_versions(self):
        b = self._one()
        aliased = set(b.aliases.values())
        shown = [v for i, v in enumerate(b.versions) if i < STATIC_VERSIONS or v.number in aliased]
        return shown, len(b.versions) - len(shown)

    def _labels(self, number: int) -> list[str]:
        b = self._one()
        labels = sorted(a for a, v in b.aliases.items() if v == number)
        if number == b.latest:
            labels.append("latest")
        return labels

    def to_text(self) -> str:
        lines = [self._title()]
        if self.board is None:
            for e in self.entries[:LIST_CAP]:
                aliases = ", ".join(f"{a}→v{v}" for a, v in sorted(e.aliases.items()))
                if e.latest is not None:
                    aliases = ", ".join(p for p in (aliases, f"latest v{e.latest}") if p)
                lines.append(
                    f"  {clip(e.name, 60):<40}  {clip(e.description, 60)}  {aliases}".rstrip()
                )
            if len(self.entries) > LIST_CAP:
                lines.append(f"  … {len(self.entries) - LIST_CAP:,} more; narrow with --like")
            return visible("\n".join(lines))
        b = self.board
        if b.aliases:
            lines.append(
                "aliases: "
                + ", ".join(f"{a} → v{v}" for a, v in sorted(b.aliases.items()))
                + (f", latest → v{b.latest}" if b.latest else "")
            )
        shown, more = self._static_versions()
        for v in shown:
            labels = self._labels(v.number)
            mark = f"  [{', '.join(clip(x, 40) for x in labels)}]" if labels else ""
            when = format_time(v.created_ms) if v.created_ms else ""
            lines.append(f"v{v.number}{mark}  {when}  {clip(v.author, 30)}  {clip(v.message, 80)}")
            detail = _detail_line(self.kind, v)
            if detail:
                lines.append(f"    {detail}")
        if more:
            lines.append(f"… {more:,} older versions; see board.board.versions")
        for alias in b.alias_names():
            moves = b.history(alias)
            if moves:
                lines.append(f"history of {clip(alias, 60)}:")
                lines.extend(f"  {_move_text(m)}" for m in moves[:20])
        if self.pending:
            lines.append(f"pending: {self.pending.arrow()} (confirm with board.confirm())")
        if self.note:
            lines.append(self.note)
        if self.shown_diff:
            lines.append(diff_text(self.shown_diff))
        return visible("\n".join(lines))

    def to_html(self) -> str:
        body: list[Any] = [tag("div", tag("b", self._title()), class_="cap")]
        if self.board is None:
            body.append(self._listing_html())
        else:
            body.extend(self._board_html())
        if self.note:
            body.append(tag("div", self.note, class_="note"))
        if self.shown_diff:
            body.append(diff_html(self.shown_diff))
        return join([tag("style", Markup(_CSS)), tag("div", body, class_=f"mlfm-alias {NO_MATH}")])

    def _listing_html(self) -> Markup:
        head = tag("tr", [tag("th", t) for t in ("name", "description", "aliases")])
        rows = [
            tag(
                "tr",
                tag("td", tag("code", clip(e.name, 120))),
                tag("td", clip(e.description, PREVIEW)),
                tag(
                    "td",
                    [_chip(a, v) for a, v in sorted(e.aliases.items())],
                    _chip("latest", e.latest) if e.latest is not None else "",
                ),
            )
            for e in self.entries[:LIST_CAP]
        ]
        more = len(self.entries) - LIST_CAP
        return join(
            [
                tag("table", tag("thead", head), tag("tbody", rows)),
                tag("div", f"{more:,} more; narrow with --like", class_="more")
                if more > 0
                else None,
            ]
        )

    def _board_html(self) -> list[Markup]:
        b = self._one()
        out: list[Markup] = []
        if b.description:
            out.append(tag("div", clip(b.description, 300), class_="desc"))
        chips = [_chip(a, v) for a, v in sorted(b.aliases.items())]
        if b.latest is not None:
            chips.append(_chip("latest", b.latest))
        out.append(tag("div", "aliases: ", chips or "none", class_="aliases"))
        shown, more = self._static_versions()
        for v in shown:
            labels = [_label(x) for x in self._labels(v.number)]
            when = format_time(v.created_ms) if v.created_ms else ""
            summary = tag(
                "summary",
                tag("b", f"v{v.number}"),
                " ",
                labels,
                tag("span", when, class_="dim"),
                " ",
                tag("span", clip(v.author, 40), class_="dim"),
                " ",
                tag("span", clip(v.message, PREVIEW), class_="msg"),
            )
            out.append(tag("details", summary, _version_detail_html(self.kind, v), class_="ver"))
        if more:
            out.append(tag("div", f"{more:,} older versions not shown.", class_="more"))
        for alias in b.alias_names():
            moves = b.history(alias)
            if not moves:
                continue
            items = [tag("li", _move_text(m)) for m in moves]
            out.append(
                tag(
                    "details",
                    tag("summary", f"history of {alias} ({len(moves)})"),
                    tag("ul", items),
                    class_="hist",
                )
            )
        if self.pending:
            out.append(tag("div", f"pending: {self.pending.arrow()}", class_="pending"))
        return out

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        return display.mimebundle(self.to_text(), html=self.to_html, widget=lambda: self.widget)

    def __repr__(self) -> str:
        if self.board is None:
            return f"<AliasBoard {len(self.entries)} {self.kind}s>"
        return (
            f"<AliasBoard {self.kind} {self.board.name!r} {len(self.board.versions)} versions "
            f"{self.board.aliases}>"
        )


class MoveView:
    """``%mlflow alias …``: before → after, and the gate table when a gate ran."""

    def __init__(self, result: MoveResult) -> None:
        self.result = result

    @property
    def before(self) -> int | None:
        return self.result.move.before

    @property
    def after(self) -> int | None:
        return self.result.move.after

    def to_text(self) -> str:
        lines = [self.result.sentence()]
        if self.result.gate is not None and self.result.gate.rows:
            lines.append(self.result.gate.table())
        return visible("\n".join(lines))

    def to_html(self) -> str:
        parts: list[Any] = [tag("div", self.result.sentence())]
        if self.result.gate is not None and self.result.gate.rows:
            parts.append(tag("pre", self.result.gate.table()))
        return join([tag("style", Markup(_CSS)), tag("div", parts, class_=f"mlfm-alias {NO_MATH}")])

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        return display.mimebundle(self.to_text(), html=self.to_html)

    def __repr__(self) -> str:
        return f"<MoveView {self.result.move.arrow()}>"


class VersionDiffView:
    """Two versions compared: template lines and settings (``%mlflow diff prompt``)."""

    def __init__(self, diff: VersionDiff) -> None:
        self.diff = diff

    @property
    def lines(self) -> list[tuple[str, str]]:
        return list(self.diff.lines)

    @property
    def settings(self) -> list[tuple[str, Any, Any]]:
        return list(self.diff.settings)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        return display.mimebundle(diff_text(self.diff), html=lambda: _styled(diff_html(self.diff)))

    def __repr__(self) -> str:
        d = self.diff
        return f"<VersionDiffView {d.kind} {d.name!r} v{d.a.number} → v{d.b.number}>"


# -- pieces ---------------------------------------------------------------------------------


def _version_payload(v) -> dict[str, Any]:
    return {
        "n": v.number,
        "message": clip(v.message, 300),
        "author": clip(v.author, 80),
        "time": format_time(v.created_ms) if v.created_ms else "",
        "preview": clip(v.template_text(), PREVIEW),
        "template": v.template_text()[:TEMPLATE_CAP],
        "config": _config_text(v),
        "run_id": v.run_id or "",
        "metrics": [[k, round(x, 4)] for k, x in v.metrics],
    }


def _move_payload(m: Move) -> dict[str, Any]:
    return {
        "before": m.before,
        "after": m.after,
        "user": clip(m.user, 80),
        "time": m.time,
        "forced": m.forced,
        "gate": clip(m.gate, 300),
        "undo": m.undo,
        "text": _move_text(m),
    }


def _diff_payload(d: VersionDiff) -> dict[str, Any]:
    return {
        "a": d.a.number,
        "b": d.b.number,
        "lines": [[op, text] for op, text in d.lines[:DIFF_LINES]],
        "more": max(0, len(d.lines) - DIFF_LINES),
        "settings": [[k, _value(a), _value(b)] for k, a, b in d.settings],
        "same": d.same,
    }


def _move_text(m: Move) -> str:
    what = "undo " if m.undo else ""
    text = f"{what}{_vv(m.before)} → {_vv(m.after)} by {clip(m.user, 40) or '?'} at {m.time}"
    if m.forced:
        text += " (forced)"
    if m.gate:
        text += f"; gate: {clip(m.gate, 200)}"
    return text


def _vv(version: int | None) -> str:
    return "(none)" if version is None else f"v{version}"


def _config_text(v) -> str:
    import json

    parts = []
    if v.model_config:
        parts.append("model_config " + json.dumps(v.model_config, default=str, sort_keys=True))
    if v.response_format:
        parts.append(
            "response_format " + json.dumps(v.response_format, default=str, sort_keys=True)
        )
    return clip("; ".join(parts), 300)


def _detail_line(kind: str, v) -> str:
    if kind == "prompt":
        config = _config_text(v)
        return clip(v.template_text(), PREVIEW) + (f"  |  {config}" if config else "")
    metrics = ", ".join(f"{k}={x:.3g}" for k, x in v.metrics)
    run = f"run {v.run_id}" if v.run_id else "no source run"
    return f"{run}  {metrics}".rstrip()


def _version_detail_html(kind: str, v) -> Markup:
    if kind == "prompt":
        config = _config_text(v)
        return join(
            [
                tag("pre", v.template_text()[:TEMPLATE_CAP]),
                tag("div", config, class_="cfg") if config else None,
            ]
        )
    rows = [tag("tr", tag("th", "source run"), tag("td", v.run_id or "—"))]
    rows.extend(tag("tr", tag("th", k), tag("td", f"{x:.4g}")) for k, x in v.metrics)
    if v.source:
        rows.append(tag("tr", tag("th", "source"), tag("td", clip(v.source, 200))))
    return tag("table", tag("tbody", rows), class_="kv")


def _chip(alias: str, version: int) -> Markup:
    return tag("span", f"{clip(alias, 60)} → v{version}", class_="chip")


def _label(alias: str) -> Markup:
    return tag("span", clip(alias, 60), class_="label latest" if alias == "latest" else "label")


def _value(x: Any) -> str:
    import json

    if x is None:
        return "—"
    return clip(x if isinstance(x, str) else json.dumps(x, default=str, sort_keys=True), 300)


def diff_text(d: VersionDiff, max_lines: int = DIFF_LINES) -> str:
    """The text tier of a version diff: a header, template lines with +/-, settings."""
    lines = [
        f"Diff {d.kind} {d.name} v{d.a.number} → v{d.b.number}: "
        f"+{d.added} −{d.removed} lines, {len(d.settings)} setting(s) changed"
        + (" (identical)" if d.same else "")
    ]
    for op, text in d.lines[:max_lines]:
        lines.append(f"{op} {clip(text, 200)}")
    if len(d.lines) > max_lines:
        lines.append(f"… {len(d.lines) - max_lines:,} more lines")
    for key, a, b in d.settings:
        lines.append(f"~ {key}: {_value(a)} → {_value(b)}")
    return visible("\n".join(lines))


def diff_html(d: VersionDiff, max_lines: int = DIFF_LINES) -> Markup:
    """The HTML of a version diff (no style: the caller's container brings it)."""
    cls = {"+": "add", "-": "rem", " ": "same"}
    rows = [
        tag("div", tag("span", op, class_="op"), text, class_=f"ln {cls[op]}")
        for op, text in d.lines[:max_lines]
    ]
    if len(d.lines) > max_lines:
        rows.append(tag("div", f"… {len(d.lines) - max_lines:,} more lines", class_="more"))
    settings = [
        tag(
            "tr",
            tag("td", key),
            tag("td", _value(a), class_="rem"),
            tag("td", _value(b), class_="add"),
        )
        for key, a, b in d.settings
    ]
    head = (
        f"v{d.a.number} → v{d.b.number}: +{d.added} −{d.removed} lines, "
        f"{len(d.settings)} setting(s) changed" + (" (identical)" if d.same else "")
    )
    return tag(
        "div",
        tag("div", tag("b", f"Diff {d.kind} "), tag("code", d.name), " ", head, class_="cap"),
        tag("div", rows, class_="lines"),
        tag(
            "table",
            tag(
                "thead",
                tag(
                    "tr",
                    tag("th", "setting"),
                    tag("th", f"v{d.a.number}"),
                    tag("th", f"v{d.b.number}"),
                ),
            ),
            tag("tbody", settings),
            class_="kv",
        )
        if settings
        else None,
        class_="vdiff",
    )


def _styled(inner: Markup) -> Markup:
    return join([tag("style", Markup(_CSS)), tag("div", inner, class_=f"mlfm-alias {NO_MATH}")])


_CSS = f"""
.mlfm-alias{{font:12px/1.45 var(--jp-ui-font-family,system-ui,sans-serif);color:var(--jp-ui-font-color1,#212121);max-width:100%}}
.mlfm-alias .cap{{margin:2px 0 6px}}.mlfm-alias code{{font-size:11px}}
.mlfm-alias th,.mlfm-alias td{{border-bottom:1px solid var(--jp-border-color2,#e0e0e0);padding:2px 8px;vertical-align:top}}
.mlfm-alias .chip,.mlfm-alias .label{{display:inline-block;border-radius:8px;padding:0 6px;margin:0 4px 0 0;background:{tint("--jp-brand-color1", "#1976d2")};font-size:11px;white-space:nowrap}}
.mlfm-alias .label.latest{{background:{RAISED}}}
.mlfm-alias .dim,.mlfm-alias .more,.mlfm-alias .desc{{color:{DIM}}}
.mlfm-alias details.ver summary,.mlfm-alias details.hist summary{{cursor:pointer}}
.mlfm-alias pre{{white-space:pre-wrap;word-break:break-word;max-height:240px;overflow:auto;margin:2px 0 4px 16px;padding:4px 6px;background:{RAISED};color:var(--jp-ui-font-color1,#212121);border-radius:4px;font:11px/1.4 var(--jp-code-font-family,monospace)}}
.mlfm-alias .cfg{{margin-left:16px;font:11px var(--jp-code-font-family,monospace);color:{DIM}}}
.mlfm-alias .note{{margin-top:4px}}.mlfm-alias .pending{{color:{WARN};margin-top:4px}}
.mlfm-alias .vdiff{{margin-top:6px}}
.mlfm-alias .lines{{font:11px/1.4 var(--jp-code-font-family,monospace);white-space:pre-wrap}}
.mlfm-alias .ln.add,.mlfm-alias td.add{{background:{tint("--jp-success-color1", "#2e7d32")}}}
.mlfm-alias .ln.rem,.mlfm-alias td.rem{{background:{tint("--jp-error-color1", "#c62828")}}}
.mlfm-alias .op{{display:inline-block;width:1.5em;color:{DIM}}}
""" + table_rules("mlfm-alias")

__all__ = ["AliasBoard", "MoveView", "Pending", "VersionDiffView", "diff_html", "diff_text"]
