"""sluice registry driven by python3-confluent-kafka's SchemaRegistryClient: register, get by id,
latest version, lookup, compatibility check, set config, delete (soft and permanent), and an
equivalent schema mapping to the same id through the canonical form."""

import json

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

import registry_util as ru


@pytest.fixture
def client(sluice_proc):
    _, reg = ru.start(sluice_proc)
    return SchemaRegistryClient({"url": ru.url(reg)}), reg


def test_register_get_latest_lookup(client):
    c, _ = client
    sid = c.register_schema("users-value", Schema(ru.USER_V1, "AVRO"))
    assert sid == 1
    assert json.loads(c.get_schema(sid).schema_str) == json.loads(ru.USER_V1)
    # the same schema again, and an equivalent spelling of it: same id, no new version
    assert c.register_schema("users-value", Schema(ru.USER_V1, "AVRO")) == sid
    spaced = json.dumps(json.loads(ru.USER_V1), indent=2)
    doc = json.loads(ru.USER_V1)
    doc["doc"] = "documentation is not part of the canonical form"
    assert c.register_schema("users-value", Schema(spaced, "AVRO")) == sid
    assert c.register_schema("users-value", Schema(json.dumps(doc), "AVRO")) == sid
    assert c.get_versions("users-value") == [1]
    v2 = c.register_schema("users-value", Schema(ru.USER_V2, "AVRO"))
    assert v2 == 2
    latest = c.get_latest_version("users-value")
    assert (latest.schema_id, latest.version, latest.subject) == (2, 2, "users-value")
    assert c.get_version("users-value", 1).schema_id == 1
    found = c.lookup_schema("users-value", Schema(ru.USER_V1, "AVRO"))
    assert (found.schema_id, found.version) == (1, 1)
    # the same schema under another subject keeps its global id
    assert c.register_schema("other-value", Schema(ru.USER_V2, "AVRO")) == 2
    assert sorted(c.get_subjects()) == ["other-value", "users-value"]


def test_compatibility_and_config(client):
    c, _ = client
    c.register_schema("s", Schema(ru.USER_V1, "AVRO"))
    assert c.test_compatibility("s", Schema(ru.USER_V2, "AVRO")) is True
    assert c.test_compatibility("s", Schema(ru.USER_BAD, "AVRO")) is False
    with pytest.raises(SchemaRegistryError) as e:
        c.register_schema("s", Schema(ru.USER_BAD, "AVRO"))
    assert e.value.http_status_code == 409 and e.value.error_code == 409
    assert c.get_compatibility() == "BACKWARD"
    c.set_compatibility(level="NONE")
    assert c.get_compatibility() == "NONE"
    assert c.register_schema("s", Schema(ru.USER_BAD, "AVRO")) == 2
    c.set_compatibility("s", "FORWARD")
    assert c.get_compatibility("s") == "FORWARD"
    assert c.get_compatibility() == "NONE"
    # FORWARD: the latest (USER_BAD) must read the new one; a field without default removed
    # from the new one breaks that
    assert c.test_compatibility("s", Schema(ru.USER_V1, "AVRO")) is False
    with pytest.raises(SchemaRegistryError) as e:
        c.set_compatibility("s", "SIDEWAYS")
    assert e.value.error_code == 42203


def test_delete(client):
    c, reg = client
    c.register_schema("d", Schema(ru.USER_V1, "AVRO"))
    c.register_schema("d", Schema(ru.USER_V2, "AVRO"))
    assert c.delete_version("d", 1) == 1
    assert c.get_versions("d") == [2]
    # a soft-deleted version's schema stays readable by id (serialized data still names it)
    assert c.get_schema(1) is not None
    assert c.delete_subject("d") == [2]
    assert c.get_subjects() == []
    with pytest.raises(SchemaRegistryError) as e:
        c.get_latest_version("d")
    assert e.value.error_code == 40401
    # the client's permanent delete soft-deletes first, which Confluent refuses twice
    with pytest.raises(SchemaRegistryError) as e:
        c.delete_subject("d", permanent=True)
    assert e.value.error_code == 40404
    assert ru.call(reg, "DELETE", "/subjects/d", permanent="true") == (200, [1, 2])
    # (the client caches schemas by id, so ask over REST)
    status, body = ru.call(reg, "GET", "/schemas/ids/1")
    assert (status, body["error_code"]) == (404, 40403)
    status, body = ru.call(reg, "GET", "/subjects", deleted="true")
    assert (status, body) == (200, [])
