"""Under `sluice up` the console's ops pages see what up started: the DAG list shows the
user_automation up writes into its DAG directory, /api/v1/health reports the scheduler's
heartbeat, the Tables page lists spark_streams.created_users with its columns, the Schemas page
answers from up's registry, and `sluice dag` against the console (which has 8080 under up)
works with --user and $SLUICE_PASSWORD."""

import re

import requests

import sluice_harness as sh
from test_0900_up import start_up, write_config


def test_up_console_ops_pages(sluice_proc, tmp_path, run_sluice):
    cfg, ports = write_config(tmp_path)
    up = start_up(sluice_proc, cfg)
    base = f"http://127.0.0.1:{ports['console']}"
    pw = re.search(r"first start: user admin, password (\S+) \(shown only now\)",
                   up.log_text()).group(1)
    auth = ("admin", pw)

    dags = requests.get(base + "/api/dags", auth=auth, timeout=10).json()["dags"]
    ua = {d["dag_id"]: d for d in dags}["user_automation"]
    # up's own DAG file: with --ingest-duration 0 it has no schedule until triggered by hand
    assert ua["schedule"] is None and ua["tasks"] == 1 and "seeds' DAG" in ua["description"], ua

    def healthy():
        h = requests.get(base + "/api/v1/health", auth=auth, timeout=10).json()
        return h["scheduler"]["status"] == "healthy"
    sh.wait_until(healthy, sh.scaled(20), what="the scheduler's heartbeat seen by the console")

    def created_users():
        r = requests.get(base + "/api/cql/schema", auth=auth, timeout=20)
        if r.status_code != 200:
            return None
        ks = {k["name"]: k for k in r.json()["keyspaces"]}.get("spark_streams")
        return ks and {t["name"]: t for t in ks["tables"]}.get("created_users")
    sh.wait_until(created_users, sh.scaled(30), what="spark_streams.created_users")
    cols = {c["name"]: c["kind"] for c in created_users()["columns"]}
    assert cols["id"] == "partition_key" and "email" in cols

    r = requests.get(base + "/api/schemas", auth=auth, timeout=20)
    assert r.status_code == 200 and r.json()["compatibility"] == "BACKWARD", r.text

    p = run_sluice("dag", "list", "--scheduler", base, "--user", "admin",
                   env={"SLUICE_PASSWORD": pw})
    assert p.returncode == 0 and "user_automation" in p.stdout, p.stderr
