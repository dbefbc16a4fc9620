"""Bad input to the console, each a named 4xx, and the console serving on after each: oversized
bodies and headers, bad JSON, path traversal in asset paths (raw, percent-encoded, backslashes),
unknown routes and methods. Nothing is ever served but the embedded assets."""

import os
import socket

import requests

import console_util as cu
import sluice_harness as sh

ASSETS = os.path.join(sh.REPO, "src/console/assets")


def raw(con, request_bytes, timeout=5):
    """Sends bytes as they are (no client-side path normalisation); returns (status, body)."""
    with socket.create_connection((con.host if hasattr(con, "host") else "127.0.0.1", con.port),
                                  timeout=sh.scaled(timeout)) as s:
        s.sendall(request_bytes)
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            data += chunk
    if not data:
        return None, b""  # closed without an answer
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


def get_raw(con, path):
    return raw(con, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())


def still_serving(con):
    assert requests.get(cu.url(con, "/assets/app.js"), timeout=5).status_code == 200


def test_path_traversal_never_leaves_the_embedded_assets(sluice_proc):
    con = cu.start(sluice_proc)
    embedded = {n: open(os.path.join(ASSETS, n), "rb").read() for n in os.listdir(ASSETS)}
    secret = open("/etc/passwd", "rb").read()[:20]
    bad = ["/assets/../../../../etc/passwd", "/assets/..%2f..%2f..%2fetc%2fpasswd",
           "/assets/%2e%2e/%2e%2e/etc/passwd", "/assets/..\\..\\etc\\passwd",
           "/assets/app.js/../../users", "/assets/%2e%2e%5cusers", "/../../etc/passwd",
           "/assets/", "/assets", "/assets//etc/passwd", "/assets/./app.js",
           "/etc/passwd", "/users", "/assets/users",
           "/assets/console.c", "/assets/../console.c", "/.git/config", "/index.html/.."]
    for path in bad:
        status, body = get_raw(con, path)
        assert 400 <= status < 500, (path, status)
        assert secret not in body, path
        assert body.startswith(b'{"error":'), (path, body[:80])
    for name, data in embedded.items():
        status, body = get_raw(con, "/assets/" + name)
        assert status == 200 and body == data, name
    # The HTTP layer decodes %00 and the name ends there: still only an embedded file.
    status, body = get_raw(con, "/assets/app.js%00.png")
    assert status == 200 and body == embedded["app.js"]
    status, _ = get_raw(con, "/assets/..%2fusers")
    assert status == 400
    still_serving(con)


def test_oversized_requests(sluice_proc):
    con = cu.start(sluice_proc, args=["--max-body", "64KiB"])
    r = requests.post(cu.url(con, "/api/login"), data=b"{" + b" " * 100000 + b"}",
                      headers={"Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 413 and r.json()["error"] == "request body too large"
    s = cu.login(con)
    r = s.post(cu.url(con, "/api/users"), data=b"x" * (1 << 20),
               headers={"Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 413
    r = requests.get(cu.url(con, "/api/session"), headers={"X-Big": "a" * 40000}, timeout=10)
    assert r.status_code in (413, 431)
    status, _ = get_raw(con, "/assets/" + "a" * 40000)
    assert status in (414, 431)
    still_serving(con)


def test_bad_json(sluice_proc):
    con = cu.start(sluice_proc)
    for body in [b"{", b"not json", b"[1,2]", b'{"user": 1, "password": 2}', b"",
                 b'{"user": "admin"}', b"\xff\xfe"]:
        r = requests.post(cu.url(con, "/api/login"), data=body,
                          headers={"Content-Type": "application/json"}, timeout=5)
        assert r.status_code == 400, body
        assert "error" in r.json()
    r = requests.post(cu.url(con, "/api/login"), data=b'{"user": "a"',
                      headers={"Content-Type": "application/json"}, timeout=5)
    assert r.json()["error"].startswith("bad JSON at line 1")
    s = cu.login(con)
    for body in [b"{", b'"str"', b'{"name": "a b", "password": "x"}',
                 b'{"name": "ok", "password": "x", "role": "root"}',
                 b'{"name": "ok", "password": ""}']:
        r = s.post(cu.url(con, "/api/users"), data=body,
                   headers={"Content-Type": "application/json"}, timeout=5)
        assert r.status_code == 400, body
    still_serving(con)


def test_unknown_routes_and_methods(sluice_proc):
    con = cu.start(sluice_proc)
    assert requests.get(cu.url(con, "/nope"), timeout=5).status_code == 404
    assert requests.get(cu.url(con, "/favicon.ico"), timeout=5).status_code == 404
    assert requests.post(cu.url(con, "/assets/app.js"), timeout=5).status_code == 405
    assert requests.get(cu.url(con, "/api/login"), timeout=5).status_code == 405
    assert requests.options(cu.url(con, "/api/session"), timeout=5).status_code == 405
    s = cu.login(con)
    r = s.get(cu.url(con, "/api/nope"), timeout=5)
    assert r.status_code == 404 and r.json()["error"] == "no such API route"
    assert s.put(cu.url(con, "/api/session"), json={}, timeout=5).status_code == 405
    assert s.delete(cu.url(con, "/api/users/nobody"), timeout=5).status_code == 404
    status, _ = raw(con, b"BREW /api/session HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert 400 <= status < 500
    # Not HTTP at all: libmicrohttpd answers 400 or just closes.
    status, _ = raw(con, b"garbage\r\n\r\n")
    assert status is None or 400 <= status < 500
    still_serving(con)
