"""WIT flags in Rust, Go, C, C++, Zig, TypeScript and JavaScript cells: each language's bit-set idiom read as flags, both ways
through the glue (parameters, results, inside records, lists and options), from Python with the generated
`enum.Flag` class or with member names, across languages (`--use`), and in `--exports` of an interface a `wit`
cell declares.

One cell per language (module-scoped): every language's cell exports the same functions over the same
`perms` flags, so the same checks run on each. TypeScript's cell runs three ways: on the shared QuickJS
runner, as its own QuickJS component and as its own StarlingMonkey component (ENVIRONMENTS).
"""

from __future__ import annotations

import dataclasses
import enum

import pytest

from asterai_kernel import CompileError, ComponentError, GuestTrap, wit
from asterai_kernel.names import pascal_name

pytestmark = pytest.mark.toolchain

GO = """
// Perms are what a user may do with a file.
type Perms uint8

const (
	PermsRead Perms = 1 << iota
	PermsWrite
	PermsExec
)

type File struct {
	Name  string
	Perms Perms
}

func Grant(p, extra Perms) Perms { return p | extra }

func Mode(f File) string {
	s := f.Name + ":"
	for i, c := range "rwx" {
		if f.Perms&(1<<i) != 0 {
			s += string(c)
		}
	}
	return s
}

func Lock(fs []File) []File {
	for i := range fs {
		fs[i].Perms &^= PermsWrite
	}
	return fs
}

func Toggle(p *Perms) *Perms {
	if p == nil {
		return nil
	}
	q := *p ^ PermsExec
	return &q
}
"""

ZIG = """const std = @import("std");
const asterai = @import("asterai");

/// Perms are what a user may do with a file.
pub const Perms = packed struct(u8) { read: bool = false, write: bool = false, exec: bool = false, _pad: u5 = 0 };

pub const File = struct { name: []const u8, perms: Perms };

pub fn grant(p: Perms, extra: Perms) Perms {
    return @bitCast(@as(u8, @bitCast(p)) | @as(u8, @bitCast(extra)));
}

pub fn mode(f: File) []const u8 {
    const p = f.perms;
    const rwx = .{ f.name, if (p.read) "r" else "", if (p.write) "w" else "", if (p.exec) "x" else "" };
    return std.fmt.allocPrint(asterai.allocator, "{s}:{s}{s}{s}", rwx) catch unreachable;
}

pub fn lock(fs: []const File) []const File {
    const out = asterai.allocator.dupe(File, fs) catch unreachable;
    for (out) |*f| f.perms.write = false;
    return out;
}

pub fn toggle(p: ?Perms) ?Perms {
    var q = p orelse return null;
    q.exec = !q.exec;
    return q;
}
"""

C = r"""
#include <stdio.h>
#include <stdlib.h>

/* What a user may do with a file. */
typedef uint8_t perms_t;
#define PERMS_READ (1u << 0)
#define PERMS_WRITE (1u << 1)
#define PERMS_EXEC (1u << 2)

typedef struct { const char *name; perms_t perms; } File;
typedef ASTERAI_LIST(File) Files;

perms_t grant(perms_t p, perms_t extra) { return p | extra; }

char *mode(File f) {
    char *s = malloc(strlen(f.name) + 5);
    sprintf(s, "%s:%s%s%s", f.name, f.perms & PERMS_READ ? "r" : "", f.perms & PERMS_WRITE ? "w" : "",
            f.perms & PERMS_EXEC ? "x" : "");
    return s;
}

Files lock(Files fs) {
    for (size_t i = 0; i < fs.len; i++) fs.ptr[i].perms &= ~PERMS_WRITE;
    return fs;
}
"""

CPP = r"""
#include <optional>
#include <string>
#include <vector>

// What a user may do with a file.
typedef uint8_t perms_t;
#define PERMS_READ (1u << 0)
#define PERMS_WRITE (1u << 1)
#define PERMS_EXEC (1u << 2)

struct File { std::string name; perms_t perms; };

perms_t grant(perms_t p, perms_t extra) { return p | extra; }

std::string mode(const File &f) {
    return f.name + ":" + (f.perms & PERMS_READ ? "r" : "") + (f.perms & PERMS_WRITE ? "w" : "") +
           (f.perms & PERMS_EXEC ? "x" : "");
}

std::vector<File> lock(std::vector<File> fs) {
    for (auto &f : fs) f.perms &= ~PERMS_WRITE;
    return fs;
}

std::optional<perms_t> toggle(std::optional<perms_t> p) {
    if (!p) return std::nullopt;
    return *p ^ PERMS_EXEC;
}
"""

