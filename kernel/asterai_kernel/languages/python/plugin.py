"""Python cells: top-level `def` type hints (read with `ast`) -> WIT, a generated app module, componentize-py.

The cell's code runs inside the component's own CPython (componentize-py's, 3.14), not the kernel's. Its
top-level code runs once, when the component is built (componentize-py snapshots the initialised interpreter);
each call then runs the exported function in that snapshot. Calls that raise leave a traceback at the cell's
line numbers on stderr and end the call with a trap (see exports.py), which the host turns into GuestTrap.
"""

from __future__ import annotations

import ast
import functools
import keyword
import mmap
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ... import wit
from ...build import cache
from ...errors import CompileError, ToolchainMissing
from ...names import pascal_name, wit_name
from ..base import BuildJob, Language, Progress, check_unique_wit_names
from . import exports

APP_MODULE = "asterai_app"
GUEST_PYTHON = "3.14"  # the CPython inside componentize-py 0.25; guest_python() reads the installed one
SUPPORTED_HINT = (
    "Supported hints: int, float, str, bool, bytes, list[T], tuple[A, B, ...], T | None (Optional[T]), "
    "@dataclass classes and Enum classes with string values defined in the cell, and the types of the "
    "components it uses (`geo.Point`)."
)
_SCALARS = {
    "int": wit.Prim("s64"),
    "float": wit.Prim("f64"),
    "str": wit.String(),
    "bool": wit.Prim("bool"),
    "bytes": wit.List(wit.Prim("u8")),
}
_LISTS = {"list", "List"}
_TUPLES = {"tuple", "Tuple"}
# A pip requirement: name, extras, version specifiers; nothing that pip could read as an option or a URL.
_PIP_SPEC = re.compile(
    r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?(?:\[[A-Za-z0-9._,-]+\])?"
    r"(?:\s*(?:===|==|>=|<=|~=|!=|<|>)\s*[A-Za-z0-9.*+!_-]+(?:\s*,\s*(?:===|==|>=|<=|~=|!=|<|>)\s*[A-Za-z0-9.*+!_-]+)*)?$"
)


class Unsupported(Exception):
    """A type hint with no WIT equivalent."""


# ---------------------------------------------------------------- reading the cell


@dataclass
class RecordDef:
    py_name: str
    fields: list[tuple[str, wit.WitType]]  # (Python field name, type)
    ty: wit.Record | None = None


@dataclass
class EnumDef:
    py_name: str
    members: list[tuple[str, str]]  # (Python member name, WIT case)
    ty: wit.Enum | None = None


@dataclass
class Export:
    py_name: str
    fn: wit.Function
    line: int  # the cell's line of the `def`


@dataclass
class Cell:
    """What the kernel reads from a Python cell: its exports, the cell types they use, imports to hoist."""

    exports: list[Export]
    records: dict[str, RecordDef] = field(default_factory=dict)  # WIT name -> definition
    enums: dict[str, EnumDef] = field(default_factory=dict)
    hoisted: list[str] = field(default_factory=list)  # import statements found below the top level
    skipped: list[str] = field(default_factory=list)  # public defs left out, and why


def _cell_line(node: ast.AST) -> int:
    return getattr(node, "lineno", 0) + 1  # the magic line is line 1


def _error_at(node: ast.AST, message: str) -> CompileError:
    return CompileError(f"line {_cell_line(node)}: {message}")


