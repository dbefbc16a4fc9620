"""Errors on the CQL port (issue 4, "Bad input" and "Errors carry the right codes"): syntax errors
(Syntax 0x2000 with the position), unknown keyspaces, tables and columns (Invalid 0x2200 in
Cassandra's words), type mismatches, too many or too few bind values, invalid UTF-8 and values of
the wrong length in bound values (sent as raw bytes, which no driver would send), Already_exists
0x2400 with its keyspace and table, Unprepared 0x2500 carrying the unknown id (and the driver
re-preparing after a restart), DDL mistakes, and many bad requests in flight on one connection.

After every error the session that got it keeps working, a connection opened before it and one
opened after it both answer, and nothing was written."""

import os
import re

import pytest
from cassandra import AlreadyExists, InvalidRequest
from cassandra.protocol import SyntaxException

import cql_util as cu
from cql_util import _attach_store_log, cql, ks, store  # noqa: F401  (fixtures)

BIND_COUNT = r"(?i)Invalid amount of bind variables|there were \d+ markers\(\?\) in CQL but \d+ bound"


class Witness:
    """Checks, after each error, that the session that got it, a raw connection opened earlier
    and a new raw connection all still work."""

    def __init__(self, store, session):
        self.store = store
        self.session = session
        self.raw = cu.RawConn(store)

    def check(self):
        assert self.session.execute("SELECT key FROM system.local").one().key == "local"
        assert self.raw.query("SELECT key FROM system.local").rows == [[b"local"]]
        with cu.RawConn(self.store) as r:
            assert r.query("SELECT key FROM system.local").rows == [[b"local"]]

    def close(self):
        self.raw.close()
        cu.assert_alive(self.store, self.session)


@pytest.fixture
def witness(store, ks):
    w = Witness(store, ks[0])
    yield w
    w.close()


def invalid(s, query, pattern, params=None):
    """Runs query on s, which must fail with Invalid 0x2200 and a message matching pattern."""
    with pytest.raises(InvalidRequest) as e:
        s.execute(query, params)
    msg = str(e.value)
    assert "code=2200" in msg, f"{query}: {msg}"
    assert re.search(pattern, msg), f"{query}: message {msg!r} does not match {pattern!r}"
    return msg


def test_syntax_errors(ks, witness, store):
    s, ksn = ks
    s.execute("CREATE TABLE t (k int PRIMARY KEY, v text)")
    cases = [
        ("SELECT * FORM t", r"^line 1:9 .*'FORM'"),
        ("SELECT k\nFROM t\nWHERE k = = 1", r"^line 3:10 .*'='"),
        ("CREAT TABLE x (k int PRIMARY KEY)", r"^line 1:0 .*'CREAT'"),
        ("INSERT INTO t (k, v) VALUES (1, 'x') USING TTLL 5", r"^line 1:43 .*'TTLL'"),
        ("SELECT * FROM t WHERE k = 1 AND AND v = 'x'", r"^line 1:32 .*'AND'"),
        ("INSERT INTO t (k, v) VALUES (1", r"^line \d+:-?\d+ "),
        ("SELECT * FROM t WHERE v = 'unterminated", r"^line \d+:-?\d+ "),
        ("\x01\x02 garbage", r"^line 1:\d+ "),
        ("", r"^line \d+:-?\d+ "),
    ]
    for q, pattern in cases:
        with pytest.raises(SyntaxException) as e:
            s.execute(q)
        assert e.value.code == 0x2000
        assert re.search(pattern, e.value.message), f"{q!r}: {e.value.message!r}"
        witness.check()

    # The same through a raw connection: the ERROR frame itself.
    with cu.RawConn(store) as r:
        err = r.expect_error(r.query, f"SELECT * FORM {ksn}.t")
        assert err.code == cu.SYNTAX_ERROR and err.message.startswith("line 1:9 ")
        err = r.expect_error(r.prepare, "UPDATE SET v = 1")
        assert err.code == cu.SYNTAX_ERROR and err.message.startswith("line 1:7 ")
        assert r.query(f"SELECT k FROM {ksn}.t").rows == []
    assert list(s.execute("SELECT * FROM t")) == [], "a failed statement wrote something"


