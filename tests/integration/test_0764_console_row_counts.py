"""The console counts a table's rows a page of 5000 at a time instead of with one
SELECT count(*), which sluice store answers in a single pass on its loop thread, stalling every
other client for about a second per 300k rows (a console refreshing its Overview froze the
`sluice up` store for seconds at a time). Against a real `sluice store` filled by
python3-cassandra with 100,050 rows: the Tables page's schema counts up to 100,000 and says
there are more ("rows_more"); the Overview and /metrics carry the exact count of --table; a
table of 3 rows in 2 partitions counts 3."""

import uuid

from cassandra.concurrent import execute_concurrent
from cassandra.query import BatchStatement, BatchType

import console_util as cu
import cql_util as cq
import sluice_harness as sh

BIG = 100050


def fill(sess, table, n):
    ins = sess.prepare(f"INSERT INTO {table} (id, name) VALUES (?, ?)")
    stmts = []
    for start in range(0, n, 100):
        b = BatchStatement(batch_type=BatchType.UNLOGGED)
        for i in range(start, min(n, start + 100)):
            b.add(ins, (uuid.uuid4(), f"user {i}"))
        stmts.append((b, ()))
    for r in execute_concurrent(sess, stmts, concurrency=8, raise_on_first_error=True):
        assert r.success


def test_row_counts_are_paged(sluice_proc):
    store = sluice_proc("store")
    cl = cq.cluster(store, timeout=30)
    sess = cl.connect()
    try:
        cq.create_keyspace(sess, "big")
        sess.execute("CREATE TABLE big.users (id uuid PRIMARY KEY, name text)")
        sess.execute("CREATE TABLE big.small (p int, c int, v text, PRIMARY KEY (p, c))")
        for p, c in ((1, 1), (1, 2), (2, 1)):
            sess.execute("INSERT INTO big.small (p, c, v) VALUES (%s, %s, 'x')", (p, c))
        fill(sess, "big.users", BIG)

        con = cu.start(sluice_proc, args=["--cql", store.addr, "--table", "big.users"])
        s = cu.login(con)
        sch = s.get(cu.url(con, "/api/cql/schema"), timeout=sh.scaled(60)).json()
        tables = {t["name"]: t for k in sch["keyspaces"] if k["name"] == "big"
                  for t in k["tables"]}
        assert tables["users"]["rows"] == 100000 and tables["users"]["rows_more"] is True
        assert tables["small"]["rows"] == 3 and "rows_more" not in tables["small"]

        def counted():
            o = s.get(cu.url(con, "/api/overview")).json()
            return o if o.get("table", {}).get("rows") == BIG else None
        o = sh.wait_until(counted, sh.scaled(30), what=f"the overview to count {BIG} rows")
        assert o["table"]["name"] == "big.users"
        metrics = s.get(cu.url(con, "/metrics")).text
        assert f"sluice_store_table_rows {BIG}\n" in metrics
    finally:
        cl.shutdown()
