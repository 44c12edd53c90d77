"""An evaluation dataset (``%mlflow dataset show|create|add``), in three tiers.

- widget: :class:`~mlflow_magics.views.dataset_widget.DatasetWidget`, a paged grid of records
  whose expectations are edited in place, above a detail area where a source trace opens;
- static HTML: the first page, bounded, with a line saying how many more records there are;
- text: the same page as indented lines.

Every grid action has a Python twin on :class:`DatasetView` (``save``, ``save_all``,
``resolve``, ``retry_unsaved``, ``next_page``, ``open``). A save writes only the fields the
edit changed, and is based on the record as the grid (or the view) drew it: a record changed in
the store since is refused into :attr:`DatasetView.conflicts` with its current values, until
the user overwrites, merges or discards. An edit that fails to save (store unreachable) stays
in :attr:`DatasetView.unsaved` with the reason, shown as unsaved, until a retry succeeds. After
a save every other open view of the same dataset in the kernel re-reads it.
The view reaches MLflow only through :mod:`mlflow_magics.datasets` and :mod:`mlflow_magics.traces`.
"""

from __future__ import annotations

import json
import weakref
from typing import Any

from mlflow_magics.connection import store_unreachable
from mlflow_magics.datasets import (
    EXPECTATION_FIELDS,
    DatasetSummary,
    Edit,
    MergeResult,
    Record,
    RecordHeld,
    editable_values,
    merge_fields,
    read_records,
    restore_record,
    save_edits,
)
from mlflow_magics.errors import BadInput
from mlflow_magics.views import display
from mlflow_magics.views.detail_area import WithDetailArea
from mlflow_magics.views.markup import NO_MATH, Markup, join, tag, visible
from mlflow_magics.views.table_css import DIM, ERR, RAISED, table_rules
from mlflow_magics.views.trace_table import clip, format_time

PAGE_SIZE = 25
#: Characters of inputs / outputs a page carries (to the widget and the static tiers).
PAYLOAD_CAP = 300


def payload_text(value: Any, limit: int = PAYLOAD_CAP) -> str:
    """One bounded line that tells records apart (untrusted): a chat request's last user
    message, a response's reply text, a question's text, else compact JSON."""
    if value is None:
        return ""
    from mlflow_magics.content import preview as content_preview

    return content_preview(value, limit)


#: Every open view, so a save can refresh the others showing the same dataset.
_OPEN: weakref.WeakSet = weakref.WeakSet()


