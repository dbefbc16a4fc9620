"""Every REST error path of sluice registry, with Confluent's status, error code and message, and
the registry serving normally afterwards."""

import json

import pytest

import registry_util as ru

V1, V2, BAD = ru.USER_V1, ru.USER_V2, ru.USER_BAD


@pytest.fixture
def reg(sluice_proc):
    _, r = ru.start(sluice_proc)
    assert ru.call(r, "POST", "/subjects/s/versions", {"schema": V1}) == (200, {"id": 1})
    return r


def err(reply, status, code, text=None):
    got_status, body = reply
    assert got_status == status, body
    assert body["error_code"] == code, body
    if text is not None:
        assert text in body["message"], body


def test_not_found(reg):
    err(ru.call(reg, "GET", "/subjects/nope/versions"), 404, 40401, "Subject 'nope' not found.")
    err(ru.call(reg, "GET", "/subjects/nope/versions/1"), 404, 40401)
    err(ru.call(reg, "POST", "/subjects/nope", {"schema": V1}), 404, 40401)
    err(ru.call(reg, "DELETE", "/subjects/nope"), 404, 40401)
    err(ru.call(reg, "GET", "/subjects/s/versions/7"), 404, 40402, "Version 7 not found.")
    err(ru.call(reg, "GET", "/subjects/s/versions/7/schema"), 404, 40402)
    err(ru.call(reg, "DELETE", "/subjects/s/versions/7"), 404, 40402)
    err(ru.call(reg, "POST", "/subjects/s", {"schema": V2}), 404, 40403, "Schema not found")
    err(ru.call(reg, "GET", "/schemas/ids/99"), 404, 40403, "Schema 99 not found")
    err(ru.call(reg, "GET", "/schemas/ids/99/versions"), 404, 40403)
    err(ru.call(reg, "GET", "/schemas/ids/abc"), 404, 40403)
    err(ru.call(reg, "GET", "/config/s"), 404, 40408,
        "Subject 's' does not have subject-level compatibility configured")
    err(ru.call(reg, "GET", "/mode/s"), 404, 40409)
    err(ru.call(reg, "DELETE", "/config/nope"), 404, 40401)
    err(ru.call(reg, "POST", "/compatibility/subjects/nope/versions/latest", {"schema": V2}),
        404, 40401)
    err(ru.call(reg, "POST", "/compatibility/subjects/s/versions/5", {"schema": V2}), 404, 40402)
    err(ru.call(reg, "GET", "/no/such/path"), 404, 404)
    err(ru.call(reg, "PUT", "/subjects"), 405, 405)
    assert ru.call(reg, "GET", "/config/s", defaultToGlobal="true") == \
        (200, {"compatibilityLevel": "BACKWARD"})


def test_deletes(reg):
    err(ru.call(reg, "DELETE", "/subjects/s/versions/1", permanent="true"), 404, 40407,
        "Subject 's' Version 1 was not deleted first before being permanently deleted")
    err(ru.call(reg, "DELETE", "/subjects/s", permanent="true"), 404, 40405,
        "Subject 's' was not deleted first before being permanently deleted")
    assert ru.call(reg, "DELETE", "/subjects/s/versions/1") == (200, 1)
    err(ru.call(reg, "DELETE", "/subjects/s/versions/1"), 404, 40406,
        "Subject 's' Version 1 was soft deleted.Set permanent=true to delete permanently")
    err(ru.call(reg, "GET", "/subjects/s/versions/1"), 404, 40401)
    assert ru.call(reg, "GET", "/subjects/s/versions/1", deleted="true")[1]["id"] == 1
    err(ru.call(reg, "DELETE", "/subjects/s"), 404, 40404,
        "Subject 's' was soft deleted.Set permanent=true to delete permanently")
    assert ru.call(reg, "DELETE", "/subjects/s/versions/1", permanent="true") == (200, 1)
    err(ru.call(reg, "GET", "/subjects/s/versions", deleted="true"), 404, 40401)


def test_invalid_values(reg):
    err(ru.call(reg, "GET", "/subjects/s/versions/zero"), 422, 42202,
        "The specified version 'zero' is not a valid version id")
    err(ru.call(reg, "GET", "/subjects/s/versions/0"), 422, 42202)
    err(ru.call(reg, "GET", "/subjects/s/versions/2147483648"), 422, 42202)
    err(ru.call(reg, "PUT", "/config", {"compatibility": "SIDEWAYS"}), 422, 42203,
        "Invalid compatibility level")
    err(ru.call(reg, "PUT", "/config/s", {}), 422, 42203)
    err(ru.call(reg, "PUT", "/mode", {"mode": "WRITEONLY"}), 422, 42204, "Invalid mode")
    # IMPORT needs an empty registry unless forced
    err(ru.call(reg, "PUT", "/mode", {"mode": "IMPORT"}), 422, 42205)
    err(ru.call(reg, "POST", "/subjects/s/versions", {"schema": V2, "id": 50}), 422, 42205)
    err(ru.call(reg, "POST", "/subjects/s/versions", {"schema": BAD}), 409, 409,
        'Schema being registered is incompatible with an earlier schema for subject "s"')
    err(ru.call(reg, "POST", "/subjects/s/versions", raw="{not json"), 400, 400)
    err(ru.call(reg, "POST", "/subjects/s/versions", raw="[1]"), 422, 422)


