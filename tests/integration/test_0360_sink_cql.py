"""The cql:// sink (src/pipeline/sink_cql.c) against a real `sluice store`, driven through
build/tests/sink_driver and read back with python3-cassandra, field by field (issue 5, "Two
sinks": creates the keyspace and table from the schema if missing, prepared upserts, works
unchanged against Cassandra; "The sink down": nothing lost when it comes back).

- the keyspace (SimpleStrategy 1) and table are created with the mapped types, and every row
  written in pipelined batches reads back equal, non-ASCII and empty text included;
- each type (uuid, text, int, bigint, double, boolean, timestamp) and nulls round-trip;
- an upsert of the same id twice (in two batches and within one) leaves one row, the last;
- several contact points, the first dead; max_inflight 1 and a batch far over the window;
- the store stopped: the write fails with the reason within the timeout, and the same batch
  written again after the restart succeeds; SIGKILLs during a stream of batches lose nothing;
  a stalled store (SIGSTOP) fails the write after timeout_ms;
- bad URL, bad credentials, a keyspace the sink may not create in, and an existing table whose
  types differ each fail at open with a clear reason."""

import os
import signal
import threading
import time
import uuid

import pytest

import cql_util as cu
import sink_util as su
import sluice_harness as sh
from cql_util import _attach_store_log, cql, store  # noqa: F401  (module fixtures)


def url(store, ks, table="created_users", auth="", hosts=None):
    return f"cql://{auth}{hosts or store.addr}/{ks}.{table}"


def read_rows(cql, ks, table, cols="*"):
    s = cql.connect()
    try:
        return {str(r[0]): tuple(r) for r in s.execute(f"SELECT {cols} FROM {ks}.{table}")}
    finally:
        s.shutdown()


def fresh_ks(request, cql):
    """A keyspace name for the test, dropped first: the sink must create it."""
    name = cu.ks_name(request)
    s = cql.connect()
    s.execute(f"DROP KEYSPACE IF EXISTS {name}")
    s.shutdown()
    return name


def user_select():
    return "id, " + ", ".join(su.USER_FIELDS)


def check_users(cql, ks, rows, table="created_users"):
    got = read_rows(cql, ks, table, user_select())
    assert len(got) == len(rows)
    for r in rows:
        g = got[r[0]]
        for i, name in enumerate(["id"] + su.USER_FIELDS):
            want = r[i]
            have = str(g[i]) if i == 0 else g[i]
            assert have == want, f"{r[0]} {name}: {have!r} != {want!r}"


def test_creates_schema_and_rows_read_back(request, store, cql):
    ks = fresh_ks(request, cql)
    rows = su.user_rows(3000)
    with su.SinkDriver(url(store, ks)) as d:
        assert d.ok, d.open_line
        for i in range(0, len(rows), 500):
            assert d.write(rows[i:i + 500]) == "ok 500"
        assert d.close() == 0
    s = cql.connect()
    try:
        rep = s.execute("SELECT replication FROM system_schema.keyspaces WHERE keyspace_name=%s",
                        (ks,)).one().replication
        assert rep["class"].endswith("SimpleStrategy") and rep["replication_factor"] == "1"
        cols = {r.column_name: (r.type, r.kind) for r in s.execute(
            "SELECT column_name, type, kind FROM system_schema.columns "
            "WHERE keyspace_name=%s AND table_name='created_users'", (ks,))}
    finally:
        s.shutdown()
    assert cols.pop("id") == ("uuid", "partition_key")
    assert cols == {f: ("text", "regular") for f in su.USER_FIELDS}
    check_users(cql, ks, rows)

    # Opening again finds keyspace and table in place and keeps the rows.
    more = su.user_rows(10)
    with su.SinkDriver(url(store, ks)) as d:
        assert d.ok, d.open_line
        assert d.write(more) == "ok 10"
    check_users(cql, ks, rows + more)


