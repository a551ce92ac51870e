"""The `net` provider: network access for components, checked against the calling component's grants.

A cell with `--use net` calls `net.http_get(url)` (Rust `net::http_get(..)`, TS `import { httpGet } from
"net"`) and the kernel makes the connection. Why not the guest's own sockets: wasmtime-py 50's C API can
open wasi:sockets' address check (`wasi_config_inherit_network`) but offers no way to allow TCP or UDP, so
a guest's `socket()` is refused whatever the grant (measured: EACCES, no socket syscall). Going through
the host also gives what wasi:sockets here cannot: a per-host allow-list (`--allow-host HOST[:PORT]`),
checked on every connection, with redirects not followed so they cannot lead elsewhere.

Called from the notebook's own Python (no calling component) these functions are not restricted.
"""

from __future__ import annotations

import http.client
import socket
import urllib.parse
from dataclasses import dataclass

from .hostfns import Result, caller, provide
from .sandbox import net_allows

PROVIDER = "net"
DEFAULT_TIMEOUT = 30.0  # seconds per connection when the caller has no --timeout
MAX_BODY = 64 << 20  # a response larger than this is cut off with an error


class NetworkNotGranted(PermissionError):
    pass


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def http_get(url: str) -> Result[str, str]:
    """GET an http(s) URL and return the body as text; err if refused, unreachable, redirected or >= 400."""
    response = http_request("GET", url, [], b"")
    if 300 <= response.status < 400:
        location = next((v for k, v in response.headers if k.lower() == "location"), "?")
        raise ConnectionError(f"HTTP {response.status} from {url}: redirects are not followed ({location})")
    if response.status >= 400:
        raise ConnectionError(f"HTTP {response.status} from {url}")
    charset = next((v.split("charset=")[1] for k, v in response.headers
                    if k.lower() == "content-type" and "charset=" in v), "utf-8")  # fmt: skip
    return response.body.decode(charset.strip('"; '), errors="replace")


def http_request(
    method: str, url: str, headers: list[tuple[str, str]], body: bytes
) -> Result[HttpResponse, str]:
    """Send an HTTP request; returns status, headers and body (redirects are returned, not followed)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http:// or https:// URL")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    timeout = _checked(parts.hostname, port)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = kind(parts.hostname, port, timeout=timeout)
    try:
        conn.request(method.upper(), urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, "")),
                     body=body or None, headers=dict(headers))  # fmt: skip
        response = conn.getresponse()
        data = response.read(MAX_BODY + 1)
        if len(data) > MAX_BODY:
            raise ValueError(f"the response from {url} is larger than {MAX_BODY >> 20} MiB")
        return HttpResponse(response.status, list(response.getheaders()), data)
    finally:
        conn.close()


def tcp_exchange(host: str, port: int, data: bytes) -> Result[bytes, str]:
    """Connect to host:port, send data, close the sending side and return all the server sends back."""
    timeout = _checked(host, port)
    with socket.create_connection((host, port), timeout=timeout) as conn:
        conn.sendall(data)
        conn.shutdown(socket.SHUT_WR)
        chunks, size = [], 0
        while chunk := conn.recv(1 << 16):
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_BODY:
                raise ValueError(f"{host}:{port} sent more than {MAX_BODY >> 20} MiB")
        return b"".join(chunks)


def register() -> None:
    """Offer these functions to components as the provider `net` (`--use net`)."""
    for function in (http_get, http_request, tcp_exchange):
        provide(PROVIDER)(function)


def _checked(host: str, port: int) -> float:
    """Refuse a host the calling component was not granted; returns the timeout for the connection."""
    who = caller()
    if who is None:  # called from the notebook's Python
        return DEFAULT_TIMEOUT
    grants = who.grants
    if grants is None or not net_allows(grants.net, host, port):
        granted = ", ".join(grants.net) if grants is not None and grants.net else "no network"
        raise NetworkNotGranted(
            f"{who.name} may not connect to {host}:{port} (granted: {granted}); re-run its cell with "
            f"--allow-host {host} (or --allow-net for any host), or regrant it"
        )
    return min(grants.timeout or DEFAULT_TIMEOUT, DEFAULT_TIMEOUT)
