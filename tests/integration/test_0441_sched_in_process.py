"""In-process tries (issue 6: "built-in types may run in-process"): noop, http and sensor tries
run on a thread of the scheduler, recorded running with the scheduler's own pid, their logs kept
like a child's; shell stays a child process. execution_timeout cancels an in-process try (an
http request to a peer that never answers, a sensor whose file never comes) and counts as a
failed try, retried then failed; SIGTERM stops the scheduler promptly with one running; after a
SIGKILL the next scheduler adopts the orphaned in-process try without killing anything of its
own."""

import time

import hostile_http as hh
import sched_util as su
import sluice_harness as sh

DAG = """
dag_id: inproc
schedule: "@once"
start_date: 2024-01-01
tasks:
  - {{task_id: nothing, type: noop}}
  - {{task_id: get, type: http, url: "{url}ok", depends_on: nothing}}
  - {{task_id: wait, type: sensor, condition: file_exists, path: "{out}/flag", poke_interval: 50ms,
      depends_on: nothing}}
  - {{task_id: sh, type: shell, command: "touch {out}/flag", depends_on: nothing}}
"""

HANG = """
dag_id: hang
schedule: "@once"
start_date: 2024-01-01
tasks:
  - {{task_id: slow, type: http, url: "{url}hang", retries: 1, retry_delay: 100ms,
      execution_timeout: 1s}}
  - {{task_id: never, type: sensor, condition: file_exists, path: "{out}/never",
      poke_interval: 100ms, execution_timeout: 500ms}}
"""


def log_of(s, dag, run, task, n=1):
    return (s.data_dir / "logs" / dag / run / task / f"{n}.log").read_text()


def test_in_process_types_run_on_threads(sluice_proc, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with hh.HostileServer([hh.status(200, b"hi")]) as h:
        s = su.start(sluice_proc, su.write_dag(tmp_path, DAG.format(url=h.url("/"), out=out)))
        meta = su.Meta(s)
        runs = meta.wait_runs_done("inproc", 1, 20)
    run = runs[0][0]
    assert runs[0][1] == "success"
    rows = {t: (st, pid) for t, st, pid in meta.rows(
        "SELECT task_id, state, pid FROM task_try WHERE dag_id='inproc'")}
    assert all(st == "success" for st, _ in rows.values()), rows
    for t in ("nothing", "get", "wait"):
        assert rows[t][1] == s.pid, (t, rows[t], s.pid)
        log = log_of(s, "inproc", run, t)
        assert f"(pid {s.pid}, in-process)" in log and "try 1 succeeded" in log, log
    assert rows["sh"][1] != s.pid
    assert "in-process" not in log_of(s, "inproc", run, "sh")
    assert "http: status 200" in log_of(s, "inproc", run, "get")
    assert "sensor: condition holds" in log_of(s, "inproc", run, "wait")


def test_in_process_timeout_cancels(sluice_proc, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with hh.HostileServer([hh.hang(60)]) as h:
        s = su.start(sluice_proc, su.write_dag(tmp_path, HANG.format(url=h.url("/"), out=out)))
        meta = su.Meta(s)
        runs = meta.wait_runs_done("hang", 1, 30)
        assert len(h.requests) == 2  # one per try
    run = runs[0][0]
    assert runs[0][1] == "failed"
    tis = meta.tis("hang")
    assert tis[(run, "slow")] == ("failed", 2)
    assert tis[(run, "never")] == ("failed", 1)
    spans = meta.rows("SELECT task_id, try_number, end_ms - start_ms FROM task_try"
                      " WHERE dag_id='hang' ORDER BY task_id, try_number")
    for task, n, ms in spans:
        limit = 1000 if task == "slow" else 500
        # cancelled at its deadline; curl sees the flag within about a second, a sensor's nap
        # within 50 ms
        slack = 1500 if task == "slow" else 300
        assert limit - 50 <= ms <= limit + sh.scaled(slack), (task, n, ms)
        log = log_of(s, "hang", run, task, n)
        assert f"execution_timeout ({limit} ms) exceeded, cancelled" in log, log
    # the scheduler serves on: it is still healthy after its threads were cancelled
    assert s.running


def test_sigterm_and_sigkill_with_a_try_in_process(sluice_proc, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    dag = su.write_dag(tmp_path, """
dag_id: waits
schedule: "@once"
start_date: 2024-01-01
tasks:
  - {task_id: w, type: sensor, condition: file_exists, path: "%s/flag", poke_interval: 100ms,
     retries: 1, retry_delay: 100ms}
""" % out)
    s = su.start(sluice_proc, dag, "--heartbeat-timeout", "2s")
    meta = su.Meta(s)

    def state():
        return meta.tis("waits").get(("scheduled__2024-01-01T00:00:00+00:00", "w"))
    sh.wait_until(lambda: state() == ("running", 1), sh.scaled(10), what="the sensor running")
    t0 = time.monotonic()
    assert s.stop() == 0
    assert time.monotonic() - t0 < sh.scaled(2)  # cancelled, not waited out
    assert state() == ("up_for_retry", 1)
    assert "the scheduler stopped" in log_of(s, "waits", "scheduled__2024-01-01T00:00:00+00:00",
                                             "w")
    # try 2 runs in-process in the next scheduler; SIGKILL it there
    s.start()
    sh.wait_until(lambda: state() == ("running", 2), sh.scaled(10), what="try 2 running")
    s.kill9()
    s.start()
    sh.wait_until(lambda: state() == ("failed", 2), sh.scaled(15), what="try 2 orphaned")
    log = log_of(s, "waits", "scheduled__2024-01-01T00:00:00+00:00", "w", 2)
    assert "orphaned" in log, log
    assert s.running  # adopting its predecessor's in-process try killed nothing of its own
