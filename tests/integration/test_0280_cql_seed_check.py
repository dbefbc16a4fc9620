"""The seeds' own check, in sluice (issue 4: "The seeds check their result with `docker exec -it
cassandra cqlsh` followed by `SELECT * FROM spark_streams.created_users;`").

The statements are spark_stream.py's as written (airscholar/e2e-data-engineering; see
shared/notes/airflow-registry-console-stream-randomuser.md): create_keyspace and create_table
through a bare `Cluster([host]).connect()` (the seeds' Cassandra runs without auth), then
insert_data's INSERT, which names a `dob` column the seeds' table lacks, so on Cassandra it fails
with "Undefined column name dob" (insert_data logs it and carries on); the Spark Cassandra
connector's prepared 11-column INSERT with quoted identifiers; then sluice's table, which adds
`dob`, after which insert_data works. The users are read back with the seeds' SELECTs through
python3-cassandra and through `sluice cql -e` (cqlsh's tabular output)."""

import re
import uuid

import pytest
from cassandra import InvalidRequest
from cassandra.cluster import Cluster

import cql_util as cu
import sluice_harness as sh

# spark_stream.py create_keyspace() and create_table(), byte for byte.
CREATE_KEYSPACE = """
        CREATE KEYSPACE IF NOT EXISTS spark_streams
        WITH replication = {'class': 'SimpleStrategy', 'replication_factor': '1'};
    """
CREATE_TABLE = """
    CREATE TABLE IF NOT EXISTS spark_streams.created_users (
        id UUID PRIMARY KEY,
        first_name TEXT,
        last_name TEXT,
        gender TEXT,
        address TEXT,
        post_code TEXT,
        email TEXT,
        username TEXT,
        registered_date TEXT,
        phone TEXT,
        picture TEXT);
    """
# insert_data(), with its trailing blank after "address,".
INSERT_DATA = """
            INSERT INTO spark_streams.created_users(id, first_name, last_name, gender, address, 
                post_code, email, username, dob, registered_date, phone, picture)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        """
SELECT_ALL = "SELECT * FROM spark_streams.created_users;"
SELECT_NAMES = "SELECT first_name, last_name FROM spark_streams.created_users;"

FIELDS = ["id", "first_name", "last_name", "gender", "address", "post_code", "email", "username",
          "dob", "registered_date", "phone", "picture"]
# cqlsh and SELECT * order: the partition key, then the other columns by name.
STAR_ORDER = ["id", "address", "dob", "email", "first_name", "gender", "last_name", "phone",
              "picture", "post_code", "registered_date", "username"]


def user(n, first, last, gender, city, post_code):
    """A user flattened the way the seeds' format_data() does it."""
    uname = f"{first.lower()}{last.lower()}{n}".replace("'", "").replace(" ", "")
    return {
        "id": uuid.uuid4(), "first_name": first, "last_name": last, "gender": gender,
        "address": f"{1000 + n} Main Street, {city}, State {n}, Country {n}",
        "post_code": str(post_code), "email": f"{uname}@example.com", "username": uname,
        "dob": f"19{60 + n}-03-1{n}T08:15:30.123Z",
        "registered_date": f"20{10 + n}-07-2{n}T11:22:33.456Z",
        "phone": f"(0{n}) 555-01{n:02d}",
        "picture": f"https://randomuser.me/api/portraits/med/{'women' if gender == 'female' else 'men'}/{n}.jpg",
    }


USERS = [user(1, "Zo\u00eb", "O'Connor", "female", "Dublin", "D02 X285"),
         user(2, "Mads", "\u00d8rsted", "male", "Aarhus", 8000),
         user(3, "Ana", "da Silva", "female", "S\u00e3o Paulo", "01310-100"),
         user(4, "Kenji", "Tanaka", "male", "Osaka", "530-0001")]


def insert_data(session, **kwargs):
    """spark_stream.py insert_data(): the same statement and parameters."""
    session.execute(INSERT_DATA, (kwargs.get("id"), kwargs.get("first_name"),
                                  kwargs.get("last_name"), kwargs.get("gender"),
                                  kwargs.get("address"), kwargs.get("post_code"),
                                  kwargs.get("email"), kwargs.get("username"), kwargs.get("dob"),
                                  kwargs.get("registered_date"), kwargs.get("phone"),
                                  kwargs.get("picture")))


def cqlsh_rows(stdout):
    """Parses cqlsh's tabular output: (header, [row cells], the "(N rows)" count)."""
    lines = [ln for ln in stdout.splitlines()]
    sep = [i for i, ln in enumerate(lines) if re.fullmatch(r"-+(\+-+)*", ln.strip())]
    assert sep, f"no header separator line in:\n{stdout}"
    i = sep[0]
    header = [h.strip() for h in lines[i - 1].split("|")]
    rows = []
    for ln in lines[i + 1:]:
        if not ln.strip():
            break
        rows.append([c.strip() for c in ln.split("|")])
    m = re.search(r"^\((\d+) rows?\)$", stdout, re.M)
    assert m, f"no '(N rows)' line in:\n{stdout}"
    return header, rows, int(m.group(1))


