"""DAG files through the real `sluice scheduler --dags DIR`. Bad ones (issue 6, "Bad input, each one a
test"): an invalid cron, a cycle, an unknown task type, a missing field, an unknown reference,
bad YAML and a bad type-specific field are each reported on the scheduler's log with file:line,
and the scheduler keeps running the good DAGs of the same directory (their runs appear in the
metadata and their tasks' side effects on disk) and creates nothing for the bad ones. Good ones
in a time zone run with the intervals that zone gives."""

import sched_util as su
import sluice_harness as sh

GOOD = """\
dag_id: {id}
schedule: every 1s
tasks:
  - task_id: mark
    type: shell
    command: "echo {{{{ run_id }}}} >> {out}/{id}"
"""

BAD = {
    "bad_cron.yaml": ("dag_id: bad_cron\nschedule: '*/0 * * * *'\n"
                      "tasks:\n  - {task_id: a, type: shell, command: /bin/true}\n",
                      2, 'schedule: minute field "*/0": step must be 1..1000'),
    "bad_cycle.yaml": ("dag_id: bad_cycle\nschedule: every 1s\ntasks:\n"
                       "  - {task_id: a, type: shell, command: /bin/true, depends_on: c}\n"
                       "  - {task_id: b, type: shell, command: /bin/true, depends_on: a}\n"
                       "  - {task_id: c, type: shell, command: /bin/true, depends_on: b}\n",
                       5, "dag bad_cycle: cycle in depends_on: a -> c -> b -> a"),
    "bad_type.yaml": ("dag_id: bad_type\nschedule: every 1s\ntasks:\n"
                      "  - task_id: a\n    type: PythonOperator\n",
                      5, 'type: unknown task type "PythonOperator" (ingest, shell, http, sql, sensor, noop)'),
    "bad_missing.yaml": ("schedule: every 1s\ntasks:\n  - {task_id: a, type: shell, command: /bin/true}\n",
                         1, "DAG: missing field dag_id"),
    "bad_reference.yaml": ("dag_id: bad_reference\nschedule: every 1s\ntasks:\n"
                           "  - {task_id: a, type: shell, command: /bin/true, depends_on: [ghost]}\n",
                           4, 'task a: depends_on: unknown task "ghost"'),
    "bad_yaml.yaml": ("dag_id: bad_yaml\nschedule: every 1s\ntasks:\n  - {task_id: a, type: shell\n",
                      5, None),
    "bad_field.yaml": ("dag_id: bad_field\nschedule: every 1s\ntasks:\n"
                       "  - task_id: a\n    type: shell\n",
                       4, "task a: a shell task needs command"),
}


def test_bad_dags_are_reported_and_the_good_ones_run(sluice_proc, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    dags = tmp_path / "dags"
    dags.mkdir()
    for name, (text, _, _) in BAD.items():
        (dags / name).write_text(text)
    for i in range(2):
        su.write_dag(dags, GOOD.format(id=f"good_{i}", out=out), f"good_{i}.yaml")
    s = su.start(sluice_proc, dags)
    log = s.log_text()
    for name, (_, line, msg) in BAD.items():
        prefix = f"{dags}/{name}:{line}: "
        hits = [ln for ln in log.splitlines() if ln.startswith(f"{dags}/{name}:")]
        assert hits and hits[0].startswith(prefix), (name, hits)
        if msg:
            assert hits[0] == prefix + msg
    meta = su.Meta(s)
    for i in range(2):
        meta.wait_runs_done(f"good_{i}", 2, 30)
        assert len((out / f"good_{i}").read_text().split()) >= 2
    ids = {r[0] for r in meta.rows("SELECT DISTINCT dag_id FROM dag_run")}
    assert ids == {"good_0", "good_1"}
    assert s.proc.poll() is None


ZONED = """\
dag_id: {id}
schedule: "{schedule}"
timezone: {tz}
start_date: {start}
catchup: false
tasks:
  - task_id: t
    type: shell
    command: "echo {{{{ ds }}}} {{{{ ts }}}} >> {out}/{id}"
"""


def test_time_zones_reach_the_scheduler(sluice_proc, tmp_path):
    """A DAG's timezone sets its cron's wall clock and its naive start_date, end to end: 09:30 in
    Kolkata is 04:00Z, so without catchup the latest complete interval runs from 04:00Z on the day
    before the last 04:00Z to that 04:00Z; @once fires at start_date read in the zone."""
    import datetime as dt
    out = tmp_path / "out"
    out.mkdir()
    dags = tmp_path / "dags"
    dags.mkdir()
    start = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=4)).date()
    su.write_dag(dags, ZONED.format(id="kolkata", schedule="30 9 * * *", tz="Asia/Kolkata",
                                    start=start, out=out), "k.yaml")
    su.write_dag(dags, ZONED.format(id="once", schedule="@once", tz="America/New_York",
                                    start="2024-07-01T08:00", out=out), "o.yaml")
    s = su.start(sluice_proc, dags)
    meta = su.Meta(s)
    now = dt.datetime.now(dt.timezone.utc)
    last = now.replace(hour=4, minute=0, second=0, microsecond=0)
    if last > now:
        last -= dt.timedelta(days=1)
    end_ms = int(last.timestamp() * 1000)
    runs = meta.wait_runs_done("kolkata", 1, 30)
    assert [(r[2], r[3]) for r in runs] == [(end_ms - 86400000, end_ms)]
    once = meta.wait_runs_done("once", 1, 30)
    t = int(dt.datetime(2024, 7, 1, 12, 0, tzinfo=dt.timezone.utc).timestamp() * 1000)  # 08:00 EDT
    assert [(r[2], r[3]) for r in once] == [(t, t)]
    assert (out / "once").read_text().split() == ["2024-07-01", "2024-07-01T12:00:00+00:00"]
def test_dags_from_sluice_yaml(sluice_proc, tmp_path):
    """The DAG path may come from sluice.yaml's scheduler section instead of --dags (every
    scheduler flag is a key there): the scheduler runs the DAGs of that directory."""
    out = tmp_path / "out"
    out.mkdir()
    dags = tmp_path / "from_yaml"
    dags.mkdir()
    (dags / "g.yaml").write_text(GOOD.format(id="from_yaml", out=out))
    cfg = tmp_path / "sluice.yaml"
    cfg.write_text(f"scheduler:\n  dags: {dags}\n  default-dag: false\n"
                   "  dags-are-paused-at-creation: false\n")
    s = sluice_proc("scheduler", args=["--config", str(cfg), "--heartbeat", "200ms",
                                       "--tick", "50ms"], data_dir=True)
    sh.wait_until(lambda: (out / "from_yaml").exists(), sh.scaled(15),
                  what="a run of the DAG named in sluice.yaml")
    meta = su.Meta(s)
    assert meta.runs("from_yaml"), "no run of the DAG from sluice.yaml"
    s.stop()
