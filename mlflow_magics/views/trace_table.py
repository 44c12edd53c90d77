"""The trace table (``%mlflow traces``): pages of traces without spans, in three tiers.

- widget: :class:`~mlflow_magics.views.trace_table_widget.TraceTableWidget` above a detail area
  where an opened trace (its trace view) or a comparison of two traces appears;
- static HTML: the first page, bounded, with a line saying how many more matched;
- text: the same page as a fixed-width table.

Every front-end action has a Python twin on :class:`TraceTable` (``next_page``, ``select``,
``open``, ``compare`` …), so scripts and tests drive the table without a browser. The table
reaches MLflow only through :mod:`mlflow_magics.trace_search` and :mod:`mlflow_magics.traces`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from mlflow_magics.connection import store_call
from mlflow_magics.errors import BadInput
from mlflow_magics.trace_data import format_duration
from mlflow_magics.trace_search import (
    DEFAULT_ORDER,
    MAX_PAGE,
    SORT_KEYS,
    TracePage,
    TraceQuery,
    TraceRow,
    build_filter,
    bulk_page_size,
    experiment_ids,
    order_for,
    search_ids,
    search_page,
)
from mlflow_magics.views import display
from mlflow_magics.views.content_view import pad_to_width, plain_line, text_width, visible
from mlflow_magics.views.detail_area import WithDetailArea
from mlflow_magics.views.markup import NO_MATH, Markup, join, tag
from mlflow_magics.views.table_css import DIM, ERR, OK, RAISED, WARN, table_rules, tint

PAGE_SIZE = 25
#: Characters of each preview a page carries (to the widget and into the HTML/text tiers).
PREVIEW_CAP = 200
#: Tags per row a page carries, and characters per tag value.
TAGS_CAP = 4
TAG_VALUE_CAP = 60
#: Characters of an assessment's short value a page carries; columns of one in the text tier.
ASSESSMENT_CAP = 60
ASSESSMENT_TEXT_WIDTH = 16
#: The table's columns, in order (to_pandas uses the same names, plus trace_id).
COLUMNS = (
    "time",
    "name",
    "status",
    "duration_ms",
    "tokens",
    "request_preview",
    "response_preview",
    "tags",
)


def clip(value: object, limit: int) -> str:
    """One line of untrusted text: control and bidi characters as visible escapes, no
    newlines, at most ``limit`` characters (the text tier clips by display width instead)."""
    text = visible(value).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_time(ms: int) -> str:
    """Local wall-clock time of a trace, to the second."""
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def duration_text(ms: float | None) -> str:
    """A trace's duration; the store keeps whole milliseconds, so 0 means under one."""
    if ms is None:
        return ""
    return "<1 ms" if ms < 1 else format_duration(ms)


def assessment_names(rows: Iterable[TraceRow]) -> list[str]:
    """The assessment names on ``rows``, sorted: one column each."""
    return sorted({name for r in rows for name in getattr(r, "assessments", {}) or {}})


def _assessment_cell(value: tuple[str, str | None] | None) -> tuple[str, str | None]:
    """(text, verdict) of one assessment cell; ("", None) when the trace has none of it."""
    if not value:
        return "", None
    text, verdict = value
    return clip(text, ASSESSMENT_CAP), verdict if verdict in ("pass", "fail", "error") else None


#: What a verdict shows in the text tier, and before the value in HTML.
_MARKS = {"pass": "✓", "fail": "✗", "error": "!"}
#: Values a mark says all of (``yes`` with a ✓ adds nothing).
_SAID = {"yes", "no", "true", "false", "pass", "fail", "passed", "failed"}


def _marked(text: str, verdict: str | None) -> str:
    """A text-tier cell: ``✓`` / ``✗`` for yes-no values, the mark and the value for others,
    ``! error`` for a failed scorer, the value alone without a verdict."""
    if verdict == "error":
        return f"! {text or 'error'}"
    mark = _MARKS.get(verdict or "")
    if not mark:
        return text
    return mark if not text or text.strip().lower() in _SAID else f"{mark} {text}"


