"""Two GenAI evaluation runs side by side, per record: the service behind ``%mlflow compare``.

An evaluation run (``mlflow.genai.evaluate`` under a run, or ``%%mlflow evaluate``) links one
trace per record to the run and logs each scorer's ``Feedback`` on it (value, rationale, error;
tagged with the run id) plus ``<scorer>/mean`` run metrics. :func:`compare_runs` reads both
runs' traces, pairs records by their inputs and reads every verdict through
:mod:`mlflow_magics.verdicts`, so a "pass" or a "regression" means what the evaluation grid says.

What is read, and why: one paged ``search_traces(run_id=…, include_spans=False)`` per run. The
trace infos it returns carry the assessments and MLflow's request/response previews, which is
everything a comparison needs, at a fraction of the cost of spans (an agent's trace may hold
hundreds of spans, each with payloads; bench/compare.py, two 200-record runs of a three-span
agent on SQLite: 59 ms for both runs without spans, 700 ms with). A preview is not always the whole value, though: it is
cut at 1,000 characters (10,000 on Databricks), and for chat-shaped requests it holds only the
last user message, so two conversations that end with the same question would look alike.
Records are keyed by their inputs, so a record whose request preview is not provably the
complete inputs (not a JSON object, cut, or not matching the trace's ``mlflow.traceInputs``
metadata) and a record whose response preview was cut have their spans loaded, in batches,
and take the root span's inputs and outputs instead. Evaluations of short, dict-shaped inputs
(the common case) never load a span.

Records pair by a canonical JSON of their inputs (sorted keys); records with identical inputs
pair in the order they ran. A record only in B is ``added``, one only in A ``removed``.

No IPython and no display here; a user mistake raises :class:`~mlflow_magics.errors.BadInput`.
"""

from __future__ import annotations

import difflib
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from mlflow_magics.errors import BadInput
from mlflow_magics.verdicts import MISSING, Verdict, aggregate, change, read_feedback

Status = Literal["regressed", "improved", "changed", "added", "removed", "same"]
#: Row order: what a user must look at first comes first.
STATUS_ORDER: tuple[Status, ...] = ("regressed", "improved", "changed", "added", "removed", "same")

_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
#: MLflow's cut previews end with "..." at exactly this many characters (OSS, Databricks).
_PREVIEW_CAPS = (1_000, 10_000)
_INPUTS_METADATA = "mlflow.traceInputs"
_SOURCE_RUN = "mlflow.assessment.sourceRunId"
#: Spans load by id while fewer than 1 in this many records need them, else by one search.
SEARCH_SPANS_SHARE = 4
#: Runs listed for a did-you-mean when a name is not found.
_NAMES_FOR_HINT = 1_000


@dataclass(frozen=True)
class RunRef:
    """One run as the comparison names it."""

    run_id: str
    name: str
    experiment_id: str
    metrics: dict[str, float] = field(default_factory=dict, repr=False, compare=False)

    @property
    def label(self) -> str:
        """``name (run id)``, or the id alone for a run without a name."""
        return f"{self.name} ({self.run_id})" if self.name else self.run_id


@dataclass(frozen=True)
class EvalRecord:
    """One evaluated record of one run: its trace, inputs, outputs and a verdict per scorer."""

    trace_id: str
    inputs: Any
    outputs: Any
    verdicts: dict[str, Verdict]
    request_time: int = 0
    key: str = field(default="", repr=False)


@dataclass(frozen=True)
class ScorerChange:
    """One scorer on one paired record: A's verdict, B's, and how it moved."""

    scorer: str
    a: Verdict
    b: Verdict
    change: Literal["regressed", "improved", "same", "changed"]


