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

/**
 * Dollars, always as a plain decimal (never "4.8e-6"): under $1 two significant digits with
 * trailing zeros dropped, as Python's "{:.2g}" would but without its exponent ("$0.0000048",
 * "$0.001", "$0.012", "$0.53", "$0.1"); from $1 two decimals ("$1.23", "$1,234.50"); 0 → "$0".
 * mlflow_magics formats costs by the same rule.
 * @param {number} usd
 */
export function cost(usd) {
  if (!usd || !Number.isFinite(usd)) return "$0";
  const sign = usd < 0 ? "-" : "";
  const x = Math.abs(usd);
  const two = x.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  let s = x.toPrecision(2); // "0.012", "0.53", "1.0" (0.999 rounds up), or "4.8e-7"
  if (x >= 1 || Number(s) >= 1) return `${sign}$${two}`;
  const exp = s.indexOf("e");
  if (exp >= 0) s = `0.${"0".repeat(-Number(s.slice(exp + 1)) - 1)}${s.slice(0, exp).replace(".", "")}`;
  return `${sign}$${s.replace(/0+$/, "")}`;
}

/** Local wall-clock time, to the second: "2025-03-04 12:05:09" (as the Python tiers write it). @param {number} ms */
export function dateTime(ms) {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return "";
  const p = (/** @type {number} */ n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
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
