"""Clearing a task so it reruns (issue 8, DAGs page), through Airflow's
POST /api/v1/dags/{id}/clearTaskInstances on a running `sluice scheduler`, driven by
python3-requests: the cleared task and its downstream run again with the next try number and
their retries restored, the run is queued again and ends success, each try's log is kept; a
task that is not downstream keeps its state; bad bodies get named 400s, unknown runs and tasks
404, a running task 409, and the scheduler serves on."""

import requests

import sched_util as su
import sluice_harness as sh

DAG = """
dag_id: clr
schedule: none
tasks:
  - task_id: a
    type: shell
    command: echo "a try {{ try_number }}"
  - task_id: b
    type: shell
    depends_on: a
    retries: 1
    retry_delay: 100ms
    # fails its first try of every clear cycle, so a restored retry is needed to succeed
    command: if [ $(( {{ try_number }} % 2 )) -eq 1 ]; then exit 4; fi; echo "b ok {{ try_number }}"
  - task_id: side
    type: shell
    command: "true"
  - task_id: slow
    type: shell
    depends_on: side
    command: sleep 30
"""


def wait_state(base, run, task, states, timeout=30):
    got = {}

    def ok():
        r = requests.get(f"{base}/dags/clr/dagRuns/{run}/taskInstances/{task}")
        got["ti"] = r.json()
        return r.json().get("state") in states
    sh.wait_until(ok, sh.scaled(timeout), interval=0.05, what=f"{task} in {states}")
    return got["ti"]


def test_clear_reruns_task_and_downstream(sluice_proc, tmp_path):
    s = su.start(sluice_proc, su.write_dag(tmp_path, DAG))
    base = f"http://{s.addr}/api/v1"
    run = requests.post(f"{base}/dags/clr/dagRuns", json={}).json()["dag_run_id"]
    b = wait_state(base, run, "b", ("success", "failed"))
    assert b["state"] == "success" and b["try_number"] == 2, b
    assert wait_state(base, run, "a", ("success",))["try_number"] == 1
    assert wait_state(base, run, "side", ("success",))["try_number"] == 1
    wait_state(base, run, "slow", ("running",))

    # a running task cannot be cleared
    r = requests.post(f"{base}/dags/clr/clearTaskInstances",
                      json={"dag_run_id": run, "task_ids": ["slow"], "dry_run": False})
    assert r.status_code == 409 and "running" in r.json()["detail"], r.text

    r = requests.post(f"{base}/dags/clr/clearTaskInstances",
                      json={"dag_run_id": run, "task_ids": ["a"], "include_downstream": True,
                            "dry_run": False})
    assert r.status_code == 200, r.text
    assert sorted(t["task_id"] for t in r.json()["task_instances"]) == ["a", "b"]
    a = wait_state(base, run, "a", ("success", "failed"))
    assert a["state"] == "success" and a["try_number"] == 2, a
    # b's first try after the clear fails (try 3), its restored retry succeeds (try 4)
    b = wait_state(base, run, "b", ("success", "failed"))
    assert b["state"] == "success" and b["try_number"] == 4, b
    side = requests.get(f"{base}/dags/clr/dagRuns/{run}/taskInstances/side").json()
    assert side["state"] == "success" and side["try_number"] == 1, side
    for n in (1, 2, 3, 4):
        log = requests.get(f"{base}/dags/clr/dagRuns/{run}/taskInstances/b/logs/{n}",
                           headers={"Accept": "text/plain"})
        assert log.status_code == 200, (n, log.text)
        assert (f"try {n} failed" in log.text) == (n % 2 == 1), (n, log.text)


def test_clear_finished_run_goes_back_to_running(sluice_proc, tmp_path):
    s = su.start(sluice_proc, su.write_dag(tmp_path, """
dag_id: clr
schedule: none
tasks:
  - task_id: only
    type: shell
    command: echo "try {{ try_number }}"; sleep 0.5
"""))
    # the sleep keeps the cleared run from finishing again before it is read back
    base = f"http://{s.addr}/api/v1"
    run = requests.post(f"{base}/dags/clr/dagRuns", json={}).json()["dag_run_id"]
    sh.wait_until(lambda: requests.get(f"{base}/dags/clr/dagRuns/{run}").json()["state"]
                  == "success", sh.scaled(20), what="run success")
    first_end = requests.get(f"{base}/dags/clr/dagRuns/{run}").json()["end_date"]
    r = requests.post(f"{base}/dags/clr/clearTaskInstances",
                      json={"dag_run_id": run, "task_ids": ["only"], "dry_run": False})
    assert r.status_code == 200 and len(r.json()["task_instances"]) == 1, r.text
    assert requests.get(f"{base}/dags/clr/dagRuns/{run}").json()["state"] in ("queued", "running")
    ti = wait_state(base, run, "only", ("success",))
    assert ti["try_number"] == 2
    sh.wait_until(lambda: requests.get(f"{base}/dags/clr/dagRuns/{run}").json()["state"]
                  == "success", sh.scaled(20), what="run success again")
    again = requests.get(f"{base}/dags/clr/dagRuns/{run}").json()
    assert again["end_date"] >= first_end


def test_clear_bad_input(sluice_proc, tmp_path):
    s = su.start(sluice_proc, su.write_dag(tmp_path, DAG))
    base = f"http://{s.addr}/api/v1"
    run = requests.post(f"{base}/dags/clr/dagRuns", json={}).json()["dag_run_id"]
    url = f"{base}/dags/clr/clearTaskInstances"
    cases = [
        ({"task_ids": ["a"], "dry_run": False}, 400, "dag_run_id"),
        ({"dag_run_id": run, "dry_run": False}, 400, "task_ids"),
        ({"dag_run_id": run, "task_ids": [], "dry_run": False}, 400, "task_ids"),
        ({"dag_run_id": run, "task_ids": [7], "dry_run": False}, 400, "task_ids"),
        ({"dag_run_id": run, "task_ids": ["a"]}, 400, "dry_run"),
        ({"dag_run_id": run, "task_ids": ["a"], "dry_run": False, "only_failed": True}, 400,
         "only_failed"),
        ({"dag_run_id": run, "task_ids": ["a"], "dry_run": False, "include_downstream": "yes"},
         400, "include_downstream"),
        ({"dag_run_id": run, "task_ids": ["nope"], "dry_run": False}, 404, "nope"),
        ({"dag_run_id": "manual__1999", "task_ids": ["a"], "dry_run": False}, 404, "manual__1999"),
    ]
    for body, status, word in cases:
        r = requests.post(url, json=body)
        assert r.status_code == status, (body, r.status_code, r.text)
        assert word in r.json()["detail"], (body, r.text)
    r = requests.post(url, data=b"{nope")
    assert r.status_code == 400 and "not JSON" in r.json()["detail"]
    r = requests.post(f"{base}/dags/nodag/clearTaskInstances",
                      json={"dag_run_id": run, "task_ids": ["a"], "dry_run": False})
    assert r.status_code == 404
    assert requests.get(f"{base}/health").status_code == 200
