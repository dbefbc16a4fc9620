"""Retries: a failing shell task is tried retries+1 times, the waits between tries follow
retry_delay (fixed, or doubled per retry with retry_exponential_backoff, capped by
max_retry_delay) within 10%, every try's log is kept on disk, and a task that succeeds on a
later try ends success with that try number. Tries are counted by the tasks' own side effects."""

import sched_util as su

DAG = """
dag_id: retries
schedule: "@once"
start_date: 2024-01-01
tasks:
  - task_id: fixed
    type: shell
    retries: 2
    retry_delay: 1s
    command: "date +%s.%N >> {out}/fixed; exit 1"
  - task_id: backoff
    type: shell
    retries: 3
    retry_delay: 500ms
    retry_exponential_backoff: true
    max_retry_delay: 1500ms
    command: "date +%s.%N >> {out}/backoff; exit 7"
  - task_id: third_time
    type: shell
    retries: 5
    retry_delay: 200ms
    command: "echo x >> {out}/third; test $(wc -l < {out}/third) -ge 3"
"""


def starts(path):
    return [float(x) for x in path.read_text().split()]


def test_retry_delays_and_backoff(sluice_proc, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    dags = su.write_dag(tmp_path, DAG.format(out=out))
    s = su.start(sluice_proc, dags)
    meta = su.Meta(s)
    runs = meta.wait_runs_done("retries", 1, 30)
    assert runs[0][1] == "failed"  # two of its leaves failed
    tis = meta.tis("retries")
    run = runs[0][0]
    assert tis[(run, "fixed")] == ("failed", 3)
    assert tis[(run, "backoff")] == ("failed", 4)
    assert tis[(run, "third_time")] == ("success", 3)

    # The wait: from the end of a failed try (recorded by the scheduler) to the next try's own
    # first action (recorded by the task).
    def gaps(task, path):
        ends = [e / 1000 for (e,) in meta.rows(
            "SELECT end_ms FROM task_try WHERE dag_id='retries' AND task_id=? ORDER BY try_number",
            task)]
        s = starts(path)
        assert len(s) == len(ends)
        return [s[i + 1] - ends[i] for i in range(len(s) - 1)]

    f = gaps("fixed", out / "fixed")
    assert len(f) == 2
    for gap in f:
        assert 1.0 <= gap <= 1.1, f"fixed retry wait {gap:.3f}s, want 1s within 10%"
    b = gaps("backoff", out / "backoff")
    assert len(b) == 3
    # 500 ms, doubled per retry, capped at 1500 ms: 0.5, 1.0, 1.5
    for gap, want in zip(b, (0.5, 1.0, 1.5)):
        assert want <= gap <= want * 1.1, f"backoff wait {gap:.3f}s, want {want}s within 10%"
    assert (out / "third").read_text().count("x") == 3

    # Every try's log is kept, with the failure's reason.
    for task, n in (("fixed", 3), ("backoff", 4), ("third_time", 3)):
        for t in range(1, n + 1):
            log = s.data_dir / "logs" / "retries" / run / task / f"{t}.log"
            assert log.is_file(), log
        last = (s.data_dir / "logs" / "retries" / run / task / f"{n}.log").read_text()
        assert f"try {n}" in last
    assert "try 1 failed" in (s.data_dir / "logs/retries" / run / "backoff/1.log").read_text()
    tries = meta.rows("SELECT try_number, state FROM task_try WHERE dag_id='retries'"
                      " AND task_id='backoff' ORDER BY try_number")
    assert tries == [(1, "failed"), (2, "failed"), (3, "failed"), (4, "failed")]
