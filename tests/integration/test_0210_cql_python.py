"""`sluice store` driven by Debian's python3-cassandra the way applications use it: the seeds'
statements (CREATE KEYSPACE spark_streams, CREATE TABLE created_users, INSERT and SELECT),
prepared statements with token-aware routing, logged/unlogged/counter batches, paging through
20k rows with fetch_size=1000, every CQL type round-tripped, TTL expiry, IF NOT EXISTS and other
conditional updates, cluster.metadata following DDL, server-side DESCRIBE, and the errors the
driver maps to its exception classes."""

import datetime
import decimal
import ipaddress
import time
import uuid

import pytest
from cassandra import AlreadyExists, InvalidRequest
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster
from cassandra.concurrent import execute_concurrent_with_args
from cassandra.protocol import SyntaxException
from cassandra.query import BatchStatement, BatchType, SimpleStatement
from cassandra.util import Date, OrderedMapSerializedKey, SortedSet, Time

import sluice_harness as sh

pytestmark = pytest.mark.timeout(240)

SEED_KEYSPACE = (
    "CREATE KEYSPACE IF NOT EXISTS spark_streams "
    "WITH replication = {'class': 'SimpleStrategy', 'replication_factor': '1'};"
)
SEED_TABLE = """
    CREATE TABLE IF NOT EXISTS spark_streams.created_users (
        id UUID PRIMARY KEY,
        first_name TEXT,
        last_name TEXT,
        gender TEXT,
        address TEXT,
        post_code TEXT,
        email TEXT,
        username TEXT,
        dob TEXT,
        registered_date TEXT,
        phone TEXT,
        picture TEXT);
"""
USER_COLUMNS = ["id", "first_name", "last_name", "gender", "address", "post_code", "email",
                "username", "dob", "registered_date", "phone", "picture"]


@pytest.fixture
def session(sluice_proc):
    store = sluice_proc("store")
    cluster = Cluster(["127.0.0.1"], port=store.port, connect_timeout=10 * sh.timeout_scale(),
                      auth_provider=PlainTextAuthProvider("cassandra", "cassandra"))
    s = cluster.connect()
    s.default_timeout = 30 * sh.timeout_scale()
    yield s
    cluster.shutdown()


def user(i):
    return {
        "id": uuid.uuid4(), "first_name": f"First{i}", "last_name": f"Last{i}",
        "gender": "female" if i % 2 else "male",
        "address": f"{i} Main Street, Springfield, Oregon, United States",
        "post_code": str(10000 + i), "email": f"user{i}@example.com", "username": f"user{i}",
        "dob": "1990-01-01T00:00:00.000Z", "registered_date": "2020-05-05T10:00:00.000Z",
        "phone": "555-0100", "picture": f"https://randomuser.me/api/portraits/med/men/{i}.jpg",
    }


def test_seed_statements(session):
    session.execute(SEED_KEYSPACE)
    session.execute(SEED_TABLE)
    # spark_stream.py's sink, one row at a time.
    rows = [user(i) for i in range(3)]
    for r in rows:
        session.execute(
            "INSERT INTO spark_streams.created_users (" + ", ".join(USER_COLUMNS) + ") "
            "VALUES (" + ", ".join(["%s"] * len(USER_COLUMNS)) + ")",
            [r[c] for c in USER_COLUMNS])
    got = {r.id: r for r in session.execute("SELECT * FROM spark_streams.created_users;")}
    assert set(got) == {r["id"] for r in rows}
    for r in rows:
        assert got[r["id"]]._asdict() == r
    # The same statements again are no-ops (IF NOT EXISTS), and the data stays.
    session.execute(SEED_KEYSPACE)
    session.execute(SEED_TABLE)
    assert session.execute("SELECT count(*) FROM spark_streams.created_users").one()[0] == 3


