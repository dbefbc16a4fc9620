"""The console's Tables page API (issue 8) against a real `sluice store`, with data written and
read back by python3-cassandra: keyspaces, tables, columns (kind, type, position) and each user
table's row count; the CQL box running a statement and paging through 250 rows with the paging
state the previous page returned, cells as cqlsh shows them; DDL answered as a schema change;
a server error (syntax, unknown table) a 400 with cqlsh's wording; an unreachable store a 502;
bad bodies named 400s; the viewer role refused; the console serving on."""

import requests

import console_util as cu
import cql_util as cq


def setup_store(sluice_proc):
    store = sluice_proc("store")
    cl = cq.cluster(store)
    sess = cl.connect()
    cq.create_keyspace(sess, "shop")
    sess.execute("CREATE TABLE shop.items (cat text, id int, name text, price double, tags"
                 " set<text>, PRIMARY KEY (cat, id)) WITH CLUSTERING ORDER BY (id DESC)")
    ins = sess.prepare("INSERT INTO shop.items (cat, id, name, price, tags) VALUES (?,?,?,?,?)")
    for i in range(250):
        sess.execute(ins, ("a" if i % 2 else "b", i, f"item {i}", i * 1.5, {"x", f"t{i}"}))
    return store, cl, sess


def test_schema_and_query_paging(sluice_proc):
    store, cl, sess = setup_store(sluice_proc)
    try:
        con = cu.start(sluice_proc, args=["--cql", store.addr])
        s = cu.login(con)
        sch = s.get(cu.url(con, "/api/cql/schema")).json()
        ks = {k["name"]: k for k in sch["keyspaces"]}
        assert {"shop", "system", "system_schema"} <= set(ks)
        assert ks["shop"]["system"] is False and ks["system"]["system"] is True
        assert ks["shop"]["replication"]["replication_factor"] == "1"
        items = {t["name"]: t for t in ks["shop"]["tables"]}["items"]
        assert items["rows"] == 250
        cols = {c["name"]: c for c in items["columns"]}
        assert cols["cat"]["kind"] == "partition_key" and cols["id"]["kind"] == "clustering"
        assert cols["id"]["clustering_order"] == "desc" and cols["tags"]["type"] == "set<text>"
        assert cols["name"]["kind"] == "regular"

        seen, state, pages = [], None, 0
        while True:
            body = {"statement": "SELECT cat, id, name, price, tags FROM shop.items;",
                    "page_size": 100}
            if state:
                body["paging_state"] = state
            r = s.post(cu.url(con, "/api/cql/query"), json=body)
            assert r.status_code == 200, r.text
            j = r.json()
            pages += 1
            assert j["kind"] == "rows"
            assert [c["name"] for c in j["columns"]] == ["cat", "id", "name", "price", "tags"]
            assert [c["type"] for c in j["columns"]] == ["text", "int", "text", "double",
                                                         "set<text>"]
            assert len(j["rows"]) <= 100
            seen += j["rows"]
            state = j["paging_state"]
            if not state:
                break
        assert pages == 3 and len(seen) == 250
        assert sorted(int(r[1]) for r in seen) == list(range(250))
        row7 = next(r for r in seen if r[1] == "7")
        assert row7[0] == "a" and row7[2] == "item 7" and row7[3] == "10.5"
        assert row7[4] == "{'t7', 'x'}"

        r = s.post(cu.url(con, "/api/cql/query"),
                   json={"statement": "SELECT name FROM items WHERE cat = 'a' AND id = 7",
                         "keyspace": "shop"})
        assert r.json()["rows"] == [["item 7"]]
        r = s.post(cu.url(con, "/api/cql/query"),
                   json={"statement": "INSERT INTO shop.items (cat, id, name) VALUES ('c', 1000,"
                                      " 'from console')"})
        assert r.status_code == 200 and r.json()["kind"] == "void", r.text
        assert sess.execute("SELECT name FROM shop.items WHERE cat='c' AND id=1000").one().name \
            == "from console"
        r = s.post(cu.url(con, "/api/cql/query"),
                   json={"statement": "CREATE TABLE shop.more (k int PRIMARY KEY)"})
        assert r.json()["kind"] == "schema_change"
        assert r.json()["change"] == {"type": "CREATED", "target": "TABLE", "keyspace": "shop",
                                      "name": "more"}
        r = s.post(cu.url(con, "/api/cql/query"), json={"statement": "SELEC nothing"})
        assert r.status_code == 400 and "Syntax error" in r.json()["error"], r.text
        r = s.post(cu.url(con, "/api/cql/query"), json={"statement": "SELECT * FROM shop.nope"})
        assert r.status_code == 400 and "nope" in r.json()["error"], r.text

        bad = [
            ({}, "statement"), ({"statement": "  ; "}, "statement"),
            ({"statement": "SELECT 1", "page_size": 0}, "page_size"),
            ({"statement": "SELECT 1", "page_size": 5001}, "page_size"),
            ({"statement": "SELECT 1", "page_size": "10"}, "page_size"),
            ({"statement": "SELECT 1", "paging_state": "abc"}, "paging_state"),
            ({"statement": "SELECT 1", "paging_state": "zz"}, "paging_state"),
            ({"statement": "SELECT 1", "keyspace": ""}, "keyspace"),
            ({"statement": "x" * 70000}, "64 KiB"),
        ]
        for body, word in bad:
            r = s.post(cu.url(con, "/api/cql/query"), json=body)
            assert r.status_code == 400 and word in r.json()["error"], (body, r.text)
        r = s.post(cu.url(con, "/api/cql/query"), data=b"[1]",
                   headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and "JSON object" in r.json()["error"]

        pw = cu.add_user(con, "viewer1", role="viewer")
        v = cu.login(con, "viewer1", pw)
        assert v.get(cu.url(con, "/api/cql/schema")).status_code == 200
        r = v.post(cu.url(con, "/api/cql/query"), json={"statement": "TRUNCATE shop.items"})
        assert r.status_code == 403
        assert sess.execute("SELECT count(*) FROM shop.items").one()[0] == 251
    finally:
        cl.shutdown()


def test_store_unreachable_is_502(sluice_proc, free_port):
    con = cu.start(sluice_proc, args=["--cql", f"127.0.0.1:{free_port()}"])
    s = cu.login(con)
    r = s.get(cu.url(con, "/api/cql/schema"))
    assert r.status_code == 502 and r.json()["error"], r.text
    r = s.post(cu.url(con, "/api/cql/query"), json={"statement": "SELECT 1 FROM system.local"})
    assert r.status_code == 502
    assert requests.get(cu.url(con, "/api/session"), auth=("admin", con.admin_password)).ok
