"""What a component may touch and how far it may go: deny by default, grant by option.

The same keywords serve the cell options (`--allow-read data:/data --timeout 2`), `handle.regrant(...)` and
the grants widget, so there is one parser and one validator.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import wasmtime
from wasmtime import _ffi as ffi

from .errors import AsteraiError

# A memory bomb stops here unless the cell asks for more with --max-memory (per component).
DEFAULT_MAX_MEMORY = 512 << 20
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 10**3, "kib": 1 << 10, "m": 1 << 20, "mb": 10**6, "mib": 1 << 20}
_UNITS |= {"g": 1 << 30, "gb": 10**9, "gib": 1 << 30}


def size_in_bytes(text: str | int, option: str) -> int:
    """`64MiB`, `1GiB`, `512MB`, `1048576` -> bytes; an error names `option`."""
    if isinstance(text, int):
        return text
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(text))
    if not m or m.group(2).lower() not in _UNITS:
        raise AsteraiError(f"{option} {text!r}: write a size such as 64MiB, 1GiB or 500MB")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def parse_size(text: str | int) -> int:
    """--max-memory's size in bytes: at least one WebAssembly page."""
    size = size_in_bytes(text, "--max-memory")
    if size < 1 << 16:
        raise AsteraiError(f"--max-memory {text!r} is below one WebAssembly page (64KiB)")
    return size


def format_size(size: int) -> str:
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return f"{size}B"


def _dir_grant(spec: str, option: str) -> tuple[str, str]:
    """`HOST[:GUEST]` -> (absolute host dir, guest path); the guest path defaults to HOST as written."""
    host, _, guest = str(spec).partition(":")
    if not host:
        raise AsteraiError(
            f"{option} {spec!r}: give a host directory, e.g. {option} data or {option} data:/data"
        )
    path = Path(host).expanduser().resolve()
    if not path.is_dir():
        what = "is a file; grant the directory that holds it" if path.exists() else "does not exist"
        raise AsteraiError(f"{option} {spec!r}: {path} {what}")
    return str(path), guest or host


ANY_HOST = "*"
_HOST = re.compile(r"(\*\.)?[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*|\[[0-9A-Fa-f:.]+\]|\*")


def _net_grants(allow_net) -> tuple[str, ...]:
    """`--allow-net` (True: any host) or `--allow-host HOST[:PORT]` (repeatable, or comma-separated)."""
    if allow_net is True:
        return (ANY_HOST,)
    if not allow_net:
        return ()
    specs = [allow_net] if isinstance(allow_net, str) else list(allow_net)
    patterns = [p.strip() for spec in specs for p in str(spec).split(",") if p.strip()]
    for pattern in patterns:
        host, port = _split_host_port(pattern)
        if not _HOST.fullmatch(host) or not (port is None or 0 < port < 65536):
            raise AsteraiError(
                f"--allow-host {pattern!r}: write a host, optionally with a port: --allow-host example.org, "
                "--allow-host 127.0.0.1:8080, --allow-host '*.example.org'; or --allow-net for any host"
            )
    return (ANY_HOST,) if ANY_HOST in patterns else tuple(dict.fromkeys(patterns))


def _split_host_port(pattern: str) -> tuple[str, int | None]:
    """`host`, `host:443`, `[::1]:8080` -> (host, port or None); a malformed port gives -1."""
    if pattern.startswith("["):
        host, _, rest = pattern.partition("]")
        host, port = host + "]", rest.removeprefix(":") if rest.startswith(":") else (rest or None)
    else:
        host, colon, port = pattern.partition(":")
        port = port if colon else None
    if port is None:
        return host, None
    return host, int(port) if port.isdigit() else -1


def net_allows(patterns: tuple[str, ...], host: str, port: int) -> bool:
    """Whether a connection to host:port is granted (names are matched as written, case-insensitively)."""
    host = host.lower().strip("[]")
    for pattern in patterns:
        if pattern == ANY_HOST:
            return True
        want, want_port = _split_host_port(pattern.lower())
        want = want.strip("[]")
        if want_port is not None and want_port != port:
            continue
        if want == host or (want.startswith("*.") and host.endswith(want[1:])):
            return True
    return False


def _env_grant(spec: str) -> tuple[str, str]:
    name, eq, value = str(spec).partition("=")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise AsteraiError(f"--env {spec!r}: write --env NAME (the host's value) or --env NAME=VALUE")
    if not eq:
        if name not in os.environ:
            raise AsteraiError(f"--env {name}: the host has no variable {name}; write --env {name}=VALUE")
        value = os.environ[name]
    return name, value


