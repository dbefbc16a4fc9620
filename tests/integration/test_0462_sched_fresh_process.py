"""ingest and sql tries run in a fresh sluice (issue 6, the executor; docs/scheduler.md
"Executor and logs"): the child forked for the try execs `sluice __try` at once, so it never
calls libcurl, OpenSSL, librdkafka or libpq in a copy of the scheduler whose in-process tries'
threads may have held those libraries' locks at the fork. The fresh process loads the DAG from
the text the scheduler loaded at start (handed over in a memfd), not from the file, which may
have changed since. `sluice __try` by hand is refused with a clear message."""

import os
import sqlite3
import subprocess

import sched_util as su
import sluice_harness as sh

DAG = """
dag_id: fresh
schedule: "@once"
start_date: 2024-01-01
tasks:
  - {{task_id: edit, type: shell, command: "sed -i s/from-start/edited/ {dag}"}}
  - {{task_id: q, type: sql, conn: "sqlite:{db}", depends_on: edit,
      sql: "INSERT INTO r VALUES ('{{{{ run_id }}}}', 'from-start')"}}
"""


def test_sql_try_runs_fresh_on_the_dag_as_loaded(sluice_proc, tmp_path):
    db = tmp_path / "r.db"
    with sqlite3.connect(str(db)) as c:
        c.execute("CREATE TABLE r (run text, v text)")
    dag = tmp_path / "dags" / "fresh.yaml"
    dag.parent.mkdir()
    dag.write_text(DAG.format(dag=dag, db=db))
    s = su.start(sluice_proc, dag.parent)
    meta = su.Meta(s)
    runs = meta.wait_runs_done("fresh", 1, 30)
    assert runs[0][1] == "success", runs
    run = runs[0][0]
    # the shell try did edit the file, but the sql try ran the statement the scheduler loaded
    assert "edited" in dag.read_text() and "from-start" not in dag.read_text()
    with sqlite3.connect(str(db)) as c:
        assert c.execute("SELECT run, v FROM r").fetchall() == [(run, "from-start")]
    (pid,) = meta.rows("SELECT pid FROM task_try WHERE dag_id='fresh' AND task_id='q'")[0]
    assert pid not in (0, s.pid)
    log = (s.data_dir / "logs" / "fresh" / run / "q" / "1.log").read_text()
    assert f"(pid {pid}, fresh process)" in log and "try 1 succeeded" in log, log
    # the shell try stays a plain forked child
    assert "fresh process" not in (s.data_dir / "logs" / "fresh" / run / "edit" / "1.log").read_text()


def test_try_command_by_hand(tmp_path):
    r = sh.run_sluice("__try")
    assert r.returncode == 2 and "internal command of the scheduler" in r.stderr, r.stderr
    r = sh.run_sluice("--help")
    assert r.returncode == 0 and "__try" not in r.stdout
    r = sh.run_sluice("__try", "x", "f", "d", "t", "run", "1", "0", "0", "{}")
    assert r.returncode == 2 and 'bad descriptor "x"' in r.stderr, r.stderr
    # a DAG text without the named DAG: a clear failure, exit 1
    text = tmp_path / "other.yaml"
    text.write_text("dag_id: other\ntasks:\n  - {task_id: n, type: noop}\n")
    fd = os.open(text, os.O_RDONLY)
    try:
        p = subprocess.run([sh.sluice_bin(), "__try", str(fd), str(text), "missing", "n", "run",
                            "1", "0", "0", "{}"], pass_fds=(fd,), capture_output=True, text=True,
                           timeout=sh.scaled(30))
    finally:
        os.close(fd)
    assert p.returncode == 1 and "missing.n is not in the DAG's text" in p.stderr, p.stderr
