"""WIT flags in Go, C, C++ and Zig cells: each language's bit-set idiom read as flags, both ways through the glue
(parameters, results, inside records, lists and options), from Python with the generated `enum.Flag` class
or with member names, across languages (`--use`), and in `--exports` of an interface a `wit` cell declares.

One cell per language (module-scoped): every language's cell exports the same functions over the same
`perms` flags, so the same checks run on each.
"""

from __future__ import annotations

import pytest

from asterai_kernel import CompileError

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

CELLS = {"go": GO}


@pytest.fixture(scope="module", params=sorted(CELLS))
def perms(request, ip):
    """The language's cell `flags_LANG` (built once per module, then from the cache)."""
    lang = request.param
    ip.run_cell_magic("asterai", f"{lang} flags_{lang.replace('+', 'p')}", CELLS[lang])
    return ip.user_ns[f"flags_{lang}"]


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
    assert perms.toggle(None) is None and perms.toggle(P.read) == P.read | P.exec
    assert perms.toggle([]) == P.exec


def test_a_bad_name_is_refused_before_the_call(perms):
    with pytest.raises(ValueError, match=r"parameter 'p' has 'reed', which is not a flag of perms"):
        perms.grant(["reed"], [])


# ---- Go: what is refused, --exports, --use both ways ----


@pytest.mark.parametrize(
    ("const", "message"),
    [
        ("PermsExec Perms = 3", r"line 9: `PermsExec` is 0x3, not a single bit"),
        ("PermsExec Perms = 1 << 4", r"line 9: flags `Perms` skip bit 2"),
        ("PermsExec Perms = 1 << 8", r"line 9: `PermsExec` is bit 8: flags `Perms` hold at most 8 members"),
        ("PermsExec Perms = PermsRead | PermsWrite", r"line 9: `PermsExec`: the value of a constant"),
    ],
)
def test_go_refuses_constants_that_are_not_single_bits(cell, const, message):
    source = GO.replace("\tPermsExec\n", f"\t{const}\n")
    with pytest.raises(CompileError, match=message):
        cell("go flags_go_bad", source)


def test_go_flags_hold_at_most_32_members(cell):
    consts = "\n".join(f"\tWideB{i}" + (" Wide = 1 << iota" if i == 0 else "") for i in range(33))
    source = f"type Wide uint64\n\nconst (\n{consts}\n)\n\nfunc Id(w Wide) Wide {{ return w }}\n"
    with pytest.raises(CompileError, match=r"line 37: `WideB32` is bit 32: flags `Wide` hold at most 32"):
        cell("go flags_go_wide", source)


ACL_WIT = """
package demo:acl@1.0.0;

interface acl {
    flags rights { view, edit, share }
    record entry { who: string, rights: rights }
    allow: func(e: entry, more: rights) -> entry;
}
"""

ACL_GO = """
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
"""


def test_go_cell_exports_an_interface_with_flags(cell, ns):
    cell("wit", ACL_WIT)
    out = cell("go acl_go --exports demo:acl/acl", ACL_GO)
    assert out.startswith("acl_go: go component"), out
    h = ns["acl_go"]
    e = h.allow({"who": "ann", "rights": ["view"]}, h.Rights.share)
    assert (e.who, e.rights) == ("ann", h.Rights.view | h.Rights.share)


def test_go_cell_uses_a_python_cells_flags(cell, ns):
    cell("python flags_py", "from enum import Flag, auto\n\n\nclass Mode(Flag):\n    READ = auto()\n"
         "    WRITE = auto()\n\n\ndef widen(m: Mode) -> Mode:\n    return m | Mode.WRITE\n")  # fmt: skip
    cell("go flags_go_user --use flags_py", "func Both(m flags_py.Mode) flags_py.Mode {\n"
         "\treturn flags_py.Widen(m) | flags_py.ModeRead\n}\n")  # fmt: skip
    h = ns["flags_go_user"]
    assert h.both([]) == h.Mode.read | h.Mode.write


def test_a_python_cell_uses_a_go_cells_flags(cell, ns):
    cell("go flags_go", GO)  # (built already by the fixture: from the cache)
    cell("python flags_py_user --use flags_go", "import flags_go\n\n\ndef via_go() -> str:\n"
         "    return repr(flags_go.grant(flags_go.Perms.READ, flags_go.Perms.EXEC))\n")  # fmt: skip
    assert ns["via_go"]() == "<Perms.READ|EXEC: 5>"
