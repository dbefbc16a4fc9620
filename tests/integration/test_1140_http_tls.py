"""issue 11, security: HTTPS on the HTTP components other than the registry (test_1137): the
console, the fake-api and the scheduler (--tls-cert/--tls-key) and the processor's metrics
listener (--metrics-tls-cert/--metrics-tls-key), all through src/web/http.c's tls_cert/tls_key.

python3-requests with verify=CA logs in to the console over HTTPS (its session cookie is then
Secure) and reads each component's endpoint with the certificate checked; a client trusting
another CA gets an SSLError and plain HTTP gets no answer.

The TLS is OpenSSL's (src/core/server.c, relayed to libmicrohttpd): on the console and the
registry Python's ssl with the test CA and check_hostname negotiates TLS 1.3, a TLS 1.1-only
client is refused by the server ("unsupported protocol"), and a handshake of garbage bytes is
closed ("TLS handshake failed", as on the Kafka and CQL listeners) while a client connected
before it is served afterwards."""

import http.client
import json
import re
import socket
import ssl
import warnings

import pytest
import requests

import console_util as cu
import pipeline_util as pu
import registry_util
import sluice_harness as sh
import tls_util as tu


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return tu.make_certs(tmp_path_factory.mktemp("tls"))


@pytest.fixture(autouse=True)
def no_ca_bundle_override(monkeypatch):
    # requests lets $REQUESTS_CA_BUNDLE override verify= (requests issue 3829).
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


def tls_args(certs, prefix=""):
    return [f"--{prefix}tls-cert", certs / "server.pem", f"--{prefix}tls-key", certs / "server.key"]


def check_refusals(addr, path, certs):
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"https://{addr}{path}", verify=str(certs / "otherca.pem"),
                     timeout=sh.scaled(10))
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"http://{addr}{path}", timeout=sh.scaled(5))


def check_openssl_served(proc, port, path, want_status, certs):
    ca = str(certs / "ca.pem")
    ctx = ssl.create_default_context(cafile=ca)
    assert ctx.check_hostname and ctx.verify_mode == ssl.CERT_REQUIRED
    good = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=sh.scaled(10))
    good.connect()
    assert good.sock.version() == "TLSv1.3"

    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.load_verify_locations(ca)
    with warnings.catch_warnings():  # deprecated: which is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        old.minimum_version = old.maximum_version = ssl.TLSVersion.TLSv1_1
    old.set_ciphers("DEFAULT:@SECLEVEL=0")  # else this client would not even try TLS 1.1
    with socket.create_connection(("127.0.0.1", port), timeout=sh.scaled(10)) as raw:
        with pytest.raises(ssl.SSLError, match="PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL"):
            old.wrap_socket(raw, server_hostname="127.0.0.1")
    proc.wait_for_log(r"WARN .*TLS handshake failed: .*unsupported protocol, closing")

    with socket.create_connection(("127.0.0.1", port), timeout=sh.scaled(10)) as bad:
        bad.sendall(b"\x16\x03\x01\xff\xff" + b"garbage" * 100)
        got = b""
        while chunk := bad.recv(4096):
            got += chunk
        assert got == b"" or got[0] == 0x15, got  # at most a TLS alert, then closed
    proc.wait_for_log(r"WARN .*TLS handshake failed: (?!.*unsupported protocol).*, closing")

    good.request("GET", path)
    r = good.getresponse()
    r.read()
    assert r.status == want_status, r.status
    good.close()


def test_console_https(sluice_proc, certs):
    con = cu.start(sluice_proc, args=tls_args(certs))
    ca = str(certs / "ca.pem")
    s = requests.Session()
    s.verify = ca
    r = s.post(f"https://{con.addr}/api/login",
               json={"user": "admin", "password": con.admin_password}, timeout=sh.scaled(20))
    assert r.status_code == 200, r.text
    cookie = r.headers["Set-Cookie"]
    assert "sluice_session=" in cookie and "; Secure" in cookie and "HttpOnly" in cookie
    r = s.get(f"https://{con.addr}/api/session", timeout=sh.scaled(10))
    assert r.status_code == 200 and r.json()["user"] == "admin", r.text
    # By name too (the cookie belongs to 127.0.0.1, so this one is not logged in).
    r = requests.get(f"https://localhost:{con.port}/api/session", verify=ca,
                     timeout=sh.scaled(10))
    assert r.status_code == 401
    check_refusals(con.addr, "/api/session", certs)
    assert "console listening on https://" in con.log_text()
    assert s.get(f"https://{con.addr}/api/session", timeout=sh.scaled(10)).status_code == 200
    check_openssl_served(con, con.port, "/api/session", 401, certs)
    assert s.get(f"https://{con.addr}/api/session", timeout=sh.scaled(10)).status_code == 200


