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

Creating is all or nothing: records are built before the dataset is made, and a write that
fails removes the just-made dataset (a dataset left empty by a create that could not clean up
is taken over by the next create of that name). MLflow has no unique dataset names, so two
kernels creating the same name at once would make two; after creating, :func:`add_traces`
looks again and the oldest dataset of that name (earliest create time, then lowest id) wins:
a kernel that made a younger one deletes it and adds its records to the winner, deduplicated
like any add, and says so.

Expectation edits (:func:`save_edits`) write only the fields given; a record whose
expectations changed in the store since the caller read them (its :attr:`Record.version`)
is refused with an :class:`EditConflict` that carries the current values, unless the caller
asks to overwrite or merge. A cleared field removes that expectation: MLflow merges
expectations key by key and refuses a None expectation at evaluation, so a record losing a
key is rewritten (deleted and added again with the same inputs, outputs, source and tags).

No IPython and no display here; a user mistake raises :class:`~mlflow_magics.errors.BadInput`.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import time
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
#: Record tag keeping a rewritten record's first create time, so it keeps its place.
ORDER_TAG = "mlflow_magics.created_ms"
#: How often a write that met another writer's (same inputs, a locked SQLite file) is retried.
WRITE_ATTEMPTS = 4


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
    #: Digest of the record's expectations as stored: an edit based on another is refused.
    version: str = ""


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
    #: Another kernel created the same name at the same moment; this call added to its dataset.
    joined: bool = False

    def sentence(self) -> str:
        """``3 added, 1 skipped: same inputs as record X`` plus where."""
        what = "Created" if self.created else "Dataset"
        if self.joined:
            what = "Dataset"
        present = self.already_present - len(self.skipped)
        parts = [f"{self.added} added", f"{present} already present"]
        if self.skipped:
            reasons = list(dict.fromkeys(reason for _, reason in self.skipped))
            shown = "; ".join(reasons[:3])
            more = f"; and {len(reasons) - 3} more" if len(reasons) > 3 else ""
            parts.append(f"{len(self.skipped)} skipped: {shown}{more}")
        joined = " (another kernel created it at the same moment; added to it)" * self.joined
        return f"{what} {self.name!r}{joined}: {', '.join(parts)}."


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
    return DatasetSummary(
        dataset_id=entity.dataset_id,
        name=entity.name,
        records=_record_count(entity),
        created_ms=entity.created_time,
        updated_ms=entity.last_update_time,
    )


def find_dataset(client, name: str):
    """MLflow's ``EvaluationDataset`` named ``name`` (the oldest, if several share it: the
    one every kernel agrees is that name's, see :func:`add_traces`)."""
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
    return _winner(_entities_named(client, name))


def _entities_named(client, name: str) -> list[Any]:
    """Every dataset called exactly ``name``, oldest first."""
    from mlflow_magics.trace_search import quote_value

    out: list[Any] = []
    token = None
    while True:
        page = client.search_datasets(
            filter_string=f"name = {quote_value(name)}",
            max_results=100,
            order_by=["created_time ASC"],
            page_token=token,
        )
        out.extend(d for d in page if d.name == name)
        token = getattr(page, "token", None)
        if not token or not page:
            return out


def _winner(entities: list[Any]):
    """The dataset a name belongs to when several share it: the earliest created, then the
    lowest id (a total order, so every kernel picks the same one)."""
    if not entities:
        return None
    return min(entities, key=lambda d: (d.created_time or 0, d.dataset_id))


def _record_count(entity) -> int:
    profile = entity.profile
    if isinstance(profile, str):
        try:
            profile = json.loads(profile)
        except ValueError:
            profile = None
    return int((profile or {}).get("num_records", 0) or 0) if isinstance(profile, dict) else 0


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


@dataclass
class _Present:
    """What a dataset holds, for deduplicating: source trace ids and inputs digests."""

    ids: set[str] = field(default_factory=set)
    by_key: dict[str, str] = field(default_factory=dict)


def _present(dataset) -> _Present:
    present = _Present()
    for record in read_records(dataset):
        if record.source_trace:
            present.ids.add(record.source_trace)
        present.by_key.setdefault(_inputs_hash(record.inputs), record.record_id)
    return present


