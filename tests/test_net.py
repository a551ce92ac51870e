"""Network grants: a component reaches a server the test starts on 127.0.0.1 only as far as it was granted."""

from __future__ import annotations

import http.server
import socket
import threading
import time

import pytest

from asterai_kernel import AsteraiError
from asterai_kernel.sandbox import Grants, net_allows


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/away":
            self.send_response(302)
            self.send_header("Location", "http://example.org/")
            self.end_headers()
            return
        body = f"hello from the host server, you asked for {self.path}".encode()
        self.send_response(200 if self.path != "/missing" else 404)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("X-Seen", self.headers.get("X-Probe", "none"))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    echo = socket.create_server(("127.0.0.1", 0))

    def serve_echo():
        while True:
            conn, _ = echo.accept()
            with conn:
                chunks = []
                while chunk := conn.recv(4096):
                    chunks.append(chunk)
                conn.sendall(b"".join(chunks).upper())

    threading.Thread(target=serve_echo, daemon=True).start()
    yield httpd.server_address[1], echo.getsockname()[1]
    httpd.shutdown()
    echo.close()


FETCHER = """
pub fn get(url: String) -> Result<String, String> { net::http_get(&url) }
pub fn status(url: String) -> Result<u16, String> {
    let r = net::http_request("GET", &url, &[("X-Probe".to_string(), "rust".to_string())], &[])?;
    Ok(r.status as u16)
}
pub fn shout(port: u16, text: String) -> Result<String, String> {
    let back = net::tcp_exchange("127.0.0.1", port as i64, text.as_bytes())?;
    Ok(String::from_utf8(back).unwrap())
}
"""


def test_granted_host_is_reachable_through_net(cell, ns, server):
    http_port, echo_port = server
    out = cell("rust fetcher --use net --allow-host 127.0.0.1", FETCHER)
    assert "grants: net 127.0.0.1" in out
    url = f"http://127.0.0.1:{http_port}"
    assert ns["get"](f"{url}/data") == "hello from the host server, you asked for /data"
    assert ns["status"](f"{url}/missing") == 404
    assert ns["shout"](echo_port, "over tcp") == "OVER TCP"
    with pytest.raises(Exception, match="HTTP 404"):
        ns["get"](f"{url}/missing")
    with pytest.raises(Exception, match=r"HTTP 302 .*not followed.*example\.org"):
        ns["get"](f"{url}/away")  # a redirect cannot lead past the allow-list


def test_network_is_denied_by_default_and_by_allow_list(cell, ns, server):
    http_port, echo_port = server
    url = f"http://127.0.0.1:{http_port}/x"
    cell("rust offline --use net", FETCHER)
    handle = ns["offline"]
    with pytest.raises(Exception, match=r"offline may not connect to 127\.0\.0\.1.*no network.*--allow-host"):
        handle.get(url)
    with pytest.raises(Exception, match="may not connect"):
        handle.shout(echo_port, "x")
    handle.regrant(allow_net=[f"127.0.0.1:{echo_port}"])  # this port only
    assert handle.shout(echo_port, "port ok") == "PORT OK"
    with pytest.raises(Exception, match=f"may not connect to 127.0.0.1:{http_port}"):
        handle.get(url)
    handle.regrant(allow_net=["localhost"])  # names are matched as written, not resolved
    with pytest.raises(Exception, match="may not connect"):
        handle.get(url)
    handle.regrant(allow_net=True)
    assert handle.get(url).endswith("/x")
    assert handle.grants.net == ("*",)


def test_interrupt_stops_a_hanging_network_call(cell, ns, server):
    from asterai_kernel.session import get_session

    http_port, _ = server
    silent = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    cell("rust waiter --use net --allow-net", FETCHER)
    get_session().interrupt_soon(after=0.3)
    t0 = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        ns["waiter"].shout(silent.getsockname()[1], "anyone?")
    assert time.perf_counter() - t0 < 25  # the interrupt, not the 30 s socket timeout, ended it
    silent.close()
    assert ns["waiter"].get(f"http://127.0.0.1:{http_port}/again").endswith("/again")