def check_shell_output(stdout, users):
    header, rows, count = cqlsh_rows(stdout)
    assert header == STAR_ORDER
    assert count == len(users) == len(rows)
    by_id = {r[0]: r for r in rows}
    for u in users:
        r = by_id.get(str(u["id"]))
        assert r is not None, f"user {u['id']} missing from:\n{stdout}"
        assert r == [str(u[c]) for c in STAR_ORDER]


def test_seed_statements_and_check(sluice_proc, run_sluice):
    store = sluice_proc("store", args=["--auth", "off"])
    # spark_stream.py create_cassandra_connection(): Cluster(['localhost']).connect()
    cluster = Cluster([store.host], port=store.port, connect_timeout=sh.scaled(5))
    try:
        session = cluster.connect()
        session.execute(CREATE_KEYSPACE)
        session.execute(CREATE_TABLE)
        session.execute(CREATE_KEYSPACE)  # the job runs them at every start
        session.execute(CREATE_TABLE)

        # As committed, insert_data names a column the table lacks.
        with pytest.raises(InvalidRequest, match="Undefined column name dob"):
            insert_data(session, **USERS[0])

        # The Spark Cassandra connector writes the DataFrame's 11 columns, prepared, quoted.
        cols = [f for f in FIELDS if f != "dob"]
        spark = session.prepare(
            'INSERT INTO "spark_streams"."created_users" ('
            + ", ".join(f'"{c}"' for c in cols) + ") VALUES (" + ", ".join("?" * len(cols)) + ")")
        for u in USERS[:2]:
            session.execute(spark, [u[c] for c in cols])
        rows = list(session.execute(SELECT_ALL))
        assert {r.id for r in rows} == {u["id"] for u in USERS[:2]}
        assert list(rows[0]._fields) == [c for c in STAR_ORDER if c != "dob"]

        # sluice's table stores dob too; with it the seeds' insert_data works as intended.
        session.execute("ALTER TABLE spark_streams.created_users ADD dob TEXT")
        for u in USERS:
            insert_data(session, **u)

        rs = session.execute(SELECT_ALL)
        assert rs.column_names == STAR_ORDER
        got = {r.id: r._asdict() for r in rs}
        assert got == {u["id"]: u for u in USERS}
        names = sorted((r.first_name, r.last_name) for r in session.execute(SELECT_NAMES))
        assert names == sorted((u["first_name"], u["last_name"]) for u in USERS)
    finally:
        cluster.shutdown()

    # `docker exec -it cassandra cqlsh` + the SELECT, sluice's way.
    r = run_sluice("cql", store.addr, "-e", SELECT_ALL, timeout=30)
    assert r.returncode == 0, f"sluice cql failed ({r.returncode}):\n{r.stdout}{r.stderr}"
    check_shell_output(r.stdout, USERS)
    r = run_sluice("cql", store.addr, "-e", SELECT_NAMES, timeout=30)
    assert r.returncode == 0, r.stderr
    header, rows, count = cqlsh_rows(r.stdout)
    assert header == ["first_name", "last_name"] and count == len(USERS)
    assert sorted(map(tuple, rows)) == sorted((u["first_name"], u["last_name"]) for u in USERS)

    # The data is on disk: after a restart (and a kill -9) the check still shows every user.
    store.restart()
    store.crash_restart()
    r = run_sluice("cql", store.addr, "-e", SELECT_ALL, timeout=30)
    assert r.returncode == 0, r.stderr
    check_shell_output(r.stdout, USERS)


def test_seed_check_with_auth(sluice_proc, run_sluice):
    """The same check against a store with auth on (the default): the driver with
    PlainTextAuthProvider, `sluice cql -u cassandra -p cassandra -e`, and a wrong password
    refused by both."""
    store = sluice_proc("store")
    c = cu.cluster(store)
    try:
        s = c.connect()
        s.execute(CREATE_KEYSPACE)
        s.execute(CREATE_TABLE)
        s.execute("ALTER TABLE spark_streams.created_users ADD dob TEXT")
        for u in USERS:
            insert_data(s, **u)
        assert {r.id for r in s.execute(SELECT_ALL)} == {u["id"] for u in USERS}
    finally:
        c.shutdown()

    r = run_sluice("cql", store.addr, "-u", cu.USER, "-p", cu.PASSWORD, "-e", SELECT_ALL)
    assert r.returncode == 0, f"sluice cql failed ({r.returncode}):\n{r.stdout}{r.stderr}"
    check_shell_output(r.stdout, USERS)

    r = run_sluice("cql", store.addr, "-u", cu.USER, "-p", "wrong", "-e", SELECT_ALL)
    assert r.returncode != 0 and "(0 rows)" not in r.stdout
    from cassandra.cluster import NoHostAvailable
    bad = cu.cluster(store, password="wrong", protocol_version=4)
    try:
        with pytest.raises(NoHostAvailable, match="Bad credentials|AuthenticationFailed|"
                                                  "[Uu]sername and/or password"):
            bad.connect()
    finally:
        bad.shutdown()
