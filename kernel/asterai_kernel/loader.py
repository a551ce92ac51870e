"""`%asterai load PATH [NAME]` and `%asterai export NAME PATH`: components from and for elsewhere."""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
from pathlib import Path

from . import imports, wit
from .build import cache
from .build.cache import BuildResult
from .composition import standalone
from .errors import AsteraiError
from .languages.base import BuildJob, Language, Progress
from .names import check_component_name, wit_name
from .toolchains import wasm_tools
from .wit_json import component_exports


class Prebuilt(Language):
    """A component built outside the notebook: nothing to compile, traps reported as wasmtime says."""

    name = "wasm"

    def interface(self, source: str, component: str) -> wit.Interface:
        raise AsteraiError("a loaded component has no cell source")

    def build(self, job: BuildJob) -> bytes:
        raise AsteraiError("a loaded component is not built here")

    def toolchain_fingerprint(self, progress: Progress) -> str:
        return ""

    def trap_message(self, stderr_text: str) -> str | None:
        """A guest of any language: the last line it wrote to stderr before trapping (a panic, an assert)."""
        lines = [ln.strip() for ln in stderr_text.splitlines() if ln.strip() and not ln.startswith("note:")]
        return lines[-1] if lines else None


PREBUILT = Prebuilt()


def load(session, path: str, name: str | None = None, uses: list[str] | tuple = ()):
    """Install any component file; its exported functions are bound like a cell's. Its foreign imports
    are provided by the components in `uses` or by `@provide`d Python functions (see imports.py); the
    rest trap when called."""
    source = Path(path).expanduser()
    if not source.is_file():
        raise AsteraiError(f"%asterai load: {source} is not a file")
    name = check_component_name(name or source.stem.split(".")[0].replace("-", "_"))
    exports, imported = component_exports(source)
    bindings = imports.bind(session, imported, list(uses), name)
    functions, paths = [], {}
    for exported in exports:
        for fn in exported.iface.functions:
            if fn.name in paths:
                raise AsteraiError(f"%asterai load: two exported interfaces both have a function {fn.name!r}")
            paths[fn.name] = exported.export_name
            functions.append(fn)
    if not functions:
        raise AsteraiError(f"%asterai load: {source.name} exports no functions")
    data = source.read_bytes()
    stored = cache.entry_dir("loaded", hashlib.sha256(data).hexdigest()[:32]) / "component.wasm"
    if not stored.exists():
        cache.write_atomic(stored, data)
    built = session_build_result(stored)
    iface = wit.Interface(wit_name(name), tuple(functions))
    return session.install(name, PREBUILT, iface, built, export_paths=paths, foreign=bindings)


def session_build_result(path: Path):
    return BuildResult(path, 0.0, True)


def export(session, name: str, path: str, composed: bool = False, progress=lambda msg: None
           ) -> tuple[Path, Path]:  # fmt: skip
    """Write a component and its WIT, so it runs in any Component Model host. `composed`: with the
    components it uses composed in, one file that needs nothing but WASI. A cell running on a shared
    interpreter gets its own component built first (interpreted.py)."""
    live = session.get(name)
    target = Path(path).expanduser()
    if target.suffix != ".wasm":
        target = target / f"{name}.wasm" if target.is_dir() else target.with_suffix(".wasm")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="asterai-export-") as tmp:
            own = live.standalone_path(progress) if not composed else None
            source = _composed(session, live, Path(tmp), progress) if composed else own
            cache.write_atomic(target, source.read_bytes())
        wit_path = target.with_suffix(".wit")
        cache.write_atomic(wit_path, component_wit(target, live.iface).encode())
    except OSError as e:
        raise AsteraiError(f"%asterai export: cannot write {target}: {e.strerror or e}") from None
    return target, wit_path


def _composed(session, live, workdir: Path, progress) -> Path:
    def providers(name: str) -> list[str]:
        uses = session.components[name].uses
        for provider in uses:
            if provider not in session.components:
                raise AsteraiError(
                    f"%asterai export --composed: {name} uses {provider}, which the notebook provides from "
                    f"Python: no file can hold it. Export {live.name} without --composed and supply "
                    f"{provider} in the host"
                )
        return list(uses)

    own = lambda n: session.components[n].standalone_path(progress)  # noqa: E731
    return standalone(live.name, own, providers, {}, workdir)


def component_wit(path: Path, iface: wit.Interface) -> str:
    """The WIT of a component file as wasm-tools reads it (its world, imports and exports)."""
    done = subprocess.run([str(wasm_tools()), "component", "wit", str(path)], capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else wit.render_world(iface)
