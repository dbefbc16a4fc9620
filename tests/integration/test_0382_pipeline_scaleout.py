"""Issue 5, "Tests / Scale-out": 2 `sluice process` instances on a 4-partition topic share the
partitions (each owns 2, as python3-kafka's admin client reads the group) and store every record
exactly once. Then one instance leaves on SIGTERM while records are still arriving: it flushes and
commits before giving its partitions up, the other takes all 4, and still every record is stored
exactly once, each row equal to the fake-api user it came from."""

import pipeline_util as pu
import sluice_harness as sh

PARTITIONS = 4
PER_RUN = 20_000
BATCH = 2_000


def test_two_processes_share_four_partitions(sluice_proc):
    api, broker, store = pu.start_stack(sluice_proc, partitions=PARTITIONS)
    sink = pu.cql_sink(store)
    p1 = pu.start_process(sluice_proc, broker, sink)
    p2 = pu.start_process(sluice_proc, broker, sink)

    def split():
        state, owned = pu.group_assignment(broker)
        return state == "Stable" and sorted(len(o) for o in owned) == [2, 2] and \
            sorted(sum(owned, [])) == list(range(PARTITIONS))

    sh.wait_until(split, sh.scaled(60), interval=0.3,
                  what="group sluice-process Stable with 2 members of 2 partitions each")

    pu.run_ingest(api, broker, seed="scaleA", count=PER_RUN, batch=BATCH)
    pu.wait_committed(broker, PER_RUN, 90, procs=[p1, p2])
    state, owned = pu.group_assignment(broker)
    assert state == "Stable" and sorted(len(o) for o in owned) == [2, 2], (state, owned)

    # p2 leaves in the middle of the second run; p1 takes over its partitions.
    second = pu.start_ingest(sluice_proc, api, broker, seed="scaleB", count=PER_RUN,
                             batch=BATCH)
    pu.wait_committed(broker, PER_RUN + PER_RUN // 4, 90, procs=[p1, p2])
    assert p2.stop() == 0, "the leaving process did not exit 0 on SIGTERM"
    assert second.wait(90) == 0
    pu.wait_committed(broker, 2 * PER_RUN, 90, procs=[p1])
    state, owned = pu.group_assignment(broker)
    assert state == "Stable" and owned == [[0, 1, 2, 3]], (state, owned)
    assert p1.stop() == 0

    cluster = pu.cql_cluster(store)
    try:
        rows = pu.read_rows_cql(cluster.connect())
    finally:
        cluster.shutdown()
    assert len(rows) == 2 * PER_RUN, f"{len(rows)} rows, {2 * PER_RUN} expected"
    msgs = pu.consume_all(broker, pu.TOPIC)
    assert len(msgs) == 2 * PER_RUN
    assert sorted(pu.end_offsets(msgs)) == list(range(PARTITIONS)), "a partition got nothing"
    pu.check_topic_against_rows(msgs, rows)
    pu.check_committed_at_end(broker, msgs)
    expected = pu.expected_records(api, "scaleA", PER_RUN, BATCH) + \
        pu.expected_records(api, "scaleB", PER_RUN, BATCH)
    pu.compare_content(expected, rows, "stored rows vs the fake-api users")