def test_modes(reg):
    assert ru.call(reg, "PUT", "/mode/s", {"mode": "READONLY"}) == (200, {"mode": "READONLY"})
    assert ru.call(reg, "GET", "/mode/s") == (200, {"mode": "READONLY"})
    err(ru.call(reg, "POST", "/subjects/s/versions", {"schema": V2}), 422, 42205,
        "Subject s is in read-only mode")
    err(ru.call(reg, "DELETE", "/subjects/s"), 422, 42205)
    # registering what is already there is a read
    assert ru.call(reg, "POST", "/subjects/s/versions", {"schema": V1}) == (200, {"id": 1})
    assert ru.call(reg, "DELETE", "/mode/s") == (200, {"mode": "READONLY"})
    assert ru.call(reg, "GET", "/mode") == (200, {"mode": "READWRITE"})
    # IMPORT (forced): the caller picks ids and versions
    assert ru.call(reg, "PUT", "/mode", {"mode": "IMPORT"}, force="true") == \
        (200, {"mode": "IMPORT"})
    assert ru.call(reg, "POST", "/subjects/imp/versions",
                   {"schema": V2, "id": 40, "version": 3}) == (200, {"id": 40})
    assert ru.call(reg, "GET", "/subjects/imp/versions") == (200, [3])
    err(ru.call(reg, "POST", "/subjects/imp2/versions", {"schema": BAD, "id": 40}), 422, 42207)
    assert ru.call(reg, "PUT", "/mode", {"mode": "READWRITE"}) == (200, {"mode": "READWRITE"})
    # ids go on from the highest seen
    assert ru.call(reg, "POST", "/subjects/after/versions", {"schema": BAD}) == (200, {"id": 41})


def test_endpoints_answer(reg):
    """The non-error side of every route, briefly, after the errors above."""
    assert ru.call(reg, "GET", "/") == (200, {})
    assert ru.call(reg, "GET", "/schemas/types") == (200, ["AVRO", "JSON"])
    assert ru.call(reg, "GET", "/schemas/ids/1/subjects") == (200, ["s"])
    assert ru.call(reg, "GET", "/schemas/ids/1/versions") == (200, [{"subject": "s",
                                                                     "version": 1}])
    assert ru.call(reg, "GET", "/schemas/ids/1/schema") == (200, json.loads(V1))
    assert ru.call(reg, "GET", "/subjects/s/versions/latest/schema") == (200, json.loads(V1))
    assert ru.call(reg, "GET", "/subjects/s/versions/1/referencedby") == (200, [])
    ref = {"schema": json.dumps({"type": "record", "name": "Wrap", "fields": []}),
           "references": [{"name": "io.sluice.User", "subject": "s", "version": 1}]}
    assert ru.call(reg, "POST", "/subjects/w/versions", ref) == (200, {"id": 2})
    assert ru.call(reg, "GET", "/subjects/s/versions/1/referencedby") == (200, [2])
    assert ru.call(reg, "GET", "/schemas/ids/2")[1]["references"] == ref["references"]
    err(ru.call(reg, "DELETE", "/subjects/s/versions/1"), 422, 42206)
    bad_ref = dict(ref, references=[{"name": "x", "subject": "s", "version": 9}])
    err(ru.call(reg, "POST", "/subjects/w2/versions", bad_ref), 422, 42201)
    status, body = ru.call(reg, "POST", "/compatibility/subjects/s/versions/latest",
                           {"schema": BAD}, verbose="true")
    assert status == 200 and body["is_compatible"] is False
    assert any("READER_FIELD_MISSING_DEFAULT_VALUE: email" in m for m in body["messages"])
    assert ru.call(reg, "POST", "/compatibility/subjects/s/versions",
                   {"schema": V2}) == (200, {"is_compatible": True})
    assert ru.call(reg, "PUT", "/config/s", {"compatibility": "full"}) == \
        (200, {"compatibility": "FULL"})
    assert ru.call(reg, "DELETE", "/config/s") == (200, {"compatibilityLevel": "FULL"})
    err(ru.call(reg, "GET", "/config/s"), 404, 40408)
    for ct in ("application/vnd.schemaregistry+json", "application/json",
               "application/vnd.schemaregistry.v1+json; charset=utf-8"):
        assert ru.call(reg, "POST", "/subjects/s", {"schema": V1}, ctype=ct)[1]["id"] == 1
