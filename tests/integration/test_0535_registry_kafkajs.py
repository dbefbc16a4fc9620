"""@kafkajs/confluent-schema-registry (npm) against sluice registry: an Avro record encoded in the
Confluent wire format (magic 0, big-endian schema id), carried through the broker by kafkajs and
decoded by a second client that fetches the schema by id."""

import json
from pathlib import Path

import registry_util as ru

JS = Path(__file__).parent / "js" / "schema_registry.js"


def test_encode_decode_round_trip(sluice_proc, node):
    broker, reg = ru.start(sluice_proc)
    out = node(JS, ru.url(reg), broker.addr, timeout=60)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["id"] == 1 and r["version2id"] == 1 and r["latest"] == 1
    assert r["header"] == [0, 0, 0, 0, 1]
    assert r["decoded"] == {"first_name": "Ada", "age": 36, "email": "ada@example.org",
                            "tags": ["a", "b"]}
    assert ru.call(reg, "GET", "/subjects/users_created-value/versions") == (200, [1])
