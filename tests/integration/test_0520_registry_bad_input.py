"""Bad input to sluice registry: invalid schema JSON, an unknown type, a schema over the size
limit, a wrong content type and an unsupported schema type each get their error code, nothing
is stored (the topic holds exactly the good records) and the registry keeps serving."""

import json

import pytest

import registry_util as ru


def topic_records(kcat, broker):
    import subprocess
    out = subprocess.run([kcat, "-b", broker.addr, "-C", "-t", "_schemas", "-e", "-q",
                          "-f", "%k\n"], capture_output=True, text=True, timeout=30)
    return [json.loads(line) for line in out.stdout.splitlines() if line]


@pytest.mark.parametrize("body,ctype,status,code", [
    ({"schema": "{\"type\": \"record\", \"name\": "}, None, 422, 42201),
    ({"schema": "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\","
                "\"type\":\"Nowhere\"}]}"}, None, 422, 42201),
    ({"schema": "\"uint128\""}, None, 422, 42201),
    ({"schema": "[\"int\",\"int\"]"}, None, 422, 42201),
    ({}, None, 422, 42201),
    ({"schema": 5}, None, 422, 42201),
    ({"schema": "\"int\"", "schemaType": "XML"}, None, 422, 42201),
    ({"schema": "syntax = \"proto3\";", "schemaType": "PROTOBUF"}, None, 422, 42201),
    ({"schema": "{\"type\":\"strin\"}", "schemaType": "JSON"}, None, 422, 42201),
    ({"schema": "{\"properties\":", "schemaType": "JSON"}, None, 422, 42201),
    ({"schema": "{\"$ref\":\"#/definitions/none\"}", "schemaType": "JSON"}, None, 422, 42201),
    ({"schema": json.dumps({"type": "enum", "name": "Big",
                            "symbols": [f"S{i}" for i in range(20000)]})}, None, 422, 42209),
    ({"schema": "\"int\""}, "text/plain", 415, 415),
    ({"schema": "\"int\""}, "application/x-www-form-urlencoded", 415, 415),
])
def test_rejected_and_nothing_stored(sluice_proc, kcat, body, ctype, status, code):
    broker, reg = ru.start(sluice_proc, args=["--max-schema", "64KiB"])
    kw = {"ctype": ctype} if ctype else {}
    got, reply = ru.call(reg, "POST", "/subjects/bad/versions", body, **kw)
    assert (got, reply["error_code"]) == (status, code), reply
    assert isinstance(reply["message"], str) and reply["message"]
    got, reply = ru.call(reg, "POST", "/compatibility/subjects/bad/versions/latest", body, **kw)
    assert got == status
    assert ru.call(reg, "GET", "/subjects", deleted="true") == (200, [])
    # still serving, and the next good schema gets id 1: nothing was written before it
    assert ru.call(reg, "POST", "/subjects/good/versions", {"schema": "\"int\""}) == \
        (200, {"id": 1})
    assert topic_records(kcat, broker) == [{"keytype": "SCHEMA", "subject": "good",
                                            "version": 1, "magic": 1}]
