"""The import side of C++ glue: `--use geo` gives a C++ cell the same `geo.h` as a C cell (c/imports.py, its
functions spelled with C++'s leaves), plus a `namespace geo` of the same functions taking and returning C++'s
own types, which free what the C functions hand over:

    uint32_t n = geo::word_count(text);                        // const std::string & in
    std::vector<std::string> loud = geo::shout({"a", "b"});    // std::vector in and out
    geo::Point p = geo::mid({0, 0}, {4, 2});                   // geo::Point is geo_point
"""

from __future__ import annotations

from ... import wit
from ...names import pascal_name
from ..c import imports as c_imports
from ..c.exports import CType
from .exports import CppEmitter


def _simple(ct: CType) -> bool:
    """An element a std::vector can hold as the C functions lay it out (nothing to free, not bool)."""
    return (
        ct.kind in ("enum", "flags")
        or (ct.kind == "scalar" and ct.c != "bool")
        or (ct.kind == "record" and all(_simple(p) for p in ct.parts))
    )


def _param(name: str, ct: CType) -> tuple[str, list[str], list[str]]:
    """A wrapper parameter: its declaration, statements preparing it, and the C function's arguments."""
    if ct.kind == "cstr":
        return f"const std::string &{name}", [], [f"{name}.c_str()"]
    if ct.kind == "list" and ct.parts[0].kind == "cstr":
        ptrs = f"{name}_c"
        prep = [
            f"std::vector<const char *> {ptrs};",
            f"for (const auto &s : {name}) {ptrs}.push_back(s.c_str());",
        ]
        return f"const std::vector<std::string> &{name}", prep, [f"{ptrs}.data()", f"{ptrs}.size()"]
    if ct.kind == "list" and _simple(ct.parts[0]):
        return f"const std::vector<{ct.parts[0].c}> &{name}", [], [f"{name}.data()", f"{name}.size()"]
    if ct.kind == "list":
        return f"const {ct.parts[0].c} *{name}, size_t {name}_len", [], [name, f"{name}_len"]
    return f"{ct.c} {name}", [], [name]


def _result(ct: CType | None, call: str) -> tuple[str, list[str]]:
    """The wrapper's result type and the statements returning it from the C function's."""
    if ct is None:
        return "void", [f"{call};"]
    if ct.kind == "cstr":
        return "std::string", [
            f"char *r = {call};",
            'std::string out(r ? r : "");',
            "free(r);",
            "return out;",
        ]
    if ct.kind == "list" and ct.parts[0].kind == "cstr":
        free_all = "for (size_t i = 0; i < r.len; i++) { out.emplace_back(r.ptr[i]); free(r.ptr[i]); }"
        return "std::vector<std::string>", [
            f"auto r = {call};",
            "std::vector<std::string> out;",
            free_all,
            "free(r.ptr);",
            "return out;",
        ]
    if ct.kind == "list" and _simple(ct.parts[0]):
        vector = f"std::vector<{ct.parts[0].c}>"
        return vector, [
            f"auto r = {call};",
            f"{vector} out(r.ptr, r.ptr + r.len);",
            "free(r.ptr);",
            "return out;",
        ]
    return ct.c, [f"return {call};"]


def namespace(module: str, iface: wit.Interface, spell: c_imports.Spelling) -> str:
    """`namespace module { ... }`: its types by C++ names and a wrapper for each function of the header."""
    body = [f"using {pascal_name(t.name)} = {spell.made[t].c};" for t in iface.types() if t in spell.made]
    for fn in iface.functions:
        try:
            params = [(c_imports.c_ident(n), spell.ctype(t)) for n, t in fn.params]
            result = spell.ctype(fn.result) if fn.result is not None else None
        except c_imports.Unsupported:
            continue  # left out of the header too, which says why
        decls, prep, args = [], [], []
        for name, ct in params:
            decl, before, passed = _param(name, ct)
            decls.append(decl)
            prep += before
            args += passed
        c_name = f"{module}_{c_imports.c_ident(fn.name)}"
        ret, tail = _result(result, f"::{c_name}({', '.join(args)})")
        lines = "\n    ".join(prep + tail)
        body.append(f"inline {ret} {c_imports.c_ident(fn.name)}({', '.join(decls)}) {{\n    {lines}\n}}")
    return f"namespace {module} {{\n" + "\n".join(body) + f"\n}}  // namespace {module}\n"


def header(module: str, iface: wit.Interface) -> str:
    spell = c_imports.Spelling(module)
    text = c_imports.header(module, iface, CppEmitter(prefix=f"asterai_{module}_"), spell)
    end = text.rindex("#endif")
    return text[:end] + namespace(module, iface, spell) + text[end:]
