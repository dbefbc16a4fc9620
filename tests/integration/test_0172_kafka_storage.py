"""Storage points of issue 3 (docs/kafka.md, "Storage layout" and "Conformance"): topic configs
set by CreateTopics and read back by DescribeConfigs (confluent-kafka AdminClient), segments
rolling by size and by time, retention by time and by bytes per topic applied by the retention
timer, and committed offsets expiring after the offsets retention period."""

import time

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource, NewTopic

import sluice_harness as sh


def create(admin, topic, partitions=1, config=None):
    admin.create_topics([NewTopic(topic, partitions, 1, config=config or {})])[topic].result(
        timeout=sh.scaled(10))


def describe(admin, topic):
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    return admin.describe_configs([res])[res].result(timeout=sh.scaled(10))


def produce(addr, topic, values, timestamps=None, one_batch_each=False):
    p = Producer({"bootstrap.servers": addr, "acks": "all", "linger.ms": 0 if one_batch_each
                  else 5})
    errors = []
    for i, v in enumerate(values):
        extra = {"timestamp": timestamps[i]} if timestamps else {}
        p.produce(topic, value=v, partition=0,
                  on_delivery=lambda e, m: errors.append(e) if e else None, **extra)
        if one_batch_each:
            p.flush(sh.scaled(10))
    assert p.flush(sh.scaled(30)) == 0 and not errors, errors[:1]


def segments(broker, topic, ext="log"):
    return sorted((broker.data_dir / f"{topic}-0").glob(f"*.{ext}"))


def watermarks(addr, topic):
    c = Consumer({"bootstrap.servers": addr, "group.id": "wm"})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, 0), timeout=sh.scaled(10),
                                       cached=False)
    finally:
        c.close()


SET = {"retention.ms": "3600000", "retention.bytes": "1048576", "segment.bytes": "65536",
       "segment.ms": "600000", "max.message.bytes": "500000",
       "message.timestamp.type": "LogAppendTime", "index.interval.bytes": "1024",
       "cleanup.policy": "delete", "compression.type": "producer", "min.insync.replicas": "1"}


def test_topic_configs_created_and_described(sluice_proc):
    broker = sluice_proc("broker", args=["--retention-ms", "2d", "--segment-bytes", "128MiB"])
    admin = AdminClient({"bootstrap.servers": broker.addr})
    create(admin, "cfg", config=SET)
    create(admin, "plain")
    for _ in range(2):
        got = describe(admin, "cfg")
        for k, v in SET.items():
            assert got[k].value == v, k
            assert not got[k].is_default, k
            assert got[k].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value, k
        plain = describe(admin, "plain")
        # Defaults come from the broker's flags.
        assert plain["retention.ms"].value == str(2 * 86400 * 1000)
        assert plain["segment.bytes"].value == str(128 << 20)
        assert plain["retention.bytes"].value == "-1"
        assert plain["retention.ms"].is_default
        broker.restart()  # configs persist in topics.json
        admin = AdminClient({"bootstrap.servers": broker.addr})

    # They take effect: max.message.bytes refuses a larger batch, LogAppendTime stamps.
    p = Producer({"bootstrap.servers": broker.addr, "message.max.bytes": 1000000,
                  "compression.codec": "none"})
    errors = []
    p.produce("cfg", value=b"x" * 600_000, on_delivery=lambda e, m: errors.append(e))
    p.flush(sh.scaled(10))
    p.produce("cfg", value=b"small", timestamp=1000,
              on_delivery=lambda e, m: errors.append(e or m.timestamp()))
    p.flush(sh.scaled(10))
    assert errors[0].code() == KafkaError.MSG_SIZE_TOO_LARGE
    ts_type, ts = errors[1]
    assert ts_type == 2 and ts > 1000  # TIMESTAMP_LOG_APPEND_TIME, the broker's clock

    # Bad names and values are refused per topic with INVALID_CONFIG and a reason.
    fs = admin.create_topics([NewTopic("bad1", 1, 1, config={"no.such.thing": "1"}),
                              NewTopic("bad2", 1, 1, config={"retention.ms": "soon"}),
                              NewTopic("bad3", 1, 1, config={"cleanup.policy": "shred"})])
    for name, f in fs.items():
        with pytest.raises(KafkaException) as ei:
            f.result(timeout=sh.scaled(10))
        assert ei.value.args[0].code() == KafkaError.INVALID_CONFIG, name
    assert "no.such.thing" in fs["bad1"].exception().args[0].str()
    assert not set(admin.list_topics(timeout=sh.scaled(10)).topics) & {"bad1", "bad2", "bad3"}

    # The broker resource lists the broker's settings under Kafka's names.
    res = ConfigResource(ConfigResource.Type.BROKER, "1")
    b = admin.describe_configs([res])[res].result(timeout=sh.scaled(10))
    assert b["log.retention.ms"].value == str(2 * 86400 * 1000)
    assert b["advertised.listeners"].value == f"PLAINTEXT://{broker.addr}"