# wit-bindgen's C++ spelling: a scoped enum with operators (without `operator|` it would stay a WIT enum)
CPP_SCOPED = r"""
#include <optional>
#include <string>
#include <vector>

enum class Perms : uint8_t { kNone = 0, kRead = 1 << 0, kWrite = 1 << 1, kExec = 1 << 2 };
inline Perms operator|(Perms a, Perms b) { return Perms(uint8_t(a) | uint8_t(b)); }
inline Perms operator&(Perms a, Perms b) { return Perms(uint8_t(a) & uint8_t(b)); }
inline Perms operator^(Perms a, Perms b) { return Perms(uint8_t(a) ^ uint8_t(b)); }
inline bool has(Perms p, Perms bit) { return (p & bit) != Perms::kNone; }

struct File { std::string name; Perms perms; };

Perms grant(Perms p, Perms extra) { return p | extra; }

std::string mode(const File &f) {
    return f.name + ":" + (has(f.perms, Perms::kRead) ? "r" : "") + (has(f.perms, Perms::kWrite) ? "w" : "") +
           (has(f.perms, Perms::kExec) ? "x" : "");
}

std::vector<File> lock(std::vector<File> fs) {
    for (auto &f : fs) f.perms = f.perms & Perms(uint8_t(~uint8_t(Perms::kWrite)));
    return fs;
}

std::optional<Perms> toggle(std::optional<Perms> p) {
    if (!p) return std::nullopt;
    return *p ^ Perms::kExec;
}
"""

RUST = """
/// What a user may do with a file.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct Perms(u8);

impl Perms {
    pub const EMPTY: Perms = Perms(0);
    pub const READ: Perms = Perms(1 << 0);
    pub const WRITE: Perms = Perms(1 << 1);
    pub const EXEC: Self = Self(0b100);
}

pub struct File {
    pub name: String,
    pub perms: Perms,
}

pub fn grant(p: Perms, extra: Perms) -> Perms {
    p | extra
}

pub fn mode(f: File) -> String {
    let mut s = f.name + ":";
    for (bit, c) in [(Perms::READ, 'r'), (Perms::WRITE, 'w'), (Perms::EXEC, 'x')] {
        if f.perms.contains(bit) {
            s.push(c);
        }
    }
    s
}

pub fn lock(fs: Vec<File>) -> Vec<File> {
    fs.into_iter().map(|f| File { perms: Perms(f.perms.0 & !Perms::WRITE.0), ..f }).collect()
}

pub fn toggle(p: Option<Perms>) -> Option<Perms> {
    p.map(|p| Perms(p.0 ^ Perms::EXEC.0))
}
"""

# TypeScript's idiom: a numeric enum of bits; `None` (0) and `All` (a combination) are not members
TYPESCRIPT = """
/** What a user may do with a file. */
export enum Perms { None = 0, Read = 1 << 0, Write = 1 << 1, Exec = 1 << 2, All = Read | Write | Exec }

export interface File { name: string; perms: Perms }

export function grant(p: Perms, extra: Perms): Perms { return p | extra; }

export function mode(f: File): string {
  return f.name + ":" + ["r", "w", "x"].filter((_, i) => f.perms & (1 << i)).join("");
}

export function lock(fs: File[]): File[] { return fs.map((f) => ({ ...f, perms: f.perms & ~Perms.Write })); }

export function toggle(p: Perms | undefined): Perms | undefined {
  return p === undefined ? undefined : p ^ Perms.Exec;
}
"""

# JavaScript's: JSDoc's @enum, an object of bit constants (Object.freeze'd), read as the TypeScript enum above
JAVASCRIPT = """
/**
 * What a user may do with a file.
 * @enum {number}
 */
export const Perms = Object.freeze({ None: 0, Read: 1 << 0, Write: 1 << 1, Exec: 1 << 2, All: 0b001 | 0b010 | 0b100 });

/** @typedef {{name: string, perms: Perms}} File */

/** @param {Perms} p  @param {Perms} extra  @returns {Perms} */
export function grant(p, extra) { return p | extra; }

/** @param {File} f  @returns {string} */
export function mode(f) { return f.name + ":" + ["r", "w", "x"].filter((_, i) => f.perms & (1 << i)).join(""); }

/** @param {File[]} fs  @returns {File[]} */
export function lock(fs) { return fs.map((f) => ({ ...f, perms: f.perms & ~Perms.Write })); }

/** @param {Perms | undefined} p  @returns {Perms | undefined} */
export function toggle(p) { return p === undefined ? undefined : p ^ Perms.Exec; }
"""

CELLS = {"go": GO, "zig": ZIG, "c": C, "cpp": CPP, "cpp_scoped": CPP_SCOPED, "rust": RUST, "typescript": TYPESCRIPT,
         "typescript_own": TYPESCRIPT, "typescript_sm": TYPESCRIPT, "javascript": JAVASCRIPT}  # fmt: skip
