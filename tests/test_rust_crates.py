"""`--crate` on Rust cells: crates from crates.io and from Debian's packaged crates, built once per set with
the real cargo, rustc and wasmtime. Crate sets stay small (regex; serde+derive, serde_json, itertools)."""

from __future__ import annotations

import re
import uuid

import pytest

from asterai_kernel import AsteraiError, CompileError, ComponentError
from asterai_kernel.languages import LANGUAGES
from asterai_kernel.languages.rust import crates
from asterai_kernel.languages.rust.crates import CrateSpec, parse_specs

WORDS = """
use regex::Regex;

pub fn numbers(text: String) -> Vec<u32> {
    let re = Regex::new(r"\\d+").unwrap();
    re.find_iter(&text).map(|m| m.as_str().parse().unwrap()).collect()
}
"""

POINTS = """
use itertools::Itertools;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Point { x: f64, y: f64 }

pub fn norm(doc: String) -> Result<f64, String> {
    let p: Point = serde_json::from_str(&doc).map_err(|e| e.to_string())?;
    Ok((p.x * p.x + p.y * p.y).sqrt())
}

pub fn to_json(x: f64, y: f64) -> String { serde_json::to_string(&Point { x, y }).unwrap() }

pub fn sorted_words(words: Vec<String>) -> String { words.iter().sorted().dedup().join(" ") }
"""

DEBIAN_SET = "--crate serde[derive],serde_json --crate itertools --crate-source debian"


@pytest.fixture(scope="module")
def points(ip):
    from conftest import Cell

    cell = Cell(ip)
    cell(f"rust points {DEBIAN_SET}", POINTS)
    return cell


def test_regex_from_crates_io(cell, ns):
    out = cell("rust words --crate regex --crate-source crates-io", WORDS)
    assert "numbers(text: string) -> list<u32>" in out
    assert ns["numbers"]("3 apples, 12 pears and 7 plums") == [3, 12, 7]


def test_a_cell_carrying_much_crate_code_starts_on_winch(cell, ns):
    """Debian's regex puts 442 KiB of function code in an 843 KiB component: Winch's code first (tiers.py),
    the same answers on Cranelift's."""
    import asterai_kernel
    from asterai_kernel.session import get_session
    from asterai_kernel.tiers import TIER_UP_MIN, code_bytes

    nonce = f"\npub fn build_id() -> u64 {{ {uuid.uuid4().int % 2**63} }}\n"  # no machine code cached
    cell("rust words_debian --crate regex --crate-source debian", WORDS + nonce)
    live = get_session().components["words_debian"]
    assert live.runtime.config.winch and code_bytes(live.wasm_path) >= TIER_UP_MIN
    assert ns["numbers"]("3 apples, 12 pears and 7 plums") == [3, 12, 7]
    asterai_kernel.optimize("words_debian")
    assert not get_session().components["words_debian"].runtime.config.winch
    assert ns["numbers"]("3 apples, 12 pears and 7 plums") == [3, 12, 7]


def test_serde_json_and_derive_from_debian(points, ns):
    assert ns["norm"]('{"x": 3, "y": 4}') == 5.0
    assert ns["to_json"](1.5, -2.0) == '{"x":1.5,"y":-2.0}'


def test_serde_json_error_reaches_python_as_component_error(points, ns):
    with pytest.raises(ComponentError) as info:
        ns["norm"]('{"x": 3}')
    assert info.value.value == "missing field `y` at line 1 column 8"


def test_itertools(points, ns):
    assert ns["sorted_words"](["pear", "apple", "pear", "fig"]) == "apple fig pear"


def test_debian_crates_are_the_packaged_versions(points, ip):
    from asterai_kernel.languages.rust.toolchain import rust_toolchain

    found = crates.crate_set(
        ["serde[derive],serde_json", "itertools"], ["debian"], rust_toolchain(), lambda m: None
    )
    assert found.source == "debian"
    assert "serde_json 1.0.87" in found.versions and "itertools 0.10.3" in found.versions
    assert {"serde", "serde_json", "itertools"} <= set(found.externs)


def test_a_second_cell_with_the_same_set_reuses_its_build(points, cell, ns):
    from asterai_kernel.languages.rust.toolchain import rust_toolchain

    specs = parse_specs(["serde[derive],serde_json", "itertools"])
    built = crates.set_folder(specs, "debian", rust_toolchain()) / "set.json"
    before = built.stat()
    source = "use itertools::Itertools;\npub fn count_distinct(xs: Vec<i32>) -> u32 { xs.iter().unique().count() as u32 }\n"
    # The same set, written in another order and grouping.
    cell("rust again --crate itertools,serde_json --crate serde[derive] --crate-source debian", source)
    assert "--crate: compiling" not in cell.stderr
    after = built.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # not built again
    assert ns["count_distinct"]([1, 2, 2, 3, 1]) == 3


def test_the_cells_cache_key_follows_the_set(points):
    rust = LANGUAGES["rust"]

    def key(*crate, source="debian"):
        return rust.options_key({"crate": list(crate), "crate-source": [source]}, lambda m: None)

    same = key("serde[derive],serde_json", "itertools")
    assert key("itertools,serde_json", "serde[derive]") == same  # written another way
    assert key("regex", source="crates-io") != same  # another set (built by test_regex_from_crates_io)
    assert rust.options_key({}, lambda m: None) == {}


