// How numbers read in every view: durations, sizes, tokens, cost. The Python tiers format the
// same way (mlflow_magics/views/trace_view.py), so the widget and its HTML agree.

/**
 * A duration in milliseconds: "840 µs", "4.0 ms", "120 ms", "2.50 s", "3 m 05 s".
 * `whole`: the value came from a store that keeps whole milliseconds (trace infos), so anything
 * under 1 ms reads "<1 ms" instead of a precision it does not have.
 * @param {number | null | undefined} ms @param {{whole?: boolean, missing?: string}} [opts]
 */
export function duration(ms, { whole = false, missing = "?" } = {}) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return missing;
  if (whole && ms < 1) return "<1 ms";
  if (ms < 0.1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 1000) return ms < 100 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(2)} s`;
  const m = Math.floor(s / 60);
  return `${m} m ${String(Math.floor(s % 60)).padStart(2, "0")} s`;
}

/** A byte count: "512 B", "1.5 KB", "2.0 MB". @param {number} n */
export function size(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** Dollars: "$1.20", "$0.012", "$0.0011" (two significant digits below a cent). @param {number} usd */
export function cost(usd) {
  if (usd >= 1) return `$${usd.toFixed(2)}`;
  if (usd >= 0.01) return `$${usd.toFixed(3)}`;
  return usd ? `$${Number(usd.toPrecision(2))}` : "$0";
}

/**
 * Token usage: "1,234 tokens (in 1,000 / out 234)".
 * @param {{total_tokens?: number, input_tokens?: number, output_tokens?: number} | null | undefined} t
 */
export function tokens(t) {
  if (!t) return "";
  const values = /** @type {number[]} */ (Object.values(t));
  const total = t.total_tokens ?? values.reduce((a, b) => a + b, 0);
  let s = `${total.toLocaleString()} tokens`;
  if ("input_tokens" in t || "output_tokens" in t) {
    s += ` (in ${(t.input_tokens ?? 0).toLocaleString()} / out ${(t.output_tokens ?? 0).toLocaleString()})`;
  }
  return s;
}
