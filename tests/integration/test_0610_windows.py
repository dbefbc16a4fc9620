"""sluice process's windowed aggregations (issue 10, "Windowed aggregations"), checked against
the same windows computed here in Python over the produced records:

- hopping windows (10 s every 5 s) over an event-time field, GROUP BY one field, with count,
  count(x), sum, min, max, avg and count_distinct (HyperLogLog: within its documented error);
  a watermark with 3 s allowed lateness; late records go to the DLQ as late_record; a record
  without an event time is counted and goes to the DLQ as missing_timestamp;
- tumbling windows over the Kafka record timestamp, GROUP BY two fields, late records counted;
- every result row is keyed by (group values, window start), and windows the watermark passed
  are marked closed;
- the window's configuration errors name file:line."""

import json
import random
import uuid

import pipeline_util as pu
import process_util as xu

T0 = 1_700_000_000_000  # ms, a multiple of 10 s

HOPPING = """\
pipeline:
  topic: ev
  group: ev-win
  batch_size: 50
  linger: 20ms
  state_dir: {state}
  sink: cql://cassandra:cassandra@{store}/win.events
  schema:
    id: uuid
    nat: {{type: text, required: false}}
    email: text
    age: int
    score: {{type: double, required: false}}
    ts: {{type: timestamp, required: false}}
  window:
    table: win.per_nat
    size: 10s
    hop: 5s
    time: ts
    lateness: 3s
    late: dlq
    group_by: [nat]
    aggregates:
      n: count()
      scored: count(score)
      age_sum: sum(age)
      score_min: min(score)
      score_max: max(score)
      age_avg: avg(age)
      emails: count_distinct(lower(email))
"""


def windows_of(ts, size, hop):
    last = ts // hop * hop
    return [s for s in range(last, ts - size, -hop)]


def simulate(events, size, hop, lateness):
    """Python's own windows: {(group, start): [values...]}, late keys, missing keys. events are
    (key, group, ts, values) in offset order."""
    wins, late, missing = {}, [], []
    max_ts = None
    for key, group, ts, vals in events:
        if ts is None:
            missing.append(key)
            continue
        wm = None if max_ts is None else max_ts - lateness
        opened = [s for s in windows_of(ts, size, hop) if wm is None or s + size > wm]
        if not opened:
            late.append(key)
        for s in opened:
            wins.setdefault((group, s), []).append(vals)
        max_ts = ts if max_ts is None else max(max_ts, ts)
    wm = max_ts - lateness
    closed = {k: k[1] + size <= wm for k in wins}
    return wins, closed, late, missing


