"""Helpers for sluice process's integration tests (test_034x, test_035x): records in the seeds'
flattened shape, an idempotent python3-confluent-kafka producer that returns where each record
landed, and reading the table back with python3-cassandra."""

import json
import time
import uuid

import pipeline_util as pu
import sluice_harness as sh


def good_record(i):
    """(id, record) of a valid flattened user; post_code alternates int and string as
    randomuser's does across nationalities."""
    uid = str(uuid.uuid4())
    return uid, {
        "id": uid, "first_name": f"Ana{i}", "last_name": "Lima \u00e9\u6771", "gender": "female",
        "address": f"{i} Rua A, Recife, Pernambuco, Brazil",
        "post_code": i if i % 2 else f"{i:05d}-000",
        "email": f"ana{i}@example.com", "username": f"bluebird{i}",
        "dob": "1990-01-02T03:04:05.006Z", "registered_date": "2010-05-06T07:08:09.010Z",
        "phone": "(81) 1234-5678",
        "picture": f"https://randomuser.me/api/portraits/med/women/{i % 100}.jpg",
    }


def good_items(n, start=0):
    """n (key, value) pairs of good records, and {id: record}."""
    recs = dict(good_record(i) for i in range(start, start + n))
    return [(uid.encode(), json.dumps(r).encode()) for uid, r in recs.items()], recs


def produce(broker, items, topic=pu.TOPIC, timeout=60, conf=None):
    """Produces (key, value) pairs in order with an idempotent producer (conf: more librdkafka
    properties); returns the delivery reports {key: (partition, offset)}."""
    from confluent_kafka import Producer

    reports = {}
    p = Producer({"bootstrap.servers": broker.addr, "enable.idempotence": True,
                  "linger.ms": 5, "queue.buffering.max.messages": 500000, **(conf or {})})

    def dr(err, msg):
        assert err is None, f"delivery failed: {err}"
        reports[msg.key()] = (msg.partition(), msg.offset())

    for key, value in items:
        while True:
            try:
                p.produce(topic, key=key, value=value, on_delivery=dr)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    assert p.flush(sh.scaled(timeout)) == 0
    assert len(reports) == len(items)
    return reports


def read_rows(session, keyspace=pu.KEYSPACE, table=pu.TABLE, fields=pu.FIELDS):
    """{id: {field: value}} of every row, read with python3-cassandra."""
    from cassandra.query import SimpleStatement

    st = SimpleStatement(f"SELECT {', '.join(fields)} FROM {keyspace}.{table}",
                         fetch_size=5000)
    rows = {}
    for r in session.execute(st, timeout=sh.scaled(60)):
        # Whatever row factory the cluster's profile uses: tuples, named tuples or dicts.
        d = dict(r) if isinstance(r, dict) else dict(zip(fields, r))
        d[fields[0]] = str(d[fields[0]])
        assert d[fields[0]] not in rows, f"id {d[fields[0]]} read twice"
        rows[d[fields[0]]] = d
    return rows


def check_rows(rows, recs):
    """Exactly the records' ids are stored, each with the record's content."""
    assert len(rows) == len(recs), f"{len(rows)} rows, {len(recs)} records"
    assert set(rows) == set(recs), "stored ids differ from the produced ones"
    for uid, rec in recs.items():
        for f in pu.CONTENT:
            assert rows[uid][f] == pu.as_text(rec[f]), (uid, f, rows[uid][f], rec[f])


def check_table(store, recs):
    """Reads the store's table with python3-cassandra and checks it holds exactly recs."""
    cluster = pu.cql_cluster(store)
    try:
        check_rows(read_rows(cluster.connect()), recs)
    finally:
        cluster.shutdown()


def metric_lines(proc):
    """The periodic metrics lines of a process's log, as dicts of their key=value pairs."""
    out = []
    for line in proc.log_text().splitlines():
        if " process in=" not in line:
            continue
        kv = dict(w.split("=", 1) for w in line.split(" process ", 1)[1].split() if "=" in w)
        out.append(kv)
    return out


def wait_log_count(proc, text, n, timeout):
    """Waits until text appears at least n times in proc's log."""
    sh.wait_until(lambda: proc.log_text().count(text) >= n, sh.scaled(timeout),
                  what=f"{proc.name}: {n} x {text!r}")


def drained_counts(proc):
    """(in, out, invalid) of each 'drained:' line in proc's log."""
    res = []
    for line in proc.log_text().splitlines():
        if " drained: " in line:
            kv = dict(w.split("=", 1) for w in line.split(" drained: ", 1)[1].split())
            res.append((int(kv["in"]), int(kv["out"]), int(kv["invalid"])))
    return res


def now():
    return time.monotonic()
