"""An evaluation (``%%mlflow evaluate``): live while it runs, a result when it ends, in three tiers.

- widget: :class:`~mlflow_magics.views.eval_widget.EvalWidget`, a grid whose rows arrive as each
  record's scorers finish, with progress, elapsed time and running pass rate / mean per scorer;
  a row expands to its rationales; a trace opens in the detail area below; "failing rows →
  dataset" grows a dataset with the cases that fail;
- static HTML: the summary table and the first rows, rationales in ``<details>``, no script;
- text: the summary and the first rows as lines.

While MLflow runs, rows arrive on its worker threads (:meth:`EvalView.add`); a ticker thread
pushes them to the display a few times a second, so the workers never wait on the frontend.
The view reaches MLflow only through :mod:`mlflow_magics.scoring`, :mod:`mlflow_magics.datasets`
and :mod:`mlflow_magics.traces`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from mlflow_magics.connection import store_call
from mlflow_magics.errors import BadInput
from mlflow_magics.scoring import EvalOutcome, RecordScored
from mlflow_magics.verdicts import Verdict, aggregate
from mlflow_magics.views import display
from mlflow_magics.views.detail_area import WithDetailArea
from mlflow_magics.views.markup import NO_MATH, Markup, join, tag, visible
from mlflow_magics.views.table_css import ERR, OK, RAISED, table_rules, tint
from mlflow_magics.views.trace_table import clip

#: Characters of inputs / outputs in a row, and of a rationale or error, sent to any tier.
PREVIEW_CAP = 300
RATIONALE_CAP = 2000
#: Rows the widget carries (the rest are in ``to_pandas()``), the HTML and text tiers show.
WIDGET_ROWS = 1000
HTML_ROWS = 50
TEXT_ROWS = 20
#: How often the live display is refreshed while records arrive.
TICK = 0.3

_MARK = {"pass": "✓ pass", "fail": "✗ fail", "error": "⚠ error", "missing": "–"}


def preview(value: Any, limit: int = PREVIEW_CAP) -> str:
    """One bounded line that tells records apart (untrusted): a chat request's last user
    message, a response's reply text, a question's text, else compact JSON."""
    if value is None:
        return ""
    from mlflow_magics.content import preview as content_preview

    return content_preview(value, limit)


def verdict_text(v: Verdict) -> str:
    return _MARK.get(v.kind) or v.label


@dataclass(frozen=True)
class ScorerSummary:
    """One scorer over the rows so far: pass rate (yes/no, booleans) or mean (numbers)."""

    name: str
    mean: float | None
    n: int
    passed: int
    failed: int
    errors: int

    @property
    def text(self) -> str:
        parts = []
        if self.passed or self.failed:
            parts.append(
                f"{self.passed / (self.passed + self.failed):.0%} pass ({self.passed}/{self.passed + self.failed})"
            )
        elif self.mean is not None:
            parts.append(f"mean {self.mean:.3g}")
        else:
            parts.append("no scores")
        if self.errors:
            parts.append(f"{self.errors} error{'s' if self.errors != 1 else ''}")
        return ", ".join(parts)


class EvalView(WithDetailArea):
    """One evaluation run: its rows, per-scorer summary and MLflow's result.

    ``v.result`` is MLflow's ``EvaluationResult`` (None if the run was interrupted),
    ``v.run_id``, ``v.metrics``, ``v.to_pandas()``; ``v.rows`` the scored records in the order
    they finished; ``v.failing()`` the rows with a failing or erroring scorer, and
    ``v.add_failing_to_dataset(name)`` adds their traces to an evaluation dataset.
    """

    def __init__(
        self,
        client,
        scorers: list[str],
        total: int | None,
        data_label: str,
        *,
        run_name: str | None = None,
    ) -> None:
        self._client = client
        self.scorer_names = list(scorers)
        self.total = total
        self.data_label = data_label
        self.run_name = run_name
        self.workers: int | None = None
        self.rows: list[RecordScored] = []
        self.result: Any = None
        self.run_id: str | None = None
        self.experiment_id: str | None = None
        self.run_url: str | None = None
        self.status = "running"
        self.note = ""
        self._started = time.monotonic()
        self._elapsed: float | None = None
        self._lock = threading.Lock()
        self._version = 0
        self._pushed = -1
        self._payloads: list[dict[str, Any]] = []
        self._handle: Any = None
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()

    # -- the run feeding the view ----------------------------------------------------------

    def set_run(self, run_id: str) -> None:
        """Called once MLflow's run exists (before any record): the run and its UI link."""
        from mlflow_magics.connection import run_url

        self.run_id = run_id
        try:
            self.experiment_id = self._client.get_run(run_id).info.experiment_id
        except Exception:
            self.experiment_id = None
        self.run_url = run_url(self.experiment_id, run_id)
        self._changed()

    def add(self, record: RecordScored) -> None:
        """One record scored (called from MLflow's worker threads)."""
        with self._lock:
            self.rows.append(record)
            for name in record.verdicts:
                if name not in self.scorer_names:
                    self.scorer_names.append(name)
            self._version += 1

    def finish(self, outcome: EvalOutcome | None, failure: str | None = None) -> None:
        """The run ended: keep MLflow's result, or say how far an interrupted run got."""
        self._elapsed = time.monotonic() - self._started
        if outcome is not None:
            self.result = outcome.result
            self.run_id = outcome.run_id or self.run_id
        if failure is not None:
            self.status = "failed"
            self.note = failure
        elif outcome is not None and outcome.interrupted:
            self.status = "interrupted"
            left = (self.total - len(self.rows)) if self.total is not None else None
            self.note = (
                f"Interrupted: {len(self.rows)} records scored"
                + (f", {left} left unscored" if left is not None else "")
                + ". The run is marked KILLED; finished rows are kept."
            )
        else:
            self.status = "done"
        self._changed()
        self._stop.set()
        if self._ticker is not None and self._ticker is not threading.current_thread():
            self._ticker.join(timeout=5)  # one pusher at a time: the last push is this one
        self._push()

    def _changed(self) -> None:
        with self._lock:
            self._version += 1

    # -- live display ----------------------------------------------------------------------

    def show_live(self) -> None:
        """Display the view now and keep it current until :meth:`finish` (kernel only)."""
        if not display.in_kernel():
            return
        from IPython.display import display as ipy_display

        self._handle = ipy_display(self, display_id=True)
        self._ticker = threading.Thread(target=self._tick, daemon=True, name="mlfm-eval-view")
        self._ticker.start()

    def close_live(self) -> None:
        """Remove the live display (the returned result takes its place)."""
        self._stop.set()
        if self._handle is not None:
            self._handle.update({"text/plain": ""}, raw=True)
            self._handle = None

    def _tick(self) -> None:
        # Every push re-sends the rows trait whole, so big runs refresh less often.
        while not self._stop.wait(TICK * (1 + len(self.rows) // 300)):
            self._push()

    def _push(self) -> None:
        with self._lock:
            version = self._version
        if version == self._pushed and self.status == "running" and self._widget is None:
            return
        self._pushed = version
        try:
            if self._widget is not None:
                self._sync()
            elif self._handle is not None:
                self._handle.update(self)
        except Exception:
            pass  # a frontend hiccup never stops the evaluation

    # -- reading the result ----------------------------------------------------------------

    @property
    def elapsed(self) -> float:
        return self._elapsed if self._elapsed is not None else time.monotonic() - self._started

    @property
    def summary(self) -> list[ScorerSummary]:
        """Per scorer, over the rows so far: pass rate or mean, and errors."""
        with self._lock:
            rows = list(self.rows)
        out = []
        for name in self.scorer_names:
            agg = aggregate([r.verdicts[name] for r in rows if name in r.verdicts])
            out.append(
                ScorerSummary(
                    name, agg["mean"], agg["n"], agg["passed"], agg["failed"], agg["errors"]
                )
            )
        return out

    @property
    def metrics(self) -> dict[str, float]:
        """MLflow's aggregated metrics (``<scorer>/mean``), or the same from the rows so far."""
        if self.result is not None:
            return {k: float(v) for k, v in self.result.metrics.items()}
        return {f"{s.name}/mean": s.mean for s in self.summary if s.mean is not None}

    def failing(self, scorers: list[str] | None = None) -> list[RecordScored]:
        """Rows where a scorer (of ``scorers``, default all) failed or raised."""
        names = set(scorers) if scorers else None
        if names:
            unknown = sorted(names - set(self.scorer_names))
            if unknown:
                raise BadInput(
                    f"No scorer named {unknown[0]!r}; scorers: {', '.join(self.scorer_names)}."
                )
        return [
            r
            for r in self.rows
            if any(
                v.kind in ("fail", "error")
                for n, v in r.verdicts.items()
                if names is None or n in names
            )
        ]

    @store_call
    def add_failing_to_dataset(self, name: str, scorers: list[str] | None = None):
        """Add the failing rows' traces to dataset ``name`` (created if missing), idempotently.

        Records get the traces' inputs and outputs; rows already in the dataset count as
        already present. Returns the merge result (``added``, ``already_present``)."""
        from mlflow_magics import datasets

        name = (name or "").strip()
        if not name:
            raise BadInput("Name the dataset to add the failing rows to.")
        ids = [r.trace_id for r in self.failing(scorers) if r.trace_id]
        if not ids:
            raise BadInput("No failing rows: every scorer passed or gave a number.")
        name = datasets.check_name(name, self._client.tracking_uri)
        traces = datasets.load_traces(self._client, ids)
        merge = datasets.add_traces(self._client, name, traces, create=None)
        self.note = (
            f"Dataset {name!r}: {merge.added} failing rows added, "
            f"{merge.already_present} already present."
        )
        self._changed()
        self._push()
        return merge

    def to_pandas(self):
        """MLflow's per-record result frame; for an interrupted run, the finished rows."""
        import pandas as pd

        if self.result is not None:
            return self.result.result_df
        records = []
        for r in self.rows:
            row: dict[str, Any] = {"trace_id": r.trace_id, "inputs": r.inputs, "outputs": r.outputs}
            for name, v in r.verdicts.items():
                row[f"{name}/value"] = v.label if v.score is None else v.score
                row[f"{name}/rationale"] = v.rationale
                if v.error:
                    row[f"{name}/error"] = v.error
            records.append(row)
        return pd.DataFrame(records)

    # -- widget ----------------------------------------------------------------------------

    def _control(self):
        from mlflow_magics.views.eval_widget import EvalWidget

        return EvalWidget(self)

    def _sync(self) -> None:
        w = self._control_widget
        if w is None:
            return
        with self._lock:
            done = len(self._payloads)
            self._payloads.extend(
                _row_payload(done + i, r) for i, r in enumerate(self.rows[done:WIDGET_ROWS])
            )
            rows = list(self._payloads) if len(self._payloads) != len(w.rows) else None
        with w.hold_sync():
            w.header = self._header()
            w.scorers = [
                {
                    "name": s.name,
                    "text": s.text,
                    "mean": s.mean,
                    "passed": s.passed,
                    "failed": s.failed,
                    "errors": s.errors,
                }
                for s in self.summary
            ]
            if rows is not None:
                w.rows = rows
            w.note = self.note

    def _header(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "done": len(self.rows),
            "total": self.total,
            "elapsed": round(self.elapsed, 1),
            "run_id": self.run_id or "",
            "run_name": self.run_name or "",
            "run_url": self.run_url or "",
            "data": self.data_label,
            "shown": min(len(self.rows), WIDGET_ROWS),
            "workers": self.workers,
        }

    # -- static tiers ----------------------------------------------------------------------

    def _progress_text(self) -> str:
        total = f"/{self.total}" if self.total is not None else ""
        word = {
            "running": "Evaluating",
            "done": "Evaluated",
            "interrupted": "Interrupted",
            "failed": "Failed",
        }[self.status]
        run = f" · run {self.run_id}" if self.run_id else ""
        at_once = f" · {self.workers} at a time" if self.workers else ""
        return (
            f"{word} {self.data_label}: {len(self.rows)}{total} records · "
            f"{self.elapsed:.1f} s{at_once}{run}"
        )

    def _text(self) -> str:
        lines = [self._progress_text()]
        if self.note:
            lines.append(self.note)
        for s in self.summary:
            lines.append(f"  {s.name}: {s.text}")
        with self._lock:
            rows = list(self.rows[:TEXT_ROWS])
        for r in rows:
            marks = "  ".join(
                f"{n}={verdict_text(r.verdicts[n])}" for n in self.scorer_names if n in r.verdicts
            )
            lines.append(f"  · {preview(r.inputs, 60)} → {preview(r.outputs, 60)}  {marks}")
            if r.error:
                lines.append(f"      predict error: {clip(r.error, 200)}")
        if len(self.rows) > TEXT_ROWS:
            lines.append(f"  … {len(self.rows) - TEXT_ROWS} more rows (to_pandas() has all)")
        return visible("\n".join(lines))

    def _html(self) -> Markup:
        head = [tag("strong", self._progress_text())]
        if self.run_url and self.run_url.startswith(("http://", "https://")):
            head.append(tag("a", " open run", href=self.run_url, target="_blank", rel="noopener"))
        parts = [tag("div", *head, class_="mlfm-eval-head")]
        if self.note:
            parts.append(tag("div", self.note, class_="mlfm-eval-note"))
        summary_rows = [tag("tr", tag("th", "scorer"), tag("th", "so far"))]
        summary_rows += [tag("tr", tag("td", s.name), tag("td", s.text)) for s in self.summary]
        parts.append(tag("table", *summary_rows, class_="mlfm-eval-summary"))
        with self._lock:
            rows = list(self.rows[:HTML_ROWS])
        header = [tag("th", x) for x in ("inputs", "outputs", *self.scorer_names)]
        body = [tag("tr", *header)]
        for r in rows:
            cells = [
                tag("td", preview(r.inputs, 120)),
                tag("td", preview(r.outputs, 120), _error_line(r.error)),
            ]
            for name in self.scorer_names:
                cells.append(_verdict_cell(r.verdicts.get(name)))
            body.append(tag("tr", *cells))
        parts.append(tag("table", *body, class_="mlfm-eval-rows"))
        if len(self.rows) > HTML_ROWS:
            parts.append(
                tag("div", f"… {len(self.rows) - HTML_ROWS} more rows (to_pandas() has all).")
            )
        return join(
            [tag("style", Markup(_CSS)), tag("div", join(parts), class_=f"mlfm-eval {NO_MATH}")]
        )

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        return display.mimebundle(self._text(), html=self._html, widget=lambda: self.widget)

    def __repr__(self) -> str:
        return f"<EvalView {self.status} {len(self.rows)}/{self.total} run={self.run_id}>"


_CSS = f"""
.mlfm-eval{{font:12px/1.4 var(--jp-ui-font-family,system-ui,sans-serif);color:var(--jp-ui-font-color1,#212121);max-width:100%;overflow-x:auto}}
.mlfm-eval .mlfm-eval-head,.mlfm-eval .mlfm-eval-note{{margin:2px 0 6px}}
.mlfm-eval table{{margin:0 0 8px}}
.mlfm-eval th,.mlfm-eval td{{border-bottom:1px solid var(--jp-border-color2,#e0e0e0);padding:3px 8px;vertical-align:top}}
.mlfm-eval th{{font-weight:600;background:{RAISED}}}
.mlfm-eval .mlfm-v-pass{{color:{OK}}}
.mlfm-eval .mlfm-v-fail,.mlfm-eval .mlfm-v-error,.mlfm-eval .mlfm-eval-err{{color:{ERR}}}
.mlfm-eval .mlfm-v-fail{{background:{tint("--jp-error-color1", "#c62828", 10)}}}
.mlfm-eval details summary{{cursor:pointer}}
""" + table_rules("mlfm-eval")


def _error_line(error: str | None) -> Markup | None:
    if not error:
        return None
    return tag("div", f"predict error: {clip(error, 300)}", class_="mlfm-eval-err")


def _verdict_cell(v: Verdict | None) -> Markup:
    if v is None:
        return tag("td", "")
    cls = f"mlfm-v mlfm-v-{v.kind}" + (" num" if v.kind == "number" else "")
    detail = v.error or v.rationale
    if detail:
        return tag(
            "td",
            tag(
                "details", tag("summary", verdict_text(v)), tag("div", clip(detail, RATIONALE_CAP))
            ),
            class_=cls,
        )
    return tag("td", verdict_text(v), class_=cls)


def _row_payload(i: int, r: RecordScored) -> dict[str, Any]:
    from mlflow_magics.content import record_content

    try:
        chat = record_content(r.inputs, r.outputs)
    except Exception:  # a reading aid: the previews still show the record
        chat = None
    return {
        "i": i,
        "trace_id": r.trace_id or "",
        "inputs": preview(r.inputs),
        "outputs": preview(r.outputs),
        **({"content": chat} if chat else {}),
        "error": clip(r.error, RATIONALE_CAP) if r.error else "",
        "v": {
            name: [
                v.kind,
                verdict_text(v),
                clip(v.rationale, RATIONALE_CAP) if v.rationale else "",
                clip(v.error, RATIONALE_CAP) if v.error else "",
            ]
            for name, v in r.verdicts.items()
        },
    }