def row_payload(row: TraceRow) -> dict[str, Any]:
    """One row as the widget receives it: previews, tags and assessment values bounded."""
    tags = list(row.tags.items())
    assessments = {}
    for name, value in (getattr(row, "assessments", {}) or {}).items():
        text, verdict = _assessment_cell(value)
        assessments[name] = {"text": text, "verdict": verdict}
    return {
        "id": row.trace_id,
        "time": format_time(row.time_ms),
        "name": clip(row.name, 120),
        "status": row.status,
        "duration_ms": row.duration_ms,
        "tokens": row.tokens,
        "request": clip(row.request_preview, PREVIEW_CAP),
        "response": clip(row.response_preview, PREVIEW_CAP),
        "tags": [[clip(k, 40), clip(v, TAG_VALUE_CAP)] for k, v in tags[:TAGS_CAP]],
        "more_tags": max(0, len(tags) - TAGS_CAP),
        "assessments": assessments,
    }


def _tags_text(row: TraceRow) -> str:
    tags = list(row.tags.items())
    text = ", ".join(
        f"{plain_line(k, 40)}={plain_line(v, TAG_VALUE_CAP)}" for k, v in tags[:TAGS_CAP]
    )
    return text + (f" +{len(tags) - TAGS_CAP}" if len(tags) > TAGS_CAP else "")


