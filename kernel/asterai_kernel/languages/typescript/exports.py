"""The entry module of a JavaScript/TypeScript cell's component: it exports the WIT interface's functions.

Each export calls the cell's function, converting values between what the engine hands over and what the
cell's declared types promise (`undefined` for a none on every engine, the cell's own property names and
string literals, arrays for `u8[]`, exact 64-bit integers as bigint, flags as the number of an enum's bits),
and turns an uncaught error into a report at the cell's lines followed by a trap (runtime.js). An exported
class reaches the engine as a wrapper class whose constructor, methods and static functions do the same
(_wrapper).
"""

from __future__ import annotations

import json

from ... import wit
from ...names import pascal_name
from .signatures import Cell, Export, JsType, camel

QUICKJS = "quickjs"
STARLINGMONKEY = "starlingmonkey"
RUNTIME_FILE = "asterai_runtime.js"
BAD_RESULT = ' must return {tag: "ok", val} or {tag: "err", val}'
# What the generated converters call in runtime.js
CONVERTERS = ("__asteraiWideIn", "__asteraiWideOut", "__asteraiFlagsIn", "__asteraiFlagsOut")
RUNTIME_IMPORTS = ("__asteraiFail", "__asteraiAdopt", "__asteraiWrap", "__asteraiUnwrap", *CONVERTERS)


class Helpers:
    """Named JavaScript converter functions, one per (direction, type) that needs converting."""

    def __init__(
        self, engine: str, classes: dict[str, str] | None = None, used: dict[str, str] | None = None
    ) -> None:
        self.engine = engine
        self.classes = classes or {}  # the cell's exported classes: WIT resource name -> class name
        self.used = used or {}  # a `--use` module's classes of the provider's resources (imports.py)
        self.lines: list[str] = []
        self.names: dict[tuple[str, JsType], str | None] = {}
        self.bodies: dict[str, str] = {}  # converter code -> its name: one function per distinct body

    def get(self, t: JsType | None, way: str) -> str | None:
        """The name of a function converting `t` ("in": engine -> cell; "out": cell -> engine), or None."""
        if t is None:
            return None
        key = (way, t)
        if key not in self.names:
            self.names[key] = None  # types are not recursive; this only guards re-entry
            body = self._body(t, way)
            if body is not None and body not in self.bodies:
                self.bodies[body] = f"${way}{len(self.lines)}"
                self.lines.append(f"const {self.bodies[body]} = (v) => {body};")
            self.names[key] = None if body is None else self.bodies[body]
        return self.names[key]

    def call(self, t: JsType | None, way: str, expr: str) -> tuple[str, bool]:
        fn = self.get(t, way)
        return (f"{fn}({expr})", True) if fn else (expr, False)

    def _body(self, t: JsType, way: str) -> str | None:
        if t.kind == "resource" and t.wit.resource.name in self.used:  # a provider's object (imports.py)
            cls = self.used[t.wit.resource.name]
            if way == "in":
                return f"{cls}[$adopt](v)"
            return f"{cls}[{'$give' if t.wit.own else '$lend'}](v)"
        if t.kind == "resource":  # the engine holds wrappers of the cell's objects (see _wrapper)
            if way == "in":
                return "__asteraiUnwrap(v)"
            cls = json.dumps(self.classes[t.wit.resource.name])
            return f"__asteraiWrap({wrapper_name(t.wit.resource.name)}, cell[{cls}], v)"
        sm = self.engine == STARLINGMONKEY
        if t.kind == "prim":
            if t.wit.name in ("s64", "u64"):
                unsigned = "true" if t.wit.name == "u64" else "false"
                if sm:
                    if way == "in":  # StarlingMonkey hands a negative s64 over as its unsigned bit pattern
                        return f"BigInt.as{'Int' if t.wit.name == 's64' else 'Uint'}N(64, BigInt(v))"
                    # range-checked (componentize-js 0.23 wraps an out-of-range one, traps on a negative s64)
                    return f"__asteraiWideOut(v, {unsigned}, true)"
                # QuickJS carries 64-bit integers as doubles: exact up to 2^53 - 1, refused beyond
                return f"__asteraiWide{'In' if way == 'in' else 'Out'}(v, {unsigned})"
            return None
        if t.kind == "string":
            return None
        if t.kind == "bytes":
            if way == "in":
                return "Array.from(v)" if t.as_array else "(v instanceof Uint8Array ? v : Uint8Array.from(v))"
            return "(v instanceof Uint8Array ? v : Uint8Array.from(v))"
        if t.kind == "list":
            fn = self.get(t.children[0], way)
            if fn is None:
                return None
            return f"Array.from(v, (x) => {fn}(x))"
        if t.kind == "option":
            inner, converted = self.call(t.children[0], way, "v")
            if way == "in":
                return f"(v == null ? undefined : {inner})" if (converted or not sm) else None
            none = "undefined" if sm else "null"
            return f"(v == null ? {none} : {inner})"
        if t.kind == "result":
            ok, c1 = self.call(t.children[0], way, "v.val")
            err, c2 = self.call(t.children[1], way, "v.val")
            if not (c1 or c2):
                return None
            return f"(v.tag === 'ok' ? {{ tag: 'ok', val: {ok} }} : {{ tag: 'err', val: {err} }})"
        if t.kind == "tuple":
            parts = [self.call(c, way, f"v[{i}]") for i, c in enumerate(t.children)]
            if not any(c for _, c in parts):
                return None
            return f"[{', '.join(p for p, _ in parts)}]"
        if t.kind == "record":
            engine_keys = [camel(name) for name, _ in t.wit.fields]
            changed = list(t.keys) != engine_keys
            items = []
            for key, engine_key, child in zip(t.keys, engine_keys, t.children):
                src, dst = (engine_key, key) if way == "in" else (key, engine_key)
                value, converted = self.call(child, way, f"v[{json.dumps(src)}]")
                changed = changed or converted
                items.append(f"{json.dumps(dst)}: {value}")
            return f"({{ {', '.join(items)} }})" if changed else None
        if t.kind == "enum":
            if list(t.keys) == list(t.wit.cases):
                return None
            pairs = zip(t.wit.cases, t.keys) if way == "in" else zip(t.keys, t.wit.cases)
            table = json.dumps(dict(pairs))
            return f"({table}[v] ?? v)"
        if t.kind == "flags":
            keys = json.dumps([camel(f) for f in t.wit.flags])
            if way == "in":
                return f"__asteraiFlagsIn(v, {keys})"
            return f"__asteraiFlagsOut(v, {json.dumps(pascal_name(t.wit.name))}, {keys})"
        if t.kind == "variant":
            cases = []
            changed = False
            for (case, _), tag, child in zip(t.wit.cases, t.keys, t.children):
                src, dst = (case, tag) if way == "in" else (tag, case)
                value, converted = self.call(child, way, "v.val")
                changed = changed or converted or src != dst
                val = f", val: {value}" if child is not None else ""
                cases.append(f"case {json.dumps(src)}: return {{ tag: {json.dumps(dst)}{val} }};")
            if not changed:
                return None
            return f"(() => {{ switch (v.tag) {{ {' '.join(cases)} default: return v; }} }})()"
        raise AssertionError(t.kind)


