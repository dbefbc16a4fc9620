"""sluice cql (the cqlsh-like shell over src/cql/client.c) against a real `sluice store`: the
seeds' check (SELECT * FROM spark_streams.created_users), statements over several lines on
stdin, DESCRIBE, cqlsh-style errors with exit status 2, failover when the first contact point is
dead, and transparent re-preparing after the store restarts. python3-cassandra reads back what
the shell wrote, so the client's encoding is checked by a third-party decoder."""

import os
import re
import select
import subprocess
import time
import uuid

import pytest

import sluice_harness as sh

SEED_DDL = (
    "CREATE KEYSPACE IF NOT EXISTS spark_streams WITH replication = "
    "{'class': 'SimpleStrategy', 'replication_factor': '1'};\n"
    "CREATE TABLE IF NOT EXISTS spark_streams.created_users (id UUID PRIMARY KEY, "
    "first_name TEXT, last_name TEXT, gender TEXT, address TEXT, post_code TEXT, email TEXT, "
    "username TEXT, dob TEXT, registered_date TEXT, phone TEXT, picture TEXT);\n"
)

USERS = [
    (uuid.UUID("5d5c2a1e-8b2f-4c1a-9d3e-111111111111"), "Emma", "Smith", "female",
     "12 Main Street, Springfield, Ohio, United States", "45001", "emma.smith@example.com"),
    (uuid.UUID("7e6f1b2c-3d4e-4f50-8a6b-222222222222"), "Liam", "Garcia", "male",
     "9 Elm Road, Leeds, West Yorkshire, United Kingdom", "LS1 4AP", "liam.garcia@example.com"),
]


def _store_available():
    r = subprocess.run([str(sh.sluice_bin()), "--help"], capture_output=True, text=True)
    return re.search(r"^\s+sluice store\b", r.stdout, re.M) is not None


pytestmark = pytest.mark.skipif(
    not sh.sluice_bin().is_file() or not _store_available(),
    reason="sluice store is not in this build yet (issue 4, cqlwire/cqlexec)")


def insert_sql(u):
    return ("INSERT INTO spark_streams.created_users (id, first_name, last_name, gender, "
            f"address, post_code, email) VALUES ({u[0]}, '{u[1]}', '{u[2]}', '{u[3]}', "
            f"'{u[4]}', '{u[5]}', '{u[6]}');")


@pytest.fixture
def store(sluice_proc):
    return sluice_proc("store")


def cql(run_sluice, store, *args, **kw):
    return run_sluice("cql", store.addr, *args, **kw)


def seed(run_sluice, store):
    r = cql(run_sluice, store, "-e", SEED_DDL + "\n".join(insert_sql(u) for u in USERS))
    assert r.returncode == 0, r.stderr


def test_seeds_query_prints_table(run_sluice, store):
    seed(run_sluice, store)
    r = cql(run_sluice, store, "-e", "SELECT * FROM spark_streams.created_users;")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\n")
    # cqlsh's layout: a blank line, the header, dashes joined by '+', the rows, a blank line,
    # then the count.
    assert lines[0] == ""
    header = lines[1]
    assert header.startswith(" id ")
    names = [c.strip() for c in header.split("|")]
    assert names[0] == "id" and "first_name" in names and "email" in names and "dob" in names
    assert re.fullmatch(r"-+(\+-+)+", lines[2]), lines[2]
    assert len(lines[2]) >= len(header)
    body = lines[3:5]
    for u in USERS:
        row = next(l for l in body if str(u[0]) in l)
        cells = [c.strip() for c in row.split("|")]
        assert cells[names.index("first_name")] == u[1]
        assert cells[names.index("email")] == u[6]
        assert cells[names.index("dob")] == "null"
    # Text is left-aligned: the cell starts right after the separator.
    assert re.search(r"\| Emma +\|", r.stdout) or re.search(r"\| Liam +\|", r.stdout)
    assert lines[5] == ""
    assert lines[6] == "(2 rows)"

    # What the shell wrote reads back through the Python driver.
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import Cluster

    cluster = Cluster(["127.0.0.1"], port=store.port,
                      auth_provider=PlainTextAuthProvider("cassandra", "cassandra"))
    try:
        s = cluster.connect()
        got = {r.id: r for r in s.execute("SELECT * FROM spark_streams.created_users")}
        assert set(got) == {u[0] for u in USERS}
        assert got[USERS[1][0]].address == USERS[1][4]
    finally:
        cluster.shutdown()


