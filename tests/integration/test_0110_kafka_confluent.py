"""sluice broker driven by python3-confluent-kafka 1.7.0 (librdkafka 2.0.2): an idempotent producer
with acks=all whose every delivery report is checked against what a consumer reads back, and the
AdminClient's create_topics, delete_topics, describe_configs and list_groups.

(The two-consumer group split and offset resume are test_0130's.)"""

import time

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

import sluice_harness as sh

N_MESSAGES = 20_000


def consume_all(addr, topic, partitions, expected, timeout=30):
    """Reads every partition from offset 0 without a group: {(partition, offset): (key, value)}."""
    c = Consumer({"bootstrap.servers": addr, "group.id": "unused-no-commit",
                  "enable.auto.commit": False, "enable.partition.eof": True})
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got, eof = {}, set()
    deadline = time.monotonic() + sh.scaled(timeout)
    try:
        while (len(got) < expected or len(eof) < partitions) and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    eof.add(m.partition())
                    continue
                raise AssertionError(f"consume error: {m.error()}")
            eof.discard(m.partition())
            assert (m.partition(), m.offset()) not in got, "offset delivered twice"
            got[(m.partition(), m.offset())] = (m.key(), m.value())
    finally:
        c.close()
    return got


def test_idempotent_producer_acks_all(sluice_proc):
    broker = sluice_proc("broker")
    admin = AdminClient({"bootstrap.servers": broker.addr})
    fs = admin.create_topics([NewTopic("idem", num_partitions=3, replication_factor=1)])
    fs["idem"].result(timeout=sh.scaled(10))

    reports = []
    p = Producer({"bootstrap.servers": broker.addr, "enable.idempotence": True, "acks": "all",
                  "linger.ms": 5, "error_cb": lambda e: reports.append(("error_cb", e))})
    assert p.list_topics(timeout=sh.scaled(10)).topics["idem"].error is None

    def on_delivery(err, msg):
        reports.append((err, msg.partition(), msg.offset(), msg.key(), msg.value()))

    sent = []
    for i in range(N_MESSAGES):
        key, value = b"key-%d" % (i % 101), b"value-%d" % i
        while True:
            try:
                p.produce("idem", value=value, key=key, on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.05)
        sent.append((key, value))
        p.poll(0)
    assert p.flush(sh.scaled(60)) == 0, "messages still queued after 60 s"

    failures = [r for r in reports if r[0] is not None]
    assert not failures, f"{len(failures)} failed deliveries, first: {failures[0]}"
    assert len(reports) == N_MESSAGES

    # Every partition's acknowledged offsets run 0..n-1 with no gap or duplicate, and in each
    # partition the producer's order is kept (idempotence: max.in.flight 5, retries ordered).
    acked = {}
    for _, part, off, key, value in reports:
        acked.setdefault(part, []).append((off, value))
    assert sorted(acked) == [0, 1, 2]
    for part, rows in acked.items():
        assert sorted(o for o, _ in rows) == list(range(len(rows))), f"partition {part}"
        by_offset = [int(v.split(b"-")[1]) for _, v in sorted(rows)]
        assert by_offset == sorted(by_offset), f"partition {part}: order not kept"

    got = consume_all(broker.addr, "idem", 3, N_MESSAGES)
    assert len(got) == N_MESSAGES
    for _, part, off, key, value in reports:
        assert got[(part, off)] == (key, value)


def wait_all(futures, timeout=10):
    return {k: f.result(timeout=sh.scaled(timeout)) for k, f in futures.items()}


def test_admin_topics(sluice_proc):
    broker = sluice_proc("broker")
    admin = AdminClient({"bootstrap.servers": broker.addr})

    wait_all(admin.create_topics([
        NewTopic("adm-a", num_partitions=4, replication_factor=1,
                 config={"retention.ms": "3600000", "segment.bytes": "1048576"}),
        NewTopic("adm-b", num_partitions=1, replication_factor=1),
    ]))
    md = admin.list_topics(timeout=sh.scaled(10))
    assert len(md.topics["adm-a"].partitions) == 4
    assert len(md.topics["adm-b"].partitions) == 1

    # Errors are per topic: an existing name and an invalid one.
    fs = admin.create_topics([NewTopic("adm-a", 4, 1), NewTopic("bad/name", 1, 1),
                              NewTopic("adm-c", 2, 1)])
    with pytest.raises(Exception) as ei:
        fs["adm-a"].result(timeout=sh.scaled(10))
    assert ei.value.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS
    with pytest.raises(Exception) as ei:
        fs["bad/name"].result(timeout=sh.scaled(10))
    assert ei.value.args[0].code() == KafkaError.TOPIC_EXCEPTION
    fs["adm-c"].result(timeout=sh.scaled(10))

    res = ConfigResource(ConfigResource.Type.TOPIC, "adm-a")
    configs = wait_all(admin.describe_configs([res]))[res]
    assert configs["retention.ms"].value == "3600000"
    assert configs["segment.bytes"].value == "1048576"
    assert not configs["retention.ms"].is_default

    wait_all(admin.delete_topics(["adm-a", "adm-c"], operation_timeout=sh.scaled(10)))
    topics = admin.list_topics(timeout=sh.scaled(10)).topics
    assert "adm-a" not in topics and "adm-c" not in topics and "adm-b" in topics
    assert not list(broker.data_dir.glob("adm-a-*")), "deleted topic's partition dirs remain"
    with pytest.raises(Exception) as ei:
        wait_all(admin.delete_topics(["adm-a"], operation_timeout=sh.scaled(10)))
    assert ei.value.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART

    # Deletion and creation persist across a restart.
    broker.restart()
    topics = AdminClient({"bootstrap.servers": broker.addr}).list_topics(
        timeout=sh.scaled(10)).topics
    assert "adm-a" not in topics and len(topics["adm-b"].partitions) == 1


def test_admin_list_groups(sluice_proc):
    broker = sluice_proc("broker")
    p = Producer({"bootstrap.servers": broker.addr})
    for i in range(10):
        p.produce("lg", value=b"%d" % i)
    assert p.flush(sh.scaled(10)) == 0

    c = Consumer({"bootstrap.servers": broker.addr, "group.id": "lister",
                  "auto.offset.reset": "earliest", "session.timeout.ms": 6000})
    c.subscribe(["lg"])
    n, deadline = 0, time.monotonic() + sh.scaled(30)
    while n < 10 and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            n += 1
    assert n == 10
    c.commit(asynchronous=False)

    admin = AdminClient({"bootstrap.servers": broker.addr})
    groups = {g.id: g for g in admin.list_groups(timeout=sh.scaled(10))}
    assert "lister" in groups
    g = groups["lister"]
    assert g.state == "Stable" and g.protocol_type == "consumer"
    assert len(g.members) == 1
    only = admin.list_groups("lister", timeout=sh.scaled(10))
    assert [x.id for x in only] == ["lister"]
    c.close()

    # After the member leaves the group is Empty but still listed (it has committed offsets).
    groups = {g.id: g for g in admin.list_groups(timeout=sh.scaled(10))}
    assert groups["lister"].state == "Empty" and not groups["lister"].members
