"""The tutorial notebooks run clean on the Asterai kernel (nbclient); their cells print what they teach."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def execute(name: str) -> dict[str, str]:
    """Run a notebook; return each cell's id -> everything it printed or displayed (ANSI stripped)."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(
        nb, kernel_name="asterai", timeout=300, resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    texts = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        parts = []
        for out in cell.outputs:
            if out.output_type == "stream":
                parts.append(out.text)
            elif out.output_type in ("execute_result", "display_data"):
                parts.append(out.data.get("text/plain", ""))
            elif out.output_type == "error":
                parts.append(f"{out.ename}: {out.evalue}")
        texts[cell.id] = ANSI.sub("", "".join(parts))
    return texts


@pytest.fixture(scope="module")
def rust_basics():
    return execute("01-rust-basics.ipynb")


def test_rust_basics_first_component(rust_basics):
    out = rust_basics["first-component"]
    assert "geo: rust component" in out
    assert "word_count(text: string) -> u32" in out and "scale(xs: list<f64>, k: f64) -> list<f64>" in out
    assert rust_basics["first-calls"] == "4\n[2.0, 5.0, 8.0]\n"


def test_rust_basics_types(rust_basics):
    assert rust_basics["types-calls"] == "True\n['A', 'L']\n20\n(-7, 12)\n"
    checked = rust_basics["checked-args"]
    assert "OverflowError: parameter 'data'[2] = 300 is out of range for u8 (0..255)" in checked
    assert "TypeError: parameter 'text' must be a str, not int" in checked


def test_rust_basics_panics(rust_basics):
    out = rust_basics["panic-demo"]
    assert "click number 1\nclick number 2\n" in out
    assert "trapped: cannot divide 1 by zero (at line 4)" in out
    assert "fragile still works: 5" in out
    assert "click number 3\ncounter kept its state: 3" in out


def test_rust_basics_cache_wit_and_errors(rust_basics):
    assert "geo (replaced): rust component, from cache" in rust_basics["rerun-cached"]
    assert "build 0 ms (cached)" in rust_basics["rerun-cached"]
    assert "interface kinds {" in rust_basics["show-wit"]
    assert "min-max: func(xs: list<s32>) -> tuple<s32, s32>;" in rust_basics["show-wit"]
    for name in ("geo", "kinds", "counter", "fragile"):
        assert name in rust_basics["ls"]
    err = rust_basics["compile-error"]
    assert err.startswith("CompileError: oops: the Rust compiler rejected this cell")
    assert "cell.rs:3:5" in err and "cannot find value `forty_two`" in err


def test_rust_basics_crates(rust_basics):
    assert "numbers(text: string) -> list<u32>" in rust_basics["crates-regex"]
    assert "norm(doc: string) -> result<f64, string>" in rust_basics["crates-json"]
    assert rust_basics["crates-calls"] == (
        "[3, 12, 7]\n5.0\napple fig pear\nComponentError: missing field `y` at line 1 column 8\n"
    )


@pytest.fixture(scope="module")
def types_nb():
    return execute("02-types.ipynb")


def test_types_records_and_options(types_nb):
    assert types_nb["records-calls"] == (
        "Point(x=2.0, y=1.0)\nTrue True\nPoint(x=2.0, y=3.0)\nPoint(x=1.0, y=1.0)\nNone\n"
    )


def test_types_enums_variants_results(types_nb):
    assert types_nb["enums-calls"] == (
        "<Color.dark_red: 'dark-red'> True\nblue\n3.1416 6.0 0.0\nVariant(tag='rect', value=(2.0, 3.0)) rect (2.0, 3.0)\n"
    )
    out = types_nb["results-calls"]
    assert out.startswith('8080\nComponentError: "eighty" is not a port: invalid digit found in string\n')
    assert (
        "[Ok(value=22), Err(value='\"x\" is not a port: invalid digit found in string'), Ok(value=443)]"
        in out
    )
    assert out.endswith("True\n")


