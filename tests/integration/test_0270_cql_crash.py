"""The store's durability promise under kill -9 (issue 4, "Crash"; "Data and schema survive a
restart and a SIGKILL"): python3-cassandra streams prepared INSERTs (execute_async, a bounded
window of requests in flight, every completion recorded) while the store, in its default
commitlog_sync batch mode, is SIGKILLed 4 times, 1-3 s into each round and with a full window
of INSERTs in flight, and restarted on the same data dir and port, the driver reconnecting each
time. After a last kill, every acknowledged row is
there with its value (SELECT by id for each), nothing appears that was never sent, and the schema
(tables, columns, clustering order) and rows written before the first crash are intact."""

import os
import random
import threading
import time

import pytest
from cassandra import InvalidRequest
from cassandra.query import SimpleStatement

import cql_util as cu
import sluice_harness as sh

KILLS = 4
ROUND_SECONDS = (1.0, 3.0)  # writing time before each kill, from a reconnect
LAST_ROUND_SECONDS = 2.0
WINDOW = 64  # requests in flight
RATE = 2000  # inserts per second at most, which bounds the read-back time


class Writer:
    """Keeps up to WINDOW prepared INSERTs in flight on one session; records what completed."""

    def __init__(self):
        self.session = None
        self.stmt = None
        self.next_id = 0
        self.t0 = time.monotonic()
        self.acked = {}  # id -> value
        self.failed = 0
        self.inflight = 0
        self.cv = threading.Condition()

    def _done(self, _, i, v):
        with self.cv:
            self.acked[i] = v
            self.inflight -= 1
            self.cv.notify()

    def _fail(self, _, i, v):
        with self.cv:
            self.failed += 1
            self.inflight -= 1
            self.cv.notify()

    def pump(self, until):
        """Sends until the monotonic time until, or until the connection is lost. The last
        50 ms are not paced, so the window is full when pump returns."""
        while time.monotonic() < until:
            paced = until - time.monotonic() > 0.05
            if paced and self.next_id > (time.monotonic() - self.t0) * RATE:
                time.sleep(0.002)
                continue
            with self.cv:
                while self.inflight >= WINDOW:
                    self.cv.wait(0.1)
                self.inflight += 1
            i = self.next_id
            self.next_id += 1
            v = f"value-{i}"
            try:
                f = self.session.execute_async(self.stmt, [i, v, i % 7])
            except Exception:
                with self.cv:
                    self.inflight -= 1
                    self.failed += 1
                return
            f.add_callbacks(self._done, self._fail, callback_args=(i, v), errback_args=(i, v))

    def drain(self, timeout):
        """Waits until no request is in flight (each completes or fails)."""
        deadline = time.monotonic() + timeout
        with self.cv:
            while self.inflight:
                left = deadline - time.monotonic()
                assert left > 0, f"{self.inflight} requests neither completed nor failed"
                self.cv.wait(min(left, 0.2))


def connect(store):
    c = cu.cluster(store, protocol_version=4, timeout=5)
    deadline = time.monotonic() + sh.scaled(15)
    while True:
        try:
            return c, c.connect("crash")
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_acknowledged_inserts_survive_sigkill(sluice_proc):
    seed = int(os.environ.get("SLUICE_CRASH_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    why = f"(seed {seed}; rerun with SLUICE_CRASH_SEED={seed})"
    store = sluice_proc("store")

    c = cu.cluster(store, protocol_version=4)
    s = c.connect()
    cu.create_keyspace(s, "crash")
    s.execute("CREATE TABLE crash.rows (id int PRIMARY KEY, v text, g int)")
    s.execute("CREATE TABLE crash.ordered (k int, c int, v text, PRIMARY KEY (k, c)) "
              "WITH CLUSTERING ORDER BY (c DESC)")
    for i in range(20):
        s.execute(f"INSERT INTO crash.ordered (k, c, v) VALUES (1, {i}, 'o{i}')")
    c.shutdown()

    writer = Writer()
    stats = []
    for n in range(KILLS + 1):
        c, s = connect(store)
        writer.session = s
        writer.stmt = s.prepare("INSERT INTO crash.rows (id, v, g) VALUES (?, ?, ?)")
        acked_before = len(writer.acked)
        # Sends until the kill moment, then kills with a full window in flight.
        writer.pump(time.monotonic() + (rng.uniform(*ROUND_SECONDS) if n < KILLS
                                        else LAST_ROUND_SECONDS))
        if n < KILLS:
            store.kill9()
        writer.drain(sh.scaled(20))
        stats.append(len(writer.acked) - acked_before)
        c.shutdown()
        if n < KILLS:
            time.sleep(rng.uniform(0, 0.2))
            store.start()
    attempted = writer.next_id
    acked = writer.acked
    assert all(stats[:-1]), f"a round acknowledged nothing: {stats} {why}"
    assert len(acked) >= 1000, f"only {len(acked)} inserts acknowledged"

    # Durable means durable now: one more crash after the last acknowledgement.
    store.crash_restart()
    c, s = connect(store)
    try:
        sel = s.prepare("SELECT id, v, g FROM crash.rows WHERE id = ?")
        missing, wrong = [], []
        ids = sorted(acked)
        futures = []
        for i in ids:
            futures.append((i, s.execute_async(sel, [i])))
            if len(futures) >= 256:
                check_batch(futures, acked, missing, wrong)
                futures = []
        check_batch(futures, acked, missing, wrong)
        assert not missing, (f"{len(missing)} of {len(acked)} acknowledged rows lost after kill -9, "
                             f"e.g. ids {missing[:10]} {why}")
        assert not wrong, f"{len(wrong)} rows changed, e.g. {wrong[:3]} {why}"

        # Nothing that was never sent; every row whole.
        rows = list(s.execute(SimpleStatement("SELECT id, v, g FROM crash.rows", fetch_size=5000)))
        stored = {r.id for r in rows}
        assert stored >= set(acked)
        assert all(0 <= r.id < attempted for r in rows), f"a row that was never written {why}"
        assert all(r.v == f"value-{r.id}" and r.g == r.id % 7 for r in rows), \
            f"a torn row {why}"

        # The schema came back whole, and the rows written before the first crash.
        t = c.metadata.keyspaces["crash"].tables["ordered"]
        assert [col.name for col in t.clustering_key] == ["c"] and t.columns["c"].is_reversed
        assert [r.c for r in s.execute("SELECT c FROM crash.ordered WHERE k = 1")] == \
            list(range(19, -1, -1))
        assert set(c.metadata.keyspaces["crash"].tables["rows"].columns) == {"id", "v", "g"}
        with pytest.raises(InvalidRequest, match="Undefined column name nope"):
            s.execute("INSERT INTO crash.rows (id, nope) VALUES (1, 1)")
        print(f"{len(acked)} acknowledged of {attempted} sent; per round {stats}; "
              f"{len(stored)} rows stored; {writer.failed} failed {why}")
    finally:
        c.shutdown()


def check_batch(futures, acked, missing, wrong):
    for i, f in futures:
        row = f.result()
        row = row.one()
        if row is None:
            missing.append(i)
        elif row.v != acked[i] or row.g != i % 7:
            wrong.append((i, row))