def export_names(iface: wit.Interface, extra: tuple[wit.Interface, ...] = ()) -> list[str]:
    """The names the entry module exports its interface object under, one per interface of the world.

    The cell's own `asterai:cells/NAME` is looked up as `camelName` by both engines. An interface of another
    package (`--exports`) is looked up by componentize-qjs 0.4.5 under its bare name, camelCased (`calc` for
    `demo:math/calc@1.0.0`), and by componentize-js 0.23 (StarlingMonkey) under its qualified name first
    (an ES2022 string export name), then the bare one: both are exported. The object is the same for all:
    `--exports` only accepts an interface the cell implements exactly (`wit.diff`), so an interface whose
    bare name is the cell's own reads the same functions with the same types.
    """
    names = [camel(iface.name)]
    for other in extra:
        for name in (camel(other.name), json.dumps(other.qualified)):
            if name not in names:
                names.append(name)
    return names


def entry_module(iface: wit.Interface, cell: Cell, cell_file: str, engine: str,
                 extra: tuple[wit.Interface, ...] = ()) -> str:  # fmt: skip
    """The JavaScript entry module: imports the runtime and the cell, exports the interface object (also
    under the names of the interfaces of other packages in `extra` that the cell implements, `--exports`)."""
    h = Helpers(engine, cell.resources)
    functions = [_function(h, i, ex, cell.resources) for i, ex in enumerate(cell.exports)]
    members = [f"{json.dumps(camel(ex.fn.name))}: $f{i}" for i, ex in enumerate(cell.exports)
               if wit.resource_part(ex.fn.name) is None]  # fmt: skip
    members += [f"{json.dumps(pascal_name(r))}: {wrapper_name(r)}" for r in cell.resources]
    return "\n".join([
        "// Generated by asterai: the component's exports, wrapping the cell's functions and classes.",
        f"import {{ {', '.join(RUNTIME_IMPORTS)} }} from \"./{RUNTIME_FILE}\";",
        f'import * as cell from "./{cell_file}";',
        *h.lines,
        *functions,
        *(_wrapper(r, cls, cell.exports) for r, cls in cell.resources.items()),
        f"const $iface = {{ {', '.join(members)} }};",
        *(f"export {{ $iface as {name} }};" for name in export_names(iface, extra)),
        "",
    ])  # fmt: skip


