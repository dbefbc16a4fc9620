"""sluice process against a real `sluice broker` and `sluice store`: every bad-input kind of
issue 5 goes to users_created.dlq with headers naming the error and the source topic, partition
and offset, while the good records around them are stored (issue 5, "Bad input, each one a
test"; "Commits an offset only after the sink has acknowledged every record up to it").

Records are produced with python3-confluent-kafka; rows are read back with python3-cassandra;
the DLQ is read with python3-confluent-kafka (pipeline_util.consume_all)."""

import json
import uuid

import pytest

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


MIB = 1 << 20  # max_record_size's default (src/pipeline/process.c)
DEPTH = 64  # the JSON parser's nesting limit, the record's own object included (schema.c)


def sized(rec, field, size):
    """rec as JSON of exactly `size` bytes, rec[field] padded with a repeating ASCII pattern
    (so that a cut or a shifted copy would not compare equal)."""
    r = dict(rec, **{field: ""})
    pad = size - len(json.dumps(r).encode())
    r[field] = ("0123456789abcdefghijklmnopqrstuvwxyz" * (pad // 36 + 1))[:pad]
    value = json.dumps(r).encode()
    assert len(value) == size
    return r, value


def nested(rec, depth):
    """rec with an undeclared member nested `depth` arrays deep."""
    return json.dumps(rec)[:-1].encode() + b', "extra": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize("dlq_room", [True, False], ids=["dlq_4mib", "dlq_default"])
def test_limits_at_their_defaults(sluice_proc, dlq_room):
    """No --max-record-size: a record of exactly 1 MiB is stored with its 1 MiB field whole, one
    byte more goes to the DLQ as too_large, a 1 MiB document cut short is not_json; nesting 64
    deep (the record's object included) is stored, 65 deep and a 1 MiB run of '[' are not_json.
    A normal record after them all is stored. users_created allows 4 MiB messages: the broker's
    default max.message.bytes (1048588) leaves no room for a record over 1 MiB. The DLQ topic
    allows 4 MiB too (every dead letter whole), or is auto-created with the default: then the
    broker refuses the dead letters near 1 MiB, and they go again without their value (before,
    they were produced again for ever and nothing after them was committed)."""
    _, broker, store = pu.start_stack(sluice_proc, api=False, topic=None)
    for t in (pu.TOPIC, pu.DLQ) if dlq_room else (pu.TOPIC,):
        r = sh.run_sluice("topic", "create", t, "--config", f"max.message.bytes={4 * MIB}",
                          "--kafka", broker.addr)
        assert r.returncode == 0, r.stderr
    recs = dict(good_record(i) for i in range(6))
    ids = list(recs)
    at_limit, at_limit_value = sized(recs[ids[0]], "address", MIB)
    _, over_value = sized(recs[ids[1]], "address", MIB + 1)
    _, cut_source = sized(recs[ids[2]], "address", MIB)
    deep_ok = nested(recs[ids[3]], DEPTH - 1)
    items = [
        (b"at_limit", at_limit_value),
        (b"over", over_value),
        (b"cut_end", cut_source[:-1]),  # the closing brace missing
        (b"cut_mid", cut_source[:MIB // 2]),  # inside the padded string
        (b"deep_ok", deep_ok),
        (b"too_deep", nested(recs[ids[4]], DEPTH)),
        (b"deep_1mib", b'{"extra": ' + b"[" * (MIB - 10)),
        (b"after", json.dumps(recs[ids[5]]).encode()),
    ]
    produce(broker, items, conf={"message.max.bytes": 4 * MIB})

    proc = pu.start_process(sluice_proc, broker, pu.cql_sink(store))
    cluster = pu.cql_cluster(store)
    try:
        session = cluster.connect()
        pu.wait_committed(broker, len(items), 60, procs=[proc])
        rows = read_rows(session)
    finally:
        cluster.shutdown()
    stored = {ids[0]: at_limit, ids[3]: recs[ids[3]], ids[5]: recs[ids[5]]}
    assert set(rows) == set(stored), sorted(rows)
    assert len(rows[ids[0]]["address"]) == len(at_limit["address"]) > MIB - 400
    for uid, rec in stored.items():
        for f in pu.CONTENT:
            assert rows[uid][f] == pu.as_text(rec[f]), (uid, f)

    dlq = {m.key: m for m in pu.consume_all(broker, pu.DLQ)}
    assert sorted(dlq) == [b"cut_end", b"cut_mid", b"deep_1mib", b"over", b"too_deep"]
    want = {
        b"over": ("too_large", f"value of {MIB + 1} bytes over max_record_size {MIB}"),
        b"cut_end": ("not_json", "unexpected end"),
        b"cut_mid": ("not_json", "unterminated string"),
        b"too_deep": ("not_json", "nested too deeply"),
        b"deep_1mib": ("not_json", "nested too deeply"),
    }
    values = dict(items)
    # Over 1048588 bytes with the headers: the DLQ topic's default refuses them.
    dropped = set() if dlq_room else {b"over", b"cut_end", b"deep_1mib"}
    for key, (reason, text) in want.items():
        h = dlq[key].headers
        assert h["error"].decode() == reason, (key, h)
        assert text in h["error.message"].decode(), (key, h)
        assert int(h["source.offset"]) == [k for k, _ in items].index(key), (key, h)
        if key in dropped:
            assert h["value.dropped"] == b"too large to forward" and not dlq[key].value, key
        else:
            assert "value.dropped" not in h and dlq[key].value == values[key], key
    assert proc.stop() == 0
    log = proc.log_text()
    assert "invalid=5" in log
    assert log.count("refused a ") == len(dropped)
