"""The import side of C glue: `--use geo` gives a C cell a header `geo.h` (included already) declaring geo's
types and functions in C, prefixed with the component's name.

    uint32_t geo_word_count(const char *text);          // strings go in as NUL-terminated `const char *`
    char *geo_describe(geo_point p);                     // and come back malloc'ed: the caller frees them
    geo_point_list geo_centers(const geo_point *ps, size_t ps_len);   // lists: a pointer and a length in,
                                                         // a struct of ptr and len out (free(.ptr) after)

Each function lowers its arguments (lent as they are where their layout allows, else laid out in memory
freed after the call), calls the core import `asterai:cells/geo` `word-count` (which the kernel forwards to
geo's live instance) and lifts the result, which the caller then owns. A function whose types C cannot
spell here (option, result, tuple, variant) is left out of the header, with a comment saying so.

A provider's resource is spelled as wit-bindgen's C generator spells an imported one, names included:

    bank_own_account_t a = bank_constructor_account(10);      // an own handle: a struct of one i32
    bank_method_account_deposit(bank_borrow_account(a), 5);   // methods and borrow<account> take a borrow
    bank_own_account_t b = bank_static_account_copy(bank_borrow_account(a));
    bank_account_drop_own(a);                                  // C frees explicitly: bank drops its object

An own handle passed to the provider is given away (the cell must not drop it); one never dropped lives until
the cell's instance ends. The handle steps (abi.Handle) are CEmitter's.
"""

from __future__ import annotations

from ... import abi, wit
from ...errors import CompileError
from ...names import snake_name
from ..treesitter import Unsupported
from .exports import CORE, CEmitter, CType, prim

# Names geo.h cannot use as they are: C's keywords, and C++'s, since C++ cells include the same header.
C_KEYWORDS = frozenset(
    """auto break case char const continue default do double else enum extern float for goto if inline int
    long register restrict return short signed sizeof static struct switch typedef union unsigned void
    volatile while bool true false alignas alignof main
    and and_eq asm bitand bitor catch char8_t char16_t char32_t class compl concept consteval constexpr
    constinit const_cast co_await co_return co_yield decltype delete dynamic_cast explicit export friend
    mutable namespace new noexcept not not_eq nullptr operator or or_eq private protected public
    reinterpret_cast requires static_assert static_cast template this thread_local throw try typeid
    typename using virtual wchar_t xor xor_eq""".split()
)


def header_name(name: str) -> str:
    return f"{name}.h"


def c_ident(name: str) -> str:
    n = snake_name(name)
    return n + "_" if n in C_KEYWORDS else n


