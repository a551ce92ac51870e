"""A Go cell built by Go's compiler and linker directly, without the `go` command.

`go build` spends half of a cell's build (about 0.1 s) before it compiles anything: it loads the module,
hashes the standard library's sources and looks up its cache. A cell that imports only the standard library
needs none of that. Its dependencies are already compiled in Go's cache, and the compiler and linker only
need an *importcfg*, a map from each import path to its compiled package. `go list -export -deps` makes
that map once per new set of imports; the map only grows (the linker ignores entries it does not need),
and it is kept under the asterai cache, keyed by Go's version and the build flags.

Cells with `--use` (their own packages) or `//go:embed` / `//go:debug` / `//go:build` lines (which the go
command interprets) take `go build`, and so does any cell whose direct build fails at link time: the go
command then gives the authentic error, or succeeds. What such a build lacks is the go command's module
stamp: `runtime/debug.ReadBuildInfo` reports none.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from subprocess import CompletedProcess

from ...build.cache import write_atomic
from .toolchain import BUILD_FLAGS, go_dir, go_env

GO_COMMAND_ONLY = re.compile(r"^\s*//\s*(go:embed|go:debug|go:build|\+build)\b", re.M)
# Seconds a plan is trusted: listing again marks its packages used, and Go trims what is unused for 5 days.
REFRESH = 24 * 3600
_LIST_FORMAT = "{{.ImportPath}}\t{{.Export}}\t{{.Standard}}\t{{.DefaultGODEBUG}}"


@dataclass(frozen=True)
class Plan:
    """What the compiler and linker need: compiled packages by import path, and the godebug defaults the go
    command would give the linker for the cell's module."""

    packages: dict[str, str]
    godebug: str
    tools: str  # the folder of Go's compiler and linker (`go env GOTOOLDIR`)


@dataclass(frozen=True)
class Package:
    """One package of the cell's build: its import path ("main" for the cell's own), its .go files (paths in
    the build folder) and what they import."""

    path: str
    files: tuple[str, ...]
    imports: frozenset[str]


def packages(work: Path, imports_of: Callable[[str], set[str]]) -> list[Package] | None:
    """The build folder's packages, each after those it imports (main last): main's files at the top, and
    each `--use` module (a folder with a go.mod, one package each). None when a file needs the go command."""
    folders = [(work, "main")] + [(mod.parent, _module(mod)) for mod in sorted(work.glob("*/**/go.mod"))]
    found = {}
    for folder, path in folders:
        files = sorted(folder.glob("*.go"))
        texts = [f.read_text() for f in files]
        if any(GO_COMMAND_ONLY.search(t) for t in texts):
            return None
        names = tuple(str(f.relative_to(work)) for f in files)
        found[path] = Package(path, names, frozenset().union(*map(imports_of, texts)))
    ordered: list[Package] = []

    def visit(pkg: Package) -> None:
        if pkg not in ordered:
            for dep in sorted(pkg.imports & found.keys()):
                visit(found[dep])
            ordered.append(pkg)

    visit(found["main"])
    return ordered


def _module(go_mod: Path) -> str:
    return re.search(r"^module (\S+)", go_mod.read_text(), re.M).group(1)


def language_version(work: Path) -> str:
    """The cell module's Go version (go.mod's `go` line): the compiler's -lang, and part of a plan's key."""
    return re.search(r"^go (\S+)$", (work / "go.mod").read_text(), re.M).group(1)


def plan_file(go: str, version: str, lang: str) -> Path:
    """Where the plan of Go installation `go` is kept: its tools live beside it, so one plan per
    installation (two virtualenvs may each hold the same Go version), Go version, flags and language."""
    key = hashlib.sha256(f"{go}|{version}|{' '.join(BUILD_FLAGS)}|{lang}".encode()).hexdigest()[:16]
    return go_dir() / "direct" / f"{key}.json"


