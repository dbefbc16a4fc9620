"""The console's DAGs page API and the scheduler's REST mounted at /api/v1/ behind the console's
users (issue 8 DAGs, issue 6 "served by the console's HTTP server, with the console's users"),
with python3-requests against a real `sluice scheduler` and `sluice console` sharing one SQLite
metadata store: the list with schedules, next runs and the last runs' states; the grid of runs x
tasks; a trigger with conf that the scheduler runs; pause and unpause; each try's log; clearing
a task; 401 without a login, 403 for the viewer role on every state change, a session without
its CSRF token refused; bad arguments get named 4xx and the console serves on."""

import requests

import console_util as cu
import sched_util as su
import sluice_harness as sh

DAGS = """
dags:
  - dag_id: etl
    description: extract then load
    tags: [console]
    schedule: "@daily"
    start_date: 2024-01-01
    catchup: false
    params: {who: nobody}
    tasks:
      - task_id: extract
        type: shell
        command: echo "extract for {{ params.who }}"
      - task_id: load
        type: shell
        depends_on: extract
        command: echo "load try {{ try_number }}"
  - dag_id: manual_only
    schedule: none
    tasks:
      - task_id: t
        type: shell
        command: "true"
"""


def start_pair(sluice_proc, tmp_path):
    dags = su.write_dag(tmp_path, DAGS)
    sched = su.start(sluice_proc, dags, "--dags-are-paused-at-creation=true")
    meta = f"sqlite:{sched.data_dir}/scheduler.db"
    con = cu.start(sluice_proc, args=["--metadata", meta, "--dags", str(dags)])
    return sched, con


def wait_run(s, con, dag, run, timeout=30):
    got = {}

    def done():
        r = s.get(cu.url(con, f"/api/v1/dags/{dag}/dagRuns/{run}"))
        got["run"] = r.json()
        return r.json()["state"] in ("success", "failed")
    sh.wait_until(done, sh.scaled(timeout), interval=0.1, what=f"run {run} done")
    return got["run"]


def test_dags_page_api(sluice_proc, tmp_path):
    sched, con = start_pair(sluice_proc, tmp_path)
    s = cu.login(con)
    dags = s.get(cu.url(con, "/api/dags")).json()["dags"]
    by = {d["dag_id"]: d for d in dags}
    assert set(by) == {"etl", "manual_only"}  # the scheduler ran with --default-dag=false
    etl = by["etl"]
    assert etl["schedule"] == "@daily" and etl["is_paused"] and etl["tasks"] == 2
    assert etl["next_run"]["logical_date"].endswith("T00:00:00+00:00")
    assert etl["runs"] == [] and by["manual_only"]["next_run"] is None

    # unpause, trigger with conf through /api/v1 (session + CSRF), watch it succeed
    r = s.patch(cu.url(con, "/api/v1/dags/etl"), json={"is_paused": False})
    assert r.status_code == 200 and r.json()["is_paused"] is False, r.text
    r = s.post(cu.url(con, "/api/v1/dags/etl/dagRuns"), json={"conf": {"who": "console"}})
    assert r.status_code == 200, r.text
    run = r.json()["dag_run_id"]
    assert r.json()["conf"] == {"who": "console"}
    assert wait_run(s, con, "etl", run)["state"] == "success"

    log = s.get(cu.url(con, f"/api/v1/dags/etl/dagRuns/{run}/taskInstances/extract/logs/1"),
                headers={"Accept": "text/plain"})
    assert log.status_code == 200 and "extract for console" in log.text, log.text

    dags = {d["dag_id"]: d for d in s.get(cu.url(con, "/api/dags")).json()["dags"]}
    states = [x["state"] for x in dags["etl"]["runs"]]
    assert "success" in states and not dags["etl"]["is_paused"]
    assert any(x["run_id"] == run for x in dags["etl"]["runs"])

    grid = s.get(cu.url(con, "/api/dags/etl")).json()
    assert [t["task_id"] for t in grid["tasks"]] == ["extract", "load"]
    assert grid["tasks"][1]["depends_on"] == ["extract"]
    assert grid["dag"]["params"] == {"who": "nobody"}
    ix = [x["run_id"] for x in grid["runs"]].index(run)
    assert grid["runs"][ix]["conf"] == {"who": "console"}
    assert [c["state"] for c in grid["grid"][ix]] == ["success", "success"]
    assert grid["grid"][ix][1]["try_number"] == 1
    assert grid["total_runs"] == len(grid["runs"])

    # clear load: it runs again as try 2
    r = s.post(cu.url(con, "/api/v1/dags/etl/clearTaskInstances"),
               json={"dag_run_id": run, "task_ids": ["load"], "dry_run": False})
    assert r.status_code == 200 and [t["task_id"] for t in r.json()["task_instances"]] == ["load"]

    def load_try2():
        g = s.get(cu.url(con, "/api/dags/etl")).json()
        c = g["grid"][[x["run_id"] for x in g["runs"]].index(run)][1]
        return c["state"] == "success" and c["try_number"] == 2
    sh.wait_until(load_try2, sh.scaled(30), interval=0.1, what="load try 2 success")
    log = s.get(cu.url(con, f"/api/v1/dags/etl/dagRuns/{run}/taskInstances/load/logs/2")).json()
    assert "load try 2" in log["content"]

    # pause again through basic auth (JSON content type, no session)
    r = requests.patch(cu.url(con, "/api/v1/dags/etl"), json={"is_paused": True},
                       auth=("admin", con.admin_password))
    assert r.status_code == 200 and r.json()["is_paused"] is True, r.text
    assert s.get(cu.url(con, "/api/dags")).json()["dags"][0]["is_paused"] is True
    h = requests.get(cu.url(con, "/api/v1/health"), auth=("admin", con.admin_password)).json()
    assert h["scheduler"]["status"] == "healthy" and h["metadatabase"]["status"] == "healthy"


