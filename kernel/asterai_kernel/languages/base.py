"""The interface every guest language implements: signatures -> WIT, glue + build, error mapping, set-up."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .. import wit
from ..build import sources
from ..errors import CompileError
from ..names import pascal_name
from ..toolchains import Requirements
from ..wit import Interface

Progress = Callable[[str], None]
# What guests print when an allocation fails (Rust's alloc error handler, C's malloc users, Python, JS).
OUT_OF_MEMORY = re.compile(r"memory allocation of \d+ bytes failed|out of memory|MemoryError", re.I)


@dataclass
class BuildJob:
    """What a language needs to turn a cell into a component."""

    component: str  # the session name, e.g. "rust_1"
    source: str  # the cell body, without the magic line (its line 1 is the cell's line 2)
    iface: Interface
    workdir: Path
    opt: str = "2"
    progress: Progress = field(default=lambda msg: None)
    # Language-specific build options from the magic (e.g. {"pip": [...]}, {"npm": [...]}); in the cache key.
    options: dict = field(default_factory=dict)
    # `--use`: provider component name -> its interface, importable in the cell under that name.
    uses: dict[str, Interface] = field(default_factory=dict)
    # `--exports`: interfaces declared in `wit` cells that the cell implements, exported under their names.
    exports: tuple[Interface, ...] = ()


class Unsupported(Exception):
    """A guest-language type with no WIT equivalent (yet)."""


def used_type(iface: Interface, module: str, name: str, sep: str = ".") -> wit.WitType:
    """`geo.Point` in a cell that uses component `geo`: that type of geo's interface, as the cell's own
    interface takes it (wit.foreign: WIT `use geo.{point}`). `sep` is how the cell's language qualifies
    (`geo::Point` in Rust)."""
    found = {pascal_name(t.name): t for t in iface.types()}
    if name not in found:
        have = ", ".join(f"{module}{sep}{n}" for n in found) or "none"
        raise Unsupported(f"`{module}{sep}{name}` ({module}'s exports use no such type; they use: {have})")
    refuse_held_resource(found[name], module, name, sep)
    return wit.foreign(found[name], iface.name)


def refuse_held_resource(ty: wit.WitType, module: str, name: str, sep: str = ".") -> None:
    """A provider's type `module.name` in the cell's own exports: refused if it is or holds a resource (the
    cell's component would have to re-export the provider's handles)."""
    held = [t.name for t in ty.named_types() if isinstance(t, wit.Resource)]
    if held:
        why = f"it is or holds {module}'s resource `{held[0]}`, which this cell can make and use inside its"
        raise Unsupported(f"`{module}{sep}{name}` ({why} functions but not yet take or return)")


def check_unique_wit_names(items) -> None:
    """Functions and types of a cell share one WIT scope: refuse two that map to the same WIT name.

    `items` are (WIT name, how the cell spells it) pairs, e.g. ("word-count", "`pub fn word_count`").
    """
    seen: dict[str, str] = {}
    for name, label in items:
        if name in seen:
            raise CompileError(f"{seen[name]} and {label} both become the WIT name `{name}`; rename one.")
        seen[name] = label


class Interpreter(ABC):
    """One shared interpreter component that runs many cells of a language (interpreted.py).

    The runner (`interpreted.RUNNER_WIT`) is built once per toolchain; each cell instantiates it in a Store
    of its own and `load`s its glue, the cell's code plus converters between the cell's values and the
    plain data of plain.py. Magic to callable is then the glue, an instantiation and the load.
    """

    # Whether the runner imports the kernel's `host` interface (interpreted.HOST_WIT): its cells can then use
    # other components (`--use`), through decode_args and encode_answer.
    host_calls: bool = False

    @abstractmethod
    def runner(self, progress: Progress) -> Path:
        """The runner component's file, built into the cache once per toolchain (with progress)."""

    @abstractmethod
    def why_not(self, job: BuildJob) -> str | None:
        """None when this cell can run on the runner; else why it needs a component of its own."""

    @abstractmethod
    def glue(self, job: BuildJob) -> str:
        """The text the runner's `load` takes for this cell."""

    def mounts(self, job: BuildJob) -> list[tuple[Path, str]]:
        """Folders the cell's instance reads besides its grants, read-only: (host folder, guest path)
        (e.g. the cell's `--pip` packages). Components with mounts do not travel to Dask workers."""
        return []

    @abstractmethod
    def encode_args(self, fn: wit.Function, args: list) -> str:
        """A call's checked arguments, as plain data (plain.dumper: numpy arrays are raw bytes by then),
        as the runner's `call` takes them."""

    @abstractmethod
    def decode_result(self, fn: wit.Function, text: str):
        """What the runner's `call` returned, as plain data (plain.py's result shapes)."""

    def decode_args(self, text: str) -> list:
        """The arguments a cell sent through `host.call`, as plain data (plain.py's result shapes: the host
        trusts them no more than a result); raises ValueError for text that holds no values."""
        raise NotImplementedError(f"{type(self).__name__} makes no host calls")

    def encode_answer(self, value, refused: tuple[str, str] | None) -> str:
        """What `host.call` returns: the provider's result as plain data (plain.dumper's shapes), or why its
        arguments were refused (an exception's type name and message), for the glue to raise."""
        raise NotImplementedError(f"{type(self).__name__} makes no host calls")


