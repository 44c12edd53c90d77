"""Evaluation datasets built from traces: the service behind ``%mlflow dataset`` / ``datasets``.

Records come from traces *with* spans (:func:`records_from_traces`): inputs are the root span's
inputs, outputs its outputs, and the source is the trace id. MLflow keys records by their
inputs and merges a record whose inputs already exist into it (overwriting its outputs), so
:func:`add_traces` first compares source trace ids and input hashes with what the dataset
holds and merges only what is new: adding the same traces twice adds nothing, and an existing
record is never overwritten by a trace that merely asks the same question.

MLflow's dataset API (``EvaluationDataset.merge_records``) writes through the global tracking
URI rather than a client, so these functions expect ``client`` to point there (the magics'
client always does).

No IPython and no display here; a user mistake raises :class:`~mlflow_magics.errors.BadInput`.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mlflow_magics.errors import BadInput

#: The expectation names the grid edits (MLflow's built-in judges read these names).
EXPECTATION_FIELDS = ("expected_response", "expected_facts", "guidelines")
#: Trace ids loaded per request when building records (a tracking server caps batch reads).
TRACE_BATCH = 100
_UC_NAME = re.compile(r"^[^.\s]+\.[^.\s]+\.[^.\s]+$")
#: An explicit filter: without one, MLflow's fluent search returns the last 7 days only.
_ALL_TIME = "created_time >= 0"


@dataclass(frozen=True)
class DatasetSummary:
    """One dataset as ``%mlflow datasets`` lists it."""

    dataset_id: str
    name: str
    records: int
    created_ms: int | None
    updated_ms: int | None
    experiment_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Record:
    """One dataset record as the views show it."""

    record_id: str
    inputs: Any
    outputs: Any
    expectations: dict[str, Any]
    source_trace: str | None
    source_type: str | None
    created_ms: int | None = None


@dataclass(frozen=True)
class MergeResult:
    """What adding traces to a dataset did."""

    name: str
    dataset_id: str
    added: int
    already_present: int
    created: bool = False
    same_inputs: int = 0
    trace_ids: tuple[str, ...] = field(default=(), repr=False)
    #: Traces left out and why, one ``(trace id, reason)`` each.
    skipped: tuple[tuple[str, str], ...] = ()

    def sentence(self) -> str:
        """``3 added, 1 skipped: same inputs as record X`` plus where."""
        what = "Created" if self.created else "Dataset"
        present = self.already_present - len(self.skipped)
        parts = [f"{self.added} added", f"{present} already present"]
        if self.skipped:
            reasons = list(dict.fromkeys(reason for _, reason in self.skipped))
            shown = "; ".join(reasons[:3])
            more = f"; and {len(reasons) - 3} more" if len(reasons) > 3 else ""
            parts.append(f"{len(self.skipped)} skipped: {shown}{more}")
        return f"{what} {self.name!r}: {', '.join(parts)}."


# -- names and lookup --------------------------------------------------------------------


def check_name(name: str, tracking_uri: str) -> str:
    """Refuse names MLflow's local store would take but the user did not mean."""
    name = (name or "").strip()
    if not name:
        raise BadInput("A dataset needs a name, e.g. `%mlflow dataset create qa-v1 --from …`.")
    if _UC_NAME.match(name) and not str(tracking_uri).startswith("databricks"):
        raise BadInput(
            f"{name!r} is a Unity Catalog table name (catalog.schema.table), which needs a "
            "Databricks workspace: `%mlflow connect databricks`, or use a name without dots "
            f"on {tracking_uri}."
        )
    return name


def list_datasets(client, name_like: str | None = None) -> list[DatasetSummary]:
    """Every dataset in the store (all ages, newest update first), optionally ``name LIKE``."""
    clauses = [_ALL_TIME]
    if name_like:
        from mlflow_magics.trace_search import quote_value

        pattern = name_like if any(c in name_like for c in "%_") else f"%{name_like}%"
        clauses.append(f"name LIKE {quote_value(pattern)}")
    out: list[DatasetSummary] = []
    token = None
    while True:
        page = client.search_datasets(
            filter_string=" AND ".join(clauses),
            max_results=1000,
            order_by=["last_update_time DESC"],
            page_token=token,
        )
        out.extend(_summary(d) for d in page)
        token = getattr(page, "token", None)
        if not token or not page:
            return out


