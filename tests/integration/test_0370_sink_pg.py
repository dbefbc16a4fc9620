"""The postgresql:// sink (src/pipeline/sink_pg.c) against a real PostgreSQL, driven through
build/tests/sink_driver and read back with psycopg2, field by field (issue 5, "Two sinks": COPY
into a staging table and a merge, INSERT ... ON CONFLICT (id) DO UPDATE; creates the table if
missing; "The sink down": nothing lost when it comes back).

- the table is created with the mapped SQL types (default name created_users, or ?table=), and
  every row of pipelined batches reads back equal; each type and nulls round-trip;
- an upsert of the same id twice (two batches, and within one batch, which a bare ON CONFLICT
  would refuse) leaves one row, the last;
- a batch is one transaction: a row the server refuses leaves none of the batch behind;
- the server stopped: the write fails with the reason; after the restart the same batch goes
  through on a new connection; a connection killed by the server is replaced within the write;
- bad URL, unknown role, unknown database and an incompatible existing table fail at open with
  clear reasons."""

import datetime
import os
import signal
import time
import uuid

import psycopg2
import pytest

import sink_util as su
import sluice_harness as sh


def check_users(dsn, rows, table="created_users"):
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT id::text, {', '.join(su.USER_FIELDS)} FROM {table}")
            got = {r[0]: r for r in cur.fetchall()}
    finally:
        conn.close()
    assert len(got) == len(rows)
    for r in rows:
        g = got[r[0]]
        for i, name in enumerate(["id"] + su.USER_FIELDS):
            assert g[i] == r[i], f"{r[0]} {name}: {g[i]!r} != {r[i]!r}"


def query(dsn, sql, args=()):
    conn = psycopg2.connect(dsn)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()


