"""The scheduler's REST API (Airflow's stable API v1 shapes) with python3-requests against a
running `sluice scheduler`: DAGs listed, read and paused; runs triggered with conf, listed and
read with their data intervals; task instances with states and try numbers; a try's log as JSON
and as text; health; backfill runs for each interval; and the error paths (404 unknown DAG, run,
task or try, 400 bad JSON, bad conf, bad paging, 405), the scheduler serving on after each."""

import requests

import sched_util as su
import sluice_harness as sh

DAG = """
dags:
  - dag_id: api_dag
    description: two shell tasks
    tags: [api, test]
    schedule: none
    params: {who: nobody}
    tasks:
      - task_id: hello
        type: shell
        command: echo "hello {{ params.who }}"
      - task_id: boom
        type: shell
        depends_on: hello
        retries: 1
        retry_delay: 100ms
        command: echo "try {{ try_number }}"; exit 3
  - dag_id: daily
    schedule: "@daily"
    start_date: 2024-01-01
    catchup: false
    tasks:
      - task_id: t
        type: shell
        command: "true"
"""


def start(sluice_proc, tmp_path):
    s = su.start(sluice_proc, su.write_dag(tmp_path, DAG))
    return s, f"http://{s.addr}/api/v1"


def wait_run(base, dag, run, timeout=30):
    out = {}

    def done():
        r = requests.get(f"{base}/dags/{dag}/dagRuns/{run}")
        out["run"] = r.json()
        return r.json()["state"] in ("success", "failed")
    sh.wait_until(done, sh.scaled(timeout), interval=0.1, what=f"run {run} done")
    return out["run"]


def problem(r, status):
    assert r.status_code == status, (r.status_code, r.text)
    j = r.json()
    assert j["status"] == status and j["title"] and j["detail"] and j["type"], j
    return j


def test_dags_runs_tasks_logs(sluice_proc, tmp_path):
    s, base = start(sluice_proc, tmp_path)
    h = requests.get(f"{base}/health").json()
    assert h["metadatabase"]["status"] == "healthy"
    assert h["scheduler"]["status"] == "healthy" and h["scheduler"]["latest_scheduler_heartbeat"]

    dags = requests.get(f"{base}/dags").json()
    assert dags["total_entries"] == 2
    assert [d["dag_id"] for d in dags["dags"]] == ["api_dag", "daily"]
    d = requests.get(f"{base}/dags/api_dag").json()
    assert d["description"] == "two shell tasks" and d["is_paused"] is False
    assert [t["name"] for t in d["tags"]] == ["api", "test"]
    daily = requests.get(f"{base}/dags/daily").json()
    assert daily["schedule_interval"] == {"__type": "CronExpression", "value": "@daily"}
    assert requests.get(f"{base}/dags", params={"limit": 1, "offset": 1}).json()["dags"][0][
        "dag_id"] == "daily"

    r = requests.post(f"{base}/dags/api_dag/dagRuns", json={"conf": {"who": "api"}})
    assert r.status_code == 200, r.text
    run = r.json()
    assert run["dag_id"] == "api_dag" and run["conf"] == {"who": "api"}
    assert run["dag_run_id"].startswith("manual__") and run["run_type"] == "manual"
    assert run["external_trigger"] is True
    for k in ("logical_date", "data_interval_start", "data_interval_end", "state"):
        assert k in run
    rid = run["dag_run_id"]
    done = wait_run(base, "api_dag", requests.utils.quote(rid, safe=""))
    assert done["state"] == "failed"
    assert done["start_date"] and done["end_date"]

    runs = requests.get(f"{base}/dags/api_dag/dagRuns").json()
    assert runs["total_entries"] == 1 and runs["dag_runs"][0]["dag_run_id"] == rid

    q = requests.utils.quote(rid, safe="")
    tis = requests.get(f"{base}/dags/api_dag/dagRuns/{q}/taskInstances").json()
    by = {t["task_id"]: t for t in tis["task_instances"]}
    assert tis["total_entries"] == 2
    assert by["hello"]["state"] == "success" and by["hello"]["try_number"] == 1
    assert by["boom"]["state"] == "failed" and by["boom"]["try_number"] == 2
    assert by["boom"]["max_tries"] == 2 and by["boom"]["operator"] == "shell"
    assert by["hello"]["duration"] is not None and by["hello"]["dag_run_id"] == rid

    log = requests.get(f"{base}/dags/api_dag/dagRuns/{q}/taskInstances/hello/logs/1")
    assert log.status_code == 200 and "hello api\n" in log.json()["content"]
    for t in (1, 2):
        text = requests.get(f"{base}/dags/api_dag/dagRuns/{q}/taskInstances/boom/logs/{t}",
                            headers={"Accept": "text/plain"})
        assert text.headers["Content-Type"].startswith("text/plain")
        assert f"try {t}\n" in text.text and "exited with status 3" in text.text

    # pause / unpause
    r = requests.patch(f"{base}/dags/api_dag", json={"is_paused": True},
                       params={"update_mask": "is_paused"})
    assert r.status_code == 200 and r.json()["is_paused"] is True
    assert requests.get(f"{base}/dags/api_dag").json()["is_paused"] is True
    assert [d["dag_id"] for d in requests.get(f"{base}/dags", params={"paused": "true"}).json()[
        "dags"]] == ["api_dag"]
    r = requests.patch(f"{base}/dags/api_dag", json={"is_paused": False})
    assert r.json()["is_paused"] is False