def test_metadata_follows_ddl_and_describe(session):
    session.execute(SEED_KEYSPACE)
    session.execute(SEED_TABLE)
    meta = session.cluster.metadata
    ks = meta.keyspaces["spark_streams"]
    assert ks.replication_strategy.replication_factor == 1
    t = ks.tables["created_users"]
    assert [c.name for c in t.partition_key] == ["id"]
    assert t.columns["id"].cql_type == "uuid"
    assert set(t.columns) == set(USER_COLUMNS)
    assert all(t.columns[c].cql_type == "text" for c in USER_COLUMNS[1:])
    assert not t.is_cql_compatible or "CREATE TABLE spark_streams.created_users" in t.export_as_string()
    # DDL pushes a SCHEMA_CHANGE; the driver refreshes the table and sees the new column.
    session.execute("ALTER TABLE spark_streams.created_users ADD nickname text")
    assert session.cluster.control_connection.wait_for_schema_agreement()
    assert meta.keyspaces["spark_streams"].tables["created_users"].columns["nickname"].cql_type == "text"
    session.execute("CREATE TABLE spark_streams.ev (k int, c timestamp, v text, PRIMARY KEY (k, c)) "
                    "WITH CLUSTERING ORDER BY (c DESC) AND comment = 'events'")
    ev = meta.keyspaces["spark_streams"].tables["ev"]
    assert [c.name for c in ev.clustering_key] == ["c"]
    assert ev.clustering_key[0].is_reversed
    assert ev.options["comment"] == "events"
    session.execute("DROP TABLE spark_streams.ev")
    assert "ev" not in meta.keyspaces["spark_streams"].tables
    # Server-side DESCRIBE, as cqlsh runs it against a 4.x server.
    rows = session.execute("DESCRIBE TABLE spark_streams.created_users").all()
    assert len(rows) == 1
    assert rows[0].keyspace_name == "spark_streams" and rows[0].type == "table"
    assert rows[0].create_statement.startswith(
        "CREATE TABLE spark_streams.created_users (\n    id uuid PRIMARY KEY,\n")
    assert "    nickname text,\n" in rows[0].create_statement
    names = [r.name for r in session.execute("DESCRIBE KEYSPACES")]
    assert "spark_streams" in names and "system" in names
    rows = session.execute("DESCRIBE KEYSPACE spark_streams").all()
    assert [r.type for r in rows] == ["keyspace", "table"]
    assert rows[0].create_statement.startswith("CREATE KEYSPACE spark_streams WITH replication")
    # cqlsh looks tables up in system_schema before every SELECT; system tables are there too.
    assert "local" in meta.keyspaces["system"].tables
    assert session.execute("SELECT table_name FROM system_schema.tables WHERE keyspace_name = "
                           "'spark_streams' AND table_name = 'created_users'").one()[0] == "created_users"