def test_dags_api_auth_and_bad_input(sluice_proc, tmp_path):
    sched, con = start_pair(sluice_proc, tmp_path)
    for path in ("/api/dags", "/api/dags/etl", "/api/v1/dags", "/api/v1/health"):
        assert requests.get(cu.url(con, path)).status_code == 401, path
    r = requests.post(cu.url(con, "/api/v1/dags/etl/dagRuns"), json={})
    assert r.status_code == 401
    pw = cu.add_user(con, "watcher", role="viewer")
    v = cu.login(con, "watcher", pw)
    assert v.get(cu.url(con, "/api/v1/dags")).json()["total_entries"] == 2
    assert v.get(cu.url(con, "/api/dags")).status_code == 200
    for method, path, body in (
            ("POST", "/api/v1/dags/etl/dagRuns", {}),
            ("PATCH", "/api/v1/dags/etl", {"is_paused": False}),
            ("POST", "/api/v1/dags/etl/clearTaskInstances",
             {"dag_run_id": "x", "task_ids": ["load"], "dry_run": False})):
        r = v.request(method, cu.url(con, path), json=body)
        assert r.status_code == 403, (method, path, r.status_code, r.text)
        r = requests.request(method, cu.url(con, path), json=body, auth=("watcher", pw))
        assert r.status_code == 403, (method, path, r.status_code, r.text)
    s = cu.login(con)
    del s.headers["X-CSRF-Token"]
    assert s.post(cu.url(con, "/api/v1/dags/etl/dagRuns"), json={}).status_code == 403
    assert s.get(cu.url(con, "/api/v1/dags/etl/dagRuns")).json()["total_entries"] == 0

    a = cu.login(con)
    cases = [
        ("/api/dags/nope", 404), ("/api/dags/etl?runs=0", 400), ("/api/dags/etl?runs=366", 400),
        ("/api/dags/etl?runs=x", 400), ("/api/dags/etl?offset=-1", 400),
        ("/api/v1/dags/nope", 404), ("/api/v1/dags/etl/dagRuns?limit=0", 400),
        ("/api/v1/nowhere", 404),
    ]
    for path, status in cases:
        r = a.get(cu.url(con, path))
        assert r.status_code == status, (path, r.status_code, r.text)
    r = a.post(cu.url(con, "/api/v1/dags/etl/dagRuns"), data=b"{bad",
               headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "not JSON" in r.json()["detail"]
    assert a.get(cu.url(con, "/api/dags")).status_code == 200


def test_metadata_unavailable_is_503(sluice_proc, tmp_path):
    con = cu.start(sluice_proc, args=["--metadata", f"sqlite:{tmp_path}/no/such/dir/x.db"])
    s = cu.login(con)
    for path in ("/api/dags", "/api/v1/dags"):
        r = s.get(cu.url(con, path))
        assert r.status_code == 503 and "cannot be opened" in r.json()["error"], r.text
    r = s.get(cu.url(con, "/api/session"))
    assert r.status_code == 200


def test_dag_cli_through_the_console(sluice_proc, tmp_path, run_sluice):
    """`sluice dag` pointed at the console (as under `sluice up`, where the console has 8080)
    authenticates with --user and $SLUICE_PASSWORD; without them it is refused with the
    console's reason, and a viewer cannot trigger."""
    sched, con = start_pair(sluice_proc, tmp_path)
    url = cu.url(con, "")
    env = {"SLUICE_PASSWORD": con.admin_password}
    p = run_sluice("dag", "list", "--scheduler", url, "--user", "admin", env=env)
    assert p.returncode == 0 and "etl" in p.stdout and "manual_only" in p.stdout, p.stderr
    p = run_sluice("dag", "unpause", "etl", "--scheduler", url, "--user", "admin", env=env)
    assert p.returncode == 0, p.stderr
    p = run_sluice("dag", "trigger", "etl", "--conf", '{"who": "cli"}', "--scheduler", url,
                   "--user", "admin", env=env)
    assert p.returncode == 0 and p.stdout.startswith("manual__"), p.stderr
    p = run_sluice("dag", "list", "--scheduler", url)
    assert p.returncode == 1 and "401" in p.stderr, p.stderr
    p = run_sluice("dag", "list", "--scheduler", url, "--user", "admin",
                   env={"SLUICE_PASSWORD": "wrong"})
    assert p.returncode == 1 and "401" in p.stderr
    pw = cu.add_user(con, "watcher", role="viewer")
    p = run_sluice("dag", "trigger", "etl", "--scheduler", url, "--user", "watcher",
                   env={"SLUICE_PASSWORD": pw})
    assert p.returncode == 1 and "403" in p.stderr, p.stderr
    assert con.admin_password not in p.stdout + p.stderr


def test_console_over_postgresql(pg_db, sluice_proc, tmp_path):
    """The same pages over a PostgreSQL metadata store shared with the scheduler: a trigger
    through the console runs, the list and the grid show it, a clear reruns the task."""
    dags = su.write_dag(tmp_path, DAGS)
    su.start(sluice_proc, dags, metadata=pg_db.url)
    con = cu.start(sluice_proc, args=["--metadata", pg_db.url, "--dags", str(dags)])
    s = cu.login(con)
    r = s.post(cu.url(con, "/api/v1/dags/manual_only/dagRuns"), json={"conf": {"a": 1}})
    assert r.status_code == 200, r.text
    run = r.json()["dag_run_id"]
    assert wait_run(s, con, "manual_only", run)["state"] == "success"
    lst = {d["dag_id"]: d for d in s.get(cu.url(con, "/api/dags")).json()["dags"]}
    assert [x["state"] for x in lst["manual_only"]["runs"]] == ["success"]
    g = s.get(cu.url(con, "/api/dags/manual_only")).json()
    assert g["runs"][0]["conf"] == {"a": 1} and g["grid"][0][0]["state"] == "success"
    r = s.post(cu.url(con, "/api/v1/dags/manual_only/clearTaskInstances"),
               json={"dag_run_id": run, "task_ids": ["t"], "dry_run": False})
    assert r.status_code == 200, r.text

    def rerun():
        c = s.get(cu.url(con, "/api/dags/manual_only")).json()["grid"][0][0]
        return c["state"] == "success" and c["try_number"] == 2
    sh.wait_until(rerun, sh.scaled(30), interval=0.1, what="t try 2")
