"""Issue 11, resources: an HTTP listener at its connection limit answers instead of going silent.
src/web/http.c accepts every connection itself; with the registry's --max-connections N and N
keep-alive clients open, the next connection is accepted, answered `503 Service Unavailable`
(`Connection: close`, `Retry-After: 1`, text/plain, body "connection limit (N) reached") and
closed, over plain HTTP and over TLS (the 503 follows the handshake, verification on). The N
clients inside the limit are served afterwards, the crossing is logged once each way, and once
one of them closes a new client is served normally."""
import socket
import ssl

import pytest
import requests

import registry_util
import sluice_harness as sh
import tls_util as tu

N = 4
GET = b"GET /subjects HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return tu.make_certs(tmp_path_factory.mktemp("tls"))


@pytest.fixture(autouse=True)
def no_ca_bundle_override(monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


def connect(reg, ctx):
    s = socket.create_connection(("127.0.0.1", reg.port), timeout=sh.scaled(10))
    return ctx.wrap_socket(s, server_hostname="127.0.0.1") if ctx else s


def read_response(s):
    """One response on a keep-alive connection: (status line, headers, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        assert chunk, data
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:])}
    while len(body) < int(headers["content-length"]):
        chunk = s.recv(4096)
        assert chunk, body
        body += chunk
    return lines[0], headers, body


def read_to_eof(s):
    data = b""
    while chunk := s.recv(4096):
        data += chunk
    return data


def served(reg, ctx):
    """A connection that got a 200, or None after a 503: a connection that closed just before
    (the harness's readiness probe, a test's own) counts until the server has seen it go."""
    s = connect(reg, ctx)
    s.sendall(GET)
    status, _, body = read_response(s)
    if status == "HTTP/1.1 200 OK" and body == b"[]":
        return s
    assert status == "HTTP/1.1 503 Service Unavailable", (status, body)
    s.close()
    return None


def check_limit(reg, scheme, ctx, verify):
    base = f"{scheme}://{reg.addr}"
    held = [sh.wait_until(lambda: served(reg, ctx), sh.scaled(10), what="a connection served")
            for _ in range(N)]
    reg.wait_for_log(rf"WARN .*connection limit \({N}\) reached: new connections get a 503")

    extra = connect(reg, ctx)
    if ctx:
        assert extra.version() == "TLSv1.3"
    extra.sendall(GET)
    answer = read_to_eof(extra)
    extra.close()
    head, body = answer.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 503 Service Unavailable", answer
    assert {"Connection: close", "Retry-After: 1", "Content-Type: text/plain",
            f"Content-Length: {len(body)}"} <= set(lines[1:]), answer
    assert body == f"connection limit ({N}) reached\n".encode(), answer
    # A third-party client reads the same answer.
    r = requests.get(base + "/subjects", verify=verify, timeout=sh.scaled(10))
    assert r.status_code == 503 and r.headers["Retry-After"] == "1", r.text
    assert r.text == f"connection limit ({N}) reached\n"

    for s in held:  # still served, on the connections they had
        s.sendall(GET)
        status, _, body = read_response(s)
        assert status == "HTTP/1.1 200 OK" and body == b"[]", (status, body)
    held.pop().close()
    reg.wait_for_log(rf"under the connection limit \({N}\) again")
    fresh = connect(reg, ctx)
    fresh.sendall(GET)
    status, headers, body = read_response(fresh)
    assert status == "HTTP/1.1 200 OK" and body == b"[]", (status, headers, body)
    held.append(fresh)
    # Full again: said a second time, not once per refused connection.
    reg.wait_for_log(rf"reached: new connections get a 503(.|\n)*under(.|\n)*reached: new")
    for s in held:
        s.close()
    log = reg.log_text()
    assert log.count(f"connection limit ({N}) reached: new connections get a 503") == 2, log


def test_http_connection_limit_plain(sluice_proc):
    _, reg = registry_util.start(sluice_proc, args=["--max-connections", str(N)])
    check_limit(reg, "http", None, True)


def test_http_connection_limit_tls(sluice_proc, certs):
    _, reg = registry_util.start(sluice_proc, args=[
        "--max-connections", str(N), "--tls-cert", certs / "server.pem",
        "--tls-key", certs / "server.key"])
    ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    assert ctx.check_hostname and ctx.verify_mode == ssl.CERT_REQUIRED
    check_limit(reg, "https", ctx, str(certs / "ca.pem"))
