"""Helpers for the pipeline's end-to-end tests (test_038x, test_039x) and bench/bench_pipeline.py.

The oracle: format_data() below is a Python transcription of the seeds' format_data
(airscholar/e2e-data-engineering dags/kafka_stream.py, the DAG task of seed 000's pipeline; see
shared/notes/airflow-registry-console-stream-randomuser.md section 0 and ARCHITECTURE.md "The
data path"), written from the seed and not from sluice's C code. It keeps the seed's field order
and its values as they are (post_code stays an int or a string, as the API gave it) with the two
fixes sluice makes: id is the string form of a UUIDv4 (json.dumps fails on a uuid.UUID), and dob
is stored.

The rest starts the pipeline's components as managed SluiceProcess objects on random loopback
ports with fresh temp dirs (the conftest fixture sluice_proc does the same for tests), fetches
users from `sluice fake-api`, and reads what reached the broker and the store with third-party
clients (python3-confluent-kafka, python3-cassandra, python3-psycopg2)."""

import json
import re
import time
import urllib.parse
import uuid
from collections import Counter

import sluice_harness as sh

# The seeds' flattened record, in format_data's order.
FIELDS = ["id", "first_name", "last_name", "gender", "address", "post_code", "email", "username",
          "dob", "registered_date", "phone", "picture"]
# Every field but id, which ingest makes up: what a stored row is matched on.
CONTENT = FIELDS[1:]

TOPIC = "users_created"
DLQ = TOPIC + ".dlq"
KEYSPACE, TABLE = "spark_streams", "created_users"
GROUP = "sluice-process"
CQL_USER = CQL_PASSWORD = "cassandra"


def format_data(res, user_id=None):
    """The seeds' format_data(res): one raw randomuser.me user -> the flattened record. user_id
    defaults to a fresh uuid4, as in the seed; it is kept as its string form (sluice's fix)."""
    data = {}
    location = res['location']
    data['id'] = str(user_id if user_id is not None else uuid.uuid4())
    data['first_name'] = res['name']['first']
    data['last_name'] = res['name']['last']
    data['gender'] = res['gender']
    data['address'] = f"{str(location['street']['number'])} {location['street']['name']}, " \
                      f"{location['city']}, {location['state']}, {location['country']}"
    data['post_code'] = location['postcode']
    data['email'] = res['email']
    data['username'] = res['login']['username']
    data['dob'] = res['dob']['date']
    data['registered_date'] = res['registered']['date']
    data['phone'] = res['phone']
    data['picture'] = res['picture']['medium']
    return data


def as_text(v):
    """A flattened value as the table's text column holds it: every column but id is text, and a
    JSON number (post_code) keeps its JSON spelling, as Spark's from_json does for a StringType
    field."""
    if isinstance(v, str):
        return v
    return json.dumps(v)


def content_key(rec, exact=False):
    """The tuple a row or record is matched on: every field but id, as text; with exact, as JSON
    (so that the post_code 2000 and "2000" differ, as they must in a produced record)."""
    if exact:
        return tuple(json.dumps(rec[f]) for f in CONTENT)
    return tuple(v if type(v) is str else json.dumps(v) for v in map(rec.__getitem__, CONTENT))


def compare_content(expected, actual, what="rows", exact=False):
    """Asserts that two lists of records hold the same contents as multisets (id aside), with a
    readable message naming a few differences. exact: values compared as JSON (types too)."""
    e = Counter(content_key(r, exact) for r in expected)
    a = Counter(content_key(r, exact) for r in actual)
    if e == a:
        return
    missing, extra = e - a, a - e
    lines = [f"{what}: {len(actual)} found, {len(expected)} expected; "
             f"{sum(missing.values())} expected not found, {sum(extra.values())} unexpected"]
    for k in list(missing)[:3]:
        lines.append("  missing:    " + repr(dict(zip(CONTENT, k))))
    for k in list(extra)[:3]:
        lines.append("  unexpected: " + repr(dict(zip(CONTENT, k))))
    raise AssertionError("\n".join(lines))


UUID4_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def is_uuid4(s):
    """Whether s is the canonical lowercase text of an RFC 4122 version-4 UUID."""
    return isinstance(s, str) and UUID4_RE.fullmatch(s) is not None


# ---------------------------------------------------------------------------------------------
# fake-api


def source_url(api, seed, path="/api/"):
    """The URL ingest is given: fake-api with a seed, so that ingest pages through it (page=1,2,
    ...) reproducibly."""
    return f"http://{api.addr}{path}?" + urllib.parse.urlencode({"seed": seed})


