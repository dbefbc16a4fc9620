"""Issue 5, "Tests / DLQ": with 1% of the records corrupted, exactly those land in
users_created.dlq and the rest are stored.

10k records of fake-api users, flattened by the oracle with fresh UUIDv4 ids, are produced with
python3-confluent-kafka, keyed by id, with 100 of them at random positions replaced by a bad
record of the issue's kinds ("Bad input"): a value that is not JSON, JSON with a field missing,
JSON with a field of the wrong type, a value over the configured maximum size, invalid UTF-8, and
records that break validation (id not a UUID, email not shaped like one). Each bad record must
reach the DLQ unchanged (value and key), with headers naming the error (process's stable names:
not_json, missing_field, ...) and its source topic, partition and offset; every good record must
be stored, equal to its user; nothing else may be in the DLQ or the table."""

import json
import random
import uuid

from confluent_kafka import Producer

import pipeline_util as pu
import sluice_harness as sh

RECORDS = 10_000
BAD = RECORDS // 100
BATCH = 5_000
MAX_RECORD_SIZE = 8192  # process's --max-record-size here; the records are ~0.5 KiB

# Each kind of damage and the error the DLQ's "error" header must name for it.
ERROR_OF = {"not-json": "not_json", "truncated-json": "not_json", "not-an-object": "not_json",
            "missing-field": "missing_field", "wrong-type": "wrong_type",
            "invalid-utf8": "invalid_utf8", "too-large": "too_large",
            "id-not-uuid": "invalid_uuid", "bad-email": "invalid_email"}


def corrupt(rng, rec):
    """A bad version of the record rec (a dict) as bytes, and the kind of damage."""
    kind = rng.choice(list(ERROR_OF))
    good = json.dumps(rec)
    if kind == "too-large":
        r = dict(rec)
        r["address"] += " " * (MAX_RECORD_SIZE + 1 - len(good))
        return json.dumps(r).encode(), kind
    if kind == "not-json":
        return f"user {rec['first_name']} {rec['last_name']}".encode(), kind
    if kind == "truncated-json":
        return good[:rng.randrange(1, len(good) - 1)].encode(), kind
    if kind == "missing-field":
        r = dict(rec)
        del r[rng.choice(pu.FIELDS)]
        return json.dumps(r).encode(), kind
    if kind == "wrong-type":
        r = dict(rec)
        f = rng.choice(pu.FIELDS)
        # Objects and arrays fit no text column; true/false and numbers do (as Spark's from_json
        # reads them for a StringType field: randomuser's post_code is a number at times).
        r[f] = rng.choice([{"nested": r[f]}, [r[f]]] + ([12345, True] if f == "id" else []))
        return json.dumps(r).encode(), kind
    if kind == "not-an-object":
        return json.dumps([rec[f] for f in pu.FIELDS]).encode(), kind
    if kind == "invalid-utf8":
        r = dict(rec)
        r["last_name"] = "\x00MARK"
        return json.dumps(r).encode().replace(b"\\u0000MARK", b"Ber\xff\xfe\xc3g"), kind
    if kind == "id-not-uuid":
        r = dict(rec)
        r["id"] = rng.choice(["not-a-uuid", rec["id"][:-1], rec["id"] + "0", ""])
        return json.dumps(r).encode(), kind
    r = dict(rec)
    r["email"] = rng.choice(["no-at-sign.example.com", "@example.com", "a@", ""])
    return json.dumps(r).encode(), kind


def test_one_percent_corrupted_goes_to_the_dlq(sluice_proc):
    rng = random.Random(5)
    api, broker, store = pu.start_stack(sluice_proc, partitions=2)
    users = pu.fetch_users(api, "dlq", RECORDS, BATCH)
    recs = [pu.format_data(u, uuid.UUID(int=rng.getrandbits(128), version=4)) for u in users]
    bad_at = set(rng.sample(range(RECORDS), BAD))

    sent = {}  # key -> (value, kind or None)
    delivered = {}  # key -> (partition, offset)
    p = Producer({"bootstrap.servers": broker.addr, "acks": "all", "enable.idempotence": True})

    def dr(err, msg):
        assert err is None, err
        delivered[msg.key()] = (msg.partition(), msg.offset())

    for i, rec in enumerate(recs):
        key = rec["id"].encode()
        value, kind = corrupt(rng, rec) if i in bad_at else (json.dumps(rec).encode(), None)
        sent[key] = (value, kind)
        p.produce(pu.TOPIC, value, key, on_delivery=dr)
        p.poll(0)
    assert p.flush(sh.scaled(30)) == 0 and len(delivered) == RECORDS
    for key, (value, kind) in sent.items():
        if kind == "invalid-utf8":
            try:
                value.decode()
            except UnicodeDecodeError:
                continue
            raise AssertionError("the invalid-utf8 record decodes")

    process = pu.start_process(sluice_proc, broker, pu.cql_sink(store),
                               args=["--max-record-size", MAX_RECORD_SIZE])
    pu.wait_committed(broker, RECORDS, 90, procs=[process])
    assert process.stop() == 0

    dlq = pu.consume_all(broker, pu.DLQ)
    bad = {k: v for k, v in sent.items() if v[1] is not None}
    kinds = sorted({v[1] for v in bad.values()})
    assert kinds == sorted(ERROR_OF), f"not every kind of damage was made: {kinds}"
    assert len(dlq) == BAD, f"{len(dlq)} records in {pu.DLQ}, {BAD} corrupted ({kinds})"
    seen = set()
    for m in dlq:
        assert m.key in bad, f"a record that was not corrupted is in the DLQ: {m.value[:200]!r}"
        assert m.key not in seen, f"{m.key} twice in the DLQ"
        seen.add(m.key)
        value, kind = bad[m.key]
        assert m.value == value, f"{kind}: DLQ value differs from the record produced"
        h = {k.lower(): v for k, v in m.headers.items()}
        part, off = delivered[m.key]

        def header(word):
            if word in h:
                return h[word]
            hits = [v for k, v in h.items() if word in k]
            assert len(hits) == 1, f"{kind}: no single header naming '{word}': {m.headers}"
            return hits[0]

        assert header("error") == ERROR_OF[kind].encode(), (kind, m.headers)
        assert header("topic") == pu.TOPIC.encode(), m.headers
        assert header("partition") == str(part).encode(), (m.headers, part)
        assert header("offset") == str(off).encode(), (m.headers, off)

    cluster = pu.cql_cluster(store)
    try:
        rows = pu.read_rows_cql(cluster.connect())
    finally:
        cluster.shutdown()
    good = [rec for i, rec in enumerate(recs) if i not in bad_at]
    assert len(rows) == len(good), f"{len(rows)} rows, {len(good)} good records"
    assert {r["id"] for r in rows} == {r["id"] for r in good}
    by_id = {r["id"]: r for r in good}
    for r in rows:
        assert pu.content_key(r) == pu.content_key(by_id[r["id"]]), r["id"]