def _select(candidates: list[tuple[str, dict[str, Any]]], present: _Present):
    """The candidate records a dataset does not hold yet (by source trace, then by inputs),
    and the skipped ones with why."""
    records, skipped, same_inputs = [], [], 0
    keys = dict(present.by_key)
    for trace_id, record in candidates:
        if trace_id in present.ids:
            continue
        key = _inputs_hash(record["inputs"])
        if key in keys:
            same_inputs += 1
            skipped.append(
                (trace_id, f"trace {trace_id} has the same inputs as record {keys[key]}")
            )
            continue
        keys[key] = f"from trace {trace_id}"
        records.append(record)
    return records, skipped, same_inputs


def add_traces(client, name: str, traces: list[Any], create: bool | None = None) -> MergeResult:
    """Add ``traces`` (trace ids, or traces with spans) to dataset ``name``: ``create=True``
    makes a new dataset (refusing a name that holds records), ``False`` needs it to exist,
    ``None`` creates it if missing. Traces already in the dataset (by source trace id, or by
    identical inputs) are counted, not merged.

    All or nothing: every record is built before anything is written, and a dataset this call
    made is removed again if its records cannot be written (one :class:`BadInput` sentence).
    Racing another kernel's create of the same name ends with one dataset (see the module
    docstring)."""
    name = check_name(name, client.tracking_uri)
    entity = _find_entity(client, name)
    if create and entity is not None and _record_count(entity):
        raise BadInput(
            f"Dataset {name!r} already exists; `%mlflow dataset add {name} …` adds to it."
        )
    if create is False and entity is None:
        find_dataset(client, name)  # raises with a did-you-mean
    from mlflow.genai.datasets import EvaluationDataset

    present = _present(EvaluationDataset(entity)) if entity is not None else _Present()
    trace_ids = [t if isinstance(t, str) else t.info.trace_id for t in traces]
    new = [t for t, i in zip(traces, trace_ids, strict=True) if i not in present.ids]
    ids_to_load = [t for t in new if isinstance(t, str)]
    loaded = dict(zip(ids_to_load, load_traces(client, ids_to_load), strict=True))
    candidates, unfinished_skips = [], []
    for trace in (loaded[t] if isinstance(t, str) else t for t in new):
        trace_id = trace.info.trace_id
        why = unfinished(trace)
        if why:
            unfinished_skips.append((trace_id, f"trace {trace_id} {why}"))
            continue
        candidates.append((trace_id, record_from_trace(trace)))
    if entity is None:
        outcome = _create_and_write(client, name, candidates)
    else:
        dataset = EvaluationDataset(entity)
        records = _write(dataset, candidates, present, name, created=False)
        outcome = (dataset, records, False, False)
    dataset, (records, skipped, same_inputs), created, joined = outcome
    return MergeResult(
        name=name,
        dataset_id=dataset.dataset_id,
        added=len(records),
        already_present=len(trace_ids) - len(records),
        created=created,
        same_inputs=same_inputs,
        trace_ids=tuple(trace_ids),
        skipped=tuple(unfinished_skips + skipped),
        joined=joined,
    )


