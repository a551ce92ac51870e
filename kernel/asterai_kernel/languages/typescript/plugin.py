"""TypeScript and JavaScript cells: typed exports (tree-sitter; JSDoc for JavaScript) -> WIT, a generated
entry module, esbuild (types stripped, --npm packages bundled) and componentize-qjs or componentize-js.

The engine, chosen by measurement here (benchmarks/typescript.py): QuickJS (componentize-qjs 0.4.5) builds a
cell in 1.3-3 s into a 1.6 MB component (about 3 s more to compile it to machine code) and costs about 5 us
per scalar call. StarlingMonkey (componentize-js 0.23) takes 9-60 s and 12 MB (15-27 s to compile), 25-30 us
per scalar call, and cannot return a negative s64. `ASTERAI_JS_ENGINE=starlingmonkey` still selects it (exact
u64 beyond 2^53, the web platform's URL, crypto, ...). QuickJS carries 64-bit integers as doubles: they reach
the cell as bigint when exact; a larger argument from Python is refused before the call (OverflowError, see
`int_ranges`), and one that arises in the guest raises an error there: never a wrong number. Both engines
run the same entry module and runtime (runtime.js: console, TextEncoder/TextDecoder, errors reported at
the cell's lines, then a trap). `--use NAME` gives the cell a module NAME with the other component's exports
(a class per resource, imports.py); `--exports IFACE` exports the cell's functions under a `wit` cell's
interface too (exports.export_names).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from ... import wit
from ...build.cache import cache_dir, write_atomic
from ...errors import CompileError, ToolchainMissing
from ...names import wit_name
from ...toolchains import stopped_on_interrupt
from ..base import BuildJob, Language, Progress
from . import exports, imports, jsdoc, signatures, toolchain
from .exports import QUICKJS, STARLINGMONKEY
from .toolchain import ENGINE_ENV, JsToolchain, js_toolchain

HERE = Path(__file__).parent
DRIVER = HERE / "build.mjs"
RUNTIME = HERE / "runtime.js"
DRIVER_TAG = "@asterai-build@ "  # how build.mjs marks its own lines on stdout
WASI_WIT = "@bytecodealliance/jco/lib/wit/builtin/0.2.12"
WASI_PACKAGES = ("wasi-cli", "wasi-io", "wasi-clocks", "wasi-filesystem", "wasi-random", "wasi-sockets")
NPM_SPEC = re.compile(r"^(@[a-z0-9][\w.-]*/)?[a-z0-9][\w.-]*(@[\w.^~<>=*|\- ]+)?$", re.I)


SAFE_INTEGER = 2**53 - 1  # JavaScript's Number.MAX_SAFE_INTEGER


def engine_for(cell: signatures.Cell | None) -> str:
    """QuickJS, unless the environment asks for StarlingMonkey."""
    forced = os.environ.get(ENGINE_ENV, "").lower()
    return STARLINGMONKEY if forced in ("starlingmonkey", "sm") else QUICKJS


class _JsLanguage(Language):
    cell_file = "cell.ts"
    how = "TypeScript"
    supports_use = True
    supports_exports = True  # `--exports IFACE`: the same functions, also under the interface's own name
    cell_options = {"npm": ("PKG[@VER]", "bundle a pure-JavaScript package from npm")}
    requirements = toolchain.REQUIREMENTS  # JavaScript cells need what TypeScript cells do

    def int_ranges(self) -> dict[str, tuple[int, int, str]]:
        if engine_for(None) != QUICKJS:
            return {}
        why = "; QuickJS holds 64-bit integers as doubles, exact to 2^53 - 1"
        return {"s64": (-SAFE_INTEGER, SAFE_INTEGER, why), "u64": (0, SAFE_INTEGER, why)}

    def read(self, source: str, uses: dict[str, wit.Interface] | None = None) -> signatures.Cell:
        raise NotImplementedError

    def interface(self, source: str, component: str) -> wit.Interface:
        return self.interface_using(source, component, {})

    def interface_using(self, source: str, component: str, uses: dict[str, wit.Interface]) -> wit.Interface:
        try:
            cell = self.read(source, uses)
        except CompileError as e:
            if "syntax error" in str(e):
                raise self.precise_syntax_error(source) or e from None
            raise
        if not cell.exports:
            raise CompileError(self.nothing_exported)
        return wit.Interface(wit_name(component), tuple(ex.fn for ex in cell.exports))

    nothing_exported = ""

    def precise_syntax_error(self, source: str) -> CompileError | None:
        """esbuild's message for a syntax error tree-sitter found (tree-sitter only says where)."""
        try:
            tc = js_toolchain()
        except ToolchainMissing:
            return None
        with tempfile.TemporaryDirectory(prefix="asterai-check-") as tmp:
            path = Path(tmp) / self.cell_file
            path.write_text("\n" * signatures.LINE_OFFSET + source)
            done = subprocess.run([str(tc.node), str(DRIVER), "--check", str(tc.modules.parent), str(path)],
                                  capture_output=True, text=True, timeout=60)  # fmt: skip
        tagged = [ln for ln in done.stdout.splitlines() if ln.startswith(DRIVER_TAG)]
        try:
            result = json.loads(tagged[-1][len(DRIVER_TAG) :])
        except (ValueError, IndexError):
            return None
        errors = result.get("errors") or []
        if result.get("ok") or not errors:
            return None
        diagnostics = "\n".join(_bundle_error(e, self.cell_file) for e in errors)
        return CompileError(f"the {self.how} cell has a syntax error", diagnostics=diagnostics)

    def toolchain_fingerprint(self, progress: Progress) -> str:
        return js_toolchain().fingerprint

    def glue_sources(self):
        return (DRIVER, RUNTIME)  # the build driver and the guest runtime (the modules count by import)

    def build(self, job: BuildJob) -> bytes:
        tc = js_toolchain()
        cell = self.read(job.source, job.uses)
        engine = engine_for(cell)
        work = job.workdir
        (work / self.cell_file).write_text("\n" * signatures.LINE_OFFSET + job.source.rstrip() + "\n")
        shutil.copyfile(RUNTIME, work / exports.RUNTIME_FILE)
        extra = tuple(job.exports)
        (work / "entry.js").write_text(exports.entry_module(job.iface, cell, self.cell_file, engine, extra))
        wit_dir = work / "wit"
        (wit_dir / "deps").mkdir(parents=True)
        uses = getattr(job, "uses", None) or {}
        (wit_dir / "cell.wit").write_text(exports.world(job.iface, tuple(uses.values()), extra))
        alias = {}
        if uses:
            (work / "uses").mkdir()
            for name, provider in uses.items():
                (work / "uses" / f"{name}.js").write_text(imports.use_module(provider, engine, name))
                alias[name] = f"./uses/{name}.js"
        for package in WASI_PACKAGES:
            (wit_dir / "deps" / package).symlink_to(tc.modules / WASI_WIT / package)
        node_paths = []
        npm = list((job.options or {}).get("npm") or [])
        if npm:
            node_paths.append(str(npm_packages(npm, tc, job.progress)))
        spec = {
            "toolchain": str(tc.modules.parent), "workdir": str(work), "entry": "entry.js",
            "userFile": self.cell_file, "witDir": "wit", "world": wit.WORLD, "engine": engine,
            "out": "component.wasm", "nodePaths": node_paths, "alias": alias,
        }  # fmt: skip
        (work / "job.json").write_text(json.dumps(spec))
        if engine == STARLINGMONKEY:
            job.progress(f"{job.component}: building with StarlingMonkey ({ENGINE_ENV}): this takes 10-60 s")
        result = _run_driver(tc, work / "job.json", job.progress)
        if not result.get("ok"):
            raise self._failure(job, result)
        self.last_build = {"engine": engine, **result.get("ms", {})}
        return (work / "component.wasm").read_bytes()

    def _failure(self, job: BuildJob, result: dict) -> CompileError:
        if result.get("kind") == "bundle":
            diagnostics = "\n".join(_bundle_error(e, self.cell_file) for e in result.get("errors", []))
            diagnostics = diagnostics or result.get("message", "")
            return CompileError(f"{job.component}: the {self.how} cell does not build",
                                diagnostics=diagnostics, component=job.component)  # fmt: skip
        message = result.get("message", "").strip()
        early = EARLY_CALL.search(message)
        if early:  # top-level code ran at build time (pre-initialization), where no provider is linked
            used = {wit_name(n): n for n in job.uses}
            name = used.get(early.group(1), early.group(1))
            return CompileError(
                f"{job.component}: the cell's top-level code calls {name} (`{early.group(2)}`), but it runs "
                f"while the component is built, before {name} is linked: call {name} inside the cell's "
                "functions (keep an object between calls in a variable set on first use)",
                component=job.component,
            )
        return CompileError(
            f"{job.component}: building the component failed", diagnostics=_componentize_error(message),
            component=job.component,
        )  # fmt: skip

    def trap_message(self, stderr_text: str) -> str | None:
        return js_trap_message(stderr_text)

    @functools.cached_property
    def _interpreter(self):
        from .interpreter import QuickJsInterpreter

        return QuickJsInterpreter(self)

    def interpreter(self):
        """The shared QuickJS runner cells load into (interpreter.py); `why_not` says which cannot.
        Imported late: it builds on the core's interpreted.py, which imports the languages."""
        return self._interpreter