def fetch_users(api, seed, count, batch, path="/api/", timeout=60):
    """The raw users a seeded `sluice ingest --count count --batch batch` reads: pages 1, 2, ...
    of results=batch with the same seed, cut at count."""
    import requests

    users = []
    page = 1
    http = requests.Session()
    while len(users) < count:
        r = http.get(f"http://{api.addr}{path}",
                         params={"seed": seed, "results": batch, "page": page},
                         timeout=sh.scaled(timeout))
        r.raise_for_status()
        body = json.loads(r.content)
        assert body["info"]["seed"] == seed and body["info"]["page"] == page, body["info"]
        assert len(body["results"]) == batch, f"page {page}: {len(body['results'])} users"
        users += body["results"]
        page += 1
    return users[:count]


def expected_records(api, seed, count, batch, **kw):
    """fetch_users flattened by the oracle (ids are placeholders: ingest makes its own)."""
    nil = str(uuid.UUID(int=0))
    return [format_data(u, nil) for u in fetch_users(api, seed, count, batch, **kw)]


# ---------------------------------------------------------------------------------------------
# Components


def start_stack(sluice_proc, *, partitions=1, store=True, api=True, broker_args=(),
                topic=TOPIC):
    """fake-api, broker (with topic made with `partitions` partitions) and store, each on a
    random port with a fresh data dir. Returns (api, broker, store); absent ones are None."""
    a = sluice_proc("fake-api") if api else None
    b = sluice_proc("broker", args=list(broker_args))
    if topic:
        create_topic(b, topic, partitions)
    s = sluice_proc("store") if store else None
    return a, b, s


def create_topic(broker, topic, partitions):
    r = sh.run_sluice("topic", "create", topic, "--partitions", partitions, "--kafka", broker.addr)
    assert r.returncode == 0, f"sluice topic create {topic}: {r.returncode}\n{r.stderr}"


def cql_sink(store, keyspace=KEYSPACE, table=TABLE):
    return f"cql://{CQL_USER}:{CQL_PASSWORD}@{store.addr}/{keyspace}.{table}"


def pg_sink(pg_db, table=None):
    return pg_db.url + (f"?table={table}" if table else "")


def run_ingest(api_or_url, broker, *, seed=None, count, batch=500, topic=TOPIC, args=(),
               timeout=120):
    """Runs `sluice ingest` to completion; returns the CompletedProcess (asserting exit 0)."""
    url = api_or_url if isinstance(api_or_url, str) else source_url(api_or_url, seed)
    r = sh.run_sluice("ingest", "--source", url, "--topic", topic, "--kafka", broker.addr,
                      "--count", count, "--batch", batch, *args, timeout=timeout)
    assert r.returncode == 0, f"sluice ingest exited {r.returncode}\n{sh.tail(r.stderr, 40)}"
    return r


def start_process(sluice_proc, broker, sink, *, args=(), name="process", **kw):
    """Starts `sluice process --kafka BROKER --sink SINK args` (it listens on nothing)."""
    return sluice_proc("process", listen=False, name=name,
                       args=["--kafka", broker.addr, "--sink", sink, *args], **kw)


# ---------------------------------------------------------------------------------------------
# Reading back


def cql_cluster(store, timeout=30):
    """A python3-cassandra Cluster for store whose rows are plain tuples (named tuples cost a
    third of the time of reading 200k rows)."""
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, ExecutionProfile
    from cassandra.policies import DCAwareRoundRobinPolicy
    from cassandra.query import tuple_factory

    import cql_util

    profile = ExecutionProfile(load_balancing_policy=DCAwareRoundRobinPolicy(local_dc=cql_util.DC),
                               request_timeout=sh.scaled(timeout), row_factory=tuple_factory)
    return cql_util.cluster(store, protocol_version=4, timeout=timeout,
                            execution_profiles={EXEC_PROFILE_DEFAULT: profile})


def read_rows_cql(session, keyspace=KEYSPACE, table=TABLE):
    """Every row of keyspace.table as dicts of the 12 fields (id as its string form)."""
    from cassandra.query import SimpleStatement

    st = SimpleStatement(f"SELECT {', '.join(FIELDS)} FROM {keyspace}.{table}", fetch_size=5000)
    rows = []
    for r in session.execute(st, timeout=sh.scaled(120)):
        r = dict(zip(FIELDS, r))
        r["id"] = str(r["id"])
        rows.append(r)
    return rows


