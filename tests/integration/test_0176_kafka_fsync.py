"""When the broker answers, seen through a slowed-down fdatasync (docs/kafka.md, "Durability").

The broker runs with an LD_PRELOAD shim whose fdatasync(2) sleeps SLOW_FSYNC_MS first (while
the test holds its switch file) and logs each call. Then under flush=always an acks=all
produce cannot be answered in less than that, while acks=1 and acks=0 are answered after
write(2) without any fdatasync; concurrent acks=all producers on several connections share
each partition's sync (group commit); flush=interval:MS answers acks=all at once and
fdatasyncs on its timer; flush=os never fdatasyncs."""

import os
import shutil
import subprocess
import threading
import time

import pytest
from confluent_kafka import Producer

import kafka_wire as kw
import sluice_harness as sh

SLOW_MS = 500

SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
int fdatasync(int fd)
{
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    const char *ms = getenv("SLOW_FSYNC_MS"), *log = getenv("SLOW_FSYNC_LOG");
    const char *on = getenv("SLOW_FSYNC_ON"); /* slow only while this file exists */
    if (ms && (!on || access(on, F_OK) == 0)) usleep((useconds_t)atoi(ms) * 1000);
    int rc = real(fd);
    if (log) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        char line[64];
        int n = snprintf(line, sizeof(line), "%ld.%09ld\n", (long)ts.tv_sec, ts.tv_nsec);
        int lfd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (lfd >= 0) {
            if (write(lfd, line, (size_t)n) < 0) { /* nothing to do */ }
            close(lfd);
        }
    }
    return rc;
}
"""


@pytest.fixture(scope="module")
def shim(tmp_path_factory):
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        pytest.fail("no C compiler for the fdatasync shim", pytrace=False)
    d = tmp_path_factory.mktemp("shim")
    (d / "slow_fsync.c").write_text(SHIM)
    subprocess.run([cc, "-shared", "-fPIC", "-O2", "-o", str(d / "slow_fsync.so"),
                    str(d / "slow_fsync.c"), "-ldl"], check=True)
    return d / "slow_fsync.so"


@pytest.fixture
def slow_switch(tmp_path):
    """The shim's switch: fdatasync is slow while the file exists (not at start and stop)."""
    switch = tmp_path / "slow-on"
    yield switch
    switch.unlink(missing_ok=True)


def start(sluice_proc, shim, tmp_path, flush, switch):
    log = tmp_path / "fdatasync.log"
    env = {"LD_PRELOAD": str(shim), "SLOW_FSYNC_MS": str(SLOW_MS), "SLOW_FSYNC_LOG": str(log),
           "SLOW_FSYNC_ON": str(switch),
           # a sanitizer build wants its runtime first; the shim does not need that
           "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"}
    broker = sluice_proc("broker", args=["--flush", flush], env=env)
    with kw.Conn(broker.addr) as c:
        assert kw.create_topics(c, "t0", partitions=4) == kw.NONE
        assert kw.create_topics(c, "t1", partitions=1) == kw.NONE
    switch.touch()

    def syncs():
        try:
            return len(log.read_text().split())
        except FileNotFoundError:
            return 0
    return broker, syncs


def timed_produce(conn, topic, part, acks, value=b"v"):
    t0 = time.monotonic()
    if acks == 0:
        kw.produce_no_ack(conn, topic, part, kw.record_batch([value]))
        kw.list_offsets(conn, topic, part)  # the next answer on the connection
        return time.monotonic() - t0, kw.NONE
    err, _ = kw.produce(conn, topic, part, kw.record_batch([value]), acks=acks)
    return time.monotonic() - t0, err


def test_flush_always(sluice_proc, shim, tmp_path, slow_switch):
    broker, syncs = start(sluice_proc, shim, tmp_path, "always", slow_switch)
    slow = SLOW_MS / 1000
    with kw.Conn(broker.addr, timeout=sh.scaled(20)) as c:
        n0 = syncs()
        for acks in (1, 0):
            for _ in range(5):
                secs, err = timed_produce(c, "t0", 0, acks)
                assert err == kw.NONE and secs < slow / 2, f"acks={acks}: {secs:.3f}s"
        assert syncs() == n0, "acks=1/0 waited for (or caused) an fdatasync"
        secs, err = timed_produce(c, "t0", 0, -1)
        assert err == kw.NONE and secs >= slow * 0.95, f"acks=all answered in {secs:.3f}s"
        assert syncs() > n0

    # Group commit: 16 connections on 4 partitions at once. Each partition is its own file and
    # needs its own fdatasync, but the requests waiting for one share it.
    n0 = syncs()
    times, errs = [], []

    def one(i):
        with kw.Conn(broker.addr, timeout=sh.scaled(30)) as conn:
            secs, err = timed_produce(conn, "t0", i % 4, -1)
            times.append(secs)
            errs.append(err)
    threads = [threading.Thread(target=one, args=(i,)) for i in range(16)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = time.monotonic() - t0
    used = syncs() - n0
    assert errs == [kw.NONE] * 16
    assert min(times) >= slow * 0.95
    print(f"\n16 acks=all produces from 16 connections on 4 partitions: {used} fdatasyncs, "
          f"{total:.2f}s wall (one sync {SLOW_MS}ms)")
    # Without sharing: 16 syncs one after another. With it: a round or two per partition.
    assert used <= 8, f"{used} fdatasyncs for 16 requests on 4 partitions"
    assert total < slow * 12, f"{total:.2f}s"

    # A real client sees the same.
    p = Producer({"bootstrap.servers": broker.addr, "acks": "all", "linger.ms": 0})
    lat = []
    for _ in range(3):
        t = time.monotonic()
        p.produce("t1", value=b"c", on_delivery=lambda e, m, t=t: lat.append(
            (e, time.monotonic() - t)))
        p.flush(sh.scaled(10))
    assert all(e is None and s >= slow * 0.95 for e, s in lat), lat


def test_flush_interval(sluice_proc, shim, tmp_path, slow_switch):
    broker, syncs = start(sluice_proc, shim, tmp_path, "interval:200", slow_switch)
    slow = SLOW_MS / 1000
    with kw.Conn(broker.addr, timeout=sh.scaled(20)) as c:
        time.sleep(0.5 + slow)  # let the creations' first timer round pass
        n0 = syncs()
        for acks in (-1, 1):
            for _ in range(3):
                secs, err = timed_produce(c, "t0", 1, acks)
                assert err == kw.NONE and secs < slow / 2, f"acks={acks}: {secs:.3f}s"
        # The timer syncs what was appended, after the answers.
        sh.wait_until(lambda: syncs() > n0, sh.scaled(3), what="interval fdatasync")
        # And nothing more while nothing is appended.
        time.sleep(0.2 + slow)
        n1 = syncs()
        time.sleep(0.6)
        assert syncs() == n1, "the timer synced a partition nothing was appended to"


def test_flush_os(sluice_proc, shim, tmp_path, slow_switch):
    broker, syncs = start(sluice_proc, shim, tmp_path, "os", slow_switch)
    slow = SLOW_MS / 1000
    n0 = syncs()
    with kw.Conn(broker.addr, timeout=sh.scaled(20)) as c:
        for acks in (-1, 1, 0):
            for _ in range(3):
                secs, err = timed_produce(c, "t0", 2, acks)
                assert err == kw.NONE and secs < slow / 2, f"acks={acks}: {secs:.3f}s"
    time.sleep(0.5)
    assert syncs() == n0, "flush=os called fdatasync"
