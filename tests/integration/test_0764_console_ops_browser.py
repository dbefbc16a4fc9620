"""Browser steps of the DAGs, Tables and Schemas pages (issue 8's Chromium list: trigger
user_automation and watch the run turn green; run a CQL query; see a schema), in Debian's
chromium driven by playwright-core (tests/browser/ops_pages.mjs) against a console over real
servers: fake-api and broker under a scheduler whose user_automation ingests for 3 s, a store
with a table of 45 rows written by python3-cassandra, and a registry holding two versions of a
subject. Screenshots are kept in $SLUICE_ARTIFACTS (default build/test-artifacts/)."""

import json
import os
import subprocess

import console_util as cu
import cql_util as cq
import pipeline_util as pu
import registry_util as ru
import sched_util as su
import sluice_harness as sh

USER_AUTOMATION = """
dag_id: user_automation
description: the seeds' DAG, ingesting for 3 s so the browser test stays short
schedule: "@daily"
start_date: 2024-01-01
catchup: false
tasks:
  - task_id: stream_data_from_api
    type: ingest
    duration: 3s
"""


def test_ops_pages_in_chromium(sluice_proc, tmp_path, repo):
    api = sluice_proc("fake-api")
    broker = sluice_proc("broker")
    pu.create_topic(broker, pu.TOPIC, 1)
    dags = su.write_dag(tmp_path, USER_AUTOMATION)
    sched = sluice_proc("scheduler", data_dir=True,
                        args=["--dags", str(dags), "--tick", "50ms",
                              "--dags-are-paused-at-creation=false"],
                        env={"SLUICE_INGEST_SOURCE": f"http://{api.addr}/api/?seed=browser",
                             "SLUICE_KAFKA": broker.addr})
    store = sluice_proc("store")
    cl = cq.cluster(store)
    try:
        sess = cl.connect()
        cq.create_keyspace(sess, "shop")
        sess.execute("CREATE TABLE shop.items (id int PRIMARY KEY, name text)")
        for i in range(45):
            sess.execute("INSERT INTO shop.items (id, name) VALUES (%s, %s)", (i, f"item {i}"))
    finally:
        cl.shutdown()
    _, reg = ru.start(sluice_proc, broker=broker)
    v1 = {"type": "record", "name": "User", "fields": [{"name": "id", "type": "string"}]}
    v2 = {"type": "record", "name": "User", "fields": [
        {"name": "id", "type": "string"},
        {"name": "email", "type": ["null", "string"], "default": None}]}
    for v in (v1, v2):
        assert ru.call(reg, "POST", "/subjects/users_created-value/versions",
                       {"schema": json.dumps(v)})[0] == 200
    con = cu.start(sluice_proc, args=[
        "--metadata", f"sqlite:{sched.data_dir}/scheduler.db", "--dags", str(dags),
        "--cql", store.addr, "--registry", ru.url(reg), "--kafka", broker.addr])

    env = dict(os.environ, CONSOLE_URL=cu.url(con, ""), ADMIN_PASSWORD=con.admin_password,
               CQL_TABLE="shop.items", SUBJECT="users_created-value",
               TIMEOUT_SCALE=str(sh.timeout_scale()))
    env.setdefault("SLUICE_ARTIFACTS", str(repo / "build" / "test-artifacts"))
    p = subprocess.run(["node", str(repo / "tests" / "browser" / "ops_pages.mjs")], cwd=repo,
                       env=env, capture_output=True, text=True, timeout=sh.scaled(150))
    assert p.returncode == 0 and p.stdout.strip().endswith("ok"), p.stdout + p.stderr
