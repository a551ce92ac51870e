"""From a cell to a live component: the one call every front end makes (the magic, tests, a CLI, a widget).

The magic parses its line into a CellSpec and prints what `run_cell` returns; nothing here prints.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import interpreted, pins, wit
from .build import cache
from .build.cache import BuildResult
from .component import LiveComponent
from .errors import AsteraiError
from .languages import get_language, taking
from .languages.base import BuildJob, Language, Progress
from .sandbox import Grants


@dataclass(frozen=True)
class CellSpec:
    """One cell, as its magic line and body say: everything that decides what it builds and grants."""

    lang: str  # a language name or alias
    name: str  # the component's session name (front ends choose defaults)
    source: str  # the cell body, without the magic line
    opt: str = "2"
    force: bool = False
    uses: tuple[str, ...] = ()  # `--use`: provider names
    exports: tuple[str, ...] = ()  # `--exports`: declared interface names
    grants: Grants = field(default_factory=Grants)
    options: dict[str, list[str]] = field(default_factory=dict)  # per-language, e.g. {"pip": [...]}


@dataclass
class CellResult:
    live: LiveComponent
    replaced: bool  # a component of that name was live before
    relinked: str  # what happened to the components that use it ("" when none do)


@dataclass(frozen=True)
class CellPlan:
    """What a cell builds: its language, the interfaces it imports and implements, and its own."""

    lang: Language
    uses: dict[str, wit.Interface]  # provider name -> its interface
    exports: tuple[wit.Interface, ...]  # `--exports` interfaces it implements
    iface: wit.Interface

    def world(self) -> str:
        return wit.render_world(self.iface, uses=tuple(self.uses.values()), extra_exports=self.exports)


def plan_cell(scope, spec: CellSpec) -> CellPlan:
    """Read the cell's signatures and check them against `--exports`. `scope` resolves names: a Session,
    or anything with its `providers(names, consumer)` and `declared(name)` (notebook_build's)."""
    lang = get_language(spec.lang)
    check_options(lang, spec.options)
    uses = _providers(scope, lang, spec)
    exports = _declared(scope, lang, spec.exports)
    iface = lang.interface_using(spec.source, spec.name, uses)
    for declared in exports if lang.one_int_type else ():
        iface = wit.adopt_int_widths(iface, declared)
    for declared in exports:
        problems = wit.diff(declared, iface)
        if problems:
            head = f"--exports {declared.qualified}: this cell does not implement it exactly:"
            raise AsteraiError("\n  ".join([head, *problems]))
    return CellPlan(lang, uses, exports, iface)


def build_planned(plan: CellPlan, spec: CellSpec, progress: Progress = lambda msg: None):
    """Build a planned cell (or take it from the cache): a cache.BuildResult."""
    return build_component(
        plan.lang, spec.name, spec.source, plan.iface, opt=spec.opt, force=spec.force, progress=progress,
        uses=plan.uses, exports=plan.exports, options=spec.options,
    )  # fmt: skip


def run_cell(session, spec: CellSpec, progress: Progress = lambda msg: None,
             on_wit: Callable[[str], None] | None = None) -> CellResult:  # fmt: skip
    """Plan the cell, build it (or take it from the cache), instantiate with the spec's grants and
    publish. `on_wit` gets the derived world before the build."""
    plan = plan_cell(session, spec)
    if on_wit is not None:
        on_wit(plan.world())
    replaced = spec.name in session.components
    live = _install_interpreted(session, plan, spec, progress)
    if live is None:
        built = build_planned(plan, spec, progress)
        live = session.install(spec.name, plan.lang, plan.iface, built, spec.grants, plan.uses)
    relinked = session.relink_report(live) if replaced and session.consumers_of(spec.name) else ""
    return CellResult(live, replaced, relinked)


def _install_interpreted(session, plan: CellPlan, spec: CellSpec, progress: Progress):
    """The cell live on its language's shared interpreter (interpreted.py), or None when it needs a
    component of its own."""
    job = BuildJob(spec.name, spec.source, plan.iface, cache.cache_dir(), opt=spec.opt, progress=progress,
                   options=spec.options, uses=dict(plan.uses), exports=plan.exports)  # fmt: skip
    interp = interpreted.interpreter_for(plan.lang, job)
    if interp is None:
        return None
    standalone = lambda progress: build_planned(plan, spec, progress).wasm_path  # noqa: E731
    return interpreted.install(
        session, spec.name, plan.lang, plan.iface, job, interp, spec.grants, standalone
    )


def build_component(lang: Language, name: str, source: str, iface: wit.Interface, *, opt: str,
                    force: bool, progress: Progress, options: dict | None = None,
                    uses: dict[str, wit.Interface] | None = None,
                    exports: tuple = ()) -> BuildResult:  # fmt: skip
    """The component of a cell from the content-addressed cache, built there first when missing."""
    options = options or {}
    toolchain = lang.toolchain_fingerprint(progress)
    key = cache.content_key(
        "component", lang.name, source, opt, lang.options_key(options, progress),
        wit.render_world(iface, uses=tuple((uses or {}).values()), extra_exports=exports),
        lang.glue_fingerprint(), toolchain, pins.WASMTIME_VERSION,
    )  # fmt: skip
    path = cache.entry_dir("components", key) / "component.wasm"
    if path.exists() and not force:
        return BuildResult(path, 0.0, True)
    t0 = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="build-", dir=cache.cache_dir()))
    try:
        job = BuildJob(name, source, iface, workdir, opt=opt, progress=progress, options=options,
                       uses=dict(uses or {}), exports=exports)  # fmt: skip
        wasm = lang.build(job)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    cache.write_atomic(path, wasm)
    return BuildResult(path, time.perf_counter() - t0, False)


def check_options(lang: Language, options: dict) -> None:
    """Per-language build options are refused on other languages' cells, naming the ones that take them."""
    for opt, value in options.items():
        if value and opt not in lang.cell_options:
            raise AsteraiError(f"%%asterai {lang.name}: --{opt} is for {' and '.join(taking(opt))} cells")


def _providers(session, lang: Language, spec: CellSpec) -> dict[str, wit.Interface]:
    names = [n.strip() for item in spec.uses for n in item.split(",") if n.strip()]
    if names and not lang.supports_use:
        raise AsteraiError(f"%%asterai {lang.name}: --use is not available for {lang.name} cells yet")
    return session.providers(names, spec.name)


def _declared(session, lang: Language, names: tuple[str, ...]) -> tuple[wit.Interface, ...]:
    found = (session.declared(n) for n in names)
    exports = tuple({i.qualified: i for i in found}.values())  # each interface once
    if exports and not lang.supports_exports:
        raise AsteraiError(f"%%asterai {lang.name}: --exports is not available for {lang.name} cells yet")
    return exports
