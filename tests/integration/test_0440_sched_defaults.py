"""Airflow 2's defaults where a DAG says nothing (issue 6): a new DAG is paused at creation
(dags_are_paused_at_creation) and creates no run until unpaused; catchup is on
(catchup_by_default), so unpausing a @daily DAG whose start_date is 3 days back creates the 3
missed runs. A DAG's is_paused_upon_creation wins over the scheduler's flag either way, and the
pause state is the store's once the DAG exists: a restart does not pause it again."""

import datetime as dt
import time

import requests

import sched_util as su
import sluice_harness as sh

DAG = """
dag_id: {id}
schedule: "@daily"
start_date: {start}
{extra}
tasks:
  - {{task_id: t, type: shell, command: "true"}}
"""


def dags_dir(tmp_path):
    d = tmp_path / "dags"
    d.mkdir()
    start = dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=3)
    su.write_dag(d, DAG.format(id="plain", start=start, extra=""), "a.yaml")
    su.write_dag(d, DAG.format(id="eager", start=start,
                               extra="is_paused_upon_creation: false\ncatchup: false"), "b.yaml")
    return d


def paused(base, dag_id):
    r = requests.get(f"{base}/dags/{dag_id}", timeout=sh.scaled(5))
    assert r.status_code == 200, r.text
    return r.json()["is_paused"]


def test_paused_at_creation_then_catchup(sluice_proc, tmp_path):
    s = su.start(sluice_proc, dags_dir(tmp_path), "--dags-are-paused-at-creation=true")
    base = f"http://{s.addr}/api/v1"
    meta = su.Meta(s)
    assert paused(base, "plain") is True
    assert paused(base, "eager") is False
    assert requests.get(f"{base}/dags/plain").json()["catchup"] is True
    # the unpaused one runs on its own (its latest interval: catchup false)
    assert len(meta.wait_runs_done("eager", 1, 10)) == 1
    s.wait_for_log(r"dag plain is new: paused at creation", timeout=5)
    time.sleep(sh.scaled(0.5))  # several ticks: a paused DAG gets no run
    assert meta.runs("plain") == []

    # unpause: catchup (the default) creates the 3 missed days, oldest first
    r = requests.patch(f"{base}/dags/plain", json={"is_paused": False})
    assert r.status_code == 200 and r.json()["is_paused"] is False
    runs = meta.wait_runs_done("plain", 3, 20)
    today = dt.datetime.now(dt.timezone.utc).date()
    days = [str(today - dt.timedelta(days=k)) for k in (3, 2, 1)]
    assert [r[0] for r in runs] == [f"scheduled__{d}T00:00:00+00:00" for d in days]
    assert all(r[1] == "success" for r in runs)

    # pause one again; a restart keeps each DAG as the store has it
    requests.patch(f"{base}/dags/eager", json={"is_paused": True}).raise_for_status()
    s.stop()
    s.start()
    assert paused(base, "plain") is False
    assert paused(base, "eager") is True


def test_flag_off_and_dag_field_on(sluice_proc, tmp_path):
    d = tmp_path / "dags"
    d.mkdir()
    su.write_dag(d, DAG.format(id="held", start="2024-01-01",
                               extra="is_paused_upon_creation: true"), "a.yaml")
    su.write_dag(d, DAG.format(id="free", start="2024-01-01", extra="catchup: false"), "b.yaml")
    s = su.start(sluice_proc, d)  # su.start passes --dags-are-paused-at-creation=false
    base = f"http://{s.addr}/api/v1"
    assert paused(base, "held") is True
    assert paused(base, "free") is False
    assert len(su.Meta(s).wait_runs_done("free", 1, 10)) == 1
    assert su.Meta(s).runs("held") == []


def test_bad_flag_value(run_sluice):
    r = run_sluice("scheduler", "--default-dag=false", "--dags-are-paused-at-creation=maybe")
    assert r.returncode == 2 and "dags-are-paused-at-creation" in r.stderr
