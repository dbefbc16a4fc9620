"""issue 11, security: TLS on the broker's listener (--tls-cert/--tls-key, optional --tls-ca),
through the OpenSSL transport of src/core/server.c, with verification on.

python3-confluent-kafka produces and consumes with security.protocol=SSL, ssl.ca.location and
ssl.endpoint.identification.algorithm=https (the certificate is for 127.0.0.1 and localhost), on
enough data that Fetch goes through SSL_write instead of sendfile; kcat does the same; SASL_SSL
with the right and a wrong password; a client trusting another CA and a plaintext client are
refused while a TLS client keeps being served; --tls-ca requires a client certificate."""

import subprocess
import time
import uuid

import pytest
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

import kafka_wire as kw
import sluice_harness as sh
import tls_util as tu

PW = "tls-Sasl pass"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return tu.make_certs(tmp_path_factory.mktemp("tls"))


def tls_args(certs, ca=False):
    a = ["--tls-cert", certs / "server.pem", "--tls-key", certs / "server.key"]
    return a + (["--tls-ca", certs / "ca.pem"] if ca else [])


def ssl_conf(broker, certs, **kw):
    return {"bootstrap.servers": broker.addr, "security.protocol": "SSL",
            "ssl.ca.location": str(certs / "ca.pem"),
            "ssl.endpoint.identification.algorithm": "https", **kw}


