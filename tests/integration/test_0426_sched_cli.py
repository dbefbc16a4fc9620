"""`sluice scheduler` itself: GET /api/v1/health answers with the metadata and heartbeat status;
bad flags exit 2 with a one-line reason (unknown metadata URL scheme, a bad --pools entry); an
unreachable PostgreSQL exits 1 naming the server without its password; a bad DAG file is
reported with file:line while the good ones are scheduled."""

import json
import subprocess

import requests

import sched_util as su
import sluice_harness as sh


def run(*args):
    return subprocess.run([str(sh.sluice_bin()), "scheduler", "--default-dag=false", *args],
                          capture_output=True, text=True, timeout=sh.scaled(20))


def test_health(sluice_proc, tmp_path):
    dags = su.write_dag(tmp_path, 'dag_id: h\ntasks: [{task_id: t, type: shell, command: "true"}]\n')
    s = su.start(sluice_proc, dags)
    r = requests.get(f"http://{s.addr}/api/v1/health", timeout=5)
    assert r.status_code == 200
    body = r.json()
    assert body["metadatabase"]["status"] == "healthy"
    assert body["scheduler"]["status"] == "healthy"
    assert body["scheduler"]["latest_scheduler_heartbeat"].endswith("+00:00")
    assert requests.get(f"http://{s.addr}/api/v1/nope", timeout=5).status_code == 404


def test_bad_flags(tmp_path):
    r = run("--metadata", "mysql://x/y", "--data-dir", str(tmp_path), "--listen", "127.0.0.1:0")
    assert r.returncode == 2 and "sqlite:PATH or postgresql://" in r.stderr
    r = run("--pools", "etl=many", "--data-dir", str(tmp_path), "--listen", "127.0.0.1:0")
    assert r.returncode == 2 and 'bad pool "etl=many"' in r.stderr
    r = run("--metadata", "postgresql://u:hunter2@127.0.0.1:1/db", "--data-dir", str(tmp_path),
            "--listen", "127.0.0.1:0")
    assert r.returncode == 1
    assert "cannot connect to postgresql://u:***@127.0.0.1:1/db" in r.stderr
    assert "hunter2" not in r.stderr
    r = run("--nope")
    assert r.returncode == 2


def test_bad_dag_does_not_stop_the_others(sluice_proc, tmp_path):
    d = tmp_path / "dags"
    d.mkdir()
    su.write_dag(d, "dag_id: broken\nschedule: '61 * * * *'\ntasks: [{task_id: t, type: shell,"
                 " command: 'true'}]\n", "a.yaml")
    su.write_dag(d, "dag_id: good\nschedule: '@once'\nstart_date: 2024-01-01\n"
                 "tasks: [{task_id: t, type: shell, command: 'true'}]\n", "b.yaml")
    s = su.start(sluice_proc, d)
    runs = su.Meta(s).wait_runs_done("good", 1, 10)
    assert runs[0][1] == "success"
    assert "a.yaml:2" in s.log_text()
    assert su.Meta(s).rows("SELECT dag_id FROM dag ORDER BY dag_id") == [("good",)]
