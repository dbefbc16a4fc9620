"""sluice store driven by python3-cassandra 3.25 (issue 4, "CQL" and "Semantics"): every CQL type
round-tripped through literals, prepared statements and the driver's own value formatting, read
back through QUERY and EXECUTE; clustering order per type; counters and collection operations;
last write wins by write timestamp; row, range, cell, static and partition deletes; TTL expiry
with TTL() and WRITETIME(); IF NOT EXISTS / IF EXISTS / IF conditions answering [applied];
clustering order, slices, IN, ORDER BY, LIMIT, PER PARTITION LIMIT, COUNT(*); paging over slices;
SELECT JSON and INSERT JSON; ALLOW FILTERING; ALTER TABLE ADD/DROP; TRUNCATE; server-side
DESCRIBE; now(), uuid(), toTimestamp() and token() (checked against Murmur3 as Cassandra computes
it); and schema-change events seen by a second driver's metadata and by a raw REGISTERed
connection.

One store serves the module; every test works in a keyspace of its own."""

import datetime
import json
import random
import struct
import threading
import time
import uuid
from decimal import Decimal

import pytest
from cassandra import InvalidRequest
from cassandra.murmur3 import murmur3
from cassandra.query import BatchStatement, BatchType, SimpleStatement
from cassandra.util import Date, Time

import cql_util as cu
from cql_util import _attach_store_log, cql, ks, store  # noqa: F401  (fixtures)

REQUIRES_FILTERING = ("Cannot execute this query as it might involve data filtering and thus may "
                      "have unpredictable performance. If you want to execute this query despite "
                      "the performance unpredictability, use ALLOW FILTERING")

U1 = uuid.UUID("5e9b8f2a-3f4c-4d7e-9a1b-2c3d4e5f6a7b")
TU1 = uuid.UUID("d2177dd0-eaa2-11de-a572-001b779c76e3")

# (column, CQL type, CQL literal, the value python3-cassandra gives back, driver-formattable):
# the last is False for tuples, which the driver's client-side formatting writes as list literals.
TYPES = [
    ("c_ascii", "ascii", "'plain ascii ~!'", "plain ascii ~!", True),
    ("c_text", "text", "'h\u00e9llo w\u00f6rld \u2713 \U0001d11e ''q'''",
     "h\u00e9llo w\u00f6rld \u2713 \U0001d11e 'q'", True),
    ("c_varchar", "varchar", "''", "", True),
    ("c_uuid", "uuid", str(U1), U1, True),
    ("c_timeuuid", "timeuuid", str(TU1), TU1, True),
    ("c_int", "int", "-2147483648", -2147483648, True),
    ("c_bigint", "bigint", "9223372036854775807", 9223372036854775807, True),
    ("c_smallint", "smallint", "-32768", -32768, True),
    ("c_tinyint", "tinyint", "127", 127, True),
    ("c_varint", "varint", "-123456789012345678901234567890", -123456789012345678901234567890,
     True),
    ("c_varint0", "varint", "0", 0, True),
    ("c_decimal", "decimal", "-12345.678900", Decimal("-12345.678900"), True),
    ("c_decimal_big", "decimal", "98765432109876543210.0123456789",
     Decimal("98765432109876543210.0123456789"), True),
    ("c_float", "float", "3.25", 3.25, True),
    ("c_double", "double", "-2.5E-10", -2.5e-10, True),
    ("c_double_pi", "double", "3.141592653589793", 3.141592653589793, True),
    ("c_boolean", "boolean", "true", True, True),
    ("c_timestamp", "timestamp", "'2024-01-02 03:04:05.678+0000'",
     datetime.datetime(2024, 1, 2, 3, 4, 5, 678000), True),
    ("c_timestamp_ms", "timestamp", "1700000000123",
     datetime.datetime(2023, 11, 14, 22, 13, 20, 123000), True),
    ("c_timestamp_iso", "timestamp", "'1969-07-20T20:17:40.000+0000'",
     datetime.datetime(1969, 7, 20, 20, 17, 40), True),
    ("c_date", "date", "'2024-02-29'", Date("2024-02-29"), True),
    ("c_date_old", "date", "'1900-01-01'", Date("1900-01-01"), True),
    ("c_time", "time", "'13:14:15.123456789'", Time("13:14:15.123456789"), True),
    ("c_blob", "blob", "0xdeadbeef00", b"\xde\xad\xbe\xef\x00", True),
    ("c_blob_empty", "blob", "0x", b"", True),
    ("c_inet4", "inet", "'192.168.1.10'", "192.168.1.10", True),
    ("c_inet6", "inet", "'2001:db8::1'", "2001:db8::1", True),
    ("c_list", "list<int>", "[3, 1, 2, 1]", [3, 1, 2, 1], True),
    ("c_set", "set<text>", "{'b', 'a', 'c'}", {"a", "b", "c"}, True),
    ("c_map", "map<text, int>", "{'y': 2, 'x': 1}", {"x": 1, "y": 2}, True),
    ("c_flist", "frozen<list<text>>", "['a', 'b']", ["a", "b"], True),
    ("c_fset", "frozen<set<bigint>>", "{3, -1}", {-1, 3}, True),
    ("c_fmap", "frozen<map<int, boolean>>", "{2: false, 1: true}", {1: True, 2: False}, True),
    ("c_tuple", "tuple<int, text, double>", "(7, 'seven', 7.5)", (7, "seven", 7.5), False),
    ("c_map_of_lists", "map<text, frozen<list<int>>>", "{'a': [1, 2], 'b': [3]}",
     {"a": [1, 2], "b": [3]}, True),
    ("c_list_of_sets", "list<frozen<set<int>>>", "[{2, 1}, {3}]", [{1, 2}, {3}], True),
    ("c_map_of_tuples", "frozen<map<int, frozen<tuple<int, text>>>>",
     "{2: (20, 'y'), 1: (10, 'x')}", {1: (10, "x"), 2: (20, "y")}, False),
    ("c_set_of_tuples", "set<frozen<tuple<int, text>>>", "{(2, 'b'), (1, 'a')}",
     {(1, "a"), (2, "b")}, False),
]


def unfrozen(t):
    """A CQL type name as result metadata describes it: no frozen<>, text as varchar."""
    while "frozen<" in t:
        i = t.index("frozen<")
        depth, j = 0, i + len("frozen")
        for j in range(i + len("frozen"), len(t)):
            depth += t[j] == "<"
            depth -= t[j] == ">"
            if depth == 0:
                break
        t = t[:i] + t[i + len("frozen<"):j] + t[j + 1:]
    return t.replace("text", "varchar")


def check_row(row, where):
    for col, _, _, want, _ in TYPES:
        got = getattr(row, col)
        assert got == want, f"{where}: {col} is {got!r}, want {want!r}"


