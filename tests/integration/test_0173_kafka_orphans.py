"""Startup hygiene: partition directories in the data dir that topics.json does not list.

A DeleteTopics cut short by a crash (topics.json rewritten, logs not yet removed) or a
CreateTopics cut short (logs made, topics.json not yet written) leaves such directories. The
broker removes them at start with a warning naming each, so their records never reappear; a
directory of the same shape that is not a partition log is reported and kept (docs/kafka.md,
"Storage layout")."""

import json
import shutil

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import sluice_harness as sh


def produce(addr, topic, values, partition=0):
    p = Producer({"bootstrap.servers": addr, "acks": "all"})
    errors = []
    for v in values:
        p.produce(topic, value=v, partition=partition,
                  on_delivery=lambda e, m: errors.append(e) if e else None)
    assert p.flush(sh.scaled(15)) == 0 and not errors, errors


def read_all(addr, topic, partition=0):
    c = Consumer({"bootstrap.servers": addr, "group.id": "orphan-reader",
                  "enable.auto.commit": False, "enable.partition.eof": True})
    c.assign([TopicPartition(topic, partition, 0)])
    got = []
    try:
        while True:
            m = c.poll(sh.scaled(10))
            assert m is not None, "no end-of-partition event"
            if m.error():
                assert m.error().code() == KafkaError._PARTITION_EOF, m.error()
                return got
            got.append(m.value())
    finally:
        c.close()


def test_orphaned_partition_dirs_removed_at_start(sluice_proc):
    broker = sluice_proc("broker", args=["--auto-create-topics=false"])
    admin = AdminClient({"bootstrap.servers": broker.addr})
    for f in admin.create_topics([NewTopic("keep", 2, 1), NewTopic("gone", 1, 1)]).values():
        f.result(timeout=sh.scaled(10))
    produce(broker.addr, "keep", [b"k-%d" % i for i in range(5)])
    produce(broker.addr, "gone", [b"g-%d" % i for i in range(7)])
    broker.stop()

    data = broker.data_dir
    # As a crash in the middle of DeleteTopics leaves it: topics.json no longer lists "gone",
    # whose partition log is still there.
    doc = json.loads((data / "topics.json").read_text())
    doc["topics"] = [t for t in doc["topics"] if t["name"] != "gone"]
    (data / "topics.json").write_text(json.dumps(doc))
    # A partition index past the topic's count, also a partition log.
    shutil.copytree(data / "keep-0", data / "keep-7")
    # Same shape, but no partition log made it: not ours to delete.
    (data / "notours-0").mkdir()
    (data / "notours-0" / "precious.txt").write_text("keep me")
    # Other names are not partition directories at all.
    (data / "scratch").mkdir()

    broker.start()
    log = broker.log_text()
    assert "gone-0: removed orphaned partition directory" in log, sh.tail(log, 40)
    assert "keep-7: removed orphaned partition directory" in log, sh.tail(log, 40)
    assert "notours-0: not a partition of any topic" in log, sh.tail(log, 40)
    assert not (data / "gone-0").exists()
    assert not (data / "keep-7").exists()
    assert (data / "notours-0" / "precious.txt").read_text() == "keep me"
    assert (data / "scratch").is_dir()
    assert (data / "keep-0").is_dir() and (data / "keep-1").is_dir()

    # The listed topic is intact; the orphan's records do not come back under its name.
    assert read_all(broker.addr, "keep") == [b"k-%d" % i for i in range(5)]
    admin = AdminClient({"bootstrap.servers": broker.addr})
    assert "gone" not in admin.list_topics(timeout=sh.scaled(10)).topics
    admin.create_topics([NewTopic("gone", 1, 1)])["gone"].result(timeout=sh.scaled(10))
    assert read_all(broker.addr, "gone") == []
    assert broker.running