def test_paused_dag_does_not_run(sluice_proc, tmp_path):
    s, base = start(sluice_proc, tmp_path)
    requests.patch(f"{base}/dags/api_dag", json={"is_paused": True}).raise_for_status()
    rid = requests.post(f"{base}/dags/api_dag/dagRuns", json={}).json()["dag_run_id"]
    q = requests.utils.quote(rid, safe="")
    import time
    time.sleep(1.0)
    run = requests.get(f"{base}/dags/api_dag/dagRuns/{q}").json()
    assert run["state"] == "queued", run
    requests.patch(f"{base}/dags/api_dag", json={"is_paused": False}).raise_for_status()
    assert wait_run(base, "api_dag", q)["state"] == "failed"


def test_backfill(sluice_proc, tmp_path):
    s, base = start(sluice_proc, tmp_path)
    r = requests.post(f"{base}/backfills", json={"dag_id": "daily", "from_date": "2024-02-01",
                                                 "to_date": "2024-02-03"})
    assert r.status_code == 200, r.text
    assert r.json()["created_runs"] == 3

    def all_done():
        rs = requests.get(f"{base}/dags/daily/dagRuns", params={"limit": 100}).json()["dag_runs"]
        bf = [x for x in rs if x["run_type"] == "backfill"]
        return len(bf) == 3 and all(x["state"] == "success" for x in bf)
    sh.wait_until(all_done, sh.scaled(30), interval=0.1, what="3 backfill runs")
    rs = [x for x in requests.get(f"{base}/dags/daily/dagRuns").json()["dag_runs"]
          if x["run_type"] == "backfill"]
    assert [(x["data_interval_start"], x["data_interval_end"]) for x in rs] == [
        ("2024-02-01T00:00:00+00:00", "2024-02-02T00:00:00+00:00"),
        ("2024-02-02T00:00:00+00:00", "2024-02-03T00:00:00+00:00"),
        ("2024-02-03T00:00:00+00:00", "2024-02-04T00:00:00+00:00")]
    assert [x["logical_date"] for x in rs] == [x["data_interval_start"] for x in rs]
    # the same range again creates nothing
    r = requests.post(f"{base}/backfills", json={"dag_id": "daily", "from_date": "2024-02-01",
                                                 "to_date": "2024-02-03"})
    assert r.json()["created_runs"] == 0
    problem(requests.post(f"{base}/backfills", json={"dag_id": "api_dag", "from_date":
                                                     "2024-02-01", "to_date": "2024-02-03"}), 400)
    problem(requests.post(f"{base}/backfills", json={"dag_id": "daily", "from_date": "2024-02-05",
                                                     "to_date": "2024-02-03"}), 400)
    problem(requests.post(f"{base}/backfills", json={"dag_id": "daily", "from_date": "soon",
                                                     "to_date": "2024-02-03"}), 400)


def test_errors(sluice_proc, tmp_path):
    s, base = start(sluice_proc, tmp_path)
    assert "nope" in problem(requests.get(f"{base}/dags/nope"), 404)["detail"]
    problem(requests.get(f"{base}/dags/nope/dagRuns"), 404)
    problem(requests.post(f"{base}/dags/nope/dagRuns", json={}), 404)
    problem(requests.patch(f"{base}/dags/nope", json={"is_paused": True}), 404)
    problem(requests.get(f"{base}/dags/api_dag/dagRuns/no_such_run"), 404)
    problem(requests.get(f"{base}/dags/api_dag/dagRuns/no_such_run/taskInstances"), 404)
    problem(requests.get(f"{base}/no/such/endpoint"), 404)
    # bad bodies
    j = problem(requests.post(f"{base}/dags/api_dag/dagRuns", data="{not json",
                              headers={"Content-Type": "application/json"}), 400)
    assert "not JSON" in j["detail"]
    problem(requests.post(f"{base}/dags/api_dag/dagRuns", json=[1, 2]), 400)
    problem(requests.post(f"{base}/dags/api_dag/dagRuns", json={"conf": "x=1"}), 400)
    problem(requests.post(f"{base}/dags/api_dag/dagRuns", json={"conf": [1]}), 400)
    problem(requests.post(f"{base}/dags/api_dag/dagRuns", json={"dag_run_id": "mine"}), 400)
    problem(requests.patch(f"{base}/dags/api_dag", json={"is_paused": "yes"}), 400)
    problem(requests.patch(f"{base}/dags/api_dag", json={"is_paused": True},
                           params={"update_mask": "description"}), 400)
    problem(requests.get(f"{base}/dags", params={"limit": "many"}), 400)
    problem(requests.get(f"{base}/dags", params={"limit": 0}), 400)
    problem(requests.get(f"{base}/dags", params={"offset": -1}), 400)
    assert requests.delete(f"{base}/dags/api_dag").status_code == 405
    problem(requests.post(f"{base}/dags/api_dag"), 405)
    # a run exists: unknown task, unknown try, bad try
    rid = requests.post(f"{base}/dags/api_dag/dagRuns", json={}).json()["dag_run_id"]
    q = requests.utils.quote(rid, safe="")
    wait_run(base, "api_dag", q)
    problem(requests.get(f"{base}/dags/api_dag/dagRuns/{q}/taskInstances/ghost"), 404)
    problem(requests.get(f"{base}/dags/api_dag/dagRuns/{q}/taskInstances/hello/logs/7"), 404)
    problem(requests.get(f"{base}/dags/api_dag/dagRuns/{q}/taskInstances/hello/logs/zero"), 400)
    problem(requests.get(f"{base}/dags/api_dag/dagRuns/{q}/taskInstances/ghost/logs/1"), 404)
    # still serving
    assert requests.get(f"{base}/health").status_code == 200
    assert requests.get(f"{base}/dags/api_dag").json()["dag_id"] == "api_dag"
