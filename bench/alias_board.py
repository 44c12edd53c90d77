"""The alias board of a prompt with 200 versions and 5 aliases, and an alias move, against the
raw MLflow calls.

The store: one prompt with ``--versions`` versions (default 200; multi-line templates with a
model config), 5 aliases set through the board's own moves (so the history tags a board
reads are there too), cached at ``/tmp/mlflow-magics-bench/alias-<N>.db`` (``--rebuild``
makes it anew). Every run starts from a fresh copy.

Measured (median of ``--repeat`` runs, default 5; runs alternate so drift hits both alike):

  draw  raw   search_prompt_versions (paged) + get_prompt_version per version for its aliases
              (the search does not return aliases): what it takes to know them from MLflow's
              public API
        ours  what `%mlflow prompts NAME` does: read_board (one entity read for every alias
              and the history, the version pages), then the AliasBoard's HTML, text and
              widget payload
  move  raw   MlflowClient.set_prompt_alias (it reads the version, then sets the alias)
        ours  the board's Confirm: stale check reading only this alias, version check
              against the board, then the recorded change: its history tag written as
              pending, one read of the tags (an earlier writer's pending move?), the store's
              set_prompt_alias, the alias read back, the tag marked done
        line  `%mlflow alias prompt NAME production N`: the same, with one read of the
              whole prompt (every alias, the history tags) as its stale check and one
              version read

Goals: drawing the board under 1 s on SQLite. A move was once held to 1.2x raw; since a move
writes its record before it happens and has one winner among racing writers (no move without
its record, no two boards both told they won), it costs four store calls more than the raw set:
about 3-4x, under 150 ms on SQLite, for a deliberate action.

Run:  .venv/bin/python bench/alias_board.py [--versions 200] [--repeat 5] [--rebuild]
"""

from __future__ import annotations

import argparse
import logging
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from _common import code_state

CACHE = Path("/tmp/mlflow-magics-bench")
PROMPT = "bench-qa"
ALIASES = ("production", "staging", "canary", "shadow", "rollback")
MOVES = 20


def build_store(path: Path, versions: int) -> None:
    import mlflow

    from mlflow_magics import registry

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".building.db")
    tmp.unlink(missing_ok=True)
    mlflow.set_tracking_uri(f"sqlite:///{tmp}")
    t0 = time.perf_counter()
    for n in range(1, versions + 1):
        mlflow.genai.register_prompt(
            PROMPT,
            template=(
                f"You are assistant revision {n}.\nAnswer the question in at most {n % 7 + 1} "
                "sentences.\nCite the document you used.\nQuestion: {{question}}\n"
                "Context: {{context}}"
            ),
            commit_message=f"revision {n}: tighter wording",
            model_config={"temperature": (n % 10) / 10, "max_tokens": 256 + n},
        )
    client = mlflow.MlflowClient()
    for i, alias in enumerate(ALIASES):
        registry.move_alias(client, "prompt", PROMPT, alias, versions - 10 * i - 1)
        registry.move_alias(client, "prompt", PROMPT, alias, versions - 10 * i)
    mlflow.set_tracking_uri(None)
    tmp.rename(path)
    print(f"built {versions} versions, {len(ALIASES)} aliases in {time.perf_counter() - t0:.0f} s")


def draw_raw(client) -> dict[int, list[str]]:
    aliases: dict[int, list[str]] = {}
    token = None
    numbers = []
    while True:
        page = client.search_prompt_versions(PROMPT, max_results=1000, page_token=token)
        numbers.extend(int(p.version) for p in page)
        token = page.token
        if not token:
            break
    for n in numbers:
        aliases[n] = client.get_prompt_version(PROMPT, n).aliases
    return aliases


def draw_ours(client):
    from mlflow_magics.views.alias_board import AliasBoard

    board = AliasBoard(client, "prompt", PROMPT)
    board.to_html()
    board.to_text()
    board.payload()
    return board


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    import mlflow

    from mlflow_magics import registry

    store = CACHE / f"alias-{args.versions}.db"
    if args.rebuild or not store.exists():
        build_store(store, args.versions)
    draw: dict[str, list[float]] = {"raw": [], "ours": []}
    move: dict[str, list[float]] = {"raw": [], "ours": [], "line": []}
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "alias.db"
        shutil.copy(store, copy)
        client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{copy}", registry_uri=None)
        board = draw_ours(client)  # warm both paths once (imports, connections)
        draw_raw(client)
        assert len(board.versions) == args.versions and len(board.aliases) == len(ALIASES)
        for i in range(args.repeat):
            for label in ("raw", "ours")[:: 1 if i % 2 == 0 else -1]:
                t0 = time.perf_counter()
                if label == "raw":
                    draw_raw(client)
                else:
                    draw_ours(client)
                draw[label].append(time.perf_counter() - t0)
        # Moves: the same alias back and forth between two versions, alternating raw / ours.
        top = args.versions
        board = registry.read_board(client, "prompt", PROMPT)
        history = [m.key for m in board.moves]
        at = board.aliases["production"]
        for i in range(args.repeat * MOVES):
            target = top - 50 if at == top else top
            label = ("raw", "ours", "line")[i % 3]
            t0 = time.perf_counter()
            if label == "raw":
                client.set_prompt_alias(PROMPT, "production", target)
            elif label == "ours":  # the board's Confirm
                done = registry.move_alias(
                    client,
                    "prompt",
                    PROMPT,
                    "production",
                    target,
                    expected=at,
                    versions=board.numbers,
                    history=history,
                )
                history.append(done.move.key)
            else:  # `%mlflow alias prompt NAME production N`
                registry.move_alias(client, "prompt", PROMPT, "production", target)
            move[label].append(time.perf_counter() - t0)
            at = target
    d_raw, d_ours = (statistics.median(draw[k]) for k in ("raw", "ours"))
    m_raw, m_ours, m_line = (statistics.median(move[k]) for k in ("raw", "ours", "line"))
    print(f"code: {code_state()}; mlflow {mlflow.__version__}; SQLite")
    print(f"prompt with {args.versions} versions, {len(ALIASES)} aliases, history tags present")
    print(
        f"draw  raw   search + get_prompt_version each   {d_raw * 1000:8.1f} ms (median of {args.repeat})"
    )
    print(
        f"draw  ours  %mlflow prompts NAME (3 tiers)       {d_ours * 1000:8.1f} ms  "
        f"ratio {d_ours / d_raw:.2f}x (goal: under 1 s)"
    )
    print(
        f"move  raw   set_prompt_alias                   {m_raw * 1000:8.1f} ms (median of {len(move['raw'])})"
    )
    print(
        f"move  ours  board Confirm (recorded, one winner) {m_ours * 1000:6.1f} ms  "
        f"ratio {m_ours / m_raw:.2f}x (under 150 ms)"
    )
    print(
        f"move  ours  %mlflow alias line (entity read)   {m_line * 1000:8.1f} ms  "
        f"ratio {m_line / m_raw:.2f}x"
    )


if __name__ == "__main__":
    main()