# How a cell is built besides its language: TypeScript on its own component, with QuickJS or StarlingMonkey
ENVIRONMENTS = {
    "typescript_own": {"ASTERAI_INTERPRETED": "0"},
    "typescript_sm": {"ASTERAI_JS_ENGINE": "starlingmonkey"},
}


def _build(ip, key: str, name: str, source: str):
    with pytest.MonkeyPatch.context() as env:
        for var, value in ENVIRONMENTS.get(key, {}).items():
            env.setenv(var, value)
        ip.run_cell_magic("asterai", f"{key.split('_')[0]} {name}", source)
    return ip.user_ns[name]


@pytest.fixture(scope="module", params=sorted(CELLS))
def perms(request, ip):
    """The language's cell `flags_LANG` (built once per module, then from the cache)."""
    return _build(ip, request.param, f"flags_{request.param}", CELLS[request.param])


def test_round_trip_with_the_flag_class_and_with_names(perms):
    P = perms.Perms
    assert [m.name for m in P] == ["read", "write", "exec"]
    assert perms.grant(P.read, P.write) == P.read | P.write
    assert perms.grant(["read"], ("exec",)) == P.read | P.exec
    assert isinstance(perms.grant(["read"], []), P)


def test_empty_and_all_flags(perms):
    P = perms.Perms
    assert perms.grant(P(0), []) == P(0)
    assert perms.grant(["read", "write"], ["exec"]) == P.read | P.write | P.exec


def test_flags_in_records_lists_and_options(perms):
    P = perms.Perms
    assert perms.mode({"name": "a", "perms": P.read | P.exec}) == "a:rx"
    files = perms.lock([perms.File("a", P.read | P.write), perms.File("b", ["write", "exec"])])
    assert files == [perms.File("a", P.read), perms.File("b", P.exec)]
    if hasattr(perms, "toggle"):  # (C has no option type)
        assert perms.toggle(None) is None and perms.toggle(P.read) == P.read | P.exec
        assert perms.toggle([]) == P.exec


def test_a_bad_name_is_refused_before_the_call(perms):
    with pytest.raises(ValueError, match=r"parameter 'p' has 'reed', which is not a flag of perms"):
        perms.grant(["reed"], [])


# ---- what is refused, with the line ----

REFUSED = [
    ("go", "\tPermsExec\n", "\tPermsExec Perms = 3\n", r"line 9: `PermsExec` is 0x3, not a single bit"),
    ("go", "\tPermsExec\n", "\tPermsExec Perms = 1 << 4\n", r"line 9: flags `Perms` skip bit 2"),
    ("go", "\tPermsExec\n", "\tPermsExec Perms = 1 << 8\n", r"line 9: `PermsExec` is bit 8: flags `Perms` hold "
     "at most 8 members"),
    ("go", "\tPermsExec\n", "\tPermsExec Perms = PermsRead | PermsWrite\n", r"line 9: `PermsExec`: the value"),
    ("c", "(1u << 2)", "(3u)", r"line 10: `PERMS_EXEC` is 0x3, not a single bit"),
    ("c", "(1u << 2)", "(PERMS_READ | PERMS_WRITE)", r"line 10: `PERMS_EXEC` is 0x3, not a single bit"),
    ("c", "(1u << 2)", "(1u << 8)", r"line 10: `PERMS_EXEC` is bit 8: flags `perms_t` hold at most 8"),
    ("cpp", "(1u << 2)", "(1u << 3)", r"line 11: flags `perms_t` skip bit 2"),
    ("cpp_scoped", "kExec = 1 << 2", "kExec", r"line 7: `kExec` is 0x3, not a single bit"),
    ("cpp_scoped", "kExec = 1 << 2", "kExec = kRead | kWrite", r"line 7: `kExec` is 0x3, not a single bit"),
    ("rust", "Self(0b100)", "Self(3)", r"line 11: `EXEC` is 0x3, not a single bit"),
    ("rust", "Self(0b100)", "Self(Perms::READ.0 | Self::WRITE.0)", r"line 11: `EXEC` is 0x3, not a single bit"),
    ("rust", "Self(0b100)", "Self(1 << 4)", r"line 11: flags `Perms` skip bit 2"),
    ("rust", "Self(0b100)", "Self(1u8 << 8)", r"line 11: `EXEC` is bit 8: flags `Perms` hold at most 8"),
    ("rust", "Self(0b100)", "Self(u8::MAX)", r"line 11: `EXEC`: a constant of flags `Perms` must be "
     r"`Perms\(...\)` of an integer expression"),
    ("rust", "Perms(u8);", "Perms(u64);", r"line 5: `Perms` has constants of its own type, so it would be WIT "
     r"flags, but flags are a tuple struct over u8, u16 or u32 \(at most 32 members\).* not over `u64`"),
    ("rust", "Perms(u8);", "Perms(i32);", r"line 5: `Perms` has constants .* not over `i32`"),
    ("zig", "exec: bool = false, _pad: u5 = 0", "_pad: u5 = 0, exec: bool = false",
     r"line 6: flags `Perms`: the padding field `_pad` comes before a member"),
    ("typescript", "Exec = 1 << 2", "Exec = 3", r"line 4: `Perms.Exec` is 0x3, not a single bit: .* a combination "
     r"joins members with `\|`, e.g. `All = Read \| Write`"),
    ("typescript", "Exec = 1 << 2", "Exec", r"line 4: `Perms.Exec` is 0x3 \(a member without a value is the one "
     r"before it plus 1\), not a single bit"),
    ("typescript", "Exec = 1 << 2", "Exec = 1 << 3", r"line 4: flags `Perms` skip bit 2"),
    ("typescript", "Exec = 1 << 2", "Exec = 1 << 32", r"line 4: `1 << 32` in flags `Perms`: flags hold at most 32"),
    ("typescript", "Exec = 1 << 2", "Exec = Write", r"line 4: `Exec` is bit 1, as `Write` \(line 4\) is"),
    ("typescript", "Exec = 1 << 2", "Exec = 2 ** 2", r"line 4: `Perms.Exec`: a member of flags `Perms` must be a "
     r"number written with literals, `<<`, `\|`"),
    ("typescript", "All = Read | Write | Exec", "All = Read | 8", r"line 4: `Perms.All` is 0x9, which has bit 3, "
     "and no member of flags `Perms` is that bit"),
]  # fmt: skip