def _read(path: Path) -> Plan | None:
    try:
        if time.time() - path.stat().st_mtime > REFRESH:
            return None
        return Plan(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _listed(go: str, imports: set[str], lang: str) -> Plan | None:
    """`go list -export -deps` of a package importing `imports`: compiles what is missing into Go's cache
    and says where each compiled package is. None when an import is not the standard library's."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "go.mod").write_text(f"module cell\n\ngo {lang}\n")
        lines = "".join(f'import _ "{p}"\n' for p in sorted(imports))
        (work / "main.go").write_text(f"package main\n\n{lines}\nfunc main() {{}}\n")
        cmd = [go, "list", "-export", "-deps", *BUILD_FLAGS, "-f", _LIST_FORMAT, "."]
        done = subprocess.run(cmd, cwd=work, env=go_env(), capture_output=True, text=True, timeout=600)
    tools = subprocess.run([go, "env", "GOTOOLDIR"], capture_output=True, text=True, env=go_env(), timeout=60)
    if done.returncode != 0 or tools.returncode != 0:
        return None
    packages, godebug = {}, ""
    for row in done.stdout.splitlines():
        path, export, standard, debug = row.split("\t")
        if path == "cell":  # the stand-in main package: its godebug defaults are the cell's
            godebug = debug
        elif standard != "true":
            return None
        else:
            packages[path] = export  # "" for `unsafe`, which the compiler knows itself
    return Plan(packages, godebug, tools.stdout.strip())


def plan(go: str, version: str, imports: set[str], lang: str) -> Plan | None:
    """The importcfg for a cell importing `imports` of the standard library, with Go `lang` (a cached one
    when it covers them and its files are still in Go's cache), or None when the cell needs the go command."""
    path = plan_file(go, version, lang)
    found = _read(path)
    if found and imports <= found.packages.keys() and _still_there(found):
        return found
    listed = _listed(go, imports, lang)
    if listed is None:
        return None
    if found:  # one map for every cell so far (extra entries are harmless)
        kept = {p: f for p, f in found.packages.items() if not f or os.path.exists(f)}
        listed = dataclasses.replace(listed, packages=kept | listed.packages)
    write_atomic(path, json.dumps(dataclasses.asdict(listed)).encode())
    return listed


def _still_there(plan: Plan) -> bool:
    """Whether the plan's compiled packages are still in Go's cache, and its compiler and linker in place
    (an installation removed with its virtualenv takes them along)."""
    tools = [os.path.join(plan.tools, t) for t in ("compile", "link")]
    return all(os.path.exists(f) for f in [*tools, *plan.packages.values()] if f)


def build(
    plan: Plan, work: Path, packages: list[Package], lang: str, version: str
) -> CompletedProcess | None:
    """Compile `packages` in order (Go `lang`, compiler of Go `version`: go1.N.M) and link core.wasm in
    `work`. The compiler's result when it fails (the cell's error), the linker's when it succeeds, and None
    when the link fails: then the go command should try."""
    tools, env = Path(plan.tools), go_env()
    cfg = "".join(f"packagefile {p}={f}\n" for p, f in plan.packages.items() if f)
    for i, pkg in enumerate(packages):
        (work / "importcfg").write_text(cfg)
        compile_cmd = [
            str(tools / "compile"), "-o", f"_pkg{i}_.a", "-trimpath", f"{work}=>cell", "-p", pkg.path,
            f"-lang=go{lang}", "-complete", "-dwarf=false", f"-goversion={version}", "-c=2",
            "-nolocalimports", "-importcfg", "importcfg", "-pack", *(f"./{f}" for f in pkg.files),
        ]  # fmt: skip
        done = subprocess.run(compile_cmd, cwd=work, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            return done
        cfg += f"packagefile {pkg.path}={work / f'_pkg{i}_.a'}\n"
    (work / "importcfg.link").write_text(cfg)
    godebug = [f"-X=runtime.godebugDefault={plan.godebug}"] if plan.godebug else []
    link_cmd = [
        str(tools / "link"), "-o", "core.wasm", "-importcfg", "importcfg.link", *godebug,
        "-buildmode=c-shared", "-s", "-w", f"_pkg{len(packages) - 1}_.a",
    ]  # fmt: skip
    done = subprocess.run(link_cmd, cwd=work, env=env, capture_output=True, text=True)
    return done if done.returncode == 0 else None
