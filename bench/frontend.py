"""The widgets' front-end: bundle sizes, and how long the trace view takes to paint in a real
headless Chromium once its data is there (the moment the comm opens in a notebook).

Sizes come from ``mlflow_magics/static/manifest.json`` (written by the build): each bundle, and
how much of it is the shared ``widgets/lib/`` (counted once in the total).

Paint: the built ``trace_view.js`` and ``.css`` load into a blank page in Debian's Chromium
(Playwright), and ``render()`` runs on an anywidget-shaped model holding the trace payload the
kernel would sync. Timed from the call to ``render()`` to the end of the next frame (rows on
screen), median of ``--repeat`` runs, each on a fresh element. The ratio baseline is
``JSON.parse`` of the same payload: the least any view of that data must do once it arrives.

Run: ``python bench/frontend.py [--repeat 15]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from _common import code_state

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "mlflow_magics" / "static"
sys.path.insert(0, str(ROOT / "tests"))
from servers import CHROMIUM, CHROMIUM_ARGS  # noqa: E402 - the browser tier's own launch settings


def payload(n: int) -> dict:
    """A trace payload of ``n`` spans: an agent root, steps of LLM + tool calls, depth ≤ 4."""
    cols = {k: [] for k in ("id", "parent", "name", "type", "status", "start", "dur", "tokens")}

    def add(parent: int, name: str, kind: str, start: float, dur: float, tokens: int = 0) -> int:
        cols["id"].append(f"{len(cols['id']):016x}")
        cols["parent"].append(parent)
        cols["name"].append(name)
        cols["type"].append(kind)
        cols["status"].append("ERROR" if len(cols["id"]) % 211 == 0 else "OK")
        cols["start"].append(start)
        cols["dur"].append(dur)
        cols["tokens"].append(tokens)
        return len(cols["id"]) - 1

    add(-1, "agent", "AGENT", 0.0, float(n))
    step = 0
    while len(cols["id"]) < n:
        s = add(0, f"step {step}", "CHAIN", float(step), 1.0)
        for kind in ("LLM", "TOOL", "RETRIEVER"):
            if len(cols["id"]) < n:
                add(s, f"{kind.lower()} {step}", kind, step + 0.1, 0.5, 120 if kind == "LLM" else 0)
        step += 1
    return {
        "trace_id": "tr-bench",
        "name": "agent",
        "status": "OK",
        "duration_ms": float(n),
        "tokens": {"total_tokens": sum(cols["tokens"])},
        "cost": 0,
        "span_count": n,
        "spans": cols,
    }


MEASURE = """async ({code, css, data, repeat}) => {
  const style = document.createElement('style'); style.textContent = css; document.head.append(style);
  const url = URL.createObjectURL(new Blob([code], {type: 'text/javascript'}));
  const widget = (await import(url)).default;
  const text = JSON.stringify(data);
  const frame = () => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  const paint = [], parse = [];
  for (let k = 0; k < repeat; k++) {
    const t0 = performance.now(); JSON.parse(text); parse.push(performance.now() - t0);
    const state = {trace: JSON.parse(text), selected_span_id: '', _detail: {}, query: '',
                   span_type_filter: '', _matches: {}};
    const model = {get: k => state[k], set: (k, v) => { state[k] = v; }, save_changes() {},
                   send() {}, on() {}, off() {}};
    const el = document.createElement('div'); el.style.width = '1200px'; document.body.append(el);
    await frame();
    const t1 = performance.now();
    const cleanup = widget.render({model, el});
    await frame();
    paint.push(performance.now() - t1);
    if (!el.querySelector('.mlfm-row')) throw new Error('no rows painted');
    cleanup(); el.remove();
  }
  return {paint, parse, bytes: text.length};
}"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    manifest = json.loads((STATIC / "manifest.json").read_text())
    print(f"code: {code_state()}")
    print("\nbundles (minified; shared = widgets/lib/ code inside the bundle)")
    print(f"  {'bundle':<20} {'bytes':>8} {'shared':>8} {'own':>8}")
    own_total, shared = 0, {".js": 0, ".css": 0}
    for name, info in sorted(manifest["bundles"].items()):
        own = info["bytes"] - info["shared_bytes"]
        own_total += own
        ext = Path(name).suffix
        shared[ext] = max(shared[ext], info["shared_bytes"])
        print(f"  {name:<20} {info['bytes']:>8,} {info['shared_bytes']:>8,} {own:>8,}")
    total = own_total + sum(shared.values())
    print(f"  all bundles with the shared code counted once: {total:,} bytes")

    from playwright.sync_api import sync_playwright

    code = (STATIC / "trace_view.js").read_text()
    css = (STATIC / "trace_view.css").read_text()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_content("<!doctype html><html><body></body></html>")
        print(
            f"\ntrace view paint in Chromium, median of {args.repeat} (render() → rows on screen)"
        )
        print(f"  {'spans':>7} {'payload':>10} {'JSON.parse':>11} {'paint':>9} {'ratio':>7}")
        for n in (5, 1_000, 50_000):
            repeat = args.repeat if n < 50_000 else max(3, args.repeat // 3)
            r = page.evaluate(
                MEASURE, {"code": code, "css": css, "data": payload(n), "repeat": repeat}
            )
            paint, parse = statistics.median(r["paint"]), statistics.median(r["parse"])
            print(
                f"  {n:>7,} {r['bytes']:>9,}B {parse:>9.2f}ms {paint:>7.1f}ms {(f'{paint / parse:.1f}x' if parse >= 0.05 else '—'):>7}"
            )
        browser.close()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