def test_unknown_keyspace_table_column(ks, witness, store, cql):
    s, ksn = ks
    s.execute("CREATE TABLE t (k int, c int, v text, PRIMARY KEY (k, c))")
    cases = [
        ("SELECT * FROM nosuch_ks.t", r"[Kk]eyspace '?nosuch_ks'? does not exist"),
        ("INSERT INTO nosuch_ks.t (k) VALUES (1)", r"[Kk]eyspace '?nosuch_ks'? does not exist"),
        ("USE nosuch_ks", r"Keyspace 'nosuch_ks' does not exist"),
        ("SELECT * FROM nosuch", r"unconfigured table nosuch|table nosuch does not exist"),
        (f"SELECT * FROM {ksn}.nosuch", r"unconfigured table nosuch|table nosuch does not exist"),
        ("INSERT INTO nosuch (k) VALUES (1)", r"unconfigured table nosuch|table nosuch does not"),
        ("UPDATE nosuch SET v = 'x' WHERE k = 1", r"unconfigured table nosuch|table nosuch does"),
        ("DELETE FROM nosuch WHERE k = 1", r"unconfigured table nosuch|table nosuch does not"),
        ("TRUNCATE nosuch", r"unconfigured table nosuch|table nosuch does not exist"),
        ("SELECT nope FROM t", r"Undefined column name nope"),
        ("SELECT k, WRITETIME(nope) FROM t", r"Undefined column name nope"),
        ("SELECT * FROM t WHERE k = 1 AND nope = 2", r"Undefined column name nope"),
        ("INSERT INTO t (k, c, nope) VALUES (1, 1, 2)", r"Undefined column name nope"),
        ("UPDATE t SET nope = 1 WHERE k = 1 AND c = 1", r"Undefined column name nope"),
        ("DELETE nope FROM t WHERE k = 1 AND c = 1", r"Undefined column name nope"),
        ("DROP TABLE nosuch", r"nosuch.* (doesn't|does not) exist|unconfigured table nosuch"),
        ("DROP KEYSPACE nosuch_ks", r"nosuch_ks.* (doesn't|does not) exist"),
        ("ALTER TABLE nosuch ADD x int", r"nosuch.* (doesn't|does not) exist|unconfigured table"),
    ]
    for q, pattern in cases:
        invalid(s, q, pattern)
        witness.check()
    # PREPARE checks the same things.
    for q, pattern in cases[:2] + cases[3:4] + cases[9:10]:
        with pytest.raises(InvalidRequest, match=pattern):
            s.prepare(q)
        witness.check()

    bare = cql.connect()  # no keyspace
    try:
        invalid(bare, "SELECT * FROM t", r"No keyspace has been specified. USE a keyspace, or "
                                         r"explicitly specify keyspace.tablename")
        assert bare.execute(f"SELECT * FROM {ksn}.t").one() is None
    finally:
        bare.shutdown()

    with cu.RawConn(store) as r:
        err = r.expect_error(r.query, "SELECT * FROM nosuch_ks.t")
        assert err.code == cu.INVALID
        err = r.expect_error(r.prepare, f"SELECT nope FROM {ksn}.t")
        assert err.code == cu.INVALID and "Undefined column name nope" in err.message


