"""Issue 11, full disk: the broker's and the store's data dir on a small tmpfs that a filler file
nearly fills. Writes past the space are refused with the protocol's error (Kafka
KAFKA_STORAGE_ERROR, CQL WriteFailure with the reason) instead of corrupting anything; once the
filler is deleted writes succeed again, without a restart; after a SIGKILL and restart every acknowledged write
reads back. Mounting a tmpfs needs root (CAP_SYS_ADMIN): without it the tests skip, saying so."""
import os
import subprocess
import time
import types

import pytest
from cassandra import WriteFailure
from cassandra.query import SimpleStatement
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

import cql_util
import sluice_harness as sh

SIZE_MB = 24
LEFT_MB = 3  # free space left beside the filler: a few records' worth, quick to exhaust


@pytest.fixture
def disk(tmp_path):
    """A fresh SIZE_MB tmpfs; .fill() leaves LEFT_MB free, .free() deletes the filler."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE_MB}m", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip()}): full-disk test not run")
    filler = mnt / "filler"

    def fill():
        st = os.statvfs(mnt)
        n = st.f_bavail * st.f_frsize - LEFT_MB * 1024 * 1024
        with open(filler, "wb") as f:
            chunk = b"\0" * (1 << 20)
            while n > 0:
                f.write(chunk[:min(n, len(chunk))])
                n -= len(chunk)

    yield types.SimpleNamespace(path=mnt, fill=fill, free=lambda: filler.unlink())
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def produce(p, values):
    """Produces values; returns (acked values, error codes of the refused ones)."""
    acked, errs = [], []

    def report(err, msg):
        if err is None:
            acked.append(msg.value())
        else:
            errs.append(err.code())

    for v in values:
        p.produce("full", value=v, on_delivery=report)
        p.poll(0)
    p.flush(sh.scaled(30))
    return acked, errs


def read_all(addr):
    c = Consumer({"bootstrap.servers": addr, "group.id": "full-check",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    try:
        tp = TopicPartition("full", 0, 0)
        hi = c.get_watermark_offsets(tp, timeout=sh.scaled(10))[1]
        c.assign([tp])
        out = []
        while len(out) < hi:
            m = c.poll(sh.scaled(10))
            assert m is not None, f"read {len(out)} of {hi}"
            assert m.error() is None, m.error()
            out.append(m.value())
        return out
    finally:
        c.close()


def test_broker_full_disk(disk, sluice_proc):
    broker = sluice_proc("broker", data_dir=False,
                         args=["--data-dir", str(disk.path / "broker")])
    # No retries: each refused batch comes back with the broker's own error code.
    p = Producer({"bootstrap.servers": broker.addr, "acks": "all", "retries": 0,
                  "linger.ms": 0, "message.timeout.ms": sh.scaled(20) * 1000, "log_level": 2})
    acked, errs = produce(p, [b"a%04d" % i + b"x" * 1000 for i in range(10)])
    assert len(acked) == 10 and not errs
    pid = broker.pid
    disk.fill()
    big = [b"b%04d" % i + os.urandom(64 * 1024) for i in range(120)]  # 7.5 MiB > LEFT_MB
    a2, errs = produce(p, big)
    acked += a2
    assert errs, "every record fitted: the disk was not full"
    assert set(errs) == {KafkaError.KAFKA_STORAGE_ERROR}, errs
    broker.wait_for_log(r"(No space left on device|ENOSPC)")
    # Refused, not corrupted: what was acknowledged reads back, in order, and nothing else.
    assert read_all(broker.addr) == acked
    disk.free()
    a3, errs = produce(p, [b"c%04d" % i for i in range(10)])
    assert len(a3) == 10 and not errs, errs
    acked += a3
    assert read_all(broker.addr) == acked
    assert broker.pid == pid and broker.running, "the broker restarted"
    broker.crash_restart()
    assert read_all(broker.addr) == acked


def test_store_full_disk(disk, sluice_proc):
    """The store refuses the write that finds the disk full, and every later one, with
    WriteFailure "No space left on device" (RocksDB will not flush a WAL after a failed flush,
    so the store does not try); reads go on. Once the filler is deleted the store reopens its
    database by itself, without a restart: the client connected throughout writes again, and
    every acknowledged row is there, then and after a SIGKILL and restart."""
    store = sluice_proc("store", data_dir=False, args=["--data-dir", str(disk.path / "store")])
    c = cql_util.cluster(types.SimpleNamespace(host="127.0.0.1", port=store.port))
    acked = {}
    pid = store.pid
    try:
        s = c.connect()
        s.execute("CREATE KEYSPACE k WITH replication = {'class': 'SimpleStrategy', "
                  "'replication_factor': 1}")
        s.execute("CREATE TABLE k.t (id int PRIMARY KEY, v text)")
        ins = s.prepare("INSERT INTO k.t (id, v) VALUES (?, ?)")
        for i in range(10):
            s.execute(ins, (i, "a" * 1000))
            acked[i] = "a" * 1000
        disk.fill()
        failure = None
        for i in range(10, 200):
            v = os.urandom(48 * 1024).hex()  # 96 KiB each: LEFT_MB is gone within ~35
            try:
                s.execute(ins, (i, v))
                acked[i] = v
            except WriteFailure as e:
                failure = e
                break
        assert failure is not None, "every row fitted: the disk was not full"
        assert "No space left on device" in str(failure), str(failure)
        with pytest.raises(WriteFailure, match="No space left on device"):
            s.execute(ins, (500, "small"))
        store.wait_for_log(r"WAL sync failed in .*: .*No space left on device.*; writes are "
                           r"refused until the disk has room again")
        # Reads go on, with every acknowledged row (the refused one may show: not durable).
        got = {r.id: r.v for r in s.execute("SELECT id, v FROM k.t")}
        assert {k: got.get(k) for k in acked} == acked
        # Still full: no reopen, writes still refused.
        with pytest.raises(WriteFailure, match="No space left on device"):
            s.execute(ins, (501, "small"))
        # A paged read begun before the reopen goes on after it: its paging state is a key.
        paged = s.execute(SimpleStatement("SELECT id FROM k.t", fetch_size=3))
        seen = [r.id for r in paged.current_rows]
        assert paged.has_more_pages
        t0 = time.monotonic()
        disk.free()
        store.wait_for_log(r"store .* reopened after a failed write .*: writes are accepted "
                           r"again", timeout=sh.scaled(20))
        assert time.monotonic() - t0 < sh.scaled(10), "the reopen took too long"
        while paged.has_more_pages:
            paged.fetch_next_page()
            seen += [r.id for r in paged.current_rows]
        assert set(acked) <= set(seen) and len(seen) == len(set(seen))
        for i in range(600, 620):  # the same session, connected throughout
            s.execute(ins, (i, "b"))
            acked[i] = "b"
        got = {r.id: r.v for r in s.execute("SELECT id, v FROM k.t")}
        assert {k: got.get(k) for k in acked} == acked
        assert store.pid == pid and store.running, "the store restarted"
    finally:
        c.shutdown()
    store.crash_restart()
    c = cql_util.cluster(types.SimpleNamespace(host="127.0.0.1", port=store.port))
    try:
        s = c.connect()
        for i in range(1000, 1010):
            s.execute("INSERT INTO k.t (id, v) VALUES (%s, 'c')", (i,))
            acked[i] = "c"
        got = {r.id: r.v for r in s.execute("SELECT id, v FROM k.t")}
    finally:
        c.shutdown()
    assert {k: got.get(k) for k in acked} == acked
    assert "Assertion" not in store.log_text()
