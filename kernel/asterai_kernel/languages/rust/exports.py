"""Canonical-ABI glue for Rust cells, generated as Rust source (no wit-bindgen crate is reachable here).

For each export the glue has a core function named `asterai:cells/NAME#fn` that lifts the flat core
arguments into Rust values, calls the user's function, and lowers the result: directly when it flattens to
one core value, else into a static return area, freed by `cabi_post_...` once the host has read it.
Strings and lists passed in were allocated by the host through `cabi_realloc`, so the callee owns them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ... import wit

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

    /// A numeric list that crossed as a string: each byte of its little-endian data is two ASCII
    /// characters '@'..'O' (0x40 | high nibble, 0x40 | low nibble), cheap to code on both sides.
    pub unsafe fn bulk_in<T: Copy>(ptr: i32, len: i32) -> Vec<T> {
        let src = std::slice::from_raw_parts(ptr as *const u8, len as usize);
        let n = src.len() / 2;
        let mut out: Vec<T> = Vec::with_capacity(n / std::mem::size_of::<T>());
        let dst = std::slice::from_raw_parts_mut(out.as_mut_ptr() as *mut u8, n);
        for (d, pair) in dst.iter_mut().zip(src.chunks_exact(2)) {
            *d = (pair[0] << 4) | (pair[1] & 0x0f);
        }
        out.set_len(n / std::mem::size_of::<T>());
        free(ptr, len as usize, 1);
        out
    }

    pub unsafe fn bulk_out<T: Copy>(v: Vec<T>) -> (i32, i32) {
        let bytes = std::slice::from_raw_parts(v.as_ptr() as *const u8, v.len() * std::mem::size_of::<T>());
        let mut out: Vec<u8> = vec![0; bytes.len() * 2];
        for (pair, &b) in out.chunks_exact_mut(2).zip(bytes) {
            pair[0] = 0x40 | (b >> 4);
            pair[1] = 0x40 | (b & 0x0f);
        }
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
# Primitives whose Rust layout equals the canonical ABI's, so lists of them cross without a copy.
PLAIN = {"s8", "u8", "s16", "u16", "s32", "u32", "s64", "u64", "f32", "f64"}


@dataclass
class RustType:
    """How the glue spells a cell-defined type: its path, field names (records), cases (enums/variants)."""

    path: str
    fields: list[str] = field(default_factory=list)
    cases: list[tuple[str, int]] = field(default_factory=list)  # (Rust variant, number of payload fields)


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


def _coerce(val: str, have: str, want: str) -> str:
    """A joined flat value (variant payload slot) read back as the case's own core type."""
    if have == want:
        return val
    if want == "i32":
        return f"({val} as i32)"
    if want == "f32":
        return f"f32::from_bits({val} as u32)"
    return f"f64::from_bits({val} as u64)"  # want f64, have i64