def test_multiline_statements_on_stdin(run_sluice, store):
    seed(run_sluice, store)
    script = ("USE spark_streams;\n"
              "SELECT first_name,\n"
              "       last_name   -- a comment; with a semicolon\n"
              "  FROM created_users\n"
              f" WHERE id = {USERS[0][0]};\n"
              "SELECT count(*) FROM created_users;\n")
    r = cql(run_sluice, store, input=script)
    assert r.returncode == 0, r.stderr
    assert " first_name | last_name" in r.stdout
    assert re.search(r"^ Emma +\| Smith$", r.stdout, re.M), r.stdout
    assert "(1 rows)" in r.stdout
    # count(*) is a number: right-aligned under its header.
    assert re.search(r"^ count\n-+\n +2\n", r.stdout, re.M), r.stdout


def test_describe_is_passed_to_the_server(run_sluice, store):
    seed(run_sluice, store)
    r = cql(run_sluice, store, "-e", "DESCRIBE KEYSPACE spark_streams")
    assert r.returncode == 0, r.stderr
    assert "CREATE KEYSPACE spark_streams" in r.stdout
    assert "CREATE TABLE spark_streams.created_users" in r.stdout
    r = cql(run_sluice, store, "-e", "DESCRIBE KEYSPACES;")
    assert r.returncode == 0, r.stderr
    assert "spark_streams" in r.stdout.split()
    r = cql(run_sluice, store, "-e", "DESC TABLE spark_streams.created_users;")
    assert "id uuid PRIMARY KEY" in r.stdout


def test_errors_print_like_cqlsh_and_exit_2(run_sluice, store):
    r = cql(run_sluice, store, "-e", "SELECT * FROM nope.nothing;")
    assert r.returncode == 2
    assert re.search(r'^<stdin>:1:InvalidRequest: Error from server: code=2200 \[Invalid query\] '
                     r'message=".+"$', r.stderr, re.M), r.stderr
    r = cql(run_sluice, store, "-e", "SELEC * FROM x;")
    assert r.returncode == 2
    assert "code=2000 [Syntax error in CQL query]" in r.stderr
    # A failing statement does not stop the ones after it.
    r = cql(run_sluice, store, input="SELECT * FROM nope.t;\nSELECT release_version FROM "
                                     "system.local;\n")
    assert r.returncode == 2
    assert "(1 rows)" in r.stdout
    r = run_sluice("cql", store.addr, "-u", "cassandra", "-p", "wrong", "-e", "SELECT 1")
    assert r.returncode == 1
    assert "Bad credentials" in r.stderr


def test_failover_when_first_contact_point_is_dead(run_sluice, store, free_port):
    dead = free_port()
    r = run_sluice("cql", f"127.0.0.1:{dead},{store.addr}", "-e",
                   "SELECT cluster_name FROM system.local;")
    assert r.returncode == 0, r.stderr
    assert "(1 rows)" in r.stdout
    r = run_sluice("cql", f"127.0.0.1:{dead}", "-e", "SELECT 1", "--connect-timeout", "2s")
    assert r.returncode == 1
    assert "Connection error" in r.stderr


def read_until(proc, pattern, timeout):
    """Reads the shell's stdout until a line matches pattern; returns what was read."""
    buf = ""
    deadline = time.monotonic() + sh.scaled(timeout)
    fd = proc.stdout.fileno()
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            chunk = os.read(fd, 65536).decode()
            if not chunk:
                break
            buf += chunk
            if re.search(pattern, buf, re.M):
                return buf
    raise AssertionError(f"no {pattern!r} in shell output:\n{buf}")


def test_prepared_statements_reprepare_after_store_restart(run_sluice, store):
    seed(run_sluice, store)
    env = dict(os.environ, SLUICE_LOG_LEVEL="debug")
    proc = subprocess.Popen([str(sh.sluice_bin()), "cql", store.addr, "--prepared"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    try:
        q = f"SELECT first_name FROM spark_streams.created_users WHERE id = {USERS[0][0]};\n"
        proc.stdin.write(q.encode())
        proc.stdin.flush()
        out = read_until(proc, r"^\(1 rows\)$", 10)
        assert " Emma" in out
        # The restarted store has forgotten every prepared id: the client reconnects, gets
        # Unprepared, prepares again and retries, and the shell never sees an error.
        store.restart()
        proc.stdin.write(q.encode())
        proc.stdin.flush()
        out = read_until(proc, r"^\(1 rows\)$", 20)
        assert " Emma" in out
        proc.stdin.close()
        assert proc.wait(sh.scaled(10)) == 0
        err = proc.stderr.read().decode()
        assert "re-preparing" in err and "after Unprepared" in err, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
