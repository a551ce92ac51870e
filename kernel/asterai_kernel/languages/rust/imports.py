"""The import side of Rust glue: `--use geo` gives the cell a module `geo` with typed functions and types.

Each function lowers its arguments to the canonical ABI, calls the import `asterai:cells/geo#fn` (which the
kernel forwards to geo's live instance), and lifts the result. `&str` and `&[T]` arguments of plain
elements are lent as they are; any other argument is moved into memory the call can read and freed
afterwards by lifting it back and dropping it, the same trick the export side's post-return uses.
"""

from __future__ import annotations

from ... import wit
from ...errors import CompileError
from ...names import pascal_name, snake_name, wit_ident
from .exports import CORE, PLAIN, RUST_PRIMS, RustGen, RustType, owns_memory

RUST_KEYWORDS = frozenset(
    """as async await break const continue crate dyn else enum extern false fn for if impl in let loop
    match mod move mut pub ref return self static struct super trait true type unsafe use where while
    abstract become box do
    final macro override priv try typeof unsized virtual yield core std alloc""".split()
)
_ZERO = {"i32": "0i32", "i64": "0i64", "f32": "0f32", "f64": "0f64"}


def _widen(val: str, have: str, want: str) -> str:
    """A case's flat value stored in a variant's joined slot (the inverse of exports._coerce)."""
    if have == want:
        return val
    if want == "i32":  # f32 in an i32 slot
        return f"({val}.to_bits() as i32)"
    if have == "i32":  # i32 in an i64 slot: zero-extended
        return f"({val} as u32 as i64)"
    if have == "f32":
        return f"({val}.to_bits() as u64 as i64)"
    return f"({val}.to_bits() as i64)"  # f64 in an i64 slot


class _ImportGen(RustGen):
    def lower_flat(self, ty: wit.WitType, val: str, out: list[str]) -> list[str]:
        """Statements appended to `out` that move `val` into flat core values; returns their names."""
        if isinstance(ty, wit.Prim):
            v = self.tmp("f")
            cast = f"{val} as u32 as i32" if ty.name == "char" else f"{val} as {CORE[ty.flat()[0]]}"
            out.append(f"let {v} = {cast};")
            return [v]
        if isinstance(ty, (wit.String, wit.List)):
            p, n = self.tmp("p"), self.tmp("n")
            lower = f"lower_string({val})" if isinstance(ty, wit.String) else self.lower_list(ty, val)
            out.append(f"let ({p}, {n}) = {lower};")
            return [p, n]
        if isinstance(ty, (wit.Tuple, wit.Record)):
            elems = self._elems(ty)
            names = [self.tmp("e") for _ in elems]
            out.append(f"let {self._pattern(ty, names)} = {val};")
            return [v for t, n in zip(elems, names) for v in self.lower_flat(t, n, out)]
        if isinstance(ty, wit.Enum):
            v = self.tmp("f")
            out.append(f"let {v} = {self._enum_index(ty, val)} as i32;")
            return [v]
        joined = ty.flat()[1:]
        names = [self.tmp("f") for _ in range(len(joined) + 1)]
        arms = []
        for i, payload in enumerate(ty.payloads()):
            x = self.tmp("x") if payload is not None else None
            pattern, rebuild = self._case_pattern(ty, i, x)
            body: list[str] = [rebuild] if rebuild else []
            slots = [_ZERO[j] for j in joined]
            if payload is not None:
                flat = self.lower_flat(payload, x, body)
                for k, (v, have) in enumerate(zip(flat, payload.flat())):
                    slots[k] = _widen(v, have, joined[k])
            arms.append(
                f"{pattern} => {{ {' '.join(body)} ({i}i32, {', '.join(slots)}{',' if slots else ''}) }}"
            )
        out.append(f"let ({', '.join(names)},) = match {val} {{ {' '.join(arms)} }};")
        return names


def rust_types(module: str, iface: wit.Interface,
               uses: dict[str, wit.Interface] | None = None) -> tuple[str, dict[str, RustType]]:  # fmt: skip
    """Rust definitions of the provider's types inside `mod module`, and how the glue spells them.

    A type the provider itself took from another provider the cell also uses (wit.foreign) is that
    module's type, re-exported: `geo::Point` and `shapes::Point` are then one Rust type, as in the WIT.
    """
    defs, rust = [], {}
    modules = {i.name: m for m, i in (uses or {}).items()}
    for t in iface.types():
        name = pascal_name(t.name)
        source = modules.get(t.owner) if t.owner and t.owner != iface.name else None
        if source is not None and source != module:
            defs.append(f"pub use crate::{source}::{name};")
            rust[t.name] = type_spelling(t, f"crate::{source}::{name}")
            continue
        path = f"crate::{module}::{name}"
        rust[t.name] = type_spelling(t, path)
        if isinstance(t, wit.Record):
            fields = [snake_name(n) for n, _ in t.fields]
            body = " ".join(f"pub {f}: {rust_type(ft, module)}," for f, (_, ft) in zip(fields, t.fields))
            defs.append(f"#[derive(Debug, Clone, PartialEq)]\npub struct {name} {{ {body} }}")
        elif isinstance(t, wit.Enum):
            cases = [pascal_name(c) for c in t.cases]
            defs.append(
                "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]\n"
                f"pub enum {name} {{ {', '.join(cases)} }}"
            )
        else:
            cases = [(pascal_name(c), p) for c, p in t.cases]
            body = ", ".join(f"{c}({rust_type(p, module)})" if p else c for c, p in cases)
            defs.append(f"#[derive(Debug, Clone, PartialEq)]\npub enum {name} {{ {body} }}")
    return "\n".join(defs), rust