def test_hopping_windows_against_python(sluice_proc, tmp_path):
    _, broker, store = pu.start_stack(sluice_proc, api=False, topic="ev", partitions=1)
    rnd = random.Random(10)
    nats = ["BR", "FR", "NO", None]
    recs, events = [], []
    t = T0
    for i in range(600):
        t += rnd.randint(0, 400)
        ts = t - rnd.choice([0, 0, 0, 1000, 2500, 9000])  # some disorder, some late
        r = {"id": str(uuid.uuid4()), "email": f"U{rnd.randint(0, 40)}@x.org",
             "age": rnd.randint(18, 90), "ts": ts}
        nat = rnd.choice(nats)
        if nat:
            r["nat"] = nat
        if i % 7:
            r["score"] = round(rnd.uniform(-5, 5), 3)
        if i in (100, 400):
            del r["ts"]
        recs.append(r)
    items = [(r["id"].encode(), json.dumps(r).encode()) for r in recs]
    xu.produce(broker, items, topic="ev")
    for r in recs:
        events.append((r["id"].encode(), r.get("nat"), r.get("ts"),
                       (r["age"], r.get("score"), r["email"].lower())))
    wins, closed, late, missing = simulate(events, 10_000, 5_000, 3_000)
    assert len(late) > 5 and len(missing) == 2

    cfg = tmp_path / "sluice.yaml"
    cfg.write_text(HOPPING.format(store=store.addr, state=tmp_path / "state"))
    proc = sluice_proc("process", listen=False,
                       args=["--config", cfg, "--kafka", broker.addr])
    pu.wait_committed(broker, len(items), 60, procs=[proc], topic="ev", group="ev-win")
    assert proc.stop() == 0

    cols = ["key", "nat", "window_start", "window_end", "n", "scored", "age_sum", "score_min",
            "score_max", "age_avg", "emails", "closed"]
    cluster = pu.cql_cluster(store)
    try:
        s = cluster.connect()
        rows = list(s.execute(f"SELECT {', '.join(cols)} FROM win.per_nat"))
        stored = sum(1 for _ in s.execute("SELECT id FROM win.events"))
    finally:
        cluster.shutdown()
    assert stored == len(recs) - len(late) - len(missing)
    got = {}
    for r in rows:
        d = dict(zip(cols, r))
        start = int(d["window_start"].timestamp() * 1000)
        assert int(d["window_end"].timestamp() * 1000) == start + 10_000
        nat = d["nat"]
        assert d["key"] == ("\\N" if nat is None else nat) + f"|{start}"
        got[(nat, start)] = d
    assert set(got) == set(wins)
    for k, vals in wins.items():
        d = got[k]
        scores = [v[1] for v in vals if v[1] is not None]
        ages = [v[0] for v in vals]
        assert d["n"] == len(vals), k
        assert d["scored"] == len(scores), k
        assert d["age_sum"] == sum(ages), k
        assert d["score_min"] == (min(scores) if scores else None), k
        assert d["score_max"] == (max(scores) if scores else None), k
        assert abs(d["age_avg"] - sum(ages) / len(ages)) < 1e-9, k
        exact = len({v[2] for v in vals})
        assert abs(d["emails"] - exact) <= max(1, 0.05 * exact), (k, d["emails"], exact)
        assert d["closed"] == closed[k], k
    assert any(closed.values()) and not all(closed.values())

    dlq = {m.key: m.headers for m in pu.consume_all(broker, "ev.dlq")}
    assert set(dlq) == set(late) | set(missing)
    for k in late:
        assert dlq[k]["error"] == b"late_record", dlq[k]
    for k in missing:
        assert dlq[k]["error"] == b"missing_timestamp", dlq[k]
        assert dlq[k]["error.message"] == b"window time: null"


TUMBLING = """\
pipeline:
  topic: kt
  group: kt-win
  batch_size: 30
  linger: 20ms
  state_dir: {state}
  sink: cql://cassandra:cassandra@{store}/win.kt
  schema:
    id: uuid
    nat: text
    gender: text
    age: int
  window:
    table: win.kt_per_minute
    size: 1m
    time: kafka
    lateness: 10s
    late: count
    group_by: {{nat: nat, is_adult: age >= 18}}
    aggregates:
      users: count()
      oldest: max(age)
"""


