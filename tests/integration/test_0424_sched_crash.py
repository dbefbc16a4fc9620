"""Crash safety: SIGKILL the scheduler while tries run, restart it on the same metadata. No run
is lost, no task try runs twice at once (each try holds a lock file for its whole life and
records a conflict if it finds it held), and the orphaned tries are found by heartbeat and
retried (retries left) or failed (none left), while the killed tries' processes are gone."""

import os
import random
import time

import requests

import sched_util as su

DAG = """
dag_id: crash
schedule: "@once"
start_date: 2024-01-01
tasks:
"""
TASK = """  - task_id: {id}
    type: shell
    retries: {retries}
    retry_delay: 200ms
    command: "flock -n -E 99 {out}/{id}.lock sh -c 'echo start {{{{ ti.try_number }}}} >> {out}/{id}; sleep 2; echo end {{{{ ti.try_number }}}} >> {out}/{id}' || echo conflict $? >> {out}/conflicts"
"""
EVERY = """
dag_id: ticking
schedule: "every 1s"
catchup: true
max_active_runs: 3
tasks:
  - {task_id: t, type: shell, command: "sleep 0.3"}
"""


def test_sigkill_and_restart(sluice_proc, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    dags = tmp_path / "dags"
    dags.mkdir()
    text = DAG
    retried = [f"r{i}" for i in range(4)]
    final = [f"n{i}" for i in range(2)]
    for i in retried:
        text += TASK.format(id=i, retries=1, out=out)
    for i in final:
        text += TASK.format(id=i, retries=0, out=out)
    su.write_dag(dags, text, "crash.yaml")
    su.write_dag(dags, EVERY, "every.yaml")
    s = su.start(sluice_proc, dags, "--heartbeat-timeout", "2s")
    meta = su.Meta(s)
    # Kill while every crash task's first try runs.
    sh_wait = time.time() + 10
    while time.time() < sh_wait:
        states = [st for (_, t), (st, _) in meta.tis("crash").items()]
        if len(states) == 6 and all(st == "running" for st in states):
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"tries not all running: {meta.tis('crash')}")
    time.sleep(0.3)
    runs_before = {r[0] for r in meta.runs("ticking")}
    s.kill9()
    s.start()
    runs = meta.wait_runs_done("crash", 1, 30)
    tis = meta.tis("crash")
    run = runs[0][0]
    for i in retried:
        assert tis[(run, i)] == ("success", 2), i
        lines = (out / i).read_text().split("\n")
        assert lines[:3] == ["start 1", "start 2", "end 2"], lines
    for i in final:
        assert tis[(run, i)] == ("failed", 1), i
        assert (out / i).read_text() == "start 1\n"
    assert not (out / "conflicts").exists(), (out / "conflicts").read_text()
    # The orphaned try is recorded failed with the reason in its log.
    for i in retried + final:
        log = (s.data_dir / "logs/crash" / run / i / "1.log").read_text()
        assert "orphaned" in log, log
    # No run of the every-1s DAG was lost: those created before the kill all finish.
    def all_done():
        st = {r[0]: r[1] for r in meta.runs("ticking")}
        return all(st.get(r) in ("success", "failed") for r in runs_before)
    su.sh.wait_until(all_done, su.sh.scaled(20), what="runs created before the kill finish")
    assert all(r[1] == "success" for r in meta.runs("ticking") if r[0] in runs_before)
    jobs = meta.rows("SELECT state FROM scheduler_job ORDER BY start_ms")
    assert [j[0] for j in jobs] == ["dead", "running"]


MANUAL = """
dag_id: manual
schedule: none
tasks:
"""


def test_sigkill_at_random_moments(sluice_proc, tmp_path):
    """Five SIGKILLs at random moments (SLUICE_CRASH_SEED reruns one choice) while an every-1s
    DAG catches up and manual triggers arrive through the REST API, so kills land in run
    creation, claims, launches and completions alike. Afterwards: every trigger the API
    acknowledged is a run that finishes, the scheduled runs' data intervals follow each other
    without a gap (the intervals that fell due while the scheduler was down were created), every
    run ends final, and no two tries of a task ever held its lock at once."""
    seed = int(os.environ.get("SLUICE_CRASH_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    why = f"(SLUICE_CRASH_SEED={seed})"
    out = tmp_path / "out"
    out.mkdir()
    dags = tmp_path / "dags"
    dags.mkdir()
    lock = ("flock -n -E 99 {out}/{id}-{{{{ run_id }}}}.lock sh -c 'sleep 0.{ms}' ||"
            " echo conflict {id} {{{{ run_id }}}} >> {out}/conflicts")
    manual = MANUAL
    for i in range(3):
        manual += (f"  - {{task_id: m{i}, type: shell, retries: 5, retry_delay: 100ms, command:"
                   f" \"{lock.format(out=out, id=f'm{i}', ms=4)}\"}}\n")
    ticking = ("dag_id: tick\nschedule: \"every 1s\"\ncatchup: true\nmax_active_runs: 4\n"
               "tasks:\n")
    ticking += (f"  - {{task_id: t, type: shell, retries: 5, retry_delay: 100ms, command:"
                f" \"{lock.format(out=out, id='t', ms=2)}\"}}\n")
    su.write_dag(dags, manual, "manual.yaml")
    su.write_dag(dags, ticking, "tick.yaml")
    s = su.start(sluice_proc, dags, "--heartbeat-timeout", "2s")
    meta = su.Meta(s)
    acked = []

    def trigger():
        try:
            r = requests.post(f"http://{s.addr}/api/v1/dags/manual/dagRuns", json={"conf": {}},
                              timeout=2)
        except requests.RequestException:
            return  # down just now: not acknowledged
        if r.status_code == 200:
            acked.append(r.json()["dag_run_id"])

    for k in range(5):
        end = time.monotonic() + rng.uniform(0.5, 2.5)
        while time.monotonic() < end:
            trigger()
            time.sleep(rng.uniform(0.05, 0.3))
        s.kill9()
        time.sleep(rng.uniform(0, 0.3))
        s.start()
    for _ in range(3):
        trigger()
    assert len(acked) >= 5, f"only {len(acked)} triggers acknowledged {why}"

    def settled():
        runs = {r[0]: r[1] for r in meta.runs("manual")}
        return all(runs.get(a) in ("success", "failed") for a in acked)
    su.sh.wait_until(settled, su.sh.scaled(60), interval=0.2,
                     what=f"every acknowledged trigger finished {why}")
    manual_runs = {r[0]: r[1] for r in meta.runs("manual")}
    assert all(manual_runs[a] == "success" for a in acked), (manual_runs, why)
    s.stop()  # no new runs while the rest is read
    sched = [r for r in meta.runs("tick") if r[4] == "scheduled"]
    assert len(sched) >= 5, why
    for prev, nxt in zip(sched, sched[1:]):
        assert nxt[2] == prev[3], f"a gap between {prev} and {nxt} {why}"
    s.start()

    def tick_settled():
        st = {r[0]: r[1] for r in meta.runs("tick")}
        return all(st[r[0]] in ("success", "failed") for r in sched)
    su.sh.wait_until(tick_settled, su.sh.scaled(60), interval=0.2,
                     what=f"every scheduled run final {why}")
    s.stop()
    st = {r[0]: r[1] for r in meta.runs("tick")}
    assert all(st[r[0]] == "success" for r in sched), (st, why)
    assert not (out / "conflicts").exists(), (out / "conflicts").read_text() + why
