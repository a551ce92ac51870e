// Builds one JavaScript/TypeScript cell into a component; run by languages/typescript.py as
//   node build.mjs JOB.json
// JOB: {toolchain, workdir, entry, userFile, witDir, world, engine, out, nodePaths}
// Steps: esbuild bundles the generated entry (which imports the cell) into one ES module and strips the
// types; a line table from its source map is appended so the guest can report errors at the cell's lines;
// then componentize-qjs (QuickJS) or componentize-js (StarlingMonkey) makes the component.
// Prints tagged JSON lines: {"progress": "..."} while working, then {"ok": true} or {"ok": false, ...}.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const t0 = performance.now();
// Tagged, so output of the cell's own top-level code (run while the component is built) is never mistaken
const say = (obj) => process.stdout.write("@asterai-build@ " + JSON.stringify(obj) + "\n");
const BUNDLE = "cell.bundle.js"; // the name stack traces show for the bundled code

function fail(kind, errors, message = "") {
  say({ ok: false, kind, errors, message });
  process.exit(0);
}

function esbuildErrors(e) {
  return (e.errors || []).map((m) => ({
    file: m.location ? m.location.file : "",
    line: m.location ? m.location.line : 0,
    column: m.location ? m.location.column : 0,
    lineText: m.location ? m.location.lineText : "",
    text: m.text,
    notes: (m.notes || []).map((n) => n.text),
  }));
}

// `node build.mjs --check TOOLCHAIN FILE`: esbuild's account of a syntax error (a precise message)
if (process.argv[2] === "--check") {
  const req = createRequire(join(process.argv[3], "node_modules", "asterai-build.js"));
  const file = process.argv[4];
  try {
    await req("esbuild").transform(readFileSync(file, "utf8"), {
      loader: file.endsWith(".ts") ? "ts" : "js",
      sourcefile: file.split("/").pop(),
      logLevel: "silent",
    });
    say({ ok: true });
  } catch (e) {
    fail("bundle", esbuildErrors(e), String(e.message || e));
  }
  process.exit(0);
}

const job = JSON.parse(readFileSync(process.argv[2], "utf8"));
const modules = join(job.toolchain, "node_modules");
const require = createRequire(join(modules, "asterai-build.js"));

// ---- source map -> line table ----
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
function lineTable(map) {
  // For each generated line: [source index, original line (1-based)] of its first mapping, or 0.
  const lines = [];
  let src = 0, orig = 0, shift = 0, value = 0, fields = [];
  const flush = () => {
    if (fields.length >= 4) {
      src += fields[1];
      orig += fields[2];
      if (lines[lines.length - 1] === 0) lines[lines.length - 1] = [src, orig + 1];
    }
    fields = [];
  };
  lines.push(0);
  for (const ch of map.mappings) {
    if (ch === ";" || ch === ",") {
      flush();
      if (ch === ";") lines.push(0);
      continue;
    }
    const digit = B64.indexOf(ch);
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
      continue;
    }
    fields.push(value & 1 ? -(value >>> 1) : value >>> 1);
    value = 0;
    shift = 0;
  }
  flush();
  return lines;
}

function mapper(table, sources) {
  // Rewrites "cell.bundle.js:L:C" in a stack or message to the cell's line (or the npm file's).
  return (text) =>
    String(text).replace(/(?:[\w./-]*\/)?cell\.bundle\.js:(\d+)(?::\d+)?/g, (whole, l) => {
      const hit = table[Number(l) - 1];
      if (!hit) return "asterai glue";
      const [src, line] = hit;
      return sources[src] === job.userFile ? `line ${line}` : `${sources[src]}:${line}`;
    });
}

// ---- 1. bundle ----
const esbuild = require("esbuild");
const tBundle = performance.now();
let bundle, map;
try {
  const result = await esbuild.build({
    entryPoints: [join(job.workdir, job.entry)],
    absWorkingDir: job.workdir,
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    target: "es2022",
    outfile: join(job.workdir, BUNDLE),
    sourcemap: "external",
    external: ["wasi:*", "asterai:*"],
    alias: job.alias || {},
    nodePaths: job.nodePaths || [],
    logLevel: "silent",
    legalComments: "none",
  });
  for (const f of result.outputFiles) {
    if (f.path.endsWith(".map")) map = JSON.parse(f.text);
    else bundle = f.text;
  }
} catch (e) {
  const errors = esbuildErrors(e);
  fail("bundle", errors, errors.length ? "" : String(e.message || e));
}
const sources = map.sources.map((s) => s.replace(/^(\.\.\/)+/, "").replace(/^.*node_modules\//, ""));
const table = lineTable(map);
bundle += `\nglobalThis.__asterai_lines = ${JSON.stringify(table)};\n`;
bundle += `globalThis.__asterai_sources = ${JSON.stringify(sources)};\n`;
writeFileSync(join(job.workdir, BUNDLE), bundle);
const mapText = mapper(table, sources);

// ---- 2. componentize ----
const tEngine = performance.now();
say({ progress: job.engine === "quickjs" ? "componentizing with QuickJS" : "componentizing with StarlingMonkey" });
let component;
const prevCwd = process.cwd();
process.chdir(job.workdir);
try {
  if (job.engine === "quickjs") {
    const { componentize } = require("componentize-qjs");
    const result = await componentize({
      witPath: join(job.workdir, job.witDir),
      jsSource: bundle,
      jsPath: join(job.workdir, BUNDLE),
      world: job.world,
      sync: true,
    });
    component = result.component;
  } else {
    const cjs = join(modules, "@bytecodealliance", "componentize-js", "src", "componentize.js");
    const { componentize } = await import(cjs);
    const result = await componentize(bundle, {
      sourceName: BUNDLE,
      witPath: join(job.workdir, job.witDir),
      worldName: job.world,
      disableFeatures: ["http", "fetch-event"],
    });
    component = result.component;
  }
} catch (e) {
  fail("componentize", [], mapText(e && e.message ? e.message : e));
} finally {
  process.chdir(prevCwd);
}
writeFileSync(join(job.workdir, job.out), component);
const ms = (a, b) => Math.round(b - a);
const tEnd = performance.now();
say({ ok: true, size: component.length, ms: { start: ms(0, t0), bundle: ms(tBundle, tEngine), engine: ms(tEngine, tEnd) } });