def test_types_round_trip(ks):
    s, _ = ks
    s.execute("CREATE TABLE types (k int PRIMARY KEY, "
              + ", ".join(f"{c} {t}" for c, t, _, _, _ in TYPES) + ")")
    cols = ", ".join(c for c, *_ in TYPES)

    # 1: CQL literals in a QUERY.
    s.execute(f"INSERT INTO types (k, {cols}) VALUES (1, "
              + ", ".join(lit for _, _, lit, _, _ in TYPES) + ")")
    # 2: a prepared INSERT, the driver serializing by the bind metadata the server sent.
    ins = s.prepare(f"INSERT INTO types (k, {cols}) VALUES (?, "
                    + ", ".join("?" for _ in TYPES) + ")")
    assert [c.name for c in ins.column_metadata] == ["k"] + [c for c, *_ in TYPES]
    s.execute(ins, [2] + [v for _, _, _, v, _ in TYPES])
    # 3: the driver's client-side formatting (%s), as the seeds' insert_data uses it.
    fmt = [(c, v) for c, _, _, v, ok in TYPES if ok]
    lit = [(c, lit) for c, _, lit, _, ok in TYPES if not ok]
    s.execute(f"INSERT INTO types (k, {', '.join(c for c, _ in fmt + lit)}) VALUES (%s, "
              + ", ".join(["%s"] * len(fmt) + [x for _, x in lit]) + ")",
              [3] + [v for _, v in fmt])

    sel = s.prepare("SELECT * FROM types WHERE k = ?")
    for k in (1, 2, 3):
        check_row(s.execute(f"SELECT * FROM types WHERE k = {k}").one(), f"row {k} by QUERY")
        check_row(s.execute(sel, [k]).one(), f"row {k} by EXECUTE")

    rs = s.execute(f"SELECT {cols} FROM types WHERE k = 1")
    got_types = [unfrozen(t.cql_parameterized_type()) for t in rs.column_types]
    assert got_types == [unfrozen(t) for _, t, _, _, _ in TYPES]

    # Nulls: an INSERT naming no value column leaves every column null, read back as None.
    s.execute("INSERT INTO types (k) VALUES (4)")
    row = s.execute(sel, [4]).one()
    assert all(getattr(row, c) is None for c, *_ in TYPES)
    s.execute(ins, [5] + [None] * len(TYPES))
    assert all(getattr(s.execute(sel, [5]).one(), c) is None for c, *_ in TYPES)


# Values of each type in CQL order (as Cassandra compares them), as literals.
ORDERED = {
    "int": ["-5", "-1", "0", "3", "100000"],
    "bigint": ["-9223372036854775808", "-1", "0", "9223372036854775807"],
    "smallint": ["-32768", "-1", "0", "32767"],
    "tinyint": ["-128", "-1", "0", "127"],
    "varint": ["-100000000000000000000", "-256", "-1", "0", "5", "255", "256",
               "100000000000000000000"],
    "decimal": ["-10.5", "-1", "-0.25", "0", "0.001", "2", "10.1", "100"],
    "double": ["-1e10", "-1.5", "0", "2.5", "1e300"],
    "float": ["-2.5", "-0.5", "0", "1.25", "1000"],
    "text": ["''", "'A'", "'Z'", "'a'", "'ab'", "'b'", "'\u00e9'"],
    "blob": ["0x", "0x00", "0x0001", "0x01", "0xff"],
    "boolean": ["false", "true"],
    "timestamp": ["'1960-01-01 00:00:00+0000'", "'1970-01-01 00:00:00+0000'",
                  "'2024-01-01 00:00:00+0000'"],
    "date": ["'1900-01-01'", "'1970-01-01'", "'2024-02-29'"],
    "time": ["'00:00:00'", "'01:02:03.5'", "'23:59:59.999999999'"],
    # By timestamp, which their byte order contradicts (time_low comes first in the bytes).
    "timeuuid": [str(uuid.UUID(fields=(0x0000FFFF, 0x0000, 0x1001, 0x80, 0x00, 1))),
                 str(uuid.UUID(fields=(0x00000000, 0x0001, 0x1001, 0x80, 0x00, 1))),
                 str(uuid.UUID(fields=(0x00000001, 0x0001, 0x1001, 0x80, 0x00, 1))),
                 str(uuid.UUID(fields=(0x00000000, 0x0000, 0x1002, 0x80, 0x00, 1)))],
}


def test_clustering_order_per_type(ks):
    s, _ = ks
    rng = random.Random(4)
    for typ, lits in ORDERED.items():
        for order in ("ASC", "DESC"):
            t = f"ord_{typ}_{order.lower()}"
            s.execute(f"CREATE TABLE {t} (k int, c {typ}, n int, PRIMARY KEY (k, c)) "
                      f"WITH CLUSTERING ORDER BY (c {order})")
            idx = list(range(len(lits)))
            rng.shuffle(idx)
            for i in idx:
                s.execute(f"INSERT INTO {t} (k, c, n) VALUES (1, {lits[i]}, {i})")
            want = list(range(len(lits)))
            if order == "DESC":
                want.reverse()
            got = [r.n for r in s.execute(f"SELECT n FROM {t} WHERE k = 1")]
            assert got == want, f"{typ} {order}: rows came back as {got}"
            got = [r.n for r in s.execute(f"SELECT n FROM {t} WHERE k = 1 ORDER BY c DESC")]
            assert got == sorted(want, reverse=True), f"{typ} ORDER BY c DESC: {got}"
            # A slice bound by the middle value keeps the type's order too.
            mid = len(lits) // 2
            got = [r.n for r in s.execute(
                f"SELECT n FROM {t} WHERE k = 1 AND c > {lits[mid]} ORDER BY c ASC")]
            assert got == list(range(mid + 1, len(lits))), f"{typ} c > {lits[mid]}: {got}"


def test_counters(ks):
    s, _ = ks
    s.execute("CREATE TABLE cnt (k text PRIMARY KEY, hits counter, misses counter)")
    s.execute("UPDATE cnt SET hits = hits + 5 WHERE k = 'a'")
    s.execute("UPDATE cnt SET hits = hits - 2, misses = misses + 1 WHERE k = 'a'")
    inc = s.prepare("UPDATE cnt SET hits = hits + ? WHERE k = ?")
    for _ in range(10):
        s.execute(inc, [7, "a"])
    s.execute(inc, [-100, "b"])
    row = s.execute("SELECT hits, misses FROM cnt WHERE k = 'a'").one()
    assert (row.hits, row.misses) == (73, 1)
    assert s.execute("SELECT hits, misses FROM cnt WHERE k = 'b'").one() == (-100, None)
    assert s.execute("SELECT hits FROM cnt WHERE k = 'nothing'").one() is None

    b = BatchStatement(batch_type=BatchType.COUNTER)
    b.add(inc, [1, "a"])
    b.add(inc, [1, "c"])
    b.add(SimpleStatement("UPDATE cnt SET misses = misses + 3 WHERE k = 'c'"))
    s.execute(b)
    assert s.execute("SELECT hits FROM cnt WHERE k = 'a'").one().hits == 74
    assert s.execute("SELECT hits, misses FROM cnt WHERE k = 'c'").one() == (1, 3)

    with pytest.raises(InvalidRequest, match="INSERT statements are not allowed on counter "
                                             "tables, use UPDATE instead"):
        s.execute("INSERT INTO cnt (k, hits) VALUES ('d', 1)")