@pytest.mark.parametrize(("lang", "old", "new", "message"), REFUSED)
def test_what_is_not_flags_is_refused_naming_the_line(cell, lang, old, new, message):
    assert old in CELLS[lang]
    with pytest.raises(CompileError, match=message):
        cell(f"{lang.split('_')[0]} flags_{lang}_bad", CELLS[lang].replace(old, new))


def test_flags_hold_at_most_32_members(cell):
    consts = "\n".join(f"\tWideB{i}" + (" Wide = 1 << iota" if i == 0 else "") for i in range(33))
    source = f"type Wide uint64\n\nconst (\n{consts}\n)\n\nfunc Id(w Wide) Wide {{ return w }}\n"
    with pytest.raises(CompileError, match=r"line 37: `WideB32` is bit 32: flags `Wide` hold at most 32"):
        cell("go flags_go_wide", source)
    bools = ", ".join(f"b{i}: bool" for i in range(33))
    with pytest.raises(
        CompileError, match=r"line 2: flags `Wide` have 33 members: WIT flags hold at most 32"
    ):
        cell("zig flags_zig_wide", f"pub const Wide = packed struct {{ {bools} }};\npub fn id(w: Wide) Wide "
             "{ return w; }\n")  # fmt: skip


@pytest.mark.parametrize(
    "enum",
    [
        'enum Perms { Read = "r", Write = "w" }',
        "enum Perms { Read, Write }",
        "enum Perms { Read = 1, Write = 2 }",
    ],
)
def test_a_typescript_enum_that_is_not_written_as_bits_is_refused_as_before(cell, enum):
    with pytest.raises(CompileError, match=r"line 3: .*parameter `p` has type `Perms` \(a TypeScript enum: write a "
                       r'string union, e.g. `type Perms = "red" \| "green"`; an enum whose members are bits, `Read = 1 '
                       r"<< 0, Write = 1 << 1`, is WIT flags\)"):  # fmt: skip
        cell(
            "typescript flags_ts_not_bits", f"{enum}\nexport function same(p: Perms): Perms {{ return p; }}\n"
        )


def test_typescript_flags_in_results_and_what_the_cell_returns_is_checked(cell, ns):
    source = (
        "export enum Perms { Read = 1 << 0, Write = 1 << 1 }\n"
        "export function need(p: Perms): Result<Perms, Perms> {\n"
        '  return p & Perms.Write ? { tag: "ok", val: p } : { tag: "err", val: p | Perms.Write };\n'
        "}\n"
        "export function raw(n: number): Perms { return n; }\n"
    )
    for own in ("0", "1"):
        with pytest.MonkeyPatch.context() as env:
            env.setenv("ASTERAI_INTERPRETED", own)
            cell(f"typescript flags_ts_results_{own}", source)
        h = ns[f"flags_ts_results_{own}"]
        P = h.Perms
        assert h.need(P.write) == P.write and h.raw(3) == P.read | P.write and h.raw(0) == P(0)
        with pytest.raises(ComponentError) as err:
            h.need(["read"])
        assert err.value.value == P.read | P.write
        with pytest.raises(GuestTrap, match=r"RangeError: cannot return 4 as Perms: it has bit 2, and Perms has 2 "
                           r"members \(bits 0..1\)"):  # fmt: skip
            h.raw(4)
        with pytest.raises(GuestTrap, match=r"TypeError: expected a Perms \(a number: its members joined with \|\), "
                           "got 0.5"):  # fmt: skip
            h.raw(0.5)


