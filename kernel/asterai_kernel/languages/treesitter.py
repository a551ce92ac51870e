"""What the plugins that read signatures with tree-sitter grammars share."""

from __future__ import annotations

from functools import cache

import tree_sitter

from .base import Unsupported

__all__ = ["CellTypes", "Unsupported", "first_error", "parser", "text"]


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


class CellTypes:
    """The cell's own type definitions, each resolved once on first use; recursion and generics refused.

    Subclasses set `defs` (name -> tree-sitter node) and implement `define(name, node)`.
    """

    defs: dict

    def __init__(self) -> None:
        self.resolved: dict = {}
        self.resolving: list[str] = []

    def define(self, name: str, node):
        raise NotImplementedError

    def user_type(self, name: str):
        if name in self.resolved:
            return self.resolved[name]
        if name in self.resolving:
            cycle = " -> ".join([*self.resolving[self.resolving.index(name) :], name])
            raise Unsupported(f"`{name}`, which contains itself ({cycle}); WIT types cannot be recursive")
        node = self.defs[name]
        if node.child_by_field_name("type_parameters") is not None:
            raise Unsupported(f"`{name}` (a generic type; exported types need concrete fields)")
        self.resolving.append(name)
        try:
            ty = self.define(name, node)
        finally:
            self.resolving.pop()
        self.resolved[name] = ty
        return ty
