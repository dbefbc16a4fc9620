"""Avro through the pipeline (issue 7, "The pipeline"): `sluice ingest --format avro --registry`
registers the user schema under users_created-value and produces Confluent wire-format records
(magic 0, big-endian schema id, Avro binary, encoded by libavro); `sluice process --format avro`
decodes each by id (the schema fetched from the registry once) and stores the same rows the JSON
path stores. @kafkajs/confluent-schema-registry (npm, avsc underneath) decodes the produced
values as the third-party check (python3-fastavro, which confluent-kafka's AvroDeserializer
needs, is not packaged in Debian 12). Bad values go to the DLQ with a named reason: unknown
schema id, bytes that do not decode or are left over, no magic byte, an id holding a JSON
Schema, and a decoded record the schema check refuses."""

import json
import random
import string
import struct
import uuid
from pathlib import Path

import pipeline_util as pu
import registry_util as ru
import sluice_harness as sh
from process_util import good_record, produce

USERS = 3000
BATCH = 500
JS = Path(__file__).parent / "js" / "avro_decode.js"


def seed():
    return "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(12))


def test_ingest_avro_process_store(sluice_proc, node, tmp_path):
    s = seed()
    api, broker, store = pu.start_stack(sluice_proc, partitions=2)
    _, reg = ru.start(sluice_proc, broker=broker)
    pu.run_ingest(api, broker, seed=s, count=USERS, batch=BATCH,
                  args=["--format", "avro", "--registry", ru.url(reg)])

    # the registry holds the user schema under <topic>-value, as version 1
    status, v = ru.call(reg, "GET", "/subjects/users_created-value/versions/latest")
    assert status == 200 and v["version"] == 1
    schema = json.loads(v["schema"])
    assert schema["type"] == "record" and [f["name"] for f in schema["fields"]] == pu.FIELDS
    sid = v["id"]

    msgs = pu.consume_all(broker, pu.TOPIC)
    assert len(msgs) == USERS
    for m in msgs:
        assert m.value[:5] == b"\0" + struct.pack(">i", sid), m.value[:8]

    # a third-party decoder reads every value, fetching the schema by id
    hexfile = tmp_path / "values.hex"
    hexfile.write_text("".join(m.value.hex() + "\n" for m in msgs))
    out = node(JS, ru.url(reg), str(hexfile), timeout=120)
    decoded = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    assert len(decoded) == USERS
    for m, d in zip(msgs, decoded):
        assert sorted(d) == sorted(pu.FIELDS)
        assert d["id"] == m.key.decode()
    expected = pu.expected_records(api, s, USERS, BATCH)
    pu.compare_content(expected, decoded,
                       "Avro records decoded by @kafkajs/confluent-schema-registry vs the oracle")

    process = pu.start_process(sluice_proc, broker, pu.cql_sink(store),
                               args=["--format", "avro", "--registry", ru.url(reg)])
    cluster = pu.cql_cluster(store)
    try:
        session = cluster.connect()
        pu.wait_rows_cql(session, USERS, 120, procs=[process])
        assert process.stop() == 0
        rows = pu.read_rows_cql(session)
    finally:
        cluster.shutdown()
    assert len(rows) == USERS
    # the same fields the JSON path stores (test_0380 checks those against the same oracle)
    pu.compare_content(expected, rows, "rows stored from Avro vs the fake-api users (oracle)")
    by_id = {r["id"]: r for r in rows}
    for d in decoded:
        assert {f: by_id[d["id"]][f] for f in pu.CONTENT} == {f: d[f] for f in pu.CONTENT}
    if _topic_exists(broker, pu.DLQ):
        assert pu.consume_all(broker, pu.DLQ) == []
    assert "schema id %d fetched" % sid in process.log_text()


def _topic_exists(broker, topic):
    from confluent_kafka.admin import AdminClient
    md = AdminClient({"bootstrap.servers": broker.addr}).list_topics(timeout=sh.scaled(10))
    return topic in md.topics


def _zigzag(n):
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def avro_user(sid, rec):
    """The user record in the wire format, encoded here by hand from the Avro specification
    (a string is its zigzag-varint length and its UTF-8 bytes)."""
    body = b"".join(_zigzag(len(rec[f].encode())) + rec[f].encode() for f in pu.FIELDS)
    return b"\0" + struct.pack(">i", sid) + body


