"""sluice process's configuration (issue 5: "Configuration is a pipeline section in sluice.yaml:
source topic, format, schema, mapping, sink and batching. With no file, the seeds' pipeline is
the default"; ARCHITECTURE.md "Promises": a bad config gets a reason on stderr and exit 2):

- every kind of broken file is refused with exit 2 and file:line for each problem, before
  anything connects;
- a pipeline section with its own topic, group, schema and a mapping that renames, defaults,
  drops and concatenates writes the mapped columns into the table it creates, read back with
  python3-cassandra; flags override the file;
- --help lists every option with its default."""

import json
import uuid

import pipeline_util as pu
import process_util as xu
import sluice_harness as sh

BROKEN = [
    # (file text, expected line fragments)
    ("pipeline:\n  topic: t\n   batch_size: 5\n", ["cfg.yaml:3"]),
    ("pipeline:\n  topic: t\n  frobnicate: 1\n", ["cfg.yaml:3: pipeline.frobnicate"]),
    ("pipeline:\n  batch_size: lots\n  linger: forever\n",
     ["cfg.yaml:2: pipeline.batch_size", "cfg.yaml:3: pipeline.linger"]),
    ("pipeline:\n  batch_size: 0\n", ["cfg.yaml:2: pipeline.batch_size"]),
    ("pipeline:\n  format: xml\n", ["cfg.yaml:2: pipeline.format"]),
    ("pipeline:\n  schema:\n    id: uuid\n    age: integer\n",
     ["cfg.yaml:4: pipeline.schema.age: unknown type 'integer'"]),
    ("pipeline:\n  schema:\n    id: uuid\n  mapping:\n    drop: [nope]\n",
     ["cfg.yaml:5: pipeline.mapping.drop: 'nope' is not a field"]),
    ("pipeline:\n  mapping:\n    rename: {email: 'x; DROP TABLE t'}\n",
     ["cfg.yaml:3: pipeline: column name"]),
    ("pipeline:\n  mapping:\n    default: {id: nope}\n",
     ["cfg.yaml:3: pipeline.mapping.default.id: 'nope' is not a uuid"]),
    ("pipeline: [1, 2]\n", ["cfg.yaml:1: pipeline: expected a map"]),
]


def test_broken_config_exits_2_with_file_and_line(tmp_path, run_sluice):
    for text, wants in BROKEN:
        f = tmp_path / "cfg.yaml"
        f.write_text(text)
        # A port nothing listens on: a refused config must not try to connect anywhere.
        r = run_sluice("process", "--config", f, "--kafka", "127.0.0.1:1", timeout=10)
        assert r.returncode == 2, (text, r.returncode, r.stderr)
        for w in wants:
            assert str(tmp_path / w) in r.stderr or w in r.stderr, (text, w, r.stderr)
    r = run_sluice("process", "--config", tmp_path / "missing.yaml", timeout=10)
    assert r.returncode == 2 and "missing.yaml" in r.stderr, r.stderr
    r = run_sluice("process", "--sink", "mysql://x/y", timeout=10)
    assert r.returncode == 2 and "sink" in r.stderr, r.stderr
    r = run_sluice("process", "--no-such-flag", timeout=10)
    assert r.returncode == 2 and "no-such-flag" in r.stderr, r.stderr
    r = run_sluice("process", "--batch-size", "-3", timeout=10)
    assert r.returncode == 2 and "batch" in r.stderr, r.stderr


def test_help_lists_options_and_defaults(run_sluice):
    r = run_sluice("process", "--help", timeout=10)
    assert r.returncode == 0, r.stderr
    for opt, default in [("--topic", "users_created"), ("--group", "sluice-process"),
                         ("--batch-size", "5000"), ("--linger", "100ms"),
                         ("--max-inflight", "256"), ("--max-record-size", "1MiB"),
                         ("--sink", "spark_streams.created_users"), ("--metrics-listen", "")]:
        line = next((ln for ln in r.stdout.splitlines() if ln.strip().startswith(opt + " ")), None)
        assert line is not None and default in line, (opt, r.stdout)