class Spelling:
    """How geo.h spells geo's WIT types in C, with the typedefs that define them (in order of need)."""

    def __init__(self, module: str) -> None:
        self.module = module
        self.typedefs: list[str] = []
        self.made: dict[wit.WitType, CType] = {}

    def ctype(self, ty: wit.WitType) -> CType:
        if ty not in self.made:
            self.made[ty] = self._make(ty)
        return self.made[ty]

    def _make(self, ty: wit.WitType) -> CType:
        m = self.module
        if isinstance(ty, wit.Prim):
            return prim(ty.name)
        if isinstance(ty, wit.String):
            return CType(ty, "char *", "cstr")
        if isinstance(ty, wit.Handle):  # resource_types made its typedef
            return CType(ty, handle_type(m, ty.resource, ty.own), "handle")
        if isinstance(ty, wit.List):
            elem = self.ctype(ty.elem)
            if isinstance(ty.elem, wit.Prim):
                return CType(ty, f"asterai_list_{ty.elem.name}", "list", parts=(elem,))
            name = f"{m}_{self.stem(ty.elem)}_list"
            self.typedefs.append(f"typedef ASTERAI_LIST({elem.c}) {name};")
            return CType(ty, name, "list", parts=(elem,))
        if isinstance(ty, wit.Record):
            parts = tuple(self.ctype(t) for _, t in ty.fields)
            names = tuple(c_ident(n) for n, _ in ty.fields)
            name = f"{m}_{snake_name(ty.name)}"
            body = " ".join(f"{p.c} {n};" for p, n in zip(parts, names))
            self.typedefs.append(f"typedef struct {{ {body} }} {name};")
            return CType(ty, name, "record", parts=parts, names=names)
        if isinstance(ty, wit.Enum):
            name = f"{m}_{snake_name(ty.name)}"
            names = tuple(f"{name}_{snake_name(c)}".upper() for c in ty.cases)
            self.typedefs.append(f"typedef enum {{ {', '.join(names)} }} {name};")
            return CType(ty, name, "enum", names=names)
        if isinstance(ty, wit.Flags):  # wit-bindgen's C spelling: an integer typedef and a macro per bit
            name = f"{m}_{snake_name(ty.name)}_t"
            names = tuple(f"{m}_{snake_name(ty.name)}_{snake_name(f)}".upper() for f in ty.flags)
            width = next(w for w in (8, 16, 32) if len(ty.flags) <= w)
            bits = "".join(f"\n#define {n} ((({name})1) << {i})" for i, n in enumerate(names))
            self.typedefs.append(f"typedef uint{width}_t {name};{bits}")
            return CType(ty, name, "flags", names=names)
        raise Unsupported(ty.wit())

    def stem(self, ty: wit.WitType) -> str:
        if isinstance(ty, wit.List):
            return f"{self.stem(ty.elem)}_list"
        if isinstance(ty, wit.String):
            return "string"
        if isinstance(ty, wit.Handle):
            return ("" if ty.own else "borrow_") + snake_name(ty.resource.name)
        return snake_name(ty.name) if hasattr(ty, "name") else ty.wit()


def handle_type(module: str, r: wit.Resource, own: bool) -> str:
    return f"{module}_{'own' if own else 'borrow'}_{snake_name(r.name)}_t"


def function_name(module: str, fn: wit.Function) -> str:
    """`geo_word_count`; a resource's functions as wit-bindgen's C generator names them:
    `geo_constructor_account`, `geo_method_account_deposit`, `geo_static_account_copy`."""
    part = wit.resource_part(fn.name)
    if part is None:
        return f"{module}_{c_ident(fn.name)}"
    kind, resource, name = part
    return "_".join(p for p in (module, kind, snake_name(resource), name and snake_name(name)) if p)


def resource_types(g: CEmitter, module: str, iface: wit.Interface, r: wit.Resource) -> list[str]:
    """A provider's resource as wit-bindgen's C generator spells an imported one (its names too): an own
    and a borrow handle type, `geo_account_drop_own` (which drops the provider's object: C frees
    explicitly; a handle never dropped lives until the cell's instance ends) and `geo_borrow_account`."""
    own, borrow, stem = handle_type(module, r, True), handle_type(module, r, False), snake_name(r.name)
    core = f"asterai_drop_{module}_{stem}"
    where = f'import_module("{wit.PACKAGE}/{iface.name}"), import_name("[resource-drop]{r.name}")'
    doc = "".join(f"/* {line} */\n" for line in r.docs.splitlines())
    return [
        f"{doc}typedef struct {own} {{ int32_t __handle; }} {own};",
        f"typedef struct {borrow} {{ int32_t __handle; }} {borrow};",
        f"__attribute__(({where}))\nvoid {core}(int32_t handle);",
        f"/** Gives the {r.name} back: `{module}` drops it. Drop every own handle not given away once. */\n"
        f"static inline void {module}_{stem}_drop_own({own} handle) {{ {core}(handle.__handle); }}",
        f"/** Lends an own handle, for one call, where a borrow<{r.name}> is taken. */\n"
        f"static inline {borrow} {module}_borrow_{stem}({own} handle) {{\n"
        f"    return {g.literal(borrow, ['.__handle = handle.__handle'])};\n}}\n",
    ]


