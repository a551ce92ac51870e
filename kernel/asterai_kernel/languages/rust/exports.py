"""Canonical-ABI glue for Rust cells, generated as Rust source (no wit-bindgen crate is reachable here).

For each export the glue has a core function named `asterai:cells/NAME#fn` that lifts the flat core
arguments into Rust values, calls the user's function, and lowers the result: directly when it flattens to
one core value, else into a static return area, freed by `cabi_post_...` once the host has read it.
Strings and lists passed in were allocated by the host through `cabi_realloc`, so the callee owns them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ... import abi, wit
from . import flags

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

    pub unsafe fn alloc_area(size: usize, align: usize) -> *mut u8 {
        alloc(Layout::from_size_align_unchecked(size, align))
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

    /// A numeric list that crossed as a string (values.BulkCodec): its n bytes with the top bit
    /// cleared, then one character 0x40 | (4 top bits) per 4 bytes. Worked 16 bytes at a time with wasm
    /// SIMD (wasmtime always has it), the few bytes left one by one.
    #[target_feature(enable = "simd128")]
    pub unsafe fn bulk_in<T: Copy>(ptr: i32, len: i32) -> Vec<T> {
        use core::arch::wasm32::*;
        let src = ptr as *const u8;
        let n = len as usize * 4 / 5;
        let tops = src.add(n);
        let mut out: Vec<T> = Vec::with_capacity(n / std::mem::size_of::<T>());
        let dst = out.as_mut_ptr() as *mut u8;
        // the 4 characters of 16 bytes, each spread over its 4 bytes, then tested against that byte's bit
        let spread = u8x16(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
        let bit = u8x16(1, 2, 4, 8, 1, 2, 4, 8, 1, 2, 4, 8, 1, 2, 4, 8);
        let whole = n / 16;
        for g in 0..whole {
            let four = u32::from_le_bytes(std::ptr::read_unaligned(tops.add(4 * g) as *const [u8; 4]));
            let set = u8x16_ne(v128_and(u8x16_swizzle(u32x4_splat(four), spread), bit), u8x16_splat(0));
            let low = v128_load(src.add(16 * g) as *const v128);
            v128_store(dst.add(16 * g) as *mut v128, v128_or(low, v128_and(set, u8x16_splat(0x80))));
        }
        for i in 16 * whole..n {
            *dst.add(i) = *src.add(i) | ((*tops.add(i / 4) >> (i % 4)) & 1) << 7;
        }
        out.set_len(n / std::mem::size_of::<T>());
        free(ptr, len as usize, 1);
        out
    }

    #[target_feature(enable = "simd128")]
    pub unsafe fn bulk_out<T: Copy>(v: Vec<T>) -> (i32, i32) {
        use core::arch::wasm32::*;
        let src = v.as_ptr() as *const u8;
        let n = v.len() * std::mem::size_of::<T>();
        let mut out: Vec<u8> = Vec::with_capacity(n + (n + 3) / 4);
        let dst = out.as_mut_ptr();
        let tops = dst.add(n);
        let whole = n / 16;
        for g in 0..whole {
            let x = v128_load(src.add(16 * g) as *const v128);
            v128_store(dst.add(16 * g) as *mut v128, v128_and(x, u8x16_splat(0x7f)));
            let bits = u8x16_bitmask(x) as u32;  // bit k: the top bit of byte k
            let four = 0x4040_4040 | (bits & 0xf) | (bits & 0xf0) << 4 | (bits & 0xf00) << 8 | (bits & 0xf000) << 12;
            std::ptr::write_unaligned(tops.add(4 * g) as *mut [u8; 4], four.to_le_bytes());
        }
        for j in 4 * whole..(n + 3) / 4 {
            *tops.add(j) = 0x40;
        }
        for i in 16 * whole..n {
            *dst.add(i) = *src.add(i) & 0x7f;
            *tops.add(i / 4) |= (*src.add(i) >> 7) << (i % 4);
        }
        out.set_len(n + (n + 3) / 4);
        lower_string(String::from_utf8_unchecked(out))
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


@dataclass
class RustType:
    """How the glue spells a cell-defined type: its path, field names (records), cases (enums/variants),
    and for flags the integer inside the tuple struct and the helpers the glue adds (flags.helpers)."""

    path: str
    fields: list[str] = field(default_factory=list)
    cases: list[tuple[str, int]] = field(default_factory=list)  # (Rust variant, number of payload fields)
    backing: str = ""  # flags: u8, u16 or u32
    helpers: tuple[str, ...] = ()


@dataclass
class Param:
    name: str
    ty: wit.WitType
    by_ref: bool  # the user's function takes `&str` / `&[T]` (for a resource's receiver: `&mut self`)


@dataclass
class Export:
    rust_name: str  # the user's function
    fn: wit.Function
    params: list[Param]


# Joined variant slots (abi.Case.slots): (joined, own) -> Rust reading the case's own value from the slot,
# and (own, joined) -> Rust widening it into the slot.
CAST_IN = {
    ("i64", "i32"): "({v} as i32)",
    ("i32", "f32"): "f32::from_bits({v} as u32)",
    ("i64", "f32"): "f32::from_bits({v} as u32)",
    ("i64", "f64"): "f64::from_bits({v} as u64)",
}
CAST_OUT = {
    ("i32", "i64"): "({v} as u32 as i64)",
    ("f32", "i32"): "({v}.to_bits() as i32)",
    ("f32", "i64"): "({v}.to_bits() as u64 as i64)",
    ("f64", "i64"): "({v}.to_bits() as i64)",
}
CORE = {"i32": "i32", "i64": "i64", "f32": "f32", "f64": "f64"}
ZERO = {"i32": "0i32", "i64": "0i64", "f32": "0f32", "f64": "0f64"}


class RustEmitter(abi.Emitter):
    """Spells the canonical ABI's steps in Rust; `rust` says how the cell spells its named types."""

    def __init__(self, rust: dict[str, RustType]) -> None:
        super().__init__()
        self.rust = rust

    # ---- scalars ----
    def lift_scalar(self, step, val, spell=None):
        if isinstance(step, abi.Handle):  # a borrow of the cell's own resource arrives as its rep
            if step.ty.own:
                raise AssertionError("resources are taken by reference (signatures refuse by value)")
            return f"({val} as *mut {self.rust[step.ty.resource.name].path})"  # referenced at the call
        if step.name == "bool":
            return f"({val} != 0)"
        if step.name == "char":
            return f"char::from_u32_unchecked({val} as u32)"
        return f"({val} as {RUST_PRIMS[step.name]})"

    def lower_scalar(self, step, val, spell=None):
        if isinstance(step, abi.Handle):  # a new own handle: the boxed value's address is its rep
            return f"{resource_new(step.ty.resource)}(Box::into_raw(Box::new({val})) as i32)"
        if step.name == "char":
            return f"({val} as u32 as i32)"
        return f"({val} as {CORE[step.flat[0]]})"

    def load_scalar(self, step, ptr, spell=None):
        if step.name == "bool":
            return f"(*({ptr} as *const u8) != 0)"
        if step.name == "char":
            return f"char::from_u32_unchecked(*({ptr} as *const u32))"
        return f"*({ptr} as *const {RUST_PRIMS[step.name]})"

    def store_scalar(self, step, val, ptr, spell=None):
        if isinstance(step, abi.Handle):  # a new own handle inside a result (`Option<Account>`)
            return f"*({ptr} as *mut i32) = {self.lower_scalar(step, val)};"
        if step.name == "bool":
            return f"*({ptr} as *mut u8) = {val} as u8;"
        if step.name == "char":
            return f"*({ptr} as *mut u32) = {val} as u32;"
        return f"*({ptr} as *mut {RUST_PRIMS[step.name]}) = {val};"

    def at(self, ptr, offset):
        return f"{ptr}.add({offset})" if offset else ptr

    # ---- strings and lists: the callee owns what it is given ----
    def lift_text(self, ptr, length, spell=None):
        return f"lift_string({ptr}, {length})"

    def lower_text(self, val, out, spell=None):
        return self._pair(f"lower_string({val})", out)

    def lift_bulk(self, step, ptr, length, spell=None):
        return f"bulk_in::<{RUST_PRIMS[step.elem.name]}>({ptr}, {length})"

    def lower_bulk(self, step, val, out, spell=None):
        return self._pair(f"bulk_out({val})", out)

    def lift_list(self, step, ptr, length, spell=None):
        e = step.elem
        if step.plain:
            return f"lift_plain_list::<{RUST_PRIMS[e.name]}>({ptr}, {length})"
        q = self.tmp("q")
        return f"lift_list({ptr}, {length}, {e.size}, {e.align}, |{q}: *const u8| {self.load(e, q)})"

    def lower_list(self, step, val, out, spell=None):
        e = step.elem
        if step.plain:
            return self._pair(f"lower_plain_list({val})", out)
        x, q = self.tmp("x"), self.tmp("q")
        store = self.store(e, x, q)
        return self._pair(f"lower_list({val}, {e.size}, {e.align}, |{x}, {q}: *mut u8| {{ {store} }})", out)

    def _pair(self, call: str, out: list[str]) -> list[str]:
        p, n = self.tmp("p"), self.tmp("n")
        out.append(f"let ({p}, {n}) = {call};")
        return [p, n]

    # ---- flags: a tuple struct over an unsigned integer (flags.py), bit i member i ----
    def lift_flags(self, step, word, spell=None):
        rt = self.rust[step.ty.name]
        return f"{rt.path}({word} as u32 as {rt.backing})"

    def lower_flags(self, step, val, out, spell=None):
        return f"(({val}).0 as u32 & {step.mask:#x}) as i32"

    def load_flags(self, step, ptr, spell=None):
        rt = self.rust[step.ty.name]
        return f"{rt.path}(*({ptr} as *const {RUST_PRIMS[step.word.name]}) as {rt.backing})"

    def store_flags(self, step, val, ptr, spell=None):
        word = RUST_PRIMS[step.word.name]
        return f"*({ptr} as *mut {word}) = (({val}).0 as u32 & {step.mask:#x}) as {word};"

    # ---- records and tuples ----
    def make_fields(self, step, parts, spell=None):
        if isinstance(step.ty, wit.Tuple):
            return f"({', '.join(parts)},)"
        rt = self.rust[step.ty.name]
        return f"{rt.path} {{ {', '.join(f'{f}: {p}' for f, p in zip(rt.fields, parts))} }}"

    def bind(self, val, out, spell=None):
        name = self.tmp("v")
        out.append(f"let {name} = {val};")
        return name

    def field(self, step, val, index, spell=None):
        if isinstance(step.ty, wit.Tuple):
            return f"{val}.{index}"
        return f"{val}.{self.rust[step.ty.name].fields[index]}"

    # ---- cases ----
    def select_case(self, step, disc, arms, spell=None):
        values = " ".join(
            f"{case.index} => {self._case(step.ty, case.index, value)}," for case, value in arms
        )
        return f"match {disc} {{ {values} _ => std::process::abort() }}"

    def match_cases(self, step, val, arms, spell=None):
        out = []
        for case, x, body in arms:
            pattern, rebuild = self._case_pattern(step.ty, case.index, x)
            out.append(f"{pattern} => {{ {rebuild}{self.block(body)} }}")
        return f"match {val} {{ {' '.join(out)} }}"

    def load_disc(self, step, ptr):
        return f"(*({ptr} as *const {RUST_PRIMS[step.disc.name]}) as u32)"

    def store_disc(self, step, index, ptr):
        disc = RUST_PRIMS[step.disc.name]
        return f"*({ptr} as *mut {disc}) = {index} as {disc};"

    def cast_in(self, val, joined, own):
        return val if joined == own else CAST_IN[joined, own].format(v=val)

    def cast_out(self, val, own, joined):
        return val if joined == own else CAST_OUT[own, joined].format(v=val)

    def declare(self, name, core):
        return f"let mut {name} = {ZERO[core]};"

    def assign(self, name, val):
        return f"{name} = {val};"

    def block(self, stmts):
        return " ".join(stmts)

    def _case(self, ty, i: int, value: str | None) -> str:
        """The Rust value of case `i` of an option/result/variant/enum holding the lifted payload `value`."""
        if isinstance(ty, wit.Option):
            return "None" if i == 0 else f"Some({value})"
        if isinstance(ty, wit.Result):
            return f"{'Ok' if i == 0 else 'Err'}({'()' if value is None else value})"
        rt = self.rust[ty.name]
        name, arity = rt.cases[i]
        if arity == 0:
            return f"{rt.path}::{name}"
        if arity == 1:
            return f"{rt.path}::{name}({value})"
        t = self.tmp("t")
        return f"{{ let {t} = {value}; {rt.path}::{name}({', '.join(f'{t}.{k}' for k in range(arity))}) }}"

    def _case_pattern(self, ty, i: int, x: str | None) -> tuple[str, str]:
        """A match pattern for case `i`, and a statement leaving its payload as one value in `x`."""
        if isinstance(ty, wit.Option):
            return ("None" if i == 0 else f"Some({x})"), ""
        if isinstance(ty, wit.Result):
            return f"{'Ok' if i == 0 else 'Err'}({x if x else '_'})", ""
        rt = self.rust[ty.name]
        name, arity = rt.cases[i]
        if arity == 0:
            return f"{rt.path}::{name}", ""
        if arity == 1:
            return f"{rt.path}::{name}({x})", ""
        parts = [f"{x}_{k}" for k in range(arity)]  # several fields: the WIT payload is their tuple
        return f"{rt.path}::{name}({', '.join(parts)})", f"let {x} = ({', '.join(parts)},); "