def _summary(entity) -> DatasetSummary:
    profile = entity.profile
    if isinstance(profile, str):
        try:
            profile = json.loads(profile)
        except ValueError:
            profile = None
    records = (profile or {}).get("num_records", 0) if isinstance(profile, dict) else 0
    return DatasetSummary(
        dataset_id=entity.dataset_id,
        name=entity.name,
        records=int(records or 0),
        created_ms=entity.created_time,
        updated_ms=entity.last_update_time,
    )


def find_dataset(client, name: str):
    """MLflow's ``EvaluationDataset`` named ``name`` (the newest, if several share it)."""
    from mlflow.genai.datasets import EvaluationDataset

    entity = _find_entity(client, name)
    if entity is None:
        names = sorted({d.name for d in list_datasets(client)})
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise BadInput(
            f"No dataset {name!r} in {client.tracking_uri}.{hint} `%mlflow datasets` lists "
            "them; `%mlflow dataset create NAME --from FILTER` makes one."
        )
    return EvaluationDataset(entity)


def open_dataset(client, dataset_id: str):
    """MLflow's ``EvaluationDataset`` with id ``dataset_id``."""
    from mlflow.genai.datasets import EvaluationDataset

    return EvaluationDataset(client.get_dataset(dataset_id))


def _find_entity(client, name: str):
    from mlflow_magics.trace_search import quote_value

    found = client.search_datasets(
        filter_string=f"name = {quote_value(name)}",
        max_results=1,
        order_by=["created_time DESC"],
    )
    return found[0] if found else None


# -- traces → records --------------------------------------------------------------------


def record_from_trace(trace: Any) -> dict[str, Any]:
    """One dataset record from a trace with spans: the app's request and response (see
    :func:`request_of`), the trace's expectations, and the trace id as the record's source
    (what makes merges idempotent per trace)."""
    inputs, outputs = request_of(trace)
    expectations = {}
    for assessment in trace.search_assessments(type="expectation"):
        expectations[assessment.name] = assessment.value
    return {
        "inputs": inputs,
        "outputs": outputs,
        "expectations": expectations,
        "source": {"source_type": "TRACE", "source_data": {"trace_id": trace.info.trace_id}},
    }


def request_of(trace: Any) -> tuple[dict[str, Any], Any]:
    """(inputs, outputs) of the app's entry call, inputs shaped as the predict function's
    keyword arguments.

    - an evaluation trace: the data row the evaluation called the app with (recorded by
      `%%mlflow evaluate`), never its root span (a plain function around one autologged LLM
      call makes the LLM call the root);
    - a traced cell: the one call of a notebook function it made, bound to the function's
      parameters (``agent("…")`` gives ``{"question": "…"}``, traced function or not), else the
      outermost span its code made; the cell source only when the code made no span;
    - any other trace: the root span.
    Outputs are JSON (pydantic models through ``model_dump``, never a repr string)."""
    from mlflow_magics import content
    from mlflow_magics.compare import REQUEST_TAG

    spans = trace.data.spans
    if not spans:
        raise BadInput(
            f"Trace {trace.info.trace_id} has no spans loaded; records need the request's "
            "inputs (search with spans, or pass trace ids)."
        )
    span = content.entry_span(spans)
    tagged = (trace.info.tags or {}).get(REQUEST_TAG)
    inputs = None
    if tagged and not tagged.startswith("sha256:"):
        try:
            inputs = json.loads(tagged)
        except ValueError:
            inputs = None
    if inputs is None:
        inputs = content.cell_request(span)
    if inputs is None:
        inputs = span.inputs if span.inputs is not None else {}
    outputs = span.outputs
    json_outputs = content.jsonable(outputs)
    return content.as_kwargs(inputs), json_outputs if json_outputs is not None else outputs