def count_rows_cql(session, keyspace=KEYSPACE, table=TABLE):
    from cassandra.query import SimpleStatement

    st = SimpleStatement(f"SELECT id FROM {keyspace}.{table}", fetch_size=5000)
    try:
        return sum(1 for _ in session.execute(st, timeout=sh.scaled(60)))
    except Exception as e:  # the table may not exist yet
        if "unconfigured table" in str(e) or "does not exist" in str(e) or "Keyspace" in str(e):
            return 0
        raise


def wait_rows_cql(session, n, timeout, procs=(), keyspace=KEYSPACE, table=TABLE, interval=0.5):
    """Waits until the table holds at least n rows; fails early when a process in procs died.
    Returns the count."""
    deadline = time.monotonic() + sh.scaled(timeout)
    last = -1
    while True:
        for p in procs:
            assert p.running, f"{p.name} exited with status {p.returncode}\n" \
                              f"{sh.tail(p.log_text(), 30)}"
        last = count_rows_cql(session, keyspace, table)
        if last >= n:
            return last
        if time.monotonic() > deadline:
            raise TimeoutError(f"{keyspace}.{table}: {last} rows of {n} after "
                               f"{sh.scaled(timeout):.0f}s")
        time.sleep(interval)


def read_rows_pg(dsn, table=TABLE):
    import psycopg2

    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT {', '.join(FIELDS)} FROM {table}")
            return [dict(zip(FIELDS, (str(v) if v is not None else None for v in row)))
                    for row in cur.fetchall()]
    finally:
        conn.close()


def count_rows_pg(dsn, table=TABLE):
    import psycopg2

    conn = psycopg2.connect(dsn)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass(%s)", (table,))
            if cur.fetchone()[0] is None:
                return 0
            cur.execute(f"SELECT count(*) FROM {table}")
            return cur.fetchone()[0]
    finally:
        conn.close()


def wait_rows_pg(dsn, n, timeout, procs=(), table=TABLE, interval=0.5):
    deadline = time.monotonic() + sh.scaled(timeout)
    while True:
        for p in procs:
            assert p.running, f"{p.name} exited with status {p.returncode}\n" \
                              f"{sh.tail(p.log_text(), 30)}"
        last = count_rows_pg(dsn, table)
        if last >= n:
            return last
        if time.monotonic() > deadline:
            raise TimeoutError(f"{table}: {last} rows of {n} after {sh.scaled(timeout):.0f}s")
        time.sleep(interval)


class Message:
    __slots__ = ("partition", "offset", "key", "value", "headers", "timestamp", "_json")

    def __init__(self, m):
        self.partition, self.offset = m.partition(), m.offset()
        self.key, self.value = m.key(), m.value()
        self.headers = {k: v for k, v in (m.headers() or [])}
        self.timestamp = m.timestamp()[1]
        self._json = None

    def json(self):
        """The value parsed as JSON (parsed once)."""
        if self._json is None:
            self._json = json.loads(self.value)
        return self._json

    def __repr__(self):
        return f"<{self.partition}@{self.offset} key={self.key!r} {len(self.value or b'')} B>"


def consume_all(broker, topic, timeout=60):
    """Every message of every partition of topic, from the start, with python3-confluent-kafka
    (no group offsets used or committed)."""
    from confluent_kafka import Consumer, KafkaError, TopicPartition

    c = Consumer({"bootstrap.servers": broker.addr, "group.id": "pipetest-readback",
                  "enable.auto.commit": False, "enable.partition.eof": True})
    try:
        md = c.list_topics(topic, timeout=sh.scaled(10))
        parts = sorted(md.topics[topic].partitions)
        assert parts, f"topic {topic} has no partitions"
        ends = {}
        for p in parts:
            lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=sh.scaled(10))
            ends[p] = hi
        c.assign([TopicPartition(topic, p, 0) for p in parts])
        out = []
        done = {p for p in parts if ends[p] == 0}
        deadline = time.monotonic() + sh.scaled(timeout)
        while len(done) < len(parts):
            assert time.monotonic() < deadline, f"reading {topic} stalled; done {sorted(done)}"
            for m in c.consume(10000, 0.5):
                if m.error():
                    assert m.error().code() == KafkaError._PARTITION_EOF, m.error()
                    if m.offset() >= ends[m.partition()]:
                        done.add(m.partition())
                    continue
                out.append(Message(m))
                if m.offset() + 1 >= ends[m.partition()]:
                    done.add(m.partition())
        return out
    finally:
        c.close()