def test_every_type_and_nulls(request, store, cql):
    ks = fresh_ks(request, cql)
    ids = [str(uuid.uuid4()) for _ in range(4)]
    rows = [
        [ids[0], "plain", 7, 1 << 40, 1.5, True, 1700000000123],
        [ids[1], "", -2147483648, -(1 << 63), -1e300, False, -1000],
        [ids[2], "ünïcødé ✓", 2147483647, (1 << 63) - 1, 0.0, True, 0],
        [ids[3], None, None, None, None, None, None],
    ]
    with su.SinkDriver(url(store, ks, "typed"), su.TYPED_COLS) as d:
        assert d.ok, d.open_line
        assert d.write(rows) == "ok 4"
        # An int out of 32 bits is refused before anything is sent, naming row and column.
        bad = d.write([[str(uuid.uuid4()), "x", 1 << 40, 0, 0.0, True, 0]])
        assert bad == f"error: row 0 column i: {1 << 40} is out of range for int"
    got = read_rows(cql, ks, "typed", "id, t, i, b, d, f, ts")
    assert len(got) == 4
    import datetime
    epoch = datetime.datetime(1970, 1, 1)
    for r in rows:
        g = got[r[0]]
        ts = None if g[6] is None else round((g[6] - epoch).total_seconds() * 1000)
        # An empty text and a null differ: "" comes back as "".
        assert (g[1], g[2], g[3], g[4], g[5], ts) == tuple(r[1:]), r


def test_upsert_same_id_leaves_one_row(request, store, cql):
    ks = fresh_ks(request, cql)
    a, b = su.user_rows(2)
    with su.SinkDriver(url(store, ks)) as d:
        assert d.ok, d.open_line
        assert d.write([a, b]) == "ok 2"
        a2 = [a[0]] + [f"second {v}" for v in a[1:]]
        assert d.write([a2]) == "ok 1"
        # Twice within one batch: the later row wins, as it would written in sequence.
        b2 = [b[0]] + ["b2"] * 11
        b3 = [b[0]] + ["b3"] * 11
        assert d.write([b2, b3]) == "ok 2"
    check_users(cql, ks, [a2, b3])


def test_contact_points_and_window(request, store, cql, free_port):
    ks = fresh_ks(request, cql)
    dead = f"127.0.0.1:{free_port()}"
    rows = su.user_rows(5000)
    with su.SinkDriver(url(store, ks, hosts=f"{dead},{store.addr}"), max_inflight=1) as d:
        assert d.ok, d.open_line
        assert d.write(rows[:200]) == "ok 200"
    # One batch far over the window: completions refill it until every row is answered.
    with su.SinkDriver(url(store, ks), max_inflight=64) as d:
        assert d.ok, d.open_line
        assert d.write(rows[200:]) == "ok 4800"
    check_users(cql, ks, rows)


def test_store_down_then_back(request, store, cql):
    ks = fresh_ks(request, cql)
    rows = su.user_rows(600)
    with su.SinkDriver(url(store, ks), timeout_ms=1500) as d:
        assert d.ok, d.open_line
        assert d.write(rows[:200]) == "ok 200"
        store.stop()
        try:
            t0 = time.monotonic()
            r = d.write(rows[200:400])
            assert r.startswith("error: cql sink "), r
            assert "rows not acknowledged" in r and store.addr in r, r
            assert time.monotonic() - t0 < sh.scaled(10)
        finally:
            store.start()
        # The sink reconnects by itself; the failed batch, written again, goes through.
        deadline = time.monotonic() + sh.scaled(15)
        while (r := d.write(rows[200:400])) != "ok 200":
            assert time.monotonic() < deadline, r
            time.sleep(0.2)
        assert d.write(rows[400:]) == "ok 200"
    check_users(cql, ks, rows)


