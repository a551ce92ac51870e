"""Canonical-ABI glue for Rust cells, generated as Rust source (no wit-bindgen crate is reachable here).

For each export the glue has a core function named `asterai:cells/NAME#fn` that lifts the flat core
arguments into Rust values, calls the user's function, and lowers the result: directly when it flattens to
one core value, else into a static return area, freed by `cabi_post_...` once the host has read it.
Strings and lists passed in were allocated by the host through `cabi_realloc`, so the callee owns them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import wit

PRELUDE = r"""
#[doc(hidden)]
#[allow(warnings, clippy::all)]
mod __asterai {
    use std::alloc::{alloc, dealloc, realloc, Layout};

    #[no_mangle]
    pub unsafe extern "C" fn cabi_realloc(old: *mut u8, old_size: usize, align: usize, new_size: usize) -> *mut u8 {
        if new_size == 0 {
            return align as *mut u8;
        }
        let p = if old_size == 0 {
            alloc(Layout::from_size_align_unchecked(new_size, align))
        } else {
            realloc(old, Layout::from_size_align_unchecked(old_size, align), new_size)
        };
        if p.is_null() {
            std::process::abort();
        }
        p
    }

    static INIT: std::sync::Once = std::sync::Once::new();

    /// A panic hook whose message the kernel can parse: the line is the cell's, since the cell's code
    /// starts on line 2 of cell.rs, as the magic line is line 1.
    pub fn init() {
        INIT.call_once(|| {
            std::panic::set_hook(Box::new(|info| {
                let msg = if let Some(s) = info.payload().downcast_ref::<&str>() {
                    s.to_string()
                } else if let Some(s) = info.payload().downcast_ref::<String>() {
                    s.clone()
                } else {
                    "Box<dyn Any>".to_string()
                };
                match info.location() {
                    Some(l) => eprintln!("panicked at line {}:{}: {}", l.line(), l.column(), msg),
                    None => eprintln!("panicked: {}", msg),
                }
            }));
        });
    }

    pub unsafe fn free(ptr: i32, size: usize, align: usize) {
        if size != 0 {
            dealloc(ptr as *mut u8, Layout::from_size_align_unchecked(size, align));
        }
    }

    pub unsafe fn lift_string(ptr: i32, len: i32) -> String {
        if len == 0 {
            return String::new();
        }
        String::from_raw_parts(ptr as *mut u8, len as usize, len as usize)
    }

    pub unsafe fn lower_string(s: String) -> (i32, i32) {
        let s = std::mem::ManuallyDrop::new(s.into_boxed_str());
        (s.as_ptr() as i32, s.len() as i32)
    }

    /// A list whose elements have the same layout in Rust and in the canonical ABI: taken over as is.
    pub unsafe fn lift_plain_list<T>(ptr: i32, len: i32) -> Vec<T> {
        if len == 0 {
            return Vec::new();
        }
        Vec::from_raw_parts(ptr as *mut T, len as usize, len as usize)
    }

    pub unsafe fn lower_plain_list<T>(v: Vec<T>) -> (i32, i32) {
        let v = std::mem::ManuallyDrop::new(v.into_boxed_slice());
        (v.as_ptr() as i32, v.len() as i32)
    }

    /// Any other list: each element is loaded from its slot, then the host-allocated buffer is freed.
    pub unsafe fn lift_list<T>(ptr: i32, len: i32, size: usize, align: usize, load: impl Fn(*const u8) -> T) -> Vec<T> {
        let v = (0..len as usize).map(|i| load((ptr as *const u8).add(i * size))).collect();
        free(ptr, len as usize * size, align);
        v
    }

    pub unsafe fn lower_list<T>(v: Vec<T>, size: usize, align: usize, mut store: impl FnMut(T, *mut u8)) -> (i32, i32) {
        let len = v.len();
        if len == 0 {
            return (align as i32, 0);
        }
        let buf = alloc(Layout::from_size_align_unchecked(len * size, align));
        for (i, x) in v.into_iter().enumerate() {
            store(x, buf.add(i * size));
        }
        (buf as i32, len as i32)
    }

