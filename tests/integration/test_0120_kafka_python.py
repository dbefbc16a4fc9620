"""sluice broker driven by python3-kafka 2.0.2, the pure-Python client: it sends only ApiVersions
v0, infers a broker version from the answer and then speaks older request versions (Metadata
v0/v1, Fetch v4, ListOffsets v1, FindCoordinator v0, JoinGroup v2, SyncGroup v1, OffsetCommit
v2, OffsetFetch v1). Produce, consume, and a consumer group that resumes from its commits."""

import time

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

import sluice_harness as sh


def produce(addr, topic, values, **cfg):
    p = KafkaProducer(bootstrap_servers=addr, **cfg)
    futures = [p.send(topic, key=b"k%d" % (i % 7), value=v) for i, v in enumerate(values)]
    p.flush(timeout=sh.scaled(30))
    metas = [f.get(timeout=sh.scaled(10)) for f in futures]
    p.close()
    return metas


def drain(consumer, expected, timeout=30):
    got = []
    deadline = time.monotonic() + sh.scaled(timeout)
    while len(got) < expected and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            got.extend(records)
    return got


def test_produce_consume(sluice_proc):
    broker = sluice_proc("broker", args=["--num-partitions", "2"])
    values = [b"plain-%d" % i for i in range(2000)]
    metas = produce(broker.addr, "kp", values, acks="all")
    metas += produce(broker.addr, "kp", [b"gz-%d" % i for i in range(500)], acks=1,
                     compression_type="gzip")
    assert {m.topic for m in metas} == {"kp"}
    for part in (0, 1):
        offs = sorted(m.offset for m in metas if m.partition == part)
        assert offs == list(range(len(offs))), f"partition {part}: acked offsets not contiguous"

    c = KafkaConsumer(bootstrap_servers=broker.addr, auto_offset_reset="earliest",
                      enable_auto_commit=False, group_id=None)
    c.assign([TopicPartition("kp", 0), TopicPartition("kp", 1)])
    got = drain(c, 2500)
    assert sorted(r.value for r in got) == sorted(values + [b"gz-%d" % i for i in range(500)])
    acked = {(m.partition, m.offset) for m in metas}
    assert {(r.partition, r.offset) for r in got} == acked
    assert c.end_offsets([TopicPartition("kp", 0), TopicPartition("kp", 1)]) == {
        TopicPartition("kp", p): len([m for m in metas if m.partition == p]) for p in (0, 1)}
    assert c.beginning_offsets([TopicPartition("kp", 0)]) == {TopicPartition("kp", 0): 0}
    c.close()


# kafka-python's poll() blocks without a deadline until it finds a group coordinator.
@pytest.mark.timeout(sh.scaled(90))
def test_group(sluice_proc):
    broker = sluice_proc("broker", args=["--num-partitions", "3"])
    produce(broker.addr, "kg", [b"a-%d" % i for i in range(900)])

    def member():
        return KafkaConsumer("kg", bootstrap_servers=broker.addr, group_id="kpy-group",
                             auto_offset_reset="earliest", enable_auto_commit=False,
                             session_timeout_ms=6000, heartbeat_interval_ms=1000)

    c = member()
    got = drain(c, 900)
    assert sorted(r.value for r in got) == sorted(b"a-%d" % i for i in range(900))
    assert c.assignment() == {TopicPartition("kg", p) for p in range(3)}
    c.commit()
    c.close()

    admin = KafkaAdminClient(bootstrap_servers=broker.addr)
    offsets = admin.list_consumer_group_offsets("kpy-group")
    assert {tp.partition: om.offset for tp, om in offsets.items()} == {
        p: len([r for r in got if r.partition == p]) for p in range(3)}
    assert "kpy-group" in [g for g, _ in admin.list_consumer_groups()]
    admin.close()

    produce(broker.addr, "kg", [b"b-%d" % i for i in range(90)])
    c = member()
    got = drain(c, 90)
    time.sleep(0.5)  # anything beyond the 90 new records would show up now
    got += drain(c, 1, timeout=0.5)
    assert sorted(r.value for r in got) == sorted(b"b-%d" % i for i in range(90))
    c.close()
