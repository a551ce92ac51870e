"""Toolchain discovery, doctor and setup, against the real toolchains installed on this machine.

The wasm32-wasip1 std is built once into the real cache dir (about a minute) and shared with every later run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import asterai_kernel
from asterai_kernel import AsteraiError, ToolchainMissing, pins, toolchains
from asterai_kernel.build.cache import cache_dir
from asterai_kernel.cli import main
from asterai_kernel.languages import requirements
from asterai_kernel.languages.rust import toolchain as rust_toolchain


@pytest.fixture(scope="module")
def rust():
    return rust_toolchain.rust_toolchain(progress=print)  # builds std once if this machine never did


def test_doctor_finds_debian_rustc():
    rows = {row.tool: row for row in toolchains.doctor_rows(requirements())}
    assert rows["rustc"].found
    assert re.fullmatch(r"\d+\.\d+\.\d+", rows["rustc"].version)
    assert rows["rustc"].lang == "rust"
    assert rows["wasmtime-py"].found and rows["wasmtime-py"].version == pins.WASMTIME_VERSION
    assert rows["wasm-tools"].found


@pytest.mark.no_toolchain
def test_doctor_covers_every_language_with_an_install_command():
    rows = toolchains.doctor_rows(requirements())
    assert {row.lang for row in rows} == {"core", "rust", "python", "typescript", "go", "c", "zig", "browser"}
    for row in rows:
        assert row.install.startswith(("asterai setup ", "pip install ")), row


def test_rust_toolchain_paths_exist(rust):
    for path in (rust.rustc, rust.linker, rust.crt1_reactor, rust.wasi_libc / "libc.a"):
        assert path.is_file(), path
    assert list((rust.sysroot / "lib" / "rustlib" / "wasm32-wasip1" / "lib").glob("libstd-*.rlib"))
    assert rust.sysroot.is_relative_to(cache_dir())
    assert rust.version.startswith("rustc ") and rust.version in rust.fingerprint
    assert rust_toolchain.rust_toolchain() is rust  # cached in-process


def test_rust_toolchain_links_a_component(rust, tmp_path):
    # The paths work together: a cell using std links into a component with the flags the Rust builder uses.
    (tmp_path / "cell.wit").write_text(
        "package asterai:cells;\nworld cell { export add: func(a: s32, b: s32) -> s32; }\n"
    )
    (tmp_path / "lib.rs").write_text(
        '#[export_name = "add"]\npub extern "C" fn add(a: i32, b: i32) -> i32 { vec![a, b].iter().sum() }\n'
    )
    flags = ["-C", "panic=abort", "-C", "link-self-contained=no", "-L", f"native={rust.wasi_libc}"]
    flags += ["-C", f"linker={rust.linker}"]
    for arg in ("--no-entry", rust.crt1_reactor, "--export=_initialize", "--component-type", "cell.wit"):
        flags += ["-C", f"link-arg={arg}"]
    cmd = [rust.rustc, "--edition", "2021", "--crate-type", "cdylib", "--target", "wasm32-wasip1"]
    cmd += [
        "--sysroot",
        rust.sysroot,
        *flags,
        "-C",
        "link-arg=--wasi-adapter=reactor",
        "lib.rs",
        "-o",
        "c.wasm",
    ]
    subprocess.run(cmd, cwd=tmp_path, check=True, capture_output=True)
    wit = subprocess.run(
        [toolchains.wasm_tools(), "component", "wit", "c.wasm"], cwd=tmp_path, check=True, capture_output=True
    )
    assert "export add: func(a: s32, b: s32) -> s32;" in wit.stdout.decode()


def test_setup_rust_when_present_is_idempotent_and_quick(rust):
    lines: list[str] = []
    toolchains.setup(requirements(["rust"]), progress=lines.append)
    assert lines == ["rust: ready"]  # nothing installed, nothing built
    assert rust_toolchain.rust_toolchain() == rust


@pytest.mark.no_toolchain
def test_unknown_language_names_the_supported_ones():
    with pytest.raises(AsteraiError) as info:
        requirements(["cobol"])
    message = str(info.value)
    assert "cobol" in message
    for lang in ("rust", "python", "typescript", "javascript", "c", "cpp", "go", "zig"):
        assert lang in message


@pytest.mark.no_toolchain
def test_missing_rust_message_gives_the_commands():
    message = rust_toolchain._missing_message(["rustc-web (/usr/bin/rustc)"])
    assert "asterai setup rust" in message
    assert re.search(r"apt-get install -y rustc-web cargo-web rust-web-src lld-22 wasi-libc", message)
    assert issubclass(ToolchainMissing, AsteraiError)


@pytest.mark.no_toolchain
def test_doctor_text_and_html():
    rows = toolchains.doctor_rows(requirements())
    text = toolchains.doctor_text(rows)
    assert text.splitlines()[0].split()[:2] == ["for", "tool"]
    assert re.search(r"^rust\s+rustc\s+yes\s+\d", text, re.M)
    html = toolchains.doctor_html(rows)
    assert html.startswith("<table>") and "<td style='text-align:left'>rustc</td>" in html


def _cli(*args: str) -> subprocess.CompletedProcess:
    kernel_dir = str(Path(asterai_kernel.__file__).parent.parent)
    path = os.pathsep.join(filter(None, [kernel_dir, os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    return subprocess.run(
        [sys.executable, "-m", "asterai_kernel.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_cli_doctor_prints_a_table(rust):
    done = _cli("doctor")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "rustc" in done.stdout and "wasm-tools" in done.stdout
    assert "Rust cells: ready." in done.stdout


def test_cli_setup_rust_when_present(rust):
    done = _cli("setup", "rust")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "rust: ready" in done.stdout


@pytest.mark.no_toolchain
def test_cli_setup_unknown_language_fails_cleanly(capsys):
    assert main(["setup", "cobol"]) == 1
    assert "Supported: rust" in capsys.readouterr().err


def test_cli_setup_takes_the_registrys_aliases():
    done = _cli("setup", "rs", "py", "golang", "ts", "js")
    assert done.returncode == 0, done.stdout + done.stderr
    for name in ("rust", "python", "go", "typescript"):
        assert done.stdout.count(f"{name}: ready") == 1, done.stdout
