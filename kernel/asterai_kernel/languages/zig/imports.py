"""The import side of Zig glue: `--use geo` gives the cell a module `geo` (`const geo = @import("geo");`)
with the provider's types and functions in Zig's conventions (`geo.Point`, `geo.wordCount(text)`).

Each function lowers its arguments, calls the core import `asterai:cells/geo` `word-count` (which the kernel
forwards to geo's live instance) and lifts the result. Strings and lists of scalars are lent as they are;
anything else is built in the call's arena. Strings and lists in the result are written by the host into
that arena too: they are valid until the cell's own call returns (asterai.zig).

A provider's resource is a struct holding its handle, as std.fs.File holds its descriptor:
`geo.Shape.init(..)` makes one in the provider, `s.area()` calls a method (lending it), `geo.Shape.unit()` a
static function, and `s.deinit()` drops the provider's object. One never deinit'ed lives until the cell's
instance closes. A function taking it owned (`own<shape>`) moves it to the provider: the cell must not use or
deinit it after.
"""

from __future__ import annotations

from collections.abc import Callable

from ... import abi, wit
from ...errors import CompileError
from ...names import snake_name, wit_ident
from .emit import CORE, RUNTIME, ZigEmitter, field_name, fn_name, indent, spell_wit, type_name, zig_ident
from .exports import CELL

# Module names a `--use` cannot take: Zig's own, the runtime's and the cell's in the build
RESERVED_MODULES = frozenset({"std", "builtin", "root", RUNTIME, CELL})
# The names a generated module declares itself (its wrappers' locals all start with `_`)
MODULE_NAMES = frozenset({"std", RUNTIME, "rt", "imports"})


def check_use_name(module: str) -> None:
    if module in RESERVED_MODULES:
        raise CompileError(
            f"--use {module}: a Zig cell cannot import a component named {module!r} "
            f"(`@import(\"{module}\")` is Zig's or asterai's own); rename that component"
        )


def _owner_module(t: wit.WitType, iface: wit.Interface, uses: dict[str, wit.Interface]) -> str | None:
    """The other used module that defines `t`, when the provider took `t` from it (wit.foreign)."""
    if not t.owner or t.owner == iface.name:
        return None
    return next((m for m, i in uses.items() if i.name == t.owner), None)


def definition(t: wit.WitType, spell: Callable[[wit.WitType], str] = lambda t: spell_wit(t).zig) -> str:
    """A record, enum, flags or variant as a Zig declaration; `spell` spells its fields' and payloads'."""
    name = type_name(t.name)
    if isinstance(t, wit.Record):
        body = ", ".join(f"{field_name(n)}: {spell(ft)}" for n, ft in t.fields)
        return f"pub const {name} = struct {{ {body} }};"
    if isinstance(t, wit.Enum):
        return f"pub const {name} = enum {{ {', '.join(field_name(c) for c in t.cases)} }};"
    if isinstance(t, wit.Flags):
        bits = "".join(f"{field_name(f)}: bool = false, " for f in t.flags)
        pad = 8 * t.size() - len(t.flags)
        return f"pub const {name} = packed struct(u{8 * t.size()}) {{ {bits}_pad: u{pad} = 0 }};"
    cases = ", ".join(f"{field_name(c)}: {spell(p)}" if p else field_name(c) for c, p in t.cases)
    return f"pub const {name} = union(enum) {{ {cases} }};"


def type_definitions(iface: wit.Interface, uses: dict[str, wit.Interface], module: str, taken: set[str]
                     ) -> tuple[list[str], list[str], set[str]]:  # fmt: skip
    """The provider's types as Zig declarations, their functions' core externs, and the other used modules
    they come from."""
    defs, externs, deps = [], [], set()
    for t in iface.types():
        owner = _owner_module(t, iface, uses)
        if owner is not None:
            defs.append(f'pub const {type_name(t.name)} = @import("{owner}").{type_name(t.name)};')
            deps.add(owner)
        elif isinstance(t, wit.Resource):
            definition_, more = resource_definition(t, iface, module, taken)
            defs.append(definition_)
            externs += more
        else:
            defs.append(definition(t))
    return defs, externs, deps


# A resource struct's own members; a provider's function of one of these names gets a `_` after it
RESOURCE_MEMBERS = frozenset({"handle", "init", "deinit"})


def resource_definition(t: wit.Resource, iface: wit.Interface, module: str, taken: set[str]
                        ) -> tuple[str, list[str]]:  # fmt: skip
    """A provider's resource as an extern struct holding its handle (so that a list of them is the list of
    handles the ABI lays out), with its constructor `init`, methods, statics and `deinit`; and its externs."""
    name, mine = type_name(t.name), [f for f in iface.functions if _resource_of(f) == t.name]
    names = {f.name: _member_name(f) for f in mine}
    inner = taken | RESOURCE_MEMBERS | set(names.values())  # a parameter may shadow none of them
    made = [import_function(iface, f, inner, names[f.name], module) for f in mine]
    drop = f"[resource-drop]{t.name}"
    deinit = (
        f"/// Drops this object in {module}; its handle is invalid afterwards.\n"
        f'pub fn deinit(self: {name}) void {{\n    imports.@"{drop}"(self.handle);\n}}\n'
    )
    body = indent("\n".join(["handle: i32,\n", *(w for w, _ in made), deinit]))
    doc = "".join(f"/// {line}\n" for line in t.docs.splitlines())
    doc += (
        f"/// An object living in component `{module}`: `deinit()` drops it there (or it lives until this "
        "cell's instance closes).\n"
    )
    extern = f'    extern "{wit.PACKAGE}/{iface.name}" fn @"{drop}"(a0: i32) void;'
    return f"{doc}pub const {name} = extern struct {{\n{body.rstrip()}\n}};", [*(e for _, e in made), extern]


