"""The `asterai` command: `asterai doctor` (what is installed), `asterai setup [LANG ...]` (install it),
`asterai cache [--prune]` (what the build cache holds, build/prune.py) and `asterai build NOTEBOOK` (its cells
as component files, notebook_build.py).

doctor and setup ask the language registry (languages/__init__.py) what there is to install; toolchains.py
installs it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from . import languages, toolchains
from .errors import AsteraiError


def _console():
    try:
        from rich.console import Console
    except ImportError:  # rich is a dependency, but doctor must work even in a broken environment
        return None
    console = Console()
    # Piped or logged output has no width: don't fold the table to the default 80 columns.
    return console if console.is_terminal else Console(width=140)


def doctor(_args: argparse.Namespace) -> int:
    """Print the toolchain table; exit 1 when anything a Rust cell needs is missing."""
    rows = toolchains.doctor_rows(languages.requirements())
    console = _console()
    if console is None:
        print(toolchains.doctor_text(rows))
    else:
        console.print(_rich_table(rows))
    rust = languages.requirements(["rust"])[0]
    ready = toolchains.ready(rows, rust.name)
    print("Rust cells: ready." if ready else f"Rust cells: not ready. Run: {rust.install}")
    return 0 if ready else 1


def _rich_table(rows: list[toolchains.Row]):
    from rich import box
    from rich.table import Table

    table = Table(title="Asterai toolchains", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("for", style="bold", no_wrap=True)
    table.add_column("tool", no_wrap=True)
    table.add_column("", no_wrap=True)
    table.add_column("version", overflow="fold")
    table.add_column("where / how to install", overflow="fold", ratio=1)
    last = None
    for row in rows:
        if last is not None and row.lang != last:
            table.add_section()  # one block per language, named once
        lang = "" if row.lang == last else row.lang
        table.add_row(lang, row.tool, *_status(row))
        last = row.lang
    return table


def _status(row: toolchains.Row) -> tuple[str, str, str]:
    from rich.markup import escape

    detail = escape(row.detail.replace(str(Path.home()), "~"))
    if row.found:
        return "[green]✓[/]", escape(row.version), f"[dim]{detail}[/]"
    return "[red]✗[/]", escape(row.version), f"[bold]{escape(row.install)}[/]  [dim]{detail}[/]".rstrip()


def setup(args: argparse.Namespace) -> int:
    console = _console()
    start = time.monotonic()
    try:
        targets = languages.requirements(args.langs)  # every name checked before anything is installed
        if console is None:
            toolchains.setup(targets, progress=lambda line: print(line, flush=True))
        else:
            _setup_rich(console, targets)
    except AsteraiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: nothing half-installed was kept", file=sys.stderr)
        return 130
    print(f"done in {time.monotonic() - start:.1f} s")
    return 0


def _setup_rich(console, targets: list[toolchains.Requirements]) -> None:
    """On a terminal, counted lines ("[12/24] core") update one spinner line; everything else is printed."""
    with console.status("Checking toolchains...") as status:

        def progress(line: str) -> None:
            if line.startswith("[") and console.is_terminal:
                status.update(f"Building the Rust standard library for WebAssembly {line}")
            else:
                console.print(line, markup=False, highlight=False, soft_wrap=True)

        toolchains.setup(targets, progress=progress)


def cache(args: argparse.Namespace) -> int:
    """What the build cache holds, per kind of entry; with --prune, the least recently used removed first."""
    from rich.filesize import decimal

    from .build import prune
    from .build.cache import cache_dir
    from .sandbox import size_in_bytes

    root = cache_dir()
    if args.prune:
        try:
            keep = size_in_bytes(args.keep, "--keep")
        except AsteraiError as e:
            print(f"asterai cache: {e}", file=sys.stderr)
            return 2
        removed, freed = prune.prune(root, keep)
        print(f"Removed {removed} cache entries ({decimal(freed)}), least recently used first.")
    held = prune.usage(root)
    width = max(map(len, held), default=0)
    for kind, (count, size) in held.items():
        what = f"{count} entries" if kind in prune.PRUNABLE else "kept (a toolchain or a build at work)"
        print(f"  {kind:{width}}  {decimal(size):>9}  {what}")
    print(f"The cache ({root}) holds {decimal(sum(size for _, size in held.values()))}.")
    return 0


def build(args: argparse.Namespace) -> int:
    # nbformat validates with jsonschema, which on import compiles the URI grammars of rfc3987-syntax (2 s
    # here, on every run); notebooks use no URI formats, so this process goes without that checker.
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)
    from .notebook_build import build_notebook  # the IPython and wasmtime machinery only for a build

    notebook = Path(args.notebook)
    out = Path(args.output) if args.output else Path(f"{notebook.stem}-components")
    try:
        with _BuildBar() as bar:
            outcome = build_notebook(notebook, out, args.only or (), progress=bar)
    except AsteraiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"interrupted: {out} was left as it was", file=sys.stderr)
        return 130
    for cell, error in outcome.failed:
        print(f"error: {cell.where()} failed to build:\n{error}\n", file=sys.stderr)
    n = len(outcome.built)
    print(f"wrote {n} component{'s' * (n != 1)} and manifest.json to {out}")
    if outcome.failed:
        print(
            f"{len(outcome.failed)} cell(s) failed to build (listed above and in manifest.json)",
            file=sys.stderr,
        )
        return 1
    return 0


class _BuildBar:
    """A progress bar over the notebook's cells (rich; in place on a terminal), the current step beside it,
    and one line per component as it is done."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        console = Console(stderr=True)
        # Piped, logged, or run from a notebook's `!asterai build` (a terminal whose output cannot be redrawn
        # in place): no bar, only the line per component.
        in_place = console.is_terminal and "JPY_PARENT_PID" not in os.environ
        self.bar = Progress(*columns, console=console, transient=True, disable=not in_place)
        self.task = None
        self.where = ""

    def __enter__(self):
        self.bar.start()
        return self

    def __exit__(self, *exc) -> None:
        self.bar.stop()

    def start(self, total: int) -> None:
        self.task = self.bar.add_task("Building", total=total)

    def cell(self, cell) -> None:
        self.where = f"cell {cell.number}"
        self.bar.update(self.task, description=f"{self.where}: {cell.name or 'wit'}")

    def step(self, message: str) -> None:
        message = message.strip()
        if "\n" in message:  # compiler warnings: kept, above the bar
            self.bar.console.print(message, markup=False, highlight=False)
        else:
            self.bar.update(self.task, description=f"{self.where}: {message[:60]}")

    def done(self, cell, built) -> None:
        self.bar.advance(self.task)
        if built is not None:
            how = "from cache" if built.cached else f"built in {built.seconds:.2f} s"
            line = f"{built.spec.name}: {built.plan.lang.name} component, {how}"
            self.bar.console.print(line, markup=False, highlight=False)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="asterai", description="Asterai notebook toolchains.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("doctor", help="show which toolchains are installed and how to install the rest")
    p = sub.add_parser("setup", help="install toolchains for cell languages (default: rust)")
    names = ", ".join(languages.setup_names())
    p.add_argument("langs", nargs="*", default=["rust"], metavar="LANG", help=f"one of: {names}")
    p = sub.add_parser("cache", help="show what the build cache holds; --prune keeps it to a size")
    p.add_argument("--prune", action="store_true", help="remove the least recently used entries")
    p.add_argument(
        "--keep", default="10GiB", metavar="SIZE", help="what --prune leaves at most (default 10GiB)"
    )
    p = sub.add_parser("build", help="build a notebook's %%%%asterai cells into components (no Python runs)")
    p.add_argument("notebook", metavar="NOTEBOOK.ipynb")
    p.add_argument("-o", "--output", metavar="DIR", help="where to write them (default: NOTEBOOK-components)")
    p.add_argument("--only", nargs="+", metavar="NAME", help="only these components (and those they use)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return {"doctor": doctor, "setup": setup, "cache": cache, "build": build}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
