"""The app module componentize-py wraps for a Python cell, and reading what the guest wrote when it failed.

The app module carries the cell's source untouched (as a string) and runs it once, at build time, in a
module of its own compiled under the file name `<cell NAME>` with one leading blank line, so tracebacks show
the cell's own line numbers (the magic line is line 1) and, through linecache, its source lines. It then
imports every module the cell imports below its top level (a call has no file system to import from), and
defines the class componentize-py calls: one method per export, converting the cell's dataclasses and enums
to the generated bindings' and back; and one more class per interface of `--exports`, whose methods call the
same functions through converters of its own (componentize-py gives each interface its own classes). An
exception in a call prints a traceback at the cell's lines and exits (a trap without componentize-py's own
panic text); `trap_message` reads it back on the host.
"""

from __future__ import annotations

import ast
import re
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ... import wit
from ...errors import CompileError
from ...names import pascal_name
from .signatures import Cell

APP_MODULE = "asterai_app"  # the module componentize-py wraps: this file generates it
INIT_BEGIN = "----- asterai: the cell failed while building -----"
INIT_END = "----- asterai: end -----"
EXIT_CODE = 70  # what a call that raised exits with (a trap for the host)


# ---------------------------------------------------------------- the generated bindings' names


@dataclass
class BindingNames:
    """Names in the bindings componentize-py generates for one exported interface (read, not guessed)."""

    iface: wit.Interface
    iface_class: str
    iface_module: str
    methods: list[str]
    types: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # WIT name -> (class, attrs)