def test_prepared_statements_and_batches(session):
    session.execute(SEED_KEYSPACE)
    session.execute(SEED_TABLE)
    ins = session.prepare("INSERT INTO spark_streams.created_users (" + ", ".join(USER_COLUMNS) +
                          ") VALUES (" + ", ".join(["?"] * len(USER_COLUMNS)) + ")")
    assert ins.routing_key_indexes == [0]  # token-aware routing knows the partition key
    sel = session.prepare("SELECT first_name, email FROM spark_streams.created_users WHERE id = ?")
    phone = session.prepare("SELECT phone FROM spark_streams.created_users WHERE id = ?")
    rows = [user(i) for i in range(50)]
    for r in rows:
        session.execute(ins, [r[c] for c in USER_COLUMNS])
    for r in rows[:10]:
        got = session.execute(sel, [r["id"]]).one()
        assert (got.first_name, got.email) == (r["first_name"], r["email"])
    # Named values.
    named = session.prepare("UPDATE spark_streams.created_users SET phone = :phone WHERE id = :id")
    session.execute(named, {"id": rows[0]["id"], "phone": "555-9999"})
    assert session.execute(phone, [rows[0]["id"]]).one()[0] == "555-9999"

    # A logged batch mixing prepared and simple statements.
    b = BatchStatement(batch_type=BatchType.LOGGED)
    more = [user(100 + i) for i in range(20)]
    for r in more[:19]:
        b.add(ins, [r[c] for c in USER_COLUMNS])
    b.add(SimpleStatement("INSERT INTO spark_streams.created_users (id, first_name) VALUES (%s, %s)"),
          (more[19]["id"], "simple"))
    session.execute(b)
    assert session.execute("SELECT count(*) FROM spark_streams.created_users").one()[0] == 70
    assert session.execute(sel, [more[19]["id"]]).one().first_name == "simple"

    # Unlogged, as the processor's sink batches.
    b = BatchStatement(batch_type=BatchType.UNLOGGED)
    for r in rows[:5]:
        b.add(named, {"id": r["id"], "phone": "unlogged"})
    session.execute(b)
    assert session.execute(phone, [rows[4]["id"]]).one()[0] == "unlogged"

    # Counters need a counter batch.
    session.execute("CREATE TABLE spark_streams.hits (page text PRIMARY KEY, n counter)")
    inc = session.prepare("UPDATE spark_streams.hits SET n = n + ? WHERE page = ?")
    b = BatchStatement(batch_type=BatchType.COUNTER)
    for i in range(10):
        b.add(inc, (i + 1, "home"))
    session.execute(b)
    session.execute(inc, (5, "home"))
    assert session.execute("SELECT n FROM spark_streams.hits WHERE page = 'home'").one()[0] == 60
    with pytest.raises(InvalidRequest, match="counter"):
        b = BatchStatement(batch_type=BatchType.LOGGED)
        b.add(inc, (1, "home"))
        session.execute(b)

    # A conditional batch answers [applied].
    r = session.execute(
        "BEGIN BATCH INSERT INTO spark_streams.created_users (id, first_name) VALUES "
        f"({rows[1]['id']}, 'again') IF NOT EXISTS; APPLY BATCH")
    assert not r.was_applied


def test_paging_20k_rows(session):
    session.execute(SEED_KEYSPACE)
    session.execute("CREATE TABLE spark_streams.series (k int, seq int, v text, PRIMARY KEY (k, seq))")
    ins = session.prepare("INSERT INTO spark_streams.series (k, seq, v) VALUES (?, ?, ?)")
    # 20k rows in one partition, and 1k more spread over other partitions.
    args = [(1, i, f"v{i}") for i in range(20000)] + [(2 + i % 10, i, "o") for i in range(1000)]
    results = execute_concurrent_with_args(session, ins, args, concurrency=64)
    assert all(ok for ok, _ in results)

    q = SimpleStatement("SELECT seq, v FROM spark_streams.series WHERE k = 1", fetch_size=1000)
    rs = session.execute(q)
    seen, pages = [], 1
    while True:
        assert len(rs.current_rows) <= 1000
        seen.extend(r.seq for r in rs.current_rows)
        if not rs.has_more_pages:
            break
        rs.fetch_next_page()
        pages += 1
    assert seen == list(range(20000))  # in clustering order, each row exactly once
    assert pages == 20

    # Iterating a paged result (the driver fetches pages as needed), a prepared statement, and a
    # whole-table scan.
    q = session.prepare("SELECT seq FROM spark_streams.series WHERE k = ?")
    q.fetch_size = 1000
    assert sum(1 for _ in session.execute(q, [1])) == 20000
    scan = SimpleStatement("SELECT k, seq FROM spark_streams.series", fetch_size=1000)
    keys = [(r.k, r.seq) for r in session.execute(scan)]
    assert len(keys) == 21000 and len(set(keys)) == 21000
    # A paging state resumes exactly after the last row of the previous page.
    first = session.execute(SimpleStatement(
        "SELECT seq FROM spark_streams.series WHERE k = 1 AND seq >= 500", fetch_size=7))
    state = first.paging_state
    assert [r.seq for r in first.current_rows] == list(range(500, 507))
    nxt = session.execute(SimpleStatement(
        "SELECT seq FROM spark_streams.series WHERE k = 1 AND seq >= 500", fetch_size=7),
        paging_state=state)
    assert [r.seq for r in nxt.current_rows] == list(range(507, 514))
    # LIMIT with paging, and COUNT over the paged partition.
    lim = SimpleStatement("SELECT seq FROM spark_streams.series WHERE k = 1 LIMIT 2500", fetch_size=1000)
    assert [r.seq for r in session.execute(lim)] == list(range(2500))
    assert session.execute("SELECT count(*) FROM spark_streams.series WHERE k = 1").one()[0] == 20000


