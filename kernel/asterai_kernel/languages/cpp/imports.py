"""The import side of C++ glue: `--use geo` gives a C++ cell the same `geo.h` as a C cell (c/imports.py, its
functions spelled with C++'s leaves), plus a `namespace geo` of the same functions taking and returning C++'s
own types, which free what the C functions hand over:

    uint32_t n = geo::word_count(text);                        // const std::string & in
    std::vector<std::string> loud = geo::shout({"a", "b"});    // std::vector in and out
    geo::Point p = geo::mid({0, 0}, {4, 2});                   // geo::Point is geo_point

A provider's resource is a move-only class owning its handle (resource_class), as wit-bindgen's C++
generator makes an imported one: `bank::Account a(10); a.deposit(5);` and its destructor drops it in bank.
"""

from __future__ import annotations

from string import Template

from ... import wit
from ...names import pascal_name, snake_name
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


def _class(ct: CType) -> str:
    """The C++ class of a provider's resource whose handle `ct` is (`geo::Account`)."""
    return pascal_name(ct.wit.resource.name)


def _param(name: str, ct: CType) -> tuple[str, list[str], list[str]]:
    """A wrapper parameter: its declaration, statements preparing it, and the C function's arguments."""
    if ct.kind == "handle":  # own: moved in and given away; borrow: lent for the call
        if ct.wit.own:
            return f"{_class(ct)} &&{name}", [], [f"std::move({name}).into_handle()"]
        return f"const {_class(ct)} &{name}", [], [f"{name}.get_handle()"]
    if ct.kind == "list" and ct.parts[0].kind == "handle" and ct.parts[0].wit.own:
        handles = f"{name}_c"
        prep = [
            f"std::vector<{ct.parts[0].c}> {handles};",
            f"for (auto &x : {name}) {handles}.push_back(std::move(x).into_handle());",
        ]
        decl = f"std::vector<{_class(ct.parts[0])}> &&{name}"
        return decl, prep, [f"{handles}.data()", f"{handles}.size()"]
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
    if ct.kind == "handle":
        return _class(ct), [f"return {_class(ct)}({call});"]
    if ct.kind == "list" and ct.parts[0].kind == "handle":
        vector = f"std::vector<{_class(ct.parts[0])}>"
        return vector, [
            f"auto r = {call};",
            f"{vector} out;",
            "out.reserve(r.len);",
            "for (size_t i = 0; i < r.len; i++) out.emplace_back(r.ptr[i]);",
            "free(r.ptr);",
            "return out;",
        ]
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


def _wrapper(module: str, fn: wit.Function, spell: c_imports.Spelling, method: bool = False):
    """A C++ function calling the C one: (its parameters, the C result's type, statements preparing the
    arguments, the C call), or None when the header leaves the C function out. A method's receiver
    (`self`) is the object it is called on."""
    try:
        params = [(c_imports.c_ident(n), spell.ctype(t)) for n, t in fn.params]
        result = spell.ctype(fn.result) if fn.result is not None else None
    except c_imports.Unsupported:
        return None  # the header says why
    decls, prep, args = [], [], ["get_handle()"] if method else []
    for name, ct in params[1:] if method else params:
        decl, before, passed = _param(name, ct)
        decls.append(decl)
        prep += before
        args += passed
    return ", ".join(decls), result, prep, f"::{c_imports.function_name(module, fn)}({', '.join(args)})"


def _body(lines: list[str]) -> str:
    return "{\n    " + "\n    ".join(lines) + "\n}"


