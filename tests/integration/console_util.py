"""Helpers for the console's tests (test_07xx): start `sluice console`, read the first-start
admin password from its output, and log in with python3-requests.

    con = cu.start(sluice_proc, args=["--kafka", broker.addr])
    s = cu.login(con)                       # a requests.Session with cookie and CSRF header
    s.get(cu.url(con, "/api/session")).json()
"""

import re

import requests

import sluice_harness as sh

PW_RX = re.compile(r"created user admin with password (\S+)")


def start(sluice_proc, args=(), **kw):
    """Starts `sluice console` on a free port with a fresh data dir; .admin_password is set."""
    con = sluice_proc("console", data_dir=True, args=list(args), **kw)
    m = con.wait_for_log(PW_RX)
    con.admin_password = m.group(1)
    return con


def url(con, path):
    return f"http://{con.addr}{path}"


def login(con, user="admin", password=None, timeout=10):
    """A requests.Session logged in as user; every state change sends the CSRF token."""
    s = requests.Session()
    r = s.post(url(con, "/api/login"),
               json={"user": user, "password": password or con.admin_password},
               timeout=sh.scaled(timeout))
    r.raise_for_status()
    s.csrf = r.json()["csrf"]
    s.headers["X-CSRF-Token"] = s.csrf
    return s


def add_user(con, name, role="viewer", password="pw-" + "x" * 12):
    """Adds a user through the API as admin; returns the password."""
    s = login(con)
    r = s.post(url(con, "/api/users"), json={"name": name, "password": password, "role": role})
    r.raise_for_status()
    return password
