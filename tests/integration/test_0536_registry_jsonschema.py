"""JSON Schema (draft-07) in sluice registry, driven by python3-confluent-kafka's
SchemaRegistryClient (Schema(schema_str, "JSON")) and raw REST: registration, /schemas/types,
an equivalent document mapping to the existing id, compatibility over the checked keywords with
Confluent's difference names, and bad JSON Schemas answered 42201 with nothing stored."""

import json

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

import registry_util as ru

USER = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "User",
    "type": "object",
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "age": {"type": "integer", "minimum": 0},
        "home": {"$ref": "#/definitions/address"},
    },
    "required": ["id"],
    "additionalProperties": False,
    "definitions": {"address": {"type": "object", "properties": {"city": {"type": "string"}}}},
}


def variant(**changes):
    doc = json.loads(json.dumps(USER))
    for k, v in changes.items():
        doc[k] = v
    return doc


@pytest.fixture
def client(sluice_proc):
    _, reg = ru.start(sluice_proc)
    return SchemaRegistryClient({"url": ru.url(reg)}), reg


def test_register_and_read_back(client):
    c, reg = client
    assert ru.call(reg, "GET", "/schemas/types") == (200, ["AVRO", "JSON"])
    sid = c.register_schema("users-json-value", Schema(json.dumps(USER), "JSON"))
    got = c.get_schema(sid)
    assert got.schema_type == "JSON"
    assert json.loads(got.schema_str) == USER
    # reordered members and other whitespace: the same document, the same id, no new version
    reordered = json.dumps(dict(reversed(list(USER.items()))), indent=3)
    assert c.register_schema("users-json-value", Schema(reordered, "JSON")) == sid
    assert c.get_versions("users-json-value") == [1]
    found = c.lookup_schema("users-json-value", Schema(reordered, "JSON"))
    assert (found.schema_id, found.version) == (sid, 1)
    latest = c.get_latest_version("users-json-value")
    assert (latest.schema_id, latest.schema.schema_type) == (sid, "JSON")
    status, body = ru.call(reg, "GET", f"/schemas/ids/{sid}")
    assert status == 200 and body["schemaType"] == "JSON"
    # the same text as AVRO is another schema (and not a valid one)
    with pytest.raises(SchemaRegistryError) as e:
        c.register_schema("users-json-value", Schema(json.dumps(USER), "AVRO"))
    assert e.value.error_code == 42201


def test_compatibility(client):
    c, reg = client
    subj = "evolve-value"
    c.register_schema(subj, Schema(json.dumps(USER), "JSON"))
    # closed content model: an optional property may be added
    v2 = variant(properties={**USER["properties"], "email": {"type": "string"}})
    assert c.test_compatibility(subj, Schema(json.dumps(v2), "JSON"))
    # a new required property without a default is not
    v_req = variant(required=["id", "email"],
                    properties={**USER["properties"], "email": {"type": "string"}})
    assert not c.test_compatibility(subj, Schema(json.dumps(v_req), "JSON"))
    # narrowing a type is not
    v_narrow = variant(properties={**USER["properties"], "age": {"type": "integer",
                                                                  "minimum": 18}})
    status, body = ru.call(reg, "POST", f"/compatibility/subjects/{subj}/versions/latest",
                           {"schema": json.dumps(v_narrow), "schemaType": "JSON"},
                           verbose="true")
    assert status == 200 and body["is_compatible"] is False
    assert any("MINIMUM_INCREASED" in m and "#/properties/age" in m for m in body["messages"])
    with pytest.raises(SchemaRegistryError) as e:
        c.register_schema(subj, Schema(json.dumps(v_narrow), "JSON"))
    assert e.value.http_status_code == 409
    assert c.register_schema(subj, Schema(json.dumps(v2), "JSON")) == 2
    # opening the model and then adding a typed property: PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL
    c.set_compatibility(subject_name=subj, level="NONE")
    opened = variant(properties=v2["properties"])
    del opened["additionalProperties"]
    assert c.register_schema(subj, Schema(json.dumps(opened), "JSON")) == 3
    c.set_compatibility(subject_name=subj, level="BACKWARD")
    v4 = dict(opened, properties={**opened["properties"], "nick": {"type": "string"}})
    status, body = ru.call(reg, "POST", f"/compatibility/subjects/{subj}/versions/latest",
                           {"schema": json.dumps(v4), "schemaType": "JSON"}, verbose="true")
    assert body["is_compatible"] is False
    assert any("PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL: nick" in m for m in body["messages"])
    # FORWARD: the old schema must read the new one; dropping "required" breaks that
    c.set_compatibility(subject_name=subj, level="FORWARD")
    loose = dict(opened, required=[])
    assert not c.test_compatibility(subj, Schema(json.dumps(loose), "JSON"))
    # an AVRO schema against JSON versions: another schema type
    status, body = ru.call(reg, "POST", f"/compatibility/subjects/{subj}/versions/latest",
                           {"schema": "\"string\""}, verbose="true")
    assert body["is_compatible"] is False
    assert any("another schema type (JSON)" in m for m in body["messages"])


@pytest.mark.parametrize("text,why", [
    ("{\"type\": \"strng\"}", "#/type"),
    ("{\"properties\": {\"a\": 7}}", "#/properties/a"),
    ("{\"required\": [\"a\", \"a\"]}", "#/required"),
    ("{\"$ref\": \"#/definitions/missing\"}", "unresolvable"),
    ("{\"minLength\": -2}", "#/minLength"),
    ("{\"type\": \"object\",", "Invalid schema"),
    ("[1, 2]", "object or a boolean"),
])
def test_bad_json_schema(client, text, why):
    c, reg = client
    with pytest.raises(SchemaRegistryError) as e:
        c.register_schema("bad-value", Schema(text, "JSON"))
    assert (e.value.http_status_code, e.value.error_code) == (422, 42201)
    assert why in e.value.error_message
    assert ru.call(reg, "GET", "/subjects", deleted="true") == (200, [])
    # still serving
    assert c.register_schema("good-value", Schema("{\"type\": \"string\"}", "JSON")) == 1
