"""Durability points of issue 3 (docs/kafka.md, "Durability" and "Conformance"): each `flush`
mode serves every acks level and keeps the data over a clean restart; idempotent producer
state survives a restart, clean or kill -9 (a duplicate is acknowledged with its first offset
and not appended again), with OUT_OF_ORDER_SEQUENCE_NUMBER on a gap; and a restart over a
~200 MB log accepts connections quickly."""

import subprocess
import time

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import kafka_wire as kw
import sluice_harness as sh


def consume_values(addr, topic, partitions=1, expect=None):
    """Every partition's values from offset 0 to its end (at least expect[p] of them: acks=0
    messages may still be on their way when the producer's flush returns)."""
    c = Consumer({"bootstrap.servers": addr, "group.id": "durability-reader",
                  "enable.auto.commit": False, "enable.partition.eof": True})
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got, eof = {p: [] for p in range(partitions)}, set()
    deadline = time.monotonic() + sh.scaled(60)

    def done():
        return len(eof) == partitions and all(len(got[p]) >= (expect or {}).get(p, 0)
                                               for p in got)
    try:
        while not done() and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                assert m.error().code() == KafkaError._PARTITION_EOF, m.error()
                eof.add(m.partition())
                continue
            eof.discard(m.partition())
            got[m.partition()].append(m.value())
    finally:
        c.close()
    return got


@pytest.mark.parametrize("flush", ["always", "interval:50", "os"])
def test_flush_mode_serves_and_survives_restart(sluice_proc, flush):
    broker = sluice_proc("broker", args=["--flush", flush])
    assert f"flush {flush}" in broker.log_text()
    admin = AdminClient({"bootstrap.servers": broker.addr})
    admin.create_topics([NewTopic("fl", 2, 1)])["fl"].result(timeout=sh.scaled(10))
    sent = {0: [], 1: []}
    for acks in ("all", "1", "0"):
        p = Producer({"bootstrap.servers": broker.addr, "acks": acks, "linger.ms": 5})
        errors = []
        for i in range(1000):
            part = i % 2
            v = b"%s-%d" % (acks.encode(), i)
            p.produce("fl", value=v, partition=part,
                      on_delivery=lambda e, m: errors.append(e) if e else None)
            sent[part].append(v)
        assert p.flush(sh.scaled(30)) == 0 and not errors, errors[:1]
    counts = {p: len(v) for p, v in sent.items()}
    assert consume_values(broker.addr, "fl", 2, counts) == sent
    broker.restart()  # SIGTERM: a clean stop
    assert consume_values(broker.addr, "fl", 2, counts) == sent


def batch(values, pid, epoch, seq):
    return kw.record_batch(values, producer_id=pid, producer_epoch=epoch, base_sequence=seq)


def test_idempotent_state_survives_restart(sluice_proc, kcat):
    broker = sluice_proc("broker")
    with kw.Conn(broker.addr) as c:
        kw.metadata(c, ["idem"])
        err, pid, epoch = kw.init_producer_id(c)
        assert err == kw.NONE and pid >= 0 and epoch == 0
        b0 = batch([b"a", b"b"], pid, epoch, 0)
        b1 = batch([b"c", b"d"], pid, epoch, 2)
        assert kw.produce(c, "idem", 0, b0) == (kw.NONE, 0)
        assert kw.produce(c, "idem", 0, b1) == (kw.NONE, 2)
        # A retry of either is acknowledged with its offset and not appended again.
        assert kw.produce(c, "idem", 0, b1) == (kw.NONE, 2)

    broker.restart()  # clean: the producer snapshot covers everything
    with kw.Conn(broker.addr) as c:
        assert kw.produce(c, "idem", 0, b1) == (kw.NONE, 2)
        assert kw.produce(c, "idem", 0, b0) == (kw.NONE, 0)
        assert kw.list_offsets(c, "idem", 0) == (kw.NONE, 4)
        b2 = batch([b"e"], pid, epoch, 4)
        assert kw.produce(c, "idem", 0, b2) == (kw.NONE, 4)

    broker.crash_restart()  # kill -9: b2 is past the last snapshot, replayed from the log
    with kw.Conn(broker.addr) as c:
        assert kw.produce(c, "idem", 0, b2) == (kw.NONE, 4)
        assert kw.list_offsets(c, "idem", 0) == (kw.NONE, 5)
        # A gap in the sequence: OUT_OF_ORDER_SEQUENCE_NUMBER, nothing appended.
        err, _ = kw.produce(c, "idem", 0, batch([b"gap"], pid, epoch, 9))
        assert err == kw.OUT_OF_ORDER_SEQUENCE_NUMBER
        assert kw.list_offsets(c, "idem", 0) == (kw.NONE, 5)
        assert kw.produce(c, "idem", 0, batch([b"f"], pid, epoch, 5)) == (kw.NONE, 5)
        # A newer epoch restarts at 0 and fences the older one.
        assert kw.produce(c, "idem", 0, batch([b"g"], pid, epoch + 1, 0)) == (kw.NONE, 6)
        err, _ = kw.produce(c, "idem", 0, batch([b"stale"], pid, epoch, 6))
        assert err == kw.INVALID_PRODUCER_EPOCH
        # A producer the partition has never seen must start at sequence 0.
        err, _ = kw.produce(c, "idem", 0, batch([b"x"], pid + 1000, 0, 7))
        assert err == kw.UNKNOWN_PRODUCER_ID
        assert kw.list_offsets(c, "idem", 0) == (kw.NONE, 7)

    out = subprocess.run([kcat, "-b", broker.addr, "-C", "-t", "idem", "-o", "beginning", "-e",
                          "-q", "-f", "%o:%s\n"], capture_output=True, text=True,
                         timeout=sh.scaled(30))
    assert out.stdout.split() == ["0:a", "1:b", "2:c", "3:d", "4:e", "5:f", "6:g"]