def produce_consume(conf, topic, n=200, size=20000):
    """Produces n records of size bytes and reads them back; returns the values read."""
    p = Producer({**conf, "acks": "all", "linger.ms": 5})
    want = [(f"{i:06d}".encode() * (size // 6 + 1))[:size] for i in range(n)]
    for v in want:
        p.produce(topic, v)
    assert p.flush(sh.scaled(30)) == 0
    c = Consumer({**conf, "group.id": "g-" + topic, "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    got = []
    end = time.monotonic() + sh.scaled(30)
    while len(got) < n and time.monotonic() < end:
        m = c.poll(0.5)
        if m is not None and not m.error():
            got.append(m.value())
    c.close()
    assert got == want
    return got


def refused(conf):
    """The errors an AdminClient with conf reports while failing to list topics."""
    errs = []
    a = AdminClient({**conf, "error_cb": errs.append})
    with pytest.raises(KafkaException):
        a.list_topics(timeout=sh.scaled(5))
    end = time.monotonic() + sh.scaled(10)
    while not errs and time.monotonic() < end:
        a.poll(0.2)
    return errs


def test_confluent_ssl_verified(sluice_proc, certs):
    broker = sluice_proc("broker", args=tls_args(certs))
    topic = "tls-" + uuid.uuid4().hex[:8]
    # 4 MB of records: Fetch responses far larger than a TLS record.
    produce_consume(ssl_conf(broker, certs), topic)
    localhost = ssl_conf(broker, certs)
    localhost["bootstrap.servers"] = f"localhost:{broker.port}"
    assert topic in AdminClient(localhost).list_topics(timeout=sh.scaled(10)).topics
    # Another CA: the certificate does not verify.
    errs = refused(ssl_conf(broker, certs, **{"ssl.ca.location": str(certs / "otherca.pem")}))
    assert any(e.code() == KafkaError._SSL for e in errs), [e.str() for e in errs]
    assert any("certificate verify failed" in e.str() for e in errs), [e.str() for e in errs]
    # Plaintext on the TLS port: closed at the handshake; nothing is answered.
    errs = refused({"bootstrap.servers": broker.addr})
    assert errs
    with kw.Conn(broker.addr) as c:
        c.send_raw(kw.frame(kw.METADATA, 1, kw.i32(-1)))
        assert c.closed_by_peer(timeout=sh.scaled(10))
    assert "TLS handshake failed" in broker.log_text()
    assert topic in AdminClient(ssl_conf(broker, certs)).list_topics(
        timeout=sh.scaled(10)).topics


def test_kcat_ssl(sluice_proc, certs, kcat):
    broker = sluice_proc("broker", args=tls_args(certs))
    args = ["-X", "security.protocol=ssl", "-X", f"ssl.ca.location={certs / 'ca.pem'}",
            "-X", "ssl.endpoint.identification.algorithm=https"]
    lines = [f"line-{i}" for i in range(1000)]
    r = subprocess.run([kcat, "-b", broker.addr, *args, "-P", "-t", "kc"],
                       input="\n".join(lines).encode() + b"\n", capture_output=True,
                       timeout=sh.scaled(30))
    assert r.returncode == 0, r.stderr
    r = subprocess.run([kcat, "-b", broker.addr, *args, "-C", "-t", "kc", "-e", "-o",
                        "beginning", "-q"], capture_output=True, timeout=sh.scaled(30))
    assert r.returncode == 0 and r.stdout.decode().split() == lines, r.stderr
    r = subprocess.run([kcat, "-b", broker.addr, "-X", "security.protocol=ssl", "-X",
                        f"ssl.ca.location={certs / 'otherca.pem'}", "-L", "-m", "3"],
                       capture_output=True, timeout=sh.scaled(30))
    assert r.returncode != 0 and b"certificate verify failed" in r.stderr, r.stderr


def test_sasl_ssl(sluice_proc, certs, tmp_path):
    h = sh.run_sluice("store", "passwd", input=PW + "\n").stdout.strip()
    users = tmp_path / "sasl.users"
    users.write_text(f"alice {h}\n")
    broker = sluice_proc("broker", args=[*tls_args(certs), "--sasl-users", users])
    conf = ssl_conf(broker, certs, **{"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN",
                                      "sasl.username": "alice"})
    produce_consume({**conf, "sasl.password": PW}, "sasl-ssl", n=50, size=1000)
    errs = refused({**conf, "sasl.password": "Wr0ng-pw"})
    assert any(e.code() == KafkaError._AUTHENTICATION for e in errs), [e.str() for e in errs]
    # SASL_PLAINTEXT against the TLS port is a plaintext client: closed.
    errs = refused({"bootstrap.servers": broker.addr, "security.protocol": "SASL_PLAINTEXT",
                    "sasl.mechanism": "PLAIN", "sasl.username": "alice", "sasl.password": PW})
    assert errs
    log = broker.log_text()
    assert "SASL/PLAIN authentication failed for user 'alice'" in log
    assert PW not in log and "Wr0ng-pw" not in log


def test_client_certificate_required(sluice_proc, certs):
    broker = sluice_proc("broker", args=tls_args(certs, ca=True))
    mutual = ssl_conf(broker, certs, **{"ssl.certificate.location": str(certs / "client.pem"),
                                        "ssl.key.location": str(certs / "client.key")})
    produce_consume(mutual, "mtls", n=20, size=100)
    errs = refused(ssl_conf(broker, certs))
    assert any(e.code() in (KafkaError._SSL, KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN)
               for e in errs), [e.str() for e in errs]
    assert "TLS handshake failed" in broker.log_text()


def test_bad_tls_config(certs):
    for args, why in ((["--tls-cert", certs / "server.pem"], "tls-cert and tls-key go together"),
                      (["--tls-cert", certs / "server.pem", "--tls-key", certs / "nope.key"],
                       "nope.key: No such file"),
                      (["--tls-cert", certs / "server.pem", "--tls-key", certs / "client.key"],
                       "key values mismatch")):
        r = sh.run_sluice("broker", "--listen", f"127.0.0.1:{sh.free_port()}", "--data-dir",
                          certs / "bad-data", *args)
        assert r.returncode != 0 and why in r.stderr, (args, r.stderr)


def test_up_with_a_tls_broker(sluice_proc, certs, tmp_path):
    """`sluice up` with broker.tls-cert and kafka.tls_ca: every Kafka client up starts (topic
    steps, registry, ingest under the scheduler, processor, console) reaches the broker over TLS
    through the properties file up writes, and the pipeline fills the table."""
    cfg, ports = sh.write_up_config(
        tmp_path, extra=f"kafka:\n  tls_ca: {certs / 'ca.pem'}\n",
        sections={"broker": f"  tls-cert: {certs / 'server.pem'}\n"
                            f"  tls-key: {certs / 'server.key'}\n"})
    up = sluice_proc("up", listen=False, data_dir=True,
                     args=["--config", str(cfg), "--ingest-duration", "2s"])
    up.wait_for_log(r"sluice is up", timeout=60)
    broker = type("B", (), {"addr": f"127.0.0.1:{ports['broker']}"})
    conf = ssl_conf(broker, certs)

    def records():
        c = Consumer({**conf, "group.id": "count"})
        try:
            md = c.list_topics("users_created", timeout=sh.scaled(10))
            return sum(c.get_watermark_offsets(TopicPartition("users_created", p),
                                               timeout=sh.scaled(10))[1]
                       for p in md.topics["users_created"].partitions)
        finally:
            c.close()
    n = sh.wait_until(lambda: records() or None, sh.scaled(60), what="records ingested over TLS")
    c = Cluster(["127.0.0.1"], port=ports["store"], protocol_version=4,
                auth_provider=PlainTextAuthProvider("cassandra", "cassandra"))
    try:
        s = c.connect()
        sh.wait_until(lambda: s.execute(
            "SELECT count(*) FROM spark_streams.created_users").one()[0] >= n,
            sh.scaled(60), what="rows consumed over TLS")
    finally:
        c.shutdown()
    time.sleep(sh.scaled(1))  # console collections
    log = up.log_text()
    assert "TLS handshake failed" not in log, log[-3000:]
    assert "(TLS)" in log
    bad = tmp_path / "bad.yaml"
    bad.write_text("broker:" + cfg.read_text().split("broker:", 1)[1])  # no kafka: section
    r = sh.run_sluice("up", "--config", bad, "--check")
    assert r.returncode == 2 and "unless kafka.tls_ca is set" in r.stderr, r.stderr