def _argument(i: int, p: Param) -> str:
    if isinstance(p.ty, wit.Handle):  # a resource's pointer: `&mut self` (by_ref) or a shared borrow
        return f"&mut *a{i}" if p.by_ref else f"&*a{i}"
    return f"&a{i}" if p.by_ref else f"a{i}"


def resource_new(resource: wit.Resource) -> str:
    return f"resource_new_{resource.name.replace('-', '_')}"


def resource_glue(iface: wit.Interface, rust: dict[str, RustType]) -> str:
    """Per resource: the `[resource-new]` import that makes a handle of a rep, and the destructor export
    the host calls when the last handle is dropped (the boxed value is dropped, running the user's Drop)."""
    out = []
    for t in iface.types():
        if not isinstance(t, wit.Resource) or t.owner:
            continue
        path = rust[t.name].path
        out.append(
            f'    #[link(wasm_import_module = "[export]{iface.qualified}")]\n'
            f'    extern "C" {{\n        #[link_name = "[resource-new]{t.name}"]\n'
            f"        fn {resource_new(t)}(rep: i32) -> i32;\n    }}\n"
            f'    #[export_name = "{iface.qualified}#[dtor]{t.name}"]\n'
            f'    unsafe extern "C" fn dtor_{t.name.replace("-", "_")}(rep: i32) {{\n'
            f"        drop(Box::from_raw(rep as *mut {path}));\n    }}\n"
        )
    return "\n".join(out)