def test_a_plain_enum_stays_an_enum(cell):
    out = cell("c plain_enum_c --show-wit", "typedef enum { COLOR_RED = 1, COLOR_GREEN = 2 } color;\n"
               "color other(color c) { return c == COLOR_RED ? COLOR_GREEN : COLOR_RED; }\n")  # fmt: skip
    assert "enum color {" in out and "flags " not in out
    scoped = CPP_SCOPED.split("inline Perms operator|")[0] + "Perms same(Perms p) { return p; }\n"
    out = cell("cpp plain_enum_cpp --show-wit", scoped)  # no operator|: an enum of four cases
    assert "enum perms {" in out and "flags " not in out


# ---- --exports of a `wit` cell's interface with flags (the languages that have --exports) ----

ACL_WIT = """
package demo:acl@1.0.0;

interface acl {
    flags rights { view, edit, share }
    record entry { who: string, rights: rights }
    allow: func(e: entry, more: rights) -> entry;
}
"""

ACL = {
    "rust": """
pub struct Rights(u8);

impl Rights {
    pub const VIEW: Rights = Rights(1);
    pub const EDIT: Rights = Rights(2);
    pub const SHARE: Rights = Rights(4);
}

pub struct Entry {
    pub who: String,
    pub rights: Rights,
}

pub fn allow(e: Entry, more: Rights) -> Entry {
    Entry { rights: e.rights | more, ..e }
}
""",
    "go": """
type Rights uint8

const (
	RightsView Rights = 1 << iota
	RightsEdit
	RightsShare
)

type Entry struct {
	Who    string
	Rights Rights
}

func Allow(e Entry, more Rights) Entry { e.Rights |= more; return e }
""",
    "typescript": """
export enum Rights { View = 1 << 0, Edit = 1 << 1, Share = 1 << 2 }
export interface Entry { who: string; rights: Rights }

export function allow(e: Entry, more: Rights): Entry { return { ...e, rights: e.rights | more }; }
""",
    "zig": """
pub const Rights = packed struct(u8) { view: bool = false, edit: bool = false, share: bool = false, _pad: u5 = 0 };
pub const Entry = struct { who: []const u8, rights: Rights };

pub fn allow(e: Entry, more: Rights) Entry {
    var out = e;
    out.rights = @bitCast(@as(u8, @bitCast(e.rights)) | @as(u8, @bitCast(more)));
    return out;
}
""",
}


@pytest.mark.parametrize("lang", sorted(ACL))
def test_a_cell_exports_an_interface_with_flags(cell, ns, lang):
    cell("wit", ACL_WIT)
    out = cell(f"{lang} acl_{lang} --exports demo:acl/acl", ACL[lang])
    assert out.startswith(f"acl_{lang}: {lang} component"), out
    h = ns[f"acl_{lang}"]
    e = h.allow({"who": "ann", "rights": ["view"]}, h.Rights.share)
    assert (e.who, e.rights) == ("ann", h.Rights.view | h.Rights.share)


# ---- across languages: each cell uses a Python cell's flags, and a Python cell a Go cell's ----

MODE_PY = """from enum import Flag, auto


class Mode(Flag):
    READ = auto()
    WRITE = auto()


def widen(m: Mode) -> Mode:
    return m | Mode.WRITE
"""

USERS = {
    "go": "func Both(m flags_py.Mode) flags_py.Mode {\n\treturn flags_py.Widen(m) | flags_py.ModeRead\n}\n",
    "zig": 'const flags_py = @import("flags_py");\n\npub fn both(m: flags_py.Mode) flags_py.Mode {\n'
    "    var w = flags_py.widen(m);\n    w.read = true;\n    return w;\n}\n",
    "rust": "pub fn both(m: flags_py::Mode) -> flags_py::Mode {\n    flags_py::widen(m) | flags_py::Mode::READ\n}\n",
    "typescript": 'import { widen, Mode } from "flags_py";\n\n'
    "export function both(m: Mode): Mode { return widen(m) | Mode.Read; }\n",
    "c": "uint8_t both(void) { return flags_py_widen(0) | FLAGS_PY_MODE_READ; }\n",
    "cpp": "uint8_t both() { return flags_py::widen(FLAGS_PY_MODE_READ); }\n",
}


@pytest.mark.parametrize("lang", sorted(USERS))
def test_a_cell_uses_a_python_cells_flags(cell, ns, lang):
    cell("python flags_py", MODE_PY)
    out = cell(f"{lang} flags_{lang}_user --use flags_py", USERS[lang])
    assert f"flags_{lang}_user: {lang} component" in out, out
    h = ns[f"flags_{lang}_user"]
    typed = lang in ("go", "zig", "rust", "typescript")
    both = h.both([]) if typed else h.both()
    assert both == (h.Mode.read | h.Mode.write if typed else 3)


