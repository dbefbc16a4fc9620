"""issue 11, security: passwords off the command line, where any local user reads them in ps
(/proc/PID/cmdline is world-readable; /proc/PID/environ is the owner's only).

sluice's CQL clients take the password from $SLUICE_CQL_PASSWORD when none is given: the CQL shell
(no -p), the console (no --cql-password) and the processor's cql:// sink (a URL without a
password). `sluice up` puts the store's password there for its children instead of on their
command lines: with the password only in its config file, the table is created, the processor
writes rows, the console's collector logs in, and no child's command line holds it."""

import re
import time

from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster

import sluice_harness as sh

PW = "Off-argv pass 42"


def test_cql_shell_reads_the_environment(sluice_proc):
    store = sluice_proc("store", args=["--password", PW])
    env = {"SLUICE_CQL_PASSWORD": PW}
    r = sh.run_sluice("cql", store.addr, "-e", "SELECT release_version FROM system.local",
                      env=env)
    assert r.returncode == 0 and "4." in r.stdout, r.stderr
    r = sh.run_sluice("cql", store.addr, "-e", "SELECT release_version FROM system.local")
    assert r.returncode != 0 and "incorrect" in r.stderr, r.stderr
    # -p wins over the environment.
    r = sh.run_sluice("cql", store.addr, "-p", "wrong", "-e", "SELECT 1 FROM system.local",
                      env=env)
    assert r.returncode != 0


def test_up_children_get_the_password_from_the_environment(sluice_proc, tmp_path):
    cfg, ports = sh.write_up_config(tmp_path, sections={"store": f"  password: {PW}\n"})
    up = sluice_proc("up", listen=False, data_dir=True,
                     args=["--config", str(cfg), "--ingest-duration", "2s"])
    up.wait_for_log(r"sluice is up", timeout=60)
    pids = {name: int(pid) for name, pid in
            re.findall(r"^up\s+\| (\S+) started \(pid (\d+)\)", up.log_text(), re.M)}
    assert {"store", "process", "console"} <= set(pids), pids
    for name, pid in pids.items():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read()
        except FileNotFoundError:  # a finished one-shot step
            continue
        assert PW.encode() not in argv, (name, argv)
    c = Cluster(["127.0.0.1"], port=ports["store"], protocol_version=4,
                auth_provider=PlainTextAuthProvider("cassandra", PW))
    try:
        s = c.connect()
        sh.wait_until(lambda: s.execute(
            "SELECT count(*) FROM spark_streams.created_users").one()[0] > 0,
            sh.scaled(60), what="rows written by the processor")
    finally:
        c.shutdown()
    time.sleep(sh.scaled(1))  # two console collections
    log = up.log_text()
    assert "table" in pids or re.search(r"^table\s+\|", log, re.M)
    assert "authentication failed" not in log, log[-3000:]
    assert PW not in "\n".join(x for x in log.splitlines() if not x.startswith("=== "))
