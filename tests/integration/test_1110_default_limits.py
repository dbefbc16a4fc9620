"""issue 11, security: every protocol has size limits, and they hold at their defaults.

Other tests check each limit at a small configured value (test_0150, test_0250, test_0301,
test_0520, test_0384, test_0702); this one starts each component with no limit flag at all and
sends one input just over the built-in default. Each is refused with its named error, and the
component keeps serving. docs/security.md lists the limits."""

import json
import socket
import struct

import requests

import registry_util as ru
import sluice_harness as sh

MiB = 1 << 20


def closed_by_peer(sock, timeout):
    sock.settimeout(timeout)
    try:
        while True:
            d = sock.recv(65536)
            if not d:
                return b""
            return d
    except (ConnectionResetError, BrokenPipeError):
        return b""


def test_kafka_frame_default_100mib(sluice_proc):
    broker = sluice_proc("broker")
    with socket.create_connection(("127.0.0.1", broker.port)) as s:
        # Only the length is sent: the broker refuses from it, without buffering 100 MiB.
        s.sendall(struct.pack(">ihhi", 100 * MiB + 1, 3, 1, 7))
        assert closed_by_peer(s, sh.scaled(10)) == b"", "a frame over 100 MiB was answered"
    r = sh.run_sluice("topic", "--kafka", broker.addr, "list")
    assert r.returncode == 0, r.stderr
    # The length field plus its own 4 bytes against --max-request-bytes (100 MiB) plus 4.
    assert f"frame of {100 * MiB + 5} bytes over max_frame {100 * MiB + 4}" in broker.log_text()


def test_cql_frame_default_256mib(sluice_proc):
    store = sluice_proc("store")
    n = 256 * MiB + 1
    with socket.create_connection(("127.0.0.1", store.port)) as s:
        s.sendall(struct.pack(">BBhBi", 4, 0, 5, 0x07, n) + b"x" * 64)
        s.settimeout(sh.scaled(10))
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    assert data[4] == 0x00, data  # ERROR
    code, mlen = struct.unpack(">iH", data[9:15])
    msg = data[15:15 + mlen].decode()
    assert code == 0x000A, (hex(code), msg)  # ProtocolError
    assert msg == f"Request is too big: length {n} exceeds maximum allowed length {256 * MiB}.", msg
    r = sh.run_sluice("cql", store.addr, "-u", "cassandra", "-p", "cassandra", "-e",
                      "SELECT release_version FROM system.local")
    assert r.returncode == 0 and "4." in r.stdout, (r.stdout, r.stderr)


def test_http_header_16kib_body_1mib(sluice_proc):
    api = sluice_proc("fake-api")
    base = f"http://{api.addr}"
    r = requests.get(base + "/api/", headers={"X-Big": "b" * (16 * 1024 + 1)})
    assert r.status_code == 431
    r = requests.post(base + "/api/", data=b"x" * (MiB + 1))
    assert r.status_code == 413
    r = requests.get(base + "/api/", headers={"X-Small": "s" * 8000})
    assert r.status_code == 200


def test_registry_schema_default_1mib(sluice_proc):
    _, reg = ru.start(sluice_proc)
    base = f"http://{reg.addr}"
    # An Avro enum whose schema text is just over 1 MiB.
    sym = [f"S{i:07d}" for i in range(MiB // 12 + 10)]
    schema = json.dumps({"type": "enum", "name": "E", "symbols": sym})
    assert MiB < len(schema) < MiB + 4096
    r = requests.post(base + "/subjects/big-value/versions", data=json.dumps({"schema": schema}),
                      headers={"Content-Type": "application/vnd.schemaregistry.v1+json"})
    assert r.status_code == 422 and r.json()["error_code"] == 42209, r.text
    r = requests.get(base + "/subjects")
    assert r.status_code == 200 and r.json() == []
