"""issue 11, security: Kafka SASL/PLAIN (SASL_PLAINTEXT) on the broker (--sasl-users).

kcat and python3-confluent-kafka with the right password produce and consume; a wrong password
gets SASL_AUTHENTICATION_FAILED; a client that skips SASL is disconnected at its first request;
the log names the user but never a password. SaslHandshake v0 (raw tokens) is not served.
sluice's own clients (topic, ingest, registry, process) reach it through $SLUICE_KAFKA_CONFIG."""

import subprocess
import time
import uuid

import pytest
import requests
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient

import kafka_wire as kw
import pipeline_util as pu
import sluice_harness as sh
from process_util import drained_counts

PW = "k4fka-Pass word"


@pytest.fixture
def broker(sluice_proc, tmp_path):
    h = sh.run_sluice("store", "passwd", input=PW + "\n").stdout.strip()
    f = tmp_path / "sasl.users"
    f.write_text(f"alice {h}\n")
    return sluice_proc("broker", args=["--sasl-users", f])


def conf(broker, pw=PW, user="alice"):
    return {"bootstrap.servers": broker.addr, "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "PLAIN", "sasl.username": user, "sasl.password": pw}


def test_confluent_right_and_wrong(broker):
    topic = "sasl-" + uuid.uuid4().hex[:8]
    p = Producer({**conf(broker), "acks": "all"})
    for i in range(10):
        p.produce(topic, f"m{i}".encode())
    assert p.flush(sh.scaled(20)) == 0
    c = Consumer({**conf(broker), "group.id": "g-" + topic, "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    got = []
    end = time.monotonic() + sh.scaled(30)
    while len(got) < 10 and time.monotonic() < end:
        m = c.poll(0.5)
        if m is not None and not m.error():
            got.append(m.value())
    c.close()
    assert sorted(got) == sorted(f"m{i}".encode() for i in range(10))
    errs = []
    a = AdminClient({**conf(broker, pw="Wr0ngPw-x"), "error_cb": errs.append})
    with pytest.raises(KafkaException):
        a.list_topics(timeout=sh.scaled(5))
    end = time.monotonic() + sh.scaled(10)
    while not errs and time.monotonic() < end:
        a.poll(0.2)
    assert any(e.code() == KafkaError._AUTHENTICATION for e in errs), errs
    assert any("SASL_AUTHENTICATION_FAILED" in e.str() or "Invalid username or password"
               in e.str() for e in errs), [e.str() for e in errs]
    log = "\n".join(x for x in broker.log_text().splitlines() if not x.startswith("=== "))
    assert "SASL/PLAIN authentication failed for user 'alice'" in log
    assert PW not in log and "Wr0ngPw-x" not in log


def test_kcat(broker, kcat):
    topic = "sasl-kcat"
    args = ["-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=PLAIN",
            "-X", "sasl.username=alice"]
    r = subprocess.run([kcat, "-b", broker.addr, *args, "-X", f"sasl.password={PW}", "-P", "-t",
                        topic], input=b"a\nb\n", capture_output=True, timeout=sh.scaled(30))
    assert r.returncode == 0, r.stderr
    r = subprocess.run([kcat, "-b", broker.addr, *args, "-X", f"sasl.password={PW}", "-C", "-t",
                        topic, "-e", "-o", "beginning"], capture_output=True,
                       timeout=sh.scaled(30))
    assert r.returncode == 0 and r.stdout.split() == [b"a", b"b"], r
    r = subprocess.run([kcat, "-b", broker.addr, *args, "-X", "sasl.password=nope", "-L",
                        "-m", "3"], capture_output=True, timeout=sh.scaled(30))
    assert r.returncode != 0
    assert b"Authentication failed" in r.stderr or b"SASL" in r.stderr, r.stderr


def test_requests_before_auth_close(broker):
    # Metadata without SASL: the broker closes without answering.
    with kw.Conn(broker.addr) as c:
        c.send_raw(kw.frame(kw.METADATA, 1, kw.i32(-1)))
        assert c.closed_by_peer(timeout=sh.scaled(10))
    assert "Metadata before SASL authentication" in broker.log_text()
    # No mechanism but PLAIN; SaslAuthenticate before a handshake is an illegal state.
    with kw.Conn(broker.addr) as c:
        r = c.request(17, 1, kw.string("SCRAM-SHA-256"))
        assert r.i16() == 33  # UNSUPPORTED_SASL_MECHANISM
        r = c.request(36, 0, kw.bytes_(b"\0alice\0" + PW.encode()))
        assert r.i16() == 34  # ILLEGAL_SASL_STATE
    # The raw flow: handshake, a token with the right password, then Metadata is served.
    with kw.Conn(broker.addr) as c:
        r = c.request(17, 1, kw.string("PLAIN"))
        assert r.i16() == 0
        r = c.request(36, 1, kw.bytes_(b"\0alice\0" + PW.encode()))
        assert r.i16() == 0
        c.request(kw.METADATA, 1, kw.i32(-1))


def test_sluice_clients_through_sluice_kafka_config(broker, sluice_proc, tmp_path):
    """sluice's own librdkafka clients (topic, ingest and registry here; process calls the same
    helper) take the SASL settings from the file named by $SLUICE_KAFKA_CONFIG; without it the
    broker refuses them."""
    props = tmp_path / "client.properties"
    props.write_text("# SASL for sluice's clients\nsecurity.protocol=SASL_PLAINTEXT\n"
                     f"sasl.mechanism=PLAIN\nsasl.username=alice\nsasl.password={PW}\n")
    env = {"SLUICE_KAFKA_CONFIG": str(props)}
    r = sh.run_sluice("topic", "--kafka", broker.addr, "create", "users_created", env=env)
    assert r.returncode == 0, r.stderr
    r = sh.run_sluice("topic", "--kafka", broker.addr, "list", env=env)
    assert r.returncode == 0 and "users_created" in r.stdout, r.stderr
    r = sh.run_sluice("topic", "--kafka", broker.addr, "list", timeout=60)
    assert r.returncode != 0
    api = sluice_proc("fake-api")
    r = sh.run_sluice("ingest", "--source", f"http://{api.addr}/api/", "--topic",
                      "users_created", "--kafka", broker.addr, "--count", "20", env=env,
                      timeout=60)
    assert r.returncode == 0, r.stderr
    reg = sluice_proc("registry", ready_timeout=30, env=env, args=["--kafka", broker.addr])
    assert requests.get(f"http://{reg.addr}/subjects").json() == []
    c = Consumer({**conf(broker), "group.id": "check", "auto.offset.reset": "earliest"})
    c.subscribe(["users_created"])
    n, end = 0, time.monotonic() + sh.scaled(30)
    while n < 20 and time.monotonic() < end:
        m = c.poll(0.5)
        if m is not None and not m.error():
            n += 1
    c.close()
    assert n == 20
    # A property librdkafka refuses is named by key, without its value.
    props.write_text("sasl.password=Zz-secret\nno.such.property=Zz-secret\n")
    r = sh.run_sluice("topic", "--kafka", broker.addr, "list", env=env)
    assert r.returncode != 0 and "no.such.property" in r.stderr and "Zz-secret" not in r.stderr
    log = "\n".join(x for x in broker.log_text().splitlines() if not x.startswith("=== "))
    assert PW not in log and PW not in reg.log_text()


def client_props(tmp_path, pw, name):
    """A $SLUICE_KAFKA_CONFIG file for alice with password pw; returns the env naming it."""
    f = tmp_path / name
    f.write_text("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.username=alice\n"
                 f"sasl.password={pw}\n")
    return {"SLUICE_KAFKA_CONFIG": str(f)}


def test_pipeline_through_sluice_kafka_config(broker, sluice_proc, tmp_path):
    """ingest (from fake-api) and process against the SASL-only broker, each configured only by
    $SLUICE_KAFKA_CONFIG: every user becomes a row. With a wrong password ingest exits 1 and
    process exits 1 by itself, each naming the authentication failure; neither password is in
    any output of any process."""
    wrong = "Wr0ng-Pass word"
    env = client_props(tmp_path, PW, "client.properties")
    store = sluice_proc("store")
    api = sluice_proc("fake-api")
    outputs = []
    r = sh.run_sluice("topic", "--kafka", broker.addr, "create", pu.TOPIC, env=env)
    assert r.returncode == 0, r.stderr
    n, batch, seed = 300, 100, "sasl-pipeline"
    r = sh.run_sluice("ingest", "--source", pu.source_url(api, seed), "--topic", pu.TOPIC,
                      "--kafka", broker.addr, "--count", n, "--batch", batch, env=env,
                      timeout=120)
    outputs += [r.stdout, r.stderr]
    assert r.returncode == 0, r.stderr
    proc = pu.start_process(sluice_proc, broker, pu.cql_sink(store), env=env)
    cluster = pu.cql_cluster(store)
    try:
        pu.wait_rows_cql(cluster.connect(), n, 60, procs=[proc])
        rows = pu.read_rows_cql(cluster.connect())
    finally:
        cluster.shutdown()
    pu.compare_content(pu.expected_records(api, seed, n, batch), rows)
    assert proc.stop() == 0
    assert drained_counts(proc) == [(n, n, 0)]

    bad = client_props(tmp_path, wrong, "wrong.properties")
    r = sh.run_sluice("ingest", "--source", pu.source_url(api, seed), "--topic", pu.TOPIC,
                      "--kafka", broker.addr, "--count", 10, env=bad, timeout=60)
    outputs += [r.stdout, r.stderr]
    assert r.returncode == 1, r.stderr
    assert f"kafka: authentication to {broker.addr} failed: " in r.stderr, r.stderr
    assert "Invalid username or password" in r.stderr, r.stderr
    denied = pu.start_process(sluice_proc, broker, pu.cql_sink(store), env=bad,
                              name="process-wrong-password")
    assert denied.wait(60) == 1
    log = denied.log_text()
    assert "Kafka authentication failed: " in log and "Invalid username or password" in log, \
        sh.tail(log, 20)
    assert "check sasl.username and sasl.password in $SLUICE_KAFKA_CONFIG" in log
    assert "SASL/PLAIN authentication failed for user 'alice'" in broker.log_text()
    outputs += [p.log_text() for p in (broker, store, api, proc, denied)]
    for text in outputs:
        assert PW not in text and wrong not in text
