"""sluice process's delivery promises (ARCHITECTURE.md "Promises", Processor; issue 5: "On
SIGTERM it drains and exits 0", "The sink down: writes are retried with backoff, no offset is
committed, and nothing is lost when the sink comes back"):

- SIGTERM with a whole batch held (long linger): it is written and committed, exit 0;
- SIGKILL at several moments mid-stream, restarting each time: every record ends up stored
  once, and the committed offsets reach the end;
- the store absent at start, then stopped mid-stream: sl_sink_open and the batch are retried
  with a log line each time, no offset is committed past what the store acknowledged, and
  everything arrives once it is back."""

import random
import time

import pipeline_util as pu
import process_util as xu
import sluice_harness as sh


def test_sigterm_drains_the_batch_in_hand(sluice_proc):
    _, broker, store = pu.start_stack(sluice_proc, api=False, partitions=2)
    items, recs = xu.good_items(3000)
    xu.produce(broker, items)
    proc = pu.start_process(sluice_proc, broker, pu.cql_sink(store),
                            args=["--batch-size", "100000", "--linger", "60s",
                                  "--metrics-interval", "200ms"])
    sh.wait_until(lambda: any(m["in"] == "3000" for m in xu.metric_lines(proc)),
                  sh.scaled(30), what="all 3000 records consumed")
    # Held, not yet written nor committed.
    assert pu.committed_total(broker) == 0
    t0 = time.monotonic()
    assert proc.stop(grace=20) == 0
    assert time.monotonic() - t0 < sh.scaled(15)
    xu.check_table(store, recs)
    pu.check_committed_at_end(broker, pu.consume_all(broker, pu.TOPIC))
    assert xu.drained_counts(proc) == [(3000, 3000, 0)]


def test_sigkill_mid_stream_loses_nothing(sluice_proc):
    _, broker, store = pu.start_stack(sluice_proc, api=False, partitions=3,
                                      broker_args=["--group-min-session-timeout", "1s"])
    items, recs = xu.good_items(30000)
    xu.produce(broker, items)
    proc = pu.start_process(sluice_proc, broker, pu.cql_sink(store),
                            args=["--batch-size", "700", "--linger", "10ms",
                                  "--session-timeout", "2s"])
    rng = random.Random(5)
    # A restarted member waits for the killed one's session to expire (2 s here) before the
    # group hands it the partitions.
    for k in range(4):
        # Kill once a share of the records is committed, at a random moment within a batch.
        target = (k + 1) * len(items) // 6
        pu.wait_committed(broker, target, 60, procs=[proc], interval=0.02)
        time.sleep(rng.uniform(0, 0.05))
        proc.kill9()
        proc.start()
    pu.wait_committed(broker, len(items), 90, procs=[proc])
    assert proc.stop() == 0
    xu.check_table(store, recs)
    pu.check_committed_at_end(broker, pu.consume_all(broker, pu.TOPIC))


def test_sink_down_then_back(sluice_proc, free_port):
    _, broker, _ = pu.start_stack(sluice_proc, api=False, store=False, partitions=1)
    port = free_port()
    sink = f"cql://cassandra:cassandra@127.0.0.1:{port}/{pu.KEYSPACE}.{pu.TABLE}"
    items, recs = xu.good_items(2000)
    xu.produce(broker, items)
    proc = pu.start_process(sluice_proc, broker, sink,
                            args=["--batch-size", "500", "--linger", "10ms",
                                  "--sink-timeout", "2s"])
    proc.wait_for_log(r"cannot open: .*; retry 2 in", 30)
    assert pu.committed_total(broker) == 0
    store = sluice_proc("store", listen=port)
    pu.wait_committed(broker, len(items), 60, procs=[proc])

    # Stopped mid-stream: the batch is retried with a line each time, nothing is committed past
    # what was stored, and it all arrives after the restart.
    store.stop()
    more, recs2 = xu.good_items(1500, start=2000)
    recs.update(recs2)
    xu.produce(broker, more)
    proc.wait_for_log(r"write of \d+ row\(s\) failed: .*; retry 2 in", 30)
    assert pu.committed_total(broker) == len(items)
    store.start()
    pu.wait_committed(broker, len(items) + len(more), 60, procs=[proc])
    assert proc.stop() == 0
    xu.check_table(store, recs)


def test_sigterm_with_the_sink_down_gives_up_after_drain_timeout(sluice_proc):
    """SIGTERM while the store is down: the batch is retried for --drain-timeout (with backoff,
    not in a tight loop), then the process exits 1 without committing it; the next run stores
    it."""
    _, broker, store = pu.start_stack(sluice_proc, api=False, partitions=1)
    items, recs = xu.good_items(500)
    xu.produce(broker, items)
    args = ["--batch-size", "200", "--linger", "10ms", "--sink-timeout", "1s",
            "--drain-timeout", "3s"]
    proc = pu.start_process(sluice_proc, broker, pu.cql_sink(store), args=args,
                            check_exit=False)
    pu.wait_committed(broker, len(items), 60, procs=[proc])
    store.stop()
    more, recs2 = xu.good_items(300, start=500)
    recs.update(recs2)
    xu.produce(broker, more)
    proc.wait_for_log(r"write of \d+ row\(s\) failed", 30)
    t0 = time.monotonic()
    assert proc.stop(grace=30) == 1
    took = time.monotonic() - t0
    assert 2.5 < took < sh.scaled(15), took
    log = proc.log_text()
    assert "after the drain timeout" in log
    assert log.count("failed") < 40, "retried without backoff"
    assert pu.committed_total(broker) == len(items)

    store.start()
    proc.start()
    pu.wait_committed(broker, len(items) + len(more), 60, procs=[proc])
    assert proc.stop() == 0
    xu.check_table(store, recs)
