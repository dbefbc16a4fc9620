"""sluice fake-api under load and abuse: the per-client quota (429 with Retry-After and
randomuser.me's body), injected latency and failures, bad requests (unknown paths, methods,
oversized URLs, headers and bodies, garbage), and the server keeps serving everyone else."""

import concurrent.futures
import re
import socket
import subprocess
import time

import pytest
import requests

import sluice_harness as sh

QUOTA_MSG = ("Whoa, ease up there cowboy. You've requested {n} users in the last minute. Help us "
             "keep this service free and spare some bandwidth for other users please :)")
FAIL_MSG = ("Uh oh, something has gone wrong. Please tweet us @randomapi about the issue. "
            "Thank you.")


def start(sluice_proc, *args):
    p = sluice_proc("fake-api", args=list(args))
    return p, f"http://{p.addr}"


def healthy(base):
    r = requests.get(base + "/api/", params={"results": 3, "seed": "ok"}, timeout=sh.scaled(10))
    assert r.status_code == 200
    assert len(r.json()["results"]) == 3


def raw(port, data, timeout=2.0):
    """Sends bytes on a fresh connection; returns what came back before close or timeout."""
    with socket.create_connection((sh.HOST, port), timeout=sh.scaled(5)) as s:
        s.settimeout(sh.scaled(timeout))
        try:
            s.sendall(data)
        except OSError:
            pass
        out = b""
        try:
            while True:
                d = s.recv(65536)
                if not d:
                    break
                out += d
        except (socket.timeout, ConnectionResetError):
            pass
        return out


