"""Crash equivalence of windowed aggregation (issue 10, "State"): the same 12,000 records (event
times out of order, some late) through a hopping window with every aggregate, once in a clean
run and once in a run SIGKILLed five times at random moments within batches and restarted on
the same state directory. The two result tables must hold exactly the same rows: same windows,
same counts, sums, minimums, maximums, averages, HyperLogLog estimates and closed flags."""

import json
import random
import time
import uuid

import pipeline_util as pu
import process_util as xu

T0 = 1_700_000_000_000

CONFIG = """\
pipeline:
  topic: cr
  group: {group}
  batch_size: 300
  linger: 10ms
  session_timeout: 2s
  state_dir: {state}
  sink: cql://cassandra:cassandra@{store}/crash.{group}_rows
  schema:
    id: uuid
    nat: text
    email: text
    age: int
    score: double
    ts: timestamp
  window:
    table: crash.{group}_agg
    size: 10s
    hop: 5s
    time: ts
    lateness: 2s
    late: dlq
    group_by: [nat]
    aggregates:
      n: count()
      age_sum: sum(age)
      score_sum: sum(score)
      score_min: min(score)
      email_max: max(email)
      age_avg: avg(age)
      emails: count_distinct(email)
"""

COLS = "key, nat, window_start, window_end, n, age_sum, score_sum, score_min, email_max, " \
       "age_avg, emails, closed"


def read(store, table):
    cluster = pu.cql_cluster(store)
    try:
        return sorted(tuple(r) for r in cluster.connect().execute(
            f"SELECT {COLS} FROM crash.{table}"))
    finally:
        cluster.shutdown()


def test_five_sigkills_give_the_clean_run_aggregates(sluice_proc, tmp_path):
    _, broker, store = pu.start_stack(sluice_proc, api=False, topic="cr", partitions=1,
                                      broker_args=["--group-min-session-timeout", "1s"])
    rnd = random.Random(611)
    items = []
    t = T0
    for i in range(12000):
        t += rnd.randint(0, 40)
        r = {"id": str(uuid.uuid4()), "nat": rnd.choice(["BR", "FR", "NO", "TR", "DE"]),
             "email": f"u{rnd.randint(0, 3000)}@x.org", "age": rnd.randint(18, 90),
             "score": rnd.randint(-1000, 1000) / 8,  # exact in binary: sums do not depend on order
             "ts": t - rnd.choice([0, 0, 0, 500, 1500, 4000])}
        items.append((r["id"].encode(), json.dumps(r).encode()))
    xu.produce(broker, items, topic="cr")

    def start(group):
        cfg = tmp_path / f"{group}.yaml"
        cfg.write_text(CONFIG.format(group=group, state=tmp_path / f"state-{group}",
                                     store=store.addr))
        return sluice_proc("process", listen=False, name=group,
                           args=["--config", cfg, "--kafka", broker.addr])

    clean = start("clean")
    pu.wait_committed(broker, len(items), 90, procs=[clean], topic="cr", group="clean")
    assert clean.stop() == 0

    crashy = start("crashy")
    for k in range(5):
        target = (k + 1) * len(items) // 7
        pu.wait_committed(broker, target, 90, procs=[crashy], topic="cr", group="crashy",
                          interval=0.02)
        time.sleep(rnd.uniform(0, 0.08))
        crashy.kill9()
        crashy.start()
    pu.wait_committed(broker, len(items), 90, procs=[crashy], topic="cr", group="crashy")
    assert crashy.stop() == 0
    log = crashy.log_text()
    assert log.count("=== kill -9") == 5 or log.count("kill -9") >= 5, log[-3000:]
    assert "window state" in log  # a restart loaded the saved state

    a, b = read(store, "clean_agg"), read(store, "crashy_agg")
    assert len(a) > 100 and any(r[-1] for r in a) and not all(r[-1] for r in a)
    assert a == b
