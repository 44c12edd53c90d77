"""The trace view's widget: span columns synced once, span details on request.

The front-end is ``widgets/trace_view/`` (its contract: ``model.d.ts``). The browser sets
``selected_span_id``; Python answers with that span's bounded details in ``_detail``. So the
kernel sends a 50,000-span trace's payloads one span at a time, never all at once.

Search works the same way: the browser matches names and types itself as the user types and
sets ``query``; Python answers with the rows whose name, type, inputs or outputs contain it
(``_matches``), so payload text is searched where the payloads are. The type filter is applied
in the browser; ``span_type_filter`` keeps Python in step.
"""

from __future__ import annotations

from typing import Any

import traitlets

from mlflow_magics.trace_data import SEARCH_CAP, SpanSearch, TraceData, span_detail, span_index
from mlflow_magics.views.action_widget import ActionWidget


class TraceWidget(ActionWidget):
    """Span tree + waterfall + details pane for one trace, and its assessments."""

    bundle_name = "trace_view"
    noun = "trace view"

    trace = traitlets.Dict(
        help="Trace facts and span columns in depth-first order (sent once)."
    ).tag(sync=True)
    selected_span_id = traitlets.Unicode(
        "", help="Hex id of the span whose details are shown; set by a click or select()."
    ).tag(sync=True)
    _detail = traitlets.Dict(
        help="Bounded details of the selected span, computed in Python on selection."
    ).tag(sync=True)
    query = traitlets.Unicode(
        "",
        help="Text searched for (case-insensitive) in span names, types, inputs and outputs; "
        "set by the search box or search(). Empty: no search.",
    ).tag(sync=True)
    span_type_filter = traitlets.Unicode(
        "", help="Show only spans of this type (with their ancestors); empty shows every type."
    ).tag(sync=True)
    assessments = traitlets.List(
        help="The trace's feedback and expectations (Assessment dicts, widgets/lib/content.d.ts)."
    ).tag(sync=True)
    _matches = traitlets.Dict(
        help="Python's answer to `query`: {query, rows (depth-first indexes, at most "
        f"{SEARCH_CAP:,}), capped}}; empty when there is no query."
    ).tag(sync=True)

    def __init__(self, trace, data: TraceData, view=None, **kwargs: Any) -> None:
        self._trace = trace
        self._data = data
        self._index: dict[str, Any] | None = None
        self._search: SpanSearch | None = None
        super().__init__(
            view, trace=data.to_payload(), assessments=list(data.assessments), **kwargs
        )

    def _do_add_assessment(self, content: dict[str, Any]) -> None:
        if self._view is None:
            from mlflow_magics.errors import BadInput

            raise BadInput("This trace view cannot write assessments (it has no store).")
        self._view.add_assessment(
            str(content.get("kind") or "feedback"),
            str(content.get("name") or ""),
            content.get("value"),
            rationale=content.get("rationale") or None,
        )

    @traitlets.observe("selected_span_id")
    def _on_select(self, change) -> None:
        span_id = change["new"]
        if not span_id:
            self._detail = {}
            return
        try:
            detail = span_detail(self._trace, span_id, index=self._span_index())
        except Exception as e:  # shown in the pane rather than lost in the kernel log
            detail = {"span_id": span_id, "error": f"Could not read span {span_id}: {e}"}
        self._detail = detail or {"span_id": span_id, "error": f"No span {span_id} in trace."}

    def select(self, span_id: str) -> None:
        """Python twin of clicking a span row."""
        if span_id == self.selected_span_id:
            self._on_select({"new": span_id})
        else:
            self.selected_span_id = span_id

    @property
    def detail(self) -> dict[str, Any]:
        """What the details pane shows now."""
        return dict(self._detail)

    def _span_index(self) -> dict[str, Any]:
        if self._index is None:  # built on first use, not for views never clicked
            self._index = span_index(self._trace, self._data)
        return self._index

    @traitlets.observe("query")
    def _on_query(self, change) -> None:
        query = change["new"]
        if not query:
            self._matches = {}
            return
        if self._search is None:
            self._search = SpanSearch(self._trace, self._data, self._span_index())
        hits = self._search.find(query)
        self._matches = {
            "query": query,
            "rows": hits.rows,
            "where": hits.where,
            "capped": hits.capped,
        }

    def search(self, text: str) -> list[str]:
        """Python twin of typing ``text`` into the search box: the ids of the spans whose name,
        type, inputs or outputs contain it (case-insensitive; at most 5,000)."""
        if text == self.query:
            self._on_query({"new": text})
        else:
            self.query = text
        ids = self._data.spans["id"]
        return [ids[i] for i in self._matches.get("rows", [])]

    def filter_type(self, span_type: str) -> None:
        """Python twin of picking a span type in the type filter ("" shows every type)."""
        types = set(self._data.spans["type"])
        if span_type and span_type not in types:
            raise ValueError(
                f"No {span_type!r} spans in this trace; its types are {', '.join(sorted(types))}."
            )
        self.span_type_filter = span_type

    @property
    def matches(self) -> list[str]:
        """Ids of the spans the view highlights now: matching the search and the type filter."""
        s = self._data.spans
        if self.query:
            rows = self._matches.get("rows", [])
        elif self.span_type_filter:
            rows = range(len(s["id"]))
        else:
            return []
        wanted = self.span_type_filter
        return [s["id"][i] for i in rows if not wanted or s["type"][i] == wanted]

    def next_match(self, step: int = 1) -> str | None:
        """Python twin of the next (``step=1``) / previous (``-1``) match buttons: selects the
        match after (before) the selected span, wrapping around; returns its id."""
        matches = self.matches
        if not matches:
            return None
        row_of = {span_id: i for i, span_id in enumerate(self._data.spans["id"])}
        current = row_of.get(self.selected_span_id, -1)
        rows = [row_of[m] for m in matches]
        if step > 0:
            nxt = next((r for r in rows if r > current), rows[0])
        else:
            nxt = next((r for r in reversed(rows) if r < current), rows[-1])
        span_id = self._data.spans["id"][nxt]
        self.select(span_id)
        return span_id
