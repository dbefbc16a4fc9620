"""Log compaction in sluice broker (docs/kafka.md "Log compaction"): a topic created with
cleanup.policy=compact, many versions of keys and tombstones written over many rolled segments
by an idempotent confluent-kafka producer; after the cleaner runs, a consumer from the beginning,
kcat and kafka-python see exactly the latest value of each live key at its original offset, in offset order,
tombstones gone once delete.retention.ms has passed; the producer keeps producing; a clean
restart and kill -9 during compaction keep the result."""

import random
import subprocess
import time

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic
from kafka import KafkaConsumer
from kafka import TopicPartition as KafkaTopicPartition

import sluice_harness as sh

KEYS = 60
VERSIONS = 15
DEAD = {f"k{i:03d}" for i in range(0, KEYS, 6)}  # tombstoned at the end
FILLER = b"~filler"


def broker_args():
    return ["--log-cleaner-interval", "100ms"]


def create(addr, topic, **cfg):
    conf = {"cleanup.policy": "compact", "segment.bytes": "4096",
            "min.cleanable.dirty.ratio": "0.01"}
    conf.update({k.replace("_", "."): str(v) for k, v in cfg.items()})
    admin = AdminClient({"bootstrap.servers": addr})
    admin.create_topics([NewTopic(topic, 1, 1, config=conf)])[topic].result(
        timeout=sh.scaled(10))


def write(producer, topic, seed=1):
    """Versions of every key interleaved, then tombstones for DEAD, then filler records under
    another key so that everything before rolls out of the active segment. Returns the expected
    {key: (offset, value)} of the live keys and every record's offset."""
    rng = random.Random(seed)
    acked = {}

    def cb(err, msg):
        assert err is None, err
        acked[msg.offset()] = (msg.key(), msg.value())

    order = [(f"k{i:03d}", v) for v in range(VERSIONS) for i in range(KEYS)]
    rng.shuffle(order)
    order.sort(key=lambda kv: kv[1] + rng.random())  # mostly version order, keys mixed
    for n, (k, v) in enumerate(order):
        producer.produce(topic, key=k.encode(), value=f"{k}-v{v}-{'x' * 40}".encode(),
                         partition=0, on_delivery=cb)
        if n % 50 == 0:
            producer.flush(sh.scaled(10))
    producer.flush(sh.scaled(10))
    for k in sorted(DEAD):
        producer.produce(topic, key=k.encode(), value=None, partition=0, on_delivery=cb)
    producer.flush(sh.scaled(10))
    for _ in range(60):  # one batch each, so the segments roll past everything above
        producer.produce(topic, key=FILLER, value=b"f" * 100, partition=0, on_delivery=cb)
        producer.flush(sh.scaled(10))
    assert producer.flush(sh.scaled(30)) == 0
    latest = {}
    for off in sorted(acked):
        k, v = acked[off]
        latest[k] = (off, v)
    return {k: ov for k, ov in latest.items() if k != FILLER and ov[1] is not None}, acked


