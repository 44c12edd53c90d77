// Bundle each widget entry (<name>/index.js, with the shared lib/ and its CSS) into
// mlflow_magics/static/<name>.js and <name>.css, and write manifest.json: the sha256 of every
// source that went in, so a test can tell a bundle older than its sources.
// Usage: node build.mjs [--watch]
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync, mkdirSync, readdirSync, existsSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "mlflow_magics", "static");
export const WIDGETS = readdirSync(here, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(here, d.name, "index.js")))
  .map((d) => d.name)
  .sort();

/** @type {esbuild.BuildOptions} */
const options = {
  entryPoints: Object.fromEntries(WIDGETS.map((w) => [w, join(here, w, "index.js")])),
  outdir: out,
  bundle: true,
  format: "esm",
  target: ["es2022"],
  minify: true,
  legalComments: "none",
  metafile: true,
  logLevel: "warning",
};

/** @param {esbuild.Metafile} meta */
function writeManifest(meta) {
  const sources = {};
  for (const input of Object.keys(meta.inputs).sort()) {
    const path = relative(here, join(process.cwd(), input));
    if (path.startsWith("node_modules")) continue;
    sources[path] = createHash("sha256").update(readFileSync(join(here, path))).digest("hex");
  }
  const bundles = {};
  for (const [file, info] of Object.entries(meta.outputs)) {
    const shared = Object.entries(info.inputs)
      .filter(([src]) => relative(here, join(process.cwd(), src)).startsWith("lib"))
      .reduce((sum, [, { bytesInOutput }]) => sum + bytesInOutput, 0);
    bundles[relative(out, join(process.cwd(), file))] = { bytes: info.bytes, shared_bytes: shared };
  }
  writeFileSync(join(out, "manifest.json"), JSON.stringify({ widgets: WIDGETS, sources, bundles }, null, 1) + "\n");
}

mkdirSync(out, { recursive: true });
if (process.argv.includes("--watch")) {
  const ctx = await esbuild.context({
    ...options,
    plugins: [{ name: "manifest", setup: (b) => b.onEnd((r) => r.metafile && writeManifest(r.metafile)) }],
  });
  await ctx.watch();
  console.log(`watching ${WIDGETS.length} widgets`);
} else {
  const result = await esbuild.build(options);
  writeManifest(/** @type {esbuild.Metafile} */ (result.metafile));
}