def test_collection_operations(ks):
    s, _ = ks
    s.execute("CREATE TABLE coll (k int PRIMARY KEY, l list<int>, st set<text>, m map<text, int>, "
              "fl frozen<list<int>>)")
    s.execute("INSERT INTO coll (k, l, st, m, fl) VALUES (1, [1, 2], {'a'}, {'x': 1}, [9])")
    s.execute("UPDATE coll SET l = l + [3, 4], st = st + {'b', 'c'}, m = m + {'y': 2} "
              "WHERE k = 1")
    s.execute("UPDATE coll SET l = [0] + l, st = st - {'a'}, m['z'] = 26 WHERE k = 1")
    s.execute("UPDATE coll SET l[2] = 20 WHERE k = 1")
    s.execute("DELETE l[0], m['x'] FROM coll WHERE k = 1")
    s.execute("UPDATE coll SET l = l - [4], fl = [7, 8] WHERE k = 1")
    row = s.execute("SELECT l, st, m, fl FROM coll WHERE k = 1").one()
    assert row.l == [1, 20, 3]
    assert row.st == {"b", "c"}
    assert row.m == {"y": 2, "z": 26}
    assert row.fl == [7, 8]

    # Prepared collection operations.
    add = s.prepare("UPDATE coll SET st = st + ?, m[?] = ? WHERE k = ?")
    s.execute(add, [{"d"}, "w", 23, 1])
    row = s.execute("SELECT st, m FROM coll WHERE k = 1").one()
    assert row.st == {"b", "c", "d"} and row.m == {"w": 23, "y": 2, "z": 26}

    # A non-frozen collection emptied is null, as in Cassandra.
    s.execute("UPDATE coll SET st = st - {'b', 'c', 'd'}, l = [] WHERE k = 1")
    row = s.execute("SELECT l, st, m FROM coll WHERE k = 1").one()
    assert row.l is None and row.st is None and row.m == {"w": 23, "y": 2, "z": 26}
    # An UPDATE of a collection on a missing row creates it.
    s.execute("UPDATE coll SET l = l + [5] WHERE k = 2")
    assert s.execute("SELECT l FROM coll WHERE k = 2").one().l == [5]


def test_last_write_wins(ks):
    s, _ = ks
    s.execute("CREATE TABLE lww (k int PRIMARY KEY, v text, a int, b int)")

    def v():
        row = s.execute("SELECT v, WRITETIME(v) AS wt FROM lww WHERE k = 1").one()
        return (row.v, row.wt) if row else None

    s.execute("INSERT INTO lww (k, v) VALUES (1, 'new') USING TIMESTAMP 2000")
    s.execute("INSERT INTO lww (k, v) VALUES (1, 'old') USING TIMESTAMP 1000")
    assert v() == ("new", 2000)
    s.execute("UPDATE lww USING TIMESTAMP 3000 SET v = 'newer' WHERE k = 1")
    assert v() == ("newer", 3000)
    # A delete older than the cell leaves it; the row stays visible through its live cell.
    s.execute("DELETE FROM lww USING TIMESTAMP 2500 WHERE k = 1")
    assert v() == ("newer", 3000)
    # A newer delete shadows older writes, and wins a tie with a write of the same timestamp.
    s.execute("DELETE FROM lww USING TIMESTAMP 4000 WHERE k = 1")
    s.execute("INSERT INTO lww (k, v) VALUES (1, 'late') USING TIMESTAMP 3500")
    assert v() is None
    s.execute("INSERT INTO lww (k, v) VALUES (1, 'tie') USING TIMESTAMP 4000")
    assert v() is None
    s.execute("INSERT INTO lww (k, v) VALUES (1, 'after') USING TIMESTAMP 4001")
    assert v() == ("after", 4001)

    # Per cell: each column keeps its own newest write.
    s.execute("UPDATE lww USING TIMESTAMP 10 SET a = 1 WHERE k = 2")
    s.execute("UPDATE lww USING TIMESTAMP 5 SET a = 2, b = 2 WHERE k = 2")
    row = s.execute("SELECT a, b, WRITETIME(a) AS wa, WRITETIME(b) AS wb FROM lww WHERE k = 2").one()
    assert (row.a, row.b, row.wa, row.wb) == (1, 2, 10, 5)

    # Prepared with a bound timestamp.
    up = s.prepare("UPDATE lww USING TIMESTAMP ? SET b = ? WHERE k = ?")
    s.execute(up, [7, 70, 2])
    s.execute(up, [6, 60, 2])
    assert s.execute("SELECT b FROM lww WHERE k = 2").one().b == 70