def test_every_type_round_trips(session):
    session.execute(SEED_KEYSPACE)
    session.execute("""
        CREATE TABLE spark_streams.types (
            k int PRIMARY KEY, a ascii, t text, vc varchar, u uuid, tu timeuuid, i int,
            bi bigint, si smallint, ti tinyint, vi varint, de decimal, f float, d double,
            b boolean, ts timestamp, dt date, tm time, bl blob, ip inet, ip6 inet,
            l list<int>, s set<text>, m map<text, int>, fl frozen<list<text>>,
            fs frozen<set<int>>, fm frozen<map<int, text>>, tup tuple<int, text, boolean>,
            nested map<text, frozen<list<int>>>)""")
    vals = {
        "k": 1, "a": "ascii only", "t": "unicode ✓ héllo", "vc": "varchar", "u": uuid.uuid4(),
        "tu": uuid.uuid1(), "i": -2147483648, "bi": 9223372036854775807, "si": -32768,
        "ti": 127, "vi": 12345678901234567890123456789, "de": decimal.Decimal("-123.4560"),
        "f": 1.5, "d": 3.141592653589793, "b": True,
        "ts": datetime.datetime(2024, 2, 29, 12, 34, 56, 789000),
        "dt": Date(datetime.date(1969, 7, 20)), "tm": Time(13 * 3600 * 10**9 + 123456789),
        "bl": b"\x00\x01\xfe\xff", "ip": ipaddress.ip_address("192.168.1.20"),
        "ip6": ipaddress.ip_address("2001:db8::1"), "l": [3, 1, 2], "s": {"b", "a"},
        "m": {"x": 1, "y": 2}, "fl": ["p", "q"], "fs": {5, 4}, "fm": {2: "two", 1: "one"},
        "tup": (7, "seven", False), "nested": {"n": [1, 2, 3]},
    }
    cols = list(vals)
    ins = session.prepare(f"INSERT INTO spark_streams.types ({', '.join(cols)}) "
                          f"VALUES ({', '.join('?' * len(cols))})")
    session.execute(ins, [vals[c] for c in cols])
    row = session.execute("SELECT * FROM spark_streams.types WHERE k = 1").one()._asdict()
    norm = {
        "ip": str, "ip6": str, "s": set, "fs": set, "m": dict, "fm": dict, "nested": dict,
        "dt": lambda v: v.date() if isinstance(v, Date) else v,
    }
    for c in cols:
        want, got = vals[c], row[c]
        if c in ("ip", "ip6"):
            want = str(want)
        f = norm.get(c)
        if f:
            want, got = f(want), f(got)
        assert got == want, (c, got, want)
    # The same values as literals in a simple statement, and nulls.
    session.execute("INSERT INTO spark_streams.types (k, de, vi, tup, ip) VALUES "
                    "(2, 0.001, -1, (1, null, true), '::1')")
    r = session.execute("SELECT de, vi, tup, ip, t FROM spark_streams.types WHERE k = 2").one()
    assert r.de == decimal.Decimal("0.001") and r.vi == -1 and r.tup == (1, None, True)
    assert str(r.ip) == "::1" and r.t is None
    # SELECT JSON renders every type.
    js = session.execute("SELECT JSON k, l, m, b FROM spark_streams.types WHERE k = 1").one()[0]
    assert js == '{"k": 1, "l": [3, 1, 2], "m": {"x": 1, "y": 2}, "b": true}'
    # Collection updates.
    session.execute("UPDATE spark_streams.types SET l = l + [9], s = s - {'a'}, m['z'] = 26 WHERE k = 1")
    r = session.execute("SELECT l, s, m FROM spark_streams.types WHERE k = 1").one()
    assert r.l == [3, 1, 2, 9] and r.s == SortedSet(["b"]) and dict(r.m) == {"x": 1, "y": 2, "z": 26}
    assert isinstance(r.m, (dict, OrderedMapSerializedKey))


