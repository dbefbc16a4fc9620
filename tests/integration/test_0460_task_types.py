"""Each task type against a real peer, run through `sluice dag test` (sl_task_run in the CLI's
process): shell (env, cwd, stdout and stderr captured, exit status), http against `sluice
fake-api` (expected status, a wrong one), sql against a real PostgreSQL, an SQLite file and
`sluice store` over cql://, ingest into `sluice broker` with the records read back by
python3-confluent-kafka, and the DAG load errors of bad task fields with file:line."""

import http.server
import json
import sqlite3
import threading
import time

import psycopg2

import cql_util
import dagtest_util as dt
import ingest_util as iu
import pipeline_util as pu
import sluice_harness as sh
from cql_util import store  # noqa: F401  (module fixture)

HEAD = "dag_id: t\nparams: {who: world}\ntasks:\n"


def test_shell(tmp_path):
    (tmp_path / "wd").mkdir()
    out = dt.ok(dt.dag_test(tmp_path, HEAD + """
  - task_id: s
    type: shell
    command: 'echo "$GREETING {{ params.who }}"; echo to-stderr >&2; pwd; echo made > here'
    env: {GREETING: "hi {{ ds }}"}
    cwd: %s
""" % (tmp_path / "wd"), "s", "--date", "2024-03-05", "--conf", '{"who": "conf"}'))
    assert "hi 2024-03-05 conf\n" in out
    assert "to-stderr\n" in out
    assert f"\n{tmp_path / 'wd'}\n" in out
    assert (tmp_path / "wd" / "here").read_text() == "made\n"
    dt.fails(dt.dag_test(tmp_path, HEAD + "  - task_id: s\n    type: shell\n    command: exit 4\n",
                         "s"), "exited with status 4")


def test_http(sluice_proc, tmp_path):
    api = sluice_proc("fake-api")
    base = f"http://{api.addr}"
    out = dt.ok(dt.dag_test(tmp_path, HEAD + f"""
  - task_id: h
    type: http
    url: "{base}/api/?results=2&seed={{{{ ds_nodash }}}}"
    headers: {{Accept: application/json}}
""", "h", "--date", "2024-03-05"))
    assert "http: status 200" in out
    assert f"GET {base}/api/?results=2&seed=20240305" in out
    dt.ok(dt.dag_test(tmp_path, HEAD + f"""
  - task_id: h
    type: http
    url: {base}/nothing-here
    expected_status: "404, 410"
""", "h"))
    dt.fails(dt.dag_test(tmp_path, HEAD + f"""
  - task_id: h
    type: http
    method: POST
    url: {base}/api/
    body: '{{"a": 1}}'
    expected_status: "201"
""", "h"), "expected 201")


def test_http_sends_method_headers_and_body(tmp_path):
    """What an http task sends, as a peer receives it: the method, the templated URL, headers
    and body; the peer's 201 is the expected status."""
    got = []

    class Peer(http.server.BaseHTTPRequestHandler):
        def do_PUT(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            got.append((self.command, self.path, self.headers.get("X-Who"), body))
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Peer)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        out = dt.ok(dt.dag_test(tmp_path, HEAD + f"""
  - task_id: h
    type: http
    method: PUT
    url: "http://127.0.0.1:{srv.server_port}/items/{{{{ ds_nodash }}}}"
    headers: {{X-Who: "{{{{ params.who }}}}"}}
    body: '{{"ds": "{{{{ ds }}}}", "who": "{{{{ params.who }}}}"}}'
    expected_status: "201"
""", "h", "--date", "2024-03-05"))
    finally:
        srv.shutdown()
        srv.server_close()
    assert "http: status 201" in out
    assert got == [("PUT", "/items/20240305", "world",
                    b'{"ds": "2024-03-05", "who": "world"}')], got


def test_sql_postgresql(pg_db, tmp_path):
    dt.ok(dt.dag_test(tmp_path, HEAD + f"""
  - task_id: q
    type: sql
    conn: {pg_db.url}
    sql: "CREATE TABLE runs (ds date, who text); INSERT INTO runs VALUES ('{{{{ ds }}}}', '{{{{ params.who }}}}')"
""", "q", "--date", "2024-03-05"))
    with psycopg2.connect(pg_db.dsn) as c, c.cursor() as cur:
        cur.execute("SELECT ds::text, who FROM runs")
        assert cur.fetchall() == [("2024-03-05", "world")]
    out = dt.ok(dt.dag_test(tmp_path, HEAD + f"""
  - task_id: q
    type: sql
    conn: {pg_db.url}
    sql: SELECT who FROM runs
""", "q"))
    assert "\nworld\n" in out and "sql: done, 1 rows" in out
    out = dt.fails(dt.dag_test(tmp_path, HEAD + f"""
  - task_id: q
    type: sql
    conn: {pg_db.url}
    sql: SELECT * FROM no_such_table
""", "q"), "no_such_table")
    assert pg_db.url.split("@")[0] not in out or "://" not in pg_db.url.split("@")[0]