def test_bad_values_to_the_dlq(sluice_proc):
    _, broker, store = pu.start_stack(sluice_proc, api=False, partitions=1)
    _, reg = ru.start(sluice_proc, broker=broker)
    status, body = ru.call(reg, "POST", "/subjects/users_created-value/versions",
                           {"schema": json.dumps({
                               "type": "record", "name": "User", "namespace": "io.sluice",
                               "fields": [{"name": f, "type": "string"} for f in pu.FIELDS]})})
    assert status == 200
    sid = body["id"]
    status, body = ru.call(reg, "POST", "/subjects/other-value/versions",
                           {"schema": "{\"type\":\"object\"}", "schemaType": "JSON"})
    json_sid = body["id"]

    goods = [good_record(i) for i in range(200)]
    for _, rec in goods:
        for f in pu.FIELDS:
            rec[f] = pu.as_text(rec[f])
    _, base = goods[0]
    bad_uuid = dict(base, id="not-a-uuid")
    good_value = avro_user(sid, base)
    bads = [
        ("unknown_schema_id", b"u1", b"\0" + struct.pack(">i", 9999) + good_value[5:]),
        ("avro_decode_error", b"d1", good_value[:5] + b"\x08ab"),  # a string cut short
        ("avro_decode_error", b"d2", good_value + b"\x00\x01"),   # bytes left over
        ("avro_decode_error", b"d3", good_value[:5] + b"\x01"),   # a negative length
        # a string claiming 256 MiB: refused before libavro allocates (and would leak) it
        ("avro_decode_error", b"d4", good_value[:5] + b"\x80\x80\x80\x80\x02ab"),
        ("not_avro", b"n1", json.dumps(base).encode()),
        ("not_avro", b"n2", b"\0\0"),
        ("unsupported_schema", b"j1", b"\0" + struct.pack(">i", json_sid) + b"{}"),
        ("invalid_uuid", b"v1", avro_user(sid, bad_uuid)),
    ]
    items = []
    for n, (uid, rec) in enumerate(goods):
        items.append((uid.encode(), avro_user(sid, rec)))
        if n % 20 == 10 and n // 20 < len(bads):
            items.append(bads[n // 20][1:])
    assert len(items) == len(goods) + len(bads)
    produce(broker, items)

    proc = pu.start_process(sluice_proc, broker, pu.cql_sink(store),
                            args=["--format", "avro", "--registry", ru.url(reg),
                                  "--batch-size", "50", "--linger", "50ms"])
    cluster = pu.cql_cluster(store)
    try:
        session = cluster.connect()
        pu.wait_rows_cql(session, len(goods), 60, procs=[proc])
        pu.wait_committed(broker, len(items), 30, procs=[proc])
        rows = {r["id"]: r for r in pu.read_rows_cql(session)}
    finally:
        cluster.shutdown()
    assert len(rows) == len(goods)
    for uid, rec in goods:
        assert {f: rows[uid][f] for f in pu.CONTENT} == {f: rec[f] for f in pu.CONTENT}
    dlq = pu.consume_all(broker, pu.DLQ)
    got = sorted((m.key, m.headers["error"].decode()) for m in dlq)
    assert got == sorted((key, kind) for kind, key, _ in bads), got
    for m in dlq:
        h = m.headers
        assert h["error.message"], h
        if m.key in (b"d1", b"d4"):
            assert b"does not fit the record's bytes" in h["error.message"], h
        assert h["source.topic"] == pu.TOPIC.encode()
    # the unknown id was asked once (then cached as unknown), the good one fetched once
    log = proc.log_text()
    assert log.count("schema id %d fetched" % sid) == 1, log


def test_config_errors():
    r = sh.run_sluice("process", "--format", "avro", "--sink", "cql://127.0.0.1:1/a.b", timeout=30)
    assert r.returncode == 2 and "format avro needs registry" in r.stderr
    r = sh.run_sluice("ingest", "--format", "avro", "--count", "1", timeout=30)
    assert r.returncode == 2 and "--format avro needs --registry" in r.stderr
    r = sh.run_sluice("ingest", "--format", "xml", "--count", "1", timeout=30)
    assert r.returncode == 2


def test_dag_ingest_task_avro(sluice_proc, tmp_path):
    """The DAG's ingest task takes format and registry as `sluice ingest` does."""
    import dagtest_util as dt

    api, broker, _ = pu.start_stack(sluice_proc, store=False)
    _, reg = ru.start(sluice_proc, broker=broker)
    out = dt.ok(dt.dag_test(tmp_path, f"""dag_id: t
tasks:
  - task_id: i
    type: ingest
    source: http://{api.addr}/api/?seed=avrotask
    kafka: {broker.addr}
    count: 40
    batch: 20
    format: avro
    registry: {ru.url(reg)}
""", "i"))
    assert "40 records delivered" in out
    status, v = ru.call(reg, "GET", "/subjects/users_created-value/versions/latest")
    assert status == 200
    msgs = pu.consume_all(broker, pu.TOPIC)
    assert len(msgs) == 40
    assert all(m.value[:5] == b"\0" + struct.pack(">i", v["id"]) for m in msgs)