def records_from_traces(traces: Iterable[Any]) -> list[dict[str, Any]]:
    """Dataset records from traces with spans (see :func:`record_from_trace`)."""
    return [record_from_trace(trace) for trace in traces]


def unfinished(trace: Any) -> str | None:
    """Why a trace can't be a record (a span never ended, so its response is unknown)."""
    state = getattr(getattr(trace.info, "state", None), "value", None)
    if state == "IN_PROGRESS":
        return "never ended (its root span was never closed)"
    for span in trace.data.spans:
        if span.start_time_ns and not span.end_time_ns:
            return f"span {span.name!r} never ended"
    return None


def trace_ids_from(value: Any) -> list[str]:
    """Trace ids from what ``--traces VAR`` names: a trace table (its selection, else every
    trace it matches), a DataFrame from ``mlflow.search_traces``, or a list of ids."""
    if hasattr(value, "selected") and hasattr(value, "all_trace_ids"):
        ids = list(value.selected) or list(value.all_trace_ids())
    elif hasattr(value, "columns") and hasattr(value, "__getitem__"):
        if "trace_id" not in value.columns:
            raise BadInput(
                "The DataFrame has no trace_id column; pass one from `mlflow.search_traces()`."
            )
        ids = [str(i) for i in value["trace_id"]]
    elif isinstance(value, str):
        ids = [value]
    elif isinstance(value, Iterable):
        ids = [
            getattr(v, "trace_id", None) or getattr(getattr(v, "info", None), "trace_id", v)
            for v in value
        ]
        ids = [str(i) for i in ids]
    else:
        raise BadInput(
            f"--traces takes a trace table, a DataFrame from mlflow.search_traces or a list of "
            f"trace ids, not {type(value).__name__!r}."
        )
    from mlflow_magics.traces import check_trace_id

    ids = list(dict.fromkeys(check_trace_id(i) for i in ids))
    if not ids:
        raise BadInput("No traces to add: the selection is empty and nothing matched.")
    return ids


def search_traces(client, filter_string: str | None, last: str | None, max_results: int | None):
    """The active experiment's traces, with spans, matching ``--from FILTER [--last D]
    [--max N]``, newest first. One search with spans: reading ids first and spans by id
    after costs a third more."""
    import time

    from mlflow_magics.trace_search import (
        DEFAULT_ORDER,
        TraceQuery,
        _where,
        build_filter,
        bulk_page_size,
        experiment_ids,
        search_ids,
    )

    where = build_filter(TraceQuery(filter=filter_string, last=last), int(time.time() * 1000))
    exps = experiment_ids(client, None)
    # One id first: a filter MLflow rejects becomes trace_search's one sentence.
    if not search_ids(client, exps, where, None, 1)[0]:
        raise BadInput(f"No traces match {where or 'the experiment'}; nothing to add.")
    traces: list[Any] = []
    token = None
    while True:
        size = bulk_page_size(client)
        if max_results is not None:
            size = min(size, max_results - len(traces))
            if size <= 0:
                break
        page = client.search_traces(
            **_where(client, exps),
            filter_string=where,
            max_results=size,
            order_by=list(DEFAULT_ORDER),
            page_token=token,
            include_spans=True,
        )
        traces.extend(page)
        token = getattr(page, "token", None)
        if not token or not page:
            break
    return traces


def load_traces(client, trace_ids: list[str]) -> list[Any]:
    """The traces with their spans, in ``trace_ids`` order, in batches where MLflow can,
    after this kernel's queued traces are in the store."""
    from mlflow_magics.traces import fresh

    if trace_ids:
        fresh()
    # MlflowClient has no public batch read; its tracing client does (MLflow >= 3.6).
    batch = getattr(getattr(client, "_tracing_client", None), "batch_get_traces", None)
    found: dict[str, Any] = {}
    for start in range(0, len(trace_ids), TRACE_BATCH):
        chunk = trace_ids[start : start + TRACE_BATCH]
        if batch is not None:
            found.update((t.info.trace_id, t) for t in batch(chunk) or [])
        else:
            from mlflow_magics.traces import get_trace

            found.update((i, get_trace(client, i)) for i in chunk)
    missing = [i for i in trace_ids if i not in found]
    if missing:
        raise BadInput(
            f"{len(missing)} of the traces are not in {client.tracking_uri} (first: "
            f"{missing[0]}); `%mlflow connect` to the store that has them."
        )
    return [found[i] for i in trace_ids]


