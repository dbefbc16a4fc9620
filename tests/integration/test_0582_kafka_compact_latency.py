"""The log cleaner works off the broker's loop (docs/kafka.md "Log compaction"): while a large
compaction (tens of MB of closed segments rewritten) runs on a worker thread, a producer on
another topic keeps getting its acks quickly, and the compacted partition still holds exactly
the latest value of each key."""

import statistics
import threading
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import sluice_harness as sh

KEYS = 2000
ROUNDS = 64  # versions of each key: KEYS * ROUNDS records of VALUE bytes
VALUE = 1024


def create(addr, topic, **conf):
    admin = AdminClient({"bootstrap.servers": addr})
    admin.create_topics([NewTopic(topic, 1, 1, config=conf)])[topic].result(
        timeout=sh.scaled(10))


def fill(addr):
    p = Producer({"bootstrap.servers": addr, "linger.ms": 5, "batch.size": 256 * 1024,
                  "enable.idempotence": True})
    latest = {}
    for r in range(ROUNDS):
        for k in range(KEYS):
            v = f"{k}-{r}-".encode() + b"x" * VALUE
            p.produce("big", key=f"k{k:05d}".encode(), value=v, partition=0)
            latest[f"k{k:05d}".encode()] = v
            if k % 5000 == 0:
                p.poll(0)
        p.flush(sh.scaled(30))
    for _ in range(20):  # 10 MiB: everything above rolls out of the active segment
        p.produce("big", key=b"~filler", value=b"f" * (512 << 10), partition=0)
        p.flush(sh.scaled(30))
    assert p.flush(sh.scaled(30)) == 0
    return latest


def probe(addr, stop, rtts):
    """Produces one small record at a time (acks=all) and records each round trip, once the
    connection is up and warm."""
    p = Producer({"bootstrap.servers": addr, "linger.ms": 0, "acks": "all"})
    done = []
    for _ in range(20):
        p.produce("probe", value=b"w", on_delivery=lambda err, msg: done.append(err))
        p.flush(sh.scaled(10))
    while not stop.is_set():
        t0 = time.monotonic()
        p.produce("probe", value=b"p", on_delivery=lambda err, msg: done.append(err))
        p.flush(sh.scaled(10))
        rtts.append((time.monotonic() - t0, t0))
        time.sleep(0.002)
    assert all(e is None for e in done)


def test_produce_stays_fast_while_a_big_compaction_runs(sluice_proc):
    broker = sluice_proc("broker", args=["--log-cleaner-interval", "1h"])
    create(broker.addr, "big", **{"cleanup.policy": "compact", "segment.bytes": str(8 << 20),
                                  "min.cleanable.dirty.ratio": "0.01"})
    create(broker.addr, "probe")
    latest = fill(broker.addr)
    # The next start cleans 2 s in, the whole partition in one compaction, while the probe runs.
    broker.args = [a if a != "1h" else "2s" for a in broker.args]
    broker.restart()
    stop, rtts = threading.Event(), []
    t = threading.Thread(target=probe, args=(broker.addr, stop, rtts))
    t.start()
    try:
        m = broker.wait_for_log(r"compacted (\d+) segment\(s\): (\d+) -> (\d+) bytes", timeout=60)
        time.sleep(0.3)
    finally:
        stop.set()
        t.join()
    segs, before, after = (int(x) for x in m.groups())
    assert segs >= 3 and before > 120 << 20 and after < before // 4, m.group(0)
    rtts = sorted(r for r, _ in rtts)
    p99 = rtts[int(len(rtts) * 0.99)]
    print(f"compaction {before >> 20} -> {after >> 20} MiB in {segs} segments; "
          f"{len(rtts)} probe acks: median {statistics.median(rtts) * 1e3:.1f} ms, "
          f"p99 {p99 * 1e3:.1f} ms, max {rtts[-1] * 1e3:.1f} ms")
    assert len(rtts) > 20
    assert p99 < sh.scaled(0.1) and rtts[-1] < sh.scaled(0.2), rtts[-5:]

    c = Consumer({"bootstrap.servers": broker.addr, "group.id": "check",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest",
                  "fetch.max.bytes": 8 << 20})
    try:
        lo, hi = c.get_watermark_offsets(TopicPartition("big", 0), timeout=sh.scaled(10))
        c.assign([TopicPartition("big", 0, lo)])
        seen, last = {}, -1
        deadline = time.monotonic() + sh.scaled(30)
        while last < hi - 1 and time.monotonic() < deadline:
            msg = c.poll(0.5)
            if msg is None:
                continue
            assert not msg.error(), msg.error()
            assert msg.offset() > last
            last = msg.offset()
            if msg.key() != b"~filler":
                assert msg.key() not in seen, msg.key()
                seen[msg.key()] = msg.value()
    finally:
        c.close()
    assert seen == latest
