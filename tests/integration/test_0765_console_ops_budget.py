"""Issue 8's budget for the DAGs page: every JSON endpoint answers within 50 ms at p99 with
1,000 DAG runs. A real `sluice scheduler` creates the runs (a backfill of 1,000 daily intervals
of a 10-task DAG, kept paused so the runs stay as created: 1,000 runs, 10,000 task instances);
a `sluice console` over the same SQLite store is then asked each endpoint 200 times over one
keep-alive session, and each endpoint's p50/p99 is printed with the console's peak RSS (not in a sanitizer build) (the figures in docs/console.md come
from this test on a quiet machine). The bound asserted is generous, four times the budget and
scaled by SLUICE_TIMEOUT_SCALE, since the test shares two cores with the rest of the suite."""

import os
import time

import requests

import console_budget_util as cbu
import console_util as cu
import sched_util as su
import sluice_harness as sh

N_TASKS = 10
DAG = "dag_id: big\nschedule: \"@daily\"\nstart_date: 2020-01-01\ncatchup: false\ntasks:\n" + \
    "".join(f"  - task_id: t{i}\n    type: shell\n    command: \"true\"\n" +
            (f"    depends_on: t{i - 1}\n" if i else "") for i in range(N_TASKS))
REPS = 200


def test_json_endpoints_p99_with_1000_runs(sluice_proc, tmp_path):
    dags = su.write_dag(tmp_path, DAG)
    sched = su.start(sluice_proc, dags, "--dags-are-paused-at-creation=true")
    base = f"http://{sched.addr}/api/v1"
    r = requests.post(f"{base}/backfills", json={"dag_id": "big", "from_date": "2021-01-01",
                                                 "to_date": "2023-09-27"}, timeout=sh.scaled(60))
    assert r.status_code == 200 and r.json()["created_runs"] == 1000, r.text
    con = cu.start(sluice_proc, args=["--metadata", f"sqlite:{sched.data_dir}/scheduler.db",
                                      "--dags", str(dags)])
    s = cu.login(con)
    runs = s.get(cu.url(con, "/api/v1/dags/big/dagRuns?limit=1000")).json()
    assert runs["total_entries"] == 1000
    run = requests.utils.quote(runs["dag_runs"][500]["dag_run_id"], safe="")
    endpoints = [
        "/api/dags",
        "/api/dags/big",
        "/api/dags/big?runs=365",
        "/api/v1/dags",
        "/api/v1/dags/big",
        "/api/v1/dags/big/dagRuns",
        "/api/v1/dags/big/dagRuns?limit=1000",
        f"/api/v1/dags/big/dagRuns/{run}",
        f"/api/v1/dags/big/dagRuns/{run}/taskInstances",
        "/api/v1/health",
    ]
    assert s.get(cu.url(con, "/api/dags/big")).json()["total_runs"] == 1000
    worst = []
    for path in endpoints:
        lat = []
        for _ in range(REPS):
            t0 = time.perf_counter()
            r = s.get(cu.url(con, path))
            lat.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, (path, r.text)
        p50, p99 = cbu.pct(lat, 0.5), cbu.pct(lat, 0.99)
        print(f"budget {path}: p50 {p50:.2f} ms p99 {p99:.2f} ms ({len(r.content)} bytes,"
              f" load {os.getloadavg()[0]:.1f})")
        worst.append((p99, path))
    p99, path = max(worst)
    assert p99 < 200 * sh.timeout_scale(), f"{path}: p99 {p99:.1f} ms"
    if sh.sanitized(con.pid):
        return
    with open(f"/proc/{con.pid}/status") as f:
        hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    print(f"budget console peak RSS {hwm / 1024:.1f} MiB")
    # generous: the budget is 30 MB, the peak measured 27.6 MB (docs/console.md)
    assert hwm < 40 * 1024, f"console peak RSS {hwm} KiB"