# -- creating and adding -----------------------------------------------------------------


def add_traces(client, name: str, traces: list[Any], create: bool | None = None) -> MergeResult:
    """Add ``traces`` (trace ids, or traces with spans) to dataset ``name``: ``create=True``
    makes a new dataset (refusing an existing name), ``False`` needs it to exist, ``None``
    creates it if missing. Traces already in the dataset (by source trace id, or by identical
    inputs) are counted, not merged."""
    name = check_name(name, client.tracking_uri)
    entity = _find_entity(client, name)
    if create and entity is not None:
        raise BadInput(
            f"Dataset {name!r} already exists; `%mlflow dataset add {name} …` adds to it."
        )
    if create is False and entity is None:
        find_dataset(client, name)  # raises with a did-you-mean
    created = entity is None
    if created:
        from mlflow.tracking.fluent import _get_experiment_id

        experiment = _get_experiment_id()
        entity = client.create_dataset(
            name=name, experiment_id=[experiment] if experiment else None
        )
    from mlflow.genai.datasets import EvaluationDataset

    dataset = EvaluationDataset(entity)
    present_ids, present_inputs = set(), set()
    present_by_key: dict[str, str] = {}
    if not created:
        for record in read_records(dataset):
            if record.source_trace:
                present_ids.add(record.source_trace)
            key = _inputs_hash(record.inputs)
            present_inputs.add(key)
            present_by_key.setdefault(key, record.record_id)
    trace_ids = [t if isinstance(t, str) else t.info.trace_id for t in traces]
    new = [t for t, i in zip(traces, trace_ids, strict=True) if i not in present_ids]
    ids_to_load = [t for t in new if isinstance(t, str)]
    loaded = dict(zip(ids_to_load, load_traces(client, ids_to_load), strict=True))
    new = [loaded[t] if isinstance(t, str) else t for t in new]
    records, same_inputs, skipped = [], 0, []
    for trace in new:
        trace_id = trace.info.trace_id
        why = unfinished(trace)
        if why:
            skipped.append((trace_id, f"trace {trace_id} {why}"))
            continue
        record = record_from_trace(trace)
        key = _inputs_hash(record["inputs"])
        if key in present_inputs:
            same_inputs += 1
            twin = present_by_key.get(key, "")
            skipped.append((trace_id, f"trace {trace_id} has the same inputs as record {twin}"))
            continue
        present_inputs.add(key)
        present_by_key[key] = f"from trace {trace_id}"
        records.append(record)
    if records:
        dataset.merge_records(records)
    return MergeResult(
        name=name,
        dataset_id=dataset.dataset_id,
        added=len(records),
        already_present=len(trace_ids) - len(records),
        created=created,
        same_inputs=same_inputs,
        trace_ids=tuple(trace_ids),
        skipped=tuple(skipped),
    )


