"""The Python toolchain: componentize-py from PyPI, which carries its own CPython for the components."""

from __future__ import annotations

import functools
import mmap
import re
from dataclasses import dataclass
from pathlib import Path

from ...errors import ToolchainMissing
from ...toolchains import Requirements, Row, dist_version, find_executable

GUEST_PYTHON = "3.14"  # the CPython inside componentize-py 0.25; guest_python() reads the installed one
INSTALL = "pip install componentize-py"


@dataclass(frozen=True)
class PythonToolchain:
    componentize_py: Path
    version: str
    guest_python: str  # the CPython version inside the components (decides which wheels --pip may bundle)

    @property
    def fingerprint(self) -> str:
        return f"componentize-py {self.version}"


@functools.cache
def _guest_python(version: str) -> str:
    """The CPython version componentize-py bundles, read from the libpython its extension embeds."""
    try:
        import componentize_py

        for lib in Path(componentize_py.__file__).parent.glob("componentize_py*.so"):
            with open(lib, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
                found = re.search(rb"libpython(3\.\d+)\.so", m)
                if found:
                    return found.group(1).decode()
    except (ImportError, OSError, ValueError):
        pass
    return GUEST_PYTHON


def python_toolchain() -> PythonToolchain:
    exe = find_executable("componentize-py")
    version = dist_version("componentize-py")
    if exe is None or not version:
        raise ToolchainMissing(
            "Python cells need componentize-py, which is not installed. Install it with:\n    " + INSTALL
        )
    return PythonToolchain(exe, version, _guest_python(version))


def rows() -> list[Row]:
    exe = find_executable("componentize-py")
    version = dist_version("componentize-py")
    return [Row("componentize-py", bool(exe), version, str(exe or ""), INSTALL, "python")]


def _prepare_runner(progress) -> None:
    """After componentize-py: the shared interpreter Python cells run on (interpreter.py), built now."""
    from ... import interpreted
    from .interpreter import INTERPRETER

    interpreted.prepare(INTERPRETER, progress)


REQUIREMENTS = Requirements("python", INSTALL, rows, pip=("componentize-py",), finish=_prepare_runner)