def test_a_python_cell_uses_a_go_cells_flags(cell, ns):
    cell("go flags_go", GO)  # (built already by the fixture: from the cache)
    cell("python flags_py_user --use flags_go", "import flags_go\n\n\ndef via_go() -> str:\n"
         "    return repr(flags_go.grant(flags_go.Perms.READ, flags_go.Perms.EXEC))\n")  # fmt: skip
    assert ns["via_go"]() == "<Perms.READ|EXEC: 5>"


def test_a_python_cell_uses_a_typescript_cells_flags(cell, ns):
    cell("typescript flags_typescript", TYPESCRIPT)  # (built already by the fixture: from the cache)
    cell("python flags_py_ts_user --use flags_typescript", "import flags_typescript as ts\n\n\n"
         "def via_ts() -> str:\n    return repr(ts.toggle(ts.grant(ts.Perms.READ, ts.Perms.WRITE)))\n")  # fmt: skip
    assert ns["via_ts"]() == "<Perms.READ|WRITE|EXEC: 7>"


def test_a_typescript_cell_takes_and_returns_a_rust_providers_flags(cell, ns):
    """A `--use` module gives each flags type of the provider as an object of bits, named as an enum's."""
    cell("rust flags_rust", RUST)  # (built already by the fixture: from the cache)
    source = (
        'import { grant, toggle, Perms } from "flags_rust";\n\n'
        "export function run(p: Perms): [Perms, boolean, Perms | undefined] {\n"
        "  const all = grant(p, Perms.Exec);\n"
        "  return [all, (all & Perms.Write) !== 0, toggle(all & ~Perms.Read)];\n"
        "}\n"
    )
    out = cell("typescript flags_ts_user --use flags_rust", source)
    assert "run(p: perms) -> tuple<perms, bool, option<perms>>" in out, out
    h = ns["flags_ts_user"]
    P = h.Perms
    assert h.run(["read", "write"]) == (P.read | P.write | P.exec, True, P.write)
    assert h.run([]) == (P.exec, False, P(0))


# ---- every width: flags of 8, 16 and 32 members (1, 2 and 4 bytes) through identity functions ----


def _flags(name: str, n: int) -> wit.Flags:
    return wit.Flags(name, tuple(f"b{i}" for i in range(n)))


SMALL, MID, BIG = _flags("small-set", 8), _flags("mid-set", 16), _flags("big-set", 32)
# each field at its own alignment: u8 flags, a u8, u16 flags, u32 flags, u8 flags again
SETS = wit.Record("sets", (("a", SMALL), ("n", wit.Prim("u8")), ("b", MID), ("c", BIG), ("d", SMALL)))
WIDTHS = {
    "small": (SMALL, [[], ["b0"], ["b7"], [f"b{i}" for i in range(8)]]),
    "mid": (MID, [[], ["b15"], ["b0", "b8"], [f"b{i}" for i in range(16)]]),
    "big": (BIG, [[], ["b31"], ["b0", "b16", "b31"], [f"b{i}" for i in range(32)]]),
    "sets": (SETS, [{"a": ["b7"], "n": 255, "b": ["b15"], "c": ["b31", "b1"], "d": ["b0"]},
                    {"a": [], "n": 0, "b": [], "c": [], "d": []}]),
    "mids": (wit.List(MID), [[], [["b0"], [], ["b9", "b15"]]]),
    "maybe_big": (wit.Option(BIG), [None, [], ["b30"]]),
}  # fmt: skip


def _bits(f: wit.Flags) -> list[tuple[int, str]]:
    return [(i, m.upper()) for i, m in enumerate(f.flags)]


def _spelling(ty, u8: str, list_of: str, option_of: str) -> str:
    """A type of WIDTHS in a cell's language: `list_of` and `option_of` are formats of the inner type's."""
    if isinstance(ty, wit.Prim):
        return u8
    if isinstance(ty, wit.List | wit.Option):
        inner = _spelling(ty.elem if isinstance(ty, wit.List) else ty.inner, u8, list_of, option_of)
        return (list_of if isinstance(ty, wit.List) else option_of).format(inner)
    return pascal_name(ty.name)


def _go(ty) -> str:
    return _spelling(ty, "uint8", "[]{}", "*{}")


def _go_cell() -> str:
    lines = []
    for f, width in ((SMALL, 8), (MID, 16), (BIG, 32)):
        name = pascal_name(f.name)
        consts = "".join(
            f"\t{name}{m}" + (f" {name} = 1 << iota" if i == 0 else "") + "\n" for i, m in _bits(f)
        )
        lines.append(f"type {name} uint{width}\n\nconst (\n{consts})\n")
    lines.append("type Sets struct { A SmallSet; N uint8; B MidSet; C BigSet; D SmallSet }\n")
    lines += [f"func Id{pascal_name(k)}(x {_go(t)}) {_go(t)} {{ return x }}" for k, (t, _) in WIDTHS.items()]
    return "\n".join(lines) + "\n"