def test_python_guest_uses_net_and_its_own_sockets_stay_closed(cell, ns, server):
    http_port, _ = server
    cell(
        "python pyfetch --use net --allow-net",
        """
import socket
import net

def fetch(url: str) -> str:
    return net.http_get(url)

def raw_socket(port: int) -> str:
    try:
        socket.socket().connect(("127.0.0.1", port))
    except OSError as e:
        return type(e).__name__
    return "connected"
""",
    )
    assert ns["fetch"](f"http://127.0.0.1:{http_port}/py") == "hello from the host server, you asked for /py"
    assert ns["raw_socket"](http_port) == "PermissionError"  # wasi:sockets stays closed (see net.py)


def test_go_guest_uses_net(cell, ns, server):
    http_port, echo_port = server
    cell(
        "go gofetch --use net --allow-host 127.0.0.1",
        """
func Fetch(url string) string {
    body, err := net.HttpGet(url)
    if err != nil {
        return "err: " + err.Error()
    }
    return body
}

func Shout(port int64, text string) string {
    back, err := net.TcpExchange("127.0.0.1", port, []byte(text))
    if err != nil {
        return "err: " + err.Error()
    }
    return string(back)
}
""",
    )
    assert (
        ns["gofetch"].fetch(f"http://127.0.0.1:{http_port}/go")
        == "hello from the host server, you asked for /go"
    )
    assert ns["gofetch"].shout(echo_port, "from go") == "FROM GO"
    ns["gofetch"].regrant(allow_net=["example.org"])
    assert (
        ns["gofetch"]
        .fetch(f"http://127.0.0.1:{http_port}/go")
        .startswith("err: NetworkNotGranted: gofetch may not connect to 127.0.0.1:")
    )


def test_typescript_guest_uses_net(cell, ns, server):
    http_port, _ = server
    cell(
        "typescript tsfetch --use net --allow-host 127.0.0.1",
        """
import { httpGet } from "net";
export function fetchText(url: string): string {
  const r = httpGet(url);
  return r.tag === "ok" ? r.val : "err: " + r.val;
}
""",
    )
    assert (
        ns["fetch_text"](f"http://127.0.0.1:{http_port}/ts")
        == "hello from the host server, you asked for /ts"
    )
    assert ns["fetch_text"]("http://10.255.255.1/").startswith(
        "err: NetworkNotGranted: tsfetch may not connect"
    )


def test_a_component_cannot_take_the_name_net(cell):
    with pytest.raises(AsteraiError, match="'net' is the name of functions the notebook provides"):
        cell("rust net", "pub fn one() -> u32 { 1 }\n")


def test_net_is_listed_with_its_wit(cell):
    assert "for --use: net (http_get, http_request, tcp_exchange)" in cell.line("ls")
    assert "tcp-exchange: func(host: string, port: s64, data: list<u8>)" in cell.line("wit net")


@pytest.mark.no_toolchain
def test_allow_host_patterns():
    assert Grants.parse(allow_net=True).net == ("*",)
    assert Grants.parse(allow_net=["a.org, b.org:8080", "a.org"]).net == ("a.org", "b.org:8080")
    assert Grants.parse(allow_net="").net == ()
    g = Grants.parse(allow_net=["*.example.org", "[::1]:8080"])
    assert net_allows(g.net, "api.example.org", 443) and not net_allows(g.net, "example.org", 443)
    assert net_allows(g.net, "::1", 8080) and not net_allows(g.net, "::1", 8081)
    assert Grants.parse(**g.options()) == g
    for bad in ("host:port", "a b", "http://x.org"):
        with pytest.raises(AsteraiError, match="--allow-host"):
            Grants.parse(allow_net=[bad])