def test_creates_table_and_rows_read_back(pg_db):
    rows = su.user_rows(3000)
    with su.SinkDriver(pg_db.url) as d:
        assert d.ok, d.open_line
        for i in range(0, len(rows), 500):
            assert d.write(rows[i:i + 500]) == "ok 500"
        assert d.close() == 0
    types = dict(query(pg_db.dsn, "SELECT column_name, data_type FROM information_schema.columns "
                                  "WHERE table_name = 'created_users'"))
    assert types.pop("id") == "uuid"
    assert types == {f: "text" for f in su.USER_FIELDS}
    pk = query(pg_db.dsn, "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON "
                          "a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                          "WHERE i.indrelid = 'created_users'::regclass AND i.indisprimary")
    assert pk == [("id",)]
    check_users(pg_db.dsn, rows)

    # Opening again keeps the table and its rows; ?table= names another one.
    more = su.user_rows(10)
    with su.SinkDriver(pg_db.url) as d:
        assert d.ok, d.open_line
        assert d.write(more) == "ok 10"
    check_users(pg_db.dsn, rows + more)
    with su.SinkDriver(pg_db.url + "?table=public.Staged_Users") as d:
        assert d.ok, d.open_line
        assert d.write(more) == "ok 10"
    check_users(pg_db.dsn, more, "staged_users")


def test_every_type_and_nulls(pg_db):
    ids = [str(uuid.uuid4()) for _ in range(4)]
    rows = [
        [ids[0], "plain", 7, 1 << 40, 1.5, True, 1700000000123],
        [ids[1], "", -2147483648, -(1 << 63), -1e300, False, -1000],
        [ids[2], "ünïcødé ✓", 2147483647, (1 << 63) - 1, 0.0, True, 0],
        [ids[3], None, None, None, None, None, None],
    ]
    with su.SinkDriver(pg_db.url + "?table=typed", su.TYPED_COLS) as d:
        assert d.ok, d.open_line
        assert d.write(rows) == "ok 4"
    types = dict(query(pg_db.dsn, "SELECT column_name, data_type FROM information_schema.columns "
                                  "WHERE table_name = 'typed'"))
    assert types == {"id": "uuid", "t": "text", "i": "integer", "b": "bigint",
                     "d": "double precision", "f": "boolean",
                     "ts": "timestamp with time zone"}
    got = {r[0]: r[1:] for r in query(pg_db.dsn, "SELECT id::text, t, i, b, d, f, ts FROM typed")}
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    for r in rows:
        g = list(got[r[0]])
        if g[5] is not None:
            g[5] = round((g[5] - epoch).total_seconds() * 1000)
        assert tuple(g) == tuple(r[1:]), r


def test_upsert_same_id_leaves_one_row(pg_db):
    a, b = su.user_rows(2)
    with su.SinkDriver(pg_db.url) as d:
        assert d.ok, d.open_line
        assert d.write([a, b]) == "ok 2"
        a2 = [a[0]] + [f"second {v}" for v in a[1:]]
        assert d.write([a2]) == "ok 1"
        b2 = [b[0]] + ["b2"] * 11
        b3 = [b[0]] + ["b3"] * 11
        assert d.write([b2, b3]) == "ok 2"
    check_users(pg_db.dsn, [a2, b3])


def test_batch_is_one_transaction(pg_db):
    query(pg_db.dsn, "CREATE TABLE created_users (id uuid PRIMARY KEY, first_name text "
                     "CHECK (first_name <> 'forbidden'), last_name text, gender text, "
                     "address text, post_code text, email text, username text, dob text, "
                     "registered_date text, phone text, picture text)")
    rows = su.user_rows(100)
    rows[57][1] = "forbidden"
    with su.SinkDriver(pg_db.url) as d:
        assert d.ok, d.open_line
        r = d.write(rows)
        assert r.startswith("error: postgresql sink created_users: merging into the table: "), r
        assert "check constraint" in r, r
        assert query(pg_db.dsn, "SELECT count(*) FROM created_users") == [(0,)]
        rows[57][1] = "allowed"
        assert d.write(rows) == "ok 100"
    check_users(pg_db.dsn, rows)


@pytest.fixture
def own_pg():
    """A PostgreSQL of this test's own, which it may stop and start."""
    pg = sh.PostgresServer().start()
    yield pg
    pg.stop()


def pg_ctl_stop(pg):
    pg._run("pg_ctl", "-D", pg.data_dir, "-m", "fast", "-w", "stop")


def pg_ctl_start(pg):
    opts = (f"-p {pg.port} -k {pg.socket_dir} -c listen_addresses={pg.host} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
    pg._run("pg_ctl", "-D", pg.data_dir, "-l", pg.log_path, "-o", opts, "-w", "start", timeout=90)


def test_server_down_then_back(own_pg):
    pg = own_pg
    pg.create_database("sinkdown")
    rows = su.user_rows(600)
    with su.SinkDriver(pg.url_for("sinkdown"), timeout_ms=2000) as d:
        assert d.ok, d.open_line
        assert d.write(rows[:200]) == "ok 200"
        pg_ctl_stop(pg)
        try:
            r = d.write(rows[200:400])
            assert r.startswith("error: postgresql sink created_users: "), r
            assert "reconnect failed: cannot connect" in r and "refused" in r, r
            # Still down: fails again, at once, with the reason.
            r = d.write(rows[200:400])
            assert r.startswith("error: postgresql sink created_users: cannot connect"), r
        finally:
            pg_ctl_start(pg)
        assert d.write(rows[200:400]) == "ok 200"
        # The server ends the session: the write reconnects and succeeds within the same call.
        pg.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
               "WHERE application_name = 'sluice-sink'")
        time.sleep(0.1)
        assert d.write(rows[400:]) == "ok 200"
    check_users(pg.dsn_for("sinkdown"), rows)


def test_stalled_backend_times_out(pg_db, postgres):
    """A server that stops answering (its backend SIGSTOPped) fails the write after timeout_ms
    instead of hanging the caller; the next write, on a new connection, succeeds."""
    rows = su.user_rows(300)
    with su.SinkDriver(pg_db.url, timeout_ms=1000) as d:
        assert d.ok, d.open_line
        assert d.write(rows[:100]) == "ok 100"
        pids = [r[0] for r in postgres.sql(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'sluice-sink' "
            f"AND datname = '{pg_db.name}'")]
        assert len(pids) == 1
        os.kill(pids[0], signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            r = d.write(rows[100:200])
            took = time.monotonic() - t0
        finally:
            os.kill(pids[0], signal.SIGCONT)
        assert r.startswith("error: postgresql sink created_users: BEGIN: no answer within "
                            "1000 ms (server stalled or unreachable)"), r
        assert 0.9 < took < sh.scaled(5), took
        assert d.write(rows[100:200]) == "ok 100"
        assert d.write(rows[200:]) == "ok 100"
    check_users(pg_db.dsn, rows)


def test_open_errors(pg_db, postgres):
    why = su.open_error(pg_db.url + "?table=bad-name")
    assert 'bad table name "bad-name"' in why, why
    why = su.open_error(pg_db.url.replace("postgresql://", "mysql://"))
    assert "unsupported URL" in why, why
    why = su.open_error(pg_db.url.replace("postgres@", "nobody@"))
    assert why.startswith("postgresql sink created_users: cannot connect: ") and \
        'role "nobody" does not exist' in why, why
    why = su.open_error(postgres.url_for("no_such_db"))
    assert 'database "no_such_db" does not exist' in why, why
    why = su.open_error(pg_db.url + "?sslmode=bogus")
    assert "sslmode" in why, why

    query(pg_db.dsn, "CREATE TABLE other (id uuid PRIMARY KEY, n integer)")
    why = su.open_error(pg_db.url + "?table=other", "id:uuid,n:text")
    assert why.startswith("postgresql sink other: preparing the merge: ") and \
        'column "n" is of type integer but expression is of type text' in why, why
    query(pg_db.dsn, "CREATE TABLE nokey (id uuid, n integer)")
    why = su.open_error(pg_db.url + "?table=nokey", "id:uuid,n:int")
    assert "no unique or exclusion constraint" in why, why
