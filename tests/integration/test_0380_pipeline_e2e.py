"""Issue 5, "Tests / End to end": `sluice fake-api`, then `sluice ingest` of 50k users, then
`sluice broker`, then `sluice process`, then `sluice store`. Exactly 50k rows end up in
spark_streams.created_users, each equal to the fake-api user it came from.

The expected users are regenerated from fake-api with the same seed and pages as ingest read
(results=batch, page=1,2,...) and flattened by the oracle (pipeline_util.format_data, a
transcription of the seeds' format_data). Rows are read with python3-cassandra and matched on every
field but id (which ingest makes up); the ids are checked separately: unique UUIDv4s, equal to the
topic's keys and to the produced records' ids (read with python3-confluent-kafka), one row per
record, each row equal to its record. test_0386 compares the produced records themselves with the
oracle, JSON types included."""

import random
import string

import pipeline_util as pu

USERS = 50_000
BATCH = 5_000
PARTITIONS = 3


def test_end_to_end_50k(sluice_proc):
    seed = "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(12))
    api, broker, store = pu.start_stack(sluice_proc, partitions=PARTITIONS)
    process = pu.start_process(sluice_proc, broker, pu.cql_sink(store))

    pu.run_ingest(api, broker, seed=seed, count=USERS, batch=BATCH, timeout=120)

    cluster = pu.cql_cluster(store)
    try:
        session = cluster.connect()
        pu.wait_rows_cql(session, USERS, 120, procs=[process])
        # SIGTERM drains and commits; it exits 0 (checked here and by the fixture).
        assert process.stop() == 0
        rows = pu.read_rows_cql(session)
    finally:
        cluster.shutdown()

    assert len(rows) == USERS, f"{len(rows)} rows, {USERS} expected"
    expected = pu.expected_records(api, seed, USERS, BATCH)
    pu.compare_content(expected, rows, "stored rows vs the fake-api users (oracle)")

    msgs = pu.consume_all(broker, pu.TOPIC)
    assert len(msgs) == USERS, f"{len(msgs)} records in {pu.TOPIC}, {USERS} expected"
    for m in msgs:
        assert sorted(m.json()) == sorted(pu.FIELDS), f"produced fields {sorted(m.json())}"
    pu.check_topic_against_rows(msgs, rows)

    pu.check_committed_at_end(broker, msgs)
