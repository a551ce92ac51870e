"""The one registry of guest languages: the cell languages, their aliases, their per-language options and what
`asterai setup` installs for each. The magics, the kernel_info reply, `asterai setup` and the doctor table ask
here; extension/src/languages.json is checked against it (tests/test_languages.py).

Each language is a package (rust/, python/, typescript/, go/) whose plugin.py holds its base.Language; adding
one is a package and a line in LANGUAGES.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .. import toolchains
from ..errors import AsteraiError
from ..toolchains import Requirements
from . import planned
from .base import Language
from .go import Go
from .python import Python
from .rust import Rust
from .typescript import JavaScript, TypeScript

LANGUAGES: dict[str, Language] = {
    lang.name: lang for lang in [Rust(), Python(), TypeScript(), JavaScript(), Go()]
}


@dataclass(frozen=True)
class Planned:
    """A cell kind the contract names besides LANGUAGES: its aliases, and what `asterai setup NAME` installs
    for it already (None: nothing to install)."""

    aliases: tuple[str, ...] = ()
    requirements: Requirements | None = None


# Languages not built yet (refused with a clear message), and `wit`, which declares interfaces and builds
# nothing.
PLANNED: dict[str, Planned] = {
    "c": Planned((), planned.C),
    "cpp": Planned(("c++",), planned.C),
    "zig": Planned((), planned.ZIG),
    "wit": Planned(),
}


def taking(option: str) -> list[str]:
    """The languages whose cells take a per-language build option (`pip` -> ["python"])."""
    return sorted(name for name, lang in LANGUAGES.items() if option in lang.cell_options)


def supported() -> list[str]:
    return sorted(LANGUAGES)


def get_language(name: str) -> Language:
    name = name.lower()
    for lang in LANGUAGES.values():
        if name == lang.name or name in lang.aliases:
            return lang
    if any(name == kind or name in entry.aliases for kind, entry in PLANNED.items()):
        raise AsteraiError(
            f"%%asterai {name}: this language is not available yet in this version. "
            f"Supported now: {', '.join(supported())}."
        )
    raise AsteraiError(f"unknown language {name!r}. Supported: {', '.join(supported())}.")


# ---------------------------------------------------------------- set-up targets


def _targets() -> dict[str, Requirements]:
    """Every name `asterai setup` accepts -> its target: the languages and their aliases, the planned
    languages, and the targets that are no language (toolchains.TARGETS: `browser`)."""
    found: dict[str, Requirements] = {}
    kinds = [((lang.name, *lang.aliases), lang.requirements) for lang in LANGUAGES.values()]
    kinds += [((kind, *entry.aliases), entry.requirements) for kind, entry in PLANNED.items()]
    for names, target in kinds:
        if target is not None:
            found.update(dict.fromkeys(names, target))
    found.update(toolchains.TARGETS)
    return found


def setup_names() -> list[str]:
    """The names `asterai setup` accepts: each target's own first, then the others that lead to one (`ts`,
    `javascript`, `c++`, ...)."""
    targets = _targets()
    own = [name for name, target in targets.items() if name == target.name]
    return own + [name for name in targets if name not in own]


def requirements(names: Iterable[str] | None = None) -> list[Requirements]:
    """What `asterai setup NAMES` installs: each target once, in order (`ts` and `js` both name TypeScript's);
    every target, in the doctor table's order, when `names` is None. An unknown name: AsteraiError naming the
    accepted ones."""
    targets = _targets()
    if names is None:
        return list(dict.fromkeys(targets.values()))
    chosen = []
    for name in names:
        target = targets.get(name.lower())
        if target is None:
            supported_names = ", ".join(setup_names())
            if name.lower() in PLANNED:  # `wit`: a cell kind with no toolchain
                raise AsteraiError(f"`{name}` cells build nothing: there is nothing to set up for them. "
                                   f"Supported: {supported_names}.")  # fmt: skip
            raise AsteraiError(f"Unknown language {name!r}. Supported: {supported_names}.")
        chosen.append(target)
    return list(dict.fromkeys(chosen))