def wrapper_name(resource: str) -> str:
    """The entry module's class that the engine sees for an exported class of the cell (see _wrapper)."""
    return f"$R{pascal_name(resource)}"


def _target(ex: Export, classes: dict[str, str]) -> tuple[str, str, str]:
    """What `$f` calls for an export (the cell's function, a class's constructor, a method of the cell's
    object behind the wrapper the engine passes as `self`, a static function), what an error report names
    (`add`, `new Ledger`, `Ledger.add`), and the kind."""
    name = json.dumps(ex.js_name)
    part = wit.resource_part(ex.fn.name)
    if part is None:
        return f"cell[{name}]", ex.js_name, "function"
    kind, owner = part[0], classes[part[1]]
    cls = f"cell[{json.dumps(owner)}]"
    if kind == "constructor":
        return f"new {cls}", f"new {owner}", kind
    callee = f"__asteraiUnwrap(self)[{name}]" if kind == "method" else f"{cls}[{name}]"
    return callee, f"{owner}.{ex.js_name}", kind


def _function(h: Helpers, i: int, ex: Export, classes: dict[str, str]) -> str:
    """`$f{i}`: calls the cell (see _target), converting arguments and result, reporting an error."""
    callee, label, kind = _target(ex, classes)
    label = json.dumps(label)
    args = [f"a{j}" for j in range(len(ex.params))]
    call_args = ", ".join(h.call(t, "in", a)[0] for (_, t), a in zip(ex.params, args))
    params = ["self", *args] if kind == "method" else args
    body = [f"function $f{i}({', '.join(params)}) {{", "  let r;"]
    if ex.top_result:
        ok, _ = h.call(ex.result.children[0], "out", "r.val")
        err, _ = h.call(ex.result.children[1], "out", "r.val")
        return "\n".join([
            *body,
            "  let failed = false;",
            "  try {",
            f"    r = {callee}({call_args});",
            "    if (r == null || (r.tag !== 'ok' && r.tag !== 'err'))",
            f"      throw new TypeError({json.dumps(ex.js_name + BAD_RESULT)});",
            f"    if (r.tag === 'err') {{ failed = true; r = {err}; }} else r = {ok};",
            f"  }} catch (e) {{ __asteraiFail({label}, e); }}",
            "  if (failed) throw r;  // the engine makes it the result's err",
            "  return r;",
            "}",
        ])  # fmt: skip
    # (a constructor returns the cell's object: the wrapper's constructor adopts it)
    result = h.call(ex.result, "out", "r")[0] if ex.result is not None else "r"
    returns = f"    return {result};" if ex.result is not None or kind == "constructor" else "    return;"
    return "\n".join([
        *body,
        "  try {",
        f"    r = {callee}({call_args});",
        returns,
        f"  }} catch (e) {{ __asteraiFail({label}, e); }}",
        "}",
    ])  # fmt: skip


def _wrapper(resource: str, cls: str, cell_exports: list[Export]) -> str:
    """The class the engine constructs and calls for the cell's class `cls`: it holds one of the cell's
    objects (runtime.js keeps the pairs) and converts like exported functions do. The cell never sees a
    wrapper, nor the engine a cell's object, so each side's `instanceof` and identity hold."""
    members = []
    for i, ex in enumerate(cell_exports):
        part = wit.resource_part(ex.fn.name)
        if part is None or part[1] != resource:
            continue
        kind, name = part[0], json.dumps(camel(part[2])) if part[2] else ""
        members.append({
            "constructor": f"  constructor(...a) {{ __asteraiAdopt(this, $f{i}(...a)); }}",
            "method": f"  [{name}](...a) {{ return $f{i}(this, ...a); }}",
            "static": f"  static [{name}](...a) {{ return $f{i}(...a); }}",
        }[kind])  # fmt: skip
    return "\n".join([f"const {wrapper_name(resource)} = class {cls} {{", *members, "};"])


WASI_IMPORTS = ("wasi:cli/stdout@0.2.12", "wasi:cli/stderr@0.2.12", "wasi:cli/exit@0.2.12")


def world(iface: wit.Interface, uses: tuple[wit.Interface, ...] = (),
          extra: tuple[wit.Interface, ...] = ()) -> str:  # fmt: skip
    """The cell's WIT world (with `--use` imports and `--exports` interfaces of other packages) plus the
    WASI interfaces the runtime uses."""
    doc = wit.render_world(iface, uses=uses, extra_exports=extra)
    head = f"world {wit.WORLD} {{\n"
    imports = "".join(f"  import {i};\n" for i in WASI_IMPORTS)
    return doc.replace(head, head + imports, 1)