def test_type_mismatches(ks, witness):
    s, _ = ks
    s.execute("CREATE TABLE t (k int PRIMARY KEY, n int, s text, u uuid, b boolean, ti tinyint, "
              "ts timestamp, l list<int>, st set<int>, m map<text, int>)")
    cases = [
        ("INSERT INTO t (k, n) VALUES (1, 'abc')", r'Invalid STRING constant \(abc\) for "n" of '
                                                   r"type int"),
        ("INSERT INTO t (k, s) VALUES (1, 42)", r'Invalid INTEGER constant \(42\) for "s" of '
                                                r"type text"),
        ("INSERT INTO t (k, u) VALUES (1, 'not-a-uuid')", r'Invalid STRING constant \(not-a-uuid\)'
                                                          r' for "u" of type uuid'),
        ("INSERT INTO t (k, b) VALUES (1, 'yes')", r'Invalid STRING constant \(yes\) for "b" of '
                                                   r"type boolean"),
        ("SELECT * FROM t WHERE k = 'x'", r'Invalid STRING constant \(x\) for "k" of type int'),
        ("INSERT INTO t (k, n) VALUES (1, 2147483648)", r"\bint\b"),
        ("INSERT INTO t (k, ti) VALUES (1, 300)", r"\b300\b"),
        ("INSERT INTO t (k, ts) VALUES (1, 'yesterday')", r"yesterday"),
        ("INSERT INTO t (k, n) VALUES (1, 1.5)", r'"?n"? of type int'),
        ("INSERT INTO t (k, l) VALUES (1, {'a': 1})", r"\bl\b.* of type list<int>"),
        ("INSERT INTO t (k, st) VALUES (1, [1, 2])", r"\bst\b.* of type set<int>"),
        ("INSERT INTO t (k, m) VALUES (1, {'a': 'b'})", r"\bm\b|map<text, int>"),
        ("INSERT INTO t (k, l) VALUES (1, ['x'])", r"\bl\b|list<int>"),
        ("UPDATE t SET n = n + 1 WHERE k = 1", r"non counter column n"),
        ("UPDATE t SET s = s + [1] WHERE k = 1", r"\bs\b"),
        ("INSERT INTO t (n) VALUES (1)", r"Some partition key parts are missing: k"),
    ]
    for q, pattern in cases:
        invalid(s, q, pattern)
        witness.check()
    assert list(s.execute("SELECT * FROM t")) == [], "a failed statement wrote something"


def test_ddl_and_query_shape_errors(ks, witness):
    s, _ = ks
    s.execute("CREATE TABLE t (k int, a int, b text, v text, PRIMARY KEY (k, a, b))")
    cases = [
        ("CREATE TABLE nopk (k int, v text)", r"PRIMARY KEY"),
        ("CREATE TABLE badtype (k int PRIMARY KEY, v nosuchtype)", r"nosuchtype"),
        ("CREATE TABLE badkey (k int, v text, PRIMARY KEY (nope))", r"nope"),
        ("CREATE TABLE badorder (k int, c int, PRIMARY KEY (k, c)) WITH CLUSTERING ORDER BY "
         "(v DESC)", r"\bv\b|CLUSTERING ORDER|clustering"),
        ("ALTER TABLE t ADD v text", r"Column with name 'v' already exists"),
        ("ALTER TABLE t DROP k", r"Cannot drop PRIMARY KEY column k"),
        ("ALTER TABLE t DROP nope", r"nope"),
        ("INSERT INTO t (k, a, v) VALUES (1, 1, 'x')", r"Some clustering keys are missing: b"),
        ("SELECT * FROM t WHERE k = 1 AND b = 'x'",
         r'PRIMARY KEY column "b" cannot be restricted as preceding column "a" is not restricted'),
        ("SELECT * FROM t ORDER BY a DESC", r"ORDER BY is only supported when the partition key "
                                            r"is restricted by an EQ or an IN"),
        ("SELECT * FROM t WHERE k = 1 ORDER BY v DESC", r"\bv\b|[Oo]rder"),
        ("SELECT * FROM t WHERE k > 1", r"partition key|ALLOW FILTERING"),
        ("SELECT * FROM t WHERE k = 1 LIMIT 0", r"LIMIT must be strictly positive"),
        ("INSERT INTO t (k, a, b, v) VALUES (1, 1, 'x', 'y') USING TTL -1",
         r"A TTL must be greater or equal to 0"),
    ]
    for q, pattern in cases:
        invalid(s, q, pattern)
        witness.check()
    # Cassandra refuses a second PRIMARY KEY with Invalid 0x2200 after parsing; sluice's parser
    # refuses it as it reads it, with Syntax 0x2000 and the position. Either names the mistake.
    with pytest.raises((InvalidRequest, SyntaxException)) as e:
        s.execute("CREATE TABLE twopk (k int PRIMARY KEY, v text PRIMARY KEY)")
    assert "Multiple PRIMARY KEY" in str(e.value)
    witness.check()
    s.execute("INSERT INTO t (k, a, b, v) VALUES (1, 1, 'x', 'y')")
    assert list(s.execute("SELECT k, a, b, v FROM t")) == [(1, 1, "x", "y")]