def _create_and_write(client, name: str, candidates):
    """Make dataset ``name`` and write ``candidates`` into it, or into the dataset of that
    name another kernel made at the same moment; nothing is left behind on failure."""
    from mlflow.genai.datasets import EvaluationDataset
    from mlflow.tracking.fluent import _get_experiment_id

    experiment = _get_experiment_id()
    try:
        mine = client.create_dataset(name=name, experiment_id=[experiment] if experiment else None)
    except Exception as e:
        from mlflow_magics.connection import transport_failure

        if transport_failure(e) is None:
            raise
        # The store may have made it before failing: empty, and the next create takes it over.
        raise BadInput(
            f"Could not create dataset {name!r} ({_reason(e)}); nothing was written, and the "
            "same command can be run again once the store answers."
        ) from e
    owned = True  # ours to remove on failure
    try:
        winner = _winner([*_entities_named(client, name), mine])
        if winner.dataset_id != mine.dataset_id:
            # Lost the race before writing anything: drop ours, add to the winner's.
            client.delete_dataset(mine.dataset_id)
            owned = False
            target = EvaluationDataset(winner)
            done = _write(target, candidates, _present(target), name, created=False)
            return target, done, False, True
        dataset = EvaluationDataset(mine)
        done = _write(dataset, candidates, _Present(), name, created=True)
        # A create of the same millisecond can sort before ours only after we looked: look
        # once more now that ours is written, and move to the winner if it is not ours.
        winner = _winner([*_entities_named(client, name), mine])
        if winner.dataset_id != mine.dataset_id:
            target = EvaluationDataset(winner)
            done = _write(target, candidates, _present(target), name, created=False)
            client.delete_dataset(mine.dataset_id)
            return target, done, False, True
        return dataset, done, True, False
    except BaseException as e:
        left = _discard(client, mine.dataset_id) if owned else ""
        if not isinstance(e, Exception):  # an interrupt: cleaned up, then as it was
            raise
        if isinstance(e, BadInput):
            raise BadInput(f"{str(e).rstrip('.')}{left}.") from e
        raise BadInput(
            f"Could not write the {len(candidates)} records of new dataset {name!r} "
            f"({_reason(e)}){left}; the same command can be run again."
        ) from e


def _discard(client, dataset_id: str) -> str:
    """Remove a dataset this call made, unless records reached it (another kernel's: they
    are not ours to drop); what happened, as the end of a sentence."""
    try:
        entity = client.get_dataset(dataset_id)
        if _record_count(entity):
            return ", and the dataset was kept: it holds records another kernel added"
        client.delete_dataset(dataset_id)
        return ", so nothing was kept"
    except Exception as e:
        return (
            f"; its empty dataset could not be removed ({_reason(e)}) and the next create of "
            "that name fills it"
        )


def _write(dataset, candidates, present: _Present, name: str, created: bool):
    """Merge the candidates ``dataset`` does not hold in one write; a write that met another
    kernel writing the same dataset is retried against what the dataset holds then.
    Returns ``(records written, skipped, same_inputs)``."""
    selected = _select(candidates, present)
    _check_outputs_fit(dataset, selected[0], name)
    for attempt in range(WRITE_ATTEMPTS):
        records = selected[0]
        if not records:
            return selected
        try:
            dataset.merge_records(_schema_order(records))
            return selected
        except Exception as e:
            if attempt == WRITE_ATTEMPTS - 1 or not _met_another_writer(e):
                if created:
                    raise
                raise BadInput(
                    f"Could not add the {len(records)} records to dataset {name!r} "
                    f"({_reason(e)}); nothing was added, and the same command can be run again."
                ) from e
        time.sleep(0.1 * (attempt + 1))
        selected = _select(candidates, _present(dataset))
    return selected  # pragma: no cover - the loop returns or raises


