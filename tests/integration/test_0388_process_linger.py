"""sluice process writes a batch once it has lingered `linger`, also when records trickle in
(issue 5: "Writes to the sink in batches, with configurable size and linger"). process reads the
clock around every wait for records; it used to read it only every 64 records while records kept
arriving, so a slow stream (one record every 10 ms here) held a batch until 64 records had come,
640 ms instead of the 200 ms linger (bench_pipeline's latency at 100 records/s: ~350 ms p50 with
the 100 ms default linger; ~70 ms after)."""

import time
import uuid

import pipeline_util as pu
import process_util as xu
import sluice_harness as sh

LINGER_MS = 200
RECORDS = 100
GAP_S = 0.01


def test_trickling_records_are_written_after_the_linger(sluice_proc):
    from confluent_kafka import Producer

    _, broker, store = pu.start_stack(sluice_proc, api=False, partitions=1)
    proc = pu.start_process(sluice_proc, broker, pu.cql_sink(store),
                            args=["--linger", f"{LINGER_MS}ms"])
    proc.wait_for_log(r"assigned 1 partition", 30)
    cluster = pu.cql_cluster(store)
    session = cluster.connect()
    try:
        sh.wait_until(lambda: session.execute(
            "SELECT table_name FROM system_schema.tables WHERE keyspace_name=%s AND "
            "table_name=%s", (pu.KEYSPACE, pu.TABLE)).one(), sh.scaled(30), what="the table")
        select = session.prepare(f"SELECT id FROM {pu.KEYSPACE}.{pu.TABLE} WHERE id = ?")
        items, _ = xu.good_items(RECORDS + 1)
        p = Producer({"bootstrap.servers": broker.addr, "enable.idempotence": True,
                      "linger.ms": 0})
        # Warm-up: the producer's id and metadata, and the consumer's first fetch, come first.
        warm_key, warm_value = items.pop()
        p.produce(pu.TOPIC, warm_value, warm_key)
        assert p.flush(sh.scaled(30)) == 0
        sh.wait_until(lambda: session.execute(select, (uuid.UUID(warm_key.decode()),)).one(),
                      sh.scaled(30), what="the warm-up record")
        sent = {}
        for key, value in items:
            p.produce(pu.TOPIC, value, key)
            p.poll(0)
            sent[key.decode()] = time.time()
            time.sleep(GAP_S)
        assert p.flush(sh.scaled(30)) == 0
        # When each row was written: its write time, stamped by the store when it executed the
        # upsert (the same machine's clock as time.time()).
        wt = session.prepare(f"SELECT WRITETIME(first_name) FROM {pu.KEYSPACE}.{pu.TABLE} "
                             "WHERE id = ?")
        written = {}

        def all_written():
            for i in set(sent) - set(written):
                row = session.execute(wt, (uuid.UUID(i),)).one()
                if row is not None:
                    written[i] = row[0] / 1e6
            return len(written) == len(sent)

        sh.wait_until(all_written, sh.scaled(30), what="every record stored")
    finally:
        cluster.shutdown()
    # The first record of a batch waits longest: the linger, then the write. Before the fix a
    # batch waited for 64 records (640 ms at this rate) or for the stream to stop.
    worst = max(written[i] - sent[i] for i in sent)
    assert worst < sh.scaled(LINGER_MS / 1000 + 0.25), f"a record took {worst * 1000:.0f} ms"