@dataclass(frozen=True)
class CompareRow:
    """One record: in both runs (``a`` and ``b``), or only in one (``added`` / ``removed``)."""

    status: Status
    inputs: Any
    a: EvalRecord | None
    b: EvalRecord | None
    changes: tuple[ScorerChange, ...] = ()

    @property
    def regressed(self) -> tuple[str, ...]:
        """Scorers whose verdict got worse on this record."""
        return tuple(c.scorer for c in self.changes if c.change == "regressed")

    @property
    def improved(self) -> tuple[str, ...]:
        """Scorers whose verdict got better on this record."""
        return tuple(c.scorer for c in self.changes if c.change == "improved")

    def verdict(self, scorer: str, side: Literal["a", "b"]) -> Verdict:
        """The verdict of ``scorer`` on side ``a`` or ``b`` (``MISSING`` when absent)."""
        record = self.a if side == "a" else self.b
        return record.verdicts.get(scorer, MISSING) if record is not None else MISSING


@dataclass(frozen=True)
class ScorerSummary:
    """One scorer over both runs.

    ``mean_a`` / ``mean_b`` are the runs' logged ``<scorer>/mean`` metrics where present (what
    MLflow's UI shows), else :func:`~mlflow_magics.verdicts.aggregate` over the verdicts read.
    ``pass_rate_*`` is passed / (passed + failed) for yes-no and boolean scorers, else None.
    Counts of ``regressed`` / ``improved`` / ``changed`` are over paired records.
    """

    name: str
    mean_a: float | None
    mean_b: float | None
    pass_rate_a: float | None
    pass_rate_b: float | None
    regressed: int
    improved: int
    changed: int
    errors_a: int
    errors_b: int
    records_a: int
    records_b: int

    @property
    def delta(self) -> float | None:
        """``mean_b - mean_a`` (None unless both runs have a mean)."""
        if self.mean_a is None or self.mean_b is None:
            return None
        return self.mean_b - self.mean_a


@dataclass(frozen=True)
class RunComparison:
    """Two evaluation runs compared: A is the baseline, B the candidate."""

    run_a: RunRef
    run_b: RunRef
    scorers: tuple[ScorerSummary, ...]
    rows: tuple[CompareRow, ...]
    spans_loaded: int = 0

    def count(self, status: Status) -> int:
        """How many rows have ``status``."""
        return sum(r.status == status for r in self.rows)


# -- resolving runs ------------------------------------------------------------------------


def run_id_of(value: Any) -> str | None:
    """The run id an object carries: an ``EvalView`` or MLflow ``EvaluationResult``
    (``.run_id``), a ``Run`` (``.info.run_id``) or a ``RunInfo``; None for anything else."""
    for candidate in (
        getattr(value, "run_id", None),
        getattr(getattr(value, "info", None), "run_id", None),
    ):
        if isinstance(candidate, str) and candidate:
            return candidate
    return None