def test_types_bad_input_and_bulk(types_nb):
    bad = types_nb["bad-input"].splitlines()
    assert bad[0] == "TypeError: parameter 'a' is missing field 'y' (record point, given dict)"
    assert bad[1] == "TypeError: parameter 'points'[1].y must be a float (f64), not str"
    assert bad[2].startswith("ValueError: parameter 'c' = 'green' is not a case of enum color")
    assert bad[3].startswith("ValueError: parameter 's' has tag 'hexagon'")
    assert "parameter `k` has type `usize`, which has no WIT equivalent" in types_nb["bulk-cell"]
    lines = types_nb["bulk-calls"].splitlines()
    assert lines[0].startswith("200000 0.099834 (")
    assert lines[1] == "1043597657 0"  # computed independently in Python
    assert lines[2] == "ndarray float64"  # numpy in, numpy out
    assert lines[3] == "list [1.5, 2.0, 2.5]"  # a list in, a list out


@pytest.fixture(scope="module")
def sandbox_nb():
    return execute("06-sandbox.ipynb")


def test_sandbox_denies_then_grants(sandbox_nb):
    assert sandbox_nb["denied"] == (
        "refused: Capabilities insufficient (os error 76)\n" * 2 + "token: None\n"
    )
    assert sandbox_nb["refusal-hint"].startswith(
        "the sandbox refused: nothing granted to this component covers"
    )
    assert "--allow-read DIR" in sandbox_nb["refusal-hint"]
    assert "grants: read /tmp/" in sandbox_nb["reader-cell"] and "env API_TOKEN" in sandbox_nb["reader-cell"]
    assert sandbox_nb["granted"] == (
        "remember the milk\ntoken: hunter2\n"
        + "refused: Operation not permitted (os error 63)\n" * 2
        + "remember the milk\n"
    )
    regrant = sandbox_nb["regrant"].splitlines()
    assert regrant[0] == "none" and "its state restarted" in regrant[1] and regrant[2] == "remember the milk"


def test_sandbox_network(sandbox_nb):
    assert "grants: net 127.0.0.1" in sandbox_nb["net-cell"]
    lines = sandbox_nb["net-calls"].splitlines()
    assert lines[0] == "weather in paris: sunny"
    assert lines[1] == "weather: grants now net example.org; its state restarted"
    assert lines[2].startswith("refused: NetworkNotGranted: weather may not connect to 127.0.0.1:")
    assert lines[2].endswith("(granted: example.org); re-run its cell with --allow-host 127.0.0.1 "
                             "(or --allow-net for any host), or regrant it")  # fmt: skip


def test_sandbox_limits_and_interrupt(sandbox_nb):
    out = sandbox_nb["limits"]
    # the printed duration is the machine's (0.5 s idle, more when busy): only its form is fixed
    assert re.search(
        r"Timeout after \d+\.\d s: ran longer than its --timeout of 0\.5 s\n16 MiB is fine\n", out
    )
    assert out.endswith("OutOfMemory: ran out of memory (its limit is 64MiB; raise it with --max-memory)\n")
    assert sandbox_nb["interrupt"] == "stopped; the reader still works: remember the milk\n"


def test_widgets_notebook():
    out = execute("07-widgets.ipynb")
    assert "shop: rust component" in out["shop-cell"]
    assert out["form"].startswith("Tab(")
    assert out["form-calls"] == "1000\n1800\n"
    assert out["form-range"] == "None\n['qty: 70000 is out of range for u16 (0 to 65535)']\n1000 []\n"


