"""Issue 5, "Tests / Crash": a 200k-record run with `sluice process` SIGKILLed at 5 random moments
and restarted each time. At the end there are exactly 200k rows, none missing and none duplicated
(one row per produced record, by id, and no two rows of the same content), and every row's
content is checked field by field against the record produced for it. (That the records are the
fake-api users flattened by the oracle is test_0380's and test_0386's job; regenerating 200k users
here would double this test's time.)

The kills land at random points of the run: each one once the group's committed offsets pass a
random fraction of the records, plus a random 0-300 ms, so that most land with a batch in flight
between the sink and the commit. Ingest runs at the same time, so early kills also hit a process
that is still catching up with the producer. SLUICE_CRASH_SEED reruns one choice of moments."""

import os
import random
import time

import pipeline_util as pu

USERS = 200_000
BATCH = 1_000
PARTITIONS = 4
KILLS = 5


def test_sigkill_process_5_times_200k(sluice_proc):
    seed_n = int(os.environ.get("SLUICE_CRASH_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed_n)
    why = f"(SLUICE_CRASH_SEED={seed_n})"
    seed = f"crash{seed_n}"
    api, broker, store = pu.start_stack(sluice_proc, partitions=PARTITIONS,
                                        broker_args=["--group-min-session-timeout", "1s"])
    ingest = pu.start_ingest(sluice_proc, api, broker, seed=seed, count=USERS, batch=BATCH)
    # A restarted process waits for its killed self's group session to expire before it gets
    # the partitions back; 2 s instead of the default keeps five restarts quick.
    process = pu.start_process(sluice_proc, broker, pu.cql_sink(store),
                               args=["--session-timeout", "2s"])

    moments = sorted(int(rng.uniform(0.03, 0.9) * USERS) for _ in range(KILLS))
    for i, at in enumerate(moments):
        pu.wait_committed(broker, at, 60, procs=[process])
        time.sleep(rng.uniform(0, 0.3))
        assert process.running, f"process died before kill {i + 1} {why}"
        process.kill9()
        time.sleep(rng.uniform(0, 0.2))
        process.start()

    assert ingest.wait(120) == 0, f"ingest failed {why}"
    pu.wait_committed(broker, USERS, 90, procs=[process])
    assert process.stop() == 0, f"process did not drain on SIGTERM {why}"

    cluster = pu.cql_cluster(store)
    try:
        rows = pu.read_rows_cql(cluster.connect())
    finally:
        cluster.shutdown()
    assert len(rows) == USERS, f"{len(rows)} rows, {USERS} expected {why}"
    dups = USERS - len({pu.content_key(r) for r in rows})
    assert dups == 0, f"{dups} rows repeat another row's content (a record produced twice) {why}"

    msgs = pu.consume_all(broker, pu.TOPIC)
    assert len(msgs) == USERS, f"{len(msgs)} records in {pu.TOPIC} {why}"
    pu.check_topic_against_rows(msgs, rows)
    pu.check_committed_at_end(broker, msgs)