class TraceTable(WithDetailArea):
    """Traces matching a search, a page at a time, with a selection you can hand to Python.

    ``t.trace_ids`` / ``t.rows`` are the page shown; ``t.selected`` the selected trace ids;
    ``t.next_page()``, ``t.prev_page()``, ``t.set_filter(text)``, ``t.sort(column)``,
    ``t.select(ids)``, ``t.select_all_matching()``, ``t.open(trace_id)``, ``t.compare(a, b)``
    and ``t.to_pandas(all=False)`` do what the widget's controls do.
    """

    def __init__(
        self,
        client,
        query: TraceQuery | None = None,
        page_size: int = PAGE_SIZE,
        *,
        now_ms: int | None = None,
    ) -> None:
        query = query or TraceQuery()
        if not 1 <= page_size <= MAX_PAGE:
            raise BadInput(f"The page size must be between 1 and {MAX_PAGE}, not {page_size}.")
        self.query = query
        self.page_size = page_size
        self.max_results = query.max_results
        self.error: str | None = None
        self._client = client
        self.experiment_ids = experiment_ids(client, query.experiment)
        now = int(time.time() * 1000) if now_ms is None else now_ms
        self.filter_string: str | None = build_filter(query, now)
        self.order_by: tuple[str, ...] = tuple(query.order_by) or DEFAULT_ORDER
        self._sort: tuple[str, bool] | None = ("time", True) if not query.order_by else None
        self._selected: dict[str, None] = {}
        self.dataset_note: str = ""
        self._reset(*self._fetch(0, None, self.filter_string, self.order_by))

    # -- paging ---------------------------------------------------------------------------

    def _reset(self, first: TracePage, capped: bool) -> None:
        self._pages: list[TracePage] = [first]
        self._index = 0
        self._count: int | None = None
        self._capped = capped
        self._note_end(0, first)

    def _fetch(
        self, index: int, token: str | None, filter_string: str | None, order: tuple[str, ...]
    ) -> tuple[TracePage, bool]:
        """Page ``index`` and whether ``--max`` cut the search short there."""
        size = self.page_size
        if self.max_results is not None:
            size = min(size, self.max_results - index * self.page_size)
        if size <= 0:
            return TracePage([], None), False
        page = search_page(self._client, self.experiment_ids, filter_string, order, size, token)
        if self.max_results is not None and index * self.page_size + size >= self.max_results:
            return TracePage(page.rows, None), page.next_token is not None
        return page, False

    def _note_end(self, index: int, page: TracePage) -> None:
        if page.next_token is None and not self._capped:
            self._count = index * self.page_size + len(page.rows)

    @property
    def page(self) -> TracePage:
        return self._pages[self._index]

    @property
    def page_number(self) -> int:
        """1-based number of the page shown."""
        return self._index + 1

    @property
    def rows(self) -> list[TraceRow]:
        """The rows of the page shown."""
        return list(self.page.rows)

    @property
    def trace_ids(self) -> list[str]:
        """Trace ids of the page shown, in table order."""
        return [r.trace_id for r in self.page.rows]

    @property
    def count(self) -> int | None:
        """How many traces match, once known (the last page was reached), else None."""
        return self._count

    @property
    def capped(self) -> bool:
        """True when ``--max`` stopped the table while the store may hold more matches."""
        return self._capped

    @property
    def has_next(self) -> bool:
        return self._index + 1 < len(self._pages) or self.page.next_token is not None

    @property
    def has_prev(self) -> bool:
        return self._index > 0

    @store_call
    def next_page(self) -> None:
        """Show the next page (fetched from the store once, then cached)."""
        if not self.has_next:
            return
        if self._index + 1 == len(self._pages):
            index = self._index + 1
            page, capped = self._fetch(
                index, self.page.next_token, self.filter_string, self.order_by
            )
            if not page.rows:  # the store handed out a token for an empty page
                self._pages[self._index] = TracePage(self.page.rows, None)
                self._note_end(self._index, self.page)
                self._sync()
                return
            self._pages.append(page)
            self._capped = capped
            self._note_end(index, page)
        self._index += 1
        self._sync()

    def prev_page(self) -> None:
        """Show the previous page (from the cache)."""
        if self._index > 0:
            self._index -= 1
            self._sync()

    @store_call
    def set_filter(self, text: str | None) -> bool:
        """Search again with ``text`` as the whole filter (MLflow syntax; empty: everything).

        A filter MLflow rejects sets :attr:`error` to one sentence and keeps the rows shown;
        returns whether the filter was applied.
        """
        new = (text or "").strip() or None
        return self._research(new, self.order_by, self._sort)

    @store_call
    def sort(self, column: str, descending: bool = True) -> bool:
        """Sort by ``time``, ``duration``, ``name`` or ``status`` (in the store); back to page 1."""
        try:
            order = order_for(column, descending)
        except BadInput as e:
            self.error = str(e)
            self._sync()
            return False
        return self._research(self.filter_string, order, (column, descending))

    def _research(
        self, filter_string: str | None, order: tuple[str, ...], sort: tuple[str, bool] | None
    ) -> bool:
        try:
            first, capped = self._fetch(0, None, filter_string, order)
        except BadInput as e:
            self.error = str(e)
            self._sync()
            return False
        self.filter_string, self.order_by, self._sort = filter_string, order, sort
        self.error = None
        self._reset(first, capped)
        self._sync()
        return True

    # -- selection ------------------------------------------------------------------------

    @property
    def selected(self) -> list[str]:
        """Selected trace ids, in the order they were selected."""
        return list(self._selected)

    def select(self, ids: Iterable[str], add: bool = False) -> None:
        """Select ``ids`` (replacing the selection unless ``add``)."""
        if isinstance(ids, str):
            ids = [ids]
        if not add:
            self._selected.clear()
        self._selected.update(dict.fromkeys(ids))
        self._sync_selection()

    def deselect(self, ids: Iterable[str]) -> None:
        """Remove ``ids`` from the selection."""
        if isinstance(ids, str):
            ids = [ids]
        for trace_id in ids:
            self._selected.pop(trace_id, None)
        self._sync_selection()

    def clear_selection(self) -> None:
        self._selected.clear()
        self._sync_selection()

    @store_call
    def select_all_matching(self) -> int:
        """Select every trace the search matches (up to ``--max``), fetching ids only; returns
        how many are selected."""
        ids, capped = self._all_ids()
        self._selected.update(dict.fromkeys(ids))
        if capped:
            self._capped = True
        else:
            self._count = len(ids)
        self._sync()
        return len(self._selected)

    @store_call
    def all_trace_ids(self) -> list[str]:
        """Every trace id the search matches (up to ``--max``), ids only; the selection is
        left as it is."""
        return self._all_ids()[0]

    def _all_ids(self) -> tuple[list[str], bool]:
        """Every matching id (up to ``--max``) and whether ``--max`` stopped the walk."""
        return self._walk(
            lambda size, token: search_ids(
                self._client, self.experiment_ids, self.filter_string, self.order_by, size, token
            )
        )

    def _walk(self, fetch) -> tuple[list, bool]:
        """Items from every page of the search, fetched in bulk-sized pages, up to ``--max``;
        and whether ``--max`` stopped the walk. ``fetch(size, token)`` → (items, next token).
        """
        items: list = []
        token: str | None = None
        while True:
            size = bulk_page_size(self._client)
            if self.max_results is not None:
                size = min(size, self.max_results - len(items))
                if size <= 0:
                    return items, True
            page_items, token = fetch(size, token)
            items.extend(page_items)
            if token is None or not page_items:
                return items, False

    # -- opening and comparing ------------------------------------------------------------

    def compare(self, trace_a: str | None = None, trace_b: str | None = None):
        """Compare two traces (by default the two selected, in selection order); return the
        diff view (shown under the table)."""
        from mlflow_magics.trace_diff import diff_traces
        from mlflow_magics.views.diff_view import DiffView

        if trace_a is None and trace_b is None:
            if len(self._selected) != 2:
                raise BadInput(
                    f"Compare needs exactly two selected traces; {len(self._selected)} are "
                    "selected."
                )
            trace_a, trace_b = self.selected
        if trace_a is None or trace_b is None:
            raise BadInput("Compare needs two trace ids, e.g. `t.compare(t.trace_ids[0], …)`.")
        import ipywidgets

        view = DiffView(diff_traces(self._client, trace_a, trace_b))
        return self._show(view, ipywidgets.HTML(view.to_html()))

    # -- datasets -------------------------------------------------------------------------

    @store_call
    def add_to_dataset(self, name: str):
        """Add the selected traces (else every match) to evaluation dataset ``name``, creating
        it if missing; what "Add selected to dataset…" does. Returns the
        :class:`~mlflow_magics.datasets.MergeResult`; its sentence shows under the table."""
        from mlflow_magics.datasets import add_traces, trace_ids_from

        if not self._selected:
            raise BadInput("Select traces first: tick rows, or use select_all_matching().")
        result = add_traces(self._client, name, trace_ids_from(self))
        self.dataset_note = result.sentence()
        if self._control_widget is not None:
            self._control_widget.dataset_note = self.dataset_note
        return result

    @store_call
    def dataset_names(self) -> list[str]:
        """Names of the datasets in the store, for the "Add selected to dataset…" picker."""
        from mlflow_magics.datasets import list_datasets

        return sorted({d.name for d in list_datasets(self._client)})

    # -- export ---------------------------------------------------------------------------

    @store_call
    def to_pandas(self, all: bool = False):  # `all` shadows the builtin: the issue names it
        """The page shown as a DataFrame, or with ``all=True`` every match (up to ``--max``):
        ``trace_id`` plus the table's columns (time as a datetime, full previews)."""
        import pandas as pd

        rows = self._all_rows() if all else self.rows
        records = [
            {
                "trace_id": r.trace_id,
                "time": pd.Timestamp(r.time_ms, unit="ms"),
                "name": r.name,
                "status": r.status,
                "duration_ms": r.duration_ms,
                "tokens": r.tokens,
                "request_preview": r.request_preview,
                "response_preview": r.response_preview,
                "tags": dict(r.tags),
            }
            for r in rows
        ]
        return pd.DataFrame.from_records(records, columns=["trace_id", *COLUMNS])

    def _all_rows(self) -> list[TraceRow]:
        def fetch(size: int, token: str | None):
            page = search_page(
                self._client, self.experiment_ids, self.filter_string, self.order_by, size, token
            )
            return page.rows, page.next_token

        return self._walk(fetch)[0]

    # -- the widget -----------------------------------------------------------------------

    def _control(self):
        from mlflow_magics.views.trace_table_widget import TraceTableWidget

        return TraceTableWidget(self)

    def page_payload(self) -> dict[str, Any]:
        """The page as the widget receives it (one synced trait)."""
        start = self._index * self.page_size
        return {
            "rows": [row_payload(r) for r in self.page.rows],
            "assessment_names": assessment_names(self.page.rows),
            "page": self.page_number,
            "start": start,
            "has_prev": self.has_prev,
            "has_next": self.has_next,
            "count": self._count,
            "capped": self._capped,
        }

    def _sync(self) -> None:
        w = self._control_widget
        if w is None:
            return
        with w.hold_sync():
            w.page = self.page_payload()
            w.filter = self.filter_string or ""
            w.error = self.error or ""
            column, descending = self._sort or ("", True)
            w.order = {"column": column, "descending": descending}
            self._sync_selection()

    def _sync_selection(self) -> None:
        w = self._control_widget
        if w is None:
            return
        on_page = [i for i in self.trace_ids if i in self._selected]
        w.selection = {"count": len(self._selected), "on_page": on_page}

    # -- display --------------------------------------------------------------------------

    def summary(self) -> str:
        """``rows 1–25 of 60 matches`` / ``rows 1–25, more match`` for the footer line."""
        n = len(self.page.rows)
        if n == 0:
            return "No traces match."
        start = self._index * self.page_size
        span = f"rows {start + 1}–{start + n}"
        if self._count is not None:
            return f"{span} of {self._count:,} matches"
        if self._capped and not self.has_next:
            return f"{span}; more may match beyond --max {self.max_results:,}"
        return f"{span}; more matches"

    def more_line(self) -> str | None:
        """What the static tiers say about matches beyond the page they show."""
        n = len(self.page.rows)
        start = self._index * self.page_size
        if self._count is not None:
            more = self._count - start - n
            return f"{more:,} more matched." if more > 0 else None
        if self.has_next:
            return "More traces matched; page on with t.next_page() or open the widget."
        if self._capped:
            return f"Stopped at --max {self.max_results:,}; more traces may match."
        return None

    def to_text(self) -> str:
        head = f"Traces ({self.summary()})"
        if self.filter_string:
            head += f"  filter: {clip(self.filter_string, 200)}"
        lines = [head]
        if self.error:
            lines.append(f"! {self.error}")
        names = assessment_names(self.page.rows)
        # columns measured in display width: a wide (CJK) character takes two
        widths = [19, 24, 6, 9, 7, 30, 30]
        titles = ["time", "name", "status", "duration", "tokens", "request", "response"]
        marked = [
            [_marked(*_assessment_cell(r.assessments.get(n))) for n in names]
            for r in self.page.rows
        ]
        for k, name in enumerate(names):
            title = plain_line(name, ASSESSMENT_TEXT_WIDTH)
            widest = max([text_width(title), *(text_width(plain_line(m[k])) for m in marked)])
            titles.append(title)
            widths.append(min(ASSESSMENT_TEXT_WIDTH, max(1, widest)))
        lines.append(
            "  ".join(pad_to_width(t, w) for t, w in zip(titles, widths, strict=True)) + "  tags"
        )
        for r, marks in zip(self.page.rows, marked, strict=True):
            cells = [
                format_time(r.time_ms),
                r.name,
                r.status,
                duration_text(r.duration_ms),
                f"{r.tokens:,}" if r.tokens is not None else "",
                r.request_preview,
                r.response_preview,
                *marks,
            ]
            lines.append(
                (
                    "  ".join(
                        pad_to_width(plain_line(c, w), w)
                        for c, w in zip(cells, widths, strict=True)
                    )
                    + "  "
                    + _tags_text(r)
                ).rstrip()
            )
        more = self.more_line()
        if more:
            lines.append(more)
        return visible("\n".join(lines))

    def to_html(self) -> str:
        names = assessment_names(self.page.rows)
        head = tag(
            "tr",
            [
                tag("th", t, class_="num" if t in ("duration", "tokens") else None)
                for t in ("time", "name", "status", "duration", "tokens", "request", "response")
            ],
            [tag("th", clip(n, 40), class_="mk", title=n) for n in names],
            tag("th", "tags"),
        )
        body = [_row_html(r, names) for r in self.page.rows]
        caption = [tag("b", "Traces"), f" · {self.summary()}"]
        if self.filter_string:
            caption += [" · filter ", tag("code", self.filter_string)]
        more = self.more_line()
        return join(
            [
                tag("style", Markup(_CSS)),
                tag(
                    "div",
                    tag("div", caption, class_="cap"),
                    tag("div", self.error, class_="err") if self.error else None,
                    tag("table", tag("thead", head), tag("tbody", body)),
                    tag("div", more, class_="more") if more else None,
                    class_=f"mlfm-tt {NO_MATH}",
                ),
            ]
        )

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        return display.mimebundle(self.to_text(), html=self.to_html, widget=lambda: self.widget)

    def __repr__(self) -> str:
        return f"<TraceTable page {self.page_number}: {self.summary()}>"


