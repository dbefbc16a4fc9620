"""Crash safety: SIGKILL the scheduler while tries run, restart it on the same metadata. No run
is lost, no task try runs twice at once (each try holds a lock file for its whole life and
records a conflict if it finds it held), and the orphaned tries are found by heartbeat and
retried (retries left) or failed (none left), while the killed tries' processes are gone."""

import time

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
