"""An evaluation dataset (``%mlflow dataset show|create|add``), in three tiers.

- widget: :class:`~mlflow_magics.views.dataset_widget.DatasetWidget`, a paged grid of records
  whose expectations are edited in place, above a detail area where a source trace opens;
- static HTML: the first page, bounded, with a line saying how many more records there are;
- text: the same page as indented lines.

Every grid action has a Python twin on :class:`DatasetView` (``set_expectations``,
``retry_unsaved``, ``next_page``, ``open``). An edit that fails to save (store unreachable)
stays in :attr:`DatasetView.unsaved` with the reason, shown as unsaved, until a retry succeeds.
The view reaches MLflow only through :mod:`mlflow_magics.datasets` and :mod:`mlflow_magics.traces`.
"""

from __future__ import annotations

import json
from typing import Any

from mlflow_magics.connection import store_unreachable
from mlflow_magics.datasets import (
    EXPECTATION_FIELDS,
    DatasetSummary,
    MergeResult,
    Record,
    read_records,
    set_expectations,
)
from mlflow_magics.errors import BadInput
from mlflow_magics.views import display
from mlflow_magics.views.detail_area import WithDetailArea
from mlflow_magics.views.markup import NO_MATH, Markup, join, tag
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


def _as_lines(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [json.dumps(value, default=str)]


def _response_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, default=str)


class DatasetView(WithDetailArea):
    """One evaluation dataset: its records a page at a time, expectations editable.

    ``v.dataset`` is MLflow's ``EvaluationDataset`` (pass it to ``mlflow.genai.evaluate``);
    ``v.records`` the records; ``v.to_pandas()`` a DataFrame; ``v.set_expectations(record_id,
    expected_response=…, expected_facts=[…], guidelines=[…])`` saves an edit, as the grid does.
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
        #: Edits not in the store yet: record id → {"fields": {...}, "reason": "..."}.
        self.unsaved: dict[str, dict[str, Any]] = {}
        self.note: str = merge.sentence() if merge else ""

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

    def set_expectations(self, record_id: str, **fields: Any) -> Record:
        """Save ``expected_response`` / ``expected_facts`` (a list, or one fact per line) /
        ``guidelines`` for one record; fields not given stay as they are, an empty one clears.
        If the store cannot be reached the edit stays in :attr:`unsaved` with the reason (and
        the error is raised); :meth:`retry_unsaved` saves it later."""
        if record_id not in {r.record_id for r in self.records}:
            raise BadInput(
                f"No record {record_id!r} in dataset {self.name!r}; ids are in "
                "`ds.to_pandas()['record_id']`."
            )
        try:
            problem = store_unreachable(self._client)
            if problem:  # MLflow would retry a dead server for minutes
                raise ConnectionError(problem)
            saved = set_expectations(self.dataset, record_id, **fields)
        except BadInput:
            raise
        except Exception as e:
            self.unsaved[record_id] = {"fields": dict(fields), "reason": _reason(e)}
            self._sync()
            raise
        self.unsaved.pop(record_id, None)
        self.records = [saved if r.record_id == record_id else r for r in self.records]
        self.note = f"Saved the expectations of record {record_id}."
        self._sync()
        return saved

    def save(self, record_id: str, **fields: Any) -> bool:
        """What the grid's Save does: :meth:`set_expectations`, a failure kept as unsaved
        (with its reason) instead of raised. Returns whether it was saved."""
        try:
            self.set_expectations(record_id, **fields)
        except BadInput as e:
            self.unsaved[record_id] = {"fields": dict(fields), "reason": str(e)}
            self._sync()
            return False
        except Exception:
            return False
        return True

    def retry_unsaved(self) -> int:
        """Save every unsaved edit again; returns how many are still unsaved."""
        for record_id, edit in list(self.unsaved.items()):
            self.save(record_id, **edit["fields"])
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
                    "inputs": payload_text(r.inputs),
                    "outputs": payload_text(r.outputs),
                    "source_trace": r.source_trace or "",
                    "expected_response": _response_text(r.expectations.get("expected_response")),
                    "expected_facts": _as_lines(r.expectations.get("expected_facts")),
                    "guidelines": _as_lines(r.expectations.get("guidelines")),
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
        more = self.more_line()
        if more:
            lines.append(more)
        return "\n".join(lines)

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
