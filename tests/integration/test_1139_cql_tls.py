"""issue 11, security: CQL over TLS (the store's --tls-cert/--tls-key, optional --tls-ca), through
the OpenSSL transport of src/core/server.c, with verification on.

python3-cassandra connects with an ssl_context (CERT_REQUIRED, check_hostname, the test's CA) and
PlainTextAuthProvider, by 127.0.0.1 and by localhost, and writes and reads a table; a wrong
password is still refused over TLS; the cassandra-driver npm package connects with sslOptions
{ca, rejectUnauthorized: true}; a client trusting another CA and a plaintext client are refused
cleanly while TLS clients keep being served; --tls-ca requires a client certificate."""

import json
import socket
import ssl
import struct
import time
import types

import pytest
from cassandra import AuthenticationFailed
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster, NoHostAvailable

import cql_raw
import pipeline_util as pu
import process_util as xu
import sluice_harness as sh
import tls_util as tu

PW = "Cql-tls pass"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return tu.make_certs(tmp_path_factory.mktemp("tls"))


def tls_args(certs, ca=False):
    a = ["--tls-cert", certs / "server.pem", "--tls-key", certs / "server.key", "--password", PW]
    return a + (["--tls-ca", certs / "ca.pem"] if ca else [])


def context(certs, cafile="ca.pem", client=False):
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(certs / cafile))
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    if client:
        ctx.load_cert_chain(str(certs / "client.pem"), str(certs / "client.key"))
    return ctx


def cluster(store, ctx, host="127.0.0.1", pw=PW):
    return Cluster([host], port=store.port, protocol_version=4, ssl_context=ctx,
                   auth_provider=PlainTextAuthProvider("cassandra", pw),
                   connect_timeout=sh.scaled(10))


def roundtrip(store, ctx, host="127.0.0.1"):
    c = cluster(store, ctx, host)
    try:
        s = c.connect()
        s.execute("CREATE KEYSPACE IF NOT EXISTS tls WITH replication = "
                  "{'class': 'SimpleStrategy', 'replication_factor': 1}")
        s.execute("CREATE TABLE IF NOT EXISTS tls.t (k int PRIMARY KEY, v text)")
        big = "x" * 200000  # responses larger than a TLS record
        for k in range(20):
            s.execute("INSERT INTO tls.t (k, v) VALUES (%s, %s)", (k, f"{k}{big}"))
        rows = sorted(s.execute("SELECT k, v FROM tls.t"))
        assert [r.k for r in rows] == list(range(20))
        assert all(r.v == f"{r.k}{big}" for r in rows)
        return s.execute("SELECT release_version FROM system.local").one()[0]
    finally:
        c.shutdown()


def refused(store, ctx, **kw):
    with pytest.raises(NoHostAvailable) as e:
        c = cluster(store, ctx, **kw)
        try:
            c.connect()
        finally:
            c.shutdown()
    return list(e.value.errors.values())


def test_python_driver_verified(sluice_proc, certs):
    store = sluice_proc("store", args=tls_args(certs))
    assert roundtrip(store, context(certs)).startswith("4.")
    assert roundtrip(store, context(certs), host="localhost").startswith("4.")
    errs = refused(store, context(certs), pw="wrong")
    assert errs and isinstance(errs[0], AuthenticationFailed), errs
    errs = refused(store, context(certs, cafile="otherca.pem"))
    assert errs and "CERTIFICATE_VERIFY_FAILED" in str(errs[0]), errs
    errs = refused(store, None)  # plaintext
    assert errs, errs
    # A raw plaintext STARTUP: the store closes the connection without a CQL answer.
    with socket.create_connection(("127.0.0.1", store.port), timeout=sh.scaled(10)) as s:
        body = cql_raw.string_map({"CQL_VERSION": "3.0.0"})
        s.sendall(struct.pack(">BBhBi", 4, 0, 0, cql_raw.OPCODES["STARTUP"], len(body)) + body)
        data = b""
        while True:
            b = s.recv(4096)
            if not b:
                break
            data += b
        assert not data.startswith(b"\x84"), data  # no CQL v4 response frame
    assert "TLS handshake failed" in store.log_text()
    assert roundtrip(store, context(certs)).startswith("4.")
    log = "\n".join(x for x in store.log_text().splitlines() if not x.startswith("=== "))
    assert PW not in log


NODE_TLS = r"""
const cassandra = require('cassandra-driver');
const fs = require('fs');
const [port, pass, ca] = process.argv.slice(2);
const client = new cassandra.Client({
  contactPoints: ['127.0.0.1:' + port], localDataCenter: 'datacenter1',
  credentials: {username: 'cassandra', password: pass},
  sslOptions: {ca: [fs.readFileSync(ca)], rejectUnauthorized: true},
  socketOptions: {connectTimeout: 10000, readTimeout: 20000},
});
(async () => {
  try {
    await client.connect();
    const rs = await client.execute('SELECT release_version FROM system.local');
    console.log(JSON.stringify({ok: true, release: rs.first().release_version}));
  } catch (e) {
    console.log(JSON.stringify({ok: false, error: String(e),
      inner: e.innerErrors ? Object.values(e.innerErrors).map(String) : []}));
  }
  await Promise.race([client.shutdown(), new Promise(r => setTimeout(r, 2000))]);
  process.exit(0);
})();
"""


