"""End to end, issue 6: triggering the built-in DAG user_automation runs its ingest task
stream_data_from_api for the configured duration (60 s) and the task succeeds, with the
records in the topic. `sluice fake-api` stands in for randomuser.me (1 s per page of 500, so a
minute makes tens of thousands of records, not millions), `sluice broker` for Kafka; the
scheduler finds them through SLUICE_INGEST_SOURCE and SLUICE_KAFKA (the built-in task names no
endpoint). The DAG is paused at creation; as Airflow 2's UI does when a paused DAG is triggered,
the test unpauses it and triggers it. It is @daily without catchup, so unpausing also starts the
latest interval's run, as Airflow does: every record in the topic is accounted for by the two
runs' delivery counts, and those read back are the seeds' records."""

import re

import requests
from confluent_kafka import Consumer, TopicPartition

import ingest_util as iu
import pipeline_util as pu
import sluice_harness as sh


def test_trigger_user_automation(sluice_proc):
    api = sluice_proc("fake-api", args=["--latency-ms", "1000"])
    broker = sluice_proc("broker")
    pu.create_topic(broker, pu.TOPIC, 1)
    s = sluice_proc("scheduler", data_dir=True, args=["--tick", "100ms"],
                    env={"SLUICE_INGEST_SOURCE": f"http://{api.addr}/api/?seed=e2e",
                         "SLUICE_KAFKA": broker.addr})
    base = f"http://{s.addr}/api/v1"
    d = requests.get(f"{base}/dags/user_automation").json()
    assert d["schedule_interval"]["value"] == "@daily" and d["is_paused"] is True
    r = requests.patch(f"{base}/dags/user_automation", json={"is_paused": False})
    assert r.status_code == 200 and r.json()["is_paused"] is False, r.text

    r = requests.post(f"{base}/dags/user_automation/dagRuns", json={"conf": {}})
    assert r.status_code == 200, r.text
    rid = r.json()["dag_run_id"]
    q = requests.utils.quote(rid, safe="")

    def finished():
        st = requests.get(f"{base}/dags/user_automation/dagRuns/{q}").json()["state"]
        return st in ("success", "failed")
    sh.wait_until(finished, sh.scaled(150), interval=0.5, what="the manual run")

    ti = requests.get(f"{base}/dags/user_automation/dagRuns/{q}/taskInstances/"
                      "stream_data_from_api").json()
    log = requests.get(f"{base}/dags/user_automation/dagRuns/{q}/taskInstances/"
                       "stream_data_from_api/logs/1", headers={"Accept": "text/plain"}).text
    assert ti["state"] == "success", log
    assert ti["try_number"] == 1
    # the configured duration: 60 s of fetching, then the last deliveries
    assert 60.0 <= ti["duration"] < 60.0 + sh.scaled(30), (ti["duration"], log)
    assert "ingest: 60.000 s from" in log
    delivered = int(re.search(r"ingest: done: (\d+) records delivered", log).group(1))
    assert delivered > 1000, log

    # every run of the DAG finished; the topic holds what their tries delivered
    def all_done():
        runs = requests.get(f"{base}/dags/user_automation/dagRuns").json()["dag_runs"]
        return all(x["state"] in ("success", "failed") for x in runs)
    sh.wait_until(all_done, sh.scaled(150), interval=0.5, what="every run")
    total = 0
    for run in requests.get(f"{base}/dags/user_automation/dagRuns").json()["dag_runs"]:
        rq = requests.utils.quote(run["dag_run_id"], safe="")
        assert run["state"] == "success", run
        text = requests.get(f"{base}/dags/user_automation/dagRuns/{rq}/taskInstances/"
                            "stream_data_from_api/logs/1", headers={"Accept": "text/plain"}).text
        total += int(re.search(r"ingest: done: (\d+) records delivered", text).group(1))
    c = Consumer({"bootstrap.servers": broker.addr, "group.id": "e2e-check"})
    lo, hi = c.get_watermark_offsets(TopicPartition(pu.TOPIC, 0), timeout=sh.scaled(10))
    c.close()
    assert hi - lo == total

    # the first records, as the seeds' DAG makes them
    c = Consumer({"bootstrap.servers": broker.addr, "group.id": "e2e-read",
                  "auto.offset.reset": "earliest"})
    c.assign([TopicPartition(pu.TOPIC, 0, 0)])
    got = 0
    while got < 200:
        m = c.poll(sh.scaled(10))
        assert m is not None and not m.error()
        iu.check_record(m.key(), m.value())
        got += 1
    c.close()