def _assessment_td(value: tuple[str, str | None] | None) -> Markup:
    text, verdict = _assessment_cell(value)
    # the mark carries the verdict without colour (and without CSS)
    shown = f"{_MARKS[verdict]} {text}" if verdict else text
    return tag("td", shown, class_=f"mk v-{verdict}" if verdict else "mk", title=text or None)


def _row_html(r: TraceRow, names: Iterable[str] = ()) -> Markup:
    tags = [tag("span", f"{k}={v}", class_="tag") for k, v in row_payload(r)["tags"]]
    return tag(
        "tr",
        tag("td", format_time(r.time_ms), class_="t"),
        tag("td", clip(r.name, 120), tag("div", r.trace_id, class_="id")),
        tag("td", r.status, class_="err" if r.status == "ERROR" else None),
        tag("td", duration_text(r.duration_ms), class_="num"),
        tag("td", f"{r.tokens:,}" if r.tokens is not None else "", class_="num"),
        tag("td", clip(r.request_preview, PREVIEW_CAP), class_="pv"),
        tag("td", clip(r.response_preview, PREVIEW_CAP), class_="pv"),
        [_assessment_td(r.assessments.get(n)) for n in names],
        tag("td", tags),
    )


_CSS = f"""
.mlfm-tt{{font:12px/1.4 var(--jp-ui-font-family,system-ui,sans-serif);color:var(--jp-ui-font-color1,#212121);max-width:100%;overflow-x:auto}}
.mlfm-tt .cap{{margin:2px 0 6px}}.mlfm-tt code{{font-size:11px}}
.mlfm-tt th,.mlfm-tt td{{border-bottom:1px solid var(--jp-border-color2,#e0e0e0);padding:3px 8px;vertical-align:top}}
.mlfm-tt th{{font-weight:600;background:{RAISED}}}
.mlfm-tt .t{{white-space:nowrap}}.mlfm-tt .id{{color:{DIM};font:10px var(--jp-code-font-family,monospace)}}
.mlfm-tt .pv{{max-width:22em;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;font-family:var(--jp-code-font-family,monospace)}}
.mlfm-tt td.err,.mlfm-tt div.err{{color:{ERR}}}
.mlfm-tt .tag{{display:inline-block;background:{tint("--jp-brand-color1", "#1976d2")};border-radius:3px;padding:0 4px;margin:0 2px 2px 0}}
.mlfm-tt .more{{color:{DIM};margin-top:4px}}
.mlfm-tt td.mk{{white-space:nowrap}}.mlfm-tt td.v-pass{{color:{OK};font-weight:600}}
.mlfm-tt td.v-fail{{color:{ERR};font-weight:600}}.mlfm-tt td.v-error{{color:{WARN}}}
""" + table_rules("mlfm-tt")

__all__ = ["COLUMNS", "SORT_KEYS", "TraceTable"]
