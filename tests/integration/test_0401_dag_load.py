"""The DAG loader's bad input (issue 6, "Bad input, each one a test"): an invalid cron, a cycle, an
unknown task type, a missing field, an unknown reference and bad YAML each give an error naming
file:line, and the other DAGs of the same directory still load.

Driven through build/tests/dag_driver (tests/drivers/dag_driver.c), which loads --dags paths
exactly as the scheduler does (sl_dag_load_path) and prints the loaded DAGs as JSON lines and
the errors on stderr."""

import json
import subprocess
from pathlib import Path

import pytest

import sluice_harness as sh

GOOD = """\
dag_id: good_{n}
schedule: "0 6 * * *"
start_date: 2024-01-01
tasks:
  - task_id: a
    type: shell
    command: echo {{{{ ds }}}}
  - task_id: b
    type: http
    url: http://127.0.0.1:9/{{{{ run_id }}}}
    depends_on: a
"""

# name -> (text, the error's line, the error after "file:line: ")
BAD = {
    "bad_cron": ('dag_id: bad_cron\nschedule: "0 25 * * *"\ntasks:\n  - {task_id: a, type: shell, command: /bin/true}\n',
                 2, 'schedule: hour field "25": 25 is out of range 0-23'),
    "bad_cycle": ("dag_id: bad_cycle\ntasks:\n"
                  "  - {task_id: a, type: shell, command: x, depends_on: b}\n"
                  "  - {task_id: b, type: shell, command: x, depends_on: a}\n",
                  4, "dag bad_cycle: cycle in depends_on: a -> b -> a"),
    "bad_type": ("dag_id: bad_type\ntasks:\n  - task_id: a\n    type: python\n",
                 4, 'type: unknown task type "python" (ingest, shell, http, sql, sensor, noop)'),
    "bad_missing_id": ("schedule: '@daily'\ntasks:\n  - {task_id: a, type: shell, command: /bin/true}\n",
                       1, "DAG: missing field dag_id"),
    "bad_missing_type": ("dag_id: bad_missing_type\ntasks:\n  - task_id: a\n",
                         3, "task a: missing field type"),
    "bad_missing_tasks": ("dag_id: bad_missing_tasks\nschedule: '@daily'\n",
                          1, "DAG bad_missing_tasks: missing field tasks"),
    "bad_reference": ("dag_id: bad_reference\ntasks:\n  - task_id: a\n    type: shell\n"
                      "    command: /bin/true\n    depends_on:\n      - nothere\n",
                      7, 'task a: depends_on: unknown task "nothere"'),
    "bad_yaml": ("dag_id: bad_yaml\ntasks:\n  - task_id: a\n   type: shell\n",
                 4, None),
    "bad_timezone": ("dag_id: bad_timezone\ntimezone: Europe/Atlantis\ntasks:\n  - {task_id: a, type: shell, command: /bin/true}\n",
                     2, 'timezone: unknown time zone "Europe/Atlantis"'),
    "bad_duration": ("dag_id: bad_duration\ndefault_args:\n  retry_delay: 5\ntasks:\n  - {task_id: a, type: shell, command: /bin/true}\n",
                     3, 'default_args.retry_delay: expected a duration with a unit ("300s", "5m", "1h"), got "5"'),
}


def driver():
    p = Path(sh.sluice_bin()).parent / "tests" / "dag_driver"
    if not p.is_file():
        pytest.fail(f"{p} does not exist: build first", pytrace=False)
    return p


def load(*args):
    r = subprocess.run([str(driver()), *map(str, args)], capture_output=True, text=True,
                       timeout=sh.scaled(30))
    dags = {d["dag_id"]: d for d in map(json.loads, r.stdout.splitlines())}
    return r.returncode, dags, r.stderr.splitlines()


@pytest.fixture
def dags_dir(tmp_path):
    d = tmp_path / "dags"
    d.mkdir()
    for n in range(3):
        (d / f"good_{n}.yaml").write_text(GOOD.format(n=n))
    for name, (text, _, _) in BAD.items():
        (d / f"{name}.yaml").write_text(text)
    (d / "README.md").write_text("not a DAG file")
    return d