def test_bind_value_counts(ks, store):
    s, ksn = ks
    s.execute("CREATE TABLE t (k int PRIMARY KEY, v text)")
    one = cu.int32(1)
    with cu.RawConn(store) as r:
        sel = f"SELECT v FROM {ksn}.t WHERE k = ?"
        for values in ([], [one, one], None):
            err = r.expect_error(r.query, sel, values)
            assert err.code == cu.INVALID and re.search(BIND_COUNT, err.message), err
        err = r.expect_error(r.query, f"SELECT v FROM {ksn}.t", [one])
        assert err.code == cu.INVALID and re.search(BIND_COUNT, err.message), err

        ins = r.prepare(f"INSERT INTO {ksn}.t (k, v) VALUES (?, ?)")
        assert [c[2] for c in ins.bind] == ["k", "v"] and ins.pk_indexes == [0]
        for values in ([one], [one, b"x", b"y"], []):
            err = r.expect_error(r.execute, ins.id, values)
            assert err.code == cu.INVALID and re.search(BIND_COUNT, err.message), err
            assert r.query("SELECT key FROM system.local").rows == [[b"local"]]

        # Right counts work on the same connection; positional and named values in a QUERY.
        assert r.execute(ins.id, [one, b"ok"]).kind == cu.VOID
        assert r.query(sel, [one]).rows == [[b"ok"]]
        r.query(f"INSERT INTO {ksn}.t (k, v) VALUES (:k, :v)", [b"named", cu.int32(2)],
                names=["v", "k"])
        assert r.query(sel, [cu.int32(2)]).rows == [[b"named"]]
    assert sorted(s.execute("SELECT k, v FROM t")) == [(1, "ok"), (2, "named")]
    cu.assert_alive(store, s)


# (column type, bad serialized value, what is wrong with it)
BAD_VALUES = [
    ("text", b"\xff\xfe", "invalid UTF-8"),
    ("text", b"ab\xc0\xafcd", "overlong UTF-8"),
    ("text", b"\xed\xa0\x80", "UTF-8 surrogate"),
    ("text", b"abc\xe2\x82", "truncated UTF-8"),
    ("ascii", b"caf\xc3\xa9", "non-ASCII byte in ascii"),
    ("int", b"\x00\x00\x01", "3-byte int"),
    ("int", b"\x00\x00\x00\x00\x01", "5-byte int"),
    ("bigint", b"\x00" * 7, "7-byte bigint"),
    ("smallint", b"\x00", "1-byte smallint"),
    ("tinyint", b"\x00\x01", "2-byte tinyint"),
    ("uuid", b"\x00" * 15, "15-byte uuid"),
    ("timeuuid", bytes(16), "a timeuuid that is not version 1"),
    ("double", b"\x00" * 4, "4-byte double"),
    ("float", b"\x00" * 8, "8-byte float"),
    ("timestamp", b"\x00" * 4, "4-byte timestamp"),
    ("boolean", b"\x00\x01", "2-byte boolean"),
    ("date", b"\x00\x00", "2-byte date"),
    ("time", b"\x00" * 8 + b"\x01", "9-byte time"),
    ("inet", b"\x7f\x00\x01", "3-byte inet"),
    ("list<int>", cu.int32(2) + cu.int32(4) + cu.int32(7), "list claiming 2 elements, 1 sent"),
    ("list<int>", cu.int32(1) + cu.int32(2) + b"\x00\x07", "list of a 2-byte int"),
    ("list<int>", cu.int32(1) + cu.int32(100) + cu.int32(7), "element longer than the list"),
    ("set<text>", cu.int32(1) + cu.int32(1) + b"\xff", "set of invalid UTF-8"),
    ("map<text, int>", cu.int32(1) + cu.int32(1) + b"a", "map entry without a value"),
    ("tuple<int, text>", cu.int32(4) + cu.int32(1) + cu.int32(1) + b"\xff", "tuple of bad UTF-8"),
    ("decimal", b"\x00\x00", "decimal shorter than its scale"),
]


