"""Helpers for the scheduler's integration tests (test_042x-045x): write DAG files, start
`sluice scheduler`, and read its metadata (SQLite through the stdlib, PostgreSQL through
psycopg2) the way an operator would."""

import sqlite3
import time
from pathlib import Path

import sluice_harness as sh


def write_dag(dir_, text, name="dag.yaml"):
    p = Path(dir_) / name
    p.write_text(text)
    return p


def start(sluice_proc, dags, *args, metadata=None, name=None, wait=True):
    """A scheduler on dags (a file or dir) with a short heartbeat; returns the SluiceProcess.
    Its DAGs start unpaused (as Airflow's own tests set dags_are_paused_at_creation): the tests
    of pausing itself pass "--dags-are-paused-at-creation=true" after it."""
    argv = ["--dags", str(dags), "--default-dag=false", "--heartbeat", "200ms",
            "--tick", "50ms", "--dags-are-paused-at-creation=false", *map(str, args)]
    if metadata:
        argv += ["--metadata", metadata]
    return sluice_proc("scheduler", args=argv, data_dir=True, name=name, wait=wait)


class Meta:
    """Reads the metadata tables of a scheduler's store."""

    def __init__(self, proc=None, pg_dsn=None):
        self.pg_dsn = pg_dsn
        self.path = None if pg_dsn else Path(proc.data_dir) / "scheduler.db"

    def rows(self, sql, *params):
        if self.pg_dsn:
            import psycopg2
            with psycopg2.connect(self.pg_dsn) as c, c.cursor() as cur:
                cur.execute(sql.replace("?", "%s"), params)
                return cur.fetchall()
        c = sqlite3.connect(str(self.path), timeout=10)
        try:
            return c.execute(sql, params).fetchall()
        finally:
            c.close()

    def tis(self, dag_id):
        """{(run_id, task_id): (state, try_number)}"""
        return {(r, t): (s, n) for r, t, s, n in self.rows(
            "SELECT run_id, task_id, state, try_number FROM task_instance WHERE dag_id=?",
            dag_id)}

    def runs(self, dag_id):
        """[(run_id, state, interval_start_ms, interval_end_ms, run_type)] by logical date."""
        return self.rows("SELECT run_id, state, interval_start_ms, interval_end_ms, run_type"
                         " FROM dag_run WHERE dag_id=? ORDER BY logical_ms", dag_id)

    def wait_runs_done(self, dag_id, n, timeout):
        """Waits until dag_id has n runs, all success or failed; returns runs()."""
        def done():
            try:
                rs = self.runs(dag_id)
            except Exception:
                return False
            return len(rs) >= n and all(r[1] in ("success", "failed") for r in rs)
        sh.wait_until(done, sh.scaled(timeout), interval=0.1, what=f"{n} finished runs of {dag_id}")
        return self.runs(dag_id)


def max_overlap(intervals):
    """The largest number of (start, end) intervals open at one instant."""
    ev = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals],
                key=lambda x: (x[0], x[1]))
    cur = best = 0
    for _, d in ev:
        cur += d
        best = max(best, cur)
    return best


def now_ms():
    return int(time.time() * 1000)
