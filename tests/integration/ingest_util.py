"""Helpers for the ingest tests (test_032x, test_033x): running `sluice ingest`, reading a topic back
in full with python3-confluent-kafka, and checking each record against the seeds' flattening.

The expected record is pipeline_util.format_data (a transcription of the seeds' format_data,
written from the seed) with one rule of sluice's: post_code travels as text, whether the API
gave a number or a string (the table's column is text)."""

import json
import time

from confluent_kafka import Consumer, KafkaError, TopicPartition

import pipeline_util as pu
import sluice_harness as sh


def ingest(broker, source, *args, topic=pu.TOPIC, timeout=120):
    """Runs `sluice ingest --source SOURCE --topic TOPIC --kafka BROKER args` to completion."""
    return sh.run_sluice("ingest", "--source", source, "--topic", topic, "--kafka", broker.addr,
                         *args, timeout=timeout)


def ok(r):
    assert r.returncode == 0, f"sluice ingest exited {r.returncode}\n{sh.tail(r.stderr, 40)}"
    return r


def expected(raw_user, user_id):
    """What ingest must produce for one raw API user."""
    rec = pu.format_data(raw_user, user_id)
    rec["post_code"] = pu.as_text(rec["post_code"])
    return rec


def consume_all(broker, topic=pu.TOPIC, timeout=60):
    """Every record of every partition of topic, from offset 0 to the end:
    [(partition, offset, key bytes, value bytes)], in partition then offset order."""
    c = Consumer({"bootstrap.servers": broker.addr, "group.id": "ingest-test-reader",
                  "enable.auto.commit": False, "enable.partition.eof": True})
    try:
        md = c.list_topics(topic, timeout=sh.scaled(10))
        parts = sorted(md.topics[topic].partitions)
        ends = {}
        for p in parts:
            lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=sh.scaled(10))
            ends[p] = hi
        c.assign([TopicPartition(topic, p, 0) for p in parts])
        got = []
        done = {p for p in parts if ends[p] == 0}
        deadline = time.monotonic() + sh.scaled(timeout)
        while len(done) < len(parts):
            assert time.monotonic() < deadline, f"read {len(got)} records; ends {ends}"
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    if m.offset() >= ends[m.partition()]:
                        done.add(m.partition())
                    continue
                raise AssertionError(f"consume error: {m.error()}")
            got.append((m.partition(), m.offset(), m.key(), m.value()))
            if m.offset() + 1 >= ends[m.partition()]:
                done.add(m.partition())
    finally:
        c.close()
    return sorted(got)


def check_record(key, value):
    """One produced record: JSON with the seeds' 12 fields in order, all text, the key its id (a
    UUIDv4). Returns the decoded record."""
    rec = json.loads(value)
    assert list(rec) == pu.FIELDS, list(rec)
    assert all(isinstance(v, str) for v in rec.values()), rec
    assert key is not None and key.decode() == rec["id"], (key, rec["id"])
    assert pu.is_uuid4(rec["id"]), rec["id"]
    return rec


def check_against_users(records, users):
    """records (decoded, in produce order) are exactly users flattened, one for one."""
    assert len(records) == len(users), f"{len(records)} records, {len(users)} users"
    for i, (rec, u) in enumerate(zip(records, users)):
        want = expected(u, rec["id"])
        assert rec == want, f"record {i}:\n  got  {rec}\n  want {want}"
    ids = [r["id"] for r in records]
    assert len(set(ids)) == len(ids), "an id was used twice"


def summary(r):
    """The numbers of ingest's last log line ('done: N records delivered ...')."""
    import re

    m = re.search(r"(done|stopped|failed): (\d+) records delivered to \S+ in ([\d.]+) s .*?; "
                  r"(\d+) users fetched, (\d+) skipped as invalid; (\d+) API requests, (\d+) "
                  r"retries", r if isinstance(r, str) else r.stderr)
    assert m, r if isinstance(r, str) else r.stderr
    return {"status": m.group(1), "delivered": int(m.group(2)), "seconds": float(m.group(3)),
            "fetched": int(m.group(4)), "invalid": int(m.group(5)), "requests": int(m.group(6)),
            "retries": int(m.group(7))}