def test_bad_values_through_prepared_statements(ks, store, witness):
    s, ksn = ks
    cols = ", ".join(f"c{i} {t}" for i, (t, _, _) in enumerate(BAD_VALUES))
    s.execute(f"CREATE TABLE bad (k int PRIMARY KEY, {cols})")
    with cu.RawConn(store) as r:
        for i, (typ, val, what) in enumerate(BAD_VALUES):
            ins = r.prepare(f"INSERT INTO {ksn}.bad (k, c{i}) VALUES (?, ?)")
            err = r.expect_error(r.execute, ins.id, [cu.int32(i), val])
            assert err.code == cu.INVALID and err.message, f"{what} ({typ}): {err}"
            # The same value bound to a marker of a QUERY.
            err = r.expect_error(r.query, f"INSERT INTO {ksn}.bad (k, c{i}) VALUES (?, ?)",
                                 [cu.int32(i), val])
            assert err.code == cu.INVALID and err.message, f"{what} ({typ}) in QUERY: {err}"
            # ... and in a WHERE clause of a SELECT.
            err = r.expect_error(r.query, f"SELECT k FROM {ksn}.bad WHERE k = ?", [val[:3]])
            assert err.code == cu.INVALID
            witness.check()
        # A bad partition key value.
        ins = r.prepare(f"INSERT INTO {ksn}.bad (k) VALUES (?)")
        err = r.expect_error(r.execute, ins.id, [b"\x00\x01"])
        assert err.code == cu.INVALID
        err = r.expect_error(r.execute, ins.id, [None])
        assert err.code == cu.INVALID, "a null partition key must be refused"
        # The connection is fine: a good value goes through.
        assert r.execute(ins.id, [cu.int32(1000)]).kind == cu.VOID
    assert [row.k for row in s.execute("SELECT k FROM bad")] == [1000], \
        "a refused value was written"