def _decorator_name(node: ast.expr) -> str:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _base_name(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


class _Types:
    """Maps hint expressions to WIT types, resolving the cell's dataclasses and enums on first use."""

    def __init__(self, tree: ast.Module, uses: dict[str, wit.Interface] | None = None) -> None:
        self.classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
        self.records: dict[str, RecordDef] = {}
        self.enums: dict[str, EnumDef] = {}
        self.resolved: dict[str, wit.WitType] = {}
        self.resolving: list[str] = []
        self.uses = uses or {}
        # `from geo import Point [as P]` at the top level, for a used component geo: P -> (geo, Point)
        self.imported = {
            (a.asname or a.name): (n.module, a.name)
            for n in tree.body if isinstance(n, ast.ImportFrom) and n.level == 0 and n.module in self.uses
            for a in n.names
        }  # fmt: skip
        # Providers' types the exports use: (owner, WIT name) -> how the cell spells it
        self.used: dict[tuple[str, str], str] = {}

    def hint(self, node: ast.expr) -> wit.WitType:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):  # a forward reference: "Point"
            try:
                inner = ast.parse(node.value, mode="eval").body
            except SyntaxError:
                raise Unsupported(f"the string {node.value!r}, which is not a type") from None
            return self.hint(inner)
        if isinstance(node, ast.Constant) and node.value is None:
            raise Unsupported("`None` on its own (write `T | None` for an optional value)")
        if isinstance(node, ast.Name) and node.id in _SCALARS:
            return _SCALARS[node.id]
        if isinstance(node, ast.Name) and node.id in self.classes:
            return self.user_type(node.id)
        if isinstance(node, ast.Name) and node.id in self.imported:
            return self.used_type(*self.imported[node.id])
        module = node.value.id if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) else ""
        if module in self.uses:  # `geo.Point`
            return self.used_type(module, node.attr)
        if isinstance(node, ast.Name) and node.id in _LISTS | _TUPLES:
            raise Unsupported(f"a bare `{node.id}` (say what it holds, e.g. `{node.id.lower()}[int]`)")
        if isinstance(node, ast.Subscript):
            return self.generic(node)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return self.union(_union_members(node))
        raise Unsupported(f"`{ast.unparse(node)}`")

    def used_type(self, module: str, name: str) -> wit.WitType:
        """`geo.Point`: a type of a used component. The cell's interface takes it from geo's (WIT `use`),
        so the bindings hand the cell geo's own classes and nothing is converted."""
        iface = self.uses[module]
        found = {pascal_name(t.name): t for t in iface.types()}
        if name not in found:
            have = ", ".join(f"{module}.{n}" for n in found) or "none"
            raise Unsupported(f"`{module}.{name}` ({module}'s exports use no such type; they use: {have})")
        ty = wit.foreign(found[name], iface.name)
        owners = {i.name: m for m, i in self.uses.items()}
        for n in ty.named_types():
            if n.owner not in owners:
                raise Unsupported(f"`{module}.{name}` (it holds the type `{n.name}` of component "
                                  f"{n.owner}; add --use {n.owner} to the cell)")  # fmt: skip
            self.used.setdefault((n.owner, n.name), f"the type `{owners[n.owner]}.{pascal_name(n.name)}`")
        return ty

    def generic(self, node: ast.Subscript) -> wit.WitType:
        base = _base_name(node.value)
        args = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
        if base in _LISTS and len(args) == 1:
            return wit.List(self.hint(args[0]))
        if base in _TUPLES:
            if len(args) == 2 and isinstance(args[1], ast.Constant) and args[1].value is Ellipsis:
                raise Unsupported(f"`{ast.unparse(node)}` (a tuple of any length; write `list[...]`)")
            if not args or (len(args) == 1 and isinstance(args[0], ast.Tuple) and not args[0].elts):
                raise Unsupported(f"`{ast.unparse(node)}` (an empty tuple)")
            return wit.Tuple(tuple(self.hint(a) for a in args))
        if base == "Optional" and len(args) == 1:
            return self.union([args[0], ast.Constant(None)], ast.unparse(node))
        if base == "Union":
            return self.union(args, ast.unparse(node))
        raise Unsupported(f"`{ast.unparse(node)}`")

    def union(self, members: list[ast.expr], text: str = "") -> wit.WitType:
        some = [m for m in members if not (isinstance(m, ast.Constant) and m.value is None)]
        text = text or " | ".join(ast.unparse(m) for m in members)
        if len(some) != 1 or len(some) == len(members):
            raise Unsupported(f"`{text}` (a union; only `T | None` has a WIT equivalent, option<T>)")
        inner = self.hint(some[0])
        if isinstance(inner, wit.Option):
            raise Unsupported(f"`{text}` (an optional of an optional cannot be told apart in Python)")
        return wit.Option(inner)

    def user_type(self, name: str) -> wit.WitType:
        if name in self.resolved:
            return self.resolved[name]
        if name in self.resolving:
            cycle = " -> ".join([*self.resolving[self.resolving.index(name) :], name])
            raise Unsupported(f"`{name}`, which contains itself ({cycle}); WIT types cannot be recursive")
        node = self.classes[name]
        self.resolving.append(name)
        try:
            if any(_decorator_name(d) == "dataclass" for d in node.decorator_list):
                ty = self._record(node)
            elif any(_base_name(b) in ("Enum", "StrEnum") for b in node.bases):
                ty = self._enum(node)
            else:
                raise Unsupported(
                    f"`{name}` (a class that is neither a @dataclass nor an Enum with string values)"
                )
        finally:
            self.resolving.pop()
        self.resolved[name] = ty
        return ty

    def _fields(self, node: ast.ClassDef) -> list[tuple[str, ast.expr]]:
        fields: list[tuple[str, ast.expr]] = []
        for base in node.bases:  # fields of a base dataclass of the cell come first
            parent = self.classes.get(_base_name(base))
            if parent is not None and any(_decorator_name(d) == "dataclass" for d in parent.decorator_list):
                fields += self._fields(parent)
        for stmt in node.body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                ann = stmt.annotation
                if _base_name(ann.value if isinstance(ann, ast.Subscript) else ann) in (
                    "ClassVar",
                    "InitVar",
                ):
                    continue
                fields = [f for f in fields if f[0] != stmt.target.id] + [(stmt.target.id, ann)]
        return fields

    def _record(self, node: ast.ClassDef) -> wit.Record:
        fields = self._fields(node)
        if not fields:
            raise Unsupported(f"`{node.name}` (a dataclass without fields; a WIT record needs at least one)")
        typed = []
        for fname, ann in fields:
            try:
                typed.append((fname, self.hint(ann)))
            except Unsupported as e:
                raise Unsupported(f"`{node.name}`, whose field `{fname}` has the hint {e}") from None
        record = wit.Record(
            _wit_name(node.name), tuple((_wit_name(f), t) for f, t in typed), docs=_docs(node)
        )  # fmt: skip
        self.records[record.name] = RecordDef(node.name, typed, record)
        return record

    def _enum(self, node: ast.ClassDef) -> wit.Enum:
        members: list[tuple[str, str]] = []
        for stmt in node.body:
            if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1):
                continue
            target = stmt.targets[0]
            if not isinstance(target, ast.Name) or target.id.startswith("_"):
                continue
            if not (isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)):
                raise Unsupported(
                    f"`{node.name}` (its member `{target.id}` is not a string; an enum crosses as the "
                    f'strings of its values, e.g. `{target.id} = "{target.id.lower()}"`)'
                )
            try:
                case = wit_name(stmt.value.value)
            except ValueError:
                raise Unsupported(
                    f"`{node.name}` (the value {stmt.value.value!r} of `{target.id}` cannot be a WIT name: "
                    "use letters, digits and dashes, starting with a letter)"
                ) from None
            if case in (c for _, c in members):
                raise Unsupported(f"`{node.name}` (two members have the value {case!r})")
            members.append((target.id, case))
        if not members:
            raise Unsupported(f"`{node.name}` (an enum without members)")
        enum = wit.Enum(_wit_name(node.name), tuple(c for _, c in members), docs=_docs(node))
        self.enums[enum.name] = EnumDef(node.name, members, enum)
        return enum