class DatasetView(WithDetailArea):
    """One evaluation dataset: its records a page at a time, expectations editable.

    ``v.dataset`` is MLflow's ``EvaluationDataset`` (pass it to ``mlflow.genai.evaluate``);
    ``v.records`` the records; ``v.to_pandas()`` a DataFrame; ``v.set_expectations(record_id,
    expected_response=…, expected_facts=[…], guidelines=[…])`` saves an edit, as the grid does:
    only the fields given, refused if the record changed in the store since this view read it
    (``on_conflict="overwrite"`` or ``"merge"`` to go ahead); an empty field removes that
    expectation.
    """

    def __init__(
        self,
        client,
        dataset,
        merge: MergeResult | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self._client = client
        self.dataset = dataset
        self.merge = merge
        self.page_size = page_size
        self.page_number = 1
        self.records: list[Record] = read_records(dataset)
        #: Edits not in the store yet: record id → {"fields": {...}, "reason": "...", ...}.
        self.unsaved: dict[str, dict[str, Any]] = {}
        #: Edits refused because their record changed in the store meanwhile: record id →
        #: {"fields", "drawn", "current" (the store's values now), "version", "reason"}.
        self.conflicts: dict[str, dict[str, Any]] = {}
        self.note: str = merge.sentence() if merge else ""
        _OPEN.add(self)

    @property
    def name(self) -> str:
        return self.dataset.name

    @property
    def dataset_id(self) -> str:
        return self.dataset.dataset_id

    # -- paging -------------------------------------------------------------------------

    @property
    def page_count(self) -> int:
        return max(1, -(-len(self.records) // self.page_size))

    @property
    def page(self) -> list[Record]:
        start = (self.page_number - 1) * self.page_size
        return self.records[start : start + self.page_size]

    def next_page(self) -> None:
        if self.page_number < self.page_count:
            self.page_number += 1
            self._sync()

    def prev_page(self) -> None:
        if self.page_number > 1:
            self.page_number -= 1
            self._sync()

    def refresh(self) -> None:
        """Re-read the records from the store."""
        self.records = read_records(self.dataset)
        self.page_number = min(self.page_number, self.page_count)
        self._sync()

    # -- curating -----------------------------------------------------------------------

    def _record(self, record_id: str) -> Record:
        for r in self.records:
            if r.record_id == record_id:
                return r
        raise BadInput(
            f"No record {record_id!r} in dataset {self.name!r}; ids are in "
            "`ds.to_pandas()['record_id']`."
        )

    def set_expectations(
        self, record_id: str, on_conflict: str = "refuse", **fields: Any
    ) -> Record:
        """Save ``expected_response`` / ``expected_facts`` (a list, or one fact per line) /
        ``guidelines`` for one record; fields not given stay as they are, an empty one removes
        that expectation. The edit is based on the record as this view read it: if it changed
        in the store since, :class:`~mlflow_magics.datasets.EditConflict` says how (and the
        view re-reads it), unless ``on_conflict`` is ``"overwrite"`` or ``"merge"``. If the
        store cannot be reached the edit stays in :attr:`unsaved` with the reason (and the
        error is raised); :meth:`retry_unsaved` saves it later."""
        record = self._record(record_id)
        if on_conflict in ("overwrite", "merge") and record_id in self.conflicts:
            # settling a refusal this view reported: against the values it was based on
            self.resolve(record_id, on_conflict, fields)
            if record_id in self.conflicts:
                raise self.conflicts[record_id]["error"]
            if record_id in self.unsaved:
                raise self.unsaved[record_id]["error"]
            return next(r for r in self.records if r.inputs == record.inputs)
        edit = {
            "fields": dict(fields),
            "version": record.version,
            "drawn": {k: v for k, v in editable_values(record).items() if k in fields},
        }
        outcome = self._save_edits({record_id: edit}, on_conflict)
        if record_id in self.conflicts:
            raise self.conflicts[record_id]["error"]
        if record_id in self.unsaved:
            raise self.unsaved[record_id]["error"]
        return outcome[record_id]

    def save(
        self,
        record_id: str,
        version: str | None = None,
        drawn: dict[str, Any] | None = None,
        on_conflict: str = "refuse",
        **fields: Any,
    ) -> bool:
        """What the grid's Save does: :meth:`set_expectations` based on ``version`` and
        ``drawn`` (the record as the grid drew it; the view's copy if not given), a refusal
        kept in :attr:`conflicts` and a failure in :attr:`unsaved` instead of raised. Returns
        whether it was saved."""
        self._record(record_id)
        edit = {"fields": dict(fields), "version": version, "drawn": drawn}
        return record_id in self._save_edits({record_id: edit}, on_conflict)

    def save_all(self, edits: list[dict[str, Any]]) -> int:
        """What the grid's "Save all" does: every ``{"record_id", "fields", "version",
        "drawn"}`` in one write, as :meth:`save` would each. Returns how many were saved."""
        batch = {}
        for e in edits:
            rid = str(e.get("record_id", ""))
            self._record(rid)
            batch[rid] = {
                "fields": dict(e.get("fields") or {}),
                "version": e.get("version"),
                "drawn": e.get("drawn"),
            }
        return len(self._save_edits(batch, "refuse"))

    def resolve(self, record_id: str, choice: str, fields: dict[str, Any] | None = None) -> bool:
        """Settle a refused edit (:attr:`conflicts`): ``"overwrite"`` saves it over the store's
        values, ``"merge"`` merges it with them (facts and guidelines keep what the store
        added), ``"discard"`` drops it. ``fields`` replaces the refused edit's (what the grid's
        editors hold now). Based on the values the refusal showed: if the record changed again
        since, it is refused again with the newest values."""
        conflict = self.conflicts.get(record_id)
        if conflict is None:
            raise BadInput(f"No refused edit of record {record_id!r} to settle.")
        if fields is not None:
            conflict = {**conflict, "fields": dict(fields)}
        if choice == "discard" or not conflict["fields"]:
            self.conflicts.pop(record_id)
            self.note = f"Kept the store's expectations of record {record_id}."
            self._sync()
            return True
        if choice not in ("overwrite", "merge"):
            raise BadInput(f"Settle with 'overwrite', 'merge' or 'discard', not {choice!r}.")
        fields = conflict["fields"]
        if choice == "merge":
            fields = merge_fields(conflict["drawn"], fields, conflict["current"])
        edit = {
            "fields": fields,
            "version": conflict["version"],
            "drawn": {k: conflict["current"].get(k) for k in fields},
            "record_id": conflict["record_id"],
        }
        return record_id in self._save_edits({record_id: edit}, "refuse")

    def _save_edits(self, batch: dict[str, dict[str, Any]], on_conflict: str) -> dict[str, Record]:
        """Save ``{record id: {fields, version, drawn}}``; keep refusals in :attr:`conflicts`
        and failures in :attr:`unsaved`; returns the saved records by the ids given."""
        edits = []
        for rid, e in batch.items():
            known = next((r for r in self.records if r.record_id == rid), None)
            edits.append(
                Edit(
                    record_id=e.get("record_id") or rid,
                    fields=dict(e["fields"]),
                    version=e.get("version") or (known.version if known else None),
                    drawn=e.get("drawn"),
                    inputs=known.inputs if known else None,
                )
            )
        empty = [rid for rid, e in batch.items() if not e["fields"]]
        batch = {rid: e for rid, e in batch.items() if e["fields"]}
        edits = [e for e in edits if e.fields]
        if not edits:
            self.note = _save_note({}, {}, empty)
            self._sync()
            return {}
        try:
            problem = store_unreachable(self._client)
            if problem:  # MLflow would retry a dead server for minutes
                raise ConnectionError(problem)
            saved, refused = save_edits(self.dataset, edits, on_conflict)
        except BadInput:
            raise
        except RecordHeld as e:
            for rid, edit in batch.items():
                self.unsaved[rid] = {**_kept(edit), "reason": str(e), "error": e, "row": e.row}
            self.refresh()
            return {}
        except Exception as e:
            for rid, edit in batch.items():
                self.unsaved[rid] = {**_kept(edit), "reason": _reason(e), "error": e}
            self._sync()
            return {}
        # keyed by the ids the edits named (a conflict's record id may be the store's newer one)
        by_given = {rid: e.record_id for rid, e in zip(batch, edits, strict=True)}
        saved = {rid: saved[given] for rid, given in by_given.items() if given in saved}
        for rid, conflict in refused.items():
            given = next(k for k, v in by_given.items() if v == rid)
            self.conflicts[given] = {
                "record_id": conflict.current.record_id,
                "fields": conflict.fields,
                "drawn": conflict.drawn,
                "current": editable_values(conflict.current),
                "version": conflict.current.version,
                "reason": str(conflict),
                "error": conflict,
            }
            self.unsaved.pop(given, None)
        for rid in saved:
            self.unsaved.pop(rid, None)
            self.conflicts.pop(rid, None)
        self.records = self._merged(saved, [c.current for c in refused.values()])
        self.note = _save_note(saved, refused, empty)
        self._sync()
        if saved:
            for view in list(_OPEN):
                if view is not self and view.dataset_id == self.dataset_id:
                    try:
                        view.refresh()
                    except Exception:  # that view re-reads on its next action instead
                        continue
        return saved

    def _merged(self, saved: dict[str, Record], current: list[Record]) -> list[Record]:
        """The view's records with the saved and the newly read ones in their places (a
        record rewritten to drop an expectation has a new id: matched by inputs)."""
        from mlflow_magics.datasets import _inputs_hash

        fresh = {_inputs_hash(r.inputs): r for r in [*saved.values(), *current]}
        return [fresh.get(_inputs_hash(r.inputs), r) for r in self.records]

    def retry_unsaved(self) -> int:
        """Save every unsaved edit again (a record taken out to drop an expectation is written
        back first); returns how many are still unsaved."""
        held = {rid: e["row"] for rid, e in self.unsaved.items() if e.get("row")}
        for rid, row in held.items():
            try:
                restore_record(self.dataset, row)
            except RecordHeld:
                continue
            self.unsaved.pop(rid, None)
            self.note = f"Wrote record {rid} back to the store."
        if held:
            self.refresh()
        batch = {
            rid: {"fields": e["fields"], "version": e.get("version"), "drawn": e.get("drawn")}
            for rid, e in self.unsaved.items()
            if not e.get("row")
        }
        if batch:
            self._save_edits(batch, "refuse")
        return len(self.unsaved)

    def import_expectations(self, frame) -> int:
        """Bulk expectations from a DataFrame keyed by ``record_id`` or ``source_trace_id``
        (see :func:`mlflow_magics.datasets.import_expectations`); returns records updated."""
        from mlflow_magics.datasets import import_expectations

        count = import_expectations(self.dataset, frame)
        self.refresh()
        return count

    # -- export -------------------------------------------------------------------------

    def to_pandas(self):
        """Every record: record_id, inputs, outputs, expectations, source_trace, created."""
        import pandas as pd

        return pd.DataFrame.from_records(
            [
                {
                    "record_id": r.record_id,
                    "inputs": r.inputs,
                    "outputs": r.outputs,
                    "expectations": dict(r.expectations),
                    "source_trace": r.source_trace,
                    "created": pd.Timestamp(r.created_ms, unit="ms") if r.created_ms else None,
                }
                for r in self.records
            ],
            columns=["record_id", "inputs", "outputs", "expectations", "source_trace", "created"],
        )

    # -- the widget ---------------------------------------------------------------------

    def _control(self):
        from mlflow_magics.views.dataset_widget import DatasetWidget

        return DatasetWidget(self)

    def page_payload(self) -> dict[str, Any]:
        """The page as the widget receives it (one synced trait)."""
        rows = []
        for r in self.page:
            other = {k: v for k, v in r.expectations.items() if k not in EXPECTATION_FIELDS}
            rows.append(
                {
                    "id": r.record_id,
                    "version": r.version,
                    "inputs": payload_text(r.inputs),
                    "outputs": payload_text(r.outputs),
                    "source_trace": r.source_trace or "",
                    **editable_values(r),
                    "other": payload_text(other) if other else "",
                }
            )
        return {
            "name": self.name,
            "rows": rows,
            "page": self.page_number,
            "pages": self.page_count,
            "total": len(self.records),
            "start": (self.page_number - 1) * self.page_size,
        }

    def _sync(self) -> None:
        w = self._control_widget
        if w is None:
            return
        with w.hold_sync():
            w.page = self.page_payload()
            w.unsaved = {
                k: {"fields": _jsonable(v["fields"]), "reason": v["reason"]}
                for k, v in self.unsaved.items()
            }
            w.conflicts = {
                k: _jsonable({key: v[key] for key in ("fields", "drawn", "current", "reason")})
                for k, v in self.conflicts.items()
            }
            w.note = self.note

    # -- static tiers -------------------------------------------------------------------

    def summary(self) -> str:
        n = len(self.records)
        if not n:
            return "no records"
        start = (self.page_number - 1) * self.page_size
        return f"records {start + 1}–{start + len(self.page)} of {n:,}"

    def more_line(self) -> str | None:
        more = len(self.records) - (self.page_number - 1) * self.page_size - len(self.page)
        return (
            f"{more:,} more records; page on with ds.next_page() or open the widget."
            if (more > 0)
            else None
        )

    def to_text(self) -> str:
        lines = [f"Dataset {clip(self.name, 120)} ({self.dataset_id}): {self.summary()}"]
        if self.note:
            lines.append(self.note)
        for r in self.page:
            lines.append(f"- {r.record_id}  trace {r.source_trace or '—'}")
            lines.append(f"    inputs:  {payload_text(r.inputs, 160)}")
            lines.append(f"    outputs: {payload_text(r.outputs, 160)}")
            for key, value in r.expectations.items():
                lines.append(f"    {clip(key, 40)}: {payload_text(value, 160)}")
        for record_id, edit in self.unsaved.items():
            lines.append(f"! unsaved edit of {record_id}: {clip(edit['reason'], 200)}")
        for record_id, conflict in self.conflicts.items():
            lines.append(f"! refused edit of {record_id}: {clip(conflict['reason'], 300)}")
        more = self.more_line()
        if more:
            lines.append(more)
        return visible("\n".join(lines))

    def to_html(self) -> str:
        head = tag(
            "tr", [tag("th", t) for t in ("record", "inputs", "outputs", "expectations", "trace")]
        )
        body = [_row_html(r, r.record_id in self.unsaved) for r in self.page]
        caption = [tag("b", "Dataset "), tag("code", self.name), f" · {self.summary()}"]
        more = self.more_line()
        unsaved = [
            tag("div", f"Unsaved edit of {rid}: {edit['reason']}", class_="err")
            for rid, edit in self.unsaved.items()
        ] + [
            tag("div", f"Refused edit of {rid}: {conflict['reason']}", class_="err")
            for rid, conflict in self.conflicts.items()
        ]
        return join(
            [
                tag("style", Markup(_CSS)),
                tag(
                    "div",
                    tag("div", caption, class_="cap"),
                    tag("div", self.note, class_="note") if self.note else None,
                    unsaved,
                    tag("table", tag("thead", head), tag("tbody", body)),
                    tag("div", more, class_="more") if more else None,
                    class_=f"mlfm-ds {NO_MATH}",
                ),
            ]
        )

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        return display.mimebundle(self.to_text(), html=self.to_html, widget=lambda: self.widget)

    def __repr__(self) -> str:
        return f"<DatasetView {self.name!r} {len(self.records)} records>"


def _row_html(r: Record, unsaved: bool) -> Markup:
    expectations = [
        tag("div", tag("span", f"{k}: ", class_="k"), payload_text(v))
        for k, v in r.expectations.items()
    ]
    return tag(
        "tr",
        tag("td", tag("div", r.record_id, class_="id"), "unsaved" if unsaved else None),
        tag("td", payload_text(r.inputs), class_="pv"),
        tag("td", payload_text(r.outputs), class_="pv"),
        tag("td", expectations),
        tag("td", r.source_trace or "", class_="id"),
        class_="unsaved" if unsaved else None,
    )


def _kept(edit: dict[str, Any]) -> dict[str, Any]:
    return {
        "fields": dict(edit["fields"]),
        "version": edit.get("version"),
        "drawn": edit.get("drawn"),
    }


def _save_note(saved: dict, refused: dict, empty: list[str]) -> str:
    """One sentence about a save: what was saved, what was refused and what to do."""
    parts = []
    if len(saved) == 1 and not refused:
        parts.append(f"Saved the expectations of record {next(iter(saved))}")
    elif saved:
        parts.append(f"Saved the expectations of {len(saved)} records")
    if refused:
        n = len(refused)
        which = f"record {next(iter(refused))}" if n == 1 else f"{n} records"
        if not parts:
            which = which[0].upper() + which[1:]
        parts.append(
            f"{which} changed in the store since {'it was' if n == 1 else 'they were'} drawn, "
            "so nothing was saved there: see the store's values under "
            f"{'it' if n == 1 else 'them'} and choose Overwrite, Merge or Discard"
        )
    if not parts and empty:
        parts.append("Nothing changed, so nothing was saved")
    return ("; ".join(parts) + ".") if parts else ""


def _reason(e: Exception) -> str:
    text = str(getattr(e, "message", None) or e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}"[:300]


def _jsonable(fields: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(fields, default=str))


_CSS = f"""
.mlfm-ds{{font:12px/1.4 var(--jp-ui-font-family,system-ui,sans-serif);color:var(--jp-ui-font-color1,#212121);max-width:100%;overflow-x:auto}}
.mlfm-ds .cap{{margin:2px 0 6px}}.mlfm-ds code{{font-size:11px}}
.mlfm-ds th,.mlfm-ds td{{border-bottom:1px solid var(--jp-border-color2,#e0e0e0);padding:3px 8px;vertical-align:top}}
.mlfm-ds th{{font-weight:600;background:{RAISED}}}
.mlfm-ds .id{{color:{DIM};font:10px var(--jp-code-font-family,monospace)}}
.mlfm-ds .pv{{max-width:24em;overflow:hidden;text-overflow:ellipsis;font-family:var(--jp-code-font-family,monospace)}}
.mlfm-ds .k{{color:{DIM}}}.mlfm-ds .err,.mlfm-ds tr.unsaved td{{color:{ERR}}}
.mlfm-ds .note,.mlfm-ds .more{{color:{DIM};margin:2px 0}}
""" + table_rules("mlfm-ds")


class DatasetList:
    """``%mlflow datasets``: every dataset with its record count and last update (all ages,
    not only MLflow's default last 7 days)."""

    def __init__(self, datasets: list[DatasetSummary], name_like: str | None = None) -> None:
        self.datasets = datasets
        self.name_like = name_like

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.datasets]

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame.from_records(
            [
                {
                    "name": d.name,
                    "dataset_id": d.dataset_id,
                    "records": d.records,
                    "updated": pd.Timestamp(d.updated_ms, unit="ms") if d.updated_ms else None,
                    "created": pd.Timestamp(d.created_ms, unit="ms") if d.created_ms else None,
                }
                for d in self.datasets
            ],
            columns=["name", "dataset_id", "records", "updated", "created"],
        )

    def _title(self) -> str:
        n = len(self.datasets)
        what = f"{n} dataset{'' if n == 1 else 's'}"
        return f"{what} matching {self.name_like!r}" if self.name_like else what

    def to_text(self) -> str:
        lines = [self._title()]
        for d in self.datasets[:LIST_CAP]:
            updated = format_time(d.updated_ms) if d.updated_ms else ""
            lines.append(f"  {clip(d.name, 50):<50}  {d.records:>7,} records  updated {updated}")
        if len(self.datasets) > LIST_CAP:
            lines.append(f"  … {len(self.datasets) - LIST_CAP:,} more; see .to_pandas()")
        return "\n".join(lines)

    def to_html(self) -> str:
        head = tag(
            "tr",
            [
                tag("th", t, class_="num" if t == "records" else None)
                for t in ("name", "records", "updated", "id")
            ],
        )
        rows = [
            tag(
                "tr",
                tag("td", clip(d.name, 120)),
                tag("td", f"{d.records:,}", class_="num"),
                tag("td", format_time(d.updated_ms) if d.updated_ms else ""),
                tag("td", d.dataset_id, class_="id"),
            )
            for d in self.datasets[:LIST_CAP]
        ]
        more = len(self.datasets) - LIST_CAP
        return join(
            [
                tag("style", Markup(_CSS)),
                tag(
                    "div",
                    tag("div", tag("b", self._title()), class_="cap"),
                    tag("table", tag("thead", head), tag("tbody", rows)),
                    tag("div", f"{more:,} more; see .to_pandas()", class_="more")
                    if more > 0
                    else None,
                    class_=f"mlfm-ds {NO_MATH}",
                ),
            ]
        )

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        return display.mimebundle(self.to_text(), html=self.to_html)

    def __repr__(self) -> str:
        return f"<DatasetList {len(self.datasets)} datasets>"


#: Datasets the static tiers of ``%mlflow datasets`` list (the DataFrame has all).
LIST_CAP = 200

__all__ = ["PAGE_SIZE", "DatasetList", "DatasetView"]