def _schema_order(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records with object outputs first. MLflow's store infers the dataset's output schema
    record by record and fails ("'str' object does not support item assignment") when an
    object output follows a text one; the other way round it takes both."""
    return sorted(records, key=lambda r: not (isinstance(r.get("outputs"), dict) and r["outputs"]))


def _check_outputs_fit(dataset, records: list[dict[str, Any]], name: str) -> None:
    """Refuse, before writing, object outputs for a dataset whose stored schema says its
    outputs are text (or numbers, lists): MLflow's store cannot take them (see
    :func:`_schema_order`); within one write, ordering makes mixed outputs fit."""
    objects = sum(1 for r in records if isinstance(r.get("outputs"), dict) and r["outputs"])
    if not objects:
        return
    try:
        stored = json.loads(getattr(dataset, "schema", None) or "{}").get("outputs")
    except (ValueError, AttributeError):
        return
    if isinstance(stored, str):
        raise BadInput(
            f"Dataset {name!r} holds {stored} outputs and {objects} of these traces return "
            "objects, which MLflow cannot add to it; nothing was added: put them in a dataset "
            f"of their own, e.g. `%mlflow dataset create {name}-objects …`."
        )


def _met_another_writer(error: BaseException) -> bool:
    """Whether a failed write collided with another writer (the same inputs inserted at the
    same moment, or SQLite's file lock), so trying again against the new state can work."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = f"{type(current).__name__} {current}".lower()
        if any(
            marker in text
            for marker in ("unique", "duplicate key", "integrityerror", "database is locked")
        ):
            return True
        current = current.__cause__ or current.__context__
    return False


def _reason(e: BaseException) -> str:
    from mlflow_magics.connection import transport_failure

    failure = transport_failure(e)
    if failure:
        return f"the store did not answer: {failure}"
    text = str(getattr(e, "message", None) or e).strip().splitlines()
    return (f"{type(e).__name__}: {text[0] if text else ''}")[:200]


def _inputs_hash(inputs: Any) -> str:
    # The same key MLflow's store dedupes records on.
    text = json.dumps(inputs if inputs is not None else {}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


# -- reading and curating ----------------------------------------------------------------


def _raw_records(dataset) -> list[Any]:
    # MLflow's wrapper hides `records`; the entity under it has them (local and server stores).
    entity = getattr(dataset, "_mlflow_dataset", None) or dataset
    entity._records = None  # MLflow caches records on the object; a view wants the store's
    return sorted(entity.records, key=_first_created)


def _first_created(r) -> tuple[int, str]:
    # A record rewritten to drop an expectation keeps the place of its first creation:
    # ORDER_TAG holds "<created ms> <record id>" of the record it replaced.
    kept = str((r.tags or {}).get(ORDER_TAG) or "").split(" ", 1)
    if len(kept) == 2 and kept[0].isdigit():
        return int(kept[0]), kept[1]
    return r.created_time or 0, r.dataset_record_id or ""


def version_of(expectations: dict[str, Any] | None) -> str:
    """A short digest of a record's expectations as stored (None values included): what an
    edit is based on."""
    text = json.dumps(expectations or {}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _record(r) -> Record:
    source_type = getattr(r, "source_type", None)
    return Record(
        record_id=r.dataset_record_id,
        inputs=r.inputs,
        outputs=r.outputs,
        expectations={k: v for k, v in (r.expectations or {}).items() if v is not None},
        source_trace=r.source_id if source_type in (None, "TRACE") else None,
        source_type=source_type,
        created_ms=_first_created(r)[0] or None,
        version=version_of(r.expectations),
    )


def read_records(dataset) -> list[Record]:
    """The dataset's records, oldest first (re-read from the store)."""
    return [_record(r) for r in _raw_records(dataset)]


def editable_values(record: Record) -> dict[str, Any]:
    """The record's edited expectations as the grid shows them: the expected response as
    text, facts and guidelines as lists of lines."""
    exp = record.expectations
    response = exp.get("expected_response")
    return {
        "expected_response": ""
        if response is None
        else response
        if isinstance(response, str)
        else json.dumps(response, default=str),
        "expected_facts": _as_lines(exp.get("expected_facts")),
        "guidelines": _as_lines(exp.get("guidelines")),
    }


def _as_lines(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [json.dumps(value, default=str)]


def expectations_from(
    expected_response: Any = None,
    expected_facts: Iterable[str] | str | None = None,
    guidelines: Iterable[str] | str | None = None,
) -> dict[str, Any]:
    """The expectations to write: given fields only; an empty value (``""``, ``[]``) is None
    here, which :func:`write_expectations` takes to mean "remove that expectation"."""
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


class EditConflict(BadInput):
    """An edit refused because its record changed in the store since the edit's base was
    read. ``current`` is the record as stored now; ``fields`` the edit; ``drawn`` the values
    it was based on (:func:`editable_values` form)."""

    def __init__(self, record_id: str, current: Record, fields: dict, drawn: dict) -> None:
        self.record_id = record_id
        self.current = current
        self.fields = dict(fields)
        self.drawn = dict(drawn)
        now = editable_values(current)
        shown = (
            "; ".join(
                f"{k} now {_short(now[k])}"
                for k in self.fields
                if k in now and now[k] != drawn.get(k)
            )
            or "its other expectations changed"
        )
        super().__init__(
            f"Record {record_id} changed in the store since it was read ({shown}); nothing was "
            "saved: save again with on_conflict='overwrite' or on_conflict='merge'."
        )


def _short(value: Any, cap: int = 80) -> str:
    # ASCII JSON: control and bidi characters arrive escaped in a one-line message.
    text = json.dumps(value, default=str)
    return text if len(text) <= cap else text[: cap - 1] + "…"


def merge_fields(drawn: dict[str, Any], mine: dict[str, Any], now: dict[str, Any]) -> dict:
    """A three-way merge of an edit (``mine``, based on ``drawn``) with the store's values
    ``now`` (all in :func:`editable_values` form): facts and guidelines keep what the store
    added and drop only what the edit removed; the expected response is the edit's (text has
    no line-wise merge, and the user has just seen both)."""
    out: dict[str, Any] = {}
    for key, value in mine.items():
        if key in ("expected_facts", "guidelines"):
            items = [
                str(v).strip()
                for v in (value.splitlines() if isinstance(value, str) else value or [])
            ]
            items = [v for v in items if v]
            base = list(drawn.get(key) or [])
            removed = {v for v in base if v not in items}
            merged = [v for v in (now.get(key) or []) if v not in removed]
            merged += [v for v in items if v not in merged and v not in base]
            out[key] = merged
        else:
            out[key] = value
    return out


@dataclass(frozen=True)
class Edit:
    """One record's edit: the fields changed, and what they were based on (the record's
    :attr:`Record.version` and :func:`editable_values` when read; None to skip the check)."""

    record_id: str
    fields: dict[str, Any]
    version: str | None = None
    drawn: dict[str, Any] | None = None
    inputs: Any = None


def save_edits(
    dataset, edits: list[Edit], on_conflict: str = "refuse"
) -> tuple[dict[str, Record], dict[str, EditConflict]]:
    """Write expectation edits in one pass: each writes only its fields; an edit whose record
    changed since its version was read is, by ``on_conflict``, refused (an
    :class:`EditConflict` in the second dict), written over the store's values
    (``"overwrite"``) or merged with them (``"merge"``, see :func:`merge_fields`). Returns
    ``({record id edited: record as stored}, {record id: conflict})``; a record rewritten to
    drop an expectation has a new id (its inputs are the same)."""
    if on_conflict not in ("refuse", "overwrite", "merge"):
        raise BadInput(f"on_conflict is 'refuse', 'overwrite' or 'merge', not {on_conflict!r}.")
    for edit in edits:
        unknown = set(edit.fields) - set(EXPECTATION_FIELDS)
        if unknown:
            raise BadInput(
                f"Unknown expectation {sorted(unknown)[0]!r}; use {', '.join(EXPECTATION_FIELDS)}."
            )
    raw = _raw_records(dataset)
    by_id = {r.dataset_record_id: r for r in raw}
    by_inputs = {_inputs_hash(r.inputs): r for r in raw}
    updates: dict[str, dict[str, Any]] = {}
    keys: dict[str, str] = {}  # edited record id → inputs digest, to find it after writing
    conflicts: dict[str, EditConflict] = {}
    for edit in edits:
        stored = by_id.get(edit.record_id)
        if stored is None and edit.inputs is not None:
            stored = by_inputs.get(_inputs_hash(edit.inputs))  # rewritten since: same inputs
        if stored is None:
            raise BadInput(
                f"No record {edit.record_id!r} in dataset {dataset.name!r}; it was deleted, or "
                "ids are in `ds.to_pandas()['record_id']`."
            )
        current = _record(stored)
        fields = dict(edit.fields)
        changed = edit.version is not None and (
            current.version != edit.version or current.record_id != edit.record_id
        )
        if changed:
            drawn = edit.drawn if edit.drawn is not None else editable_values(current)
            if on_conflict == "refuse":
                conflicts[edit.record_id] = EditConflict(edit.record_id, current, fields, drawn)
                continue
            if on_conflict == "merge":
                fields = merge_fields(drawn, fields, editable_values(current))
        updates[current.record_id] = expectations_from(**fields)
        keys[edit.record_id] = _inputs_hash(current.inputs)
    _write_updates(dataset, {rid: by_id[rid] for rid in updates}, updates)
    after = {_inputs_hash(r.inputs): r for r in _raw_records(dataset)} if updates else {}
    saved = {rid: _record(after[key]) for rid, key in keys.items() if key in after}
    return saved, conflicts


def set_expectations(dataset, record_id: str, **fields: Any) -> Record:
    """Write ``expected_response`` / ``expected_facts`` / ``guidelines`` on one record (by id);
    fields not given are left as they are, an empty one removes that expectation. Returns the
    record as stored (see :func:`save_edits` for edits checked against what was read)."""
    saved, _ = save_edits(dataset, [Edit(record_id, fields)])
    if record_id in saved:
        return saved[record_id]
    raise BadInput(f"Record {record_id} vanished while saving; re-open the dataset.")


def write_expectations(dataset, updates: dict[str, dict[str, Any]]) -> int:
    """Write expectation updates keyed by record id (None values remove that expectation);
    returns records updated. Unchecked: :func:`save_edits` checks what an edit was based on."""
    raw = _raw_records(dataset)
    by_id = {r.dataset_record_id: r for r in raw}
    missing = [k for k in updates if k not in by_id]
    if missing:
        raise BadInput(
            f"No record {missing[0]!r} in dataset {dataset.name!r}; ids are in "
            "`ds.to_pandas()['record_id']`."
        )
    return _write_updates(dataset, {rid: by_id[rid] for rid in updates}, updates)


def _write_updates(dataset, stored: dict[str, Any], updates: dict[str, dict[str, Any]]) -> int:
    """Merge the updates whose records keep every expectation key in one write; rewrite the
    records that lose a key (a cleared field, or a None an older save left), since MLflow
    merges expectations key by key and cannot drop one. Returns records changed."""
    merges, rewrites = [], []
    for rid, update in updates.items():
        record = stored[rid]
        now = dict(record.expectations or {})
        wanted = {k: v for k, v in {**now, **update}.items() if v is not None}
        if wanted == now:
            continue
        if set(now) - set(wanted):
            rewrites.append((record, wanted))
        else:
            delta = {k: v for k, v in wanted.items() if now.get(k) != v}
            merges.append({"inputs": record.inputs, "expectations": delta})
    if rewrites and not hasattr(dataset, "delete_records"):
        import mlflow

        raise BadInput(
            f"MLflow {mlflow.__version__} cannot remove an expectation from a record (its "
            "datasets have no delete_records), so nothing was saved; keep the field's value, "
            "or upgrade MLflow to clear it."
        )
    if merges:
        dataset.merge_records(merges)
    for record, wanted in rewrites:
        _rewrite(dataset, record, wanted)
    return len(merges) + len(rewrites)


class RecordHeld(Exception):
    """A record rewritten to drop an expectation was deleted but could not be added back:
    :attr:`row` is the whole record, for :func:`restore_record` once the store answers."""

    def __init__(self, row: dict[str, Any], reason: str) -> None:
        self.row = row
        super().__init__(
            f"record with inputs {_short(row['inputs'])} is out of the store until it is "
            f"written back ({reason})"
        )


def _rewrite(dataset, record, expectations: dict[str, Any]) -> None:
    source = getattr(record, "source", None)
    row: dict[str, Any] = {
        "inputs": record.inputs,
        "expectations": expectations,
        "tags": {**(record.tags or {}), ORDER_TAG: "{} {}".format(*_first_created(record))},
    }
    if source is not None:
        row["source"] = source.to_dict() if hasattr(source, "to_dict") else source
    if record.outputs is not None:
        row["outputs"] = record.outputs
    dataset.delete_records([record.dataset_record_id])
    restore_record(dataset, row)


def restore_record(dataset, row: dict[str, Any]) -> None:
    """Write back a record :func:`_rewrite` took out, trying a few times before giving up
    with :class:`RecordHeld` (the row kept, nothing lost)."""
    for attempt in range(WRITE_ATTEMPTS):
        try:
            dataset.merge_records([dict(row, tags=dict(row.get("tags") or {}))])
            return
        except Exception as e:
            if attempt == WRITE_ATTEMPTS - 1:
                raise RecordHeld(row, _reason(e)) from e
            time.sleep(0.2 * (attempt + 1))


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
