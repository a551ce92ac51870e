"""The import side of Rust glue: `--use geo` gives the cell a module `geo` with typed functions and types.

Each function lowers its arguments to the canonical ABI, calls the import `asterai:cells/geo#fn` (which the
kernel forwards to geo's live instance), and lifts the result. `&str` and `&[T]` arguments of plain
elements are lent as they are; any other argument is moved into memory the call can read and freed
afterwards by lifting it back and dropping it, the same trick the export side's post-return uses.
"""

from __future__ import annotations

from ... import abi, wit
from ...errors import CompileError
from ...names import pascal_name, snake_name, wit_ident
from . import flags
from .exports import CORE, RUST_PRIMS, RustEmitter, RustType

RUST_KEYWORDS = frozenset(
    """as async await break const continue crate dyn else enum extern false fn for if impl in let loop
    match mod move mut pub ref return self static struct super trait true type unsafe use where while
    abstract become box do
    final macro override priv try typeof unsized virtual yield core std alloc""".split()
)


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
        unique = wit.holds_resource(t)  # a handle is unique: no Clone
        derive = "Debug, PartialEq" if unique else "Debug, Clone, PartialEq"
        if isinstance(t, wit.Resource):
            defs.append(resource_struct(t, iface.name))
        elif isinstance(t, wit.Record):
            fields = [snake_name(n) for n, _ in t.fields]
            body = " ".join(f"pub {f}: {rust_type(ft, module)}," for f, (_, ft) in zip(fields, t.fields))
            defs.append(f"#[derive({derive})]\npub struct {name} {{ {body} }}")
        elif isinstance(t, wit.Flags):
            defs.append(flags.definition(t))
        elif isinstance(t, wit.Enum):
            cases = [pascal_name(c) for c in t.cases]
            defs.append(
                "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]\n"
                f"pub enum {name} {{ {', '.join(cases)} }}"
            )
        else:
            cases = [(pascal_name(c), p) for c, p in t.cases]
            body = ", ".join(f"{c}({rust_type(p, module)})" if p else c for c, p in cases)
            defs.append(f"#[derive({derive})]\npub enum {name} {{ {body} }}")
    return "\n".join(defs), rust


def resource_struct(t: wit.Resource, iface: str) -> str:
    """A provider's resource as the consumer holds it: a struct owning one handle, which it gives back to
    the provider when dropped (as wit-bindgen's imported resources do). Its functions are in its `impl`."""
    name = pascal_name(t.name)
    doc = "".join(f"/// {line}\n" for line in t.docs.splitlines())
    return (
        f"{doc}#[derive(Debug, PartialEq, Eq, Hash)]\npub struct {name} {{ handle: i32 }}\n"
        f"impl {name} {{\n"
        "    #[doc(hidden)]\n    pub unsafe fn from_handle(handle: i32) -> Self { Self { handle } }\n"
        "    #[doc(hidden)]\n    pub fn handle(&self) -> i32 { self.handle }\n"
        "    #[doc(hidden)]\n"
        "    pub fn into_handle(self) -> i32 { let h = self.handle; core::mem::forget(self); h }\n}\n"
        f"impl Drop for {name} {{\n    fn drop(&mut self) {{\n"
        "        if FORGET_HANDLES.load(core::sync::atomic::Ordering::Relaxed) { return; }\n"
        f'        #[link(wasm_import_module = "{wit.PACKAGE}/{iface}")]\n'
        f'        extern "C" {{ #[link_name = "[resource-drop]{t.name}"] fn drop_handle(h: i32); }}\n'
        "        unsafe { drop_handle(self.handle) }\n    }\n}\n"
    )


def type_spelling(t: wit.WitType, path: str) -> RustType:
    """How the glue spells a provider's record, enum, flags, variant or resource defined at `path`."""
    if isinstance(t, wit.Resource):
        return RustType(path)
    if isinstance(t, wit.Flags):
        return RustType(path, backing=flags.backing(t))
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
    name = pascal_name(ty.resource.name if isinstance(ty, wit.Handle) else ty.name)
    return f"crate::{module}::{name}" if module else name


class ImportEmitter(RustEmitter):
    """The provider's resources are structs owning their handle (resource_struct): an own handle given to
    the provider is taken out of its struct, a borrow lent from it; an own handle received gets a struct."""

    def lift_scalar(self, step, val, spell=None):
        if isinstance(step, abi.Handle):
            return f"{self.rust[step.ty.resource.name].path}::from_handle({val})"
        return super().lift_scalar(step, val, spell)

    def lower_scalar(self, step, val, spell=None):
        if isinstance(step, abi.Handle):
            return f"{val}.into_handle()" if step.ty.own else f"{val}.handle()"
        return super().lower_scalar(step, val, spell)

    def lower_flat(self, step, val, out, spell=None):
        if isinstance(step, abi.Handle):  # named: freeing the argument lifts it back from this value
            h = self.tmp("h")
            out.append(f"let {h} = {self.lower_scalar(step, val)};")
            return [h]
        return super().lower_flat(step, val, out, spell)

    def load_scalar(self, step, ptr, spell=None):
        if isinstance(step, abi.Handle):
            return self.lift_scalar(step, f"*({ptr} as *const i32)")
        return super().load_scalar(step, ptr, spell)

    def store_scalar(self, step, val, ptr, spell=None):
        if isinstance(step, abi.Handle):
            return f"*({ptr} as *mut i32) = {self.lower_scalar(step, val)};"
        return super().store_scalar(step, val, ptr, spell)