def test_tumbling_windows_on_kafka_time(sluice_proc, tmp_path, free_port):
    from confluent_kafka import Producer

    _, broker, store = pu.start_stack(sluice_proc, api=False, topic="kt", partitions=1)
    rnd = random.Random(11)
    p = Producer({"bootstrap.servers": broker.addr, "enable.idempotence": True, "linger.ms": 5})
    events = []
    t = T0
    for i in range(300):
        t += rnd.randint(0, 2000)
        ts = t - (70_000 if i % 50 == 49 else 0)  # a few late by more than a window
        r = {"id": str(uuid.uuid4()), "nat": rnd.choice(["BR", "FR"]), "gender": "x",
             "age": rnd.randint(10, 40)}
        p.produce("kt", key=r["id"].encode(), value=json.dumps(r).encode(), timestamp=ts)
        events.append((r["id"].encode(), (r["nat"], r["age"] >= 18), ts, r["age"]))
    assert p.flush(30) == 0
    wins, closed, late, _ = simulate(events, 60_000, 60_000, 10_000)
    assert len(late) >= 3

    cfg = tmp_path / "sluice.yaml"
    cfg.write_text(TUMBLING.format(store=store.addr, state=tmp_path / "state"))
    port = free_port()
    proc = sluice_proc("process", listen=False,
                       args=["--config", cfg, "--kafka", broker.addr,
                             "--metrics-listen", f"127.0.0.1:{port}"])
    pu.wait_committed(broker, len(events), 60, procs=[proc], topic="kt", group="kt-win")
    import urllib.request
    m = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics.json").read())
    assert m["late"] == len(late) and m["missing_timestamp"] == 0, m
    assert m["windows"] == sum(1 for c in closed.values() if not c), m
    assert m["window_bytes"] > 0
    assert proc.stop() == 0
    assert (tmp_path / "state" / "window-kt-win.state").stat().st_size > 0

    cluster = pu.cql_cluster(store)
    try:
        s = cluster.connect()
        rows = list(s.execute("SELECT nat, is_adult, window_start, users, oldest, closed "
                              "FROM win.kt_per_minute"))
        stored = sum(1 for _ in s.execute("SELECT id FROM win.kt"))
    finally:
        cluster.shutdown()
    assert stored == len(events)  # late records are counted, not refused
    got = {((r[0], r[1]), int(r[2].timestamp() * 1000)): r for r in rows}
    assert set(got) == set(wins)
    for k, ages in wins.items():
        assert got[k][3] == len(ages) and got[k][4] == max(ages), k
        assert got[k][5] == closed[k]


BROKEN = [
    ("pipeline:\n  state_dir: /tmp\n  window:\n    table: a.b\n    group_by: [nope]\n"
     "    aggregates: {n: count()}\n",
     ["cfg.yaml:5: pipeline.window.group_by.nope: column 1: unknown field 'nope'"]),
    ("pipeline:\n  state_dir: /tmp\n  window:\n    table: a.b\n    group_by: [gender]\n"
     "    aggregates: {n: median(x)}\n",
     ["cfg.yaml:6: pipeline.window.aggregates.n: expected count()"]),
    ("pipeline:\n  state_dir: /tmp\n  window:\n    table: a.b\n    group_by: [gender]\n"
     "    aggregates:\n      s: sum(email)\n",
     ["cfg.yaml:7: pipeline.window.aggregates.s: sum of text"]),
    ("pipeline:\n  state_dir: /tmp\n  window:\n    table: a.b\n    time: dob\n"
     "    group_by: [gender]\n    aggregates: {n: count()}\n",
     ["cfg.yaml:5: pipeline.window.time: the expression is text, not a timestamp"]),
    ("pipeline:\n  state_dir: /tmp\n  window:\n    table: a.b\n    size: 10s\n    hop: 3s\n"
     "    group_by: [gender]\n    aggregates: {n: count()}\n",
     ["cfg.yaml:6: pipeline.window.hop: must divide size"]),
    ("pipeline:\n  state_dir: /tmp\n  window:\n    table: a.b\n    late: drop\n"
     "    group_by: [gender]\n    aggregates: {n: count()}\n",
     ["cfg.yaml:5: pipeline.window.late"]),
    ("pipeline:\n  window:\n    table: a.b\n    group_by: [gender]\n    aggregates: {n: count()}\n",
     ["state_dir: a window needs a directory"]),
]


def test_window_config_errors(tmp_path, run_sluice):
    for text, wants in BROKEN:
        f = tmp_path / "cfg.yaml"
        f.write_text(text)
        r = run_sluice("process", "--config", f, "--kafka", "127.0.0.1:1", timeout=10)
        assert r.returncode == 2, (text, r.returncode, r.stderr)
        for w in wants:
            assert w in r.stderr, (text, w, r.stderr)