class RustGen:
    """Emits Rust expressions and statements; `tmp()` makes unique local names."""

    def __init__(self, rust: dict[str, RustType]) -> None:
        self.n = 0
        self.rust = rust

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
        if isinstance(ty, wit.Bulk):
            return f"bulk_in::<{RUST_PRIMS[ty.elem.name]}>({vals[0]}, {vals[1]})"
        if isinstance(ty, wit.List):
            return self.lift_list(ty, vals[0], vals[1])
        if isinstance(ty, (wit.Tuple, wit.Record)):
            parts = self._split(self._elems(ty), vals)
            return self._build(ty, [self.lift_flat(t, v) for t, v in parts])
        if isinstance(ty, wit.Enum):
            return self._enum_from(ty, vals[0])
        # option / result / variant: discriminant, then the joined payload slots
        joined = ty.flat()[1:]
        arms = []
        for i, payload in enumerate(ty.payloads()):
            value = None
            if payload is not None:
                mine = payload.flat()
                coerced = [_coerce(v, h, w) for v, h, w in zip(vals[1:], joined, mine)]
                value = self.lift_flat(payload, coerced)
            arms.append(f"{i} => {self._case(ty, i, value)},")
        return f"match {vals[0]} {{ {' '.join(arms)} _ => std::process::abort() }}"

    def lower_flat_single(self, ty: wit.WitType, val: str) -> str:
        """A value that flattens to one core value (the direct-return case)."""
        if isinstance(ty, wit.Enum):
            return f"({self._enum_index(ty, val)} as i32)"
        if isinstance(ty, wit.Record):
            return self.lower_flat_single(ty.fields[0][1], f"{val}.{self.rust[ty.name].fields[0]}")
        if isinstance(ty, wit.Tuple):
            return self.lower_flat_single(ty.elems[0], f"{val}.0")
        assert isinstance(ty, wit.Prim), ty
        if ty.name == "char":
            return f"({val} as u32 as i32)"
        return f"({val} as {CORE[ty.flat()[0]]})"

    # ---- values in linear memory ----
    def load(self, ty: wit.WitType, ptr: str) -> str:
        if isinstance(ty, wit.Prim):
            if ty.name == "bool":
                return f"(*({ptr} as *const u8) != 0)"
            if ty.name == "char":
                return f"char::from_u32_unchecked(*({ptr} as *const u32))"
            return f"*({ptr} as *const {RUST_PRIMS[ty.name]})"
        if isinstance(ty, (wit.String, wit.List, wit.Bulk)):
            vals = [f"*({ptr} as *const i32)", f"*({ptr}.add(4) as *const i32)"]
            return self.lift_flat(ty, vals)
        if isinstance(ty, (wit.Tuple, wit.Record)):
            parts = [self.load(t, f"{ptr}.add({o})") for t, o in zip(self._elems(ty), ty.offsets())]
            return self._build(ty, parts)
        disc = f"(*({ptr} as *const {RUST_PRIMS[ty.disc().name]}) as u32)"
        if isinstance(ty, wit.Enum):
            return self._enum_from(ty, disc)
        off = ty.payload_offset()
        arms = []
        for i, payload in enumerate(ty.payloads()):
            value = None if payload is None else self.load(payload, f"{ptr}.add({off})")
            arms.append(f"{i} => {self._case(ty, i, value)},")
        return f"match {disc} {{ {' '.join(arms)} _ => std::process::abort() }}"

    def store(self, ty: wit.WitType, val: str, ptr: str) -> str:
        if isinstance(ty, wit.Prim):
            if ty.name == "bool":
                return f"*({ptr} as *mut u8) = {val} as u8;"
            if ty.name == "char":
                return f"*({ptr} as *mut u32) = {val} as u32;"
            return f"*({ptr} as *mut {RUST_PRIMS[ty.name]}) = {val};"
        if isinstance(ty, (wit.String, wit.List, wit.Bulk)):
            p, n = self.tmp("p"), self.tmp("n")
            lower = (
                f"lower_string({val})" if isinstance(ty, wit.String)
                else f"bulk_out({val})" if isinstance(ty, wit.Bulk)
                else self.lower_list(ty, val)
            )  # fmt: skip
            return f"let ({p}, {n}) = {lower}; *({ptr} as *mut i32) = {p}; *({ptr}.add(4) as *mut i32) = {n};"
        if isinstance(ty, (wit.Tuple, wit.Record)):
            elems = self._elems(ty)
            names = [self.tmp("e") for _ in elems]
            stores = " ".join(
                self.store(t, n, f"{ptr}.add({o})") for t, n, o in zip(elems, names, ty.offsets())
            )
            return f"let {self._pattern(ty, names)} = {val}; {stores}"
        disc_ty = RUST_PRIMS[ty.disc().name]
        if isinstance(ty, wit.Enum):
            return f"*({ptr} as *mut {disc_ty}) = {self._enum_index(ty, val)} as {disc_ty};"
        off = ty.payload_offset()
        arms = []
        for i, payload in enumerate(ty.payloads()):
            x = self.tmp("x") if payload is not None else None
            pattern, rebuild = self._case_pattern(ty, i, x)
            body = f"*({ptr} as *mut {disc_ty}) = {i};"
            if payload is not None:
                body += f" {rebuild}{self.store(payload, x, f'{ptr}.add({off})')}"
            arms.append(f"{pattern} => {{ {body} }}")
        return f"match {val} {{ {' '.join(arms)} }}"

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

    # ---- records, tuples and cases, spelled the Rust way ----
    @staticmethod
    def _elems(ty) -> list[wit.WitType]:
        return list(ty.elems) if isinstance(ty, wit.Tuple) else [t for _, t in ty.fields]

    @staticmethod
    def _split(types: list[wit.WitType], vals: list[str]) -> list[tuple[wit.WitType, list[str]]]:
        out, i = [], 0
        for t in types:
            n = len(t.flat())
            out.append((t, vals[i : i + n]))
            i += n
        return out

    def _build(self, ty, parts: list[str]) -> str:
        if isinstance(ty, wit.Tuple):
            return f"({', '.join(parts)},)"
        rt = self.rust[ty.name]
        return f"{rt.path} {{ {', '.join(f'{f}: {p}' for f, p in zip(rt.fields, parts))} }}"

    def _pattern(self, ty, names: list[str]) -> str:
        if isinstance(ty, wit.Tuple):
            return f"({', '.join(names)},)"
        rt = self.rust[ty.name]
        return f"{rt.path} {{ {', '.join(f'{f}: {n}' for f, n in zip(rt.fields, names))} }}"

    def _enum_from(self, ty: wit.Enum, disc: str) -> str:
        rt = self.rust[ty.name]
        arms = " ".join(f"{i} => {rt.path}::{name}," for i, (name, _) in enumerate(rt.cases))
        return f"match {disc} {{ {arms} _ => std::process::abort() }}"

    def _enum_index(self, ty: wit.Enum, val: str) -> str:
        rt = self.rust[ty.name]
        arms = " ".join(f"{rt.path}::{name} => {i}," for i, (name, _) in enumerate(rt.cases))
        return f"(match {val} {{ {arms} }})"

    def _case(self, ty, i: int, value: str | None) -> str:
        """The Rust value of case `i` of an option/result/variant holding the lifted payload `value`."""
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


