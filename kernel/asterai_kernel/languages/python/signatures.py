"""Reading a Python cell (with `ast`): its top-level `def`s with full type hints and the dataclasses and enums
they use -> WIT functions and types; the imports made below the top level, which the app module hoists."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from ... import wit
from ...errors import CompileError
from ...names import pascal_name, wit_name
from ..base import Unsupported, check_unique_wit_names, used_type

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
class ResourceDef:
    """A plain class with a typed `__init__`: a WIT resource. `functions`: (kind, Python method name,
    function) with kind constructor, method or static, as the WIT `[kind]name.method` functions."""

    py_name: str
    resource: wit.Resource
    functions: list[tuple[str, str, wit.Function]] = field(default_factory=list)


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
    flags: dict[str, EnumDef] = field(default_factory=dict)  # WIT flags from `class Perms(Flag)`
    resources: dict[str, ResourceDef] = field(default_factory=dict)  # WIT resources from plain classes
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
        self.flags: dict[str, EnumDef] = {}
        self.resources: dict[str, ResourceDef] = {}
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
        ty = used_type(self.uses[module], module, name)
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
            elif any(_base_name(b) in ("Flag", "IntFlag") for b in node.bases):
                ty = self._flags(node)
            elif any(_base_name(b) in ("Enum", "StrEnum") for b in node.bases):
                ty = self._enum(node)
            elif is_resource(node):
                ty = self._resource(node)
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

    def _flags(self, node: ast.ClassDef) -> wit.Flags:
        """`class Perms(Flag)`: WIT flags, one per member in the order written (values are Python's)."""
        members: list[tuple[str, str]] = []
        for stmt in node.body:
            if (
                isinstance(stmt, ast.Assign)
                and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)
            ):
                name = stmt.targets[0].id
                if not name.startswith("_"):
                    members.append((name, _wit_name(name)))
        if not members:
            raise Unsupported(f"`{node.name}` (a Flag without members)")
        flags = wit.Flags(_wit_name(node.name), tuple(f for _, f in members), docs=_docs(node))
        self.flags[flags.name] = EnumDef(node.name, members, None)
        return flags

    def _resource(self, node: ast.ClassDef) -> wit.Handle:
        """A class with a typed `__init__`: its public methods with full hints are the resource's methods,
        @staticmethods its static functions. The class named in a hint is an owned handle, except as a
        parameter, where it is lent (borrow)."""
        resource = wit.Resource(_wit_name(node.name), docs=_docs(node))
        own = wit.Handle(resource, True)
        self.resolved[node.name] = own  # its methods name the class itself
        found = ResourceDef(node.name, resource)
        for stmt in node.body:
            if not isinstance(stmt, ast.FunctionDef) or (
                stmt.name.startswith("_") and stmt.name != "__init__"
            ):
                continue
            static = any(_decorator_name(d) == "staticmethod" for d in stmt.decorator_list)
            kind = "constructor" if stmt.name == "__init__" else "static" if static else "method"
            args = stmt.args.posonlyargs + stmt.args.args
            if kind != "static":
                args = args[1:]  # self
            if any(a.annotation is None for a in args) or (kind != "constructor" and stmt.returns is None):
                continue  # not fully hinted: stays private, like a top-level def
            where = f"`{node.name}.{stmt.name}`"
            params = [(_wit_name(a.arg), lent(self._hint_at(a.annotation, where, a.arg))) for a in args]
            if kind == "method":
                params.insert(0, ("self", wit.Handle(resource, False)))
            returns = stmt.returns
            result = own if kind == "constructor" else None
            if kind != "constructor" and not (isinstance(returns, ast.Constant) and returns.value is None):
                result = self._hint_at(returns, where, "")
            name = {"constructor": f"[constructor]{resource.name}",
                    "method": f"[method]{resource.name}.{_wit_name(stmt.name)}",
                    "static": f"[static]{resource.name}.{_wit_name(stmt.name)}"}[kind]  # fmt: skip
            fn = wit.Function(name, tuple(params), result, docs=_docs(stmt))
            found.functions.append((kind, stmt.name, fn))
        if not any(k == "constructor" for k, _, _ in found.functions):
            raise Unsupported(f"`{node.name}` (a class whose `__init__` lacks type hints on its parameters)")
        self.resources[resource.name] = found
        return own

    def _hint_at(self, node: ast.expr, where: str, param: str) -> wit.WitType:
        try:
            return self.hint(node)
        except Unsupported as e:
            what = f"parameter `{param}` has the hint" if param else "returns the hint"
            raise Unsupported(f"{where}, whose {what} {e}") from None

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


def is_resource(node: ast.ClassDef) -> bool:
    """A plain class (no dataclass, Enum or Flag) whose `__init__` is defined in it: a WIT resource."""
    if any(_decorator_name(d) == "dataclass" for d in node.decorator_list) or node.bases:
        return False
    return any(isinstance(s, ast.FunctionDef) and s.name == "__init__" for s in node.body)


def lent(ty: wit.WitType) -> wit.WitType:
    """A parameter's type: an object of a resource class is lent for the call (borrow), not given."""
    return wit.Handle(ty.resource, False) if isinstance(ty, wit.Handle) else ty


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
            params.append((_wit_name(p.arg), lent(types.hint(p.annotation))))
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
    for node in tree.body:  # every resource class is exported, whether a function names it or not
        if isinstance(node, ast.ClassDef) and is_resource(node):
            try:
                types.user_type(node.name)
            except Unsupported as e:
                raise _error_at(node, f"class {e}, which has no WIT equivalent. {SUPPORTED_HINT}") from None
    for res in types.resources.values():
        exports += [Export(f"{res.py_name}.{py}", fn, 0) for _, py, fn in res.functions]
    check_unique_wit_names(
        [(ex.fn.name, f"`def {ex.py_name}`") for ex in exports]
        + [
            (wname, f"the class `{d.py_name}`")
            for wname, d in [*types.records.items(), *types.enums.items(), *types.flags.items()]
        ]
        + [(wname, f"{label} of the used component") for (_, wname), label in types.used.items()]
    )
    return Cell(exports, types.records, types.enums, types.flags, types.resources, _hoisted_imports(tree),
                skipped)  # fmt: skip


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
