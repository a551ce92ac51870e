"""The glue a Python cell loads into the shared CPython runner (interpreter.py): the cell, run once at load,
and a function per export converting plain data (asterai_kernel/plain.py) to the cell's values and back.

Arguments arrive as marshal bytes carried in a latin-1 string (the host is trusted); results leave as JSON
(the host decodes nothing that could run code, whatever the guest does), bytes inside it as latin-1 text,
except a string result, which is the text itself.
The helpers are the app module's (exports.helpers, compiled once in the runner): tracebacks at the cell's
lines, the result checks, and a trap after a failed call, so errors read exactly as those of a cell built
into its own component.
"""

from __future__ import annotations

from ... import wit
from ..base import Unsupported
from .exports import _ARRAY, ConverterMemo, _hint_text, _ident, cell_head
from .signatures import Cell

# exports.helpers(), compiled once in the runner (interpreter.py), which hands its code to each load
_HELPERS_RUN = "exec(_HELPERS, globals())\n"
_CONVERTERS = """
import json as _json
import marshal as _marshal


_dumps = _json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_tail = []  # the bytes a result refers to (latin-1 text), appended after its JSON
_tail_size = 0


# Bytes in a result: small ones as latin-1 text in the JSON, big ones after it (JSON would escape most bytes).
def _latin1(x):
    global _tail_size
    text = x.decode("latin-1")
    if len(text) < 512:
        return text
    _tail.append(text)
    _tail_size += len(text)
    return {"b": [_tail_size - len(text), len(text)]}


def _with_tail(head):
    global _tail_size
    if not _tail:
        return head
    text = head + "\\x1f" + "".join(_tail)  # JSON escapes every control character: the first \\x1f splits
    _tail.clear()
    _tail_size = 0
    return text


def _str_in(x):
    return x.decode()


def _flags_in(cls, pairs, x):
    out = cls(0)
    for py, name in pairs:
        if name in x:
            out |= cls[py]
    return out


def _flags_out(cls, pairs, x):
    if not isinstance(x, cls):
        raise TypeError(f"expected a {cls.__name__}, got {type(x).__name__}")
    return [name for py, name in pairs if cls[py] in x]
"""
_RUN_CELL = "_cell, _PRINTED, _FAILED = _run_cell()\n"
# `--use NAME`: the module NAME, made before the cell runs (runner_uses.py), with the converters' helpers it
# shares and the host's `call` (the runner's load puts it in the glue as _HOST_CALL). Its frames are the
# glue's: tracebacks show the cell's lines only.
_USE_MODULE = """
def _use_module(name, source):
    module = _types.ModuleType(name)
    module._host_call, module._str_in = _HOST_CALL, _str_in
    module._flags_in, module._flags_out = _flags_in, _flags_out
    exec(compile(source, _GLUE, "exec", dont_inherit=True), module.__dict__)
    _sys.modules[name] = module
"""
_CALL = """
def _call{i}(args):
    {unpack}
    try:
        r = _cell.{py}({call_args})
    except BaseException as e:
        _trap(e)
{ret}
"""
_RET_VOID = '    return ""'
_RET = """    try:
        return {text}
    except Exception as e:
        _bad_result(e, {bad})"""


# Results sent as they are rather than as JSON (interpreter.decode_result reads them back): JSON of an int is
# its str, and a string needs no quoting when it is the whole result.
_RAW_RESULTS = {"s64": "str({})", "string": "{}"}
# Results checked inline (a call of _r_int costs a microsecond of a ~10 us call in the guest's CPython).
_INLINE_CHECKS = {
    "s64": "r if r.__class__ is int and -9223372036854775808 <= r <= 9223372036854775807 else _r_int(r)",
    "string": "r if r.__class__ is str else _r_str(r)",
}


