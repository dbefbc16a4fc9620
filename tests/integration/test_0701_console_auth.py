"""The console's API auth, with python3-requests against a running `sluice console`: no session
gets 401; a wrong password gets 401; the read-only role reads but cannot trigger a DAG run or
change anything (403, checked before any route runs); a state change without the session's CSRF
token is refused (403); basic auth works for API clients and needs a JSON content type to change
state; sessions expire and end at logout; a deleted user loses access at once."""

import base64
import time

import requests

import console_util as cu
import sluice_harness as sh

TRIGGER = "/api/v1/dags/user_automation/dagRuns"


def test_no_session_gets_401(sluice_proc):
    con = cu.start(sluice_proc)
    for path in ["/api/session", "/api/users", "/api/overview", "/api/nope", TRIGGER,
                 "/api/v1/dags"]:
        r = requests.get(cu.url(con, path), timeout=5)
        assert r.status_code == 401, path
        assert r.json()["error"].startswith("authentication required")
        assert r.headers["WWW-Authenticate"].startswith("Basic realm=")
    # The SPA (X-Requested-With) gets no basic-auth challenge, so no browser login box.
    r = requests.get(cu.url(con, "/api/session"), headers={"X-Requested-With": "sluice"},
                     timeout=5)
    assert r.status_code == 401 and "WWW-Authenticate" not in r.headers
    r = requests.post(cu.url(con, TRIGGER), json={"conf": {}}, timeout=5)
    assert r.status_code == 401
    # A forged or stale cookie is no session.
    r = requests.get(cu.url(con, "/api/session"), cookies={"sluice_session": "0" * 64},
                     timeout=5)
    assert r.status_code == 401


def test_login(sluice_proc):
    con = cu.start(sluice_proc)
    r = requests.post(cu.url(con, "/api/login"), json={"user": "admin", "password": "wrong"},
                      timeout=10)
    assert r.status_code == 401 and r.json() == {"error": "wrong user or password"}
    r = requests.post(cu.url(con, "/api/login"), json={"user": "nobody", "password": "x"},
                      timeout=10)
    assert r.status_code == 401
    assert 'failed login for user "nobody"' in con.log_text()
    r = requests.post(cu.url(con, "/api/login"),
                      json={"user": "admin", "password": con.admin_password}, timeout=10)
    assert r.status_code == 200
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    body = r.json()
    assert body["user"] == "admin" and body["role"] == "admin" and len(body["csrf"]) == 64
    after = con.log_text().split("created user admin", 1)[1].split("\n", 1)[1]
    assert con.admin_password not in after  # printed once, never logged
    s = requests.Session()
    s.cookies.update(r.cookies)
    assert s.get(cu.url(con, "/api/session"), timeout=5).json()["csrf"] == body["csrf"]
    # A form post (not JSON) to login is refused: a foreign page cannot log a browser in.
    r = requests.post(cu.url(con, "/api/login"),
                      data={"user": "admin", "password": con.admin_password}, timeout=10)
    assert r.status_code == 415


def test_csrf_token_required(sluice_proc):
    con = cu.start(sluice_proc)
    s = cu.login(con)
    new = {"name": "ann", "password": "pw-ann-123", "role": "viewer"}
    del s.headers["X-CSRF-Token"]
    r = s.post(cu.url(con, "/api/users"), json=new, timeout=5)
    assert r.status_code == 403
    assert r.json()["error"] == "missing or wrong CSRF token (X-CSRF-Token)"
    r = s.post(cu.url(con, "/api/users"), json=new, headers={"X-CSRF-Token": "f" * 64},
               timeout=5)
    assert r.status_code == 403
    r = s.delete(cu.url(con, "/api/users/admin"), timeout=5)
    assert r.status_code == 403
    r = s.post(cu.url(con, "/api/logout"), timeout=5)
    assert r.status_code == 403
    assert [u["name"] for u in s.get(cu.url(con, "/api/users"), timeout=5).json()["users"]] == \
        ["admin"]
    r = s.post(cu.url(con, "/api/users"), json=new, headers={"X-CSRF-Token": s.csrf}, timeout=5)
    assert r.status_code == 201


