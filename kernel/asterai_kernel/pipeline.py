"""From a cell to a live component: the one call every front end makes (the magic, tests, a CLI, a widget).

The magic parses its line into a CellSpec and prints what `run_cell` returns; nothing here prints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from . import wit
from .component import LiveComponent
from .errors import AsteraiError
from .languages import get_language, taking
from .languages.base import Language, Progress
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


def run_cell(session, spec: CellSpec, progress: Progress = lambda msg: None,
             on_wit: Callable[[str], None] | None = None) -> CellResult:  # fmt: skip
    """Read the cell's signatures, check them against `--exports`, build (or take from the cache),
    instantiate with the spec's grants and publish. `on_wit` gets the derived world before the build."""
    lang = get_language(spec.lang)
    check_options(lang, spec.options)
    uses = _providers(session, lang, spec)
    exports = _declared(session, lang, spec.exports)
    iface = lang.interface_using(spec.source, spec.name, uses)
    for declared in exports if lang.one_int_type else ():
        iface = wit.adopt_int_widths(iface, declared)
    for declared in exports:
        problems = wit.diff(declared, iface)
        if problems:
            head = f"--exports {declared.qualified}: this cell does not implement it exactly:"
            raise AsteraiError("\n  ".join([head, *problems]))
    if on_wit is not None:
        on_wit(wit.render_world(iface, uses=tuple(uses.values()), extra_exports=exports))
    built = session.build(
        lang, spec.name, spec.source, iface, opt=spec.opt, force=spec.force, progress=progress,
        uses=uses, exports=exports, options=spec.options,
    )  # fmt: skip
    replaced = spec.name in session.components
    live = session.install(spec.name, lang, iface, built, spec.grants, uses)
    relinked = session.relink_report(live) if replaced and session.consumers_of(spec.name) else ""
    return CellResult(live, replaced, relinked)


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