def test_node_driver_verified(sluice_proc, certs, node):
    store = sluice_proc("store", args=tls_args(certs))
    r = node(NODE_TLS, store.port, PW, certs / "ca.pem", timeout=60)
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["ok"] and out["release"].startswith("4."), out
    r = node(NODE_TLS, store.port, PW, certs / "otherca.pem", timeout=60)
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert not out["ok"] and any("self-signed certificate" in e or "unable to verify" in e
                                 or "self signed" in e for e in out["inner"]), out


def test_client_certificate_required(sluice_proc, certs):
    store = sluice_proc("store", args=tls_args(certs, ca=True))
    assert roundtrip(store, context(certs, client=True)).startswith("4.")
    errs = refused(store, context(certs))
    assert errs, errs
    assert "TLS handshake failed" in store.log_text()


def test_bad_tls_config(certs):
    for args, why in ((["--tls-key", certs / "server.key"], "tls-cert and tls-key go together"),
                      (["--tls-cert", certs / "server.pem", "--tls-key", certs / "client.key"],
                       "key values mismatch"),
                      (["--tls-cert", certs / "server.pem", "--tls-key", certs / "server.key",
                        "--tls-ca", certs / "nope.pem"], "nope.pem: No such file")):
        r = sh.run_sluice("store", "--listen", f"127.0.0.1:{sh.free_port()}", "--data-dir",
                          certs / "bad-data", *args)
        assert r.returncode != 0 and why in r.stderr, (args, r.stderr)


def test_sluice_clients_over_tls(sluice_proc, certs):
    """sluice's own CQL client (src/cql/client.c) over TLS: the CQL shell with --tls-ca, and the
    processor's cql:// sink with ?tls_ca=, each checking the certificate."""
    store = sluice_proc("store", args=tls_args(certs))
    env = {"SLUICE_CQL_PASSWORD": PW}
    q = "SELECT release_version FROM system.local"
    for host in ("127.0.0.1", "localhost"):
        r = sh.run_sluice("cql", f"{host}:{store.port}", "--tls-ca", certs / "ca.pem", "-e", q,
                          env=env)
        assert r.returncode == 0 and "4.0" in r.stdout, r.stderr
    r = sh.run_sluice("cql", store.addr, "--tls-ca", certs / "otherca.pem", "-e", q, env=env)
    assert r.returncode != 0 and "certificate verify failed" in r.stderr, r.stderr
    r = sh.run_sluice("cql", store.addr, "-e", q, env=env)
    assert r.returncode != 0 and "closed by the server" in r.stderr, r.stderr
    r = sh.run_sluice("cql", store.addr, "--tls-ca", certs / "nope.pem", "-e", q, env=env)
    assert r.returncode != 0 and "nope.pem" in r.stderr, r.stderr

    _, broker, _ = pu.start_stack(sluice_proc, api=False, store=False)
    sink = (f"cql://cassandra@{store.addr}/{pu.KEYSPACE}.{pu.TABLE}"
            f"?tls_ca={certs / 'ca.pem'}")
    pu.start_process(sluice_proc, broker, sink, env=env)
    items, _ = xu.good_items(50)
    xu.produce(broker, items)
    c = cluster(store, context(certs))
    try:
        s = c.connect()
        sh.wait_until(lambda: _count(s) == 50, sh.scaled(30), what="50 rows through TLS")
    finally:
        c.shutdown()


def _count(s):
    try:
        return s.execute(f"SELECT count(*) FROM {pu.KEYSPACE}.{pu.TABLE}").one()[0]
    except Exception:  # the table is made by the processor's sink once it starts
        return -1


def test_up_with_a_tls_store(sluice_proc, certs, tmp_path):
    """`sluice up` with store.tls-cert and cassandra.tls_ca: the table step, the processor's sink
    and the console's CQL clients all reach the store over TLS, checking its certificate."""
    cfg, ports = sh.write_up_config(
        tmp_path, extra=f"cassandra:\n  tls_ca: {certs / 'ca.pem'}\n",
        sections={"store": f"  password: {PW}\n  tls-cert: {certs / 'server.pem'}\n"
                           f"  tls-key: {certs / 'server.key'}\n"})
    up = sluice_proc("up", listen=False, data_dir=True,
                     args=["--config", str(cfg), "--ingest-duration", "2s"])
    up.wait_for_log(r"sluice is up", timeout=60)
    store = types.SimpleNamespace(port=ports["store"])
    c = cluster(store, context(certs))
    try:
        s = c.connect()
        sh.wait_until(lambda: _count(s) > 0, sh.scaled(60), what="rows written over TLS")
    finally:
        c.shutdown()
    time.sleep(sh.scaled(1))  # console collections
    log = up.log_text()
    assert "TLS handshake failed" not in log and "authentication failed" not in log, log[-3000:]
    assert "serving CQL v4" in log and ", TLS)" in log
    # Without the CA the store's TLS is refused under up.
    bad = tmp_path / "bad.yaml"
    bad.write_text("broker:" + cfg.read_text().split("broker:", 1)[1])  # no cassandra: section
    r = sh.run_sluice("up", "--config", bad, "--check")
    assert r.returncode == 2 and "unless cassandra.tls_ca is set" in r.stderr, r.stderr