def param_decl(name: str, ct: CType) -> str:
    """A parameter of the C function: strings as `const char *`, lists as a pointer and a length."""
    if ct.kind == "cstr":
        return f"const char *{name}"
    if ct.kind == "list":
        return f"const {ct.parts[0].c} *{name}, size_t {name}_len"
    return f"{ct.c} {name}"


def import_function(g: CEmitter, module: str, iface: wit.Interface, fn: wit.Function, spell: Spelling,
                    index: int) -> str:  # fmt: skip
    plan = abi.plan_function(fn)
    params = [(c_ident(n), spell.ctype(t)) for n, t in fn.params]
    result = spell.ctype(fn.result) if fn.result is not None else None
    body = ["size_t asterai_m = asterai_mark();"]
    values = []
    for n, ct in params:  # a list goes in as the struct its pointer and length make
        if ct.kind == "list":
            n = g.literal(ct.c, [f".ptr = ({ct.parts[0].c} *){n}", f".len = {n}_len"])
        values.append(n)
    core, args = [], []
    if plan.params_indirect:
        body.append(f"uint8_t *args = asterai_scratch({plan.args.size});")
        for (_, ct), v, f in zip(params, values, plan.args.fields):
            body.append(g.store(f.step, v, g.at("args", f.offset), ct))
        core.append("int32_t")
        args.append("ASTERAI_I32(args)")
    else:
        for (_, ct), v, step in zip(params, values, plan.params):
            args += g.lower_flat(step, v, body, ct)
            core += [CORE[f] for f in step.flat]
    ret = "void"
    if plan.result_indirect:
        body.append(f"uint64_t ret[{plan.return_area // 8}];")
        core.append("int32_t")
        args.append("ASTERAI_I32(ret)")
        tail = [f"{result.c} v = {g.load(plan.result, '((uint8_t *)ret)', result)};"]
    elif result is not None:
        ret = CORE[plan.core_result]
        tail = [f"{result.c} v = {g.lift_flat(plan.result, ['r'], result)};"]
    else:
        tail = []
    call = f"asterai_import_{module}_{index}({', '.join(args)})"
    body.append(f"{ret} r = {call};" if ret != "void" else f"{call};")
    body += tail + ["asterai_release(asterai_m);"] + (["return v;"] if result is not None else [])
    decl = ", ".join(param_decl(n, ct) for n, ct in params) or "void"
    lines = "\n    ".join(body)
    return (
        f'__attribute__((import_module("{wit.PACKAGE}/{iface.name}"), import_name("{fn.name}")))\n'
        f"{ret} asterai_import_{module}_{index}({', '.join(core) or 'void'});\n"
        f"/** `{fn.name}: {fn.signature()}` of component `{module}` */\n"
        f"static inline {result.c if result else 'void'} {function_name(module, fn)}({decl}) {{\n"
        f"    {lines}\n}}\n"
    )


def header(
    module: str, iface: wit.Interface, g: CEmitter | None = None, spell: Spelling | None = None
) -> str:
    if module in C_KEYWORDS:
        raise CompileError(f"--use {module}: {module!r} is a C keyword; give that component another name")
    g = g or CEmitter(prefix=f"asterai_{module}_")
    spell = spell or Spelling(module)
    functions, left_out = [], []
    for t in iface.types():
        if isinstance(t, wit.Resource):
            spell.typedefs += resource_types(g, module, iface, t)
    for i, fn in enumerate(iface.functions):
        try:
            for t in fn.types():
                spell.ctype(t)
        except Unsupported as e:
            left_out.append(
                f"/* {function_name(module, fn)}: not available from C ({e} has no C spelling here) */"
            )
            continue
        functions.append(import_function(g, module, iface, fn, spell, i))
    guard = f"ASTERAI_USE_{module.upper()}_H"
    return "\n".join(
        [
            f"/* {header_name(module)}: the exports of component `{module}` (asterai, --use) */",
            f"#ifndef {guard}\n#define {guard}\n",
            *dict.fromkeys(spell.typedefs),
            "",
            *g.defs,
            *functions,
            *left_out,
            "#endif\n",
        ]
    )