class DataConverters(ConverterMemo):
    """Generated functions between plain data and the cell's values: `into(ty)` for arguments, `out(ty)`
    for results; None where the value needs nothing."""

    def __init__(self, cell: Cell, used: dict[str, str] | None = None) -> None:
        self.cell = cell
        self.used = used or {}  # a used component's interface name -> its module (`--use`)
        self.defs: list[str] = []
        self.tables: list[str] = []  # enum tables, made once the cell has run
        self.done: dict[tuple[str, str], str | None] = {}

    def _fn(self, kind: str, body: str) -> str:
        name = f"_{kind}_{len(self.defs)}"
        self.defs.append(f"def {name}(x):\n    return {body}\n")
        return name

    def _used(self, table: str, ty: wit.WitType) -> str | None:
        """A used component's type: its module's converter (runner_uses.py), bound once the module exists."""
        owner = getattr(ty, "owner", "")
        if not owner:
            return None
        name = f"_{table.lower()}_{_ident(owner)}_{_ident(ty.name)}"
        self.defs.append(f"{name} = _sys.modules[{self.used[owner]!r}].{table}[{ty.name!r}]\n")
        return name

    def _into(self, ty: wit.WitType) -> str | None:
        return self._used("PLAIN_IN", ty) or self._plain_into(ty)

    def _plain_into(self, ty: wit.WitType) -> str | None:
        """Scalars, strings, lists, tuples and options from plain data; named types by `_named_into`."""
        if isinstance(ty, wit.Prim):
            return None
        if isinstance(ty, wit.String):
            return "_str_in"
        if isinstance(ty, wit.List):
            if ty.elem == wit.Prim("u8"):
                return None  # bytes
            if isinstance(ty.elem, wit.Prim) and ty.elem.name in _ARRAY:
                return self._fn("in", f"_array.array({_ARRAY[ty.elem.name]!r}, x).tolist()")
            inner = self.into(ty.elem)
            return self._fn("in", f"[{inner}(e) for e in x]") if inner else None
        if isinstance(ty, wit.Tuple):
            items = ", ".join(
                f"{c}(x[{i}])" if (c := self.into(e)) else f"x[{i}]" for i, e in enumerate(ty.elems)
            )
            return self._fn("in", f"({items},)")
        if isinstance(ty, wit.Option):
            inner = self.into(ty.inner)
            value = f"{inner}(x[0])" if inner else "x[0]"
            nested = isinstance(ty.inner, wit.Option)  # only a used component's functions have these
            return self._fn("in", f"None if x is None else {f'Some({value})' if nested else value}")
        return self._named_into(ty)

    def _named_into(self, ty: wit.WitType) -> str | None:
        """The cell's records, enums and flags from plain data."""
        if isinstance(ty, wit.Record):
            rec = self.cell.records[ty.name]
            args = ", ".join(f"{f}={c}(x[{i}])" if (c := self.into(t)) else f"{f}=x[{i}]"
                             for i, (f, t) in enumerate(rec.fields))  # fmt: skip
            return self._fn("in", f"_cell.{rec.py_name}({args})")
        if isinstance(ty, wit.Enum):
            enum = self.cell.enums[ty.name]
            table = f"_IN_{_ident(ty.name)}"
            pairs = ", ".join(f"{case!r}: _cell.{enum.py_name}.{py}" for py, case in enum.members)
            self.tables.append(f"{table} = {{{pairs}}}")
            return self._fn("in", f"{table}[x]")
        if isinstance(ty, wit.Flags):
            flags = self.cell.flags[ty.name]
            return self._fn("in", f"_flags_in(_cell.{flags.py_name}, {flags.members!r}, x)")
        raise Unsupported(f"{ty.wit()} on the shared interpreter")

    def _out(self, ty: wit.WitType) -> str | None:
        if used := self._used("PLAIN_OUT", ty):
            return used
        if isinstance(ty, wit.Prim):
            return {"s64": "_r_int", "f64": "_r_float", "bool": "_r_bool"}.get(ty.name)
        if isinstance(ty, wit.String):
            return "_r_str"
        if isinstance(ty, wit.List):
            if ty.elem == wit.Prim("u8"):
                return self._fn("out", "_latin1(_bytes(x))")
            if isinstance(ty.elem, wit.Prim) and ty.elem.name in _ARRAY:
                return self._fn("out", f"_latin1(_array.array({_ARRAY[ty.elem.name]!r}, x).tobytes())")
            inner = self.out(ty.elem)
            return self._fn("out", f"[{inner}(e) for e in x]") if inner else "_list"
        if isinstance(ty, wit.Tuple):
            items = ", ".join(
                f"{c}(x[{i}])" if (c := self.out(e)) else f"x[{i}]" for i, e in enumerate(ty.elems)
            )
            return self._fn("out", f"[{items}] if _tuple(x, {len(ty.elems)}) else None")
        if isinstance(ty, wit.Option):
            inner = self.out(ty.inner)
            return self._fn(
                "out", f"None if x is None else [{inner}(x)]" if inner else "None if x is None else [x]"
            )
        if isinstance(ty, wit.Record):
            rec = self.cell.records[ty.name]
            items = ", ".join(f"{c}(x.{f})" if (c := self.out(t)) else f"x.{f}" for f, t in rec.fields)
            return self._fn("out", f"[{items}]")
        if isinstance(ty, wit.Enum):
            enum = self.cell.enums[ty.name]
            table = f"_OUT_{_ident(ty.name)}"
            pairs = ", ".join(f"_cell.{enum.py_name}.{py}: {case!r}" for py, case in enum.members)
            self.tables.append(f"{table} = {{{pairs}}}")
            return self._fn("out", f"_enum_out({table}, _cell.{enum.py_name}, x)")
        if isinstance(ty, wit.Flags):
            flags = self.cell.flags[ty.name]
            return self._fn("out", f"_flags_out(_cell.{flags.py_name}, {flags.members!r}, x)")
        raise Unsupported(f"{ty.wit()} on the shared interpreter")


