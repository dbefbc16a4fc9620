"""sluice process into a real PostgreSQL through the postgresql:// sink (issue 5, "Two sinks";
"PostgreSQL: the same through the PostgreSQL sink"): good records become rows of the table the
sink creates (read back with psycopg2, field by field), bad ones go to the DLQ, offsets are
committed to the end, and a SIGKILL mid-stream loses nothing."""

import json
import time

import pipeline_util as pu
import process_util as xu


def test_process_into_postgresql(sluice_proc, pg_db):
    _, broker, _ = pu.start_stack(sluice_proc, api=False, store=False, partitions=2,
                                  broker_args=["--group-min-session-timeout", "1s"])
    items, recs = xu.good_items(6000)
    bad = [(b"bad1", b"{\"id\": 1}"), (b"bad2", b"\xff\xff")]
    xu.produce(broker, items[:3000] + bad + items[3000:])
    proc = pu.start_process(sluice_proc, broker, pu.pg_sink(pg_db),
                            args=["--batch-size", "500", "--linger", "10ms",
                                  "--session-timeout", "2s"])
    pu.wait_committed(broker, 2000, 60, procs=[proc], interval=0.02)
    proc.kill9()
    proc.start()
    pu.wait_committed(broker, len(items) + len(bad), 60, procs=[proc])
    assert proc.stop() == 0

    rows = {r["id"]: r for r in pu.read_rows_pg(pg_db.dsn)}
    assert len(rows) == len(recs)
    for uid, rec in recs.items():
        for f in pu.CONTENT:
            assert rows[uid][f] == pu.as_text(rec[f]), (uid, f, rows[uid][f], rec[f])
    dlq = pu.consume_all(broker, pu.DLQ)
    # Dead letters are at least once: one produced before the kill may be produced again.
    assert sorted({(m.key, m.headers["error"]) for m in dlq}) == \
        [(b"bad1", b"wrong_type"), (b"bad2", b"invalid_utf8")]
    pu.check_committed_at_end(broker, pu.consume_all(broker, pu.TOPIC))
