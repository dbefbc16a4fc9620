"""Helpers for the schedapi tests (test_046x-049x): write a DAG file and run one of its tasks
with `sluice dag test` (the task runs in that process, its log on stdout, nothing recorded)."""

from pathlib import Path

import sluice_harness as sh


def dag_test(tmp_path, text, task, *args, dag="t", env=None, timeout=60, name="dag.yaml"):
    """Writes text as a DAG file and runs `sluice dag test DAG TASK`; returns the
    CompletedProcess (stdout is the try's log)."""
    p = Path(tmp_path) / name
    p.write_text(text)
    return sh.run_sluice("dag", "test", dag, task, "--dags", str(p), *args, env=env,
                         timeout=timeout)


def ok(r):
    assert r.returncode == 0, f"exit {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    return r.stdout


def fails(r, *needles):
    assert r.returncode == 1, f"exit {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    for n in needles:
        assert n in r.stdout, f"{n!r} not in the log:\n{r.stdout}"
    return r.stdout