def _union_members(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union_members(node.left) + _union_members(node.right)
    return [node]


def _wit_name(name: str) -> str:
    try:
        return wit_name(name)
    except ValueError as e:
        raise Unsupported(str(e)) from None


def _docs(node) -> str:
    doc = ast.get_docstring(node)
    return doc.strip() if doc else ""


def _full_hints(node: ast.FunctionDef) -> bool:
    a = node.args
    params = a.posonlyargs + a.args + a.kwonlyargs
    return node.returns is not None and all(p.annotation is not None for p in params)


def _export(node: ast.FunctionDef, types: _Types) -> Export:
    name = node.name
    if isinstance(node, ast.AsyncFunctionDef):
        raise _error_at(node, f"`async def {name}`: exported functions must be synchronous.")
    a = node.args
    if a.vararg or a.kwarg:
        star = f"*{a.vararg.arg}" if a.vararg else f"**{a.kwarg.arg}"
        raise _error_at(
            node, f"`def {name}` takes `{star}`; exported functions take a fixed list of parameters "
            "(prefix the name with `_` to keep it private)."
        )  # fmt: skip
    params = []
    for p in a.posonlyargs + a.args + a.kwonlyargs:
        try:
            params.append((_wit_name(p.arg), types.hint(p.annotation)))
        except Unsupported as e:
            raise _error_at(
                p, f"`def {name}`: parameter `{p.arg}` has the hint {e}, which has no WIT equivalent. "
                f"{SUPPORTED_HINT}"
            ) from None  # fmt: skip
    result = None
    if not (isinstance(node.returns, ast.Constant) and node.returns.value is None):
        try:
            result = types.hint(node.returns)
        except Unsupported as e:
            raise _error_at(
                node.returns, f"`def {name}` returns the hint {e}, which has no WIT equivalent. "
                f"{SUPPORTED_HINT}"
            ) from None  # fmt: skip
    try:
        fn_name = _wit_name(name)
    except Unsupported as e:
        raise _error_at(node, f"`def {name}`: {e}") from None
    return Export(name, wit.Function(fn_name, tuple(params), result, docs=_docs(node)), _cell_line(node))


def _hoisted_imports(tree: ast.Module) -> list[str]:
    """Imports made below the top level (in functions, classes, branches), as top-level statements.

    componentize-py's interpreter has no file system when a call runs, so a module first imported inside a
    function would fail there; importing it once at build time puts it in sys.modules for the call.
    """
    found: dict[str, None] = {}
    top = {id(n) for n in tree.body}
    for node in ast.walk(tree):
        if id(node) in top:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                found[f"import {alias.name}"] = None
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found[f"import {node.module}"] = None
            for alias in node.names:  # the name may be a submodule (from xml.etree import ElementTree)
                if alias.name != "*":
                    found[f"import {node.module}.{alias.name}"] = None
    return list(found)


def read_cell(source: str, uses: dict[str, wit.Interface] | None = None) -> Cell:
    """The cell's exports (raises CompileError for a syntax error or a hint without a WIT equivalent);
    `uses`: the components it imports (`--use`), whose types its exports may use."""
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        raise _syntax_error(e, source) from None
    types = _Types(tree, uses)
    by_name: dict[str, ast.FunctionDef] = {}
    skipped = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
            if _full_hints(node):
                by_name[node.name] = node  # a later def of the same name replaces it, as in Python
                skipped = [s for s in skipped if not s.startswith(f"`{node.name}`")]
            else:
                by_name.pop(node.name, None)
                skipped.append(
                    f"`{node.name}` (line {_cell_line(node)}) has no type hint on " + _missing(node)
                )
    exports = [_export(node, types) for node in by_name.values()]
    check_unique_wit_names(
        [(ex.fn.name, f"`def {ex.py_name}`") for ex in exports]
        + [(wname, f"the class `{d.py_name}`") for wname, d in [*types.records.items(), *types.enums.items()]]
        + [(wname, f"{label} of the used component") for (_, wname), label in types.used.items()]
    )
    return Cell(exports, types.records, types.enums, _hoisted_imports(tree), skipped)


def _missing(node: ast.FunctionDef) -> str:
    a = node.args
    bare = [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs if p.annotation is None]
    return f"parameter `{bare[0]}`" if bare else "its return value (write `-> None` if it returns nothing)"


def _syntax_error(e: SyntaxError, source: str) -> CompileError:
    line = (e.lineno or 1) + 1
    text = (e.text or "").rstrip("\n")
    lines = source.splitlines()
    if not text and e.lineno and e.lineno <= len(lines):
        text = lines[e.lineno - 1]
    pointer = ""
    if text and e.offset:
        pointer = "\n" + " " * (len(str(line)) + 3 + max(e.offset - 1, 0)) + "^"
    shown = f"\n{line} | {text}{pointer}" if text else ""
    return CompileError(f"line {line}: SyntaxError: {e.msg}{shown}")


# ---------------------------------------------------------------- the toolchain


@dataclass(frozen=True)
class PythonToolchain:
    componentize_py: Path
    version: str
    guest_python: str  # the CPython version inside the components (decides which wheels --pip may bundle)

    @property
    def fingerprint(self) -> str:
        return f"componentize-py {self.version}"


@functools.cache
def _guest_python(version: str) -> str:
    """The CPython version componentize-py bundles, read from the libpython its extension embeds."""
    try:
        import componentize_py

        for lib in Path(componentize_py.__file__).parent.glob("componentize_py*.so"):
            with open(lib, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
                found = re.search(rb"libpython(3\.\d+)\.so", m)
                if found:
                    return found.group(1).decode()
    except (ImportError, OSError, ValueError):
        pass
    return GUEST_PYTHON


def python_toolchain() -> PythonToolchain:
    from ...toolchains import LANGS, dist_version, find_executable

    exe = find_executable("componentize-py")
    version = dist_version("componentize-py")
    if exe is None or not version:
        raise ToolchainMissing(
            "Python cells need componentize-py, which is not installed. Install it with:\n    "
            + LANGS["python"].install
        )
    return PythonToolchain(exe, version, _guest_python(version))


# ---------------------------------------------------------------- --pip


def check_pip_specs(specs: list[str]) -> list[str]:
    for spec in specs:
        if not _PIP_SPEC.match(spec.strip()):
            raise CompileError(
                f"--pip {spec!r}: not a package requirement; write a name with an optional version, "
                "e.g. --pip attrs or --pip attrs==25.3.0"
            )
    return [s.strip() for s in specs]


def _pip(args: list[str]) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "pip", *args, "--disable-pip-version-check", "--no-input"]
    return subprocess.run(cmd, capture_output=True, text=True)


def pip_folder(specs: list[str], tc: PythonToolchain, progress: Progress) -> Path:
    """The pure-Python packages of `specs` (and their dependencies), installed once per set of specs."""
    key = cache.content_key("pip", specs, tc.guest_python, tc.fingerprint)
    folder = cache.entry_dir("python-pip", key)
    if (folder / ".complete").exists():
        return folder
    progress(
        f"installing {' '.join(specs)} from PyPI for the component (pure-Python wheels for {tc.guest_python})"
    )
    folder.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".pip-", dir=folder.parent))
    try:
        proc = _pip([
            "install", "--target", str(stage), "--only-binary=:all:", "--platform", "any",
            "--implementation", "py", "--abi", "none", "--python-version", tc.guest_python,
            "--no-compile", "--quiet", *specs,
        ])  # fmt: skip
        if proc.returncode != 0:
            raise _pip_error(specs, proc.stderr + proc.stdout, tc.guest_python)
        (stage / ".complete").write_text("\n".join(specs) + "\n")
        try:
            os.replace(stage, folder)
        except OSError:  # another kernel finished the same set first
            pass
    finally:
        if stage.exists():
            import shutil

            shutil.rmtree(stage, ignore_errors=True)
    return folder