def export_function(iface: wit.Interface, ex: Export, index: int, rust: dict[str, RustType]) -> str:
    g, plan = RustEmitter(rust), abi.plan_function(ex.fn)
    name = wit.export_name(iface, ex.fn)
    lines: list[str] = []
    if plan.params_indirect:
        core_params = "args: i32"
        for i, f in enumerate(plan.args.fields):
            lines.append(f"let a{i} = {g.load(f.step, g.at('(args as *const u8)', f.offset))};")
        lines.append(f"free(args, {plan.args.size}, {plan.args.align});")
    else:
        core = []
        for i, step in enumerate(plan.params):
            vals = [f"p{i}_{j}" for j in range(len(step.flat))]
            core += [f"{v}: {CORE[f]}" for v, f in zip(vals, step.flat)]
            lines.append(f"let a{i} = {g.lift_flat(step, vals)};")
        core_params = ", ".join(core)
    call_args = ", ".join(_argument(i, p) for i, p in enumerate(ex.params))
    call = f"crate::{ex.rust_name}({call_args})"
    ret = f" -> {CORE[plan.core_result]}" if plan.core_result else ""
    if plan.result is None:
        lines.append(f"{call};")
    elif plan.result_indirect:
        lines += [f"let r = {call};", "let ret = ret_area();", g.store(plan.result, "r", "ret"), "ret as i32"]
    else:
        lines.append(f"let r = {call};")
        (value,) = g.lower_flat(plan.result, "r", lines)
        lines.append(value)
    body = "\n        ".join(lines)
    out = (
        f'    #[export_name = "{name}"]\n'
        f'    unsafe extern "C" fn export_{index}({core_params}){ret} {{\n'
        f"        init();\n        {body}\n    }}\n"
    )
    if plan.post_return:
        # Loading the result back takes ownership of what it points to; dropping it frees it (a bulk result
        # is its text).
        stored = abi.plan(wit.String()) if isinstance(plan.result, abi.Bulk) else plan.result
        out += (
            f'    #[export_name = "cabi_post_{name}"]\n'
            f'    unsafe extern "C" fn post_{index}(ret: i32) {{\n'
            f"        drop({g.load(stored, '(ret as *const u8)')});\n    }}\n"
        )
    return out