MB = 1 << 20
BULK_MB = 200


def timed_start(broker):
    t0 = time.monotonic()
    broker.start()
    return time.monotonic() - t0


def test_restart_over_200mb(sluice_proc):
    # One partition, one 1 GiB segment (the default): the whole log is the active segment,
    # the worst case for recovery.
    broker = sluice_proc("broker")
    admin = AdminClient({"bootstrap.servers": broker.addr})
    admin.create_topics([NewTopic("bulk", 1, 1)])["bulk"].result(timeout=sh.scaled(10))
    value = bytes(range(256)) * 400  # 100 KiB, incompressible enough
    p = Producer({"bootstrap.servers": broker.addr, "acks": 1, "linger.ms": 20,
                  "batch.size": 1000000, "queue.buffering.max.kbytes": 262144})
    n = BULK_MB * MB // len(value)
    t0 = time.monotonic()
    for i in range(n):
        while True:
            try:
                p.produce("bulk", value=value, key=b"%d" % i, partition=0)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    assert p.flush(sh.scaled(120)) == 0
    produce_s = time.monotonic() - t0
    size = sum(f.stat().st_size for f in (broker.data_dir / "bulk-0").glob("*.log"))
    assert size >= BULK_MB * MB

    timings = {}
    # kill -9 right after the acks=1 writes: nothing in the segment was ever synced, so there
    # is no recovery point and recovery verifies the CRC of the whole 200 MB.
    broker.kill9()
    timings["kill -9 (nothing synced) -> accepting"] = timed_start(broker)
    broker.stop()
    timings["clean stop -> accepting"] = timed_start(broker)
    # kill -9 after an acks=all write: the recovery point covers the log.
    p = Producer({"bootstrap.servers": broker.addr, "acks": "all"})
    p.produce("bulk", value=b"last-acks-all", partition=0)
    assert p.flush(sh.scaled(10)) == 0
    broker.kill9()
    timings["kill -9 (after acks=all) -> accepting"] = timed_start(broker)
    print(f"\n{size / MB:.0f} MB in one segment (produced in {produce_s:.1f}s): " +
          ", ".join(f"{k} {v * 1000:.0f}ms" for k, v in timings.items()))
    for what, secs in timings.items():
        assert secs < sh.scaled(1.0), f"{what}: {secs:.2f}s"

    c = Consumer({"bootstrap.servers": broker.addr, "group.id": "bulk-tail",
                  "enable.auto.commit": False})
    c.assign([TopicPartition("bulk", 0, n - 1)])
    got = []
    while len(got) < 2:
        m = c.poll(sh.scaled(10))
        assert m is not None and not m.error(), m and m.error()
        got.append((m.offset(), m.key(), m.value()[:16]))
    c.close()
    assert got == [(n - 1, b"%d" % (n - 1), value[:16]), (n, None, b"last-acks-all")]
