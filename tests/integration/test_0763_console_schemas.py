"""The console's Schemas page API (issue 8) against a real `sluice registry` over a real
`sluice broker`, the subjects written and read back through the registry's own REST: subjects
with versions, latest ids and types; one subject's versions with its compatibility level (its
own or the global one); a line diff between two versions; setting the level; registering a new
version with the compatibility check shown (a compatible one registered with its id and
version, an incompatible one refused with the registry's reasons, check_only registering
nothing, an invalid schema the registry's 422); an unreachable registry a 502; bad input named
400s; the viewer role refused on changes."""

import json

import requests

import console_util as cu
import registry_util as ru

V1 = {"type": "record", "name": "User", "fields": [{"name": "id", "type": "string"}]}
V2 = {"type": "record", "name": "User", "fields": [
    {"name": "id", "type": "string"},
    {"name": "email", "type": ["null", "string"], "default": None}]}
BAD = {"type": "record", "name": "User", "fields": [
    {"name": "id", "type": "string"}, {"name": "age", "type": "int"}]}  # no default: BACKWARD fails


def test_schemas_page_api(sluice_proc):
    broker, reg = ru.start(sluice_proc)
    for v in (V1, V2):
        st, _ = ru.call(reg, "POST", "/subjects/users-value/versions", {"schema": json.dumps(v)})
        assert st == 200
    st, _ = ru.call(reg, "POST", "/subjects/other-value/versions", {"schema": '"string"'})
    assert st == 200
    con = cu.start(sluice_proc, args=["--registry", ru.url(reg)])
    s = cu.login(con)

    lst = s.get(cu.url(con, "/api/schemas")).json()
    assert lst["compatibility"] == "BACKWARD"
    subj = {x["subject"]: x for x in lst["subjects"]}
    assert set(subj) == {"users-value", "other-value"}
    assert subj["users-value"]["versions"] == [1, 2] and subj["users-value"]["latest_version"] == 2
    assert subj["users-value"]["schemaType"] == "AVRO"
    assert subj["users-value"]["compatibility"] == {"level": "BACKWARD", "source": "global"}

    one = s.get(cu.url(con, "/api/schemas/users-value")).json()
    assert [v["version"] for v in one["versions"]] == [1, 2]
    assert json.loads(one["versions"][1]["schema"])["fields"][1]["name"] == "email"
    assert '"email"' in one["versions"][1]["pretty"] and "\n" in one["versions"][1]["pretty"]

    d = s.get(cu.url(con, "/api/schemas/users-value/diff?from=1&to=2")).json()
    assert d["from"] == 1 and d["to"] == 2
    added = [t for op, t in d["lines"] if op == "+"]
    assert any('"email"' in t for t in added)
    assert all(op in " +-" for op, _ in d["lines"])
    kept = "\n".join(t for op, t in d["lines"] if op != "+")
    assert json.loads(kept) == json.loads(one["versions"][0]["pretty"])  # the old side rebuilt

    # an incompatible schema: the check is shown, nothing is registered
    r = s.post(cu.url(con, "/api/schemas/users-value/versions"), json={"schema": json.dumps(BAD)})
    assert r.status_code == 200, r.text
    j = r.json()
    assert j["compatibility"]["is_compatible"] is False and j["registered"] is None
    assert j["compatibility"]["level"] == "BACKWARD" and j["compatibility"]["messages"]
    assert ru.call(reg, "GET", "/subjects/users-value/versions")[1] == [1, 2]

    # level NONE on the subject, then check_only passes without registering, then register
    r = s.put(cu.url(con, "/api/schemas/users-value/config"), json={"compatibility": "NONE"})
    assert r.status_code == 200 and r.json()["compatibility"] == "NONE", r.text
    assert s.get(cu.url(con, "/api/schemas/users-value")).json()["compatibility"] == \
        {"level": "NONE", "source": "subject"}
    r = s.post(cu.url(con, "/api/schemas/users-value/versions"),
               json={"schema": json.dumps(BAD), "check_only": True})
    assert r.json()["compatibility"]["is_compatible"] is True and r.json()["registered"] is None
    assert ru.call(reg, "GET", "/subjects/users-value/versions")[1] == [1, 2]
    r = s.post(cu.url(con, "/api/schemas/users-value/versions"), json={"schema": json.dumps(BAD)})
    reg3 = r.json()["registered"]
    assert reg3["version"] == 3
    st, got = ru.call(reg, "GET", "/subjects/users-value/versions/3")
    assert st == 200 and got["id"] == reg3["id"]

    # a new subject: nothing to be compatible with
    r = s.post(cu.url(con, "/api/schemas/fresh-value/versions"),
               json={"schema": '{"type": "string"}', "schemaType": "AVRO"})
    assert r.json()["compatibility"]["is_compatible"] is True
    assert r.json()["registered"]["version"] == 1

    # the registry's own refusals are passed on
    r = s.post(cu.url(con, "/api/schemas/users-value/versions"), json={"schema": "{not avro"})
    assert r.status_code == 422 and r.json()["error_code"] == 42201, r.text
    r = s.get(cu.url(con, "/api/schemas/nosuch"))
    assert r.status_code == 404 and r.json()["error_code"] == 40401
    r = s.get(cu.url(con, "/api/schemas/users-value/diff?from=1&to=9"))
    assert r.status_code == 404 and r.json()["error_code"] == 40402

    bad = [
        ("GET", "/api/schemas/users-value/diff?from=1", None, "from, to"),
        ("GET", "/api/schemas/users-value/diff?from=0&to=1", None, "from, to"),
        ("PUT", "/api/schemas/users-value/config", {"compatibility": "SOMETIMES"}, "LEVEL"),
        ("PUT", "/api/schemas/users-value/config", {"compatibility": "FULL", "x": 1}, "LEVEL"),
        ("POST", "/api/schemas/users-value/versions", {}, "schema"),
        ("POST", "/api/schemas/users-value/versions", {"schema": ""}, "schema"),
        ("POST", "/api/schemas/users-value/versions", {"schema": "1", "schemaType": 2},
         "schemaType"),
        ("POST", "/api/schemas/users-value/versions", {"schema": "1", "check_only": "y"},
         "check_only"),
    ]
    for method, path, body, word in bad:
        r = s.request(method, cu.url(con, path), json=body)
        assert r.status_code == 400 and word in r.json()["error"], (path, body, r.text)
    assert s.put(cu.url(con, "/api/schemas/users-value"), json={}).status_code == 404
    assert s.post(cu.url(con, "/api/schemas/users-value"), json={}).status_code == 404

    pw = cu.add_user(con, "viewer1", role="viewer")
    v = cu.login(con, "viewer1", pw)
    assert v.get(cu.url(con, "/api/schemas")).status_code == 200
    assert v.put(cu.url(con, "/api/schemas/users-value/config"),
                 json={"compatibility": "FULL"}).status_code == 403
    assert v.post(cu.url(con, "/api/schemas/users-value/versions"),
                  json={"schema": '"string"'}).status_code == 403


def test_registry_unreachable_is_502(sluice_proc, free_port):
    con = cu.start(sluice_proc, args=["--registry", f"http://127.0.0.1:{free_port()}"])
    s = cu.login(con)
    r = s.get(cu.url(con, "/api/schemas"))
    assert r.status_code == 502 and "cannot be reached" in r.json()["error"], r.text
    assert requests.get(cu.url(con, "/api/session"), auth=("admin", con.admin_password)).ok