def committed_offsets(broker, topic, group=GROUP):
    """{partition: committed offset (or -1001 if none)} of group for topic."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": broker.addr, "group.id": group,
                  "enable.auto.commit": False})
    try:
        md = c.list_topics(topic, timeout=sh.scaled(10))
        tps = [TopicPartition(topic, p) for p in sorted(md.topics[topic].partitions)]
        return {tp.partition: tp.offset for tp in c.committed(tps, timeout=sh.scaled(10))}
    finally:
        c.close()


def check_topic_against_rows(msgs, rows):
    """The topic's keys are the records' ids, unique UUIDv4s, and exactly the ids of the rows;
    each row's content equals its record's (the oracle's flattening of the same user)."""
    by_id = {}
    for m in msgs:
        rec = m.json()
        assert m.key is not None and m.key.decode() == rec["id"], \
            f"key {m.key!r} is not the value's id {rec['id']!r} ({m})"
        assert is_uuid4(rec["id"]), f"id {rec['id']!r} is not a UUIDv4 ({m})"
        assert rec["id"] not in by_id, f"id {rec['id']} produced twice ({m})"
        by_id[rec["id"]] = rec
    row_ids = [r["id"] for r in rows]
    assert len(set(row_ids)) == len(row_ids), "duplicate ids among the rows"
    assert set(row_ids) == set(by_id), \
        f"{len(set(by_id) - set(row_ids))} ids in the topic not stored, " \
        f"{len(set(row_ids) - set(by_id))} stored ids not in the topic"
    for r in rows:
        rec = by_id[r["id"]]
        if content_key(r) != content_key(rec):
            for f in CONTENT:
                assert r[f] == as_text(rec[f]), \
                    f"row {r['id']} field {f}: stored {r[f]!r}, produced {rec[f]!r}"


def end_offsets(msgs):
    """{partition: offset after its last message} of messages read by consume_all."""
    ends = {}
    for m in msgs:
        ends[m.partition] = max(ends.get(m.partition, 0), m.offset + 1)
    return ends


def check_committed_at_end(broker, msgs, topic=TOPIC, group=GROUP):
    """The group's committed offset of every partition that holds messages is its end."""
    ends = end_offsets(msgs)
    committed = committed_offsets(broker, topic, group)
    got = {p: committed.get(p) for p in ends}
    assert got == ends, f"committed offsets {committed}, log ends {ends}"


def committed_total(broker, topic=TOPIC, group=GROUP):
    """Sum of the group's committed offsets over the topic's partitions (none counts 0)."""
    try:
        return sum(max(0, o) for o in committed_offsets(broker, topic, group).values())
    except Exception:  # the coordinator may be busy with a rebalance
        return -1


def wait_committed(broker, total, timeout, procs=(), topic=TOPIC, group=GROUP, interval=0.1):
    """Waits until the group has committed at least total records of topic; returns the sum."""
    deadline = time.monotonic() + sh.scaled(timeout)
    last = -1
    while True:
        for p in procs:
            assert p.running, f"{p.name} exited with status {p.returncode}\n" \
                              f"{sh.tail(p.log_text(), 30)}"
        last = committed_total(broker, topic, group)
        if last >= total:
            return last
        if time.monotonic() > deadline:
            raise TimeoutError(f"group {group} committed {last} of {total} records of {topic} "
                               f"after {sh.scaled(timeout):.0f}s")
        time.sleep(interval)


def start_ingest(sluice_proc, api, broker, *, seed, count, batch=500, topic=TOPIC, args=(),
                 name="ingest"):
    """Starts `sluice ingest` in the background (a managed process; .wait() for its status)."""
    return sluice_proc("ingest", listen=False, name=name,
                       args=["--source", source_url(api, seed), "--topic", topic, "--kafka",
                             broker.addr, "--count", count, "--batch", batch, *args])


def group_assignment(broker, group=GROUP, topic=TOPIC):
    """The group's state and its members' partitions of topic as python3-kafka's admin client
    reads them (DescribeGroups): (state, [sorted partitions per member])."""
    from kafka.admin import KafkaAdminClient

    ka = KafkaAdminClient(bootstrap_servers=broker.addr)
    try:
        [info] = ka.describe_consumer_groups([group])
        owned = []
        for m in info.members:
            ps = []
            for t, parts in (m.member_assignment.assignment if m.member_assignment else []):
                if t == topic:
                    ps += parts
            owned.append(sorted(ps))
        return info.state, sorted(owned)
    finally:
        ka.close()


def pg_table_counts(dsn):
    """{table: row count} of every table in the database's public schema."""
    import psycopg2

    conn = psycopg2.connect(dsn)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            out = {}
            for (t,) in cur.fetchall():
                cur.execute(f'SELECT count(*) FROM "{t}"')
                out[t] = cur.fetchone()[0]
            return out
    finally:
        conn.close()