def test_under_the_hood_notebook():
    out = execute("08-under-the-hood.ipynb")
    assert re.fullmatch(  # the first run compiles Cranelift's code; later runs find it cached
        r"spinner_go: (now on Cranelift's optimized machine code; its state restarted|already on Cranelift's "
        r"optimized machine code)\n14317641880641664647\n",
        out["tiers-optimize"],
    )
    assert re.match(
        r"doubler: python component, on the shared interpreter in \d+\.\d\d s; exports "
        r"double\(x: s64\) -> s64\n  build \d+ ms \(glue for the shared interpreter\), machine code ",
        out["shared-cell"],
    )
    assert out["shared-calls"] == (
        "42\nparameter 'x' = 9223372036854775808 is out of range for s64 "
        "(-9223372036854775808..9223372036854775807)\n"
    )
    assert "  /// Counts the words of a text.\n  word-count: func(text: string) -> u32;" in out["show-wit"]
    assert "['export asterai:cells/geo;', 'word-count: func(text: string) -> u32;']" in out["export"]
    assert out["make-adder"] == ""
    assert out["load"].splitlines()[1:] == [
        "42",
        "geo_again: wasm component, loaded; exports:",
        "  word_count(text: string) -> u32",
        "  initials(names: list<string>) -> string",
        "3",
    ]
    assert "npx @bytecodealliance/jco transpile" in out["export"]  # how to run it elsewhere
    # `asterai build` of this very notebook: its three components, the consumer also composed
    build = out["build"].splitlines()
    assert build[:2] == [
        "geo: rust component, from cache",  # the session built the same cells: the build's cache is theirs
        "spinner_go: go component, from cache",
    ]  # the Python cell ran on the shared interpreter: its own component is built now (or was, earlier)
    assert re.fullmatch(r"doubler: python component, (from cache|built in \d+\.\d\d s)", build[2])
    assert build[3:5] == [
        "shout: rust component, from cache",
        f"wrote 4 components and manifest.json to {build[4].rsplit(' ', 1)[1]}",
    ]
    assert build[5].startswith("geo rust ['word-count: func(text: string) -> u32', 'initials: func(names:")
    assert build[6] == "spinner_go go ['spin: func(n: u64) -> u64'] uses [] None"
    assert build[7] == "doubler python ['double: func(x: s64) -> s64'] uses [] None"
    assert build[8] == "shout rust ['shout: func(text: string) -> string'] uses ['geo'] shout.composed.wasm"
    # the composed file, transpiled by jco, in Node.js: the same answer as the notebook's
    assert out["node"] == "Node.js: 4 WORDS\nthis notebook: 4 WORDS\n"
    # (`!` runs it in a terminal: \r\n)
    assert re.fullmatch(r"The cache \(.+\) holds [\d.]+ [kMGT]?B\.\r?\n", out["cache"])


def test_widget_state_is_saved_in_the_notebook():
    nb = nbformat.read(NOTEBOOKS / "07-widgets.ipynb", as_version=4)
    client = NotebookClient(nb, kernel_name="asterai", timeout=300, store_widget_state=True,
                            resources={"metadata": {"path": str(NOTEBOOKS)}})  # fmt: skip
    client.execute()
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    buttons = [m["state"].get("description") for m in state.values() if m["model_name"] == "ButtonModel"]
    assert "Call total" in buttons and "Call line" in buttons
    texts = [m["state"].get("value") for m in state.values() if m["model_name"] == "HTMLModel"]
    assert any("<code>1000</code>" in (t or "") for t in texts)  # the result the form showed is saved too


