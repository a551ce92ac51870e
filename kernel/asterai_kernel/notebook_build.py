"""`asterai build NOTEBOOK`: a notebook's `%%asterai` cells as component files, its Python cells never run.

Cells are read with nbformat and built in notebook order with the kernel's own planning and cache
(pipeline.plan_cell / build_planned), so `--use` and `wit` cells resolve as in a session. A cell's language is
read from its magic line, never from notebook metadata. Everything is written to a temporary folder beside
DIR and renamed into place, so a refused or interrupted build leaves DIR as it was.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import nbformat
from IPython.core.inputtransformer2 import TransformerManager

from . import __version__, net, wit
from .composition import foreign_imports, standalone
from .errors import AsteraiError
from .hostfns import PROVIDERS
from .loader import component_wit
from .magics import cell_spec, parse_cell_line
from .names import check_component_name
from .pipeline import CellPlan, CellSpec, build_planned, plan_cell
from .sandbox import Grants
from .wit_json import declare, find_declared

MAGIC = "%%asterai"
MANIFEST = "manifest.json"
_TRANSFORMER = TransformerManager()  # IPython's own reading of a cell: magics, `!`, `?`


@dataclass
class Cell:
    """One `%%asterai` cell of the notebook."""

    number: int  # its position among all the notebook's cells, from 1
    cell_id: str | None
    line: str  # the magic line after `%%asterai`
    source: str  # the body
    args: object = None  # the parsed magic line
    name: str | None = None  # the component's name (None for a `wit` cell)
    error: str = ""  # why its magic line was refused

    def where(self) -> str:
        ident = f" (id {self.cell_id})" if self.cell_id else ""
        return f"cell {self.number}{ident}, `{MAGIC} {self.line}`"


@dataclass(eq=False)  # hashable by identity: composition memoizes per component
class Built:
    """A component this build made (or took from the cache)."""

    cell: Cell
    spec: CellSpec
    plan: CellPlan
    wasm: Path
    seconds: float
    cached: bool
    grants: dict
    providers: list[Built | str] = field(default_factory=list)  # cells it uses, or host providers' names


@dataclass
class Outcome:
    out_dir: Path
    built: list[Built]  # those written, in notebook order
    failed: list[tuple[Cell, str]]  # a cell and what went wrong


def read_cells(path: Path) -> list[Cell]:
    """The `%%asterai` cells of a notebook file, in order."""
    if not path.exists():
        raise AsteraiError(f"{path}: no such file; give the path of a Jupyter notebook (.ipynb)")
    if not path.is_file():
        raise AsteraiError(f"{path} is a folder; give the path of a Jupyter notebook (.ipynb)")
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as e:  # nbformat's errors differ by what is wrong (not JSON, no cells, bad schema)
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise AsteraiError(f"{path} is not a Jupyter notebook (.ipynb): {reason}") from None
    cells = []
    for number, cell in enumerate(nb.cells, 1):
        magic = _asterai_magic(cell.source) if cell.cell_type == "code" else None
        if magic is not None:
            cells.append(Cell(number, cell.get("id"), *magic))
    return cells


def _asterai_magic(source: str) -> tuple[str, str] | None:
    """(magic line, body) of a `%%asterai` cell, exactly as IPython hands them to the magic; else None."""
    try:
        code = _TRANSFORMER.transform_cell(source)
        call = ast.parse(code).body[0].value  # get_ipython().run_cell_magic('asterai', LINE, BODY)
        name, line, body = (ast.literal_eval(arg) for arg in call.args)
    except (SyntaxError, IndexError, AttributeError, ValueError, TypeError):
        return None
    is_magic = getattr(call.func, "attr", "") == "run_cell_magic" and name == "asterai"
    return (line, body) if is_magic else None


class _Scope:
    """What `--use` and `--exports` resolve against: the cells built so far and the declared interfaces."""

    def __init__(self) -> None:
        net.register()  # the kernel's own `net` provider, usable with `--use net` as in a session
        self.built: dict[str, Built] = {}
        self.failed: dict[str, Cell] = {}  # components whose cell failed to build
        self.declarations: dict[str, wit.Interface] = {}

    def providers(self, names: list[str], consumer: str) -> dict[str, wit.Interface]:
        found = {}
        for name in names:
            if name == consumer:
                raise AsteraiError(f"--use {name}: a component cannot use itself")
            if name in self.built:
                found[name] = self.built[name].plan.iface
            elif name in PROVIDERS:
                found[name] = PROVIDERS[name].iface
            elif name in self.failed:
                raise AsteraiError(f"--use {name}: {name} did not build ({self.failed[name].where()})")
            else:
                known = ", ".join(sorted(self.built)) or "none"
                raise AsteraiError(
                    f"--use {name}: no cell above defines {name!r} (defined so far: {known}); functions that "
                    "Python cells provide (@asterai_kernel.provide) do not exist here: asterai build runs no "
                    "Python"
                )
        return found

    def declared(self, name: str) -> wit.Interface:
        return find_declared(self.declarations, name)


def _name_cells(cells: list[Cell]) -> None:
    """Parse each magic line and name each component as the kernel would (`LANG_N` when unnamed)."""
    counters: dict[str, int] = {}
    taken: set[str] = set()
    for cell in cells:
        try:
            cell.args = parse_cell_line(cell.line)
            if cell.args.lang == "wit":
                continue
            cell.name = _name(cell.args, counters, taken)
            taken.add(cell.name)
        except (AsteraiError, ValueError) as e:
            cell.error = str(e)


def _name(args, counters: dict[str, int], taken: set[str]) -> str:
    if args.name is not None:
        return check_component_name(args.name)
    lang = cell_spec(args, "_", "").lang
    while True:
        counters[lang] = counters.get(lang, 0) + 1
        name = f"{lang}_{counters[lang]}"
        if name not in taken:
            return name


def _grants_as_declared(args) -> dict:
    """Grants and limits as the magic line writes them: directories are not looked up and `--env` values
    not read (they belong to the machine that runs the component); limits are checked."""
    limits = Grants.parse(timeout=args.timeout, fuel=args.fuel, max_memory=args.max_memory)
    return {
        "allow_read": list(args.allow_read or []),
        "allow_write": list(args.allow_write or []),
        "env": list(args.env or []),
        "allow_net": True if args.allow_net else list(args.allow_host or []),
        "timeout": limits.timeout,
        "fuel": limits.fuel,
        "max_memory": limits.options()["max_memory"],
    }


def _needed(cells: list[Cell], only: list[str]) -> set[str] | None:
    """The components `--only` asks for and every one they use; None builds all. Unknown names refused."""
    if not only:
        return None
    uses: dict[str, set[str]] = {}
    for cell in cells:
        if cell.name is not None:
            names = (n.strip() for u in cell.args.use or () for n in u.split(","))
            uses.setdefault(cell.name, set()).update(n for n in names if n)
    unknown = [n for n in only if n not in uses]
    if unknown:
        raise AsteraiError(f"--only {', '.join(unknown)}: the notebook defines no such component "
                           f"(it defines: {', '.join(uses) or 'none'})")  # fmt: skip
    needed, todo = set(), list(only)
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo.extend(uses.get(name, ()))
    return needed


def _build_cell(cell: Cell, scope: _Scope, progress) -> Built | None:
    if cell.error:
        raise AsteraiError(cell.error)
    if cell.args.lang == "wit":
        for iface in declare(cell.source):
            scope.declarations[iface.qualified] = iface
        return None
    spec = cell_spec(cell.args, cell.name, cell.source)
    grants = _grants_as_declared(cell.args)
    plan = plan_cell(scope, spec)
    result = build_planned(plan, spec, progress)
    built = Built(cell, spec, plan, result.wasm_path, result.built_seconds, result.cached, grants)
    built.providers = [scope.built.get(n, n) for n in plan.uses]
    scope.built[cell.name] = built
    return built


def build_notebook(path: Path, out_dir: Path, only: list[str] = (), progress=None) -> Outcome:
    """Build every `%%asterai` cell (or those `only` names and what they use) and write DIR: NAME.wasm,
    NAME.wit, NAME.composed.wasm for consumers of other cells, manifest.json. Failing cells are reported
    in the outcome and the manifest; the others are still written."""
    progress = progress or _Quiet()
    cells = read_cells(Path(path))
    _name_cells(cells)
    needed = _needed(cells, list(only))
    cells = [c for c in cells if needed is None or c.name is None or c.name in needed]
    staging = _staging_dir(Path(out_dir))
    try:
        scope, failed, order = _Scope(), [], []
        progress.start(len(cells))
        for cell in cells:
            progress.cell(cell)
            try:
                built = _build_cell(cell, scope, progress.step)
            except (AsteraiError, ValueError) as e:
                failed.append((cell, str(e)))
                scope.failed.setdefault(cell.name, cell)
                built = None
            if built is not None:
                order.append(built)
            progress.done(cell, built)
        final = [b for b in order if scope.built.get(b.spec.name) is b]  # a re-defined name: its last cell
        _write(staging, Path(path), final, failed)
        _swap_into_place(staging, Path(out_dir))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Outcome(Path(out_dir), final, failed)


class _Quiet:
    def start(self, total: int) -> None: ...
    def cell(self, cell: Cell) -> None: ...
    def step(self, message: str) -> None: ...
    def done(self, cell: Cell, built: Built | None) -> None: ...


# ---- writing ----
def _staging_dir(out_dir: Path) -> Path:
    """A temporary folder beside DIR (same file system, so it is renamed into place), made before any build
    so an unwritable DIR is refused at once."""
    if out_dir.exists() and not out_dir.is_dir():
        raise AsteraiError(f"-o {out_dir}: it is a file; give a folder to write the components into")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / MANIFEST).exists():
        raise AsteraiError(f"-o {out_dir}: the folder holds files asterai build did not write (no "
                           f"{MANIFEST}); give a new or empty folder")  # fmt: skip
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.partial-"))
    except OSError as e:
        reason = e.strerror or str(e)
        raise AsteraiError(
            f"-o {out_dir}: cannot write there ({reason}); give a folder you can write"
        ) from None


def _swap_into_place(staging: Path, out_dir: Path) -> None:
    old = None
    if out_dir.exists():
        old = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.old-"))
        os.replace(out_dir, old / "previous")
    os.replace(staging, out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write(folder: Path, notebook: Path, built: list[Built], failed: list[tuple[Cell, str]]) -> None:
    entries, made = [], {}
    with tempfile.TemporaryDirectory(prefix="asterai-compose-") as workdir:
        for b in built:
            entries.append(_write_one(b, folder, made, Path(workdir)))
    manifest = {
        "notebook": notebook.name,
        "notebook_sha256": _sha256(notebook),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "asterai_version": __version__,
        "components": entries,
        "failed": [
            {"cell": c.number, "id": c.cell_id, "magic": f"{MAGIC} {c.line}", "error": e} for c, e in failed
        ],
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def _write_one(b: Built, folder: Path, made: dict, workdir: Path) -> dict:
    """NAME.wasm, NAME.wit and NAME.composed.wasm of one component; its manifest entry."""
    wasm = folder / f"{b.spec.name}.wasm"
    shutil.copyfile(b.wasm, wasm)
    wit_file = folder / f"{b.spec.name}.wit"
    wit_file.write_text(component_wit(wasm, b.plan.iface))
    entry = _entry(b, wasm, wit_file)
    try:
        composed = _composed(b, folder, made, workdir)
    except AsteraiError as e:  # the component itself is fine: the manifest says what it imports
        entry["composed"] = {"error": str(e)}
        return entry
    if composed is not None:
        entry["composed"] = {"wasm": composed.name, "sha256": _sha256(composed),
                             "imports": foreign_imports(composed)}  # fmt: skip
    return entry


def _entry(b: Built, wasm: Path, wit_file: Path) -> dict:
    return {
        "name": b.spec.name,
        "language": b.plan.lang.name,
        "cell": b.cell.number,
        "cell_id": b.cell.cell_id,
        "interface": b.plan.iface.qualified,
        "exports": [{"name": f.name, "wit": f"{f.name}: {f.signature()}"} for f in b.plan.iface.functions],
        "implements": [i.qualified for i in b.plan.exports],
        "uses": list(b.plan.uses),
        "imports": foreign_imports(wasm),
        "grants": {k: v for k, v in b.grants.items() if k not in ("timeout", "fuel", "max_memory")},
        "limits": {k: b.grants[k] for k in ("timeout", "fuel", "max_memory")},
        "build_seconds": round(b.seconds, 3),
        "cached": b.cached,
        "wasm": wasm.name,
        "wit": wit_file.name,
        "size": wasm.stat().st_size,
        "sha256": _sha256(wasm),
        "source_sha256": hashlib.sha256(b.spec.source.encode()).hexdigest(),
    }


def _composed(b: Built, folder: Path, made: dict, workdir: Path) -> Path | None:
    """NAME.composed.wasm: the component with the cells it uses composed in (theirs first); None when it
    uses none, or uses a provider only the notebook's host has (the manifest's `imports` say which)."""
    if not b.providers or any(isinstance(p, str) for p in _all_providers(b)):
        return None
    path = standalone(b, lambda n: n.wasm, lambda n: list(n.providers), made, workdir)
    dest = folder / f"{b.spec.name}.composed.wasm"
    shutil.copyfile(path, dest)
    return dest


def _all_providers(b: Built) -> list[Built | str]:
    found = []
    for p in b.providers:
        found.append(p)
        if not isinstance(p, str):
            found += _all_providers(p)
    return found
