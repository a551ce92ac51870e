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

# Languages the contract names; those not in LANGUAGES yet are refused with a clear message.
PLANNED = ["python", "javascript", "typescript", "c", "cpp", "go", "zig", "wit"]


def supported() -> list[str]:
    return sorted(LANGUAGES)


def get_language(name: str) -> Language:
    name = name.lower()
    for lang in LANGUAGES.values():
        if name == lang.name or name in lang.aliases:
            return lang
    if name in PLANNED:
        raise AsteraiError(
            f"%%asterai {name}: this language is not available yet in this version. "
            f"Supported now: {', '.join(supported())}."
        )
    raise AsteraiError(f"unknown language {name!r}. Supported: {', '.join(supported())}.")