def _pip_error(specs: list[str], output: str, guest: str) -> CompileError:
    errors = [ln for ln in output.splitlines() if ln.startswith("ERROR:")]
    detail = "\n".join(errors[-3:]) or output.strip()[-1500:]
    m = re.search(r"satisfies the requirement (\S+)", output)
    if m:
        wanted = m.group(1)
        name = re.split(r"[\[=<>!~;]", wanted)[0]
        has_versions = re.search(r"\(from versions: (?!none\))", output)
        if not has_versions:
            exists = _pip(["index", "versions", name]).returncode == 0
            if exists:
                return CompileError(
                    f"--pip: `{name}` has no pure-Python wheel for Python {guest}: it has native "
                    "extensions (or ships only source), and a Python component can only bundle pure-Python "
                    "packages.", diagnostics=detail,
                )  # fmt: skip
            return CompileError(f"--pip: there is no package `{name}` on PyPI.", diagnostics=detail)
        return CompileError(f"--pip: no version of `{name}` matches `{wanted}`.", diagnostics=detail)
    return CompileError(f"--pip {' '.join(specs)}: pip could not install it.", diagnostics=detail)


# ---------------------------------------------------------------- --use


def check_use_name(name: str, pip_dir: Path | None = None) -> None:
    """`--use name` makes a module `name`: refuse one that would hide a module Python or the cell needs."""
    why = None
    if not name.isidentifier() or keyword.iskeyword(name):
        why = "it is not a name Python can import"
    elif name in sys.stdlib_module_names or name in exports.RESERVED_MODULES or name == APP_MODULE:
        why = f"a module `{name}` would hide the one Python (or the component's runtime) needs"
    elif pip_dir is not None and ((pip_dir / name).is_dir() or (pip_dir / f"{name}.py").exists()):
        why = f"a module `{name}` would hide the package of that name installed with --pip"
    if why:
        raise CompileError(
            f"--use {name}: a Python cell imports component `{name}` as the module `{name}`, but {why}; "
            "give that component another name (%%asterai LANG NAME) to use it from Python."
        )