def test_deletes(ks):
    s, _ = ks
    s.execute("CREATE TABLE d (k int, c int, v text, s text STATIC, PRIMARY KEY (k, c))")
    for c in range(10):
        s.execute(f"INSERT INTO d (k, c, v) VALUES (1, {c}, 'v{c}')")
    s.execute("UPDATE d SET s = 'S' WHERE k = 1")

    def cs(k=1):
        return [r.c for r in s.execute(f"SELECT c FROM d WHERE k = {k}")]

    s.execute("DELETE FROM d WHERE k = 1 AND c = 3")  # row
    assert cs() == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    s.execute("DELETE FROM d WHERE k = 1 AND c > 5 AND c <= 8")  # range
    assert cs() == [0, 1, 2, 4, 5, 9]
    s.execute("DELETE FROM d WHERE k = 1 AND c >= 9")  # range with one bound
    assert cs() == [0, 1, 2, 4, 5]

    # A cell delete leaves a row written by INSERT (its row marker keeps it alive) ...
    s.execute("DELETE v FROM d WHERE k = 1 AND c = 0")
    assert s.execute("SELECT c, v, s FROM d WHERE k = 1 AND c = 0").one() == (0, None, "S")
    # ... but a row that only UPDATE wrote disappears with its last cell.
    s.execute("UPDATE d SET v = 'u' WHERE k = 2 AND c = 0")
    assert cs(2) == [0]
    s.execute("DELETE v FROM d WHERE k = 2 AND c = 0")
    assert cs(2) == []

    # Static column: one value per partition, deleted on its own.
    assert {r.s for r in s.execute("SELECT s FROM d WHERE k = 1")} == {"S"}
    s.execute("DELETE s FROM d WHERE k = 1")
    assert {r.s for r in s.execute("SELECT s FROM d WHERE k = 1")} == {None}
    # A partition with only a static value reads as one row with null clustering columns.
    s.execute("INSERT INTO d (k, s) VALUES (3, 'only static')")
    assert list(s.execute("SELECT k, c, v, s FROM d WHERE k = 3")) == [(3, None, None,
                                                                         "only static")]

    # Partition delete, then a newer write is visible again.
    s.execute("DELETE FROM d WHERE k = 1")
    assert cs() == []
    assert s.execute("SELECT COUNT(*) FROM d WHERE k = 1").one()[0] == 0
    s.execute("INSERT INTO d (k, c, v) VALUES (1, 42, 'back')")
    assert cs() == [42]

    # Deleting a clustering prefix removes every row under it.
    s.execute("CREATE TABLE d2 (k int, a int, b text, v int, PRIMARY KEY (k, a, b))")
    for a in range(3):
        for b in "xyz":
            s.execute(f"INSERT INTO d2 (k, a, b, v) VALUES (1, {a}, '{b}', {a})")
    s.execute("DELETE FROM d2 WHERE k = 1 AND a = 1")
    s.execute("DELETE FROM d2 WHERE k = 1 AND a = 2 AND b > 'x'")
    assert [(r.a, r.b) for r in s.execute("SELECT a, b FROM d2 WHERE k = 1")] == \
        [(0, "x"), (0, "y"), (0, "z"), (2, "x")]

    # Prepared delete.
    dele = s.prepare("DELETE FROM d2 WHERE k = ? AND a = ? AND b = ?")
    s.execute(dele, [1, 0, "y"])
    assert [(r.a, r.b) for r in s.execute("SELECT a, b FROM d2 WHERE k = 1")] == \
        [(0, "x"), (0, "z"), (2, "x")]


def test_ttl_and_writetime(ks):
    s, _ = ks
    s.execute("CREATE TABLE ttl (k int PRIMARY KEY, v text, v2 text)")
    before_us = time.time() * 1e6
    s.execute("INSERT INTO ttl (k, v) VALUES (1, 'one second') USING TTL 1")
    s.execute("INSERT INTO ttl (k, v) VALUES (2, 'three seconds') USING TTL 3")
    t2 = time.monotonic()
    s.execute("INSERT INTO ttl (k, v) VALUES (3, 'hundred') USING TTL 100")
    s.execute("INSERT INTO ttl (k, v) VALUES (4, 'forever')")
    s.execute("UPDATE ttl USING TTL 1 SET v2 = 'cell ttl' WHERE k = 4")
    s.execute("INSERT INTO ttl (k, v) VALUES (5, 'both') USING TTL 100 AND TIMESTAMP 1234")
    ins = s.prepare("INSERT INTO ttl (k, v) VALUES (?, ?) USING TTL ?")
    s.execute(ins, [6, "prepared", 50])
    after_us = time.time() * 1e6

    row = s.execute("SELECT v FROM ttl WHERE k = 2").one()
    if time.monotonic() - t2 < 1.9:  # TTLs count whole seconds: 3 s is at least 2 s
        assert row and row.v == "three seconds", "a row with TTL 3 expired at once"
    # TTL() counts down from the TTL given; allow for slow machines.
    slack = 3 + int(time.monotonic() - t2)
    row = s.execute("SELECT TTL(v) AS t, WRITETIME(v) AS w FROM ttl WHERE k = 3").one()
    assert 100 - slack <= row.t <= 100, row
    assert before_us - 5e6 <= row.w <= after_us + 5e6, "WRITETIME is not the write's time (us)"
    row = s.execute("SELECT TTL(v) AS t, WRITETIME(v) AS w FROM ttl WHERE k = 4").one()
    assert row.t is None and before_us - 5e6 <= row.w <= after_us + 5e6
    row = s.execute("SELECT TTL(v) AS t, WRITETIME(v) AS w FROM ttl WHERE k = 5").one()
    assert 100 - slack <= row.t <= 100 and row.w == 1234
    assert 50 - slack <= s.execute("SELECT TTL(v) FROM ttl WHERE k = 6").one()[0] <= 50

    def keys():
        return sorted(r.k for r in s.execute("SELECT k FROM ttl"))

    cu.wait_until(lambda: 1 not in keys(), 4, "the TTL 1 row expiring")
    cu.wait_until(lambda: s.execute("SELECT v2 FROM ttl WHERE k = 4").one().v2 is None, 4,
                  "the TTL 1 cell expiring")
    cu.wait_until(lambda: 2 not in keys(), 6, "the TTL 3 row expiring")
    assert keys() == [3, 4, 5, 6]
    assert s.execute("SELECT v, v2 FROM ttl WHERE k = 4").one() == ("forever", None)
    assert s.execute("SELECT COUNT(*) FROM ttl").one()[0] == 4