def _c_cell(cpp: bool) -> str:
    lines = []
    for f, width in ((SMALL, 8), (MID, 16), (BIG, 32)):
        name = pascal_name(f.name)
        prefix = f.name.replace("-", "_").upper()
        lines.append(f"typedef uint{width}_t {name};")
        lines += [f"#define {prefix}_{m} (1u << {i})" for i, m in _bits(f)]
    lines.append("typedef struct { SmallSet a; uint8_t n; MidSet b; BigSet c; SmallSet d; } Sets;")
    types = {"small": "SmallSet", "mid": "MidSet", "big": "BigSet", "sets": "Sets", "mids": "Mids"}
    if cpp:
        types |= {"mids": "std::vector<MidSet>", "maybe_big": "std::optional<BigSet>"}
        lines.insert(0, "#include <optional>\n#include <vector>")
    else:
        lines.append("typedef ASTERAI_LIST(MidSet) Mids;")
    lines += [f"{t} id_{k}({t} x) {{ return x; }}" for k, t in types.items()]
    return "\n".join(lines) + "\n"


def _zig_cell() -> str:
    from asterai_kernel.languages.zig.emit import spell_wit
    from asterai_kernel.languages.zig.imports import definition

    lines = [definition(t) for t in (SMALL, MID, BIG, SETS)]
    for k, (t, _) in WIDTHS.items():
        z = spell_wit(t).zig
        lines.append(f"pub fn id{pascal_name(k)}(x: {z}) {z} {{\n    return x;\n}}")
    return "\n".join(lines) + "\n"


def _ts(ty) -> str:
    return _spelling(ty, "u8", "{}[]", "{} | undefined")


def _ts_cell() -> str:
    lines = []
    for f in (SMALL, MID, BIG):
        bits = ", ".join(f"{m} = 1 << {i}" for i, m in _bits(f))
        lines.append(f"export enum {pascal_name(f.name)} {{ {bits} }}")
    lines.append("export interface Sets { a: SmallSet; n: u8; b: MidSet; c: BigSet; d: SmallSet }")
    lines += [
        f"export function id{pascal_name(k)}(x: {_ts(t)}): {_ts(t)} {{ return x; }}"
        for k, (t, _) in WIDTHS.items()
    ]
    return "\n".join(lines) + "\n"


WIDTH_CELLS = {"go": _go_cell, "zig": _zig_cell, "c": lambda: _c_cell(False), "cpp": lambda: _c_cell(True),
               "typescript": _ts_cell, "typescript_own": _ts_cell}  # fmt: skip


@pytest.fixture(scope="module", params=sorted(WIDTH_CELLS))
def widths(request, ip):
    return _build(ip, request.param, f"flag_widths_{request.param}", WIDTH_CELLS[request.param]())


def _names(v):
    """A value's content: a flags value as its member names, records as dicts (for comparing)."""
    if isinstance(v, enum.Flag):
        return [m.name for m in type(v) if m in v]
    if dataclasses.is_dataclass(v):
        return {f.name: _names(getattr(v, f.name)) for f in dataclasses.fields(v)}
    if isinstance(v, dict):
        return {k: _names(x) for k, x in v.items()}
    if isinstance(v, list) and v and not isinstance(v[0], str):
        return [_names(x) for x in v]
    if isinstance(v, list):
        return sorted(v, key=lambda m: int(m[1:]))
    return v


@pytest.mark.parametrize("kind", sorted(WIDTHS))
def test_flags_of_every_width_come_back_unchanged(widths, kind):
    fn = getattr(widths, f"id_{kind}", None)
    if fn is None:
        pytest.skip("C has no option type")
    for value in WIDTHS[kind][1]:
        assert _names(fn(value)) == _names(value)


def test_a_python_cell_uses_a_rust_cells_flags(cell, ns):
    cell("rust flags_rust", RUST)  # (built already by the fixture: from the cache)
    cell("python flags_py_rust_user --use flags_rust", "import flags_rust\n\n\ndef via_rust() -> str:\n"
         "    f = flags_rust.File('f', flags_rust.Perms.WRITE)\n"
         "    return flags_rust.mode(f) + ' ' + repr(flags_rust.toggle(flags_rust.Perms.READ))\n")  # fmt: skip
    assert ns["via_rust"]() == "f:w <Perms.READ|EXEC: 5>"


# ---- Rust: the cell's own `|` and `contains` are kept; backings wider than the flags need ----