def test_each_bad_dag_names_file_and_line_and_the_others_load(dags_dir):
    rc, dags, errors = load(dags_dir)
    assert rc == 1
    assert sorted(dags) == ["good_0", "good_1", "good_2"]
    for name, (_, line, msg) in BAD.items():
        prefix = f"{dags_dir}/{name}.yaml:{line}: "
        mine = [e for e in errors if e.startswith(f"{dags_dir}/{name}.yaml:")]
        assert len(mine) >= 1, (name, errors)
        assert mine[0].startswith(prefix), (name, mine)
        if msg is not None:
            assert mine[0] == prefix + msg
    assert all(e.startswith(str(dags_dir)) for e in errors)
    g = dags["good_1"]
    assert g["schedule"] == "0 6 * * *" and g["next_ms"] == 1704088800000  # 2024-01-01T06:00Z
    assert [t["task_id"] for t in g["tasks"]] == ["a", "b"]


def test_one_file_and_errors_only_for_that_file(dags_dir):
    rc, dags, errors = load(dags_dir / "good_0.yaml")
    assert rc == 0 and list(dags) == ["good_0"] and errors == []
    rc, dags, errors = load(dags_dir / "bad_cycle.yaml", dags_dir / "good_2.yaml")
    assert rc == 1 and list(dags) == ["good_2"]
    assert errors == [f"{dags_dir}/bad_cycle.yaml:4: dag bad_cycle: cycle in depends_on: a -> b -> a"]


def test_missing_path_and_duplicate_ids(dags_dir, tmp_path):
    rc, dags, errors = load(tmp_path / "nope")
    assert rc == 1 and dags == {}
    assert errors == [f"{tmp_path}/nope: cannot read: No such file or directory"]
    (tmp_path / "dup.yaml").write_text(GOOD.format(n=0))
    rc, dags, errors = load(dags_dir / "good_0.yaml", tmp_path / "dup.yaml")
    assert list(dags) == ["good_0"] and dags["good_0"]["file"] == f"{dags_dir}/good_0.yaml"
    assert errors == [f'{tmp_path}/dup.yaml:1: dag_id "good_0" is already defined at '
                      f"{dags_dir}/good_0.yaml:1"]


def test_default_dag_is_the_seeds(tmp_path):
    rc, dags, errors = load("--default")
    assert rc == 0 and errors == []
    d = dags["user_automation"]
    assert d["schedule"] == "@daily" and d["catchup"] is False and d["timezone"] == "UTC"
    assert d["start_date_ms"] == 1693735200000  # 2023-09-03T10:00Z, as the seeds' start_date
    assert d["next_ms"] == 1693785600000  # its first @daily fire: 2023-09-04T00:00Z
    assert [(t["task_id"], t["type"]) for t in d["tasks"]] == [("stream_data_from_api", "ingest")]
    # a DAG file of the same id replaces the built-in one
    (tmp_path / "mine.yaml").write_text(
        "dag_id: user_automation\nschedule: '@hourly'\ntasks: [{task_id: x, type: ingest, duration: 5s}]\n")
    rc, dags, errors = load(tmp_path / "mine.yaml", "--default")
    assert rc == 0 and dags["user_automation"]["schedule"] == "@hourly"


def test_garbage_files_do_not_stop_the_rest(dags_dir):
    (dags_dir / "binary.yaml").write_bytes(bytes(range(256)) * 4)
    (dags_dir / "huge_list.yaml").write_text("dags:\n" + "  - 1\n" * 5000)
    (dags_dir / "deep.yaml").write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    rc, dags, errors = load(dags_dir)
    assert rc == 1 and sorted(dags) == ["good_0", "good_1", "good_2"]
    assert any(e.startswith(f"{dags_dir}/binary.yaml:") for e in errors)
    assert any(e.startswith(f"{dags_dir}/huge_list.yaml:2: dags: expected a DAG") for e in errors)
    assert any(e.startswith(f"{dags_dir}/deep.yaml:") for e in errors)
