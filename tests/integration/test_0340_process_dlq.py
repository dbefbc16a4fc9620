"""sluice process against a real `sluice broker` and `sluice store`: every bad-input kind of
issue 5 goes to users_created.dlq with headers naming the error and the source topic, partition
and offset, while the good records around them are stored (issue 5, "Bad input, each one a
test"; "Commits an offset only after the sink has acknowledged every record up to it").

Records are produced with python3-confluent-kafka; rows are read back with python3-cassandra;
the DLQ is read with python3-confluent-kafka (pipeline_util.consume_all)."""

import json
import uuid

import pipeline_util as pu
from process_util import good_record, produce, read_rows
import sluice_harness as sh

MAX_RECORD = 4096


def bad_records():
    """(kind, key, value bytes): one or more records of each refusal kind."""
    _, base = good_record(7)

    def variant(**changes):
        r = dict(base, id=str(uuid.uuid4()))
        for k, v in changes.items():
            if v is None:
                del r[k]
            else:
                r[k] = v
        return json.dumps(r).encode()

    big = dict(base, id=str(uuid.uuid4()), address="x" * (MAX_RECORD + 100))
    return [
        ("not_json", b"nj1", b"this is not json"),
        ("not_json", b"nj2", b'{"id": "' + str(uuid.uuid4()).encode() + b'", "first_name": '),
        ("not_json", b"nj3", b"[1, 2, 3]"),
        ("not_json", b"nj4", b""),
        ("missing_field", b"mf1", variant(email=None)),
        ("missing_field", b"mf2", variant(first_name=None, last_name=None)),
        ("wrong_type", b"wt1", variant(first_name={"nested": True})),
        ("wrong_type", b"wt2", variant(id=12345)),
        ("wrong_type", b"wt3", variant(phone=[1, 2])),
        ("too_large", b"tl1", json.dumps(big).encode()),
        ("invalid_utf8", b"iu1", variant(first_name="MARK").replace(b"MARK", b"\xff\xfe")),
        ("invalid_utf8", b"iu2", variant(last_name="MARK").replace(b"MARK", b"\xc3\x28")),
        ("invalid_utf8", b"iu3", variant(last_name="MARK").replace(b"MARK", b"\\ud800")),
        ("invalid_uuid", b"uu1", variant(id="not-a-uuid")),
        ("invalid_email", b"em1", variant(email="no-at-sign.example.com")),
    ]


def test_every_bad_kind_goes_to_the_dlq(sluice_proc):
    _, broker, store = pu.start_stack(sluice_proc, api=False, partitions=2)
    goods = [good_record(i) for i in range(600)]
    bads = bad_records()
    # Bad records interleaved with good ones: processing continues around each of them.
    items, step = [], len(goods) // (len(bads) + 1)
    for n, (uid, rec) in enumerate(goods):
        items.append((uid.encode(), json.dumps(rec).encode()))
        if n % step == step - 1 and n // step < len(bads):
            _, key, value = bads[n // step]
            items.append((key, value))
    assert len(items) == len(goods) + len(bads)
    where = produce(broker, items)

    proc = pu.start_process(sluice_proc, broker, pu.cql_sink(store),
                            args=["--max-record-size", MAX_RECORD, "--linger", "50ms",
                                  "--batch-size", "100"])
    cluster = pu.cql_cluster(store)
    try:
        session = cluster.connect()
        pu.wait_rows_cql(session, len(goods), 60, procs=[proc])
        pu.wait_committed(broker, len(items), 30, procs=[proc])
        rows = read_rows(session)
    finally:
        cluster.shutdown()
    assert len(rows) == len(goods)
    for uid, rec in goods:
        for f in pu.CONTENT:
            assert rows[uid][f] == pu.as_text(rec[f]), (uid, f, rows[uid][f], rec[f])

    dlq = pu.consume_all(broker, pu.DLQ)
    assert len(dlq) == len(bads), [m.key for m in dlq]
    by_key = {m.key: m for m in dlq}
    for kind, key, value in bads:
        m = by_key[key]
        h = m.headers
        assert h["error"].decode() == kind, (key, h)
        assert h["error.message"], (key, h)
        assert h["source.topic"] == pu.TOPIC.encode()
        part, off = where[key]
        assert int(h["source.partition"]) == part, (key, h, where[key])
        assert int(h["source.offset"]) == off, (key, h, where[key])
        assert (m.value or b"") == value, key
    # The refusal messages name the field, never its content.
    assert b"email" in by_key[b"mf1"].headers["error.message"]
    assert b"no-at-sign" not in by_key[b"em1"].headers["error.message"]
    msgs = pu.consume_all(broker, pu.TOPIC)
    pu.check_committed_at_end(broker, msgs)
    assert proc.stop() == 0
    assert f"invalid={len(bads)}" in proc.log_text()


def test_dlq_topic_and_the_rest_keep_flowing(sluice_proc):
    """A DLQ topic named by --dlq-topic; a later good record after many bad ones in a row is
    still stored, and a restart does not send the refused records again (committed)."""
    _, broker, store = pu.start_stack(sluice_proc, api=False, partitions=1)
    bad = [(b"b%d" % i, b"\xff garbage %d" % i) for i in range(200)]
    uid, rec = good_record(1)
    where = produce(broker, bad + [(uid.encode(), json.dumps(rec).encode())])
    args = ["--dlq-topic", "refused", "--linger", "20ms"]
    proc = pu.start_process(sluice_proc, broker, pu.cql_sink(store), args=args)
    cluster = pu.cql_cluster(store)
    try:
        session = cluster.connect()
        pu.wait_rows_cql(session, 1, 60, procs=[proc])
        pu.wait_committed(broker, len(where), 30, procs=[proc])
        assert proc.stop() == 0
        proc.start()
        sh.wait_until(lambda: proc.log_text().count("assigned 1 partition") == 2,
                      sh.scaled(30), what="second assignment")
        assert proc.stop() == 0
    finally:
        cluster.shutdown()
    dlq = pu.consume_all(broker, "refused")
    assert len(dlq) == len(bad)
    assert {m.headers["error"] for m in dlq} == {b"invalid_utf8"}
    assert sorted(int(m.headers["source.offset"]) for m in dlq) == list(range(200))