def _inputs_hash(inputs: Any) -> str:
    # The same key MLflow's store dedupes records on.
    text = json.dumps(inputs if inputs is not None else {}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


# -- reading and curating ----------------------------------------------------------------


def read_records(dataset) -> list[Record]:
    """The dataset's records, oldest first (re-read from the store)."""
    # MLflow's wrapper hides `records`; the entity under it has them (local and server stores).
    entity = getattr(dataset, "_mlflow_dataset", None) or dataset
    entity._records = None  # MLflow caches records on the object; a view wants the store's
    out = []
    for r in entity.records:
        expectations = {k: v for k, v in (r.expectations or {}).items() if v is not None}
        outputs = r.outputs
        source_type = getattr(r, "source_type", None)
        out.append(
            Record(
                record_id=r.dataset_record_id,
                inputs=r.inputs,
                outputs=outputs,
                expectations=expectations,
                source_trace=r.source_id if source_type in (None, "TRACE") else None,
                source_type=source_type,
                created_ms=r.created_time,
            )
        )
    return out


def expectations_from(
    expected_response: Any = None,
    expected_facts: Iterable[str] | str | None = None,
    guidelines: Iterable[str] | str | None = None,
) -> dict[str, Any]:
    """The expectations to write: given fields only; an empty value clears that field."""
    out: dict[str, Any] = {}
    if expected_response is not None:
        out["expected_response"] = expected_response if expected_response != "" else None
    for key, value in (("expected_facts", expected_facts), ("guidelines", guidelines)):
        if value is None:
            continue
        if isinstance(value, str):
            value = value.splitlines()
        items = [str(v).strip() for v in value if str(v).strip()]
        out[key] = items or None
    return out


def set_expectations(dataset, record_id: str, **fields: Any) -> Record:
    """Write ``expected_response`` / ``expected_facts`` / ``guidelines`` on one record (by id);
    fields not given are left as they are. Returns the record as stored."""
    unknown = set(fields) - set(EXPECTATION_FIELDS)
    if unknown:
        raise BadInput(
            f"Unknown expectation {sorted(unknown)[0]!r}; use {', '.join(EXPECTATION_FIELDS)}."
        )
    updates = expectations_from(**fields)
    write_expectations(dataset, {record_id: updates})
    for record in read_records(dataset):
        if record.record_id == record_id:
            return record
    raise BadInput(f"Record {record_id} vanished while saving; re-open the dataset.")


def write_expectations(dataset, updates: dict[str, dict[str, Any]]) -> int:
    """Merge expectation updates keyed by record id in one write; returns records updated.

    MLflow has no update-by-id: a record is upserted by its inputs, so each update is sent
    with its record's inputs (and without ``outputs``, which a merge would overwrite)."""
    by_id = {r.record_id: r for r in read_records(dataset)}
    missing = [k for k in updates if k not in by_id]
    if missing:
        raise BadInput(
            f"No record {missing[0]!r} in dataset {dataset.name!r}; ids are in "
            "`ds.to_pandas()['record_id']`."
        )
    rows = [
        {"inputs": by_id[rid].inputs, "expectations": exp} for rid, exp in updates.items() if exp
    ]
    if rows:
        dataset.merge_records(rows)
    return len(rows)


def import_expectations(dataset, frame) -> int:
    """Bulk expectations from a DataFrame keyed by ``record_id`` or ``source_trace_id``
    (``trace_id`` also works), with any of the columns expected_response, expected_facts
    (a list, or one fact per line), guidelines. Returns how many records were updated."""
    columns = [c for c in EXPECTATION_FIELDS if c in frame.columns]
    if not columns:
        raise BadInput(f"The DataFrame has none of the columns {', '.join(EXPECTATION_FIELDS)}.")
    records = read_records(dataset)
    if "record_id" in frame.columns:
        key, index = "record_id", {r.record_id: r.record_id for r in records}
    else:
        key = next((c for c in ("source_trace_id", "trace_id") if c in frame.columns), None)
        if key is None:
            raise BadInput("Key the DataFrame by a record_id or a source_trace_id column.")
        index = {r.source_trace: r.record_id for r in records if r.source_trace}
    updates: dict[str, dict[str, Any]] = {}
    unknown = []
    for row in frame.to_dict("records"):
        rid = index.get(str(row[key]))
        if rid is None:
            unknown.append(str(row[key]))
            continue
        values = {c: _cell(row[c]) for c in columns}
        updates[rid] = expectations_from(**{k: v for k, v in values.items() if v is not None})
    if unknown:
        raise BadInput(
            f"{len(unknown)} {key} value(s) match no record of dataset {dataset.name!r} "
            f"(first: {unknown[0]!r}); nothing was imported."
        )
    return write_expectations(dataset, updates)


def _cell(value: Any) -> Any:
    """A DataFrame cell: NaN/None mean "leave as is"."""
    if value is None:
        return None
    if isinstance(value, float) and value != value:
        return None
    if hasattr(value, "tolist"):
        return value.tolist()
    return value