def test_an_unknown_debian_crate_names_it_and_how_to_search(cell):
    with pytest.raises(CompileError) as info:
        cell("rust nope --crate asterai_no_such_crate --crate-source debian", "pub fn f() -> u32 { 1 }\n")
    message = str(info.value)
    assert "librust-asterai-no-such-crate-dev" in message
    assert "apt-cache search librust-asterai-no-such-crate" in message


def test_an_unknown_crates_io_crate_is_named(cell):
    with pytest.raises(CompileError, match=r"there is no crate `asterai-no-such-crate-xyz` on crates.io"):
        cell(
            "rust nope --crate asterai-no-such-crate-xyz --crate-source crates-io",
            "pub fn f() -> u32 { 1 }\n",
        )


@pytest.mark.parametrize("source", ["debian", "crates-io"])
def test_a_feature_the_crate_lacks_is_named(cell, source):
    with pytest.raises(CompileError) as info:
        cell(f"rust nope --crate serde[asterai_nope] --crate-source {source}", "pub fn f() -> u32 { 1 }\n")
    assert "`serde` has no feature `asterai_nope`" in str(info.value)


def test_a_version_debian_does_not_have_names_the_one_it_has(cell):
    with pytest.raises(CompileError) as info:
        cell("rust nope --crate regex@1.10 --crate-source debian", "pub fn f() -> u32 { 1 }\n")
    assert re.match(
        r'--crate: no version matches `regex = "\^1.10"` in Debian\'s packaged crates \(there: 1\.\d+\.\d+\)\.',
        str(info.value),
    )  # bookworm has 1.7.1


def test_a_crate_that_needs_sockets_says_why(cell):
    with pytest.raises(CompileError) as info:
        cell("rust nope --crate socket2@0.4 --crate-source crates-io", "pub fn f() -> u32 { 1 }\n")
    assert str(info.value).startswith(
        "--crate socket2@0.4: `socket2` does not build for WebAssembly: it needs sockets, which the "
        "WebAssembly sandbox (wasm32-wasip1) does not offer to crates."
    )
    assert "Socket2 doesn't support the compile target" in info.value.diagnostics  # cargo's own message


def test_a_cell_using_a_crate_it_did_not_ask_for_gets_rustcs_message(cell):
    with pytest.raises(CompileError) as info:
        cell("rust nope", "use regex::Regex;\npub fn f() -> u32 { 1 }\n")
    assert "regex" in info.value.diagnostics


# ---------------------------------------------------------------- without a compiler


@pytest.mark.no_toolchain
def test_specs_are_read_with_versions_and_features():
    assert parse_specs(["regex@1.7,serde[derive,std]", "itertools"]) == (
        CrateSpec("itertools"),
        CrateSpec("regex", "1.7"),
        CrateSpec("serde", "*", ("derive", "std")),
    )
    assert str(CrateSpec("serde", "1.0", ("derive",))) == "serde@1.0[derive]"


@pytest.mark.no_toolchain
@pytest.mark.parametrize("bad", ["regex;rm", "serde[derive", "--index=x", "a b"])
def test_bad_specs_say_how_to_write_one(bad):
    with pytest.raises(CompileError, match=r"write NAME\[@VERSION\]\[FEATURES\]"):
        parse_specs([bad])


@pytest.mark.no_toolchain
def test_one_crate_with_two_versions_is_refused():
    with pytest.raises(CompileError, match="`regex` is given twice"):
        parse_specs(["regex@1.7", "regex@1.10"])


@pytest.mark.no_toolchain
def test_the_source_is_chosen_by_the_cell_then_the_environment(monkeypatch):
    monkeypatch.delenv(crates.SOURCE_ENV, raising=False)
    assert crates.chosen_source([]) == "auto"
    monkeypatch.setenv(crates.SOURCE_ENV, "debian")
    assert crates.chosen_source([]) == "debian"
    assert crates.chosen_source(["crates.io"]) == "crates-io"
    with pytest.raises(CompileError, match="choose one of auto, crates-io, debian"):
        crates.chosen_source(["pypi"])


@pytest.mark.no_toolchain
def test_auto_says_when_it_falls_back_to_debian(monkeypatch):
    said = []
    monkeypatch.setitem(crates._reachable, crates.CRATES_IO_PROBE, False)  # as on a machine offline
    assert crates.resolve_source("auto", said.append) == "debian"
    assert "crates.io is unreachable" in said[0] and "\n" in said[0].strip()  # several lines: it stays shown
    monkeypatch.setitem(crates._reachable, crates.CRATES_IO_PROBE, True)
    assert crates.resolve_source("auto", said.append) == "crates-io"


@pytest.mark.no_toolchain
def test_debian_package_names():
    assert crates.debian_package("serde_json") == "librust-serde-json-dev"
    assert crates.debian_package("serde", "derive") == "librust-serde+derive-dev"


@pytest.mark.no_toolchain
def test_crate_options_are_for_rust_cells(cell):
    with pytest.raises(AsteraiError, match="--crate is for rust cells"):
        cell("python p --crate regex", "def f() -> int:\n    return 1\n")