def resolve_run(client, ref: str, experiment_id: str) -> RunRef:
    """The run ``ref`` names: a run id (any experiment), else a run name in ``experiment_id``
    (the newest run of that name)."""
    from mlflow.exceptions import MlflowException

    ref = ref.strip()
    if not ref:
        raise BadInput("A run id or run name is needed, e.g. `%mlflow compare RUN_A RUN_B`.")
    if _RUN_ID.match(ref):
        try:
            return _ref(client.get_run(ref))
        except MlflowException as e:
            if e.error_code not in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"):
                raise
    runs = _runs_named(client, ref, experiment_id)
    if runs:
        # Newest first: a notebook run again makes a second run of each name, and the name
        # means the run just made (the view labels each side with its run id).
        return _ref(runs[0])
    names = _run_names(client, experiment_id)
    close = difflib.get_close_matches(ref, names, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise BadInput(
        f"No run {ref!r} (by id, or by name in experiment {experiment_id}) in "
        f"{client.tracking_uri}.{hint} Pass a run id, a run name, or a variable holding an "
        "evaluation result."
    )


def _runs_named(client, name: str, experiment_id: str) -> list[Any]:
    from mlflow_magics.trace_search import quote_value

    try:
        literal = quote_value(name)
    except BadInput:  # both kinds of quote: no filter can say it; match by hand
        return [r for r in _recent_runs(client, experiment_id) if r.info.run_name == name]
    return list(
        client.search_runs(
            [experiment_id],
            filter_string=f"attributes.run_name = {literal}",
            max_results=100,
            order_by=["attributes.start_time DESC"],
        )
    )


def _recent_runs(client, experiment_id: str) -> list[Any]:
    return list(
        client.search_runs(
            [experiment_id], max_results=_NAMES_FOR_HINT, order_by=["attributes.start_time DESC"]
        )
    )


def _run_names(client, experiment_id: str) -> list[str]:
    return list(dict.fromkeys(r.info.run_name for r in _recent_runs(client, experiment_id)))


def _ref(run) -> RunRef:
    return RunRef(
        run_id=run.info.run_id,
        name=run.info.run_name or "",
        experiment_id=run.info.experiment_id,
        metrics=dict(run.data.metrics or {}),
    )


# -- reading one run -----------------------------------------------------------------------


def read_records(client, run: RunRef) -> tuple[list[EvalRecord], int]:
    """The run's evaluated records, in the order they ran, and how many needed their spans.

    Raises :class:`BadInput` when the run has no trace with scorer feedback.
    """
    found = [t.info for t in _run_traces(client, run, include_spans=False)]
    found.sort(key=lambda i: (i.request_time or 0, i.trace_id))
    # Traces the run holds without this run's feedback (made by other code under the run)
    # are not evaluated records.
    scored = [(info, v) for info in found if (v := _verdicts(info, run.run_id))]
    if not scored:
        n = len(found)
        what = f"{n} trace{'s' * (n != 1)} but no scorer feedback" if n else "no traces"
        raise BadInput(
            f"Run {run.label} is not an evaluation run: it has {what}; compare runs made by "
            "`mlflow.genai.evaluate(..., scorers=[...])` or `%%mlflow evaluate`."
        )
    infos = [info for info, _ in scored]
    verdicts = [v for _, v in scored]
    tagged = {info.trace_id: _tagged_request(info) for info in infos}
    payloads = {
        info.trace_id: _response_only(info, tagged[info.trace_id][1])
        if tagged[info.trace_id][1] is not None
        else _from_previews(info)
        for info in infos
    }
    need_spans = [i for i, p in payloads.items() if p is None]
    if need_spans:
        for trace in _traces_with_spans(client, run, need_spans, len(infos)):
            if trace.info.trace_id not in payloads:
                continue
            root = trace.data._get_root_span()
            inputs = root.inputs if root is not None else None
            payloads[trace.info.trace_id] = (inputs, root.outputs if root is not None else None)
    records = []
    for info, found in zip(infos, verdicts, strict=True):
        inputs, outputs = payloads[info.trace_id] or (None, None)
        has_tag, row, key = tagged[info.trace_id]
        if has_tag:
            inputs = row if row is not None else inputs
        records.append(
            EvalRecord(
                trace_id=info.trace_id,
                inputs=inputs,
                outputs=outputs,
                verdicts=found,
                request_time=info.request_time or 0,
                key=key if has_tag else record_key(inputs),
            )
        )
    return records, len(need_spans)


def _run_traces(client, run: RunRef, include_spans: bool) -> list[Any]:
    """Every trace linked to ``run``, page by page."""
    from mlflow_magics.trace_search import _token, _where, bulk_page_size

    traces: list[Any] = []
    token = None
    while True:
        page = client.search_traces(
            **_where(client, [run.experiment_id]),
            run_id=run.run_id,
            include_spans=include_spans,
            max_results=bulk_page_size(client),
            page_token=token,
        )
        traces.extend(page)
        token = _token(page)
        if not token or not page:
            return traces


def _traces_with_spans(client, run: RunRef, trace_ids: list[str], total: int) -> list[Any]:
    """The traces ``trace_ids`` with spans. By id in batches when they are a few; when they
    are many, one more search of the run with spans, which costs less than reading each
    (SQLite, 544 small agent traces: 1.9 s read by id, 0.8 s searched with spans)."""
    if len(trace_ids) * SEARCH_SPANS_SHARE < total:
        from mlflow_magics.datasets import load_traces

        return load_traces(client, trace_ids)
    return _run_traces(client, run, include_spans=True)


def _verdicts(info, run_id: str) -> dict[str, Verdict]:
    """Each scorer's verdict on this trace for this run.

    A trace evaluated by several runs (``evaluate(data=traces)``) carries every run's
    feedback: only this run's counts (assessments say which run logged them). Overridden
    (invalid) feedback is skipped; of several left with one name, the newest wins.
    """
    newest: dict[str, tuple[int, Any]] = {}
    for a in getattr(info, "assessments", None) or []:
        if type(a).__name__ != "Feedback" or getattr(a, "valid", True) is False:
            continue
        source_run = getattr(a, "run_id", None) or (a.metadata or {}).get(_SOURCE_RUN)
        if source_run and source_run != run_id:
            continue
        when = getattr(a, "last_update_time_ms", None) or getattr(a, "create_time_ms", 0) or 0
        if a.name not in newest or when >= newest[a.name][0]:
            newest[a.name] = (when, a)
    return {name: read_feedback(a) for name, (_, a) in newest.items()}


def _cut(preview: str) -> bool:
    return len(preview) in _PREVIEW_CAPS and preview.endswith("...")


def _response_only(info, inputs: Any) -> tuple[Any, Any] | None:
    """(inputs, outputs) when the inputs are known and the response preview is whole."""
    response = info.response_preview
    if response and _cut(response):
        return None
    if response is None:
        return inputs, None
    try:
        return inputs, json.loads(response)
    except ValueError:
        return inputs, response


def _from_previews(info) -> tuple[Any, Any] | None:
    """(inputs, outputs) from the trace info's previews, or None when they may not be whole."""
    request, response = info.request_preview, info.response_preview
    if not request or _cut(request) or (response and _cut(response)):
        return None
    try:
        inputs = json.loads(request)
    except ValueError:
        return None
    if not isinstance(inputs, dict):
        return None  # a chat request's last message, not the request
    recorded = (getattr(info, "trace_metadata", None) or {}).get(_INPUTS_METADATA)
    if recorded and not _same_inputs(recorded, inputs):
        return None
    outputs: Any = None
    if response is not None:
        try:
            outputs = json.loads(response)
        except ValueError:
            outputs = response  # a chat response's text, as MLflow's UI shows it
    return inputs, outputs


def _same_inputs(recorded: str, inputs: dict) -> bool:
    """Whether the trace's own (250-character, middle-cut) record of its inputs agrees with
    ``inputs``: it rules out a chat message that happens to be a JSON object."""
    try:
        return json.loads(recorded) == inputs
    except ValueError:  # cut in the middle: compare the kept head
        head = recorded.split("...", 1)[0]
        return any(
            text.startswith(head)
            for text in (json.dumps(inputs), json.dumps(inputs, ensure_ascii=False))
        )


#: Trace tag holding the evaluation's data row (canonical JSON), written by `%%mlflow evaluate`.
REQUEST_TAG = "mlflow_magics.request"
#: Longest request kept whole in the tag; longer ones are keyed by their SHA-256.
REQUEST_TAG_CAP = 7000


def record_key(inputs: Any) -> str:
    """The pairing key: canonical JSON of the inputs (sorted keys, no spacing), or its
    SHA-256 when it is longer than a trace tag holds."""
    text = json.dumps(
        inputs, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    if len(text) > REQUEST_TAG_CAP:
        import hashlib

        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    return text


def _tagged_request(info) -> tuple[bool, Any, str | None]:
    """(found, inputs, key) from the evaluation's own record of its data row: the pairing
    comes from the row the predict function was called with, never from whichever span it
    made first (a plain function around one autologged LLM call makes the LLM span root)."""
    tag = (getattr(info, "tags", None) or {}).get(REQUEST_TAG)
    if not tag:
        return False, None, None
    if tag.startswith("sha256:"):
        return True, None, tag
    try:
        return True, json.loads(tag), tag
    except ValueError:
        return False, None, None


# -- comparing -----------------------------------------------------------------------------


def compare_runs(client, run_a: RunRef, run_b: RunRef) -> RunComparison:
    """Read both runs and compare them record by record, A as the baseline."""
    if run_a.run_id == run_b.run_id:
        raise BadInput(
            f"Both sides are run {run_a.label}; compare two different runs (e.g. before and "
            "after a prompt change)."
        )
    records_a, spans_a = read_records(client, run_a)
    records_b, spans_b = read_records(client, run_b)
    return compare_records(run_a, run_b, records_a, records_b, spans_loaded=spans_a + spans_b)


def compare_records(
    run_a: RunRef,
    run_b: RunRef,
    records_a: list[EvalRecord],
    records_b: list[EvalRecord],
    spans_loaded: int = 0,
) -> RunComparison:
    """Pair ``records_a`` and ``records_b`` by inputs and build the comparison."""
    names = _scorer_names(records_a, records_b)
    by_key: dict[str, list[EvalRecord]] = defaultdict(list)
    for record in records_b:
        by_key[record.key].append(record)
    rows: list[CompareRow] = []
    for a in records_a:
        waiting = by_key.get(a.key)
        if waiting:
            rows.append(_paired(a, waiting.pop(0), names))
        else:
            rows.append(CompareRow("removed", a.inputs, a, None))
    paired_b = {id(r.b) for r in rows if r.b is not None}
    rows.extend(CompareRow("added", b.inputs, None, b) for b in records_b if id(b) not in paired_b)
    position = {status: i for i, status in enumerate(STATUS_ORDER)}
    order = sorted(
        range(len(rows)),
        key=lambda i: (
            position[rows[i].status],
            -len(rows[i].regressed),
            -len(rows[i].improved),
            i,
        ),
    )
    ordered = tuple(rows[i] for i in order)
    summaries = [_summary(name, run_a, run_b, records_a, records_b, ordered) for name in names]
    summaries.sort(key=lambda s: (-s.regressed, names.index(s.name)))
    return RunComparison(run_a, run_b, tuple(summaries), ordered, spans_loaded)


def _scorer_names(*runs: Iterable[EvalRecord]) -> list[str]:
    seen: dict[str, None] = {}
    for records in runs:
        for record in records:
            seen.update(dict.fromkeys(record.verdicts))
    return sorted(seen)


def _paired(a: EvalRecord, b: EvalRecord, names: list[str]) -> CompareRow:
    changes = tuple(
        ScorerChange(name, va, vb, change(va, vb))
        for name in names
        for va, vb in [(a.verdicts.get(name, MISSING), b.verdicts.get(name, MISSING))]
    )
    # A scorer only one side ran (a judge added in B) says nothing about what moved.
    moves = {c.change for c in changes if "missing" not in (c.a.kind, c.b.kind)}
    status: Status = "same"
    for candidate in ("regressed", "improved", "changed"):
        if candidate in moves:
            status = candidate  # type: ignore[assignment]
            break
    return CompareRow(status, b.inputs, a, b, changes)


def _summary(
    name: str,
    run_a: RunRef,
    run_b: RunRef,
    records_a: list[EvalRecord],
    records_b: list[EvalRecord],
    rows: tuple[CompareRow, ...],
) -> ScorerSummary:
    agg_a = aggregate([r.verdicts[name] for r in records_a if name in r.verdicts])
    agg_b = aggregate([r.verdicts[name] for r in records_b if name in r.verdicts])
    moves = [c.change for r in rows for c in r.changes if c.scorer == name]
    return ScorerSummary(
        name=name,
        mean_a=_mean(run_a, name, agg_a),
        mean_b=_mean(run_b, name, agg_b),
        pass_rate_a=_pass_rate(agg_a),
        pass_rate_b=_pass_rate(agg_b),
        regressed=moves.count("regressed"),
        improved=moves.count("improved"),
        changed=moves.count("changed"),
        errors_a=int(agg_a["errors"] or 0),
        errors_b=int(agg_b["errors"] or 0),
        records_a=sum(name in r.verdicts for r in records_a),
        records_b=sum(name in r.verdicts for r in records_b),
    )


def _mean(run: RunRef, name: str, agg: dict[str, Any]) -> float | None:
    logged = run.metrics.get(f"{name}/mean")
    if logged is not None:
        return float(logged)
    return agg["mean"]


def _pass_rate(agg: dict[str, Any]) -> float | None:
    judged = (agg["passed"] or 0) + (agg["failed"] or 0)
    return agg["passed"] / judged if judged else None