# ---------------------------------------------------------------- the plugin


class Python(Language):
    name = "python"
    aliases = ("py",)
    bulk_twins = True  # big numeric lists and bytes cross as one string block (see exports.py)
    supports_use = True  # `--use geo`: `import geo` in the cell (see exports.use_module)
    one_int_type = True
    cell_options = {"pip": ("PKG[==VER]", "bundle a pure-Python package from PyPI")}
    supports_exports = True  # `--exports demo:math/calc`: one more class in the app module (exports.py)

    def interface(self, source: str, component: str) -> wit.Interface:
        return self.interface_using(source, component, {})

    def interface_using(self, source: str, component: str, uses: dict[str, wit.Interface]) -> wit.Interface:
        cell = read_cell(source, uses)
        if not cell.exports:
            why = "".join(f"\n  - {s}" for s in cell.skipped)
            raise CompileError(
                "this Python cell exports nothing: write at least one top-level `def` whose parameters and "
                "return value all have type hints, e.g. `def add(a: int, b: int) -> int: return a + b` "
                "(names starting with `_` stay private)." + (f"\nLeft out:{why}" if why else "")
            )
        return wit.Interface(wit_name(component), tuple(ex.fn for ex in cell.exports))

    def toolchain_fingerprint(self, progress: Progress) -> str:
        return python_toolchain().fingerprint

    def build(self, job: BuildJob) -> bytes:
        tc = python_toolchain()
        cell = read_cell(job.source, job.uses)
        specs = check_pip_specs(list(job.options.get("pip") or []))
        uses = dict(job.uses or {})
        pip_dir = pip_folder(specs, tc, job.progress) if specs else None
        for name in uses:
            check_use_name(name, pip_dir)
        wit_dir = job.workdir / "wit"
        wit_dir.mkdir()
        declared = job.exports  # `--exports`: the magic checked that the cell implements them, once each
        (wit_dir / "cell.wit").write_text(
            wit.render_world(job.iface, bulk=True, uses=tuple(uses.values()), extra_exports=declared)
        )
        base = [str(tc.componentize_py), "-d", str(wit_dir), "-w", wit.WORLD]
        ifaces = [job.iface, *[b for b in [wit.bulk_interface(job.iface)] if b is not None], *declared]
        names = exports.binding_names(job.workdir, base, ifaces)
        # the classes of used components' types, where an `--exports` interface has classes of its own
        used = exports.used_type_names(job.workdir, uses, job.iface) if declared and uses else {}
        app_dir = job.workdir / "app"
        app_dir.mkdir()
        (app_dir / f"{APP_MODULE}.py").write_text(
            exports.app_module(job.component, job.source, cell, names, used)
        )
        for name, provider in uses.items():
            (app_dir / f"{name}.py").write_text(exports.use_module(name, provider, job.workdir / "bindings"))
        paths = ["-p", str(app_dir)]
        if pip_dir is not None:
            paths += ["-p", str(pip_dir)]
        # An empty virtualenv: without one componentize-py offers the kernel's own site-packages to the cell.
        venv = job.workdir / "venv"
        (venv / "lib" / f"python{tc.guest_python}" / "site-packages").mkdir(parents=True)
        env = {**os.environ, "VIRTUAL_ENV": str(venv)}
        env.pop("PYTHONPATH", None)
        out = job.workdir / "cell.wasm"
        job.progress(f"{job.component}: building a Python component with componentize-py (10-30 s)...")
        proc = subprocess.run(
            [*base, "componentize", *paths, APP_MODULE, "-o", str(out)],
            cwd=job.workdir, env=env, capture_output=True, text=True,
        )  # fmt: skip
        if proc.returncode != 0 or not out.exists():
            raise _build_error(job.component, proc.stdout + proc.stderr)
        printed_file = app_dir / exports.PRINTED_FILE
        printed = printed_file.read_text(errors="replace").rstrip("\n") if printed_file.exists() else ""
        if printed:
            job.progress(
                f"{job.component}: its top-level code printed (it runs once, at build time):\n{printed}"
            )
        return out.read_bytes()

    def trap_message(self, stderr_text: str) -> str | None:
        return exports.trap_message(stderr_text)


def _build_error(component: str, output: str) -> CompileError:
    tb = exports.init_traceback(output)
    if tb is not None:
        summary = exports.trap_message(tb) or "it raised an exception"
        return CompileError(
            f"{component}: the cell's top-level code failed while the component was built: {summary}",
            diagnostics=tb.rstrip(), component=component,
        )  # fmt: skip
    lines = [ln for ln in output.splitlines() if ln.strip()]
    cut = next((i for i, ln in enumerate(lines) if ln.strip().startswith("Stack backtrace:")), len(lines))
    detail = "\n".join(lines[:cut][-40:])
    return CompileError(f"{component}: componentize-py could not build this cell", diagnostics=detail,
                        component=component)  # fmt: skip