def test_segments_roll_by_size_and_by_time(sluice_proc):
    broker = sluice_proc("broker")
    admin = AdminClient({"bootstrap.servers": broker.addr})
    create(admin, "bysize", config={"segment.bytes": "16384"})
    produce(broker.addr, "bysize", [b"%04d" % i + b"s" * 1000 for i in range(60)],
            one_batch_each=True)
    logs = segments(broker, "bysize")
    assert len(logs) >= 4, logs
    assert all(f.stat().st_size <= 16384 for f in logs)
    # Each closed segment has its offset and time indexes.
    bases = {f.stem for f in logs[:-1]}
    assert bases <= {f.stem for f in segments(broker, "bysize", "index")}
    assert bases <= {f.stem for f in segments(broker, "bysize", "timeindex")}

    # By time: a batch whose timestamp is more than segment.ms past the segment's first one
    # starts a new segment, as in Kafka (record timestamps, so no sleeping here; the unit test
    # test_plog.c::test_roll_by_size_and_time covers batches without them, by wall clock).
    create(admin, "bytime", config={"segment.ms": "1000"})
    t = int(time.time() * 1000)
    produce(broker.addr, "bytime", [b"first"], timestamps=[t])
    produce(broker.addr, "bytime", [b"within"], timestamps=[t + 900])
    assert len(segments(broker, "bytime")) == 1
    produce(broker.addr, "bytime", [b"later"], timestamps=[t + 1100])
    assert len(segments(broker, "bytime")) == 2
    produce(broker.addr, "bytime", [b"later-still"], timestamps=[t + 2000])
    assert len(segments(broker, "bytime")) == 2
    produce(broker.addr, "bytime", [b"much-later"], timestamps=[t + 2200])
    assert [int(f.stem) for f in segments(broker, "bytime")] == [0, 2, 4]
    assert watermarks(broker.addr, "bytime") == (0, 5)


def test_retention_by_time_and_bytes_per_topic(sluice_proc):
    broker = sluice_proc("broker", args=["--retention-check", "300ms"])
    admin = AdminClient({"bootstrap.servers": broker.addr})
    small = {"segment.bytes": "16384"}
    create(admin, "bytime", config={**small, "retention.ms": "5000"})
    create(admin, "bybytes", config={**small, "retention.bytes": "40000"})
    create(admin, "kept", config=small)  # the broker default: 7 days, unlimited bytes

    hour_ago = int(time.time() * 1000) - 3600_000
    old = [b"%04d" % i + b"o" * 1000 for i in range(40)]
    for t in ("bytime", "kept"):
        produce(broker.addr, t, old, timestamps=[hour_ago + i for i in range(40)],
                one_batch_each=True)
    produce(broker.addr, "bytime", [b"fresh-%d" % i for i in range(3)])
    produce(broker.addr, "bybytes", [b"%04d" % i + b"b" * 1000 for i in range(120)],
            one_batch_each=True)
    # (The timer may already have run for some topics: only "kept" is counted before.)
    kept = len(segments(broker, "kept"))
    assert kept >= 3

    # Nothing else happens: the timer alone applies retention.
    def bybytes_size():
        return sum(f.stat().st_size for f in segments(broker, "bybytes"))

    def applied():  # to everything produced (a timer round may have run meanwhile)
        return (watermarks(broker.addr, "bytime")[0] > 0 and
                bybytes_size() < 40000 + 16384 + 2000)
    sh.wait_until(applied, sh.scaled(10), interval=0.2, what="retention applied by the timer")

    # By time: every segment whose newest record is an hour old went; the active one stays.
    low, high = watermarks(broker.addr, "bytime")
    assert high == 43 and low > 0
    assert int(segments(broker, "bytime")[0].stem) == low  # the first segment left starts it
    c = Consumer({"bootstrap.servers": broker.addr, "group.id": "ret",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    c.assign([TopicPartition("bytime", 0, low)])
    m = c.poll(sh.scaled(10))
    assert m is not None and not m.error() and m.offset() == low
    c.close()
    # By bytes: the oldest segments went while what remains is at least retention.bytes.
    remaining = bybytes_size()
    assert 40000 <= remaining < 40000 + 16384 + 2000, remaining
    low, high = watermarks(broker.addr, "bybytes")
    assert high == 120 and low > 0 and int(segments(broker, "bybytes")[0].stem) == low
    # Per topic: the same old data under the broker's defaults is all still there.
    assert watermarks(broker.addr, "kept") == (0, 40)
    assert len(segments(broker, "kept")) == kept


def test_committed_offsets_expire(sluice_proc):
    broker = sluice_proc("broker", args=["--offsets-retention", "2s",
                                         "--offsets-retention-check", "200ms"])
    admin = AdminClient({"bootstrap.servers": broker.addr})
    create(admin, "exp")
    produce(broker.addr, "exp", [b"%d" % i for i in range(10)])

    def committed(group):
        c = Consumer({"bootstrap.servers": broker.addr, "group.id": group})
        try:
            tp, = c.committed([TopicPartition("exp", 0)], timeout=sh.scaled(10))
            return tp.offset
        finally:
            c.close()

    c = Consumer({"bootstrap.servers": broker.addr, "group.id": "short-lived",
                  "enable.auto.commit": False})
    c.assign([TopicPartition("exp", 0, 0)])
    c.commit(offsets=[TopicPartition("exp", 0, 7)], asynchronous=False)
    c.close()
    t_empty = time.monotonic()
    assert committed("short-lived") == 7
    sh.wait_until(lambda: committed("short-lived") < 0, sh.scaled(10), interval=0.3,
                  what="committed offset expired")
    waited = time.monotonic() - t_empty
    assert waited >= 1.5, f"expired after {waited:.1f}s, before the 2 s retention"
    broker.restart()  # the expiry was persisted
    assert committed("short-lived") < 0
