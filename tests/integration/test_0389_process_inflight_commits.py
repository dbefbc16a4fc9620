"""sluice process with several batches in flight (issue 5: "a bounded number of requests in
flight", "Commits an offset only after the sink has acknowledged every record up to it").

The processor parses the next batch while the writer thread writes the previous ones, holding at
most three batches (one filling, two with the writer). Here the store is frozen (SIGSTOP) after
some batches are committed, so the batch being written fails and is retried while later batches
pile up behind it:

- the processor holds more than one batch but never more than three, and commits nothing past
  the failing batch;
- once the store thaws, the held batches are written and committed in order;
- frozen again and the processor SIGKILLed with batches in flight: every record below the
  committed offsets is in the table, and a restart stores every record exactly once."""

import os
import signal
import time

import pipeline_util as pu
import process_util as xu
import sluice_harness as sh

BATCH = 200


def held(proc):
    """in - out - invalid of the last metrics line: records consumed but not committed."""
    lines = xu.metric_lines(proc)
    if not lines:
        return 0
    m = lines[-1]
    return int(m["in"]) - int(m["out"]) - int(m["invalid"])


def committed_prefix_stored(broker, store, reports):
    """Every record below its partition's committed offset is in the table."""
    committed = pu.committed_offsets(broker, pu.TOPIC)
    cluster = pu.cql_cluster(store)
    try:
        ids = set(xu.read_rows(cluster.connect()))
    finally:
        cluster.shutdown()
    below = [k.decode() for k, (part, off) in reports.items() if off < committed.get(part, -1)]
    missing = [k for k in below if k not in ids]
    assert not missing, f"{len(missing)} of {len(below)} committed records not stored " \
                        f"(committed {committed})"
    return len(below)


def test_inflight_batches_commit_in_order(sluice_proc):
    _, broker, store = pu.start_stack(sluice_proc, api=False, partitions=2)
    items, recs = xu.good_items(1000)
    reports = xu.produce(broker, items)
    proc = pu.start_process(sluice_proc, broker, pu.cql_sink(store),
                            args=["--batch-size", str(BATCH), "--linger", "10ms",
                                  "--sink-timeout", "1s", "--metrics-interval", "100ms"])
    pu.wait_committed(broker, len(items), 60, procs=[proc])

    # Frozen: the batch in write fails and is retried; later batches queue up behind it.
    os.kill(store.pid, signal.SIGSTOP)
    try:
        more, recs2 = xu.good_items(3000, start=1000)
        recs.update(recs2)
        reports.update(xu.produce(broker, more))
        proc.wait_for_log(r"write of \d+ row\(s\) failed: .*; retry 2 in", sh.scaled(30))
        sh.wait_until(lambda: held(proc) >= 2 * BATCH, sh.scaled(20),
                      what="two batches or more held behind the failing one")
        time.sleep(0.5)
        assert 2 * BATCH <= held(proc) <= 3 * BATCH, xu.metric_lines(proc)[-1]
        assert pu.committed_total(broker) == len(items)
    finally:
        os.kill(store.pid, signal.SIGCONT)
    pu.wait_committed(broker, len(items) + len(more), 60, procs=[proc])
    pu.check_committed_at_end(broker, pu.consume_all(broker, pu.TOPIC))

    # Frozen again, and the processor killed with batches in flight.
    os.kill(store.pid, signal.SIGSTOP)
    try:
        retries = proc.log_text().count("; retry 2 in")
        last, recs3 = xu.good_items(3000, start=4000)
        recs.update(recs3)
        reports.update(xu.produce(broker, last))
        xu.wait_log_count(proc, "; retry 2 in", retries + 1, 30)
        sh.wait_until(lambda: held(proc) >= 2 * BATCH, sh.scaled(20),
                      what="two batches or more held behind the failing one")
        before = pu.committed_total(broker)
        assert before < len(recs)
        proc.kill9()
    finally:
        os.kill(store.pid, signal.SIGCONT)
    assert committed_prefix_stored(broker, store, reports) == before
    proc.start()
    pu.wait_committed(broker, len(recs), 60, procs=[proc])
    assert proc.stop() == 0
    xu.check_table(store, recs)
    pu.check_committed_at_end(broker, pu.consume_all(broker, pu.TOPIC))


def test_max_batches_zero_holds_one_batch(sluice_proc):
    """--max-batches 0: the next batch is parsed only once the previous one is committed."""
    _, broker, store = pu.start_stack(sluice_proc, api=False, partitions=1)
    proc = pu.start_process(sluice_proc, broker, pu.cql_sink(store),
                            args=["--batch-size", str(BATCH), "--linger", "10ms",
                                  "--sink-timeout", "1s", "--metrics-interval", "100ms",
                                  "--max-batches", "0"])
    proc.wait_for_log(r"assigned 1 partition", 30)
    os.kill(store.pid, signal.SIGSTOP)
    try:
        items, recs = xu.good_items(2000)
        xu.produce(broker, items)
        proc.wait_for_log(r"write of \d+ row\(s\) failed: .*; retry 2 in", sh.scaled(30))
        time.sleep(0.5)
        assert 0 < held(proc) <= BATCH, xu.metric_lines(proc)[-1]
        assert pu.committed_total(broker) == 0
    finally:
        os.kill(store.pid, signal.SIGCONT)
    pu.wait_committed(broker, len(items), 60, procs=[proc])
    assert proc.stop() == 0
    xu.check_table(store, recs)


def test_max_batches_out_of_range_is_refused(run_sluice):
    r = run_sluice("process", "--max-batches", "17", timeout=10)
    assert r.returncode == 2 and "max_batches" in r.stderr.replace("-", "_"), r.stderr
