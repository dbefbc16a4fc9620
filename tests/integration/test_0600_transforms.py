"""sluice process's transforms (issue 10, "Transforms"): derive, filter and rules from the
pipeline section, applied between the schema and the sink.

- Every derived column (sha256 of a lower-cased email, split_part, parse_ts, age, substring,
  upper/trim/concat, json_path into a member the schema does not declare) is checked row by row
  against the same function computed here in Python (hashlib, datetime, json) over the produced
  records; the filter keeps exactly the records Python's version of it keeps.
- A record failing a rule is in the DLQ with error=rule_failed and the rule's name in the `rule`
  header; a run-time error (a date that does not parse, a post code that is not a number) sends
  the record to the DLQ with its reason (invalid_timestamp, type_error) and the others go on.
- An invalid expression is a config error naming file:line, exit 2, before anything connects."""

import datetime
import hashlib
import json
import uuid

import pipeline_util as pu
import process_util as xu

CONFIG = """\
pipeline:
  topic: people
  group: people-tx
  batch_size: 40
  linger: 20ms
  sink: cql://cassandra:cassandra@{store}/crm.people_tx
  derive:
    email_hash: sha256(lower(email))
    country: split_part(address, ', ', -1)
    born: parse_ts(dob)
    age_years: age(dob, '2026-01-01')
    initials: concat(upper(substring(first_name, 1, 1)), upper(substring(trim(last_name), 1, 1)))
    tag: json_path('$.meta.tags[1]')
    zip_next: post_code + 1
  filter: gender = 'female' or country in ('France', 'Norway')
  rules:
    adult: age_years >= 18
    example_email: lower(email) matches '@example\\.(com|org)$'
"""

COUNTRIES = ["Brazil", "France", "Norway", "Turkey"]


def record(i):
    uid = str(uuid.uuid4())
    year = 1950 + i % 70  # some are minors in 2026
    return {
        "id": uid, "first_name": f"ana{i}", "last_name": f"  lima{i % 7} ",
        "gender": "female" if i % 3 else "male",
        "address": f"{i} Rua A, Recife, PE, {COUNTRIES[i % 4]}",
        "post_code": 10000 + i,
        "email": f"Ana.{i}@EXAMPLE.{'com' if i % 11 else 'net'}",
        "username": f"u{i}", "dob": f"{year}-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00.000Z",
        "registered_date": "2010-05-06T07:08:09.010Z", "phone": "1", "picture": "p",
        "meta": {"tags": ["x", f"t{i}"], "n": i},
    }


def years(born, at):
    return at.year - born.year - ((at.month, at.day) < (born.month, born.day))


def expected(r):
    """(verdict, derived columns): the transforms redone in Python."""
    born = datetime.datetime.fromisoformat(r["dob"].replace("Z", "+00:00"))
    d = {
        "email_hash": hashlib.sha256(r["email"].lower().encode()).hexdigest(),
        "country": r["address"].rsplit(", ", 1)[-1],
        "born": born,
        "age_years": years(born.date(), datetime.date(2026, 1, 1)),
        "initials": (r["first_name"][:1] + r["last_name"].strip()[:1]).upper(),
        "tag": r["meta"]["tags"][1],
        "zip_next": r["post_code"] + 1,
    }
    if not (r["gender"] == "female" or d["country"] in ("France", "Norway")):
        return "dropped", d
    if d["age_years"] < 18:
        return "adult", d
    if not r["email"].lower().endswith(("@example.com", "@example.org")):
        return "example_email", d
    return "stored", d


