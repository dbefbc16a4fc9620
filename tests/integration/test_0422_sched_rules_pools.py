"""Trigger rules (all_success, all_done, one_failed, one_success with their upstream_failed and
skipped outcomes), and the limits on tries at once: a pool's slots and the scheduler's
parallelism, measured from the tasks' own start and end times."""

import time

import sched_util as su

RULES = """
dag_id: rules
schedule: "@once"
start_date: 2024-01-01
tasks:
  - {{task_id: ok, type: shell, command: "true"}}
  - {{task_id: bad, type: shell, command: "false"}}
  - {{task_id: all_success, type: shell, depends_on: [ok, bad], command: "echo x >> {out}/ran_all_success"}}
  - {{task_id: all_done, type: shell, depends_on: [ok, bad], trigger_rule: all_done, command: "true"}}
  - {{task_id: one_failed, type: shell, depends_on: [ok, bad], trigger_rule: one_failed, command: "true"}}
  - {{task_id: one_success, type: shell, depends_on: [ok, bad], trigger_rule: one_success, command: "true"}}
  - {{task_id: one_success_none, type: shell, depends_on: [bad], trigger_rule: one_success, command: "true"}}
  - {{task_id: one_failed_none, type: shell, depends_on: [ok], trigger_rule: one_failed, command: "true"}}
  - {{task_id: after_skip, type: shell, depends_on: [one_failed_none], command: "true"}}
  - {{task_id: after_skip_done, type: shell, depends_on: [one_failed_none], trigger_rule: all_done, command: "true"}}
  - {{task_id: after_upstream_failed, type: shell, depends_on: [all_success], command: "true"}}
"""

WANT = {
    "ok": "success",
    "bad": "failed",
    "all_success": "upstream_failed",
    "all_done": "success",
    "one_failed": "success",
    "one_success": "success",
    "one_success_none": "upstream_failed",
    "one_failed_none": "skipped",
    "after_skip": "skipped",
    "after_skip_done": "success",
    "after_upstream_failed": "upstream_failed",
}


def test_trigger_rules(sluice_proc, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    s = su.start(sluice_proc, su.write_dag(tmp_path, RULES.format(out=out)))
    meta = su.Meta(s)
    runs = meta.wait_runs_done("rules", 1, 20)
    got = {t: st for (_, t), (st, _) in meta.tis("rules").items()}
    assert got == WANT
    assert not (out / "ran_all_success").exists()
    # Leaves that failed or were upstream_failed fail the run.
    assert runs[0][1] == "failed"


POOLS = """
dag_id: pools
schedule: "@once"
start_date: 2024-01-01
tasks:
"""
TASK = ("  - {{task_id: {id}, type: shell, {pool}command: \"date +%s.%N >> {out}/{id}; "
        "sleep 0.4; date +%s.%N >> {out}/{id}\"}}\n")


def intervals(out, ids):
    res = []
    for i in ids:
        a, b = (float(x) for x in (out / i).read_text().split())
        res.append((a, b))
    return res


def test_pool_and_parallelism(sluice_proc, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    text = POOLS
    small = [f"p{i}" for i in range(6)]
    free = [f"f{i}" for i in range(8)]
    for i in small:
        text += TASK.format(id=i, pool="pool: small, ", out=out)
    for i in free:
        text += TASK.format(id=i, pool="", out=out)
    s = su.start(sluice_proc, su.write_dag(tmp_path, text), "--pools", "small=2",
                 "--parallelism", "4")
    meta = su.Meta(s)
    # While the limits hold tries back, their task instances wait as `scheduled` beside the
    # `running` ones (Airflow's states).
    seen = set()
    deadline = time.monotonic() + su.sh.scaled(30)
    while time.monotonic() < deadline:
        states = {st for (st, _) in meta.tis("pools").values()}
        seen |= states
        if states and states <= {"success", "failed"} and len(meta.tis("pools")) == 14:
            break
        time.sleep(0.02)
    assert {"scheduled", "running", "success"} <= seen, seen
    runs = meta.wait_runs_done("pools", 1, 30)
    assert runs[0][1] == "success"
    assert su.max_overlap(intervals(out, small)) <= 2
    assert su.max_overlap(intervals(out, small + free)) <= 4
    # The limits are reached, not just respected.
    assert su.max_overlap(intervals(out, small + free)) >= 3
    assert meta.rows("SELECT slots FROM pool WHERE name='small'") == [(2,)]
