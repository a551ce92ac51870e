"""What the plugins that read signatures with tree-sitter grammars share."""

from __future__ import annotations

from functools import cache

import tree_sitter


class Unsupported(Exception):
    """A guest-language type with no WIT equivalent (yet)."""


@cache
def parser(language) -> tree_sitter.Parser:
    """A parser for a grammar package's `language()` function (built once per grammar)."""
    return tree_sitter.Parser(tree_sitter.Language(language()))


def text(node) -> str:
    return node.text.decode()


def first_error(node):
    """The innermost ERROR or MISSING node: where a syntax error message should point."""
    if node.type == "ERROR" or node.is_missing:
        return node
    for c in node.children:
        if c.has_error or c.is_missing:
            return first_error(c)
    return node