def test_conditional_statements(ks):
    s, _ = ks
    s.execute("CREATE TABLE lwt (k int PRIMARY KEY, v text, n int)")
    r = s.execute("INSERT INTO lwt (k, v, n) VALUES (1, 'a', 1) IF NOT EXISTS")
    assert r.was_applied and r.column_names == ["[applied]"]
    r = s.execute("INSERT INTO lwt (k, v, n) VALUES (1, 'b', 2) IF NOT EXISTS")
    assert not r.was_applied
    row = r.one()
    assert (row.k, row.v, row.n) == (1, "a", 1), "a failed IF NOT EXISTS returns the existing row"

    r = s.execute("UPDATE lwt SET v = 'c' WHERE k = 1 IF v = 'a'")
    assert r.was_applied
    r = s.execute("UPDATE lwt SET v = 'd' WHERE k = 1 IF v = 'a'")
    assert not r.was_applied and r.column_names == ["[applied]", "v"] and r.one().v == "c"
    r = s.execute("UPDATE lwt SET n = 10 WHERE k = 1 IF v = 'c' AND n < 5")
    assert r.was_applied
    r = s.execute("UPDATE lwt SET n = 20 WHERE k = 1 IF v = 'c' AND n < 5")
    assert not r.was_applied
    assert s.execute("SELECT v, n FROM lwt WHERE k = 1").one() == ("c", 10)

    r = s.execute("UPDATE lwt SET v = 'x' WHERE k = 2 IF EXISTS")
    assert not r.was_applied and r.column_names == ["[applied]"]
    assert s.execute("SELECT * FROM lwt WHERE k = 2").one() is None, "IF EXISTS created a row"
    assert s.execute("DELETE FROM lwt WHERE k = 1 IF EXISTS").was_applied
    assert not s.execute("DELETE FROM lwt WHERE k = 1 IF EXISTS").was_applied
    assert s.execute("SELECT * FROM lwt WHERE k = 1").one() is None

    ins = s.prepare("INSERT INTO lwt (k, v) VALUES (?, ?) IF NOT EXISTS")
    assert s.execute(ins, [3, "p"]).was_applied
    assert not s.execute(ins, [3, "q"]).was_applied

    # Linearizable on this node: of many racing inserts of one key exactly one applies, and
    # every loser sees the winner's value.
    futures = [s.execute_async(ins, [100, f"racer-{i}"]) for i in range(32)]
    results = [f.result() for f in futures]
    winners = [i for i, r in enumerate(results) if r.was_applied]
    assert len(winners) == 1, f"{len(winners)} racing IF NOT EXISTS applied"
    won = f"racer-{winners[0]}"
    assert all(r.one().v == won for r in results if not r.was_applied)
    assert s.execute("SELECT v FROM lwt WHERE k = 100").one().v == won

    # Racing compare-and-set increments lose no update.
    s.execute("INSERT INTO lwt (k, n) VALUES (200, 0)")
    cas = s.prepare("UPDATE lwt SET n = ? WHERE k = 200 IF n = ?")
    done = []

    def incr(times):
        for _ in range(times):
            while True:
                cur = s.execute("SELECT n FROM lwt WHERE k = 200").one().n
                if s.execute(cas, [cur + 1, cur]).was_applied:
                    done.append(1)
                    break

    threads = [threading.Thread(target=incr, args=(15,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(cu.sh.scaled(60))
    assert len(done) == 60 and s.execute("SELECT n FROM lwt WHERE k = 200").one().n == 60


def test_clustering_slices_in_order_by(ks):
    s, _ = ks
    s.execute("CREATE TABLE sl (k int, c int, v int, PRIMARY KEY (k, c)) "
              "WITH CLUSTERING ORDER BY (c DESC)")
    ins = s.prepare("INSERT INTO sl (k, c, v) VALUES (?, ?, ?)")
    for k in (1, 2):
        for c in range(10):
            s.execute(ins, [k, c, k * 100 + c])

    def cs(where, extra=""):
        return [r.c for r in s.execute(f"SELECT c FROM sl WHERE {where} {extra}")]

    assert cs("k = 1") == list(range(9, -1, -1))
    assert cs("k = 1", "ORDER BY c ASC") == list(range(10))
    assert cs("k = 1", "ORDER BY c DESC") == list(range(9, -1, -1))
    assert cs("k = 1 AND c > 3 AND c <= 7") == [7, 6, 5, 4]
    assert cs("k = 1 AND c >= 3 AND c < 7", "ORDER BY c ASC") == [3, 4, 5, 6]
    assert cs("k = 1 AND c < 2") == [1, 0]
    assert cs("k = 1 AND c >= 8") == [9, 8]
    assert cs("k = 1 AND c > 20") == []
    assert cs("k = 1 AND c = 4") == [4]
    assert cs("k = 1 AND c IN (5, 1, 3, 5)") == [5, 3, 1]
    assert cs("k = 1 AND c IN (5, 1, 3)", "ORDER BY c ASC") == [1, 3, 5]
    assert cs("k = 1", "LIMIT 3") == [9, 8, 7]
    assert cs("k = 1 AND c < 5", "ORDER BY c ASC LIMIT 2") == [0, 1]

    rows = [(r.k, r.c) for r in s.execute("SELECT k, c FROM sl WHERE k IN (2, 1) AND c > 6")]
    assert sorted(rows) == sorted((k, c) for k in (1, 2) for c in (7, 8, 9))
    for k in (1, 2):
        assert [c for kk, c in rows if kk == k] == [9, 8, 7], "IN keeps clustering order"

    sel = s.prepare("SELECT v FROM sl WHERE k = ? AND c >= ? AND c <= ?")
    assert [r.v for r in s.execute(sel, [2, 4, 6])] == [206, 205, 204]
    sel_in = s.prepare("SELECT c FROM sl WHERE k = ? AND c IN ?")
    assert [r.c for r in s.execute(sel_in, [1, [2, 8]])] == [8, 2]

    # Two clustering columns: equality on the first, slice on the second; slice on the first.
    s.execute("CREATE TABLE sl2 (k int, a int, b text, v int, PRIMARY KEY (k, a, b))")
    for a in range(3):
        for b in "abcd":
            s.execute(f"INSERT INTO sl2 (k, a, b, v) VALUES (1, {a}, '{b}', 0)")
    ab = [(r.a, r.b) for r in s.execute("SELECT a, b FROM sl2 WHERE k = 1 AND a = 1 AND b > 'b'")]
    assert ab == [(1, "c"), (1, "d")]
    ab = [(r.a, r.b) for r in s.execute("SELECT a, b FROM sl2 WHERE k = 1 AND a >= 2")]
    assert ab == [(2, b) for b in "abcd"]
    ab = [(r.a, r.b) for r in s.execute(
        "SELECT a, b FROM sl2 WHERE k = 1 AND a = 0 AND b IN ('d', 'a') ORDER BY a DESC")]
    assert ab == [(0, "d"), (0, "a")]


def test_limit_per_partition_limit_count(ks):
    s, _ = ks
    s.execute("CREATE TABLE lim (k int, c int, v int, PRIMARY KEY (k, c))")
    ins = s.prepare("INSERT INTO lim (k, c, v) VALUES (?, ?, ?)")
    for k in range(5):
        for c in range(k + 1):  # partition k has k+1 rows
            s.execute(ins, [k, c, 0])

    rows = [(r.k, r.c) for r in s.execute("SELECT k, c FROM lim PER PARTITION LIMIT 2")]
    assert sorted(rows) == sorted((k, c) for k in range(5) for c in range(min(2, k + 1)))
    for k in range(5):
        assert [c for kk, c in rows if kk == k] == list(range(min(2, k + 1)))
    assert len(list(s.execute("SELECT k, c FROM lim PER PARTITION LIMIT 2 LIMIT 3"))) == 3
    assert len(list(s.execute("SELECT * FROM lim LIMIT 7"))) == 7
    assert [r.c for r in s.execute("SELECT c FROM lim WHERE k = 4 PER PARTITION LIMIT 3")] == \
        [0, 1, 2]

    rs = s.execute("SELECT COUNT(*) FROM lim")
    assert rs.column_names == ["count"] and rs.one()[0] == 15
    assert s.execute("SELECT COUNT(*) FROM lim WHERE k = 3").one()[0] == 4
    assert s.execute("SELECT COUNT(*) FROM lim WHERE k = 4 AND c >= 2").one()[0] == 3
    assert s.execute("SELECT COUNT(*) FROM lim WHERE k = 99").one()[0] == 0
    assert s.execute("SELECT COUNT(*) FROM lim WHERE k IN (1, 2)").one()[0] == 5
    cnt = s.prepare("SELECT COUNT(*) FROM lim WHERE k = ?")
    assert s.execute(cnt, [2]).one()[0] == 3


def test_paging_through_slices(ks):
    s, _ = ks
    s.execute("CREATE TABLE pg (k int, c int, v text, PRIMARY KEY (k, c)) "
              "WITH CLUSTERING ORDER BY (c DESC)")
    ins = s.prepare("INSERT INTO pg (k, c, v) VALUES (?, ?, ?)")
    futures = [s.execute_async(ins, [1, c, f"v{c}"]) for c in range(350)]
    futures += [s.execute_async(ins, [2, c, f"v{c}"]) for c in range(50)]
    for f in futures:
        f.result()

    def paged(query, size, params=None):
        rs = s.execute(SimpleStatement(query, fetch_size=size), params)
        pages = [len(rs.current_rows)]
        rows = list(rs.current_rows)
        while rs.has_more_pages:
            rs.fetch_next_page()
            pages.append(len(rs.current_rows))
            rows += rs.current_rows
        return rows, pages

    rows, pages = paged("SELECT c FROM pg WHERE k = 1", 100)
    assert [r.c for r in rows] == list(range(349, -1, -1))
    assert pages[:3] == [100, 100, 100] and sum(pages) == 350 and all(p <= 100 for p in pages)

    rows, _ = paged("SELECT c FROM pg WHERE k = 1 AND c >= 50 AND c < 300 ORDER BY c ASC", 64)
    assert [r.c for r in rows] == list(range(50, 300))

    rows, pages = paged("SELECT k, c FROM pg", 37)
    assert sorted((r.k, r.c) for r in rows) == sorted(
        [(1, c) for c in range(350)] + [(2, c) for c in range(50)])
    assert len(rows) == 400 and max(pages) <= 37

    rows, _ = paged("SELECT c FROM pg WHERE k = 1 LIMIT 250", 100)
    assert [r.c for r in rows] == list(range(349, 99, -1))
    rows, _ = paged("SELECT c FROM pg WHERE k = 1 AND c IN (1, 5, 9, 13, 17)", 2)
    assert [r.c for r in rows] == [17, 13, 9, 5, 1]
    rows, _ = paged("SELECT k, c FROM pg PER PARTITION LIMIT 3", 2)
    assert sorted((r.k, r.c) for r in rows) == [(1, 347), (1, 348), (1, 349),
                                                (2, 47), (2, 48), (2, 49)]

    # Prepared, resuming by hand from the paging state.
    sel = s.prepare("SELECT c FROM pg WHERE k = ?")
    sel.fetch_size = 120
    got, state = [], None
    while True:
        rs = s.execute(sel, [1], paging_state=state)
        got += [r.c for r in rs.current_rows]
        state = rs.paging_state
        if not state:
            break
    assert got == list(range(349, -1, -1))


def test_select_json_insert_json(ks):
    s, _ = ks
    s.execute("CREATE TABLE js (k int PRIMARY KEY, v text, u uuid, ts timestamp, b blob, "
              "l list<int>, st set<text>, m map<int, text>, t tuple<int, text>, f boolean, "
              "d double, dec decimal, ip inet, dt date, tm time, vi varint)")
    s.execute("INSERT INTO js (k, v) VALUES (1, 'x')")
    rs = s.execute("SELECT JSON k, v FROM js WHERE k = 1")
    assert rs.column_names == ["[json]"]
    assert rs.one()[0] == '{"k": 1, "v": "x"}'

    s.execute(f"INSERT INTO js (k, v, u, ts, b, l, st, m, t, f, d, dec, ip, dt, tm, vi) VALUES "
              f"(2, 'quote \" and \\\\ back', {U1}, '2024-01-02 03:04:05.678+0000', 0xdead, [1, 2], "
              "{'b', 'a'}, {1: 'one', 2: 'two'}, (3, 'three'), true, 2.5, 1.25, '10.0.0.1', "
              "'2024-02-29', '01:02:03.000000004', 12345678901234567890)")
    got = json.loads(s.execute("SELECT JSON * FROM js WHERE k = 2").one()[0])
    assert got == {"k": 2, "v": 'quote " and \\\\ back', "u": str(U1),
                   "ts": "2024-01-02 03:04:05.678Z", "b": "0xdead", "l": [1, 2],
                   "st": ["a", "b"], "m": {"1": "one", "2": "two"}, "t": [3, "three"], "f": True,
                   "d": 2.5, "dec": 1.25, "ip": "10.0.0.1", "dt": "2024-02-29",
                   "tm": "01:02:03.000000004", "vi": 12345678901234567890}

    doc = {"k": 3, "v": "from json", "u": str(U1), "ts": "2024-01-02 03:04:05.678Z",
           "b": "0xbeef", "l": [3, 2, 1], "st": ["z", "y"], "m": {"7": "seven"},
           "t": [4, "four"], "f": False, "d": -0.5, "dec": "3.5", "ip": "::1",
           "dt": "2000-01-01", "tm": "23:00:00", "vi": -5}
    s.execute("INSERT INTO js JSON %s", [json.dumps(doc)])
    row = s.execute("SELECT * FROM js WHERE k = 3").one()
    assert (row.v, row.u, row.ts, row.b, row.l, row.st, row.m, row.t, row.f, row.d, row.dec,
            row.ip, row.dt, row.tm, row.vi) == (
        "from json", U1, datetime.datetime(2024, 1, 2, 3, 4, 5, 678000), b"\xbe\xef", [3, 2, 1],
        {"y", "z"}, {7: "seven"}, (4, "four"), False, -0.5, Decimal("3.5"), "::1",
        Date("2000-01-01"), Time("23:00:00"), -5)
    # JSON output of what INSERT JSON wrote reads back as the same document.
    again = json.loads(s.execute("SELECT JSON * FROM js WHERE k = 3").one()[0])
    assert again["l"] == [3, 2, 1] and again["st"] == ["y", "z"] and again["vi"] == -5

    # Columns a JSON document leaves out are set to null (DEFAULT NULL).
    s.execute("INSERT INTO js JSON '{\"k\": 3, \"v\": \"only v\"}'")
    row = s.execute("SELECT v, l, m FROM js WHERE k = 3").one()
    assert row == ("only v", None, None)
    ins = s.prepare("INSERT INTO js JSON ?")
    s.execute(ins, ['{"k": 4, "l": [9]}'])
    assert s.execute("SELECT k, l FROM js WHERE k = 4").one() == (4, [9])


def test_allow_filtering(ks):
    s, _ = ks
    s.execute("CREATE TABLE fl (k int, c int, v text, PRIMARY KEY (k, c))")
    for k in range(4):
        for c in range(3):
            s.execute(f"INSERT INTO fl (k, c, v) VALUES ({k}, {c}, '{'x' if c == 1 else 'y'}')")
    for q in ("SELECT * FROM fl WHERE v = 'x'", "SELECT * FROM fl WHERE c = 1",
              "SELECT * FROM fl WHERE k = 1 AND v = 'x'"):
        with pytest.raises(InvalidRequest) as e:
            s.execute(q)
        assert REQUIRES_FILTERING in str(e.value) and "code=2200" in str(e.value), q
    rows = s.execute("SELECT k, c FROM fl WHERE v = 'x' ALLOW FILTERING")
    assert sorted((r.k, r.c) for r in rows) == [(k, 1) for k in range(4)]
    rows = s.execute("SELECT k, c FROM fl WHERE c = 2 ALLOW FILTERING")
    assert sorted((r.k, r.c) for r in rows) == [(k, 2) for k in range(4)]
    rows = s.execute("SELECT c FROM fl WHERE k = 1 AND v = 'y' ALLOW FILTERING")
    assert [r.c for r in rows] == [0, 2]
    assert len(list(s.execute("SELECT * FROM fl WHERE v = 'y' LIMIT 3 ALLOW FILTERING"))) == 3
    assert s.execute("SELECT COUNT(*) FROM fl WHERE v = 'y' ALLOW FILTERING").one()[0] == 8


def test_alter_table(ks):
    s, _ = ks
    s.execute("CREATE TABLE alt (k int PRIMARY KEY, v text)")
    s.execute("INSERT INTO alt (k, v) VALUES (1, 'before')")
    star = s.prepare("SELECT * FROM alt WHERE k = ?")
    assert list(s.execute(star, [1]).one()._fields) == ["k", "v"]

    s.execute("ALTER TABLE alt ADD n int")
    s.execute("ALTER TABLE alt ADD (m map<text, int>, z text)")
    s.execute("INSERT INTO alt (k, v, n, m, z) VALUES (2, 'after', 5, {'a': 1}, 'zz')")
    rs = s.execute("SELECT * FROM alt WHERE k = 2")
    assert rs.column_names == ["k", "m", "n", "v", "z"]  # select order: by name
    row = rs.one()
    assert (row.v, row.n, row.m, row.z) == ("after", 5, {"a": 1}, "zz")
    assert s.execute("SELECT n FROM alt WHERE k = 1").one().n is None
    # The statement prepared before the ALTER now returns the new columns too (the store
    # forgets statements DDL made stale; the driver re-prepares on Unprepared).
    assert {"n", "m", "z"} <= set(s.execute(star, [2]).one()._fields)

    s.execute("ALTER TABLE alt DROP v")
    with pytest.raises(InvalidRequest, match="Undefined column name v"):
        s.execute("SELECT v FROM alt")
    assert "v" not in s.execute("SELECT * FROM alt WHERE k = 1").column_names
    # Re-adding a dropped column does not bring its old values back.
    s.execute("ALTER TABLE alt ADD v text")
    assert s.execute("SELECT v FROM alt WHERE k = 1").one().v is None
    s.execute("UPDATE alt SET v = 'new' WHERE k = 1")
    assert s.execute("SELECT v FROM alt WHERE k = 1").one().v == "new"
    s.execute("ALTER TABLE alt DROP (m, z)")
    assert sorted(s.execute("SELECT * FROM alt WHERE k = 2").column_names) == ["k", "n", "v"]


def test_truncate(ks):
    s, ksn = ks
    s.execute("CREATE TABLE tr (k int, c int, v text, PRIMARY KEY (k, c))")
    s.execute("CREATE TABLE other (k int PRIMARY KEY)")
    s.execute("INSERT INTO other (k) VALUES (1)")
    for k in range(20):
        s.execute(f"INSERT INTO tr (k, c, v) VALUES ({k}, 0, 'x')")
    s.execute("TRUNCATE tr")
    assert list(s.execute("SELECT * FROM tr")) == []
    assert s.execute("SELECT COUNT(*) FROM tr").one()[0] == 0
    assert list(s.execute("SELECT k FROM other")) == [(1,)], "TRUNCATE touched another table"
    s.execute("INSERT INTO tr (k, c, v) VALUES (1, 1, 'again')")
    assert list(s.execute("SELECT k, c, v FROM tr")) == [(1, 1, "again")]
    s.execute(f"TRUNCATE TABLE {ksn}.tr")
    assert list(s.execute("SELECT * FROM tr")) == []


def test_describe(ks):
    s, ksn = ks
    s.execute("CREATE TABLE t1 (k int, c text, v list<int>, s int STATIC, PRIMARY KEY ((k), c)) "
              "WITH CLUSTERING ORDER BY (c DESC)")
    s.execute("CREATE TABLE t2 (a int, b int, c int, d frozen<map<text, int>>, "
              "PRIMARY KEY ((a, b), c))")

    names = {(r.keyspace_name, r.name) for r in s.execute("DESCRIBE KEYSPACES")}
    assert (ksn, ksn) in names and ("system", "system") in names

    rows = list(s.execute(f"DESCRIBE KEYSPACE {ksn}"))
    assert [(r.keyspace_name, r.type, r.name) for r in rows] == [
        (ksn, "keyspace", ksn), (ksn, "table", "t1"), (ksn, "table", "t2")]
    assert rows[0].create_statement.startswith(f"CREATE KEYSPACE {ksn} WITH replication = ")
    assert "SimpleStrategy" in rows[0].create_statement

    tables = {(r.keyspace_name, r.name) for r in s.execute("DESCRIBE TABLES")}
    assert {(ksn, "t1"), (ksn, "t2")} <= tables

    for t in ("t1", "t2"):
        (row,) = list(s.execute(f"DESCRIBE TABLE {ksn}.{t}"))
        assert (row.keyspace_name, row.type, row.name) == (ksn, "table", t)
        stmt = row.create_statement
        assert stmt.startswith(f"CREATE TABLE {ksn}.{t} ("), stmt
        # The statement is CQL that recreates the same table.
        s.execute(f"DROP TABLE {t}")
        s.execute(stmt)
        (again,) = list(s.execute(f"DESCRIBE TABLE {ksn}.{t}"))
        assert again.create_statement == stmt
    one = s.execute(f"DESCRIBE TABLE {ksn}.t1").one().create_statement
    assert "CLUSTERING ORDER BY (c DESC)" in one and "s int static" in one
    assert "PRIMARY KEY ((a, b), c)" in s.execute("DESCRIBE TABLE t2").one().create_statement

    s.execute("INSERT INTO t1 (k, c, v) VALUES (1, 'a', [1])")
    s.execute("INSERT INTO t1 (k, c, v) VALUES (1, 'b', [2])")
    assert [r.c for r in s.execute("SELECT c FROM t1 WHERE k = 1")] == ["b", "a"]


def test_functions_and_tokens(ks):
    s, _ = ks
    s.execute("CREATE TABLE fn (k int PRIMARY KEY, tu timeuuid, u uuid, ts timestamp)")
    s.execute("INSERT INTO fn (k, tu, u, ts) VALUES (1, now(), uuid(), toTimestamp(now()))")
    row = s.execute("SELECT tu, u, ts FROM fn WHERE k = 1").one()
    assert row.tu.version == 1 and row.u.version == 4
    now = datetime.datetime.utcnow()
    assert abs((row.ts - now).total_seconds()) < 60
    assert abs(datetime.datetime(1582, 10, 15) + datetime.timedelta(microseconds=row.tu.time // 10)
               - now).total_seconds() < 60
    two = [r.tu for r in s.execute("SELECT now() AS tu FROM fn WHERE k = 1")]
    assert len(two) == 1 and two[0].version == 1 and two[0] != row.tu

    # token() is Murmur3 as Cassandra's Murmur3Partitioner computes it, and a full scan walks
    # partitions in token order.
    keys = list(range(-10, 30))
    for k in keys:
        s.execute(f"INSERT INTO fn (k) VALUES ({k})")
    rows = list(s.execute("SELECT k, token(k) AS t FROM fn"))
    assert sorted(r.k for r in rows) == sorted(keys)
    for r in rows:
        assert r.t == murmur3(struct.pack(">i", r.k)), f"token({r.k})"
    assert [r.t for r in rows] == sorted(r.t for r in rows), "full scan not in token order"
    t5 = murmur3(struct.pack(">i", 5))
    after = [r.k for r in s.execute("SELECT k FROM fn WHERE token(k) > token(5)")]
    assert after == [r.k for r in rows if r.t > t5]
    after = [r.k for r in s.execute(f"SELECT k FROM fn WHERE token(k) > {t5} AND token(k) <= "
                                    f"{rows[-1].t}")]
    assert after == [r.k for r in rows if r.t > t5]

    s.execute("CREATE TABLE fn2 (a text, b int, PRIMARY KEY ((a, b)))")
    s.execute("INSERT INTO fn2 (a, b) VALUES ('abc', 7)")
    comp = b"".join(struct.pack(">H", len(p)) + p + b"\0" for p in (b"abc", struct.pack(">i", 7)))
    assert s.execute("SELECT token(a, b) FROM fn2").one()[0] == murmur3(comp)
    s.execute("CREATE TABLE fn3 (a text PRIMARY KEY)")
    s.execute("INSERT INTO fn3 (a) VALUES ('sluice')")
    assert s.execute("SELECT token(a) FROM fn3").one()[0] == murmur3(b"sluice")


def test_select_star_column_order(ks):
    s, _ = ks
    s.execute("CREATE TABLE co (z int, a int, m text, y text, b int, x text, "
              "PRIMARY KEY ((z, a), m))")
    s.execute("INSERT INTO co (z, a, m, y, b, x) VALUES (1, 2, 'm', 'y', 3, 'x')")
    rs = s.execute("SELECT * FROM co")
    # Partition key in declared order, then clustering columns, then the rest by name.
    assert rs.column_names == ["z", "a", "m", "b", "x", "y"]
    assert rs.one() == (1, 2, "m", 3, "x", "y")
    rs = s.execute("SELECT y, z, b AS renamed FROM co")
    assert rs.column_names == ["y", "z", "renamed"] and rs.one() == ("y", 1, 3)


def test_schema_change_events(ks, store):
    s, ksn = ks
    other = cu.cluster(store)
    try:
        other.connect()
        md = other.metadata
        cu.wait_until(lambda: ksn in md.keyspaces, 10, "the other driver seeing the keyspace")

        with cu.RawConn(store) as raw:
            raw.register(["SCHEMA_CHANGE"])
            v0 = s.execute("SELECT schema_version FROM system.local").one()[0]
            s.execute("CREATE TABLE ev (k int, c text, v text, PRIMARY KEY (k, c))")
            v1 = s.execute("SELECT schema_version FROM system.local").one()[0]
            assert v0 != v1, "schema_version did not change after CREATE TABLE"

            ev = cu.Reader(raw.wait_event())
            assert ev.string() == "SCHEMA_CHANGE"
            assert cu.parse_change(ev) == ("CREATED", "TABLE", ksn, "ev")

            t = cu.wait_until(lambda: md.keyspaces[ksn].tables.get("ev"), 10,
                              "the other driver's metadata showing the new table")
            assert [c.name for c in t.partition_key] == ["k"]
            assert [c.name for c in t.clustering_key] == ["c"]
            assert {n: c.cql_type for n, c in t.columns.items()} == {"k": "int", "c": "text",
                                                                   "v": "text"}

            s.execute("ALTER TABLE ev ADD n bigint")
            ev = cu.Reader(raw.wait_event())
            assert ev.string() == "SCHEMA_CHANGE"
            assert cu.parse_change(ev) == ("UPDATED", "TABLE", ksn, "ev")
            cu.wait_until(lambda: "n" in md.keyspaces[ksn].tables["ev"].columns, 10,
                          "the other driver seeing the added column")
            assert md.keyspaces[ksn].tables["ev"].columns["n"].cql_type == "bigint"
            v2 = s.execute("SELECT schema_version FROM system.local").one()[0]
            assert v2 not in (v0, v1)

            s.execute("DROP TABLE ev")
            ev = cu.Reader(raw.wait_event())
            ev.string()
            assert cu.parse_change(ev) == ("DROPPED", "TABLE", ksn, "ev")
            cu.wait_until(lambda: "ev" not in md.keyspaces[ksn].tables, 10,
                          "the other driver seeing the table dropped")

            ks2 = ksn[:40] + "_two"
            s.execute(f"CREATE KEYSPACE {ks2} WITH replication = "
                      "{'class': 'SimpleStrategy', 'replication_factor': 1}")
            ev = cu.Reader(raw.wait_event())
            ev.string()
            assert cu.parse_change(ev) == ("CREATED", "KEYSPACE", ks2)
            cu.wait_until(lambda: ks2 in md.keyspaces, 10, "the other driver seeing the keyspace")
            s.execute(f"DROP KEYSPACE {ks2}")
            ev = cu.Reader(raw.wait_event())
            ev.string()
            assert cu.parse_change(ev) == ("DROPPED", "KEYSPACE", ks2)
            cu.wait_until(lambda: ks2 not in md.keyspaces, 10, "the keyspace dropped")
    finally:
        other.shutdown()