def consume(addr, topic):
    """Every record from the beginning to the high watermark: [(offset, key, value)]."""
    c = Consumer({"bootstrap.servers": addr, "group.id": f"g{time.monotonic_ns()}",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=sh.scaled(10))
        c.assign([TopicPartition(topic, 0, lo)])
        out = []
        deadline = time.monotonic() + sh.scaled(20)
        while time.monotonic() < deadline:
            m = c.poll(0.2)
            if m is None:
                if c.position([TopicPartition(topic, 0)])[0].offset >= hi:
                    break
                continue
            assert not m.error(), m.error()
            out.append((m.offset(), m.key(), m.value()))
            if m.offset() >= hi - 1:
                break
        return out, lo, hi
    finally:
        c.close()


def live_view(records):
    return {k: (o, v) for o, k, v in records if k != FILLER}


def compacted(addr, topic, expect):
    recs, _, _ = consume(addr, topic)
    keys = [k for _, k, _ in recs if k != FILLER]
    return recs if len(keys) == len(set(keys)) and live_view(recs) == expect else None


def check(recs, expect, acked):
    offs = [o for o, _, _ in recs]
    assert offs == sorted(offs) and len(offs) == len(set(offs))
    for o, k, v in recs:
        assert acked[o] == (k, v), o  # every record kept at its original offset
    assert live_view(recs) == expect


def test_compaction_keeps_latest_per_key(sluice_proc, kcat):
    broker = sluice_proc("broker", args=broker_args())
    create(broker.addr, "c", delete_retention_ms=0)
    p = Producer({"bootstrap.servers": broker.addr, "enable.idempotence": True,
                  "linger.ms": 2})
    expect, acked = write(p, "c")
    assert len(list((broker.data_dir / "c-0").glob("*.log"))) > 10
    recs = sh.wait_until(lambda: compacted(broker.addr, "c", expect), sh.scaled(20),
                         what="compaction")
    check(recs, expect, acked)
    assert len(recs) < len(acked) // 5
    assert not any(k in DEAD for _, k, _ in recs)

    # kcat (librdkafka's consumer) reads the same records across the gaps.
    out = subprocess.run([kcat, "-b", broker.addr, "-C", "-t", "c", "-p", "0", "-o", "beginning",
                          "-e", "-q", "-f", "%o %k %s\\n"], capture_output=True, check=True,
                         timeout=sh.scaled(30)).stdout.decode().splitlines()
    # (filler records may be compacted further meanwhile: compare the others)
    assert [line for line in out if " ~filler " not in line] == [
        f"{o} {k.decode()} {v.decode()}" for o, k, v in recs if k != FILLER]

    # kafka-python (a second consumer implementation) too, and ListOffsets earliest stays 0.
    kc = KafkaConsumer(bootstrap_servers=broker.addr, enable_auto_commit=False,
                       consumer_timeout_ms=int(sh.scaled(3000)))
    tp = KafkaTopicPartition("c", 0)
    kc.assign([tp])
    assert kc.beginning_offsets([tp])[tp] == 0
    kc.seek_to_beginning(tp)
    got = [(m.offset, m.key, m.value) for m in kc if m.key != FILLER]
    kc.close()
    assert got == [r for r in recs if r[1] != FILLER]

    # The idempotent producer goes on after its batches were rewritten.
    more = {}
    for i in range(5):
        p.produce("c", key=b"k001", value=f"after-{i}".encode(), partition=0,
                  on_delivery=lambda e, m: more.update({m.offset(): (m.key(), m.value())}))
    assert p.flush(sh.scaled(10)) == 0 and len(more) == 5
    acked.update(more)
    last = max(more)
    expect[b"k001"] = (last, more[last][1])

    broker.restart()
    recs2, lo, hi = consume(broker.addr, "c")
    assert lo == 0 and hi == max(acked) + 1
    check(recs2, expect, acked)
    assert not list((broker.data_dir / "c-0").glob("*.cleaned"))

    p2 = Producer({"bootstrap.servers": broker.addr, "enable.idempotence": True})
    p2.produce("c", key=b"k002", value=b"after-restart", partition=0)
    assert p2.flush(sh.scaled(10)) == 0


def test_tombstones_kept_until_delete_retention(sluice_proc):
    broker = sluice_proc("broker", args=broker_args())
    create(broker.addr, "t", delete_retention_ms=4000)
    admin = AdminClient({"bootstrap.servers": broker.addr})
    res = ConfigResource(ConfigResource.Type.TOPIC, "t")
    cfg = admin.describe_configs([res])[res].result(timeout=sh.scaled(10))
    assert cfg["cleanup.policy"].value == "compact"
    assert cfg["delete.retention.ms"].value == "4000"
    assert cfg["min.cleanable.dirty.ratio"].value == "0.01"
    bad = admin.create_topics([NewTopic("bad", 1, 1, config={"min.cleanable.dirty.ratio": "2"})])
    with pytest.raises(KafkaException) as ei:
        bad["bad"].result(timeout=sh.scaled(10))
    assert ei.value.args[0].code() == KafkaError.INVALID_CONFIG
    p = Producer({"bootstrap.servers": broker.addr, "linger.ms": 2})
    expect, acked = write(p, "t", seed=2)
    with_tombstones = dict(expect)
    with_tombstones.update({k: max((o, v) for o, (kk, v) in acked.items() if kk == k)
                            for k in (d.encode() for d in DEAD)})
    t0 = time.monotonic()
    recs = sh.wait_until(lambda: compacted(broker.addr, "t", with_tombstones), sh.scaled(20),
                         what="compaction keeping tombstones")
    if time.monotonic() - t0 < 3.5:  # the tombstones are still younger than delete.retention.ms
        assert sum(1 for _, k, v in recs if v is None) == len(DEAD)
    recs = sh.wait_until(lambda: compacted(broker.addr, "t", expect), sh.scaled(20),
                         what="tombstones removed")
    check(recs, expect, acked)


def test_kill9_during_compaction(sluice_proc):
    broker = sluice_proc("broker", args=broker_args())
    create(broker.addr, "k", delete_retention_ms=0, segment_bytes=2048)
    p = Producer({"bootstrap.servers": broker.addr, "linger.ms": 2})
    expect, acked = write(p, "k", seed=3)
    rng = random.Random(7)
    for _ in range(4):
        time.sleep(rng.uniform(0.0, 0.25))
        broker.crash_restart()
        recs, _, _ = consume(broker.addr, "k")
        offs = [o for o, _, _ in recs]
        assert offs == sorted(offs)
        for o, k, v in recs:
            assert acked[o] == (k, v)
        # Old or new segments, never a mix that loses a key or brings a dead one back.
        last = {}
        for o, k, v in recs:
            last[k] = (o, v)
        assert {k: ov for k, ov in last.items() if k != FILLER and ov[1] is not None} == expect
    recs = sh.wait_until(lambda: compacted(broker.addr, "k", expect), sh.scaled(20),
                         what="compaction after the crashes")
    check(recs, expect, acked)