def test_cross_language_pipeline_notebook():
    out = execute("05-cross-language-pipeline.ipynb")
    assert "formatter: typescript component" in out["report-cell"]
    assert out["pipeline"] == (
        "WebAssembly (16), components (10), notebook (8); 8 words scored so far\n"
        "Token(word='the', score=0)\n"
        "the rules component counted 10 words\n"  # the notebook and the guests share the rules' state
    )
    assert "relinked: formatter, tokenizer now call the new rules" in out["rules-rerun"]
    assert out["pipeline-again"] == "WebAssembly (61), components (10); 8 words scored so far\n"
    # a component's exports in another's type: the same Python class on both sides
    assert "ranker: rust component" in out["ranker-cell"]
    assert "best(tokens: list<token>, n: u32) -> list<token>" in out["ranker-cell"]
    assert out["shared-types"] == (
        "[Token(word='components', score=10), Token(word='unchanged', score=9)]\nTrue True\n"
    )
    # a Rust component's resource held by cells of five languages in their idioms, and dropped again
    assert "class Account (resource account)" in out["bank-cell"]
    for lang in ("zig", "c", "cpp", "go", "typescript"):
        name = "ts_race" if lang == "typescript" else f"{lang}_race"
        assert f"{name}: {lang} component" in out[f"{lang}-race-cell"]
    assert out["race-calls"] == "Bob Ada Bob Ada Bob\naccounts open in bank: 0\n"
    # a hand-written interface, implemented exactly by a Python cell and usable by another host
    assert out["pricing-wit"] == "declared demo:shop/pricing@1.0.0: total(unit: u32, qty: u16) -> u32\n"
    assert "exports total(unit: u32, qty: u16) -> u32" in out["pricing-cell"]
    lines = out["pricing-calls"].splitlines()
    assert lines[0] == "1000 2250"
    assert lines[1] == "OverflowError: parameter 'qty' = 70000 is out of range for u16 (0..65535)"
    assert lines[-1] == "another host: 300"


def test_welcome_notebook():
    out = execute("00-welcome.ipynb")
    assert out["same-call"] == "HELLO! HELLO!\n"
    assert out["types"] == "TypeError: parameter 'text' must be a str, not int\n"
    assert out["sandbox"] == "refused: Capabilities insufficient (os error 76)\n"
    assert out["speed"].startswith("True 17984 the component was ")  # the speed-up itself varies by machine
    assert out["portable"].endswith("True True\n")


def test_c_and_cpp_notebook():
    out = execute("10-c-and-cpp.ipynb")
    for name, lang in [("words_rs", "rust"), ("words_c", "c"), ("words_cpp", "cpp")]:
        assert f"{name}: {lang} component" in out[f"words-{lang}"]
        assert "exports word_count(text: string) -> u32" in out[f"words-{lang}"]
    assert out["same-calls"] == "4 4 4\nTypeError: parameter 'text' must be a str, not int\n"
    assert "centroid(points: list<point>) -> point" in out["c-geo"]
    assert "square(corner: point, side: f64) -> list<point>" in out["c-geo"]
    assert out["c-calls"] == (
        "7.0 45.0\nPoint(x=2.0, y=1.0)\n[(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)]\n"
        "a green point at (1.5, -2)\n"
    )
    assert "summarize(xs: list<f64>, label: string) -> option<summary>" in out["cpp-stats"]
    assert out["cpp-calls"] == (
        "Summary(mean=4.0, median=3.0, label='sample')\nNone\nrising falling\n('component', 9)\n"
    )
    assert "read_only(p: perms) -> perms" in out["c-flags"] and "runnable(f: file) -> bool" in out["c-flags"]
    assert out["c-flags-calls"] == (
        "Perms.read True\nTrue False\n"
        "ValueError: parameter 'p' has 'reed', which is not a flag of perms (read, write, exec)\n"
    )
    assert "trapped: Assertion failed: x >= 0 (at line 34)\nafter the restart: 4.0\n" in out["c-trap"]
    assert out["cpp-throw"].startswith("CompileError: line 3: `throw`: C++ exceptions are not available")
    assert "reporter: c component" in out["c-uses-rust"]
    assert out["report-call"] == "4 words at (2.0, 3.5)\n"


# A map's progress bar: its widget's text form, which runs into what the cell prints next.
PROGRESS = re.compile(r"HBox\(children=\(IntProgress\(.*?…")


@pytest.fixture(scope="module")
def scale_out_nb():
    return {cell: PROGRESS.sub("", text) for cell, text in execute("09-scale-out.ipynb").items()}


