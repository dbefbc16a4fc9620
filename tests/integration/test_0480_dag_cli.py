"""`sluice dag` against a running scheduler: list, trigger with --conf, runs, tasks, logs (the
latest try and --try N), pause and unpause, backfill --from --to; its usage errors (exit 2),
the API's errors (exit 1 with the detail), an unreachable scheduler; and `dag test`, which runs
one task now and records nothing."""

import json
import time

import sched_util as su
import sluice_harness as sh

DAG = """
dags:
  - dag_id: cli_dag
    schedule: "@daily"
    start_date: 2024-01-01
    catchup: false
    params: {who: nobody}
    tasks:
      - task_id: greet
        type: shell
        command: echo "hi {{ params.who }} {{ ds }}"
      - task_id: flaky
        type: shell
        depends_on: greet
        retries: 1
        retry_delay: 100ms
        command: echo "try {{ try_number }}"; test {{ try_number }} -ge 2
"""


def dag(s, *args, timeout=30):
    return sh.run_sluice("dag", *args, "--scheduler", f"http://{s.addr}", timeout=timeout)


def ok(r):
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    return r.stdout


def wait_done(s, run):
    def done():
        out = ok(dag(s, "runs", "cli_dag"))
        return any(l.startswith(run) and (" success " in l or " failed " in l)
                   for l in out.splitlines())
    sh.wait_until(done, sh.scaled(30), interval=0.2, what=f"run {run}")


def test_cli(sluice_proc, tmp_path):
    s = su.start(sluice_proc, su.write_dag(tmp_path, DAG))
    out = ok(dag(s, "list"))
    assert out.splitlines()[1].split()[:3] == ["cli_dag", "no", "@daily"]

    run = ok(dag(s, "trigger", "cli_dag", "--conf", '{"who": "cli"}')).strip()
    assert run.startswith("manual__")
    wait_done(s, run)
    runs = ok(dag(s, "runs", "cli_dag"))
    line = [l for l in runs.splitlines() if l.startswith(run)][0]
    assert line.split()[1:3] == ["manual", "success"]

    tasks = {l.split()[0]: l.split()[1:3] for l in ok(dag(s, "tasks", "cli_dag", run)).splitlines()[1:]}
    assert tasks == {"greet": ["success", "1"], "flaky": ["success", "2"]}

    log = ok(dag(s, "logs", "cli_dag", run, "greet"))
    assert "hi cli " in log
    assert "try 2\n" in ok(dag(s, "logs", "cli_dag", run, "flaky"))
    first = ok(dag(s, "logs", "cli_dag", run, "flaky", "--try", "1"))
    assert "try 1\n" in first and "exited with status 1" in first

    assert ok(dag(s, "pause", "cli_dag")).strip() == "cli_dag paused"
    assert ok(dag(s, "list")).splitlines()[1].split()[1] == "yes"
    assert ok(dag(s, "unpause", "cli_dag")).strip() == "cli_dag unpaused"

    assert ok(dag(s, "backfill", "cli_dag", "--from", "2024-03-01", "--to", "2024-03-02")
              ).strip() == "2 runs created"
    def backfilled():
        out = ok(dag(s, "runs", "cli_dag"))
        return sum(1 for l in out.splitlines() if l.startswith("backfill__") and " success " in l) == 2
    sh.wait_until(backfilled, sh.scaled(30), interval=0.2, what="2 backfill runs")
    bf = [l for l in ok(dag(s, "runs", "cli_dag")).splitlines() if l.startswith("backfill__")]
    assert bf[0].split()[0] == "backfill__2024-03-01T00:00:00+00:00"
    assert "hi nobody 2024-03-02" in ok(dag(s, "logs", "cli_dag", bf[1].split()[0], "greet"))

    # errors from the API: exit 1 with its detail
    r = dag(s, "trigger", "nope")
    assert r.returncode == 1 and "404" in r.stderr and "nope" in r.stderr
    r = dag(s, "tasks", "cli_dag", "no_such_run")
    assert r.returncode == 1 and "no_such_run" in r.stderr
    r = dag(s, "logs", "cli_dag", run, "greet", "--try", "9")
    assert r.returncode == 1 and "no try 9" in r.stderr
    # usage errors: exit 2
    for args in (["trigger", "cli_dag", "--conf", "{bad"], ["trigger", "cli_dag", "--conf", "[1]"],
                 ["frobnicate"], ["runs"], ["backfill", "cli_dag", "--from", "2024-01-01"],
                 ["trigger", "cli_dag", "--bogus", "1"]):
        r = dag(s, *args)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
    # nothing listening
    r = sh.run_sluice("dag", "list", "--scheduler", f"http://127.0.0.1:{sh.free_port()}")
    assert r.returncode == 1 and "sluice dag:" in r.stderr


def test_dag_test_records_nothing(sluice_proc, tmp_path):
    p = su.write_dag(tmp_path, DAG)
    s = su.start(sluice_proc, p)
    r = sh.run_sluice("dag", "test", "cli_dag", "greet", "--dags", str(p), "--date", "2024-05-06",
                      "--conf", '{"who": "tester"}')
    assert r.returncode == 0, r.stderr
    assert "hi tester 2024-05-06\n" in r.stdout
    r = sh.run_sluice("dag", "test", "cli_dag", "flaky", "--dags", str(p))
    assert r.returncode == 1 and "try 1\n" in r.stdout
    r = sh.run_sluice("dag", "test", "cli_dag", "ghost", "--dags", str(p))
    assert r.returncode == 1 and "task ghost not found" in r.stderr
    time.sleep(0.3)
    assert "manual__" not in ok(dag(s, "runs", "cli_dag"))
    assert su.Meta(s).rows("SELECT count(*) FROM dag_run WHERE run_id LIKE 'test%'") == [(0,)]