def test_stalled_store_times_out(request, store, cql):
    """A store that stops answering (SIGSTOP) fails the write after timeout_ms with the reason;
    once it answers again the same batch goes through."""
    ks = fresh_ks(request, cql)
    rows = su.user_rows(300)
    with su.SinkDriver(url(store, ks), timeout_ms=1000) as d:
        assert d.ok, d.open_line
        assert d.write(rows[:100]) == "ok 100"
        os.kill(store.pid, signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            r = d.write(rows[100:200])
            took = time.monotonic() - t0
        finally:
            os.kill(store.pid, signal.SIGCONT)
        assert r.startswith("error: cql sink ") and "request timed out after 1000 ms" in r, r
        assert 0.9 < took < sh.scaled(5), took
        deadline = time.monotonic() + sh.scaled(10)
        while (r := d.write(rows[100:200])) != "ok 100":
            assert time.monotonic() < deadline, r
            time.sleep(0.1)
        assert d.write(rows[200:]) == "ok 100"
    check_users(cql, ks, rows)


def test_store_killed_during_stream_loses_nothing(request, store, cql):
    """SIGKILL at moments unrelated to the batches (a thread), so that writes are in flight;
    each failed batch is written again until acknowledged, as process does."""
    ks = fresh_ks(request, cql)
    rows = su.user_rows(30000)
    failures = []

    def killer():
        for pause in (0.4, 0.5):
            time.sleep(pause)
            store.kill9()
            time.sleep(0.5)  # down long enough for writes to fail
            store.start(wait=False)

    with su.SinkDriver(url(store, ks), timeout_ms=2000) as d:
        assert d.ok, d.open_line
        t = threading.Thread(target=killer)
        t.start()
        try:
            for i in range(0, len(rows), 250):
                deadline = time.monotonic() + sh.scaled(30)
                while (r := d.write(rows[i:i + 250])) != "ok 250":
                    assert r.startswith("error: cql sink "), r
                    failures.append(r)
                    assert time.monotonic() < deadline, r
                    time.sleep(0.1)
        finally:
            t.join()
    store.wait_ready()
    assert store.starts >= 3
    check_users(cql, ks, rows)


def test_open_errors(request, store, cql, free_port):
    ks = fresh_ks(request, cql)
    assert "must be /KEYSPACE.TABLE" in su.open_error(f"cql://{store.addr}/{ks}")
    assert "bad keyspace or table name" in su.open_error(f"cql://{store.addr}/{ks}.bad-name")
    assert "no host in URL" in su.open_error("cql:///ks.t")
    assert "unknown URL parameter \"foo\"" in su.open_error(f"cql://{store.addr}/ks.t?foo=1")
    assert "unsupported URL" in su.open_error(f"cassandra://{store.addr}/ks.t")

    why = su.open_error(url(store, ks, auth="cassandra:wrong@"))
    assert "as cassandra" in why and "Bad credentials" in why, why
    assert "wrong" not in why.replace("are incorrect", "")  # the password is never echoed
    why = su.open_error(url(store, ks, auth="nobody:x@"))
    assert "Bad credentials" in why, why

    port = free_port()
    why = su.open_error(url(store, ks, hosts=f"127.0.0.1:{port}"), timeout_ms=2000)
    assert f"cannot connect to 127.0.0.1:{port}" in why and "refused" in why, why

    # A keyspace the sink may not create or use: the server's reason, with the step.
    why = su.open_error(url(store, "system", "created_users"))
    assert why.startswith("cql sink system.created_users: creating the ") and (
        "reserved keyspace" in why or "Unauthorized" in why), why

    # An existing table whose column has another type.
    s = cql.connect()
    try:
        cu.create_keyspace(s, ks)
        s.execute(f"CREATE TABLE {ks}.other (id uuid PRIMARY KEY, first_name int)")
    finally:
        s.shutdown()
    why = su.open_error(url(store, ks, "other"), "id:uuid,first_name:text")
    assert why == (f"cql sink {ks}.other: column first_name is int in the existing table, but "
                   "the schema says text"), why
    why = su.open_error(url(store, ks, "other"), "id:uuid,nope:text")
    assert "preparing the upsert" in why and "nope" in why, why