RUST_OWN = """
use std::ops::BitOr;

#[derive(Clone, Copy)]
pub struct Small(u32);

impl Small {
    pub const A: Small = Small(1);
    pub const B: Small = Small(2);
    pub fn contains(&self, other: Small) -> bool {
        self.0 & other.0 != 0  // (any of: not the glue's "every one of")
    }
}

impl BitOr for Small {
    type Output = Small;
    fn bitor(self, rhs: Small) -> Small {
        Small(self.0 | rhs.0 | 2)  // (always B: shows this one is used)
    }
}

#[derive(Clone, Copy)]
pub struct Ten(u16);

impl Ten {
    pub const T0: Ten = Ten(1 << 0);
    pub const T1: Ten = Ten(1 << 1);
    pub const T2: Ten = Ten(1 << 2);
    pub const T3: Ten = Ten(1 << 3);
    pub const T4: Ten = Ten(1 << 4);
    pub const T5: Ten = Ten(1 << 5);
    pub const T6: Ten = Ten(1 << 6);
    pub const T7: Ten = Ten(1 << 7);
    pub const T8: Ten = Ten(1 << 8);
    pub const T9: Ten = Ten(1 << 9);
}

pub struct Both {
    pub small: Small,
    pub ten: Ten,
}

pub fn join(a: Small, b: Small) -> Small {
    a | b
}

pub fn any_of(a: Small, b: Small) -> bool {
    a.contains(b)
}

pub fn shift(bs: Vec<Both>) -> Vec<Both> {
    bs.into_iter().map(|b| Both { small: b.small, ten: Ten(b.ten.0 << 1 | b.ten.0 >> 9 & 1) }).collect()
}

/// A tuple struct without constants of its own type is not flags.
pub struct Meters(pub f64);
"""


def test_rust_flags_keep_the_cells_own_bitor_and_contains(cell, ns):
    out = cell("rust flags_rust_own --show-wit", RUST_OWN)
    assert "flags small {" in out and "flags ten {" in out and "meters" not in out, out
    h = ns["flags_rust_own"]
    S, T = h.Small, h.Ten
    assert h.join(S.a, []) == S.a | S.b
    assert h.any_of(S.a | S.b, S.b) and not h.any_of(S.a, S.b)
    got = h.shift([h.Both(S(0), T.t9 | T.t0), h.Both(S.b, T(0))])
    assert got == [h.Both(S(0), T.t0 | T.t1), h.Both(S.b, T(0))]
    assert [m.name for m in T] == [f"t{i}" for i in range(10)]


@pytest.mark.parametrize(
    "consts",
    ["", "\nimpl Meters {\n    pub const ZERO: Meters = Meters(0.0);\n}\n"],
    ids=["plain", "with-a-const"],
)
def test_a_rust_tuple_struct_that_is_not_flags_is_refused_as_before(cell, consts):
    with pytest.raises(CompileError, match=r"line 4: `pub fn f`: parameter `m` has type `Meters` \(only structs "
                       "with named fields cross"):  # fmt: skip
        cell("rust flags_rust_meters", "pub struct Meters(pub f64);\n\npub fn f(m: Meters) {}\n" + consts)


def test_a_rust_cell_takes_and_returns_a_rust_providers_flags(cell, ns):
    cell("rust flags_rust", RUST)  # (built already by the fixture: from the cache)
    source = (
        "use flags_rust::{File, Perms};\n\n"
        "pub fn run(p: flags_rust::Perms) -> (flags_rust::Perms, bool, bool, String) {\n"
        "    let all = flags_rust::grant(p, Perms::EXEC);\n"
        '    let f = File { name: "f".to_string(), perms: all & Perms(Perms::READ.0 | Perms::WRITE.0) };\n'
        "    (all, all.contains(Perms::all()), Perms::empty().is_empty(), flags_rust::mode(f))\n"
        "}\n"
    )
    out = cell("rust flags_rust_user --use flags_rust", source)
    assert "run(p: perms) -> tuple<perms, bool, bool, string>" in out, out
    P = ns["flags_rust_user"].Perms
    assert ns["flags_rust_user"].run(["read", "write"]) == (P.read | P.write | P.exec, True, True, "f:rw")
    assert ns["flags_rust_user"].run([]) == (P.exec, False, True, "f:")


def test_a_javascript_enum_is_refused_with_its_line(cell):
    with pytest.raises(CompileError, match=r"line 7: `Perms.Exec` is 0x3, not a single bit"):
        cell("javascript flags_js_bad", JAVASCRIPT.replace("Exec: 1 << 2", "Exec: 3"))
    with pytest.raises(
        CompileError, match=r"line 2: write a JSDoc @enum as an object of constants right after"
    ):
        cell("javascript flags_js_made", "/** @enum {number} */\nexport const Perms = make();\n"
                                         "/** @param {Perms} p  @returns {Perms} */\nexport function f(p) { return p; }\n")  # fmt: skip
