"""The cql:// sink's UNLOGGED BATCHes (src/pipeline/sink_cql.c; issue 5's throughput goal): rows
go to `sluice store` in BATCH requests of up to batch_rows prepared upserts (URL parameter, default
32), a batch stops at 32 KiB of values and a larger row goes alone as an EXECUTE (Cassandra refuses
batches over its 50 KiB batch_size_fail_threshold), and batch_rows=1 sends one EXECUTE per row.

Which rows shared a request is visible through CQL: the store stamps every statement of one BATCH
with the batch's write time, and statements sent on their own each with their own, so
WRITETIME(first_name) groups the rows by request."""

import collections

import cql_util as cu
import sink_util as su
from cql_util import _attach_store_log, cql, store  # noqa: F401  (module fixtures)


def url(store, ks, params=""):
    return f"cql://{store.addr}/{ks}.created_users{params}"


def fresh_ks(request, cql):
    name = cu.ks_name(request)
    s = cql.connect()
    s.execute(f"DROP KEYSPACE IF EXISTS {name}")
    s.shutdown()
    return name


def writetimes(cql, ks):
    """{id: (WRITETIME(first_name), first_name, picture)} of every row."""
    s = cql.connect()
    try:
        return {str(r[0]): (r[1], r[2], r[3]) for r in s.execute(
            f"SELECT id, WRITETIME(first_name), first_name, picture FROM {ks}.created_users")}
    finally:
        s.shutdown()


def group_sizes(rows):
    """Sizes of the groups of rows sharing one write time, largest first."""
    return sorted(collections.Counter(wt for wt, _, _ in rows.values()).values(), reverse=True)


def test_rows_go_in_batches_of_batch_rows(request, store, cql):
    ks = fresh_ks(request, cql)
    rows = su.user_rows(1000)
    with su.SinkDriver(url(store, ks)) as d:
        assert d.ok, d.open_line
        assert d.write(rows) == "ok 1000"
        assert d.close() == 0
    got = writetimes(cql, ks)
    assert len(got) == 1000
    for r in rows:
        assert got[r[0]][1:] == (r[1], r[11]), r[0]
    sizes = group_sizes(got)
    # 1000 rows in requests of at most 32: 31 full ones and one of 8.
    assert max(sizes) == 32 and len(sizes) == 32 and sum(sizes) == 1000, sizes


def test_batch_rows_1_and_1000(request, store, cql):
    ks = fresh_ks(request, cql)
    rows = su.user_rows(300)
    with su.SinkDriver(url(store, ks, "?batch_rows=1")) as d:
        assert d.ok, d.open_line
        assert d.write(rows) == "ok 300"
    sizes = group_sizes(writetimes(cql, ks))
    # One EXECUTE per row: each its own write time (microseconds apart; allow a rare tie).
    assert len(sizes) >= 290, sizes[:5]

    ks2 = ks + "_b"
    s = cql.connect()
    s.execute(f"DROP KEYSPACE IF EXISTS {ks2}")
    s.shutdown()
    with su.SinkDriver(url(store, ks2, "?batch_rows=1000&consistency=ONE")) as d:
        assert d.ok, d.open_line
        assert d.write(rows) == "ok 300"
    sizes = group_sizes(writetimes(cql, ks2))
    # About 190 B of values a row: 300 rows exceed 32 KiB, so the requests split by size.
    values = [sum(len(v.encode()) for v in r[1:]) + 16 for r in rows]  # UTF-8 bytes
    fit = next(i for i in range(len(values) + 1) if i == len(values) or
               sum(values[:i + 1]) > 32 << 10)
    assert 100 < fit < 300
    assert sizes[0] == fit and sum(sizes) == 300, (sizes, fit)


def test_large_rows_go_alone(request, store, cql):
    ks = fresh_ks(request, cql)
    rows = su.user_rows(200)
    big = set()
    for i in range(5, 200, 20):  # every 20th row carries a 40 KiB picture URL
        rows[i][11] = "https://example.com/" + "p" * (40 << 10)
        big.add(rows[i][0])
    with su.SinkDriver(url(store, ks)) as d:
        assert d.ok, d.open_line
        assert d.write(rows) == "ok 200"
    got = writetimes(cql, ks)
    assert len(got) == 200
    for r in rows:
        assert got[r[0]][1:] == (r[1], r[11]), r[0]
    by_time = collections.Counter(wt for wt, _, _ in got.values())
    for i in big:
        assert by_time[got[i][0]] == 1, "a row over 32 KiB shared its request"
    # The 19 rows between two large ones share one request.
    assert max(by_time.values()) == 19 and len(by_time) == 10 + 11, sorted(by_time.values())


def test_bad_batch_rows_fails_the_open(request, store, cql):
    ks = fresh_ks(request, cql)
    for bad, shown in [("0", '"0"'), ("1001", '"1001"'), ("x", '"x"'), ("", '""')]:
        with su.SinkDriver(url(store, ks, f"?batch_rows={bad}")) as d:
            assert not d.ok
            assert d.open_line == (f"open error: cql sink: batch_rows {shown} must be 1..1000"), \
                d.open_line
