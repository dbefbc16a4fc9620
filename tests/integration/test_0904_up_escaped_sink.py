"""`sluice up` builds the processor's cql:// sink from cassandra.user and cassandra.tls_ca. Both
are %-escaped into the URL and decoded by the sink, so a user name and a CA path holding URL
delimiters ('&', '%', '#', ' ', '?', '@', '/') reach the store intact: rows arrive over TLS as that
user. --check shows the escaped URL; a hand-written sink with a broken escape is refused by name."""

import shutil
import ssl
import types

from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster

import pipeline_util as pu
import sluice_harness as sh
import tls_util as tu

USER = "al&ice %4x#y?z w@"
PW = "p&ss %w#rd?"
USER_ESC = "al%26ice%20%254x%23y%3Fz%20w%40"


def _yaml(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _config(tmp_path, certs, ca):
    return sh.write_up_config(
        tmp_path,
        extra=f"cassandra:\n  tls_ca: {_yaml(str(ca))}\n  user: {_yaml(USER)}\n"
              f"  password: {_yaml(PW)}\n",
        sections={"store": f"  user: {_yaml(USER)}\n  password: {_yaml(PW)}\n"
                           f"  tls-cert: {certs / 'server.pem'}\n"
                           f"  tls-key: {certs / 'server.key'}\n"})


def _count(s):
    try:
        return s.execute(f"SELECT count(*) FROM {pu.KEYSPACE}.{pu.TABLE}").one()[0]
    except Exception:  # the table appears once the table step has run
        return -1


def test_up_sink_with_delimiters_in_user_and_ca_path(sluice_proc, tmp_path):
    (tmp_path / "certs").mkdir()
    certs = tu.make_certs(tmp_path / "certs")
    odd = tmp_path / "a&b %41c#d?e"
    odd.mkdir()
    ca = odd / "ca 1&2.pem"
    shutil.copy(certs / "ca.pem", ca)
    cfg, ports = _config(tmp_path, certs, ca)

    r = sh.run_sluice("up", "--config", cfg, "--check")
    assert r.returncode == 0, r.stderr
    process = next(l for l in r.stdout.splitlines() if l.split()[0] == "process")
    sink = process.split("--sink ", 1)[1].split()[0]
    assert sink.startswith(f"cql://{USER_ESC}@127.0.0.1:{ports['store']}/"), sink
    assert "?tls_ca=%2F" in sink and "%26b%20%2541c%23d%3Fe%2Fca%201%262.pem" in sink, sink

    up = sluice_proc("up", listen=False, data_dir=True,
                     args=["--config", str(cfg), "--ingest-duration", "2s"])
    up.wait_for_log(r"sluice is up", timeout=60)
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca))
    c = Cluster(["127.0.0.1"], port=ports["store"], protocol_version=4, ssl_context=ctx,
                auth_provider=PlainTextAuthProvider(USER, PW), connect_timeout=sh.scaled(10))
    try:
        s = c.connect()
        sh.wait_until(lambda: _count(s) > 0, sh.scaled(60), interval=0.3,
                      what="rows written by the processor through the escaped sink URL")
    finally:
        c.shutdown()
    log = up.log_text()
    assert "bad user:password" not in log and "tls_ca needs a file" not in log, log[-3000:]
    assert "authentication failed" not in log and "TLS handshake failed" not in log, log[-3000:]


def test_process_names_a_broken_escape(sluice_proc, tmp_path):
    """The sink's URL is refused by name (process keeps retrying it, as any sink open failure)."""
    p = sluice_proc("process", listen=False,
                    args=["--kafka", "127.0.0.1:1", "--sink", "cql://al%zzice@127.0.0.1:1/ks.t",
                          "--state-dir", str(tmp_path / "s")])
    p.wait_for_log(r"bad user:password in URL \(empty user or bad %-escape\)", timeout=30)
