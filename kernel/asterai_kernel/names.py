"""Naming rules shared by every language: WIT kebab-case, Python snake_case, default component names."""

from __future__ import annotations

import keyword
import re

# WIT keywords must be escaped with '%' when used as identifiers.
WIT_KEYWORDS = frozenset(
    """as async bool borrow char constructor enum export f32 f64 flags float32 float64 from func future import
    include interface list option own package record resource result s16 s32 s64 s8 static stream string tuple
    type u16 u32 u64 u8 use variant with world error-context""".split()
)


def words(name: str) -> list[str]:
    """Split any convention (snake, camel, Pascal, kebab) into lower-case words."""
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", name)
    return [w.lower() for w in re.split(r"[\s_\-]+", name) if w]


def wit_name(name: str) -> str:
    """`word_count`, `wordCount`, `WordCount` -> `word-count`; a digit-led word joins the one before it."""
    parts: list[str] = []
    for w in words(name):
        if parts and w[0].isdigit():
            parts[-1] += w
        else:
            parts.append(w)
    if not parts or parts[0][0].isdigit():
        raise ValueError(f"{name!r} cannot be a WIT name: it must start with a letter")
    return "-".join(parts)


def wit_ident(name: str) -> str:
    """A WIT name as it is written in WIT source: keywords escaped with '%'."""
    kebab = wit_name(name)
    return f"%{kebab}" if kebab in WIT_KEYWORDS else kebab


def snake_name(name: str) -> str:
    """The Python name of a WIT or guest name."""
    snake = wit_name(name).replace("-", "_")
    return snake + "_" if keyword.iskeyword(snake) else snake


def pascal_name(name: str) -> str:
    """The Python class name of a WIT type name (`point-2d` -> `Point2d`)."""
    return "".join(w[:1].upper() + w[1:] for w in wit_name(name).split("-"))


def check_component_name(name: str) -> str:
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(
            f"{name!r} is not a valid component name: use a Python identifier such as 'geo' or 'rust_1'"
        )
    return name
