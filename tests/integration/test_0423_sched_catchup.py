"""Runs and data intervals: with catchup a @daily DAG gets one run per missed day, each covering
[D, D+1) with ds = D, never more than max_active_runs at once; without catchup only the latest
complete interval runs; an "every 1s" schedule keeps creating runs while the scheduler runs."""

import datetime as dt

import sched_util as su

DAG = """
dag_id: {id}
schedule: "@daily"
start_date: {start}
catchup: {catchup}
max_active_runs: 2
tasks:
  - task_id: t
    type: shell
    command: "echo {{{{ ds }}}} {{{{ run_id }}}} $(date +%s.%N) >> {out}/{id}; sleep 0.3; echo end $(date +%s.%N) >> {out}/{id}"
"""

DAY = 86400000


def test_catchup_intervals_and_max_active_runs(sluice_proc, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    dags = tmp_path / "dags"
    dags.mkdir()
    today = dt.datetime.now(dt.timezone.utc).date()
    start = today - dt.timedelta(days=5)
    su.write_dag(dags, DAG.format(id="caught", start=start, catchup="true", out=out), "a.yaml")
    su.write_dag(dags, DAG.format(id="latest", start=start, catchup="false", out=out), "b.yaml")
    s = su.start(sluice_proc, dags)
    meta = su.Meta(s)
    runs = meta.wait_runs_done("caught", 5, 30)
    midnight = int(dt.datetime.combine(today, dt.time(), dt.timezone.utc).timestamp() * 1000)
    want = [(midnight - (5 - i) * DAY, midnight - (4 - i) * DAY) for i in range(5)]
    assert [(r[2], r[3]) for r in runs] == want
    assert all(r[1] == "success" and r[4] == "scheduled" for r in runs)
    days = [str(start + dt.timedelta(days=i)) for i in range(5)]
    assert [r[0] for r in runs] == [f"scheduled__{d}T00:00:00+00:00" for d in days]
    # ds per run, as the task rendered it, and never more than 2 runs at once.
    lines = (out / "caught").read_text().split("\n")
    seen, spans, open_ = [], [], {}
    for ln in filter(None, lines):
        f = ln.split()
        if f[0] == "end":
            continue
        seen.append(f[0])
    assert sorted(seen) == days
    rows = meta.rows("SELECT start_ms, end_ms FROM dag_run WHERE dag_id='caught'")
    assert su.max_overlap(rows) <= 2
    assert su.max_overlap(rows) == 2  # runs did overlap: max_active_runs is what held them

    latest = meta.wait_runs_done("latest", 1, 10)
    assert [(r[2], r[3]) for r in latest] == [(midnight - DAY, midnight)]
    assert len(meta.runs("latest")) == 1


EVERY = """
dag_id: every
schedule: "every 1s"
catchup: false
tasks:
  - {task_id: t, type: shell, command: "true"}
"""


def test_interval_schedule(sluice_proc, tmp_path):
    s = su.start(sluice_proc, su.write_dag(tmp_path, EVERY))
    meta = su.Meta(s)
    runs = meta.wait_runs_done("every", 3, 15)
    for r in runs:
        assert r[3] - r[2] == 1000
    ends = [r[3] for r in runs]
    assert ends == sorted(ends) and len(set(ends)) == len(ends)