def test_quota_429_retry_after_and_window(sluice_proc):
    p, base = start(sluice_proc, "--quota", "100", "--quota-window", "3s")
    url = base + "/api/"
    assert requests.get(url, params={"results": 60}).status_code == 200
    assert requests.get(url, params={"results": 40}).status_code == 200  # exactly 100
    r = requests.get(url, params={"results": 1})
    assert r.status_code == 429
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json() == {"error": QUOTA_MSG.format(n=100)}
    retry = int(r.headers["Retry-After"])
    assert 1 <= retry <= 3
    # A request that would cross the quota is refused whole and charges nothing.
    assert requests.get(url, params={"results": 5000}).status_code == 429
    # The quota is per client address: a client connecting from 127.0.0.2 has its own.
    with socket.create_connection((sh.HOST, p.port), timeout=sh.scaled(5),
                                  source_address=("127.0.0.2", 0)) as s:
        s.sendall(b"GET /api/?results=50 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        got = b""
        while chunk := s.recv(65536):
            got += chunk
    assert got.startswith(b"HTTP/1.1 200 OK"), got[:100]
    time.sleep(retry + 0.2)
    r = requests.get(url, params={"results": 100})
    assert r.status_code == 200 and len(r.json()["results"]) == 100


def test_latency_is_injected_without_blocking_others(sluice_proc):
    _, base = start(sluice_proc, "--latency-ms", "400")
    t0 = time.monotonic()
    healthy(base)
    assert time.monotonic() - t0 >= 0.4
    # Eight concurrent requests are delayed side by side, not one after another.
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        rs = list(ex.map(lambda i: requests.get(base + "/api/", params={"seed": i}), range(8)))
    took = time.monotonic() - t0
    assert all(r.status_code == 200 for r in rs)
    assert 0.4 <= took < sh.scaled(8 * 0.4)


def test_fail_rate(sluice_proc):
    _, base = start(sluice_proc, "--fail-rate", "0.5")
    codes = []
    with requests.Session() as s:
        for i in range(200):
            r = s.get(base + "/api/", params={"seed": "f", "results": 2})
            codes.append(r.status_code)
            if r.status_code == 500:
                assert r.json() == {"error": FAIL_MSG}
            else:
                assert r.status_code == 200 and len(r.json()["results"]) == 2
    fails = codes.count(500)
    assert 50 <= fails <= 150, fails


def test_fail_rate_one_fails_everything(sluice_proc):
    _, base = start(sluice_proc, "--fail-rate", "1")
    for _ in range(20):
        assert requests.get(base + "/api/").status_code == 500


@pytest.mark.parametrize("args,reason", [(["--fail-rate", "2"], "fail-rate"),
                                         (["--fail-rate", "x"], "fail-rate"),
                                         (["--quota", "-1"], "quota"),
                                         (["--latency-ms", "abc"], "latency"),
                                         (["--listen", "nope"], "listen")])
def test_bad_options_exit_2(sluice_bin, args, reason):
    r = subprocess.run([str(sluice_bin), "fake-api", *args], capture_output=True, text=True,
                       timeout=sh.scaled(10))
    assert r.returncode == 2, r
    assert reason in r.stderr


def test_unknown_paths_and_methods(sluice_proc):
    _, base = start(sluice_proc)
    for path in ("/", "/api/1.3/", "/apix", "/api/1.4/x", "/metrics"):
        r = requests.get(base + path)
        assert r.status_code == 404, path
        assert r.json() == {"error": "not found"}
    for method in ("POST", "PUT", "DELETE"):
        r = requests.request(method, base + "/api/")
        assert r.status_code == 405
        assert r.json() == {"error": "method not allowed"}
    r = requests.head(base + "/api/")
    assert r.status_code == 200 and r.content == b""
    healthy(base)


def test_oversized_requests(sluice_proc):
    p, base = start(sluice_proc)
    r = requests.get(base + "/api/", params={"seed": "a" * 40000})
    assert r.status_code == 414
    r = requests.get(base + "/api/", headers={"X-Big": "b" * 40000})
    assert r.status_code == 431
    r = requests.get(base + "/api/", headers={f"X-H{i}": "v" * 100 for i in range(300)})
    assert r.status_code == 431
    r = requests.post(base + "/api/", data=b"x" * 200000)
    assert r.status_code == 413
    healthy(base)
    # A seed just under the limit is served and echoed.
    seed = "s" * 8000
    r = requests.get(base + "/api/", params={"seed": seed})
    assert r.status_code == 200 and r.json()["info"]["seed"] == seed[:256]


@pytest.mark.parametrize("data", [b"GARBAGE\r\n\r\n", b"\x00\x01\x02\xff hello\r\n\r\n",
                                  b"GET\r\n\r\n", b"GET /api/ HTTP/9.9\r\n\r\n",
                                  b"GET /api/ HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
                                  b"GET /api/ HTTP/1.1\r\nBad Header Line\r\n\r\n",
                                  b"\r\n" * 1000])
def test_garbage_requests_get_no_users(sluice_proc, data):
    p, base = start(sluice_proc)
    out = raw(p.port, data)
    assert b"200 OK" not in out
    if out:
        assert re.match(rb"HTTP/1\.[01] [45]\d\d ", out), out[:80]
    healthy(base)


def test_slow_and_idle_clients_do_not_block_others(sluice_proc):
    p, base = start(sluice_proc)
    idle = [socket.create_connection((sh.HOST, p.port)) for _ in range(20)]
    half = socket.create_connection((sh.HOST, p.port))
    half.sendall(b"GET /api/?results=2 HTTP/1.1\r\nHost: x\r\n")  # headers never finished
    try:
        for _ in range(5):
            healthy(base)
        # The half-sent request still completes when its client finishes it.
        half.sendall(b"\r\n")
        half.settimeout(sh.scaled(5))
        got = b""
        while b"\r\n\r\n" not in got:
            got += half.recv(65536)
        assert got.startswith(b"HTTP/1.1 200")
    finally:
        for s in idle + [half]:
            s.close()


def test_keep_alive_and_pipelining(sluice_proc):
    p, base = start(sluice_proc)
    req = b"GET /api/?seed=k&results=1 HTTP/1.1\r\nHost: x\r\n\r\n"
    out = raw(p.port, req * 3 + b"GET /api/?seed=k HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
              timeout=5)
    assert out.count(b"HTTP/1.1 200 OK") == 4
    with requests.Session() as s:
        bodies = {s.get(base + "/api/", params={"seed": "k"}).content for _ in range(10)}
    assert len(bodies) == 1


def test_big_pages_many_clients(sluice_proc):
    _, base = start(sluice_proc)

    def fetch(page):
        r = requests.get(base + "/api/", params={"seed": "big", "page": page, "results": 5000},
                         timeout=sh.scaled(30))
        assert r.status_code == 200
        return r.content

    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        first = list(ex.map(fetch, [1, 2, 3, 4]))
        again = list(ex.map(fetch, [1, 2, 3, 4]))
    assert first == again
    assert len({len(b) for b in first}) > 1 or len(set(first)) == 4


def test_sigterm_with_requests_in_flight(sluice_proc):
    """SIGTERM while delayed and big requests are outstanding: each client gets an answer or a
    closed connection at once, and the process exits 0."""
    p, base = start(sluice_proc, "--latency-ms", "20000")

    def fetch(results):
        try:
            r = requests.get(base + "/api/", params={"results": results},
                             timeout=sh.scaled(15))
            return r.status_code
        except requests.ConnectionError:
            return "closed"

    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        futs = [ex.submit(fetch, n) for n in (1, 10, 5000, 5000)]
        time.sleep(1.0)
        t0 = time.monotonic()
        assert p.stop() == 0
        codes = [f.result() for f in futs]
    assert time.monotonic() - t0 < sh.scaled(5)
    assert all(c in (200, 503, "closed") for c in codes), codes


def test_config_file_section(sluice_proc, tmp_path):
    """The `fake-api:` section of sluice.yaml sets the same options; flags win over it."""
    cfg = tmp_path / "sluice.yaml"
    cfg.write_text("fake-api:\n  quota: 10\n  quota-window: 60s\n  fail-rate: 0\n")
    _, base = start(sluice_proc, "--config", str(cfg))
    assert requests.get(base + "/api/", params={"results": 10}).status_code == 200
    assert requests.get(base + "/api/").status_code == 429
    _, base2 = start(sluice_proc, "--config", str(cfg), "--quota", "0")
    for _ in range(3):
        assert requests.get(base2 + "/api/", params={"results": 10}).status_code == 200