def test_ttl_expiry_and_conditional_updates(session):
    session.execute(SEED_KEYSPACE)
    session.execute(SEED_TABLE)
    uid, other = uuid.uuid4(), uuid.uuid4()
    r = session.execute("INSERT INTO spark_streams.created_users (id, first_name) VALUES (%s, %s) "
                        "IF NOT EXISTS", (uid, "first"))
    assert r.was_applied
    r = session.execute("INSERT INTO spark_streams.created_users (id, first_name) VALUES (%s, %s) "
                        "IF NOT EXISTS", (uid, "second"))
    assert not r.was_applied
    assert r.one().first_name == "first"  # the existing row comes back
    r = session.execute("UPDATE spark_streams.created_users SET email = 'e' WHERE id = %s "
                        "IF first_name = 'nope'", (uid,))
    assert not r.was_applied and r.one().first_name == "first"
    r = session.execute("UPDATE spark_streams.created_users SET email = 'e' WHERE id = %s "
                        "IF first_name = 'first'", (uid,))
    assert r.was_applied
    assert not session.execute("DELETE FROM spark_streams.created_users WHERE id = %s IF EXISTS",
                               (other,)).was_applied

    session.execute("INSERT INTO spark_streams.created_users (id, first_name, email) VALUES "
                    "(%s, 'short-lived', 'x') USING TTL 2", (other,))
    r = session.execute("SELECT first_name, TTL(first_name) FROM spark_streams.created_users "
                        "WHERE id = %s", (other,)).one()
    assert r.first_name == "short-lived" and 0 < r[1] <= 2
    session.execute("UPDATE spark_streams.created_users USING TTL 3600 SET phone = 'kept' WHERE id = %s",
                    (other,))
    deadline = time.monotonic() + 10 * sh.timeout_scale()
    while time.monotonic() < deadline:
        r = session.execute("SELECT first_name, phone FROM spark_streams.created_users WHERE id = %s",
                            (other,)).one()
        if r.first_name is None:
            break
        time.sleep(0.2)
    assert r.first_name is None and r.phone == "kept"
    wt = session.execute("SELECT WRITETIME(phone) FROM spark_streams.created_users WHERE id = %s",
                         (other,)).one()[0]
    assert abs(wt / 1e6 - time.time()) < 60


def test_errors_map_to_driver_exceptions(session):
    session.execute(SEED_KEYSPACE)
    session.execute(SEED_TABLE)
    with pytest.raises(SyntaxException, match="line 1:"):
        session.execute("SELEC * FROM spark_streams.created_users")
    with pytest.raises(InvalidRequest, match="unconfigured table nope"):
        session.execute("SELECT * FROM spark_streams.nope")
    with pytest.raises(InvalidRequest, match="Keyspace 'nope' does not exist"):
        session.execute("SELECT * FROM nope.t")
    with pytest.raises(InvalidRequest, match="Undefined column name nope"):
        session.execute("SELECT nope FROM spark_streams.created_users")
    with pytest.raises(InvalidRequest, match="use ALLOW FILTERING"):
        session.execute("SELECT * FROM spark_streams.created_users WHERE email = 'x'")
    assert session.execute("SELECT * FROM spark_streams.created_users WHERE email = 'x' "
                           "ALLOW FILTERING").all() == []
    with pytest.raises(AlreadyExists):
        session.execute("CREATE TABLE spark_streams.created_users (id uuid PRIMARY KEY)")
    with pytest.raises(InvalidRequest, match="Invalid STRING constant"):
        session.execute("INSERT INTO spark_streams.created_users (id) VALUES ('not-a-uuid')")
    # The session keeps working after every error.
    assert session.execute("SELECT count(*) FROM spark_streams.created_users").one()[0] == 0