def _lent(step: abi.Step) -> bool:
    """Top-level arguments the caller keeps: `&str`, and `&[T]` of plain elements (no copy at all)."""
    return isinstance(step, abi.Text) or (isinstance(step, abi.Sequence) and step.plain)


def _param_type(ty: wit.WitType, module: str) -> str:
    if isinstance(ty, wit.Handle) and not ty.own:
        return f"&{rust_type(ty, module)}"
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
    g, plan = ImportEmitter(rust), abi.plan_function(fn)
    params = [(snake_name(n), t) for n, t in fn.params]
    part = wit.resource_part(fn.name)
    sig = ", ".join(f"{n}: {_param_type(t, module)}" for n, t in params)
    if part is not None and part[0] == "method":  # `self: borrow<r>` is the receiver
        sig = ", ".join(["&self", *sig.split(", ")[1:]]) if params[1:] else "&self"
    result = rust_type(fn.result, module) if fn.result is not None else None
    body: list[str] = []
    core_params: list[str] = []
    args: list[str] = []
    cleanup: list[str] = []
    if plan.params_indirect:
        layout = plan.args
        body.append(f"let args = alloc_area({layout.size}, {layout.align});")
        for (n, t), f in zip(params, layout.fields):
            body.append(g.store(f.step, _owned(t, n), g.at("args", f.offset)))
        core_params.append("args: i32")
        args.append("args as i32")
        if abi.owns_memory(layout):
            cleanup.append(f"drop({g.load(layout, 'args')});")
        cleanup.append(f"free(args as i32, {layout.size}, {layout.align});")
    else:
        for (n, t), step in zip(params, plan.params):
            if _lent(step):
                vals = [f"{n}.as_ptr() as i32", f"{n}.len() as i32"]
            else:
                vals = g.lower_flat(step, _owned(t, n), body)
                if abi.owns_memory(step):
                    cleanup.append(f"drop({g.lift_flat(step, vals)});")
            core_params += [f"a{len(core_params) + k}: {CORE[f]}" for k, f in enumerate(step.flat)]
            args += vals
    ret = ""
    if plan.result_indirect:
        body.append(f"let mut ret = [0u64; {plan.return_area // 8}];")
        core_params.append("ret: i32")
        args.append("ret.as_mut_ptr() as i32")
        call_stmt = "import({args});"
        lift = g.load(plan.result, "(ret.as_ptr() as *const u8)")
    elif plan.result is not None:
        ret = f" -> {CORE[plan.core_result]}"
        call_stmt = "let r = import({args});"
        lift = g.lift_flat(plan.result, ["r"])
    else:
        call_stmt = "import({args});"
        lift = "()"
    extern = (
        f'#[link(wasm_import_module = "{wit.PACKAGE}/{iface.name}")]\n'
        f'        extern "C" {{ #[link_name = "{fn.name}"] fn import({", ".join(core_params)}){ret}; }}'
    )
    # lifted back to be freed: the handles inside belong to the provider now
    if cleanup and wit.has_handles(fn):
        cleanup = ["FORGET_HANDLES.store(true, core::sync::atomic::Ordering::Relaxed);", *cleanup,
                   "FORGET_HANDLES.store(false, core::sync::atomic::Ordering::Relaxed);"]  # fmt: skip
    lines = [extern, *body, call_stmt.format(args=", ".join(args)), *cleanup]
    joined = "\n        ".join(lines)
    doc = f"/// `{wit_ident(fn.name)}: {fn.signature()}` of component `{module}`\n"
    name = snake_name(part[2] if part else fn.name) if part is None or part[0] != "constructor" else "new"
    return (
        f"{doc}pub fn {name}({sig}){f' -> {result}' if result else ''} {{\n"
        f"    unsafe {{\n        use crate::__asterai::*;\n        {joined}\n        {lift}\n    }}\n}}\n"
    )


def import_module(module: str, iface: wit.Interface, uses: dict[str, wit.Interface] | None = None) -> str:
    """`pub mod module { types; fns }` for a provider's interface (`uses`: every provider of the cell)."""
    if module in RUST_KEYWORDS:
        raise CompileError(
            f"--use {module}: {module!r} cannot be a Rust module name (Rust needs it); rename that component"
        )
    defs, rust = rust_types(module, iface, uses)
    fns = "\n".join(import_function(module, iface, fn, rust) for fn in wit.plain_functions(iface.functions))
    impls = []
    for t in iface.types():
        mine = [f for f in iface.functions if _resource_of(f) == t.name]
        if isinstance(t, wit.Resource) and mine:
            body = "\n".join(import_function(module, iface, f, rust) for f in mine)
            impls.append(f"impl {pascal_name(t.name)} {{\n{body}}}\n")
    return (f"#[allow(warnings, clippy::all)]\npub mod {module} {{\n{FORGET_FLAG}{defs}\n\n{fns}"
            f"{''.join(impls)}}}\n")  # fmt: skip


# Set while an argument given to the provider is lifted back to free its memory: a resource inside it is
# the provider's now, so its struct must not drop the handle.
FORGET_FLAG = (
    "static FORGET_HANDLES: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);\n"
)


def _resource_of(fn: wit.Function) -> str | None:
    part = wit.resource_part(fn.name)
    return part[1] if part else None
