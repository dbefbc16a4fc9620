"""Issue 5, "Tests / PostgreSQL": the pipeline through the PostgreSQL sink, and through the
PostgreSQL staging of seed 003, against a real PostgreSQL (the conftest's postgres server, a fresh
database per test).

- Sink: fake-api -> ingest -> broker -> `sluice process --sink postgresql://...` -> PostgreSQL.
  The table is created by the sink; every row equals its fake-api user (oracle) and its produced
  record, read back with python3-psycopg2.
- Staging: fake-api -> `sluice ingest --stage postgresql://...` (raw users written to PostgreSQL
  first, produced from there as an outbox) -> broker -> process -> sluice store. The staging
  database ends up holding the users it staged, and every stored row equals its fake-api user."""

import pipeline_util as pu

USERS = 20_000
BATCH = 2_000


def test_postgresql_sink(sluice_proc, pg_db):
    api, broker, _ = pu.start_stack(sluice_proc, partitions=2, store=False)
    process = pu.start_process(sluice_proc, broker, pu.pg_sink(pg_db))
    pu.run_ingest(api, broker, seed="pgsink", count=USERS, batch=BATCH)
    pu.wait_rows_pg(pg_db.dsn, USERS, 90, procs=[process])
    assert process.stop() == 0

    rows = pu.read_rows_pg(pg_db.dsn)
    assert len(rows) == USERS, f"{len(rows)} rows in PostgreSQL, {USERS} expected"
    msgs = pu.consume_all(broker, pu.TOPIC)
    assert len(msgs) == USERS
    pu.check_topic_against_rows(msgs, rows)
    pu.check_committed_at_end(broker, msgs)
    pu.compare_content(pu.expected_records(api, "pgsink", USERS, BATCH), rows,
                       "PostgreSQL rows vs the fake-api users")


def test_postgresql_staging(sluice_proc, pg_db):
    api, broker, store = pu.start_stack(sluice_proc, partitions=2)
    process = pu.start_process(sluice_proc, broker, pu.cql_sink(store))
    pu.run_ingest(api, broker, seed="pgstage", count=USERS, batch=BATCH,
                  args=["--stage", pg_db.url])

    cluster = pu.cql_cluster(store)
    try:
        session = cluster.connect()
        pu.wait_rows_cql(session, USERS, 90, procs=[process])
        assert process.stop() == 0
        rows = pu.read_rows_cql(session)
    finally:
        cluster.shutdown()
    assert len(rows) == USERS, f"{len(rows)} rows, {USERS} expected"
    msgs = pu.consume_all(broker, pu.TOPIC)
    assert len(msgs) == USERS, f"{len(msgs)} records produced from the staging table"
    pu.check_topic_against_rows(msgs, rows)
    expected = pu.expected_records(api, "pgstage", USERS, BATCH)
    pu.compare_content(expected, rows, "stored rows vs the fake-api users")

    # The users went through PostgreSQL: a table of the staging database holds all of them.
    counts = pu.pg_table_counts(pg_db.dsn)
    assert USERS in counts.values(), f"no staging table with {USERS} rows: {counts}"