def test_already_exists(ks, store, witness):
    s, ksn = ks
    s.execute("CREATE TABLE t (k int PRIMARY KEY)")
    with pytest.raises(AlreadyExists) as e:
        s.execute("CREATE TABLE t (k int PRIMARY KEY, v text)")
    assert (e.value.keyspace, e.value.table) == (ksn, "t")
    witness.check()
    with pytest.raises(AlreadyExists) as e:
        s.execute(f"CREATE KEYSPACE {ksn} WITH replication = "
                  "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    assert e.value.keyspace == ksn and not e.value.table
    witness.check()
    s.execute("CREATE TABLE IF NOT EXISTS t (k int PRIMARY KEY, v text)")
    s.execute(f"CREATE KEYSPACE IF NOT EXISTS {ksn} WITH replication = "
              "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    assert list(s.execute("SELECT * FROM t")) == []
    assert s.execute("SELECT * FROM t").column_names == ["k"], "IF NOT EXISTS replaced the table"

    with cu.RawConn(store) as r:
        err = r.expect_error(r.query, f"CREATE TABLE {ksn}.t (k int PRIMARY KEY)")
        assert err.code == cu.ALREADY_EXISTS
        assert err.message == f'Cannot add already existing table "t" to keyspace "{ksn}"'
        extra = cu.Reader(err.extra)
        assert (extra.string(), extra.string()) == (ksn, "t")
        err = r.expect_error(r.query, f"CREATE KEYSPACE {ksn} WITH replication = "
                                      "{'class': 'SimpleStrategy', 'replication_factor': 1}")
        assert err.code == cu.ALREADY_EXISTS
        assert err.message == f'Cannot add existing keyspace "{ksn}"'
        extra = cu.Reader(err.extra)
        assert (extra.string(), extra.string()) == (ksn, "")
        assert r.query(f"SELECT k FROM {ksn}.t").rows == []


def test_unprepared(ks, store, witness):
    s, ksn = ks
    s.execute("CREATE TABLE t (k int PRIMARY KEY, v text)")
    with cu.RawConn(store) as r:
        for stmt_id in (os.urandom(16), b"\x01", os.urandom(40)):
            err = r.expect_error(r.execute, stmt_id, [])
            assert err.code == cu.UNPREPARED, err
            assert cu.Reader(err.extra).short_bytes() == stmt_id, "Unprepared must carry the id"
            witness.check()
        # A statement prepared on one connection is known on every connection.
        ins = r.prepare(f"INSERT INTO {ksn}.t (k, v) VALUES (?, ?)")
        assert len(ins.id) == 16
        with cu.RawConn(store) as r2:
            assert r2.execute(ins.id, [cu.int32(1), b"one"]).kind == cu.VOID
            # Preparing the same text again gives the same id (MD5 of keyspace and query).
            assert r2.prepare(f"INSERT INTO {ksn}.t (k, v) VALUES (?, ?)").id == ins.id
        err = r.expect_error(r.execute, bytes(b ^ 0xFF for b in ins.id), [cu.int32(2), b"x"])
        assert err.code == cu.UNPREPARED
    assert list(s.execute("SELECT k, v FROM t")) == [(1, "one")]


def test_driver_reprepares_after_restart(sluice_proc):
    """After a restart the store no longer knows the driver's prepared ids: the driver gets
    Unprepared 0x2500, prepares again and retries, and the application sees nothing."""
    st = sluice_proc("store")
    c = cu.cluster(st, protocol_version=4, reprepare_on_up=False)
    try:
        s = c.connect()
        cu.create_keyspace(s, "rp")
        s.execute("CREATE TABLE rp.t (k int PRIMARY KEY, v text)")
        ins = s.prepare("INSERT INTO rp.t (k, v) VALUES (?, ?)")
        sel = s.prepare("SELECT v FROM rp.t WHERE k = ?")
        s.execute(ins, [1, "before"])
        st.restart()

        def retry(fn):
            from cassandra import OperationTimedOut
            from cassandra.cluster import NoHostAvailable
            try:
                return fn() or True
            except (NoHostAvailable, OperationTimedOut):
                return False

        cu.wait_until(lambda: retry(lambda: s.execute(ins, [2, "after"])), 15,
                      "the prepared INSERT working after the restart")
        assert s.execute(sel, [1]).one().v == "before"
        assert s.execute(sel, [2]).one().v == "after"
    finally:
        c.shutdown()


def test_many_bad_requests_in_flight(ks, store, witness):
    """Good and bad requests pipelined on one connection, each answered on its own stream."""
    s, ksn = ks
    s.execute("CREATE TABLE t (k int PRIMARY KEY, v text)")
    s.execute("INSERT INTO t (k, v) VALUES (1, 'one')")
    good = f"SELECT v FROM {ksn}.t WHERE k = 1"
    requests = []
    for i in range(60):
        kind = i % 5
        if kind == 0:
            requests.append(("ok", cu.QUERY, cu.long_string(good) + cu.query_params()))
        elif kind == 1:
            requests.append((cu.SYNTAX_ERROR, cu.QUERY,
                             cu.long_string("SELEC v FROM t") + cu.query_params()))
        elif kind == 2:
            requests.append((cu.INVALID, cu.QUERY,
                             cu.long_string(f"SELECT * FROM {ksn}.nosuch") + cu.query_params()))
        elif kind == 3:
            requests.append((cu.UNPREPARED, cu.EXECUTE, cu.string(os.urandom(16))
                             + cu.query_params([])))
        else:
            requests.append((cu.INVALID, cu.QUERY,
                             cu.long_string(f"INSERT INTO {ksn}.t (k, v) VALUES (?, ?)")
                             + cu.query_params([cu.int32(9), b"\xff"])))
    with cu.RawConn(store) as r:
        want = {}
        for expect, op, body in requests:
            want[r.send_frame(op, body)] = expect
        got = {}
        while len(got) < len(want):
            version, _, stream, op, body = r.recv_frame()
            assert version == 0x84 and stream in want and stream not in got, (version, stream)
            if op == cu.RESULT:
                res = cu.Result.parse(body)
                got[stream] = "ok"
                assert res.rows == [[b"one"]]
            else:
                assert op == cu.ERROR
                got[stream] = cu.RawConn.error(body, stream).code
        assert got == want
    witness.check()
    assert s.execute("SELECT v FROM t WHERE k = 9").one() is None
