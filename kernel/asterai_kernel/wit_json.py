"""Reading WIT written elsewhere: a component's own types, via `wasm-tools component wit --json`.

wasm-tools (from PyPI) does the parsing; this module only maps its JSON resolve onto the kernel's WIT model
(wit.py), so a component built by any toolchain can be loaded and called through the same value layer.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import wit
from .errors import AsteraiError
from .toolchains import wasm_tools

_PRIMS = {"bool", "s8", "u8", "s16", "u16", "s32", "u32", "s64", "u64", "f32", "f64", "char"}
WASI_PREFIXES = ("wasi:",)


@dataclass
class ImportedInterface:
    """What a component imports under one name: `ns:pkg/iface@ver`, the bare name of an interface declared
    inline in its world (`import imports: interface {..}`), or WORLD for functions the world imports."""

    import_name: str
    iface: wit.Interface
    resources: tuple[str, ...] = ()  # resource types the interface defines (the importer uses them)

    @property
    def is_wasi(self) -> bool:
        return self.import_name.startswith(WASI_PREFIXES)


WORLD = ""  # the import name of world-level function imports (`import f: func(..)`)


@dataclass
class ExportedInterface:
    export_name: str | None  # "ns:pkg/iface@ver", or None for functions exported by the world itself
    iface: wit.Interface


def resolve_of(path: Path) -> dict:
    proc = subprocess.run([str(wasm_tools()), "component", "wit", "--json", str(path)], capture_output=True,
                          text=True)  # fmt: skip
    if proc.returncode != 0:
        raise AsteraiError(
            f"{path} is not a WebAssembly component wasm-tools can read:\n{proc.stderr.strip()}"
        )
    return json.loads(proc.stdout)


class _Reader:
    def __init__(self, resolve: dict):
        self.r = resolve

    def type(self, ref) -> wit.WitType | None:
        if ref is None:
            return None
        if isinstance(ref, str):
            if ref in _PRIMS:
                return wit.Prim(ref)
            if ref == "string":
                return wit.String()
            raise AsteraiError(f"WIT type {ref!r} cannot cross yet")
        t = self.r["types"][ref]
        kind, name = t["kind"], t.get("name")
        if kind == "resource":
            return wit.Resource(name)
        if isinstance(kind, str):
            raise AsteraiError(f"WIT {kind} types ({name}) cannot cross yet")
        ((tag, body),) = kind.items()
        if tag == "handle":
            ((how, target),) = body.items()
            return wit.Handle(self.type(target), how == "own")
        if tag == "type":
            return self.type(body)
        if tag == "list":
            return wit.List(self.type(body))
        if tag == "option":
            return wit.Option(self.type(body))
        if tag == "result":
            return wit.Result(self.type(body.get("ok")), self.type(body.get("err")))
        if tag == "tuple":
            return wit.Tuple(tuple(self.type(x) for x in body["types"]))
        if tag == "record":
            return wit.Record(name, tuple((f["name"], self.type(f["type"])) for f in body["fields"]))
        if tag == "flags":
            return wit.Flags(name, tuple(f["name"] for f in body["flags"]))
        if tag == "enum":
            return wit.Enum(name, tuple(c["name"] for c in body["cases"]))
        if tag == "variant":
            return wit.Variant(name, tuple((c["name"], self.type(c.get("type"))) for c in body["cases"]))
        raise AsteraiError(f"WIT {tag} types ({name}) cannot cross yet")

    def function(self, f: dict) -> wit.Function:
        params = tuple((p["name"], self.type(p["type"])) for p in f["params"])
        return wit.Function(
            f["name"], params, self.type(f.get("result")), docs=(f.get("docs") or {}).get("contents") or ""
        )

    def interface_name(self, idx: int) -> str:
        i = self.r["interfaces"][idx]
        pkg = self.r["packages"][i["package"]]["name"]
        ns, _, rest = pkg.partition(":")
        name, _, version = rest.partition("@")
        return f"{ns}:{name}/{i['name']}" + (f"@{version}" if version else "")

    def exports(self, world: dict) -> list[ExportedInterface]:
        found, loose = [], []
        for key, item in world["exports"].items():
            if "interface" in item:
                idx = item["interface"]["id"]
                i = self.r["interfaces"][idx]
                fns = tuple(self.function(f) for f in i["functions"].values())  # resources' functions too
                found.append(
                    ExportedInterface(self.import_name(key, idx), wit.Interface(i["name"] or key, fns))
                )
            elif "function" in item:
                loose.append(self.function(item["function"]))
        if loose:
            found.append(ExportedInterface(None, wit.Interface("root", tuple(loose))))
        return found

    def import_name(self, key: str, idx: int) -> str:
        """An interface import's name: qualified for a package's interface, the world's key for one declared
        inline in the world (it has no name of its own)."""
        return self.interface_name(idx) if self.r["interfaces"][idx]["name"] else key

    def imports(self, world: dict) -> list[ImportedInterface]:
        found, loose = [], []
        for key, item in world["imports"].items():
            if "interface" in item:
                idx = item["interface"]["id"]
                name = self.import_name(key, idx)
                i = self.r["interfaces"][idx]
                wasi = name.startswith(WASI_PREFIXES)
                fns = () if wasi else tuple(self.function(f) for f in i["functions"].values())
                package = name.partition("/")[0] if "/" in name else "root:component"
                iface = wit.Interface(i["name"] or key, fns, package=package)
                kinds = {n: self.r["types"][t]["kind"] for n, t in i["types"].items()}
                own = () if wasi else tuple(n for n, k in kinds.items() if k == "resource")
                found.append(ImportedInterface(name, iface, own))
            elif "function" in item:
                loose.append(self.function(item["function"]))
        if loose:
            found.append(ImportedInterface(WORLD, wit.Interface("root", tuple(loose))))
        return found


def component_exports(path: Path) -> tuple[list[ExportedInterface], list[ImportedInterface]]:
    """The interfaces a component exports and those it imports, with their WIT types."""
    resolve = resolve_of(path)
    world = resolve["worlds"][-1]
    reader = _Reader(resolve)
    return reader.exports(world), reader.imports(world)


def declare(text: str) -> list[wit.Interface]:
    """The interfaces of a `%%asterai wit` cell's package, checked by wasm-tools."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "cell.wit").write_text(text)
        proc = subprocess.run([str(wasm_tools()), "component", "wit", "--json", tmp], capture_output=True,
                              text=True)  # fmt: skip
    if proc.returncode != 0:
        raise AsteraiError(f"this WIT does not parse:\n{proc.stderr.strip().replace(tmp, '')}")
    resolve = json.loads(proc.stdout)
    reader = _Reader(resolve)
    main = resolve["packages"][-1]
    found = []
    for name, idx in main["interfaces"].items():
        i = resolve["interfaces"][idx]
        fns = tuple(reader.function(f) for f in i["functions"].values() if f["kind"] == "freestanding")
        found.append(wit.Interface(name, fns, package=main["name"]))
    if not found:
        raise AsteraiError(
            "this WIT cell declares no interface; write e.g. `package demo:math; interface calc { ... }`"
        )
    return found


def find_declared(declarations: dict[str, wit.Interface], name: str) -> wit.Interface:
    """A declared interface by `ns:pkg/iface` or by its bare name when that is unambiguous (`--exports`)."""
    if name in declarations:
        return declarations[name]
    matches = [i for q, i in declarations.items() if i.name == name or q.split("@")[0] == name]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(declarations) or "none: declare one in a %%asterai wit cell"
    what = "is ambiguous" if matches else "is not declared"
    raise AsteraiError(f"--exports {name} {what} (declared interfaces: {known})")
