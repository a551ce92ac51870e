"""`%%asterai` and `%asterai`: parsing and dispatch only; the work happens in session and languages."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections import Counter

from IPython.core.magic import Magics, cell_magic, line_magic, magics_class

from . import wit
from .composition import node_lines
from .errors import AsteraiError
from .handles import ComponentHandle, ExportProxy
from .hostfns import PROVIDERS
from .imports import note
from .languages import LANGUAGES, PLANNED, get_language, requirements, taking
from .loader import export, load
from .names import check_component_name, snake_name
from .pipeline import CellSpec
from .progress import BuildProgress
from .resources import ResourceObject
from .sandbox import Grants
from .session import get_session
from .toolchains import doctor_html, doctor_rows


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise AsteraiError(f"%%asterai: {message}\nUsage: {self.format_usage().strip()}")


def _cell_parser() -> argparse.ArgumentParser:
    """Every option of the cell magic, declared once: it parses the line and writes `%%asterai?`."""
    p = _Parser(prog="%%asterai", usage="%(prog)s LANG [NAME] [options]", add_help=False, allow_abbrev=False,
                formatter_class=lambda prog: argparse.HelpFormatter(prog, width=100))  # fmt: skip
    p.add_argument("lang", metavar="LANG", help="the cell's language (see above)")
    p.add_argument("name", nargs="?", metavar="NAME",
                   help="its name in the session, a Python identifier (default LANG_N)")  # fmt: skip
    build = p.add_argument_group("build")
    build.add_argument("--opt", choices=["0", "1", "2", "s"], default="2", help="optimization level")
    build.add_argument("--force", action="store_true", help="rebuild even if the cache has this cell")
    build.add_argument(
        "--time",
        action="store_true",
        help="print where the time went: build, machine code, instantiate, the rest",
    )
    build.add_argument("--show-wit", action="store_true", help="print the WIT derived from the cell")
    build.add_argument("--use", action="append", metavar="NAME[,NAME]",
                       help="call these components' exports from the cell (repeatable)")  # fmt: skip
    build.add_argument("--exports", action="append", metavar="IFACE",
                       help="implement a WIT interface declared in a wit cell (repeatable)")  # fmt: skip
    grants = p.add_argument_group("grants (nothing is granted by default)")
    grants.add_argument("--allow-read", action="append", metavar="HOST[:GUEST]",
                        help="grant a directory, read-only (repeatable)")  # fmt: skip
    grants.add_argument("--allow-write", action="append", metavar="HOST[:GUEST]",
                        help="grant a directory, read-write (repeatable)")  # fmt: skip
    grants.add_argument("--env", action="append", metavar="VAR[=VALUE]",
                        help="grant an environment variable (repeatable)")  # fmt: skip
    grants.add_argument("--allow-net", action="store_true", help="network access to any host (via --use net)")
    grants.add_argument("--allow-host", action="append", metavar="HOST[:PORT]",
                        help="network access to this host only (repeatable)")  # fmt: skip
    limits = p.add_argument_group("limits")
    limits.add_argument("--timeout", metavar="SECONDS", help="stop any call running longer")
    limits.add_argument("--fuel", metavar="N", help="stop any call using more fuel (instructions, roughly)")
    limits.add_argument("--max-memory", metavar="SIZE", help="memory limit, e.g. 64MiB (default 512MiB)")
    per_lang = p.add_argument_group("per language")
    for opt in sorted({opt for lang in LANGUAGES.values() for opt in lang.cell_options}):
        takers = taking(opt)
        metavar, text = LANGUAGES[takers[0]].cell_options[opt]
        per_lang.add_argument(f"--{opt}", action="append", metavar=metavar,
                              help=f"{text} ({', '.join(takers)}; repeatable)")  # fmt: skip
    return p


def parse_cell_line(line: str) -> argparse.Namespace:
    """The options of a `%%asterai` line (what follows the magic's name)."""
    return _cell_parser().parse_args(shlex.split(line))


def cell_spec(args: argparse.Namespace, name: str, source: str, grants: Grants | None = None) -> CellSpec:
    """What a parsed magic line and its body build (`name` chosen by the front end)."""
    opts = [opt for lang in LANGUAGES.values() for opt in lang.cell_options]
    options = {opt: getattr(args, opt.replace("-", "_")) for opt in opts}  # argparse's names: crate_source
    return CellSpec(
        lang=get_language(args.lang).name, name=name, source=source, opt=args.opt, force=args.force,
        uses=tuple(args.use or ()), exports=tuple(args.exports or ()), grants=grants or Grants(),
        options={opt: value for opt, value in options.items() if value},
    )  # fmt: skip


def _language_line() -> str:
    kinds = [(lang.name, lang.aliases) for lang in LANGUAGES.values()]
    kinds += [(kind, entry.aliases) for kind, entry in PLANNED.items()]
    return ", ".join(f"{name} ({', '.join(aliases)})" if aliases else name for name, aliases in kinds)


_CELL_DOC = """Compile this cell into a WebAssembly component and bind its exports.

LANG: {languages}.
{coming} are coming; `wit` cells declare interfaces and build nothing. The kernel_info reply lists the
languages this kernel builds (`asterai.languages`); in JupyterLab the cell is highlighted in LANG (Python's
highlighting comes back when the magic line goes).

{usage}"""


@magics_class
class AsteraiMagics(Magics):
    def __init__(self, shell):
        super().__init__(shell)
        self.session = get_session()
        self.counters: Counter[str] = Counter()
        self.names_by_cell: dict[str, str] = {}
        self.bound: dict[str, set[str]] = {}  # component -> user-namespace names it bound
        self.cell_id: str | None = None

    def pre_run_cell(self, info) -> None:
        self.cell_id = getattr(info, "cell_id", None)

    # ---- %%asterai ----
    @cell_magic
    def asterai(self, line: str, cell: str):
        args = parse_cell_line(line)
        if args.lang == "wit":
            return self._declare(cell)
        lang = get_language(args.lang)
        grants = Grants.parse(args.allow_read, args.allow_write, args.env, args.allow_net or args.allow_host,
                              args.timeout, args.fuel, args.max_memory)  # fmt: skip
        spec = cell_spec(args, self._component_name(lang.name, args.name), cell, grants)
        started = time.perf_counter()
        with BuildProgress() as progress:
            result = self.session.run_cell(spec, progress=progress, on_wit=print if args.show_wit else None)
        waited = time.perf_counter() - started  # what the user waited: build, machine code, instance, links
        live = result.live
        self._bind(spec.name, live)
        printed = live.printed  # a cell on a shared interpreter ran its top-level code
        if printed:
            print(printed, end="" if printed.endswith("\n") else "\n")
        print(_summary(live, result.replaced, waited))
        if result.relinked:
            print(result.relinked)
        if args.time:
            t = live.timings
            print(_split(t, waited))

    asterai.__doc__ = _CELL_DOC.format(
        languages=_language_line(),
        coming=", ".join(name for name in PLANNED if name != "wit"),
        usage=_cell_parser().format_help(),
    )

    def _declare(self, source: str) -> None:
        for iface in self.session.declare(source):
            fns = ", ".join(f"{f.name}{f.signature()[4:]}" for f in iface.functions)
            print(f"declared {iface.qualified}: {fns}")

    def _component_name(self, lang: str, name: str | None) -> str:
        if name is not None:
            try:
                check_component_name(name)
            except ValueError as e:
                raise AsteraiError(str(e)) from None
            if name in PROVIDERS:  # `--use NAME` must mean one thing
                raise AsteraiError(f"{name!r} is the name of functions the notebook provides (`%asterai wit "
                                   f"{name}`); give this component another name")  # fmt: skip
            return name
        if self.cell_id and self.cell_id in self.names_by_cell:
            return self.names_by_cell[self.cell_id]
        self.counters[lang] += 1
        name = f"{lang}_{self.counters[lang]}"
        while name in self.session.components:
            self.counters[lang] += 1
            name = f"{lang}_{self.counters[lang]}"
        if self.cell_id:
            self.names_by_cell[self.cell_id] = name
        return name

    def _bind(self, name: str, live) -> None:
        ns = self.shell.user_ns
        new: dict[str, object] = {name: ComponentHandle(self.session, name)}
        for fn in wit.plain_functions(live.iface.functions):
            py = snake_name(fn.name)
            if py != name:  # an export named like its component stays reachable as NAME.NAME
                new[py] = self.session.proxy(name, fn.name)
        ours = set().union(*self.bound.values()) if self.bound else set()
        for stale in self.bound.get(name, set()) - set(new):
            if isinstance(ns.get(stale), (ComponentHandle, ExportProxy)):
                ns.pop(stale, None)
        for key, value in new.items():
            if key in ns and key not in ours and not isinstance(ns[key], (ComponentHandle, ExportProxy)):
                print(f"warning: {key!r} was a variable of yours; it is now {name}'s export", file=sys.stderr)
            ns[key] = value
        self.bound[name] = set(new)

    # ---- %asterai ----
    @line_magic("asterai")
    def asterai_line(self, line: str):
        """%asterai ls | wit NAME | rm NAME | doctor | grants NAME | load PATH [NAME] | export NAME PATH

        `export NAME PATH --composed` writes one file holding the component and those it uses (--use)."""
        words = shlex.split(line)
        if not words:
            raise AsteraiError("usage: %asterai ls | wit NAME | rm NAME | doctor")
        cmd, rest = words[0], words[1:]
        if cmd == "ls":
            return self._ls()
        if cmd == "wit" and len(rest) == 1:
            host = PROVIDERS.get(rest[0]) if rest[0] not in self.session.components else None
            print(wit.render_world(host.iface) if host else ComponentHandle(self.session, rest[0]).wit)
            return None
        if cmd == "rm" and len(rest) == 1:
            return self._rm(rest[0])
        if cmd == "doctor":
            from IPython.display import HTML, display

            display(HTML(doctor_html(doctor_rows(requirements()))))
            return None
        if cmd == "grants" and len(rest) == 1:
            from .widgets import grants  # ipywidgets loads only when a widget is asked for

            return grants(rest[0])
        if cmd == "load":
            return self._load(rest)
        if cmd == "export" and len([w for w in rest if w != "--composed"]) == 2:
            return self._export(rest)
        if cmd == "call" and len(rest) == 1:
            from .widgets import call_form

            return call_form(rest[0])
        raise AsteraiError(
            f"%asterai: unknown command {line!r}. Commands: ls, wit NAME, rm NAME, doctor, grants NAME, "
            "load PATH [NAME], export NAME PATH [--composed]"
        )

    def _load(self, words: list[str]) -> None:
        """%asterai load PATH [NAME] [--use COMPONENT[,COMPONENT]...]"""
        parser = _Parser(prog="%asterai load", add_help=False)
        parser.add_argument("path")
        parser.add_argument("name", nargs="?")
        parser.add_argument("--use", action="append", default=[])
        args = parser.parse_args(words)
        uses = [n.strip() for item in args.use for n in item.split(",") if n.strip()]
        live = load(self.session, args.path, args.name, uses)
        self._bind(live.name, live)
        print(_summary(live, replaced=False))
        missing = note(live.foreign)
        if missing:
            print(missing)

    def _export(self, words: list[str]) -> None:
        composed = "--composed" in words
        name, path = [w for w in words if w != "--composed"]
        with BuildProgress() as progress:
            wasm, wit_file = export(self.session, name, path, composed=composed, progress=progress)
        what = " (composed with the components it uses)" if composed else ""
        print(f"wrote {wasm} ({wasm.stat().st_size / 1024:.0f} KiB){what} and {wit_file}")
        live = self.session.get(name)
        if live.uses and not composed:
            cells = [n for n in live.uses if n in self.session.components]
            hosted = [n for n in live.uses if n not in cells]
            if cells:
                print(f"it imports {', '.join(cells)}: --composed writes them into the file")
            if hosted:
                print(f"it imports {', '.join(hosted)}, which the notebook provides: the host must supply it")
            return
        fn = live.iface.functions[0] if live.iface.functions else None
        params = [t.wit() for _, t in fn.params] if fn else []
        print("run it in Node.js (jco; @bytecodealliance/preview2-shim installed where it runs):")
        for line in node_lines(wasm, live.iface.name, fn.name if fn else None, params):
            print(f"  {line}")

    def _ls(self):
        rows = []
        for name, live in self.session.components.items():
            exports = ", ".join([snake_name(f.name) for f in wit.plain_functions(live.iface.functions)]
                                + [c.__name__ for c in live.types.values()
                                   if isinstance(c, type) and issubclass(c, ResourceObject)])  # fmt: skip
            t = live.timings
            built = "shared" if t.interpreted else "cache" if t.cached else f"{t.build:.2f} s"
            size = f"{live.wasm_size / 1024:.0f} KiB"
            rows.append((name, live.language.name, exports, live.grants.summary(), size, built))
        if not rows:
            print("no components yet: run a %%asterai cell")
        else:
            header = ("name", "language", "exports", "grants", "size", "built")
            widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
            for r in [header, *rows]:
                print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
        hosts = [f"{n} ({', '.join(snake_name(f) for f in p.functions)})" for n, p in PROVIDERS.items()]
        print("provided by the notebook, for --use:", "; ".join(hosts))
        return None

    def _rm(self, name: str) -> None:
        self.session.remove(name)
        ns = self.shell.user_ns
        for key in self.bound.pop(name, set()):
            if isinstance(ns.get(key), (ComponentHandle, ExportProxy)):
                ns.pop(key, None)
        print(f"removed {name}")


SUMMARY_WIDTH = 100  # longer one-line summaries wrap mid-word in a notebook: list the exports instead


def _summary(live, replaced: bool, waited: float = 0.0) -> str:
    fns = [f"{snake_name(f.name)}{f.signature()[4:]}" for f in wit.plain_functions(live.iface.functions)]
    fns += [f"class {c.__name__} (resource {c._resource})" for c in live.types.values()
            if isinstance(c, type) and issubclass(c, ResourceObject)]  # fmt: skip
    t = live.timings
    how = (
        "loaded" if live.language.name == "wasm"
        else f"on the shared interpreter in {waited:.2f} s" if t.interpreted
        else "from cache" if t.cached else f"built in {waited:.2f} s"
    )  # fmt: skip
    again = " (replaced)" if replaced else ""
    granted = "" if live.grants.summary() == "none" else f"; grants: {live.grants.summary()}"
    head = f"{live.name}{again}: {live.language.name} component, {how}"
    line = f"{head}; exports {', '.join(fns)}{granted}"
    if len(line) <= SUMMARY_WIDTH:
        return line
    return f"{head}{granted}; exports:\n" + "\n".join(f"  {fn}" for fn in fns)


def _split(t, waited: float) -> str:
    """Where a cell's time went (`--time`): the parts of the summary's total."""
    rest = max(0.0, waited - t.build - t.load - t.instantiate)  # signatures, checks, links
    cached = " (glue for the shared interpreter)" if t.interpreted else " (cached)" if t.cached else ""
    quick = " (Winch's; Cranelift's optimized code is used from its next start)" if t.winch else ""
    return (
        f"  build {t.build * 1e3:.0f} ms{cached}, machine code {t.load * 1e3:.1f} ms{quick}, "
        f"instantiate {t.instantiate * 1e3:.1f} ms, the rest {rest * 1e3:.1f} ms; total {waited * 1e3:.0f} ms"
    )


def register(shell) -> AsteraiMagics:
    magics = AsteraiMagics(shell)
    shell.register_magics(magics)
    shell.events.register("pre_run_cell", magics.pre_run_cell)
    shell.events.register("pre_execute", magics.session.cell_started)
    shell.events.register("post_execute", magics.session.cell_finished)
    return magics


def unregister(shell) -> None:
    for m in list(shell.magics_manager.registry.values()):
        if isinstance(m, AsteraiMagics):
            shell.events.unregister("pre_run_cell", m.pre_run_cell)
            shell.events.unregister("pre_execute", m.session.cell_started)
            shell.events.unregister("post_execute", m.session.cell_finished)