    #[repr(C, align(8))]
    pub struct RetArea(pub [u8; RET_SIZE]);
    pub static mut RET: RetArea = RetArea([0; RET_SIZE]);
    pub unsafe fn ret_area() -> *mut u8 {
        core::ptr::addr_of_mut!(RET) as *mut u8
    }
"""

# WIT primitive -> (Rust type, core type it travels as)
RUST_PRIMS = {
    "bool": "bool",
    "s8": "i8",
    "u8": "u8",
    "s16": "i16",
    "u16": "u16",
    "s32": "i32",
    "u32": "u32",
    "s64": "i64",
    "u64": "u64",
    "f32": "f32",
    "f64": "f64",
    "char": "char",
}
# Primitives whose Rust layout equals the canonical ABI's, so lists of them cross without a copy.
PLAIN = {"s8", "u8", "s16", "u16", "s32", "u32", "s64", "u64", "f32", "f64"}


@dataclass
class Param:
    name: str
    ty: wit.WitType
    by_ref: bool  # the user's function takes `&str` / `&[T]`


@dataclass
class Export:
    rust_name: str  # the user's function
    fn: wit.Function
    params: list[Param]


class _Gen:
    """Emits Rust expressions and statements; `tmp()` makes unique local names."""

    def __init__(self) -> None:
        self.n = 0

    def tmp(self, stem: str = "t") -> str:
        self.n += 1
        return f"{stem}{self.n}"

    # ---- flat values (core function params and a single result) ----
    def lift_flat(self, ty: wit.WitType, vals: list[str]) -> str:
        if isinstance(ty, wit.Prim):
            v = vals[0]
            if ty.name == "bool":
                return f"({v} != 0)"
            if ty.name == "char":
                return f"char::from_u32_unchecked({v} as u32)"
            return f"({v} as {RUST_PRIMS[ty.name]})"
        if isinstance(ty, wit.String):
            return f"lift_string({vals[0]}, {vals[1]})"
        if isinstance(ty, wit.List):
            return self.lift_list(ty, vals[0], vals[1])
        if isinstance(ty, wit.Tuple):
            parts, i = [], 0
            for e in ty.elems:
                n = len(e.flat())
                parts.append(self.lift_flat(e, vals[i : i + n]))
                i += n
            return f"({', '.join(parts)},)"
        raise NotImplementedError(ty.wit())

    def lower_flat_single(self, ty: wit.WitType, val: str) -> str:
        """A value that flattens to one core value (the direct-return case)."""
        assert isinstance(ty, wit.Prim), ty
        core = {"i32": "i32", "i64": "i64", "f32": "f32", "f64": "f64"}[ty.flat()[0]]
        if ty.name == "char":
            return f"({val} as u32 as i32)"
        return f"({val} as {core})"

    # ---- values in linear memory ----
    def load(self, ty: wit.WitType, ptr: str) -> str:
        if isinstance(ty, wit.Prim):
            if ty.name == "bool":
                return f"(*({ptr} as *const u8) != 0)"
            if ty.name == "char":
                return f"char::from_u32_unchecked(*({ptr} as *const u32))"
            return f"*({ptr} as *const {RUST_PRIMS[ty.name]})"
        if isinstance(ty, (wit.String, wit.List)):
            vals = [f"*({ptr} as *const i32)", f"*({ptr}.add(4) as *const i32)"]
            return self.lift_flat(ty, vals)
        if isinstance(ty, wit.Tuple):
            parts = [self.load(e, f"{ptr}.add({o})") for e, o in zip(ty.elems, ty.offsets())]
            return f"({', '.join(parts)},)"
        raise NotImplementedError(ty.wit())

    def store(self, ty: wit.WitType, val: str, ptr: str) -> str:
        if isinstance(ty, wit.Prim):
            if ty.name == "bool":
                return f"*({ptr} as *mut u8) = {val} as u8;"
            if ty.name == "char":
                return f"*({ptr} as *mut u32) = {val} as u32;"
            return f"*({ptr} as *mut {RUST_PRIMS[ty.name]}) = {val};"
        if isinstance(ty, (wit.String, wit.List)):
            p, n = self.tmp("p"), self.tmp("n")
            lower = f"lower_string({val})" if isinstance(ty, wit.String) else self.lower_list(ty, val)
            return f"let ({p}, {n}) = {lower}; *({ptr} as *mut i32) = {p}; *({ptr}.add(4) as *mut i32) = {n};"
        if isinstance(ty, wit.Tuple):
            names = [self.tmp("e") for _ in ty.elems]
            stores = " ".join(
                self.store(e, n, f"{ptr}.add({o})") for e, n, o in zip(ty.elems, names, ty.offsets())
            )
            return f"let ({', '.join(names)},) = {val}; {stores}"
        raise NotImplementedError(ty.wit())

    def lift_list(self, ty: wit.List, ptr: str, len_: str) -> str:
        e = ty.elem
        if isinstance(e, wit.Prim) and e.name in PLAIN:
            return f"lift_plain_list::<{RUST_PRIMS[e.name]}>({ptr}, {len_})"
        q = self.tmp("q")
        return f"lift_list({ptr}, {len_}, {e.size()}, {e.align()}, |{q}: *const u8| {self.load(e, q)})"

    def lower_list(self, ty: wit.List, val: str) -> str:
        e = ty.elem
        if isinstance(e, wit.Prim) and e.name in PLAIN:
            return f"lower_plain_list({val})"
        x, q = self.tmp("x"), self.tmp("q")
        return f"lower_list({val}, {e.size()}, {e.align()}, |{x}, {q}: *mut u8| {{ {self.store(e, x, q)} }})"


_CORE = {"i32": "i32", "i64": "i64", "f32": "f32", "f64": "f64"}


def export_function(iface: wit.Interface, ex: Export, index: int) -> str:
    g = _Gen()
    fn = ex.fn
    name = wit.export_name(iface, fn)
    lines: list[str] = []
    if fn.params_indirect():
        core_params = "args: i32"
        layout = wit.Tuple(tuple(t for _, t in fn.params))
        lifted = [g.load(p.ty, f"(args as *const u8).add({o})") for p, o in zip(ex.params, layout.offsets())]
        lines += [f"let a{i} = {v};" for i, v in enumerate(lifted)]
        lines.append(f"free(args, {layout.size()}, {layout.align()});")
    else:
        flat_names, core, lifted = [], [], []
        for i, p in enumerate(ex.params):
            vals = [f"p{i}_{j}" for j in range(len(p.ty.flat()))]
            core += [f"{v}: {_CORE[f]}" for v, f in zip(vals, p.ty.flat())]
            flat_names += vals
            lifted.append(g.lift_flat(p.ty, vals))
        core_params = ", ".join(core)
        lines += [f"let a{i} = {v};" for i, v in enumerate(lifted)]
    call_args = ", ".join(f"&a{i}" if p.by_ref else f"a{i}" for i, p in enumerate(ex.params))
    call = f"super::{ex.rust_name}({call_args})"
    ret = ""
    if fn.result is None:
        lines.append(f"{call};")
    elif fn.result_indirect():
        ret = " -> i32"
        lines.append(f"let r = {call};")
        lines.append("let ret = ret_area();")
        lines.append(g.store(fn.result, "r", "ret"))
        lines.append("ret as i32")
    else:
        ret = f" -> {_CORE[fn.result.flat()[0]]}"
        lines.append(f"let r = {call};")
        lines.append(g.lower_flat_single(fn.result, "r"))
    body = "\n        ".join(lines)
    out = (
        f'    #[export_name = "{name}"]\n'
        f'    unsafe extern "C" fn export_{index}({core_params}){ret} {{\n'
        f"        init();\n        {body}\n    }}\n"
    )
    if fn.result_indirect() and _owns_memory(fn.result):
        # Loading the result back takes ownership of what it points to; dropping it frees it.
        out += (
            f'    #[export_name = "cabi_post_{name}"]\n'
            f'    unsafe extern "C" fn post_{index}(ret: i32) {{\n'
            f"        drop({g.load(fn.result, '(ret as *const u8)')});\n    }}\n"
        )
    return out


def _owns_memory(ty: wit.WitType) -> bool:
    if isinstance(ty, (wit.String, wit.List)):
        return True
    return isinstance(ty, wit.Tuple) and any(_owns_memory(e) for e in ty.elems)


def glue(iface: wit.Interface, exports: list[Export]) -> str:
    ret_size = max([8] + [e.fn.result.size() for e in exports if e.fn.result_indirect()])
    parts = [PRELUDE, f"    pub const RET_SIZE: usize = {wit.align_to(ret_size, 8)};\n"]
    parts += [export_function(iface, ex, i) for i, ex in enumerate(exports)]
    parts.append("}\n")
    return "\n".join(parts)
