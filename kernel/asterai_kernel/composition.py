"""One standalone file of a component and the components it `--use`s (wasm-tools compose), and the lines
that run an exported component in Node.js with jco.

In a session, links are live: a consumer calls its providers' current instances. A composed file instead
carries a copy of each provider inside, instantiated once per instance of the whole, so it runs in any
Component Model host with WASI alone.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import tempfile
from collections.abc import Callable, Hashable
from pathlib import Path

from .errors import AsteraiError
from .toolchains import wasm_tools
from .wit_json import component_exports


def compose(consumer: Path, providers: list[Path]) -> bytes:
    """`consumer` with each of its imports that a provider exports filled by that provider."""
    with tempfile.TemporaryDirectory(prefix="asterai-compose-") as tmp:
        # wasm-tools names each part by its file's stem, and cache entries are all `component.wasm`
        parts = []
        for i, path in enumerate([consumer, *providers]):
            parts.append(Path(tmp) / f"part{i}.wasm")
            parts[-1].symlink_to(path.resolve())
        out = Path(tmp) / "composed.wasm"
        cmd = [str(wasm_tools()), "compose", str(parts[0]), "-o", str(out)]
        for provider in parts[1:]:
            cmd += ["-d", str(provider)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            errors = [line for line in done.stderr.splitlines() if line.startswith("error")]
            raise AsteraiError("wasm-tools compose could not put the providers inside:\n" + "\n".join(errors))
        return out.read_bytes()


def foreign_imports(path: Path) -> list[str]:
    """What a component imports beyond WASI: what a host must supply, or composition must fill."""
    return [i.import_name for i in component_exports(path)[1] if not i.is_wasi]


def standalone(node: Hashable, wasm: Callable[[Hashable], Path], providers: Callable[[Hashable], list],
               made: dict, workdir: Path) -> Path:  # fmt: skip
    """The file of `node` with every provider composed in, providers' own providers first. `providers(node)`
    lists the nodes it uses (raising AsteraiError where one cannot be composed); `made` memoizes files."""
    if node in made:
        return made[node]
    deps = providers(node)
    if not deps:
        made[node] = wasm(node)
        return made[node]
    parts = [standalone(dep, wasm, providers, made, workdir) for dep in deps]
    path = workdir / f"composed-{len(made)}.wasm"
    path.write_bytes(compose(wasm(node), parts))
    made[node] = path
    return path


def js_name(wit_name: str) -> str:
    """jco's name for a WIT interface or function: lowerCamelCase (`word-count` -> `wordCount`)."""
    head, *rest = wit_name.lstrip("%").split("-")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


# Sample arguments for the printed Node call, as jco takes them (64-bit integers are BigInts).
_SAMPLES = {"string": '"hello world"', "bool": "true", "f32": "1.5", "f64": "1.5", "char": '"a"',
            "u64": "1n", "s64": "1n"}  # fmt: skip
_INTS = re.compile(r"[su](8|16|32)")


def node_flags(wasm: Path) -> list[str]:
    """The Node.js options a component needs: componentize-py's output uses extended constant expressions,
    which Node 20's V8 runs only when asked (wasm-tools finds them by validating without the feature)."""
    done = subprocess.run([str(wasm_tools()), "validate", "--features=-extended-const", str(wasm)],
                          capture_output=True, text=True)  # fmt: skip
    return ["--experimental-wasm-extended-const"] if "constant expression" in done.stderr else []


def node_lines(wasm: Path, iface: str, fn_name: str | None, params: list[str]) -> list[str]:
    """The two commands that run `wasm` in Node.js: transpile with jco, then call one export. `params` are
    the WIT types of `fn_name`'s parameters: a call with sample values when they are simple, else a list
    of the exports."""
    out = wasm.with_name(f"{wasm.stem}-js")
    module = js_name(iface)
    samples = [_SAMPLES.get(p) or ("1" if _INTS.fullmatch(p) else None) for p in params]
    if fn_name is not None and all(samples):
        show = f"{module}.{js_name(fn_name)}({', '.join(samples)})"
    else:
        show = f"Object.keys({module})"
    snippet = f"import {{ {module} }} from {json.dumps(f'{out}/{wasm.stem}.js')}; console.log({show})"
    transpile = ["npx", "@bytecodealliance/jco", "transpile", str(wasm), "-o", str(out)]
    node = ["node", *node_flags(wasm), "--input-type=module", "-e", snippet]
    return [shlex.join(transpile), shlex.join(node)]