def binding_names(workdir: Path, base_cmd: list[str], ifaces: list[wit.Interface]) -> list[BindingNames]:
    """The bindings' class, module, methods and type classes of each exported interface (the cell's own,
    its bulk twins and those of `--exports`, each with its own classes for its records and enums)."""
    out = workdir / "bindings"
    proc = subprocess.run([*base_cmd, "bindings", str(out)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise CompileError(
            "componentize-py rejected the WIT derived from this cell (please report it)",
            diagnostics=(proc.stderr or proc.stdout).strip()[-3000:],
        )
    exports = out / "wit_world" / "exports"
    protocols = {n.name.lower(): n for n in ast.parse((exports / "__init__.py").read_text()).body
                 if isinstance(n, ast.ClassDef)}  # fmt: skip
    counts = Counter(i.name for i in ifaces)
    found = []
    for iface in ifaces:
        module = _export_module(iface, counts[iface.name] > 1, exports)
        protocol = protocols.get(module.replace("_", "").lower()) if module else None
        if protocol is None:
            raise RuntimeError(f"unexpected bindings from componentize-py in {out} (interface {iface.name})")
        methods = [n.name for n in protocol.body if isinstance(n, ast.FunctionDef)]
        names = BindingNames(iface, protocol.name, module, methods)
        # a used component's types are its bindings'; a resource is implemented by a class of ours
        named = [t for t in iface.types() if not t.owner and not isinstance(t, wit.Resource)]
        resources = {pascal_name(t.name) for t in iface.types() if isinstance(t, wit.Resource)}
        types = _read_types(exports / f"{module}.py", named, resources)
        if types is None or len(methods) != len(wit.plain_functions(iface.functions)):
            raise RuntimeError(f"unexpected bindings from componentize-py in {out} (interface {iface.name})")
        names.types = types
        found.append(names)
    return found


def _read_types(path: Path, named: list[wit.WitType], resources: set[str] = frozenset()
               ) -> dict[str, tuple[str, list[str]]] | None:  # fmt: skip
    """The classes a bindings module defines for `named` (the interface's own types, in WIT order): WIT
    name -> (class, its fields for a record, its members for an enum, its cases' classes for a variant,
    whose class is the `Union` of those). None if the module does not hold what the WIT says."""
    body = ast.parse(path.read_text()).body
    classes = [n for n in body if isinstance(n, ast.ClassDef) and n.name not in resources]
    unions = {}  # `Shape = Union[Shape_Circle, Shape_None_]`: the case classes -> `Shape`
    for n in body:
        if (
            isinstance(n, ast.Assign)
            and isinstance(n.targets[0], ast.Name)
            and isinstance(n.value, ast.Subscript)
        ):
            elts = n.value.slice.elts if isinstance(n.value.slice, ast.Tuple) else [n.value.slice]
            unions[tuple(ast.unparse(e) for e in elts)] = n.targets[0].id
    found: dict[str, tuple[str, list[str]]] = {}
    at = 0
    for ty in named:
        if isinstance(ty, wit.Variant):  # a class per case, then their Union
            cases = [c.name for c in classes[at : at + len(ty.cases)]]
            at += len(ty.cases)
            if tuple(cases) not in unions:
                return None
            found[ty.name] = (unions[tuple(cases)], cases)
            continue
        if at >= len(classes):
            return None
        cls = classes[at]
        at += 1
        if isinstance(ty, wit.Record):
            attrs = [s.target.id for s in cls.body if isinstance(s, ast.AnnAssign)]
        else:
            attrs = [t.id for s in cls.body if isinstance(s, ast.Assign) for t in s.targets]
        found[ty.name] = (cls.name, attrs)
    return found if at == len(classes) else None


def used_type_names(workdir: Path, uses: dict[str, wit.Interface], iface: wit.Interface
                    ) -> dict[str, tuple[str, str, list[str]]]:  # fmt: skip
    """The classes of the used components' types (`--use`) that the cell's interface `iface` takes, in the
    bindings of the interfaces they come from: WIT name -> (module, class, fields/members/cases as in
    `_read_types`). The cell has these classes where an `--exports` interface has its own (_Converters)."""
    wanted = {t.name: t.owner for t in iface.types() if t.owner}
    providers = {i.name: i for i in uses.values()}
    imports = workdir / "bindings" / "wit_world" / "imports"
    found: dict[str, tuple[str, str, list[str]]] = {}
    for owner in dict.fromkeys(wanted.values()):
        module, provider = _ident(owner), providers.get(owner)
        path = imports / f"{module}.py"
        named = [t for t in provider.types() if not t.owner or t.owner == owner] if provider else []
        types = _read_types(path, named) if provider and path.exists() else None
        if types is None:
            raise RuntimeError(f"unexpected bindings from componentize-py in {imports} (import {owner})")
        found.update({n: (module, *types[n]) for n, o in wanted.items() if o == owner and n in types})
    return found


def _export_module(iface: wit.Interface, clash: bool, exports: Path) -> str | None:
    """The bindings module of an exported interface: its name (`calc`), or, when the world exports two
    interfaces of that name (component `calc` with `--exports demo:math/calc`), its package's and its name
    (`asterai_cells_calc`, `demo_math_calc`), as componentize-py names them."""
    plain = _ident(iface.name)
    full = _ident(re.sub(r"[:/.-]", "_", iface.package.partition("@")[0]) + "_" + plain)
    for module in (full, plain) if clash else (plain, full):
        if (exports / f"{module}.py").exists():
            return module
    return None


# ---------------------------------------------------------------- the app module


class ConverterMemo:
    """Generated converters, made once per WIT type and direction: `into(ty)` for values reaching the cell,
    `out(ty)` for values it returns; a subclass makes them (`_into`, `_out`) into `self.done`."""

    done: dict[tuple[str, str], str | None]

    def into(self, ty: wit.WitType) -> str | None:
        key = ("in", repr(ty))
        if key not in self.done:
            self.done[key] = self._into(ty)
        return self.done[key]

    def out(self, ty: wit.WitType) -> str | None:
        key = ("out", repr(ty))
        if key not in self.done:
            self.done[key] = self._out(ty)
        return self.done[key]


class _Converters(ConverterMemo):
    """Generated functions converting values between the bindings' types and the cell's own.

    `into(ty)` turns what componentize-py hands a method into what the cell's function expects; `out(ty)`
    turns what the function returned into what componentize-py lowers (which wants exactly `list`, `tuple`,
    `bytes` and the bindings' enums). Both return None where nothing needs converting.

    componentize-py gives every exported interface classes of its own, so an `--exports` interface's point
    is not the cell interface's: its methods convert to the cell's dataclasses and enums the same way, and
    to the classes of the used components' bindings (`used`) where the cell takes those (`geo.Point`).
    """

    def __init__(self, cell: Cell, names: BindingNames, k: int,
                 used: dict[str, tuple[str, str, list[str]]] | None = None) -> None:  # fmt: skip
        self.cell, self.names, self.k = cell, names, k  # k: the interface's number (its bindings are _b{k})
        self.used = used or {}  # used components' types: WIT name -> (module, class, attrs), used_type_names
        self.defs: list[str] = []
        self.done: dict[tuple[str, str], str | None] = {}

    def _fn(self, kind: str, ty: wit.WitType, body: str) -> str:
        name = f"_{kind}{self.k}_{len(self.defs)}"
        self.defs.append(f"def {name}(x):\n    return {body}\n")
        return name

    def _into(self, ty: wit.WitType) -> str | None:
        if getattr(ty, "owner", ""):  # a used component's type: the cell has the bindings' class already
            return None
        if isinstance(ty, wit.Bulk):
            return "_bulk_in_bytes" if ty.elem == wit.Prim("u8") else f"_bulk_in_{_ARRAY[ty.elem.name]}"
        if isinstance(ty, wit.List) and (inner := self.into(ty.elem)):
            return self._fn("in", ty, f"[{inner}(e) for e in x]")
        if isinstance(ty, wit.Option):
            return self._option("in", ty)
        if isinstance(ty, wit.Tuple):
            parts = [self.into(e) for e in ty.elems]
            if any(parts):
                items = ", ".join(f"{p}(x[{i}])" if p else f"x[{i}]" for i, p in enumerate(parts))
                return self._fn("in", ty, f"({items},)")
        if isinstance(ty, wit.Result):
            return self._result("in", ty)
        if isinstance(ty, (wit.Record, wit.Enum, wit.Variant)) and ty.name in self.used:
            return self._used("in", ty)
        if isinstance(ty, wit.Record):
            rec = self.cell.records[ty.name]
            _, attrs = self.names.types[ty.name]
            args = []
            for (py_field, fty), attr in zip(rec.fields, attrs):
                conv = self.into(fty)
                args.append(f"{py_field}={conv}(x.{attr})" if conv else f"{py_field}=x.{attr}")
            return self._fn("in", ty, f"_cell.{rec.py_name}({', '.join(args)})")
        if isinstance(ty, wit.Enum):
            return self._fn("in", ty, f"_IN{self.k}_{_ident(ty.name)}[x]")
        if isinstance(ty, wit.Handle):  # the bindings hand over our resource class's object
            return self._fn("in", ty, "x._obj")
        if isinstance(ty, wit.Flags):
            cls, _ = self.names.types[ty.name]
            return self._fn(
                "in", ty, f"_flags_to(_b{self.k}.{cls}, _cell.{self.cell.flags[ty.name].py_name}, x)"
            )
        return None

    def _out(self, ty: wit.WitType) -> str | None:
        if getattr(ty, "owner", ""):
            return None
        if isinstance(ty, wit.Bulk):
            return "_bulk_out_bytes" if ty.elem == wit.Prim("u8") else f"_bulk_out_{_ARRAY[ty.elem.name]}"
        if isinstance(ty, wit.List) and ty.elem == wit.Prim("u8"):
            return "_bytes"
        if isinstance(ty, wit.List):
            inner = self.out(ty.elem)
            return self._fn("out", ty, f"[{inner}(e) for e in x]") if inner else "_list"
        if isinstance(ty, wit.Option):
            return self._option("out", ty)
        if isinstance(ty, wit.Tuple):
            parts = [self.out(e) for e in ty.elems]
            items = ", ".join(f"{p}(x[{i}])" if p else f"x[{i}]" for i, p in enumerate(parts))
            return self._fn("out", ty, f"({items},) if _tuple(x, {len(parts)}) else None")
        if isinstance(ty, wit.Result):
            return self._result("out", ty)
        if isinstance(ty, (wit.Record, wit.Enum, wit.Variant)) and ty.name in self.used:
            return self._used("out", ty)
        if isinstance(ty, wit.Record):
            rec = self.cell.records[ty.name]
            cls, _ = self.names.types[ty.name]
            args = []
            for py_field, fty in rec.fields:
                conv = self.out(fty)
                args.append(f"{conv}(x.{py_field})" if conv else f"x.{py_field}")
            return self._fn("out", ty, f"_b{self.k}.{cls}({', '.join(args)})")
        if isinstance(ty, wit.Enum):
            table, cls = f"_OUT{self.k}_{_ident(ty.name)}", self.cell.enums[ty.name].py_name
            return self._fn("out", ty, f"_enum_out({table}, _cell.{cls}, x)")
        if isinstance(ty, wit.Handle):  # the cell's object, in our resource class the bindings lower
            module, cls = self.names.iface_module, pascal_name(ty.resource.name)
            return self._fn("out", ty, f"__import__({module!r}).{cls}._wrap(x)")
        if isinstance(ty, wit.Flags):
            cls, _ = self.names.types[ty.name]
            return self._fn(
                "out", ty, f"_flags_to(_cell.{self.cell.flags[ty.name].py_name}, _b{self.k}.{cls}, x)"
            )
        return None

    def _option(self, kind: str, ty: wit.Option) -> str | None:
        inner = (self.into if kind == "in" else self.out)(ty.inner)
        if not inner:
            return None
        if isinstance(ty.inner, wit.Option):  # the outer level of a nested option is a `Some`
            return self._fn(kind, ty, f"None if x is None else _Some({inner}(x.value))")
        return self._fn(kind, ty, f"None if x is None else {inner}(x)")

    def _result(self, kind: str, ty: wit.Result) -> str | None:
        conv = self.into if kind == "in" else self.out
        ok, err = (conv(t) if t is not None else None for t in (ty.ok, ty.err))
        if not ok and not err:
            return None
        ok_x, err_x = (f"{c}(x.value)" if c else "x.value" for c in (ok, err))
        return self._fn(kind, ty, f"_Ok({ok_x}) if isinstance(x, _Ok) else _Err({err_x})")

    def _used(self, kind: str, ty: wit.WitType) -> str:
        """A used component's type in an `--exports` interface: between this interface's classes and the
        used component's bindings' (same WIT, so the same fields, members and cases, in the same order)."""
        module, u_cls, u_attrs = self.used[ty.name]
        b_cls, b_attrs = self.names.types[ty.name]
        mine, theirs = (f"_b{self.k}", b_cls, b_attrs), (f"_u_{module}", u_cls, u_attrs)
        (src, _, s_attrs), (dst, d_cls, d_attrs) = (mine, theirs) if kind == "in" else (theirs, mine)
        conv = self.into if kind == "in" else self.out
        if isinstance(ty, wit.Record):
            args = [f"{c}(x.{a})" if (c := conv(t)) else f"x.{a}" for (_, t), a in zip(ty.fields, s_attrs)]
            return self._fn(kind, ty, f"{dst}.{d_cls}({', '.join(args)})")
        if isinstance(ty, wit.Enum):
            return self._fn(kind, ty, f"{dst}.{d_cls}(x.value)")
        cases = []  # a variant: each case's class -> how to make the other side's
        for (_, t), s_case, d_case in zip(ty.cases, s_attrs, d_attrs):
            c = conv(t) if t is not None else None
            value = "" if t is None else f"{c}(x.value)" if c else "x.value"
            cases.append(f"{src}.{s_case}: lambda x: {dst}.{d_case}({value})")
        table = f"_CASES{self.k}_{len(self.defs)}"
        self.defs.append(f"{table} = {{{', '.join(cases)}}}\n")
        return self._fn(kind, ty, f"{table}[x.__class__](x)")


# array typecodes of numeric WIT types (little-endian, like wasm), for the bulk twins' data
_ARRAY = {"s8": "b", "u8": "B", "s16": "h", "u16": "H", "s32": "i", "u32": "I", "s64": "q", "u64": "Q",
          "f32": "f", "f64": "d"}  # fmt: skip


def _ident(wit_name: str) -> str:
    return wit_name.replace("-", "_")


_BULK_CODECS = "".join(
    f"def _bulk_in_{c}(x):\n    return _array.array({c!r}, _bulk_bytes(x)).tolist()\n\n\n"
    f"def _bulk_out_{c}(x):\n    return _bulk_text(_array.array({c!r}, x).tobytes())\n\n\n"
    for c in sorted(set(_ARRAY.values()))
)
_CELL_HEAD = """\
# Generated by asterai for the Python cell {component!r}; componentize-py wraps this module.
import array as _array
import binascii as _binascii
import importlib as _importlib
import linecache as _linecache
import os as _os
import sys as _sys
import traceback as _traceback
import types as _types

_FILE = {file!r}
_GLUE = __file__
_SOURCE = {source!r}
_LINES = ("\\n" + _SOURCE).splitlines(True)  # one blank line first: line numbers are the cell's
_linecache.cache[_FILE] = (len(_SOURCE) + 1, None, _LINES, _FILE)
"""
# The helpers every module that runs a cell has (formatted once: `helpers`).
_HELPERS = '''\
def _strip(te, seen):
    """Drop this module's frames from a traceback (and from its causes and contexts)."""
    if te is None or id(te) in seen:
        return
    seen.add(id(te))
    te.stack = _traceback.StackSummary.from_list([f for f in te.stack if f.filename != _GLUE])
    _strip(te.__cause__, seen)
    _strip(te.__context__, seen)
    for sub in getattr(te, "exceptions", None) or ():
        _strip(sub, seen)


# Standard-library modules that import but cannot do their work in the sandbox: why, in a call's error.
_SANDBOXED = {{
    "subprocess": "a WebAssembly component cannot start processes",
    "socket": ("a component cannot open sockets of its own; it reaches the network through the kernel's "
               "`net` provider (`--use net`, with `--allow-host HOST` or `--allow-net`)"),
}}


def _explain(e):
    """Say why a module is missing or cannot work, and what to do: the component's CPython has no files to
    import from and no processes or sockets."""
    if isinstance(e, ModuleNotFoundError) and e.name and "component" not in str(e):
        top = e.name.partition(".")[0]
        if top in _sys.stdlib_module_names:
            why = (f"the standard library's `{{top}}` cannot work inside a WebAssembly component (it needs "
                   "native libraries or operating-system services that the sandbox does not provide)")
        else:
            why = (f"a Python component holds the standard library and the packages of --pip: add `--pip "
                   f"{{top}}` to the magic line (pure-Python packages), or `--use {{top}}` for a component")
        e.msg = f"No module named {{e.name!r}}: {{why}}"
        e.args = (e.msg,)
    elif isinstance(e, OSError):
        tb, modules = e.__traceback__, set()
        while tb is not None:
            modules.add(tb.tb_frame.f_globals.get("__name__"))
            tb = tb.tb_next
        for module, why in _SANDBOXED.items():
            if module in modules:
                if e.strerror:  # what str(e) shows after "[Errno N]"
                    e.strerror = f"{{module}}: {{why}} ({{e.strerror}})"
                else:
                    e.args = (f"{{module}}: {{why}} ({{e}})",)
                return


def _format(e):
    try:
        _explain(e)
        te = _traceback.TracebackException.from_exception(e)
        _strip(te, set())
        return "".join(te.format())
    except BaseException:
        return f"{{type(e).__name__}}: {{e}}\\n"


def _trap(e):
    """A call raised: show its traceback at the cell's lines and end the call with a trap."""
    try:
        _sys.stdout.flush()
        _sys.stderr.write(_format(e))
        _sys.stderr.flush()
    finally:
        _os._exit({exit_code})


def _bad_result(e, fn, hint, line):
    _trap(TypeError(f"`{{fn}}` (line {{line}}) returned a value that does not match its hint `{{hint}}`: "
                    f"{{e}}"))


def _r_int(x):
    if x.__class__ is not int and x.__class__ is not bool:
        raise TypeError(f"{{type(x).__name__}} {{x!r:.60}} is not an int")
    if not -9223372036854775808 <= x <= 9223372036854775807:
        raise OverflowError(f"{{x}} does not fit in 64 bits (WIT s64)")
    return x


def _r_float(x):
    if x.__class__ is not float and not isinstance(x, int):
        raise TypeError(f"{{type(x).__name__}} {{x!r:.60}} is not a float")
    return x


def _r_str(x):
    if x.__class__ is not str:
        raise TypeError(f"{{type(x).__name__}} {{x!r:.60}} is not a str")
    return x


def _r_bool(x):
    if x.__class__ is not bool:
        raise TypeError(f"{{type(x).__name__}} {{x!r:.60}} is not a bool")
    return x


def _bytes(x):
    return x if x.__class__ is bytes else bytes(x)


def _list(x):
    return x if x.__class__ is list else list(x)


def _tuple(x, n):
    if len(x) != n:
        raise TypeError(f"a tuple of {{n}} values was expected, not {{len(x)}}")
    return True


_LOW7 = bytes(b & 0x7F for b in range(256))
_TOP_BIT = bytes(0x30 | b >> 7 for b in range(256))  # "0" or "1": the byte's top bit
_BIT_HIGH = bytes.maketrans(b"01", b"\\x00\\x80")
_TOPS_HEX = bytes.maketrans(b"@ABCDEFGHIJKLMNO", b"0123456789abcdef")
_HEX_TOPS = bytes.maketrans(b"0123456789abcdef", b"@ABCDEFGHIJKLMNO")


def _bulk_bytes(x):
    """A bulk twin's string (values.BulkCodec): n bytes with the top bit cleared, then a character
    0x40 | (4 top bits) per 4 bytes. Big integers move the bits, at C speed."""
    b = x.encode("latin-1")
    n = len(b) * 4 // 5
    if not n:
        return b""
    m = len(b) - n
    bits = format(int(b[n:][::-1].translate(_TOPS_HEX), 16), f"0{{4 * m}}b")  # bit 0 last
    high = bits[::-1][:n].encode().translate(_BIT_HIGH)
    return (int.from_bytes(b[:n], "little") | int.from_bytes(high, "little")).to_bytes(n, "little")


def _bulk_text(data):
    n = len(data)
    m = (n + 3) // 4
    if not n:
        return ""
    bits = data.translate(_TOP_BIT)[::-1]  # the top bit of byte 0 last
    tops = format(int(bits, 2), f"0{{m}}x").encode()[::-1].translate(_HEX_TOPS)
    return (data.translate(_LOW7) + tops).decode("ascii")


def _bulk_in_bytes(x):
    return _bulk_bytes(x)


def _bulk_out_bytes(x):
    return _bulk_text(_bytes(x))


{bulk_codecs}
def _flags_to(src, dst, x):
    """A flags value in the other class of the same WIT flags: members match by position."""
    if not isinstance(x, src):
        raise TypeError(f"expected a {{src.__name__}}, got {{type(x).__name__}}")
    out = dst(0)
    for theirs, mine in zip(src._member_names_, dst._member_names_):
        if src[theirs] in x:
            out |= dst[mine]
    return out


def _enum_out(table, cls, x):
    try:
        return table[x]
    except (KeyError, TypeError):
        return table[cls(x)]


class _Copy:
    """sys.stdout/stderr while the cell's top-level code runs: keeps what it prints for the host to show once
    (componentize-py shows nothing of it); later writes, by a logger that kept a reference, pass on."""

    def __init__(self, stream, sink):
        self._stream, self._sink = stream, sink

    def write(self, text):
        if self._sink is not None:  # the top-level code runs: kept, and shown by the host once
            self._sink.append(text)
            return len(text)
        return self._stream.write(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _run_cell():
    """Run the cell's top-level code in a module of its own, keeping what it prints: (the module, what it
    printed, the traceback at the cell's lines when it failed or None)."""
    printed = []
    streams = _sys.stdout, _sys.stderr
    _sys.stdout, _sys.stderr = _Copy(streams[0], printed), _Copy(streams[1], printed)
    cell = _types.ModuleType("asterai_cell")
    cell.__file__ = _FILE
    _sys.modules["asterai_cell"] = cell
    failed = None
    try:
        exec(compile("\\n" + _SOURCE, _FILE, "exec", dont_inherit=True), cell.__dict__)
    except BaseException as e:
        failed = "".join(printed) + _format(e)
    finally:
        _sys.stdout._sink = _sys.stderr._sink = None
        _sys.stdout, _sys.stderr = streams
    return cell, "".join(printed), failed
'''
# Imports the whole standard library: run once by the app module (and by the shared runner, runner.py).
PRELOAD = '''\
# Modules that cannot be imported usefully here: test suites, GUIs, installers, and ones that print or
# open a browser on import.
_NOT_PRELOADED = {"__hello__", "__phello__", "__main__", "antigravity", "this", "idlelib", "tkinter",
                  "turtle", "turtledemo", "test", "tests", "ensurepip", "venv", "lib2to3", "pydoc_data",
                  "_pyrepl"}


def _import_quietly(name):
    try:
        return _importlib.import_module(name)
    except (Exception, SystemExit):
        return None


def _preload_stdlib():
    """Import the whole standard library now, while componentize-py snapshots the interpreter.

    A call cannot read module files, and the standard library imports modules inside its functions
    (`Counter.most_common` imports heapq): a module nobody imported at build time would be missing then.
    Modules that cannot work here (ssl, ctypes, ...) fail now and say why if a call imports them.
    """
    import io
    import pkgutil

    streams = _sys.stdout, _sys.stderr
    _sys.stdout = _sys.stderr = io.StringIO()  # some modules warn or print as they load
    try:
        for name in sorted(_sys.stdlib_module_names - _NOT_PRELOADED):
            module = _import_quietly(name)
            if getattr(module, "__path__", None) is None:
                continue
            for sub in pkgutil.walk_packages(module.__path__, name + ".", onerror=lambda _: None):
                if _NOT_PRELOADED.isdisjoint(sub.name.split(".")):
                    _import_quietly(sub.name)
    finally:
        _sys.stdout, _sys.stderr = streams


'''
_RUN_AT_BUILD = """\
_preload_stdlib()
_cell, _printed, _failed = _run_cell()
if _failed is not None:
    _sys.stderr.write("\\n{begin}\\n" + _failed + "{end}\\n")
    raise SystemExit(1)
if _printed:  # the build reads it back from the app's folder, writable while componentize-py runs
    with open(_os.path.join(_os.path.dirname(__file__), {printed_file!r}), "w") as _f:
        _f.write(_printed)
"""


def prelude(component: str, source: str) -> str:
    """What every module that runs a cell starts with: the cell's source (cell_head), then tracebacks at its
    lines, result checks, bulk blocks, converters' helpers and the printed-output copy (helpers)."""
    return cell_head(component, source) + "\n\n" + helpers()


def cell_head(component: str, source: str) -> str:
    return _CELL_HEAD.format(component=component, file=f"<cell {component}>", source=source)


def helpers() -> str:
    """The same for every cell: the shared runner compiles it once (languages/python/interpreter.py)."""
    return _HELPERS.format(exit_code=EXIT_CODE, bulk_codecs=_BULK_CODECS)


PRINTED_FILE = "asterai-printed.txt"


# Scalar results are checked before componentize-py lowers them: its own failure is a panic with less to say.
_RESULT_CHECKS = {"s64": "_r_int", "f64": "_r_float", "string": "_r_str", "bool": "_r_bool"}
_METHOD = """\
    def {method}(self{params}):
        try:
            return {call}
        except BaseException as e:
            _trap(e)
"""
_METHOD_OUT = """\
    def {method}(self{params}):
        try:
            r = {call}
        except BaseException as e:
            _trap(e)
        try:
            return {out}(r)
        except Exception as e:
            _bad_result(e, {bad})
"""


def app_module(component: str, source: str, cell: Cell, bindings: list[BindingNames],
               used: dict[str, tuple[str, str, list[str]]] | None = None,
               resource_files: dict[str, str] | None = None) -> str:  # fmt: skip
    """The app module for the cell's interface, its bulk twins (see wit.bulk_twin), if any, and the
    interfaces of `--exports`, whose methods call the same functions; `used`: see used_type_names.
    `resource_files` receives the module implementing the cell's resources (module name -> text)."""
    head = (
        prelude(component, source)
        + PRELOAD
        + _RUN_AT_BUILD.format(begin=INIT_BEGIN, end=INIT_END, printed_file=PRINTED_FILE)
    )
    parts = [head]
    resource_files = {} if resource_files is None else resource_files
    if cell.hoisted:
        parts.append(
            "\n# Imports the cell makes below its top level, done now: a call cannot import from files."
        )
        for stmt in cell.hoisted:
            parts.append(f"try:\n    {stmt}\nexcept Exception:\n    pass")
    if any(b.iface.package != wit.PACKAGE for b in bindings):  # `--exports`: see _Converters._option, _result
        parts.append("\nfrom componentize_py_types import Err as _Err, Ok as _Ok, Some as _Some")
    for module in sorted({m for m, _, _ in (used or {}).values()}):
        parts.append(f"from wit_world.imports import {module} as _u_{module}")
    by_fn = {ex.fn.name: ex for ex in cell.exports}
    for k, names in enumerate(bindings):
        conv = _Converters(cell, names, k, used)
        if names.types:
            parts.append(f"\nfrom wit_world.exports import {names.iface_module} as _b{k}\n")
        for wname, (cls, members) in names.types.items():
            enum = cell.enums.get(wname)
            if enum is not None:
                pairs = ", ".join(
                    f"_cell.{enum.py_name}.{py}: _b{k}.{cls}.{m}" for (py, _), m in zip(enum.members, members)
                )  # fmt: skip
                parts.append(f"_OUT{k}_{_ident(wname)} = {{{pairs}}}")
                parts.append(f"_IN{k}_{_ident(wname)} = {{v: k for k, v in _OUT{k}_{_ident(wname)}.items()}}")
        methods = []
        for fn, method in zip(wit.plain_functions(names.iface.functions), names.methods):
            ex = by_fn[fn.name]
            args = [f"a{i}" for i in range(len(fn.params))]
            call_args = ", ".join(
                f"{c}({a})" if (c := conv.into(t)) else a for a, (_, t) in zip(args, fn.params)
            )
            out = None
            if fn.result is not None:
                out = _RESULT_CHECKS.get(fn.result.wit()) if not isinstance(fn.result, wit.Bulk) else None
                out = out or conv.out(fn.result)
            params = "".join(", " + a for a in args)
            call = f"_cell.{ex.py_name}({call_args})"
            if out is None:
                methods.append(_METHOD.format(method=method, params=params, call=call))
            else:
                bad = f"{ex.py_name!r}, {_hint_text(ex.fn.result)!r}, {ex.line}"
                methods.append(_METHOD_OUT.format(method=method, params=params, call=call, out=out, bad=bad))
        if k == 0 and cell.resources:  # before conv.defs: the resource classes' converters are in there
            resource_files[names.iface_module] = resource_module(cell, conv)
        parts.extend(conv.defs)
        # (a cell exporting only resources has no method here: its functions are its classes')
        parts.append(f"\nclass {names.iface_class}:\n" + ("\n".join(methods) or "    pass"))
    return "\n".join(parts)


_RESOURCE_HEAD = f"""\
# The cell's resource classes as componentize-py wants them: a class per resource in the module named after
# the interface, each wrapping the cell's own object (`_obj`).
import {APP_MODULE} as _app
from {APP_MODULE} import _bad_result, _cell, _trap
"""
_RESOURCE_CALL = """\
    {deco}def {method}({first}{params}):
        try:
            r = {call}
        except BaseException as e:
            _trap(e)
        try:
            return {out}
        except Exception as e:
            _bad_result(e, {bad})
"""


def resource_module(cell: Cell, conv: _Converters) -> str:
    """The module of the cell interface's resource classes (their converters land in `conv.defs`)."""
    parts = [_RESOURCE_HEAD]
    for res in cell.resources.values():
        py = res.py_name
        lines = [f"\nclass {pascal_name(res.resource.name)}:",
                 "    @classmethod\n    def _wrap(cls, obj):\n        made = cls.__new__(cls)\n"
                 "        made._obj = obj\n        return made\n"]  # fmt: skip
        for kind, method, fn in res.functions:
            params = fn.params[1:] if kind == "method" else fn.params
            args = [f"a{i}" for i in range(len(params))]
            call_args = ", ".join(
                f"_app.{c}({a})" if (c := conv.into(t)) else a for a, (_, t) in zip(args, params)
            )
            if kind == "constructor":
                lines.append(f"    def __init__(self{''.join(', ' + a for a in args)}):\n        try:\n"
                             f"            self._obj = _cell.{py}({call_args})\n"
                             "        except BaseException as e:\n            _trap(e)\n")  # fmt: skip
                continue
            target = f"self._obj.{method}" if kind == "method" else f"_cell.{py}.{method}"
            out = None
            if fn.result is not None:
                out = _RESULT_CHECKS.get(fn.result.wit()) or conv.out(fn.result)
            lines.append(_RESOURCE_CALL.format(
                deco="@classmethod\n    " if kind == "static" else "", method=method,
                first="self" if kind == "method" else "cls", params="".join(", " + a for a in args),
                call=f"{target}({call_args})", out=f"_app.{out}(r)" if out else "r",
                bad=f"{py + '.' + method!r}, {_hint_text(fn.result)!r}, 0" if fn.result else "'', '', 0",
            ))  # fmt: skip
        parts.append("\n".join(lines))
    return "\n".join(parts)


def _hint_text(ty: wit.WitType) -> str:
    """A WIT type as the Python hint a cell would write for it."""
    if isinstance(ty, wit.Prim):
        return {"s64": "int", "f64": "float", "bool": "bool"}.get(ty.name, ty.name)
    if isinstance(ty, wit.String):
        return "str"
    if isinstance(ty, wit.List):
        return "bytes" if ty.elem == wit.Prim("u8") else f"list[{_hint_text(ty.elem)}]"
    if isinstance(ty, wit.Tuple):
        return f"tuple[{', '.join(_hint_text(e) for e in ty.elems)}]"
    if isinstance(ty, wit.Option):
        return f"{_hint_text(ty.inner)} | None"
    return ty.wit()


# ---------------------------------------------------------------- reading what the guest wrote

_EXC_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)(?:: .*)?$", re.M)
_FRAME = re.compile(r'^  File "<cell [^>]*>", line (\d+), in (.*)$')
_PANIC = re.compile(r"on an `Err` value: (?:"
                    r"PyErr \{ type: <class '(\w+)'>, value: \w+\((.*)\), traceback: .*\}|"
                    r"CastError \{ from: (.*), classinfo: <class '(\w+)'> \})")  # fmt: skip


def trap_message(stderr_text: str) -> str | None:
    """The guest's account of a failed call: its exception and the cell line it was raised from."""
    tb_at = stderr_text.rfind("Traceback (most recent call last):")
    panic_at = stderr_text.rfind("panicked at")
    if panic_at > tb_at:
        return _panic_message(stderr_text[panic_at:])
    if tb_at < 0:  # an exception without frames in the cell (a returned value that does not fit)
        found = _EXC_LINE.findall(stderr_text)
        return found[-1].strip() if found else None
    line, exc = None, []
    for text in stderr_text[tb_at:].splitlines()[1:]:
        if not exc and (text.startswith(" ") or not text.strip()):
            m = _FRAME.match(text)
            if m:
                line = m.group(1)
            continue
        exc.append(text)
    head = exc[0].strip() if exc else "an exception"
    if len(exc) > 1 and exc[1].strip() and not exc[1].startswith("During handling"):
        head += " ..."
    return f"{head} (at line {line})" if line else head


def _panic_message(text: str) -> str | None:
    m = _PANIC.search(text)
    if m is None:
        if "MemoryError" in text:
            return "MemoryError: the component ran out of memory"
        first = text.splitlines()[1:2]
        return first[0].strip() if first else None
    if m.group(1):
        what = f"{m.group(1)}: {_unquote(m.group(2))}"
    else:
        what = f"{m.group(3)} is not a {m.group(4)}"
    return f"a returned value does not match the function's type hints ({what})"


def _unquote(text: str) -> str:
    try:
        value = ast.literal_eval(text)
        return value if isinstance(value, str) else text
    except (ValueError, SyntaxError):
        return text


def init_traceback(output: str) -> str | None:
    """The traceback the app module printed when the cell's top-level code failed at build time."""
    start = output.rfind(INIT_BEGIN)
    if start < 0:
        return None
    end = output.find(INIT_END, start)
    return output[start + len(INIT_BEGIN) : end if end >= 0 else None].strip("\n") + "\n"