def glue(iface: wit.Interface, exports: list[Export], rust: dict[str, RustType],
         declared: tuple[wit.Interface, ...] = ()) -> str:  # fmt: skip
    ret_size = abi.return_area([abi.plan_function(e.fn) for e in exports])  # twins' results: <= 8 bytes
    parts = [PRELUDE, f"    pub const RET_SIZE: usize = {ret_size};\n"]
    parts += [export_function(iface, ex, i, rust) for i, ex in enumerate(exports)]
    parts.append(resource_glue(iface, rust))
    parts += [flags.helpers(rt.path, rt.helpers) for rt in rust.values() if rt.backing and rt.helpers]
    index = len(exports) * 2
    plain = [ex for ex in exports if wit.resource_part(ex.fn.name) is None]
    for other in declared:  # the same functions again, under the declared interface's names
        for ex in plain:
            parts.append(export_function(other, ex, index, rust))
            index += 1
    bulk = wit.bulk_interface(iface)
    twins = [(ex, wit.bulk_twin(ex.fn) if ex in plain else None) for ex in exports]
    for i, (ex, twin) in enumerate(twins):
        if twin is not None:
            params = [Param(p.name, t, p.by_ref) for p, (_, t) in zip(ex.params, twin.params)]
            parts.append(export_function(bulk, Export(ex.rust_name, twin, params), len(exports) + i, rust))
    parts.append("}\n")
    return "\n".join(parts)