def test_derive_filter_rules_against_python(sluice_proc, tmp_path):
    _, broker, store = pu.start_stack(sluice_proc, api=False, topic="people", partitions=1)
    cfg = tmp_path / "sluice.yaml"
    cfg.write_text(CONFIG.format(store=store.addr))
    recs = [record(i) for i in range(300)]
    bad_date = dict(record(1000), dob="not a date", gender="female")
    bad_zip = dict(record(1001), post_code="AB-12", gender="female")
    items = [(r["id"].encode(), json.dumps(r).encode()) for r in recs]
    items += [(b"bad_date", json.dumps(bad_date).encode()),
              (b"bad_zip", json.dumps(bad_zip).encode())]
    xu.produce(broker, items, topic="people")
    proc = sluice_proc("process", listen=False, args=["--config", cfg, "--kafka", broker.addr])
    pu.wait_committed(broker, len(items), 60, procs=[proc], topic="people", group="people-tx")
    assert proc.stop() == 0

    verdicts = {r["id"]: expected(r) for r in recs}
    want_stored = {k: d for k, (v, d) in verdicts.items() if v == "stored"}
    assert 50 < len(want_stored) < 250

    cols = ["id", "email_hash", "country", "born", "age_years", "initials", "tag", "zip_next",
            "first_name"]
    cluster = pu.cql_cluster(store)
    try:
        s = cluster.connect()
        rows = xu.read_rows(s, keyspace="crm", table="people_tx", fields=cols)
        meta = {r[0]: r[1] for r in s.execute(
            "SELECT column_name, type FROM system_schema.columns "
            "WHERE keyspace_name = 'crm' AND table_name = 'people_tx'")}
    finally:
        cluster.shutdown()
    assert {c: meta[c] for c in cols[1:8]} == {
        "email_hash": "text", "country": "text", "born": "timestamp", "age_years": "bigint",
        "initials": "text", "tag": "text", "zip_next": "bigint"}, meta
    assert set(rows) == set(want_stored)
    for uid, d in want_stored.items():
        row = rows[uid]
        for c in cols[1:8]:
            got = row[c]
            if c == "born":
                got = got.replace(tzinfo=datetime.timezone.utc)
            assert got == d[c], (uid, c, got, d[c])

    dlq = {m.key: m for m in pu.consume_all(broker, "people.dlq")}
    want_dlq = {k.encode(): v for k, (v, _) in verdicts.items() if v not in ("stored", "dropped")}
    assert {b"bad_date", b"bad_zip"} | set(want_dlq) == set(dlq)
    assert want_dlq, "the test data should fail some rules"
    for k, rule in want_dlq.items():
        h = dlq[k].headers
        assert h["error"] == b"rule_failed" and h["rule"] == rule.encode(), (k, h)
        assert h["error.message"] == f"rule {rule}: false".encode()
        assert dlq[k].value == next(v for kk, v in items if kk == k)
    h = dlq[b"bad_date"].headers
    assert h["error"] == b"invalid_timestamp" and b"derive born" in h["error.message"], h
    assert b"not a date" not in h["error.message"]
    h = dlq[b"bad_zip"].headers
    assert h["error"] == b"type_error" and b"derive zip_next" in h["error.message"], h
    assert "rule" not in h

    dropped = sum(1 for v, _ in verdicts.values() if v == "dropped")
    assert dropped > 0
    assert f"drained: in={len(items)} out={len(want_stored)} invalid={len(dlq)} " \
        f"filtered={dropped}" in proc.log_text(), proc.log_text()[-2000:]


BROKEN = [
    ("pipeline:\n  filter: gender = \n", ["cfg.yaml:2: pipeline.filter: column 9: unexpected end"]),
    ("pipeline:\n  derive:\n    a: lower(first_name)\n    b: frob(a)\n",
     ["cfg.yaml:4: pipeline.derive.b: column 1: unknown function 'frob'"]),
    ("pipeline:\n  derive:\n    b: lower(a)\n    a: lower(first_name)\n",
     ["cfg.yaml:3: pipeline.derive.b: column 7: unknown field 'a'"]),
    ("pipeline:\n  rules:\n    r1: email matches '('\n",
     ["cfg.yaml:3: pipeline.rules.r1: column 7: matches: bad regex"]),
    ("pipeline:\n  rules:\n    r1: lower(email)\n",
     ["cfg.yaml:3: pipeline.rules.r1: the expression is text, not boolean"]),
    ("pipeline:\n  filter: age(dob)\n", ["cfg.yaml:2: pipeline.filter: the expression is int"]),
    ("pipeline:\n  derive:\n    Bad-Name: lower(email)\n",
     ["cfg.yaml:3: pipeline.derive.Bad-Name: a column name"]),
    ("pipeline:\n  derive:\n    email: lower(email)\n",
     ["cfg.yaml:3: pipeline.derive.email: there is a column of that name"]),
    ("pipeline:\n  derive: [a, b]\n", ["cfg.yaml:2: pipeline.derive: expected a map"]),
    ("pipeline:\n  filter:\n    x: 1\n", ["cfg.yaml:3: pipeline.filter: expected an expression"]),
    ("pipeline:\n  filter: gender = 1 and\n  rules:\n    r: dob > 'x' or\n",
     ["cfg.yaml:2: pipeline.filter:", "cfg.yaml:4: pipeline.rules.r:"]),
]


def test_invalid_expressions_are_config_errors(tmp_path, run_sluice):
    for text, wants in BROKEN:
        f = tmp_path / "cfg.yaml"
        f.write_text(text)
        r = run_sluice("process", "--config", f, "--kafka", "127.0.0.1:1", timeout=10)
        assert r.returncode == 2, (text, r.returncode, r.stderr)
        for w in wants:
            assert str(tmp_path / w) in r.stderr, (text, w, r.stderr)