def resource_class(module: str, iface: wit.Interface, r: wit.Resource, spell: c_imports.Spelling):
    """A provider's resource as a move-only class owning its handle, as wit-bindgen's C++ generator makes an
    imported resource (its `get_handle`/`into_handle` too): destroying an object gives it back to the
    provider. Methods take `self` borrowed (const), statics are static; an own parameter is `Account &&`
    (moved, given away), a borrowed one `const Account &`. Names stay snake_case, as the header's functions.
    Returns the class and the definitions of its members, which follow every class."""
    cls, own = pascal_name(r.name), c_imports.handle_type(module, r, True)
    decls, defs = [], []
    for fn in iface.functions:
        part = wit.resource_part(fn.name)
        if part is None or part[1] != r.name:
            continue
        kind, _, name = part
        made = _wrapper(module, fn, spell, method=kind == "method")
        if made is None:
            continue
        params, result, prep, call = made
        if kind == "constructor":  # the C constructor's own handle becomes this object's
            decls.append(f"explicit {cls}({params});")  # an object is made where the cell says so
            defs.append(f"inline {cls}::{cls}({params}) {_body([*prep, f'h_ = {call};'])}")
            continue
        ret, tail = _result(result, call)
        lines = prep + tail
        ident = c_imports.c_ident(name)
        static, const = ("static ", "") if kind == "static" else ("", " const")
        decls.append(f"{static}{ret} {ident}({params}){const};")
        defs.append(f"inline {ret} {cls}::{ident}({params}){const} {_body(lines)}")
    doc = "".join(f"/// {line}\n" for line in r.docs.splitlines())
    text = CLASS.substitute(
        cls=cls, own=own, borrow=c_imports.handle_type(module, r, False), module=module,
        stem=snake_name(r.name), members="\n    ".join(decls),
    )  # fmt: skip
    return doc + text, defs


# A resource's class (resource_class): -1 marks an object moved from, which owns no handle.
CLASS = Template("""class $cls {
    $own h_{-1};

  public:
    /// Takes over an own handle a function of $module.h returned.
    explicit $cls($own h) noexcept : h_(h) {}
    $cls($cls &&o) noexcept : h_(o.h_) { o.h_.__handle = -1; }
    $cls &operator=($cls &&o) noexcept {
        if (this != &o) { drop_(); h_ = o.h_; o.h_.__handle = -1; }
        return *this;
    }
    $cls(const $cls &) = delete;
    $cls &operator=(const $cls &) = delete;
    ~$cls() { drop_(); }
    /// The handle, lent: for a function of $module.h taking a borrow.
    $borrow get_handle() const { return ::${module}_borrow_$stem(h_); }
    /// The handle, given away (to a function of $module.h taking an own one): this object is then empty.
    $own into_handle() && { return take_(); }
    $members

  private:
    $own take_() { $own h = h_; h_.__handle = -1; return h; }
    void drop_() noexcept { if (h_.__handle != -1) ::${module}_${stem}_drop_own(take_()); }
};""")


def namespace(module: str, iface: wit.Interface, spell: c_imports.Spelling) -> str:
    """`namespace module { ... }`: its types by C++ names, a class per resource and a wrapper for each
    function of the header."""
    body = [f"using {pascal_name(t.name)} = {spell.made[t].c};" for t in iface.types() if t in spell.made]
    resources = [t for t in iface.types() if isinstance(t, wit.Resource)]
    body += [f"class {pascal_name(t.name)};" for t in resources]
    members = []
    for t in resources:
        cls, defs = resource_class(module, iface, t, spell)
        body.append(cls)
        members += defs
    for fn in wit.plain_functions(iface.functions):
        made = _wrapper(module, fn, spell)
        if made is not None:
            params, result, prep, call = made
            ret, tail = _result(result, call)
            body.append(f"inline {ret} {c_imports.c_ident(fn.name)}({params}) {_body(prep + tail)}")
    body += members
    return f"namespace {module} {{\n" + "\n".join(body) + f"\n}}  // namespace {module}\n"


def header(module: str, iface: wit.Interface) -> str:
    spell = c_imports.Spelling(module)
    text = c_imports.header(module, iface, CppEmitter(prefix=f"asterai_{module}_"), spell)
    end = text.rindex("#endif")
    return text[:end] + namespace(module, iface, spell) + text[end:]