def test_registry_https_openssl(sluice_proc, certs):
    _, reg = registry_util.start(sluice_proc, args=tls_args(certs))
    check_openssl_served(reg, reg.port, "/subjects", 200, certs)
    ca = str(certs / "ca.pem")
    r = requests.get(f"https://localhost:{reg.port}/subjects", verify=ca, timeout=sh.scaled(10))
    assert r.status_code == 200 and r.json() == []
    # A body larger than the relay's 256 KiB queue each way: the request through the relay's
    # pause of the TLS side, the answer through its pause of the pipe.
    schema = json.dumps({"type": "record", "name": "Big", "doc": "x" * 900_000,
                         "fields": [{"name": "a", "type": "int"}]})
    r = requests.post(f"https://127.0.0.1:{reg.port}/subjects/big-value/versions", verify=ca,
                      data=json.dumps({"schema": schema}), timeout=sh.scaled(30),
                      headers={"Content-Type": registry_util.CT})
    assert r.status_code == 200, r.text
    r = requests.get(f"https://127.0.0.1:{reg.port}/subjects/big-value/versions/1/schema",
                     verify=ca, timeout=sh.scaled(30))
    assert r.status_code == 200 and json.loads(r.text) == json.loads(schema)


def test_console_plain_cookie_not_secure(sluice_proc):
    con = cu.start(sluice_proc)
    r = requests.post(cu.url(con, "/api/login"),
                      json={"user": "admin", "password": con.admin_password},
                      timeout=sh.scaled(20))
    assert r.status_code == 200 and "Secure" not in r.headers["Set-Cookie"]


def test_fake_api_and_scheduler_https(sluice_proc, certs):
    ca = str(certs / "ca.pem")
    api = sluice_proc("fake-api", args=tls_args(certs))
    r = requests.get(f"https://{api.addr}/api/?results=2", verify=ca, timeout=sh.scaled(10))
    assert r.status_code == 200 and len(r.json()["results"]) == 2
    # Megabytes through the relay, byte for byte what a plaintext fake-api sends.
    plain = sluice_proc("fake-api", name="plain-api")
    q = "/api/?results=5000&seed=tls"
    big = requests.get(f"https://{api.addr}{q}", verify=ca, timeout=sh.scaled(30))
    want = requests.get(f"http://{plain.addr}{q}", timeout=sh.scaled(30))
    assert big.status_code == 200 and len(big.content) > 2_000_000
    assert big.content == want.content
    # Again to a client with a 4 KiB receive buffer, so the answer backs up in the server (the
    # relay stops reading libmicrohttpd's end) and still arrives whole.
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.settimeout(sh.scaled(30))
    raw.connect(("127.0.0.1", api.port))
    slow = ssl.create_default_context(cafile=ca).wrap_socket(raw, server_hostname="127.0.0.1")
    slow.sendall(f"GET {q} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    answer = b""
    while chunk := slow.recv(4096):
        answer += chunk
    slow.close()
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(want.content), answer[:200]
    check_refusals(api.addr, "/api/", certs)
    sched = sluice_proc("scheduler", data_dir=True, args=tls_args(certs))
    r = requests.get(f"https://{sched.addr}/api/v1/health", verify=ca, timeout=sh.scaled(10))
    assert r.status_code == 200, r.text
    check_refusals(sched.addr, "/api/v1/health", certs)


def test_process_metrics_https(sluice_proc, certs):
    _, broker, store = pu.start_stack(sluice_proc, api=False)
    port = sh.free_port()
    proc = pu.start_process(sluice_proc, broker, pu.cql_sink(store),
                            args=["--metrics-listen", f"127.0.0.1:{port}",
                                  *tls_args(certs, "metrics-")])
    sh.wait_port("127.0.0.1", port, sh.scaled(10), proc.proc)
    r = requests.get(f"https://127.0.0.1:{port}/metrics.json", verify=str(certs / "ca.pem"),
                     timeout=sh.scaled(10))
    assert r.status_code == 200 and "in" in r.json()
    check_refusals(f"127.0.0.1:{port}", "/metrics.json", certs)


def test_bad_tls_config(certs):
    for comp in ("console", "fake-api", "scheduler"):
        r = sh.run_sluice(comp, "--listen", f"127.0.0.1:{sh.free_port()}", "--data-dir",
                          certs / f"bad-{comp}", "--tls-cert", certs / "server.pem")
        assert r.returncode != 0, (comp, r.stderr)


def test_up_allows_tls_only_where_no_child_connects(certs, tmp_path):
    """Under `sluice up` the console (reached by browsers only) may serve HTTPS; a listener that
    up's other children connect to in plaintext may not, and the whole config is refused."""
    keys = f"  tls-cert: {certs / 'server.pem'}\n  tls-key: {certs / 'server.key'}\n"
    ok = tmp_path / "ok.yaml"
    ok.write_text("console:\n" + keys)
    r = sh.run_sluice("up", "--config", ok, "--check")
    assert r.returncode == 0, r.stderr
    assert re.search(r"console .*--config", r.stdout), r.stdout
    for section in ("broker", "store", "registry", "scheduler", "fake-api"):
        bad = tmp_path / f"{section}.yaml"
        bad.write_text(f"{section}:\n" + keys)
        r = sh.run_sluice("up", "--config", bad, "--check")
        assert r.returncode == 2 and f"{section}.tls-cert: not supported under sluice up" \
            in r.stderr, (section, r.stderr)
    bad = tmp_path / "pipeline.yaml"
    bad.write_text(f"pipeline:\n  metrics_tls_cert: {certs / 'server.pem'}\n")
    r = sh.run_sluice("up", "--config", bad, "--check")
    assert r.returncode == 2 and "pipeline.metrics_tls_cert" in r.stderr, r.stderr