def test_read_only_role(sluice_proc):
    con = cu.start(sluice_proc)
    pw = cu.add_user(con, "viewer1", role="viewer")
    v = cu.login(con, "viewer1", pw)
    me = v.get(cu.url(con, "/api/session"), timeout=5).json()
    assert me["user"] == "viewer1" and me["role"] == "viewer"
    # Trigger, pause, produce, user changes: refused before any route runs.
    for method, path in [("POST", TRIGGER), ("PATCH", "/api/v1/dags/user_automation"),
                         ("POST", "/api/topics/users_created/messages"),
                         ("POST", "/api/users"), ("DELETE", "/api/users/admin"),
                         ("PUT", "/api/alerts/rules")]:
        r = v.request(method, cu.url(con, path), json={"conf": {}}, timeout=5)
        assert r.status_code == 403, (method, path)
        assert r.json()["error"] == "read-only user: this needs role admin"
    # The user list is for admins even to read.
    assert v.get(cu.url(con, "/api/users"), timeout=5).status_code == 403
    # A viewer may log out.
    assert v.post(cu.url(con, "/api/logout"), timeout=5).status_code == 200
    assert v.get(cu.url(con, "/api/session"), timeout=5).status_code == 401
    # Basic auth as a viewer: same rule.
    r = requests.post(cu.url(con, TRIGGER), json={}, auth=("viewer1", pw), timeout=10)
    assert r.status_code == 403


def test_basic_auth(sluice_proc):
    con = cu.start(sluice_proc)
    auth = ("admin", con.admin_password)
    r = requests.get(cu.url(con, "/api/session"), auth=auth, timeout=10)
    assert r.status_code == 200 and r.json()["user"] == "admin"
    assert requests.get(cu.url(con, "/api/session"), auth=("admin", "nope"),
                        timeout=10).status_code == 401
    for bad in ["Basic !!!!", "Basic " + base64.b64encode(b"no-colon").decode(), "Bearer x",
                "Basic " + "A" * 5000]:
        r = requests.get(cu.url(con, "/api/session"), headers={"Authorization": bad}, timeout=5)
        assert r.status_code == 401, bad
    # A state change over basic auth needs a JSON body type (no CORS preflight is ever granted).
    r = requests.post(cu.url(con, "/api/users"), data="name=x", auth=auth, timeout=5,
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 403
    r = requests.post(cu.url(con, "/api/users"), auth=auth, timeout=5,
                      json={"name": "bob", "password": "bob-pw-123", "role": "admin"})
    assert r.status_code == 201
    # Deleting a user ends its access at once, cached basic credentials and sessions alike.
    bob = ("bob", "bob-pw-123")
    assert requests.get(cu.url(con, "/api/users"), auth=bob, timeout=10).status_code == 200
    bs = cu.login(con, *bob)
    r = requests.delete(cu.url(con, "/api/users/bob"), auth=auth, timeout=5,
                        headers={"Content-Type": "application/json"})
    assert r.status_code == 200
    assert requests.get(cu.url(con, "/api/users"), auth=bob, timeout=10).status_code == 401
    assert bs.get(cu.url(con, "/api/session"), timeout=5).status_code == 401
    r = requests.delete(cu.url(con, "/api/users/admin"), auth=auth, timeout=5,
                        headers={"Content-Type": "application/json"})
    assert r.status_code == 409


def test_sessions_expire(sluice_proc):
    con = cu.start(sluice_proc, args=["--session-ttl", "1s"])
    s = cu.login(con)
    assert s.get(cu.url(con, "/api/session"), timeout=5).status_code == 200
    time.sleep(1.3)
    assert s.get(cu.url(con, "/api/session"), timeout=5).status_code == 401
    s = cu.login(con)
    assert s.post(cu.url(con, "/api/logout"), timeout=5).status_code == 200
    assert s.get(cu.url(con, "/api/session"), timeout=5).status_code == 401