CORE = {"i32": "i32", "i64": "i64", "f32": "f32", "f64": "f64"}


def export_function(iface: wit.Interface, ex: Export, index: int, rust: dict[str, RustType]) -> str:
    g = RustGen(rust)
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
            core += [f"{v}: {CORE[f]}" for v, f in zip(vals, p.ty.flat())]
            flat_names += vals
            lifted.append(g.lift_flat(p.ty, vals))
        core_params = ", ".join(core)
        lines += [f"let a{i} = {v};" for i, v in enumerate(lifted)]
    call_args = ", ".join(f"&a{i}" if p.by_ref else f"a{i}" for i, p in enumerate(ex.params))
    call = f"crate::{ex.rust_name}({call_args})"
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
        ret = f" -> {CORE[fn.result.flat()[0]]}"
        lines.append(f"let r = {call};")
        lines.append(g.lower_flat_single(fn.result, "r"))
    body = "\n        ".join(lines)
    out = (
        f'    #[export_name = "{name}"]\n'
        f'    unsafe extern "C" fn export_{index}({core_params}){ret} {{\n'
        f"        init();\n        {body}\n    }}\n"
    )
    if fn.result_indirect() and owns_memory(fn.result):
        # Loading the result back takes ownership of what it points to; dropping it frees it.
        stored = wit.String() if isinstance(fn.result, wit.Bulk) else fn.result  # a bulk result is its text
        out += (
            f'    #[export_name = "cabi_post_{name}"]\n'
            f'    unsafe extern "C" fn post_{index}(ret: i32) {{\n'
            f"        drop({g.load(stored, '(ret as *const u8)')});\n    }}\n"
        )
    return out


def owns_memory(ty: wit.WitType | None) -> bool:
    """Whether a stored value points at heap memory that cabi_post must free."""
    if isinstance(ty, (wit.String, wit.List, wit.Bulk)):
        return True
    if isinstance(ty, (wit.Tuple, wit.Record)):
        return any(owns_memory(t) for t in RustGen._elems(ty))
    if isinstance(ty, wit._Cases):
        return any(owns_memory(t) for t in ty.payloads())
    return False


def glue(iface: wit.Interface, exports: list[Export], rust: dict[str, RustType],
         declared: tuple[wit.Interface, ...] = ()) -> str:  # fmt: skip
    ret_size = max([8] + [e.fn.result.size() for e in exports if e.fn.result_indirect()])  # twins: <= 8
    parts = [PRELUDE, f"    pub const RET_SIZE: usize = {wit.align_to(ret_size, 8)};\n"]
    parts += [export_function(iface, ex, i, rust) for i, ex in enumerate(exports)]
    index = len(exports) * 2
    for other in declared:  # the same functions again, under the declared interface's names
        for ex in exports:
            parts.append(export_function(other, ex, index, rust))
            index += 1
    bulk = wit.bulk_interface(iface)
    twins = [(ex, wit.bulk_twin(ex.fn)) for ex in exports]
    for i, (ex, twin) in enumerate(twins):
        if twin is not None:
            params = [Param(p.name, t, p.by_ref) for p, (_, t) in zip(ex.params, twin.params)]
            parts.append(export_function(bulk, Export(ex.rust_name, twin, params), len(exports) + i, rust))
    parts.append("}\n")
    return "\n".join(parts)
