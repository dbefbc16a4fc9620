"""Scale-out (issue 5, "Scale-out: N processes in one group share the partitions"; "On a
rebalance, flushes and commits before it gives partitions up"): two `sluice process` instances
in one group on a 4-partition topic split the partitions, and every record is stored exactly
once. The second instance joins while the first is busy, and later one leaves, so partitions
change hands twice mid-stream; because the batch in hand is written and committed before a
partition is given up, no record is even processed twice."""

import pipeline_util as pu
import process_util as xu
import sluice_harness as sh


def test_two_processes_share_four_partitions(sluice_proc):
    _, broker, store = pu.start_stack(sluice_proc, api=False, partitions=4)
    items1, recs = xu.good_items(8000)
    xu.produce(broker, items1)
    args = ["--batch-size", "500", "--linger", "20ms", "--metrics-interval", "200ms"]
    a = pu.start_process(sluice_proc, broker, pu.cql_sink(store), args=args, name="process-a")
    a.wait_for_log(r"assigned 4 partition", 30)
    b = pu.start_process(sluice_proc, broker, pu.cql_sink(store), args=args, name="process-b")
    # After the rebalance each holds two of the four.
    xu.wait_log_count(a, "assigned 2 partition", 1, 60)
    xu.wait_log_count(b, "assigned 2 partition", 1, 60)
    assert "revoking 4 partition(s)" in a.log_text()

    items2, recs2 = xu.good_items(8000, start=8000)
    recs.update(recs2)
    xu.produce(broker, items2)
    total = len(items1) + len(items2)
    pu.wait_committed(broker, total, 60, procs=[a, b])
    # The counters reach the log every 200 ms, so the last batch's may not be there yet.
    def consumed_by_each():
        return [max((int(m["in"]) for m in xu.metric_lines(p)), default=0) for p in (a, b)]
    try:
        sh.wait_until(lambda: all(n > 0 for n in consumed_by_each()), sh.scaled(10),
                      what="both processes to log records consumed")
    except TimeoutError:
        raise AssertionError(f"records consumed per process: {consumed_by_each()}") from None

    # One leaves: the other takes all four over and goes on from the committed offsets.
    assert b.stop() == 0
    xu.wait_log_count(a, "assigned 4 partition", 2, 60)
    items3, recs3 = xu.good_items(4000, start=16000)
    recs.update(recs3)
    xu.produce(broker, items3)
    total += len(items3)
    pu.wait_committed(broker, total, 60, procs=[a])
    assert a.stop() == 0

    xu.check_table(store, recs)
    pu.check_committed_at_end(broker, pu.consume_all(broker, pu.TOPIC))
    consumed = sum(c[0] for p in (a, b) for c in xu.drained_counts(p))
    assert consumed == total, f"{consumed} records consumed in all for {total} produced"