class Language(ABC):
    name: str
    aliases: tuple[str, ...] = ()
    # Whether the glue also exports wit.bulk_interface (numeric lists as one string block).
    bulk_twins: bool = False
    # Whether cells can import other components' exports (`--use`), resources included (the glue spells
    # abi.Handle: a provider's object the cell holds).
    supports_use: bool = False
    # Whether the glue can also export interfaces declared in `wit` cells (`--exports`).
    supports_exports: bool = False
    # One integer type (Python's int, WIT s64) that may implement any width an `--exports` interface declares.
    one_int_type: bool = False
    # Build options only this language's cells take: option -> (metavar, help). Repeatable; they reach the
    # build as BuildJob.options and enter the cache key.
    cell_options: dict[str, tuple[str, str]] = {}
    # What `asterai setup LANG` installs and the doctor rows (its package's toolchain.py); None for components
    # built elsewhere (loader.Prebuilt). JavaScript shares TypeScript's.
    requirements: Requirements | None = None

    @abstractmethod
    def interface(self, source: str, component: str) -> Interface:
        """Read the cell's exported signatures and derive its WIT interface (raises CompileError)."""

    def interface_using(self, source: str, component: str, uses: dict[str, Interface]) -> Interface:
        """The interface of a cell that imports `uses` (`--use`). Languages whose exports can take and
        return the providers' types (`geo::Point`) override this; by default they cannot."""
        return self.interface(source, component)

    @abstractmethod
    def build(self, job: BuildJob) -> bytes:
        """Generate the glue, compile, and return the component's bytes (raises CompileError)."""

    @abstractmethod
    def toolchain_fingerprint(self, progress: Progress) -> str:
        """Versions of everything the build uses, for the cache key; makes sure the toolchain is ready."""

    def options_key(self, options: dict, progress: Progress) -> object:
        """What of the cell's build options enters its cache key; a language whose options resolve to
        something that can change (`--crate regex` -> regex 1.7.1) adds what they resolved to."""
        return options

    def interpreter(self) -> Interpreter | None:
        """The shared interpreter its cells run on when they can (see Interpreter), or None."""
        return None

    def trap_message(self, stderr_text: str) -> str | None:
        """The guest's own account of a trap (a panic message), read from what it wrote to stderr."""
        return None

    def out_of_memory(self, stderr_text: str) -> bool:
        """Whether a trap came from an allocation the memory limit refused (the guest said so on stderr)."""
        return bool(OUT_OF_MEMORY.search(stderr_text))

    def int_ranges(self) -> dict[str, tuple[int, int, str]]:
        """Integer WIT types whose values this language's guests hold in a narrower range: WIT type ->
        (lo, hi, why); arguments beyond it are refused before the call instead of trapping in the guest."""
        return {}

    def glue_sources(self) -> tuple[str | Path, ...]:
        """Files besides Python modules that generate this language's glue (runtimes, build drivers). The
        plugin's module and every package module it imports are found from its imports."""
        return ()

    def glue_fingerprint(self) -> str:
        """A hash of the plugin's module, the package modules it imports (directly or not) and its glue
        sources: changing any of them invalidates builds."""
        extra = tuple(Path(p) for p in self.glue_sources())
        return sources.module_fingerprint(type(self).__module__, extra)
