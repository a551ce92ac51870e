"""`%%asterai` and `%asterai`: parsing and dispatch only; the work happens in session and languages."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections import Counter

from IPython.core.magic import Magics, cell_magic, line_magic, magics_class

from . import wit
from .errors import AsteraiError
from .handles import ComponentHandle, ExportProxy
from .hostfns import PROVIDERS
from .languages import get_language, supported
from .names import check_component_name, snake_name
from .sandbox import Grants
from .session import get_session

NOT_YET: dict[str, str] = {}  # options of the contract not built yet: refused clearly rather than ignored
# Per-language build options: option -> the languages that take it. They reach the build as BuildJob.options
# and enter the cache key.
LANG_OPTIONS = {"pip": ("python",), "npm": ("javascript", "typescript")}


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise AsteraiError(f"%%asterai: {message}\nUsage: {self.format_usage().strip()}")


def _cell_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="%%asterai", add_help=False, allow_abbrev=False)
    p.add_argument("lang", help=f"one of: {', '.join(supported())}")
    p.add_argument("name", nargs="?", help="the component's name in the session (a Python identifier)")
    p.add_argument("--opt", choices=["0", "1", "2", "s"], default="2", help="optimization level")
    p.add_argument("--force", action="store_true", help="rebuild even if the cache has this cell")
    p.add_argument("--time", action="store_true", help="print build, load and instantiate timings")
    p.add_argument("--show-wit", action="store_true", help="print the WIT derived from the cell")
    p.add_argument("--use", action="append", metavar="NAME[,NAME]", help="call these components' exports")
    p.add_argument(
        "--exports", action="append", metavar="IFACE", help="implement a WIT interface from a wit cell"
    )
    p.add_argument(
        "--allow-read", action="append", metavar="HOST[:GUEST]", help="grant a directory, read-only"
    )
    p.add_argument(
        "--allow-write", action="append", metavar="HOST[:GUEST]", help="grant a directory, read-write"
    )
    p.add_argument("--env", action="append", metavar="VAR[=VALUE]", help="grant an environment variable")
    p.add_argument("--allow-net", action="store_true", help="grant network access to any host")
    p.add_argument(
        "--allow-host", action="append", metavar="HOST[:PORT]", help="grant network access to this host only"
    )
    p.add_argument("--timeout", metavar="SECONDS", help="stop any call running longer")
    p.add_argument("--fuel", metavar="N", help="stop any call using more fuel (instructions, roughly)")
    p.add_argument("--max-memory", metavar="SIZE", help="memory limit, e.g. 64MiB (default 512MiB)")
    p.add_argument("--pip", action="append", metavar="PKG[==VER]", help="bundle a pure-Python package")
    p.add_argument("--npm", action="append", metavar="PKG[@VER]", help="bundle a pure-JavaScript npm package")
    return p


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
        """Compile this cell into a WebAssembly component and bind its exports.

        %%asterai LANG [NAME] [--opt 0|1|2|s] [--force] [--time] [--show-wit]

        LANG: rust (rs), python (py), javascript (js), typescript (ts), c, cpp (c++), go (golang), zig, wit.
        The kernel_info reply lists those this kernel builds now (`asterai.languages`); in JupyterLab
        the cell is highlighted in LANG (Python's highlighting comes back when the magic line goes).
        """
        args = _cell_parser().parse_args(shlex.split(line))
        if args.lang == "wit":
            return self._declare(cell)
        used = [opt for opt in NOT_YET if getattr(args, opt) not in (None, False)]
        if used:
            raise AsteraiError(
                f"%%asterai: {NOT_YET[used[0]]} is not available yet in this version "
                f"(option --{used[0].replace('_', '-')})."
            )
        lang = get_language(args.lang)
        grants = Grants.parse(args.allow_read, args.allow_write, args.env, args.allow_net or args.allow_host,
                              args.timeout, args.fuel, args.max_memory)  # fmt: skip
        name = self._component_name(lang.name, args.name)
        uses = self._uses(lang, name, args.use)
        found = (self.session.declared(e) for e in args.exports or ())
        exports = tuple({i.qualified: i for i in found}.values())  # each interface once
        if exports and not lang.supports_exports:
            raise AsteraiError(f"%%asterai {lang.name}: --exports is not available for {lang.name} cells yet")
        options = _lang_options(lang, args)
        iface = lang.interface_using(cell, name, uses)
        for declared in exports if lang.one_int_type else ():
            iface = wit.adopt_int_widths(iface, declared)
        for declared in exports:
            problems = wit.diff(declared, iface)
            if problems:
                head = f"--exports {declared.qualified}: this cell does not implement it exactly:"
                raise AsteraiError("\n  ".join([head, *problems]))
        if args.show_wit:
            print(wit.render_world(iface, uses=tuple(uses.values()), extra_exports=exports))
        built = self.session.build(
            lang, name, cell, iface, opt=args.opt, force=args.force, progress=_progress,
            uses=uses, exports=exports,
            options=options,
        )  # fmt: skip
        replacing = name in self.session.components
        live = self.session.install(name, lang, iface, built, grants, uses)
        self._bind(name, live)
        print(_summary(live, replacing))
        if replacing and self.session.consumers_of(name):
            print(self.session.relink_report(live))
        if args.time:
            t = live.timings
            print(f"  build {t.build * 1e3:.0f} ms{' (cached)' if t.cached else ''}, "
                  f"load {t.load * 1e3:.1f} ms, instantiate {t.instantiate * 1e3:.1f} ms")  # fmt: skip

    def _declare(self, source: str) -> None:
        for iface in self.session.declare(source):
            fns = ", ".join(f"{f.name}{f.signature()[4:]}" for f in iface.functions)
            print(f"declared {iface.qualified}: {fns}")

    def _uses(self, lang, name: str, specs: list[str] | None) -> dict:
        names = [n.strip() for spec in specs or () for n in spec.split(",") if n.strip()]
        if names and not lang.supports_use:
            raise AsteraiError(f"%%asterai {lang.name}: --use is not available for {lang.name} cells yet")
        return self.session.providers(names, name)

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
        for fn in live.iface.functions:
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
        """%asterai ls | wit NAME | rm NAME | doctor | grants NAME | load PATH [NAME] | export NAME PATH"""
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

            from .toolchains import doctor_html

            display(HTML(doctor_html()))
            return None
        if cmd == "grants" and len(rest) == 1:
            from .widgets import grants

            return grants(rest[0])
        if cmd == "load" and len(rest) in (1, 2):
            from .loader import load

            live = load(self.session, *rest)
            self._bind(live.name, live)
            print(_summary(live, replaced=False))
            return None
        if cmd == "export" and len(rest) == 2:
            from .loader import export

            wasm, wit_file = export(self.session, *rest)
            print(f"wrote {wasm} ({wasm.stat().st_size / 1024:.0f} KiB) and {wit_file}")
            return None
        if cmd == "call" and len(rest) == 1:
            from .widgets import call_form

            return call_form(rest[0])
        raise AsteraiError(
            f"%asterai: unknown command {line!r}. Commands: ls, wit NAME, rm NAME, doctor, grants NAME, "
            "load PATH [NAME], export NAME PATH"
        )

    def _ls(self):
        rows = []
        for name, live in self.session.components.items():
            exports = ", ".join(snake_name(f.name) for f in live.iface.functions)
            t = live.timings
            built = "cache" if t.cached else f"{t.build:.2f} s"
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


def _lang_options(lang, args) -> dict:
    """The language-specific options given (e.g. {"pip": ["attrs==25.3.0"]}); refused for other languages."""
    options = {}
    for opt, langs in LANG_OPTIONS.items():
        value = getattr(args, opt)
        if value:
            if lang.name not in langs:
                raise AsteraiError(f"%%asterai {lang.name}: --{opt} is for {' and '.join(langs)} cells")
            options[opt] = value
    return options


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _summary(live, replaced: bool) -> str:
    fns = ", ".join(f"{snake_name(f.name)}{f.signature()[4:]}" for f in live.iface.functions)
    t = live.timings
    how = (
        "loaded"
        if live.language.name == "wasm"
        else "from cache"
        if t.cached
        else f"built in {t.build:.2f} s"
    )
    again = " (replaced)" if replaced else ""
    granted = "" if live.grants.summary() == "none" else f"; grants: {live.grants.summary()}"
    return f"{live.name}{again}: {live.language.name} component, {how}; exports {fns}{granted}"


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