CONFIG = """\
# A pipeline of its own: another topic, group and table, and a mapping.
pipeline:
  topic: people
  group: people-writers
  batch_size: 50
  linger: 20ms
  sink: cql://cassandra:cassandra@{store}/crm.people
  schema:
    id: uuid
    first_name: text
    last_name: {{type: text, required: false}}
    email: {{type: text, format: email}}
    age: int
    score: double
    vip: boolean
    seen_at: timestamp
    secret: text
    phone: text
  mapping:
    rename: {{id: person_id, vip: is_vip}}
    default: {{phone: unknown, age: 18}}
    drop: [secret]
    concat:
      full_name: {{fields: [first_name, last_name], separator: " "}}
"""


def test_pipeline_section_with_a_mapping(sluice_proc, tmp_path):
    _, broker, store = pu.start_stack(sluice_proc, api=False, topic="people", partitions=1)
    cfg = tmp_path / "sluice.yaml"
    cfg.write_text(CONFIG.format(store=store.addr))
    recs = []
    for i in range(120):
        r = {"id": str(uuid.uuid4()), "first_name": f"Ana{i}", "email": f"a{i}@x.org",
             "score": i / 4, "vip": i % 2 == 0, "seen_at": "2024-02-29T12:00:00.5Z",
             "secret": "hunter2"}
        if i % 3:
            r["last_name"] = "Lima"
        if i % 4:
            r["age"] = i
        if i % 5:
            r["phone"] = f"+55 {i}"
        recs.append(r)
    bad = {"id": str(uuid.uuid4()), "first_name": "X", "email": "x@y.z", "score": 1,
           "vip": "yes", "seen_at": 0, "secret": "s"}
    items = [(r["id"].encode(), json.dumps(r).encode()) for r in recs]
    items.append((b"bad", json.dumps(bad).encode()))
    xu.produce(broker, items, topic="people")
    # The flag wins over the file's batch_size; the file's topic, group and sink are used.
    proc = sluice_proc("process", listen=False,
                       args=["--config", cfg, "--kafka", broker.addr, "--batch-size", "7"])
    pu.wait_committed(broker, len(items), 60, procs=[proc], topic="people",
                      group="people-writers")
    assert proc.stop() == 0
    assert "dead letters to people.dlq" in proc.log_text()

    cluster = pu.cql_cluster(store)
    try:
        s = cluster.connect()
        cols = ["person_id", "first_name", "last_name", "email", "age", "score", "is_vip",
                "seen_at", "phone", "full_name"]
        rows = xu.read_rows(s, keyspace="crm", table="people", fields=cols)
        meta = {r[0]: r[1] for r in s.execute(
            "SELECT column_name, type FROM system_schema.columns "
            "WHERE keyspace_name = 'crm' AND table_name = 'people'")}
    finally:
        cluster.shutdown()
    assert meta == {"person_id": "uuid", "first_name": "text", "last_name": "text",
                    "email": "text", "age": "int", "score": "double", "is_vip": "boolean",
                    "seen_at": "timestamp", "phone": "text", "full_name": "text"}, meta
    assert len(rows) == len(recs)
    for r in recs:
        row = rows[r["id"]]
        assert row["first_name"] == r["first_name"]
        assert row["last_name"] == r.get("last_name")
        assert row["age"] == r.get("age", 18)
        assert row["score"] == r["score"]
        assert row["is_vip"] == r["vip"]
        assert row["seen_at"].isoformat().startswith("2024-02-29T12:00:00.5")
        assert row["phone"] == r.get("phone", "unknown")
        assert row["full_name"] == " ".join(filter(None, [r["first_name"], r.get("last_name")]))
    dlq = pu.consume_all(broker, "people.dlq")
    assert [(m.key, m.headers["error"]) for m in dlq] == [(b"bad", b"wrong_type")]
    assert b"vip" in dlq[0].headers["error.message"]
