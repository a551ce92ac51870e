"""JavaScript cells: their JSDoc types become TypeScript declarations, read by signatures.py like TypeScript.

    /** @typedef {{x: number, y: number}} Point */        -> interface Point { x: number; y: number }
    /** @typedef {Object} Point  @property {number} x */  -> interface Point { x: number }
    /** @typedef {"red" | "green"} Color */               -> type Color = "red" | "green"
    /** @enum {number} */ const Perms = {Read: 1 << 0, Write: 1 << 1}   (Object.freeze(...) too)
                                              -> enum Perms { Read = 1 << 0, Write = 1 << 1 } (WIT flags)
    /** @param {Point} p  @param {number} [k]  @returns {string} */ export function f(p, k) {..}
                                              -> export function f(p: Point, k?: number): string {}
Each generated line remembers the cell line it came from, so errors point at the JSDoc the user wrote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...errors import CompileError
from . import signatures
from .signatures import LINE_OFFSET, parser, text

TAG = re.compile(r"@(\w+)")


@dataclass
class _Tag:
    name: str  # param, returns, typedef, property, type
    type: str | None
    rest: str
    line: int  # cell line


def _braced(s: str, start: int) -> tuple[str | None, int]:
    """The text inside balanced braces starting at s[start] == '{', and the index after them."""
    depth = 0
    for i in range(start, len(s)):
        if s[i] == "{":
            depth += 1
        elif s[i] == "}":
            depth -= 1
            if depth == 0:
                return s[start + 1 : i], i + 1
    return None, len(s)


def _tags(comment: str, first_line: int) -> list[_Tag]:
    """JSDoc tags of a `/** */` comment with their cell lines (a tag's type may span lines)."""
    body = comment[3:-2]
    tags: list[_Tag] = []
    for m in TAG.finditer(body):
        line = first_line + body.count("\n", 0, m.start())
        i = m.end()
        while i < len(body) and body[i] in " \t":
            i += 1
        ty = None
        if i < len(body) and body[i] == "{":
            ty, i = _braced(body, i)
        end = body.find("@", i)
        while end > 0 and not re.match(r"@\w", body[end:]):
            end = body.find("@", end + 1)
        rest = body[i : end if end >= 0 else len(body)]
        rest = " ".join(w.strip().lstrip("*").strip() for w in rest.splitlines()).strip()
        tags.append(_Tag(m.group(1), " ".join(ty.split()) if ty is not None else None, rest, line))
    return tags


def _ts_type(jsdoc: str) -> str:
    """A JSDoc type expression written as TypeScript (`Array.<T>`, `?T`, `T=`)."""
    t = jsdoc.strip().replace(".<", "<")
    if t.endswith("="):
        t = t[:-1]
    if t.startswith("?"):
        t = f"{t[1:]} | undefined"
    if t.startswith("!"):
        t = t[1:]
    return t


def _param_name(rest: str) -> tuple[str, bool]:
    """`x description` -> (x, False); `[x=3] description` -> (x, True)."""
    rest = rest.strip()
    if rest.startswith("["):
        inner = rest[1 : rest.find("]")] if "]" in rest else rest[1:]
        return inner.split("=")[0].strip(), True
    name = rest.split()[0] if rest.split() else ""
    return name.rstrip("-").strip(), False


class _Out:
    """The TypeScript being written, with the cell line of every line."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.origin: list[int] = []

    def add(self, line: str, cell_line: int) -> None:
        for part in line.split("\n"):
            self.lines.append(part)
            self.origin.append(cell_line)

    def line_of(self, node) -> int:
        row = node.start_point[0]
        return self.origin[row] if row < len(self.origin) else (self.origin[-1] if self.origin else 1)


def _cell_line(node) -> int:
    return node.start_point[0] + 1 + LINE_OFFSET


def _doc_before(node):
    prev = node.prev_named_sibling
    if prev is not None and prev.type == "comment" and text(prev).startswith("/**"):
        if prev.end_point[0] + 1 >= node.start_point[0]:
            return prev
    return None


def _description(comment) -> str:
    lines = []
    for line in text(comment)[3:-2].splitlines():
        line = line.strip().removeprefix("*").strip()
        if line.startswith("@"):
            break
        lines.append(line)
    return " ".join(ln for ln in lines if ln).replace("*/", "")


def to_typescript(source: str) -> _Out:
    root = parser().parse(source.encode()).root_node
    signatures.syntax_check(root, _cell_line)
    out = _Out()
    # typedefs, from any JSDoc comment of the cell
    for comment in _comments(root):
        tags = _tags(text(comment), _cell_line(comment))
        for i, tag in enumerate(tags):
            if tag.name == "enum":
                _enum(comment, tag, out)
            if tag.name != "typedef":
                continue
            name = tag.rest.split()[0] if tag.rest.split() else ""
            if not name or tag.type is None:
                raise CompileError(f"line {tag.line}: write a typedef as `@typedef {{TYPE}} Name`.")
            props = []
            for p in tags[i + 1 :]:
                if p.name == "typedef":
                    break
                if p.name in ("property", "prop"):
                    pname, optional = _param_name(p.rest)
                    if p.type is None or not pname:
                        raise CompileError(f"line {p.line}: write a property as `@property {{TYPE}} name`.")
                    props.append((pname, optional or p.type.endswith("="), _ts_type(p.type), p.line))
            doc = _description(comment).replace("\n", " ")
            if doc:
                out.add(f"/** {doc} */", tag.line)
            if tag.type.strip() in ("Object", "object") or props:
                if not props:
                    raise CompileError(
                        f"line {tag.line}: `@typedef {{Object}} {name}` needs its fields as "
                        f"`@property {{TYPE}} name` lines."
                    )
                out.add(f"interface {name} {{", tag.line)
                for pname, optional, ptype, line in props:
                    out.add(f"  {pname}{'?' if optional else ''}: {ptype};", line)
                out.add("}", tag.line)
            else:
                out.add(f"type {name} = {_ts_type(tag.type)};", tag.line)
    # exported functions
    for name, fn, stmt in signatures.exported_functions(root):
        line = _cell_line(fn)
        comment = _doc_before(stmt)
        tags = _tags(text(comment), _cell_line(comment)) if comment is not None else []
        params = fn.child_by_field_name("parameters")
        if params is None:
            raise CompileError(f"line {line}: `export const {name}`: write its parameter in parentheses.")
        by_name = {}
        for tag in tags:
            if tag.name in ("param", "arg", "argument"):
                pname, optional = _param_name(tag.rest)
                by_name[pname] = (tag, optional)
        parts = []
        for p in params.named_children:
            if p.type == "comment":
                continue
            pattern = p.child_by_field_name("pattern") or p
            pname = text(pattern)
            if pattern.type != "identifier":
                raise CompileError(f"line {_cell_line(p)}: `export function {name}`: parameter "
                                   f"`{pname}` must be a plain name.")  # fmt: skip
            tag, optional = by_name.get(pname, (None, False))
            if tag is None or tag.type is None:
                raise CompileError(f"line {line}: {signatures.missing_type(name, pname, 'JavaScript')}")
            optional = optional or tag.type.endswith("=")
            parts.append(f"{pname}{'?' if optional else ''}: {_ts_type(tag.type)}")
        returns = next((t for t in tags if t.name in ("returns", "return")), None)
        if returns is None or returns.type is None:
            if comment is None:
                raise CompileError(f"line {line}: `export function {name}` has no JSDoc types. Annotate it, "
                                   f"e.g.\n{_example(name, params)}")  # fmt: skip
            raise CompileError(f"line {line}: {signatures.missing_return(name, 'JavaScript')}")
        doc = _description(comment)
        if doc:
            out.add(f"/** {doc} */", line)
        ret_line = returns.line
        out.add(f"export function {name}({', '.join(parts)})", line)
        out.add(f"  : {_ts_type(returns.type)} {{}}", ret_line)
    return out


def _enum(comment, tag: _Tag, out: _Out) -> None:
    """`/** @enum {number} */ export const Perms = {Read: 1 << 0, ...}`: JSDoc's enum, an object of constants,
    written as the TypeScript enum it stands for (signatures.py reads an enum of bits as flags)."""
    decl = comment.next_named_sibling
    if decl is not None and decl.type == "export_statement":
        decl = decl.child_by_field_name("declaration")
    declarator = decl.named_children[0] if decl is not None and decl.type == "lexical_declaration" else None
    value = declarator.child_by_field_name("value") if declarator is not None else None
    frozen = value is not None and value.type == "call_expression"  # Object.freeze({...})
    if frozen and text(value.child_by_field_name("function")) == "Object.freeze":
        args = value.child_by_field_name("arguments").named_children
        value = args[0] if len(args) == 1 else None
    if value is None or value.type != "object":
        raise CompileError(
            f"line {tag.line}: write a JSDoc @enum as an object of constants right after it: "
            "`/** @enum {number} */ export const Perms = { Read: 1 << 0, Write: 1 << 1 };`"
        )
    name = text(declarator.child_by_field_name("name"))
    doc = _description(comment)
    if doc:
        out.add(f"/** {doc} */", tag.line)
    out.add(f"enum {name} {{", _cell_line(declarator))
    for pair in value.named_children:
        if pair.type == "comment":
            continue
        if pair.type != "pair":
            what = f"`{text(pair)[:40]}`"
            raise CompileError(
                f"line {_cell_line(pair)}: {what}: each member of @enum {name} is `Name: value`."
            )
        key = text(pair.child_by_field_name("key"))
        out.add(f"  {key} = {text(pair.child_by_field_name('value'))},", _cell_line(pair))
    out.add("}", _cell_line(value))


def _example(name: str, params) -> str:
    names = [text(p) for p in params.named_children if p.type != "comment"]
    lines = ["  /**", *[f"   * @param {{number}} {n}" for n in names], "   * @returns {number}", "   */"]
    lines.append(f"  export function {name}({', '.join(names)}) {{ ... }}")
    return "\n".join(lines)


def _comments(root):
    stack = [root]
    while stack:
        node = stack.pop()
        for c in reversed(node.children):
            if c.type == "comment":
                if text(c).startswith("/**"):
                    yield c
            elif c.child_count:
                stack.append(c)


def read_cell(source: str, uses: dict | None = None) -> signatures.Cell:
    out = to_typescript(source)
    ts = "\n".join(out.lines)
    root = parser().parse(ts.encode()).root_node
    if root.has_error:  # the JSDoc type text itself is malformed
        bad = signatures.first_error(root)
        raise CompileError(f"line {out.line_of(bad)}: cannot read the JSDoc type near `{text(bad)[:40]}`")
    return signatures.read_cell(ts, "JavaScript", out.line_of, uses)
