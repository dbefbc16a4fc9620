"""issue 11, security: no secret is ever logged.

Each component runs with credentials in its URLs and options: the store's CQL password,
cql://user:password@ and postgresql://user:password@ sinks (right and wrong credentials, so the
error paths log too), a postgresql:// metadata URL with the password in the userinfo and in a
?password= parameter, an ingest source URL with userinfo, console logins (right and wrong), and
`sluice up` with the store's password in its config file. Every log is then searched for every
secret. A wrong password is a secret too (it is often the right one mistyped). The only password
sluice prints is the console's first-start admin password, shown once on stdout by design
(docs/console.md); it is not one of the secrets searched for here."""

import subprocess

import requests

import console_util as cu
import sluice_harness as sh

S = {k: f"Zq{k}9xSeCrEt{k}" for k in ("store", "wrong", "pgsink", "meta", "metaq", "src",
                                        "cwrong", "console", "up", "cli")}


def assert_clean(text, where):
    for k, v in S.items():
        assert v not in text, f"secret {k!r} appears in {where}"


def test_no_secret_in_any_log(sluice_proc, tmp_path):
    logs = {}
    store = sluice_proc("store", args=["--password", S["store"]])
    broker = sluice_proc("broker")
    # The CQL shell with the right and a wrong password.
    ok = sh.run_sluice("cql", store.addr, "-u", "cassandra", "-p", S["store"], "-e",
                       "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', "
                       "'replication_factor': 1}; CREATE TABLE ks.t (id uuid PRIMARY KEY, "
                       "first_name text)")
    assert ok.returncode == 0, ok.stderr
    bad = sh.run_sluice("cql", store.addr, "-u", "cassandra", "-p", S["wrong"], "-e", "SELECT 1")
    assert bad.returncode != 0 and "incorrect" in (bad.stdout + bad.stderr)
    logs["cql shell"] = ok.stdout + ok.stderr + bad.stdout + bad.stderr
    # Processors whose sinks carry the right password, a wrong one, and an unreachable
    # PostgreSQL (with the password both in the userinfo and as a parameter).
    procs = [
        sluice_proc("process", listen=False, name="p-ok",
                    args=["--kafka", broker.addr, "--sink",
                          f"cql://cassandra:{S['store']}@{store.addr}/ks.t"]),
        sluice_proc("process", listen=False, name="p-wrong",
                    args=["--kafka", broker.addr, "--sink",
                          f"cql://cassandra:{S['cwrong']}@{store.addr}/ks.t"]),
        sluice_proc("process", listen=False, name="p-pg",
                    args=["--kafka", broker.addr, "--sink",
                          f"postgresql://u:{S['pgsink']}@127.0.0.1:1/db?connect_timeout=1"]),
    ]
    procs[0].wait_for_log(r"consuming|assigned|sink", timeout=20)
    procs[1].wait_for_log(r"cannot open", timeout=20)
    procs[2].wait_for_log(r"cannot open", timeout=20)
    # Scheduler metadata on an unreachable PostgreSQL: a startup error naming the URL.
    for url in (f"postgresql://u:{S['meta']}@127.0.0.1:1/db?connect_timeout=1",
                f"postgresql://127.0.0.1:1/db?user=u&password={S['metaq']}&connect_timeout=1"):
        r = sh.run_sluice("scheduler", "--listen", f"127.0.0.1:{sh.free_port()}", "--dags",
                          str(tmp_path), "--metadata", url)
        assert r.returncode != 0
        assert "***" in r.stderr, r.stderr
        logs[f"scheduler {url[:12]}"] = r.stdout + r.stderr
    # Ingest from a source URL with userinfo (the fake-api ignores it).
    api = sluice_proc("fake-api")
    r = sh.run_sluice("ingest", "--source", f"http://u:{S['src']}@{api.addr}/api/", "--topic",
                      "users_created", "--kafka", broker.addr, "--count", "5", timeout=60)
    assert r.returncode == 0, r.stderr
    logs["ingest"] = r.stdout + r.stderr
    # Console logins, right and wrong, over JSON and basic auth.
    con = cu.start(sluice_proc, args=["--kafka", broker.addr])
    cu.add_user(con, "alice", "admin", S["console"])
    assert cu.login(con, "alice", S["console"]).get(cu.url(con, "/api/session")).ok
    r = requests.post(cu.url(con, "/api/login"), json={"user": "alice", "password": S["wrong"]})
    assert r.status_code == 401
    r = requests.get(cu.url(con, "/api/session"), auth=("alice", S["wrong"]))
    assert r.status_code == 401
    # up with the store's password in its config file.
    cfg = tmp_path / "up.yaml"
    cfg.write_text(f"store:\n  password: {S['up']}\n")
    up = sluice_proc("up", listen=False, args=["--config", cfg, "--ingest-duration", "0"])
    up.wait_for_log(r"sluice is up", timeout=60)
    # Clients before the servers they use, as up stops them: a processor whose sink's prepare
    # is in flight when the store goes waits up to --sink-timeout (10 s) for it to come back.
    for p in [*procs, up, con, api, broker, store]:
        p.stop()
        # Lines starting "=== " are the harness's own (the command line it ran), not sluice's.
        logs[p.name] = "\n".join(x for x in p.log_text().splitlines() if not x.startswith("=== "))
    # The store's own data dir holds no password either (nothing to leak at rest).
    for f in store.data_dir.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            for k, v in S.items():
                assert v.encode() not in data, f"secret {k!r} stored in {f}"
    for where, text in logs.items():
        assert_clean(text, where)
    assert len(logs) >= 10
