"""Sensors against real peers, through `sluice dag test`: each condition once holding (after
some pokes, while the test makes it true) and once timing out within its timeout: a file
exists; a CQL table of `sluice store` has at least N rows; a consumer group's lag on a topic of
`sluice broker` is zero (records produced, then consumed and committed by
python3-confluent-kafka)."""

import threading
import time

from confluent_kafka import Consumer, Producer

import cql_util
import dagtest_util as dt
import pipeline_util as pu
import sluice_harness as sh
from cql_util import store  # noqa: F401  (module fixture)

HEAD = "dag_id: t\ntasks:\n"


def later(seconds, fn):
    t = threading.Timer(seconds, fn)
    t.start()
    return t


def timed(fn):
    t0 = time.monotonic()
    r = fn()
    return r, time.monotonic() - t0


def test_file_exists(tmp_path):
    f = tmp_path / "flag"
    t = later(1.0, lambda: f.write_text("x"))
    out = dt.ok(dt.dag_test(tmp_path, HEAD + f"""
  - task_id: w
    type: sensor
    condition: file_exists
    path: {f}
    poke_interval: 200ms
    timeout: 20s
""", "w"))
    t.join()
    assert "condition holds after" in out
    pokes = int(out.split("condition holds after ")[1].split()[0])
    assert pokes >= 3, out

    r, secs = timed(lambda: dt.dag_test(tmp_path, HEAD + f"""
  - task_id: w
    type: sensor
    condition: file_exists
    path: {tmp_path}/never
    poke_interval: 300ms
    timeout: 1500ms
""", "w"))
    dt.fails(r, "sensor: timed out after")
    assert 1.5 <= secs < sh.scaled(10)


def test_cql_rows(store, tmp_path):  # noqa: F811
    c = cql_util.cluster(store)
    s = c.connect()
    s.execute("CREATE KEYSPACE IF NOT EXISTS sensor_ks WITH replication = "
              "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    s.execute("CREATE TABLE IF NOT EXISTS sensor_ks.u (id int PRIMARY KEY, v text)")
    for i in range(3):
        s.execute("INSERT INTO sensor_ks.u (id, v) VALUES (%s, 'x')", (i,))
    url = f"cql://{cql_util.USER}:{cql_util.PASSWORD}@{store.addr}"

    def insert_more():
        for i in range(3, 10):
            s.execute("INSERT INTO sensor_ks.u (id, v) VALUES (%s, 'x')", (i,))

    t = later(1.0, insert_more)
    try:
        out = dt.ok(dt.dag_test(tmp_path, HEAD + f"""
  - task_id: w
    type: sensor
    condition: cql_rows
    conn: {url}
    table: sensor_ks.u
    min_rows: 10
    poke_interval: 250ms
    timeout: 30s
""", "w"))
        t.join()
        assert "sensor_ks.u has 3 rows (want 10)" in out
        assert "sensor_ks.u has 10 rows (want 10)" in out
        r, secs = timed(lambda: dt.dag_test(tmp_path, HEAD + f"""
  - task_id: w
    type: sensor
    condition: cql_rows
    conn: {url}
    table: sensor_ks.u
    min_rows: 11
    poke_interval: 300ms
    timeout: 1s
""", "w"))
        dt.fails(r, "sensor_ks.u has 10 rows (want 11)", "sensor: timed out after")
        assert 1.0 <= secs < sh.scaled(15)
    finally:
        t.join()
        c.shutdown()


def test_consumer_lag_zero(sluice_proc, tmp_path):
    broker = sluice_proc("broker")
    pu.create_topic(broker, "events", 2)
    p = Producer({"bootstrap.servers": broker.addr})
    for i in range(40):
        p.produce("events", key=str(i).encode(), value=b"v%d" % i)
    assert p.flush(sh.scaled(20)) == 0
    dag = HEAD + f"""
  - task_id: w
    type: sensor
    condition: consumer_lag_zero
    kafka: {broker.addr}
    group: readers
    topic: events
    poke_interval: 300ms
    timeout: %s
"""
    # nobody has consumed: the lag is 40 and the sensor times out
    r, secs = timed(lambda: dt.dag_test(tmp_path, dag % "1500ms", "w"))
    dt.fails(r, "sensor: group readers lag on events: 40", "sensor: timed out after")
    assert 1.5 <= secs < sh.scaled(20)

    def consume():
        c = Consumer({"bootstrap.servers": broker.addr, "group.id": "readers",
                      "auto.offset.reset": "earliest", "enable.auto.commit": False})
        c.subscribe(["events"])
        got = 0
        deadline = time.monotonic() + sh.scaled(30)
        while got < 40 and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and not m.error():
                got += 1
                if got in (20, 40):
                    c.commit(asynchronous=False)
        c.close()

    t = later(0.5, consume)
    out = dt.ok(dt.dag_test(tmp_path, dag % "60s", "w"))
    t.join()
    assert "sensor: group readers lag on events: 0" in out