def test_sql_sqlite(tmp_path):
    db = tmp_path / "x.db"
    dt.ok(dt.dag_test(tmp_path, HEAD + f"""
  - task_id: q
    type: sql
    conn: sqlite:{db}
    sql: "CREATE TABLE t (run text); INSERT INTO t VALUES ('{{{{ run_id }}}}')"
""", "q"))
    rows = sqlite3.connect(str(db)).execute("SELECT run FROM t").fetchall()
    assert len(rows) == 1 and rows[0][0].startswith("test__")


def test_sql_cql(store, tmp_path):  # noqa: F811
    url = f"cql://{cql_util.USER}:{cql_util.PASSWORD}@{store.addr}"
    dt.ok(dt.dag_test(tmp_path, HEAD + f"""
  - task_id: q
    type: sql
    conn: {url}
    sql: "CREATE KEYSPACE IF NOT EXISTS tasks_ks WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
""", "q"))
    dt.ok(dt.dag_test(tmp_path, HEAD + f"""
  - task_id: q
    type: sql
    conn: {url}/tasks_ks
    sql: CREATE TABLE IF NOT EXISTS r (id int PRIMARY KEY, who text)
""", "q"))
    dt.ok(dt.dag_test(tmp_path, HEAD + f"""
  - task_id: q
    type: sql
    conn: {url}/tasks_ks
    sql: "INSERT INTO r (id, who) VALUES (1, '{{{{ params.who }}}}')"
""", "q"))
    c = cql_util.cluster(store)
    try:
        rows = list(c.connect().execute("SELECT id, who FROM tasks_ks.r"))
    finally:
        c.shutdown()
    assert [(r[0], r[1]) for r in rows] == [(1, "world")]
    out = dt.fails(dt.dag_test(tmp_path, HEAD + f"""
  - task_id: q
    type: sql
    conn: {url}/tasks_ks
    sql: SELECT nope FROM r
""", "q"), "sql: ")
    assert cql_util.PASSWORD + "@" not in out


def test_ingest(sluice_proc, tmp_path):
    api, broker, _ = pu.start_stack(sluice_proc, store=False)
    out = dt.ok(dt.dag_test(tmp_path, HEAD + f"""
  - task_id: i
    type: ingest
    source: http://{api.addr}/api/?seed=tasks
    kafka: {broker.addr}
    count: 120
    batch: 50
""", "i"))
    assert "120 records delivered" in out
    msgs = iu.consume_all(broker)
    assert len(msgs) == 120
    for _, _, k, v in msgs:
        iu.check_record(k, v)


def test_ingest_retry_fields(sluice_proc, tmp_path):
    """The ingest task takes `sluice ingest`'s retry settings: api_retries (its --retries; the
    task's own `retries` are the scheduler's), backoff, backoff_max and delivery_timeout. Against
    an API port nothing listens on, two retries with a 1 s backoff take at least 1 s (each wait
    is between half the backoff and all of it); with 10 ms, well under that. A broker that cannot
    be reached fails the run within delivery_timeout."""
    _, broker, _ = pu.start_stack(sluice_proc, store=False)
    port = sh.free_port()

    def run(backoff, kafka=broker.addr, timeout="30s"):
        t0 = time.monotonic()
        out = dt.fails(dt.dag_test(tmp_path, HEAD + f"""
  - task_id: i
    type: ingest
    source: http://127.0.0.1:{port}/api/
    kafka: {kafka}
    count: 10
    api_retries: 2
    backoff: {backoff}
    backoff_max: {backoff}
    delivery_timeout: {timeout}
""", "i"))
        return time.monotonic() - t0, out

    slow, out = run("1s")
    assert slow >= 1.0, (slow, out)
    fast, out = run("10ms")
    assert fast < slow - 0.5, (fast, slow, out)
    _, out = run("10ms", kafka=f"127.0.0.1:{sh.free_port()}", timeout="1500ms")
    assert "within 1.5 s" in out, out
    r = dt.dag_test(tmp_path, HEAD + "  - task_id: i\n    type: ingest\n    backoff: soon\n", "i",
                    name="badfield.yaml")
    assert r.returncode != 0 and "badfield.yaml:" in r.stdout + r.stderr, r


def test_bad_fields_name_file_line(tmp_path):
    r = dt.dag_test(tmp_path, HEAD + """
  - task_id: s
    type: shell
  - task_id: h
    type: http
    url: http://x/
    expected_status: often
  - task_id: z
    type: sensor
    condition: file_exists
    path: /x
    colour: red
""", "s", name="bad.yaml")
    assert r.returncode == 1
    err = r.stderr
    assert "bad.yaml:5: task s: a shell task needs command" in err, err
    assert "bad.yaml:10: task h: expected_status: \"often\" is not a status" in err, err
    assert "bad.yaml:15: task z: colour: unknown field of a sensor task" in err, err