class TypeScript(_JsLanguage):
    name = "typescript"
    aliases = ("ts",)
    cell_file = "cell.ts"
    how = "TypeScript"
    nothing_exported = (
        "this TypeScript cell exports nothing: write at least one `export function` with typed parameters "
        "and a return type, e.g. `export function add(a: number, b: number): number { return a + b; }`."
    )

    def read(self, source: str, uses: dict[str, wit.Interface] | None = None) -> signatures.Cell:
        return signatures.read_cell(source, uses=uses)


class JavaScript(_JsLanguage):
    name = "javascript"
    aliases = ("js",)
    cell_file = "cell.js"
    how = "JavaScript"
    nothing_exported = (
        "this JavaScript cell exports nothing: write at least one `export function` with JSDoc types, e.g.\n"
        "  /** @param {number} a @param {number} b @returns {number} */\n"
        "  export function add(a, b) { return a + b; }"
    )

    def read(self, source: str, uses: dict[str, wit.Interface] | None = None) -> signatures.Cell:
        return jsdoc.read_cell(source, uses)


# ---------------------------------------------------------------- running the driver


def _run_driver(tc: JsToolchain, job_file: Path, progress: Progress) -> dict:
    proc = subprocess.Popen(
        [str(tc.node), str(DRIVER), str(job_file)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, process_group=0,
    )  # fmt: skip
    result: dict = {}
    with stopped_on_interrupt(proc):
        for line in proc.stdout:
            if not line.startswith(DRIVER_TAG):
                continue  # the cell's own top-level output while it is pre-initialized
            try:
                msg = json.loads(line[len(DRIVER_TAG) :])
            except json.JSONDecodeError:
                continue
            if "progress" in msg:
                progress(msg["progress"])
            else:
                result = msg
        stderr = proc.stderr.read()
        code = proc.wait()
    if not result:
        return {"ok": False, "kind": "driver", "message": f"node exited with {code}:\n{stderr.strip()}"}
    return result


def _bundle_error(err: dict, cell_file: str) -> str:
    file, line, text = err.get("file", ""), err.get("line", 0), err.get("text", "")
    if Path(file).name == cell_file:
        where = f"line {line}"
        snippet = ""
        if err.get("lineText"):
            col = err.get("column", 0)
            snippet = f"\n  {line} | {err['lineText']}\n  {' ' * len(str(line))} | {' ' * col}^"
        hint = ""
        m = re.match(r'Could not resolve "([^"]+)"', text)
        if m and not m.group(1).startswith("."):
            hint = f"\n  (an npm package? add `--npm {_package_of(m.group(1))}` to the magic line)"
        return f"{where}: error: {text}{snippet}{hint}"
    if file in ("entry.js", exports.RUNTIME_FILE):
        return f"(in the glue asterai generated for this cell; please report it) {text}"
    return f"{file}:{line}: error: {text}" if file else f"error: {text}"


def _package_of(specifier: str) -> str:
    parts = specifier.split("/")
    return "/".join(parts[:2]) if specifier.startswith("@") else parts[0]


def _componentize_error(message: str) -> str:
    # QuickJS: "Failed to evaluate user JavaScript module: ... Error: boom\n at <anonymous> (line 3)"
    message = message.replace("Failed to evaluate user JavaScript module: ", "")
    message = message.replace("Failed to finish JavaScript module evaluation: ", "")
    message = re.sub(r"^: ", "", message)
    if "line " in message:
        return f"the cell threw while it was being loaded: {message}"
    return message


EARLY_CALL = re.compile(r"unknown import: `asterai:cells/([\w-]+)#([^`]+)` has not been defined")
UNCAUGHT = re.compile(r"^Uncaught ", re.M)
PANIC = re.compile(r"panicked at [^\n]*:\n(.*?)(?:\nnote: |\Z)", re.S)


def js_trap_message(stderr_text: str) -> str | None:
    """The uncaught error the runtime reported (message and stack at the cell's lines), if any."""
    starts = [m.start() for m in UNCAUGHT.finditer(stderr_text)]
    panics = list(PANIC.finditer(stderr_text))
    if starts and (not panics or starts[-1] > panics[-1].start()):  # the report is the last thing written
        return stderr_text[starts[-1] :].removeprefix("Uncaught ").rstrip()
    if panics:  # the QuickJS engine could not convert a returned value
        detail = panics[-1].group(1).strip()
        if detail.startswith("expected") or "FromJs" in detail:
            return f"a value returned does not match its declared type ({detail})"
        return detail
    return None


# ---------------------------------------------------------------- --npm


def npm_packages(specs: list[str], tc: JsToolchain, progress: Progress) -> Path:
    """node_modules holding the --npm packages, installed once per set of specs (npm's ordinary client)."""
    for spec in specs:
        if not NPM_SPEC.match(spec):
            raise CompileError(f"--npm {spec!r}: expected a package name, optionally with @VERSION")
    key = hashlib.sha256("\n".join(sorted(specs)).encode()).hexdigest()[:16]
    folder = cache_dir() / "npm-cells" / key
    stamp = folder / "asterai-ok.json"
    modules = folder / "node_modules"
    if stamp.exists():
        return modules
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / "package.json", json.dumps({"name": "asterai-cell-deps", "private": True}).encode())
    progress(f"installing from npm: {' '.join(specs)}")
    cmd = [str(tc.npm), "install", "--no-audit", "--no-fund", "--ignore-scripts", "--no-package-lock",
           "--omit=dev", *specs]  # fmt: skip
    done = subprocess.run(cmd, cwd=folder, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-12:])
        raise CompileError(f"--npm: npm install {' '.join(specs)} failed:", diagnostics=tail)
    native = _native_packages(modules)
    if native:
        shutil.rmtree(folder, ignore_errors=True)
        raise CompileError(
            f"--npm: {', '.join(native)} need{'s' if len(native) == 1 else ''} native code (node-gyp, .node "
            "binaries), which cannot run inside a WebAssembly component. Choose a pure-JavaScript package."
        )
    write_atomic(stamp, json.dumps({"specs": specs}).encode())
    return modules


def _native_packages(modules: Path) -> list[str]:
    found = set()
    for path in list(modules.rglob("binding.gyp")) + list(modules.rglob("*.node")):
        rel = path.relative_to(modules).parts
        found.add("/".join(rel[:2]) if rel[0].startswith("@") else rel[0])
    for meta in modules.glob("*/package.json"):
        with contextlib.suppress(OSError, ValueError):
            if json.loads(meta.read_text()).get("gypfile"):
                found.add(meta.parent.name)
    return sorted(found)
