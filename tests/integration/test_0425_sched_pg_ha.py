"""PostgreSQL metadata and HA: two schedulers share one PostgreSQL database (started together,
so they also race the schema migration) and a DAG of 200 short tasks. Each try runs exactly
once, counted by the tasks' side effects, and both schedulers take a share (claims use
FOR UPDATE SKIP LOCKED). Then one scheduler is SIGKILLed with tries running: the other adopts
its task instances once its heartbeat times out and retries them."""

import collections
import os
import signal
import time

import sched_util as su

DAG = """
dag_id: ha
schedule: "@once"
start_date: 2024-01-01
tasks:
"""


def test_two_schedulers_200_tasks(pg_db, sluice_proc, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    text = DAG
    for i in range(200):
        text += (f"  - {{task_id: t{i:03d}, type: shell, command: \"echo {{{{ task.task_id }}}}"
                 f" {{{{ ti.try_number }}}} >> {out}/tries\"}}\n")
    dags = su.write_dag(tmp_path, text)
    a = su.start(sluice_proc, dags, metadata=pg_db.url, name="sched-a", wait=False)
    b = su.start(sluice_proc, dags, metadata=pg_db.url, name="sched-b", wait=False)
    a.wait_ready()
    b.wait_ready()
    meta = su.Meta(pg_dsn=pg_db.dsn)
    runs = meta.wait_runs_done("ha", 1, 60)
    assert runs[0][1] == "success"
    lines = (out / "tries").read_text().split("\n")
    counts = collections.Counter(filter(None, lines))
    assert len(counts) == 200
    assert set(counts.values()) == {1}, [k for k, v in counts.items() if v > 1]
    assert all(k.endswith(" 1") for k in counts)
    tis = meta.tis("ha")
    assert all(v == ("success", 1) for v in tis.values()) and len(tis) == 200
    by = meta.rows("SELECT scheduler_id, count(*) FROM task_try WHERE dag_id='ha'"
                   " GROUP BY scheduler_id")
    assert len(by) == 2, f"one scheduler did everything: {by}"
    assert meta.rows("SELECT max(version) FROM sl_schema") == [(3,)]


SLOW = """
dag_id: adopt
schedule: "@once"
start_date: 2024-01-01
tasks:
"""


def running_tries(meta, dag_id, pid):
    """(job id, task ids with a running try) of the scheduler whose process is pid; (None,
    set()) while it has registered no running job."""
    jobs = meta.rows("SELECT id FROM scheduler_job WHERE pid=%s AND state='running'" % pid)
    if not jobs:
        return None, set()
    job = jobs[0][0]
    return job, {t for (t,) in meta.rows(
        "SELECT task_id FROM task_instance WHERE dag_id='%s' AND state='running'"
        " AND scheduler_id=%s" % (dag_id, job))}


def assert_retried_once(meta, dag_id, tasks, out):
    """The run succeeded, and each of tasks ran exactly two tries, the orphaned one and its
    retry, each recording its try number in out/TASK."""
    runs = meta.wait_runs_done(dag_id, 1, 30)
    assert runs[0][1] == "success"
    tis = meta.tis(dag_id)
    for t in tasks:
        (_, n), = [v for (r, tt), v in tis.items() if tt == t]
        assert n == 2, t
        assert (out / t).read_text() == "1\n2\n"


def test_adoption_after_heartbeat_timeout(pg_db, sluice_proc, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    text = SLOW
    for i in range(6):
        text += (f"  - {{task_id: s{i}, type: shell, retries: 1, retry_delay: 100ms, command:"
                 f" \"echo {{{{ ti.try_number }}}} >> {out}/s{i}; sleep 1.5\"}}\n")
    dags = su.write_dag(tmp_path, text)
    args = ("--heartbeat-timeout", "1s", "--parallelism", "3")
    a = su.start(sluice_proc, dags, *args, metadata=pg_db.url, name="sched-a")
    b = su.start(sluice_proc, dags, *args, metadata=pg_db.url, name="sched-b")
    meta = su.Meta(pg_dsn=pg_db.dsn)
    deadline = time.time() + su.sh.scaled(10)
    while time.time() < deadline:
        rows = meta.rows("SELECT scheduler_id FROM task_instance WHERE dag_id='adopt'"
                         " AND state='running'")
        if len({r[0] for r in rows}) == 2:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("both schedulers never ran tries at once")
    job_a, mine = running_tries(meta, "adopt", a.pid)
    assert mine
    a.kill9()
    assert_retried_once(meta, "adopt", mine, out)
    assert meta.rows("SELECT state FROM scheduler_job WHERE id=%s" % job_a) == [("dead",)]
    b.stop()


def test_stalled_scheduler_adopted_after_heartbeat_timeout(pg_db, sluice_proc, tmp_path):
    """A scheduler that stops heartbeating while its process lives (SIGSTOP, as a stalled VM or
    a long GC pause would) is adopted only once its heartbeat is older than the timeout: on the
    same host its live pid gives no shortcut. The adopter kills its tries and retries them.
    Resumed (SIGCONT), the stalled scheduler finds itself declared dead, kills what it still
    holds and registers again as a new job. Every task takes a flock around its work, so a try
    that overlapped another would be recorded."""
    out = tmp_path / "out"
    out.mkdir()
    text = SLOW.replace("dag_id: adopt", "dag_id: stall")
    for i in range(6):
        text += (f"  - {{task_id: s{i}, type: shell, retries: 1, retry_delay: 100ms, command:"
                 f" \"flock -n {out}/s{i}.lock -c 'echo {{{{ ti.try_number }}}} >> {out}/s{i};"
                 f" sleep 1.5' || echo s{i} >> {out}/overlap\"}}\n")
    dags = su.write_dag(tmp_path, text)
    timeout = 2.0
    args = ("--heartbeat-timeout", f"{int(timeout * 1000)}ms", "--parallelism", "3")
    a = su.start(sluice_proc, dags, *args, metadata=pg_db.url, name="sched-a")
    b = su.start(sluice_proc, dags, *args, metadata=pg_db.url, name="sched-b")
    meta = su.Meta(pg_dsn=pg_db.dsn)
    def a_running():
        job, tasks = running_tries(meta, "stall", a.pid)
        return (job, tasks) if tasks else None
    job_a, mine = su.sh.wait_until(a_running, su.sh.scaled(10), what="scheduler a running a try")
    os.kill(a.pid, signal.SIGSTOP)
    stopped = time.monotonic()
    try:
        def declared_dead():
            return meta.rows("SELECT state FROM scheduler_job WHERE id=%s" % job_a) == [("dead",)]
        su.sh.wait_until(declared_dead, su.sh.scaled(15), interval=0.05,
                         what="scheduler a declared dead")
        waited = time.monotonic() - stopped
        # Its last heartbeat was at most one period (200 ms) before the stop.
        assert waited >= timeout - 0.25, f"adopted {waited:.2f} s after the stall"
        assert a.running  # alive all along, only stalled
    finally:
        os.kill(a.pid, signal.SIGCONT)
    assert_retried_once(meta, "stall", mine, out)
    assert not (out / "overlap").exists(), (out / "overlap").read_text()
    su.sh.wait_until(lambda: "was declared dead by another scheduler" in a.log_text(),
                     su.sh.scaled(10), what="a notices it was declared dead")
    assert a.running
    assert meta.rows("SELECT count(*) FROM scheduler_job WHERE pid=%s AND state='running'"
                     % a.pid) == [(1,)]  # registered again
    a.stop()
    b.stop()
