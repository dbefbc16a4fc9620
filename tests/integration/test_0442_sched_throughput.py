"""Issue 6's benchmark goals, held as regression bounds (bench/bench_scheduler.c has the exact
figures, docs/benchmarks.md the numbers): one run of 1,000 noop tasks (in-process) and one of
300 no-op shell tasks finish in seconds; "every 1s" runs are created within milliseconds of
their instants; the scheduler's RSS is under 20 MB and stops growing: flat over
2,000 more runs once SQLite's page cache (512 KiB) has filled. The
bounds are loose (the test machine is shared) but each is far below what the cost it guards
against would give: a pass over every task instance per try, a WAL checkpoint in every commit, a
leak per run."""

import statistics
import time

import pytest
import requests

import sched_util as su
import sluice_harness as sh


def many(dag_id, n, task):
    return f"dag_id: {dag_id}\ntasks:\n" + "".join(
        f"  - {{task_id: t{i:04d}, {task}}}\n" for i in range(n))


def mem_kb(pid):
    """(RSS, private) in KiB: private is what the process alone holds (Private_Clean +
    Private_Dirty), RSS also counts the pages of shared libraries it has touched."""
    m = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            k, _, v = line.partition(":")
            if v.strip().endswith("kB"):
                m[k] = int(v.split()[0])
    return m["Rss"], m["Private_Clean"] + m["Private_Dirty"]


def trigger(base, dag_id):
    while True:
        r = requests.post(f"{base}/dags/{dag_id}/dagRuns", json={}, timeout=sh.scaled(10))
        if r.status_code != 409:  # two triggers in one millisecond
            assert r.status_code == 200, r.text
            return r.json()["dag_run_id"]


def wait_run(base, dag_id, run, timeout):
    q = requests.utils.quote(run, safe="")
    sh.wait_until(lambda: requests.get(f"{base}/dags/{dag_id}/dagRuns/{q}").json()["state"]
                  == "success", sh.scaled(timeout), interval=0.05, what=f"{dag_id} {run}")


def test_thousand_tasks(sluice_proc, tmp_path):
    d = tmp_path / "dags"
    d.mkdir()
    su.write_dag(d, many("noops", 1000, "type: noop"), "a.yaml")
    su.write_dag(d, many("shells", 300, "type: shell, command: 'true'"), "b.yaml")
    s = su.start(sluice_proc, d)
    base = f"http://{s.addr}/api/v1"
    took = {}
    for dag_id in ("noops", "shells"):
        t0 = time.monotonic()
        wait_run(base, dag_id, trigger(base, dag_id), 120)
        took[dag_id] = time.monotonic() - t0
    print(f"1,000 noop tasks {took['noops']:.2f} s, 300 shell tasks {took['shells']:.2f} s")
    # measured 0.6-1.6 s and 0.8-2 s; before the fixes 1,000 shell tasks took 9-19 s here
    assert took["noops"] < sh.scaled(15)
    assert took["shells"] < sh.scaled(15)


def test_drift_of_every_1s(sluice_proc, tmp_path):
    s = su.start(sluice_proc, su.write_dag(tmp_path, """
dag_id: every
schedule: every 1s
catchup: false
tasks:
  - {task_id: t, type: noop}
"""))
    runs = su.Meta(s).wait_runs_done("every", 7, 20)
    drift = [q - e for q, e in su.Meta(s).rows(
        "SELECT queued_ms, interval_end_ms FROM dag_run WHERE dag_id='every'"
        " ORDER BY logical_ms")]  # without a start_date the first run is at a fire too
    print("drift (ms):", drift)
    assert len(runs) >= 7 and all(x >= 0 for x in drift)
    assert statistics.median(drift) <= 10  # the goal; measured 0-2 ms
    assert max(drift) < sh.scaled(200)  # a busy machine may hold one back


def test_rss_flat(sluice_proc, tmp_path):
    s = su.start(sluice_proc, su.write_dag(tmp_path, """
dag_id: one
max_active_runs: 64
tasks:
  - {task_id: t, type: noop}
"""))
    base = f"http://{s.addr}/api/v1"
    meta = su.Meta(s)

    def runs(n):
        for _ in range(n):
            trigger(base, "one")
        sh.wait_until(lambda: meta.rows("SELECT count(*) FROM dag_run WHERE dag_id='one' AND"
                                        " state NOT IN ('success','failed')")[0][0] == 0,
                      sh.scaled(120), what="the runs to finish")

    if sh.sanitized(s.pid):
        pytest.skip("a sanitizer build's memory is the sanitizer's")
    idle = mem_kb(s.pid)
    runs(1000)  # SQLite's page cache (512 KiB at most) fills up here
    warm = mem_kb(s.pid)
    runs(2000)
    after = mem_kb(s.pid)
    print(f"RSS, private (KiB): idle {idle}, after 1,000 runs {warm}, after 3,000 {after}")
    # RSS was ~20.5 MB idle while every sluice process mapped librocksdb (6.3 MB of it); the
    # store alone loads it now (test_0443), and the whole RSS is held under issue 6's 20 MB.
    mb = 1000 * 1000 // 1024
    assert idle[0] < 20 * mb and after[0] < 20 * mb, (idle, warm, after)
    assert after[0] - warm[0] < 256, (idle, warm, after)  # was +1.4 MB with a 2 MiB cache