@dataclass(frozen=True)
class Grants:
    """A component's capabilities and limits. Empty means: no files, no environment, no network."""

    read: tuple[tuple[str, str], ...] = ()  # (host dir, guest path), read-only
    write: tuple[tuple[str, str], ...] = ()  # (host dir, guest path), read-write
    env: tuple[tuple[str, str], ...] = ()
    net: tuple[str, ...] = ()  # host patterns ("*" = any) reachable through the `net` provider
    timeout: float | None = None  # seconds per call
    fuel: int | None = None  # fuel per call
    max_memory: int = DEFAULT_MAX_MEMORY

    @classmethod
    def parse(cls, allow_read=(), allow_write=(), env=(), allow_net=False, timeout=None, fuel=None,
              max_memory=None) -> Grants:  # fmt: skip
        """From the cell options' spelling (the same keywords as `regrant`)."""
        return cls(
            read=tuple(_dir_grant(s, "--allow-read") for s in allow_read or ()),
            write=tuple(_dir_grant(s, "--allow-write") for s in allow_write or ()),
            env=tuple(_env_grant(s) for s in env or ()),
            net=_net_grants(allow_net),
            timeout=_positive(timeout, float, "--timeout", "seconds, e.g. --timeout 2.5"),
            fuel=_positive(fuel, int, "--fuel", "units of fuel, e.g. --fuel 1000000"),
            max_memory=DEFAULT_MAX_MEMORY if max_memory is None else parse_size(max_memory),
        )

    def options(self) -> dict:
        """These grants in the keywords of `parse`, so `parse(**g.options())` gives them back."""
        return {
            "allow_read": [f"{h}:{g}" for h, g in self.read],
            "allow_write": [f"{h}:{g}" for h, g in self.write],
            "env": [f"{n}={v}" for n, v in self.env],
            "allow_net": list(self.net),
            "timeout": self.timeout,
            "fuel": self.fuel,
            "max_memory": format_size(self.max_memory),
        }

    def updated(self, **changes) -> Grants:
        """New grants with some keywords changed (`allow_read=[...]`, `timeout=None`, ...)."""
        unknown = set(changes) - set(KEYWORDS)
        if unknown:
            raise TypeError(f"unknown grant(s) {', '.join(sorted(unknown))}; use: {', '.join(KEYWORDS)}")
        return Grants.parse(**{**self.options(), **changes})

    def summary(self) -> str:
        parts = [f"read {g}" for _, g in self.read] + [f"write {g}" for _, g in self.write]
        parts += [f"env {n}" for n, _ in self.env] + ([f"net {', '.join(self.net)}"] if self.net else [])
        parts += [f"timeout {self.timeout:g}s"] if self.timeout else []
        parts += [f"fuel {self.fuel:,}"] if self.fuel else []
        if self.max_memory != DEFAULT_MAX_MEMORY:
            parts.append(f"memory {format_size(self.max_memory)}")
        return ", ".join(parts) or "none"

    def wasi_config(self) -> wasmtime.WasiConfig:
        """The WASI view of these grants (output callbacks are the caller's to set)."""
        wasi = wasmtime.WasiConfig()
        for host, guest in self.read:
            wasi.preopen_dir(host, guest, fs_mutable=False)
        for host, guest in self.write:
            wasi.preopen_dir(host, guest, fs_mutable=True)
        if self.env:
            wasi.env = [list(p) for p in self.env]
        if self.net == (ANY_HOST,):
            # wasi:sockets, all or nothing (no allow-list in the C API). With wasmtime-py 50 this opens only
            # the address check: creating a TCP/UDP socket stays refused, so guests reach the network
            # through the `net` provider (net.py), which also honours a host allow-list.
            ffi.wasi_config_inherit_network(wasi.ptr())
            ffi.wasi_config_allow_ip_name_lookup(wasi.ptr(), True)
        return wasi


KEYWORDS = ("allow_read", "allow_write", "env", "allow_net", "timeout", "fuel", "max_memory")


def _positive(value, kind, option: str, hint: str):
    if value is None:
        return None
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise AsteraiError(f"{option} {value!r}: write a positive number of {hint}") from None
    if not number > 0 or (isinstance(number, float) and math.isinf(number)):
        raise AsteraiError(f"{option} {value!r}: write a positive number of {hint}")
    return number