def _resource_of(fn: wit.Function) -> str | None:
    part = wit.resource_part(fn.name)
    return part[1] if part else None


def _member_name(fn: wit.Function) -> str:
    """`[constructor]account` -> `init`, `[method]account.richer-than` -> `richerThan`."""
    kind, _, name = wit.resource_part(fn.name)
    if kind == "constructor":
        return "init"
    name = fn_name(name)
    return f"{name}_" if name in RESOURCE_MEMBERS else name


def import_function(iface: wit.Interface, fn: wit.Function, taken: set[str], name: str, module: str
                    ) -> tuple[str, str]:  # fmt: skip
    """The Zig wrapper `name` of one imported function, and its core `extern` declaration."""
    g, plan = ZigEmitter(), abi.plan_function(fn)
    params = [(_param_name(n, taken), t) for n, t in fn.params]
    body: list[str] = []
    args: list[str] = []
    if plan.params_indirect:
        body.append(f"const _args = rt.allocBytes({plan.args.size}, {plan.args.align});")
        for (n, t), f in zip(params, plan.args.fields):
            body.append(g.store(f.step, n, g.at("_args", f.offset), spell_wit(t)))
        args.append("rt.core(_args)")
    else:
        for (n, t), step in zip(params, plan.params):
            args += g.lower_flat(step, n, body, spell_wit(t))
    core = [CORE[f] for f in plan.core_params]
    result = spell_wit(fn.result)
    call = f'imports.@"{fn.name}"'
    if plan.result_indirect:
        core.append("i32")
        body += [
            f"var _ret: [{plan.return_area // 8}]u64 = undefined;",
            f"{call}({', '.join([*args, 'rt.core(@intFromPtr(&_ret))'])});",
        ]
        body.append(f"return {g.load(plan.result, '@intFromPtr(&_ret)', result)};")
    elif plan.result is not None:
        body += [
            f"const _r = {call}({', '.join(args)});",
            f"return {g.lift_flat(plan.result, ['_r'], result)};",
        ]
    else:
        body.append(f"{call}({', '.join(args)});")
    ret = result.zig if result else "void"
    core_ret = CORE[plan.result.flat[0]] if plan.result is not None and not plan.result_indirect else "void"
    extern = (
        f'    extern "{wit.PACKAGE}/{iface.name}" fn @"{fn.name}"'
        f"({', '.join(f'a{i}: {c}' for i, c in enumerate(core))}) {core_ret};"
    )
    sig = ", ".join(f"{n}: {spell_wit(t).zig}" for n, t in params)
    doc = f"/// `{wit_ident(fn.name)}: {fn.signature()}`\n" + _moves(params, module)
    lines = "\n".join(body).replace("\n", "\n    ")
    return f"{doc}pub fn {name}({sig}) {ret} {{\n    {lines}\n}}\n", extern


def _moves(params: list[tuple[str, wit.WitType]], module: str) -> str:
    """The doc line saying which arguments' objects the call gives away (own handles)."""
    given = [n for n, t in params if wit.holds_resource(t) and not (isinstance(t, wit.Handle) and not t.own)]
    if not given:
        return ""
    which = ", ".join(f"`{n}`" for n in given)
    return f"/// Moves {which} to {module}: don't use or deinit the objects given afterwards.\n"


def wrapper_name(wit_fn: str) -> str:
    """A function's Zig name in its module: `word-count` -> `wordCount`, with `_` after one that would be
    one of the module's own names (`rt_`)."""
    name = fn_name(wit_fn)
    return f"{name}_" if name in MODULE_NAMES else name


def _param_name(wit_param: str, taken: set[str]) -> str:
    """A parameter's Zig name, apart from the module's own names (Zig forbids shadowing them)."""
    name = snake_name(wit_param).rstrip("_")
    return zig_ident(name if name not in taken else f"{name}_")


def import_module(module: str, iface: wit.Interface, uses: dict[str, wit.Interface]) -> tuple[str, set[str]]:
    """uses/MODULE.zig for a provider's interface, and the other used modules it imports."""
    check_use_name(module)
    plain = wit.plain_functions(iface.functions)
    taken = MODULE_NAMES | {type_name(t.name) for t in iface.types()}
    taken |= {wrapper_name(fn.name) for fn in plain}
    defs, externs, deps = type_definitions(iface, uses, module, taken)
    made = [import_function(iface, fn, taken, wrapper_name(fn.name), module) for fn in plain]
    wrappers, externs = [w for w, _ in made], [*externs, *(e for _, e in made)]
    head = (
        f"// Generated by asterai: component `{module}`'s exports, for cells that `--use {module}`.\n"
        f'const {RUNTIME} = @import("{RUNTIME}");\nconst rt = {RUNTIME}.abi;\n'
    )
    imports = "const imports = struct {\n" + "\n".join(externs) + "\n};\n"
    return "\n".join([head, *defs, "", imports, *wrappers]), deps
