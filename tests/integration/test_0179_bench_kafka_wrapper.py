"""bench/bench_kafka.c under a wrapper: with $SLUICE_BIN a script that runs the broker as its child
(as `perf record -- sluice ...` does), the CPU and memory columns are the broker's own, not the
wrapper's (which read 0.0 s/GB and 2 MiB), and the broker is stopped with the wrapper."""

import os
import re
import subprocess

import sluice_harness as sh


def test_cpu_and_memory_are_the_brokers_under_a_wrapper(tmp_path):
    bench = sh.sluice_bin().parent / "bench" / "bench_kafka"
    assert bench.exists(), f"{bench} not built"
    pidfile = tmp_path / "broker.pid"
    wrapper = tmp_path / "wrap.sh"
    # Not exec: the broker is the shell's child, and the shell does not pass SIGTERM on.
    wrapper.write_text(f'#!/bin/sh\n"{sh.sluice_bin()}" "$@" &\necho $! > "{pidfile}"\nwait $!\n')
    wrapper.chmod(0o755)
    r = subprocess.run([str(bench), "--messages", "1000000", "--runs", "1", "--sizes", "100",
                        "--targets", "sluice"], env={**os.environ, "SLUICE_BIN": str(wrapper)},
                       capture_output=True, text=True, timeout=sh.scaled(120))
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    broker = int(pidfile.read_text())
    assert f"runs the broker as a child (pid {broker})" in r.stderr, r.stderr[-3000:]
    row = next(l for l in r.stdout.splitlines() if l.startswith("| produce 100 B |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    # case, msgs/s, MB/s, mock msgs/s, mock MB/s, ratio, paired, sluice RSS, mock RSS, CPU, mock CPU
    rss, cpu = cells[7], cells[9]
    assert re.fullmatch(r"\d+ MiB", rss) and int(rss.split()[0]) >= 5, row
    assert cpu != "-" and float(cpu) > 0, row
    assert not os.path.exists(f"/proc/{broker}") or \
        open(f"/proc/{broker}/stat").read().split(")")[1].split()[0] == "Z", "broker left running"
