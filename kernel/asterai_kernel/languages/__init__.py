"""Guest languages. Each is a plugin (see base.Language); adding one is a module and a line in LANGUAGES."""

from __future__ import annotations

from ..errors import AsteraiError
from .base import Language
from .go import Go
from .python import Python
from .rust import Rust
from .typescript import JavaScript, TypeScript

LANGUAGES: dict[str, Language] = {
    lang.name: lang for lang in [Rust(), Python(), TypeScript(), JavaScript(), Go()]
}

# Cell kinds the contract names besides LANGUAGES, with their aliases: languages not built yet (refused with a
# clear message) and `wit`, which declares interfaces and builds nothing.
PLANNED: dict[str, tuple[str, ...]] = {"c": (), "cpp": ("c++",), "zig": (), "wit": ()}


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
    if any(name == planned or name in aliases for planned, aliases in PLANNED.items()):
        raise AsteraiError(
            f"%%asterai {name}: this language is not available yet in this version. "
            f"Supported now: {', '.join(supported())}."
        )
    raise AsteraiError(f"unknown language {name!r}. Supported: {', '.join(supported())}.")