def glue(component: str, source: str, cell: Cell, paths: list[str] = (),
         uses: dict[str, wit.Interface] | None = None) -> str:  # fmt: skip
    """The module the runner's `load` runs for this cell; it defines `_FAILED`, `_PRINTED` and `_CALLS`.
    `paths`: folders the cell imports from besides the runner's standard library (its --pip packages);
    `uses`: the components it imports (`--use`), provider name -> interface."""
    parts = [cell_head(component, source), _HELPERS_RUN,
             *[f"_sys.path.insert(0, {p!r})" for p in paths], _CONVERTERS]  # fmt: skip
    if uses:
        parts.append(_USE_MODULE)
        from .runner_uses import provider_module  # its converters build on this module's

        parts += [f"_use_module({name!r}, {provider_module(name, iface)!r})" for name, iface in uses.items()]
    parts.append(_RUN_CELL)
    for stmt in cell.hoisted:  # imports the cell makes below its top level: the runner has them already
        parts.append(f"try:\n    {stmt}\nexcept Exception:\n    pass")
    conv = DataConverters(cell, {iface.name: name for name, iface in (uses or {}).items()})
    calls = []
    for i, ex in enumerate(cell.exports):
        fn = ex.fn
        args = [f"a{k}" for k in range(len(fn.params))]
        unpack = (
            f"{''.join(a + ', ' for a in args)}= _marshal.loads(args.encode('latin-1'))" if args else "pass"
        )
        call_args = ", ".join(f"{c}({a})" if (c := conv.into(t)) else a for a, (_, t) in zip(args, fn.params))
        if fn.result is None:
            ret = _RET_VOID
        else:
            out = conv.out(fn.result)
            bad = f"{ex.py_name!r}, {_hint_text(fn.result)!r}, {ex.line}"
            value = _INLINE_CHECKS.get(fn.result.wit()) or (f"{out}(r)" if out else "r")
            text = _RAW_RESULTS.get(fn.result.wit(), "_with_tail(_dumps({}))").format(value)
            ret = _RET.format(text=text, bad=bad)
        calls.append(_CALL.format(i=i, unpack=unpack, py=ex.py_name, call_args=call_args, ret=ret))
    parts.extend(conv.defs)
    if conv.tables:
        parts.append("if _FAILED is None:\n" + "\n".join("    " + t for t in conv.tables))
    parts.extend(calls)
    parts.append(f"_CALLS = [{', '.join(f'_call{i}' for i in range(len(cell.exports)))}]\n")
    return "\n".join(parts)
