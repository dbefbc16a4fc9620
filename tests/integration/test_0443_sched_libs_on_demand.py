"""Issue 6's memory goal for `sluice scheduler`: RSS under 20 MB idle. sluice is one binary, and
RocksDB is loaded only by the component that uses it, the CQL
store (src/cql/rocksdb_dl.c): the scheduler never maps it, the store does, and works."""

import pytest

import sched_util as su
import sluice_harness as sh

MB_IN_KIB = 1000 * 1000 // 1024  # the goal is in MB (10^6 bytes)


def mapped(pid, lib):
    with open(f"/proc/{pid}/maps") as f:
        return any(lib in line for line in f)


def rss_kb(pid):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Rss:"):
                return int(line.split()[1])
    raise AssertionError("no Rss in smaps_rollup")


def test_scheduler_does_not_map_rocksdb(sluice_proc, tmp_path):
    s = su.start(sluice_proc, su.write_dag(tmp_path, """
dag_id: one
tasks:
  - {task_id: t, type: noop}
"""))
    assert not mapped(s.pid, "librocksdb"), "the scheduler mapped librocksdb"
    if sh.sanitized(s.pid):
        pytest.skip("a sanitizer build's memory is the sanitizer's")
    rss = rss_kb(s.pid)
    print(f"scheduler RSS idle: {rss} KiB")
    assert rss < 20 * MB_IN_KIB, rss


def test_store_loads_rocksdb(sluice_proc):
    store = sluice_proc("store")
    assert mapped(store.pid, "librocksdb"), "the store runs without RocksDB?"