def test_scale_out_maps_in_order(scale_out_nb):
    out = scale_out_nb
    assert out["direct-calls"] == "4 25 168\n"
    assert out["start-cluster"] == "2 workers\n"
    assert out["first-map"] == "[4, 25, 168, 1229]\n[4, 25, 168, 1229]\n"
    same, rates = out["speed"].splitlines()
    assert same == "same results: True"  # the rates are the machine's: only their form is fixed
    assert re.fullmatch(r"in this process: [\d,]+ items/s; on 2 workers: [\d,]+ items/s", rates)
    assert out["records-map"] == "[Point(x=1.0, y=0.0), Point(x=3.0, y=4.0), Point(x=2.0, y=0.0)]\nTrue\n"
    assert out["address-map"] == "[25, 168]\n"
    assert out["close"] == "closed\n"


def test_scale_out_errors_sandbox_and_state(scale_out_nb):
    out = scale_out_nb
    assert out["bad-input"] == (
        "OverflowError: item 2: parameter 'below' = -5 is out of range for u32 (0..4294967295)\n"
    )
    # the guest's own stderr line comes from the worker too (stderr and stdout: their order is the front end's)
    assert sorted(out["trap-map"].splitlines()) == [
        "GuestTrap at item 2 - cannot divide 30 by zero (at line 3)",
        "[5, 4]",
        "panicked at line 3:17: cannot divide 30 by zero",
    ]
    assert out["sandbox-map"] == (
        "['alpha', 'beta']\nreader: grants now none; its state restarted\n"
        "item 0 refused: Capabilities insufficient (os error 76)\n"
    )
    highest = re.fullmatch(
        r"the highest count on a worker: (\d+) \(never more than 100\)\nthe notebook's own counter: 1\n",
        out["state-map"],
    )
    assert highest and 50 <= int(highest.group(1)) <= 100  # 100 calls on two instances of their own


@pytest.mark.no_toolchain
def test_components_from_elsewhere_notebook():
    out = execute("12-components-from-elsewhere.ipynb")
    assert "not provided (a call reaching them raises GuestTrap): test:numbers/test" in out["load-numbers"]
    assert out["load-numbers"].endswith("200 ß\n")
    assert "test:numbers/test.roundtrip-u8, which nothing provides" in out["missing-trap"]
    assert out["provide-strings"].endswith("['latin utf16']\n")
    assert "roundtrip_u8: parameter 'a' is annotated string, the import declares u8" in out["mismatch"]
    assert out["flags"].endswith(
        "F1.a|b True\nF2.c|e F1(0)\nparameter 'a' has 'z', which is not a flag of f1 (a, b)\n"
    )
    assert "class KebabCase (resource kebab-case)" in out["resources"]
    assert out["resources"].endswith(
        "7\n10 <resources.X (was closed, or given away as an owned argument)>\n4\n2\n"
    )
    assert out["resource-import"].endswith("None 3\n")


def test_rust_basics_resources(rust_basics):
    assert "class Tally (resource tally)" in rust_basics["rust-resource"]
    assert rust_basics["rust-resource-calls"] == (
        "5 5\n5\n<tallies.Tally (was closed, or given away as an owned argument)>\n"
    )


def test_rust_basics_resources_across_use(rust_basics):
    assert "reader: rust component" in rust_basics["rust-resource-use"]
    assert "py_reader: python component" in rust_basics["python-resource-use"]
    assert rust_basics["resource-use-calls"] == "9\n3\n"


def test_rust_basics_flags(rust_basics):
    assert "files: rust component" in rust_basics["rust-flags"]
    assert "read_only(f: file) -> file" in rust_basics["rust-flags"]
    assert rust_basics["rust-flags-calls"] == (
        "Perms.read False\nTrue\n"
        "ValueError: parameter 'f'.perms has 'reed', which is not a flag of perms (read, write, exec)\n"
    )
