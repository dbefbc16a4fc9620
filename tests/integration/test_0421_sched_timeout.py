"""execution_timeout: a hanging task is killed with its whole process group (the shell and the
processes it started in the background) at its timeout, and that counts as a failed try:
retried while retries remain, then failed, every try's log saying why."""

import os
import time

import sched_util as su

DAG = """
dag_id: hang
schedule: "@once"
start_date: 2024-01-01
tasks:
  - task_id: hangs
    type: shell
    retries: 1
    retry_delay: 100ms
    execution_timeout: 1s
    command: "sleep 300 & echo $! >> {out}/pids; echo $$ >> {out}/pids; date +%s.%N >> {out}/starts; wait"
  - task_id: after
    type: shell
    depends_on: hangs
    trigger_rule: all_done
    command: "echo ran > {out}/after"
"""


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_timeout_kills_group(sluice_proc, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    dags = su.write_dag(tmp_path, DAG.format(out=out))
    t0 = time.time()
    s = su.start(sluice_proc, dags)
    meta = su.Meta(s)
    runs = meta.wait_runs_done("hang", 1, 20)
    elapsed = time.time() - t0
    run = runs[0][0]
    tis = meta.tis("hang")
    assert tis[(run, "hangs")] == ("failed", 2)
    assert tis[(run, "after")] == ("success", 1)
    assert runs[0][1] == "success"  # the leaf (all_done) succeeded
    assert elapsed < 10, f"two 1 s timeouts took {elapsed:.1f}s"
    # Each try ran about its timeout: killed at 1 s, not at the sleep's 300 s.
    tries = meta.rows("SELECT start_ms, end_ms FROM task_try WHERE task_id='hangs'"
                      " ORDER BY try_number")
    for start, end in tries:
        assert 900 <= end - start <= 1600, (start, end)
    pids = [int(x) for x in (out / "pids").read_text().split()]
    assert len(pids) == 4  # the background sleep and the shell, per try
    deadline = time.time() + 5
    while any(alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.05)
    assert not [p for p in pids if alive(p)], "a process of the timed-out group survived"
    for n in (1, 2):
        log = (s.data_dir / "logs/hang" / run / f"hangs/{n}.log").read_text()
        assert "execution_timeout" in log and "process group killed" in log
