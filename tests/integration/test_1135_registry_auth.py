"""issue 11, security: Schema Registry basic auth (--auth-file of NAME HASH lines).

Without credentials or with wrong ones every endpoint answers 401 with WWW-Authenticate, and
nothing is stored; python3-confluent-kafka's SchemaRegistryClient with basic.auth.user.info
registers and reads back a schema; a bad auth file stops the start with a FILE:LINE reason."""

import pytest
import requests
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

import registry_util as ru
import sluice_harness as sh

PW = "r3g-Secret pass"


def auth_file(tmp_path, lines):
    f = tmp_path / "registry.users"
    f.write_text("\n".join(lines) + "\n")
    return f


def hash_of(pw):
    r = sh.run_sluice("store", "passwd", input=pw + "\n")
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_basic_auth(sluice_proc, tmp_path):
    f = auth_file(tmp_path, ["# registry users", "", f"alice {hash_of(PW)}",
                             f"bob {hash_of('other')}"])
    _, reg = ru.start(sluice_proc, args=["--auth-file", f])
    base = f"http://{reg.addr}"
    for kw in ({}, {"auth": ("alice", "wrong")}, {"auth": ("carol", PW)},
               {"auth": ("alice", PW + "x")}, {"headers": {"Authorization": "Basic !!!"}},
               {"headers": {"Authorization": "Bearer abc"}}):
        r = requests.get(base + "/subjects", **kw)
        assert r.status_code == 401, (kw, r.status_code)
        assert r.headers["WWW-Authenticate"] == 'Basic realm="sluice registry"'
        assert r.json()["error_code"] == 401
    r = requests.post(base + "/subjects/x-value/versions", json={"schema": '"string"'},
                      headers={"Content-Type": ru.CT})
    assert r.status_code == 401
    src = SchemaRegistryClient({"url": base, "basic.auth.user.info": f"alice:{PW}"})
    sid = src.register_schema("users-value", Schema('{"type":"record","name":"U","fields":'
                                                   '[{"name":"id","type":"string"}]}', "AVRO"))
    assert src.get_schema(sid).schema_type == "AVRO"
    for _ in range(20):  # the success cache: each request would otherwise pay PBKDF2
        assert src.get_subjects() == ["users-value"]
    bob = SchemaRegistryClient({"url": base, "basic.auth.user.info": "bob:other"})
    assert bob.get_subjects() == ["users-value"]
    bad = SchemaRegistryClient({"url": base, "basic.auth.user.info": "alice:nope"})
    with pytest.raises(SchemaRegistryError) as e:
        bad.get_subjects()
    assert e.value.http_status_code == 401
    log = "\n".join(x for x in reg.log_text().splitlines() if not x.startswith("=== "))
    assert PW not in log and "nope" not in log


@pytest.mark.parametrize("lines,why", [
    (["alice"], ":1: want NAME HASH"),
    (["alice plaintext"], ":1: not a pbkdf2-sha256 hash"),
    (["# none"], ": no users"),
])
def test_bad_auth_file(sluice_proc, tmp_path, lines, why):
    broker = sluice_proc("broker")
    f = auth_file(tmp_path, lines)
    r = sh.run_sluice("registry", "--listen", f"127.0.0.1:{sh.free_port()}", "--kafka",
                      broker.addr, "--auth-file", f)
    assert r.returncode != 0 and why in r.stderr, (r.returncode, r.stderr)
    r = sh.run_sluice("registry", "--listen", f"127.0.0.1:{sh.free_port()}", "--kafka",
                      broker.addr, "--auth-file", tmp_path / "missing")
    assert r.returncode != 0 and "No such file or directory" in r.stderr