def type_spelling(t: wit.WitType, path: str) -> RustType:
    """How the glue spells a provider's record, enum or variant defined at `path`."""
    if isinstance(t, wit.Record):
        return RustType(path, fields=[snake_name(n) for n, _ in t.fields])
    if isinstance(t, wit.Enum):
        return RustType(path, cases=[(pascal_name(c), 0) for c in t.cases])
    return RustType(path, cases=[(pascal_name(c), 1 if p else 0) for c, p in t.cases])


def rust_type(ty: wit.WitType | None, module: str | None) -> str:
    """The Rust spelling of a WIT type; named types live in `module` (or in the crate root when None)."""
    if ty is None:
        return "()"
    if isinstance(ty, wit.Prim):
        return RUST_PRIMS[ty.name]
    if isinstance(ty, wit.String):
        return "String"
    if isinstance(ty, wit.List):
        return f"Vec<{rust_type(ty.elem, module)}>"
    if isinstance(ty, wit.Tuple):
        return f"({', '.join(rust_type(e, module) for e in ty.elems)},)"
    if isinstance(ty, wit.Option):
        return f"Option<{rust_type(ty.inner, module)}>"
    if isinstance(ty, wit.Result):
        return f"Result<{rust_type(ty.ok, module)}, {rust_type(ty.err, module)}>"
    return f"crate::{module}::{pascal_name(ty.name)}" if module else pascal_name(ty.name)


def _lent(ty: wit.WitType) -> bool:
    """Top-level arguments the caller keeps: `&str`, and `&[T]` of plain elements (no copy at all)."""
    return isinstance(ty, wit.String) or (
        isinstance(ty, wit.List) and isinstance(ty.elem, wit.Prim) and ty.elem.name in PLAIN
    )


def _param_type(ty: wit.WitType, module: str) -> str:
    if isinstance(ty, wit.String):
        return "&str"
    if isinstance(ty, wit.List):
        return f"&[{rust_type(ty.elem, module)}]"
    return rust_type(ty, module)


def _owned(ty: wit.WitType, name: str) -> str:
    """The argument as an owned value, to be moved into the call's memory."""
    if isinstance(ty, wit.String):
        return f"{name}.to_string()"
    if isinstance(ty, wit.List):
        return f"{name}.to_vec()"
    return name


def import_function(module: str, iface: wit.Interface, fn: wit.Function, rust: dict[str, RustType]) -> str:
    g = _ImportGen(rust)
    params = [(snake_name(n), t) for n, t in fn.params]
    sig = ", ".join(f"{n}: {_param_type(t, module)}" for n, t in params)
    result = rust_type(fn.result, module) if fn.result is not None else None
    body: list[str] = []
    core_params: list[str] = []
    args: list[str] = []
    cleanup: list[str] = []
    if fn.params_indirect():
        layout = wit.Tuple(tuple(t for _, t in fn.params))
        body.append(f"let args = alloc_area({layout.size()}, {layout.align()});")
        for (n, t), off in zip(params, layout.offsets()):
            body.append(g.store(t, _owned(t, n), f"args.add({off})"))
        core_params.append("args: i32")
        args.append("args as i32")
        if owns_memory(layout):
            cleanup.append(f"drop({g.load(layout, 'args')});")
        cleanup.append(f"free(args as i32, {layout.size()}, {layout.align()});")
    else:
        for n, t in params:
            if _lent(t):
                vals = [f"{n}.as_ptr() as i32", f"{n}.len() as i32"]
            else:
                vals = g.lower_flat(t, _owned(t, n), body)
                if owns_memory(t):
                    cleanup.append(f"drop({g.lift_flat(t, vals)});")
            core_params += [f"a{len(core_params) + k}: {CORE[f]}" for k, f in enumerate(t.flat())]
            args += vals
    ret = ""
    if fn.result is not None and fn.result_indirect():
        body.append(f"let mut ret = [0u64; {wit.align_to(fn.result.size(), 8) // 8}];")
        core_params.append("ret: i32")
        args.append("ret.as_mut_ptr() as i32")
        call_stmt = "import({args});"
        lift = g.load(fn.result, "(ret.as_ptr() as *const u8)")
    elif fn.result is not None:
        ret = f" -> {CORE[fn.result.flat()[0]]}"
        call_stmt = "let r = import({args});"
        lift = g.lift_flat(fn.result, ["r"])
    else:
        call_stmt = "import({args});"
        lift = "()"
    extern = (
        f'#[link(wasm_import_module = "{wit.PACKAGE}/{iface.name}")]\n'
        f'        extern "C" {{ #[link_name = "{fn.name}"] fn import({", ".join(core_params)}){ret}; }}'
    )
    lines = [extern, *body, call_stmt.format(args=", ".join(args)), *cleanup]
    joined = "\n        ".join(lines)
    doc = f"/// `{wit_ident(fn.name)}: {fn.signature()}` of component `{module}`\n"
    return (
        f"{doc}pub fn {snake_name(fn.name)}({sig}){f' -> {result}' if result else ''} {{\n"
        f"    unsafe {{\n        use crate::__asterai::*;\n        {joined}\n        {lift}\n    }}\n}}\n"
    )


def import_module(module: str, iface: wit.Interface, uses: dict[str, wit.Interface] | None = None) -> str:
    """`pub mod module { types; fns }` for a provider's interface (`uses`: every provider of the cell)."""
    if module in RUST_KEYWORDS:
        raise CompileError(
            f"--use {module}: {module!r} cannot be a Rust module name (Rust needs it); rename that component"
        )
    defs, rust = rust_types(module, iface, uses)
    fns = "\n".join(import_function(module, iface, fn, rust) for fn in iface.functions)
    return f"#[allow(warnings, clippy::all)]\npub mod {module} {{\n{defs}\n\n{fns}}}\n"
