"""What travels to a Dask worker for `asterai_kernel.map`, and how a worker rebuilds it.

A component travels as its bytes, its WIT interface, its grants and limits, and the same for each component
it `--use`s; never a Store, which belongs to one process and its Engine. A worker rebuilds it with the
kernel's own code paths: `Session.install` (the Engine configuration of engine.py, and the machine code
cached by the component's hash, the wasmtime version and that configuration), links.py for `--use`,
sandbox.py for the grants. Each worker keeps what it built and re-installs only when the shipment changes.
"""

from __future__ import annotations

import os
import weakref
from dataclasses import dataclass, field

from . import interpreted, net, wit
from .build import cache
from .build.cache import BuildResult
from .errors import AsteraiError
from .hostfns import PROVIDERS, provide
from .languages.base import Language
from .sandbox import Grants
from .session import file_digest


@dataclass(frozen=True)
class Shipment:
    name: str
    language: Language  # how its traps and out-of-memory read (trap_message, out_of_memory, int ranges)
    iface: wit.Interface
    wasm: bytes = field(repr=False)
    digest: str  # sha256 of wasm
    grants: Grants  # as resolved on the client: a read grant names a path on the worker
    uses: dict[str, wit.Interface]  # `--use`: provider -> the interface it was built against
    export_paths: dict
    providers: tuple[Shipment, ...]  # the components it uses, each with its own
    # `@provide` functions it uses, by provider; `net` is not shipped: every Session has its own.
    host: dict[str, tuple] = field(repr=False)
    key: str  # everything but the host functions, which are looked up by name on every call
    glue: str | None = (
        None  # a cell on a shared interpreter: `wasm` is the runner, this its cell (interpreted.py)
    )


def pack(live, progress=lambda msg: None) -> Shipment:
    """The shipment of a live component (LiveComponent.shipment); a cell on a shared interpreter travels as
    its runner (sent once per worker for all such cells) and its glue."""
    providers, host = [], {}
    if live.foreign:
        names = ", ".join(b.label for b in live.foreign)
        raise AsteraiError(f"{live.name} imports {names}, provided in this notebook only: components with "
                           "foreign imports do not scale out yet")  # fmt: skip
    for name in live.uses:
        provider = live.session.components.get(name)
        if provider is not None and provider.store is not None:
            providers.append(pack(provider, progress))
        elif provider is None and name in PROVIDERS:
            if name != net.PROVIDER:
                host[name] = tuple(h.call for h in PROVIDERS[name].functions.values())
        else:
            raise AsteraiError(f"{live.name} uses {name}, which is not available (removed or down); "
                               f"re-run the cell of {name}")  # fmt: skip
    path, glue = live.shipped_code(progress)
    wasm, digest = path.read_bytes(), file_digest(path)
    key = cache.content_key("shipment", live.name, live.language.name, digest, repr(live.iface),
                            repr(live.grants), repr(live.uses), live.export_paths,
                            [p.key for p in providers], glue)  # fmt: skip
    return Shipment(live.name, live.language, live.iface, wasm, digest, live.grants, dict(live.uses),
                    dict(live.export_paths), tuple(providers), host, key, glue)  # fmt: skip


# What each session installed from shipments: component name -> shipment key.
_installed: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def install(session, shipment: Shipment):
    """The shipped component live in `session` (a worker's), with its providers; built only when new."""
    for provider in shipment.providers:
        install(session, provider)
    for name, functions in shipment.host.items():
        for function in functions:
            provide(name)(function)
    keys = _installed.setdefault(session, {})
    live = session.components.get(shipment.name)
    if live is not None and live.store is not None and keys.get(shipment.name) == shipment.key:
        return live
    _check_grants(shipment)
    path = cache.entry_dir("shipped", shipment.digest[:32]) / "component.wasm"
    if not path.exists():
        cache.write_atomic(path, shipment.wasm)
    if shipment.glue is not None:
        live = interpreted.start(session, shipment.name, shipment.language, shipment.iface,
                                 shipment.glue, path, shipment.grants, uses=shipment.uses)  # fmt: skip
    else:
        live = session.install(shipment.name, shipment.language, shipment.iface, BuildResult(path, 0.0, True),
                               shipment.grants, shipment.uses, shipment.export_paths)  # fmt: skip
    keys[shipment.name] = shipment.key
    return live


def _check_grants(shipment: Shipment) -> None:
    """A granted directory must exist where the component runs: grants name paths on the worker."""
    for host, guest in (*shipment.grants.read, *shipment.grants.write):
        if not os.path.isdir(host):
            raise AsteraiError(f"{shipment.name} is granted the directory {host} (as {guest}), which this "
                               "worker does not have: grants name paths on the worker")  # fmt: skip
