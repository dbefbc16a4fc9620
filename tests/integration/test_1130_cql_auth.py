"""issue 11, security: CQL auth with hashed credentials.

The store keeps only a PBKDF2 hash of its password (src/auth/auth.h): a plain --password is
hashed at start and wiped, and `sluice store passwd` makes a hash to pass instead, so the password is
never in the store's command line or config. python3-cassandra's PlainTextAuthProvider gets in
with the right password and AuthenticationFailed with a wrong one; a malformed hash is refused
at start with exit 2."""

import subprocess

import pytest
from cassandra import AuthenticationFailed
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster, NoHostAvailable

import sluice_harness as sh

PW = "Hq7-correct horse battery"


def connect(store, user, pw):
    c = Cluster(["127.0.0.1"], port=store.port, protocol_version=4,
                auth_provider=PlainTextAuthProvider(user, pw), connect_timeout=sh.scaled(10))
    try:
        s = c.connect()
        return s.execute("SELECT release_version FROM system.local").one()[0]
    finally:
        c.shutdown()


def check(store, secret):
    assert connect(store, "cassandra", PW).startswith("4.")
    for user, pw in (("cassandra", "wrong"), ("cassandra", PW + "x"), ("nobody", PW)):
        with pytest.raises(NoHostAvailable) as e:
            connect(store, user, pw)
        errs = list(e.value.errors.values())
        assert errs and isinstance(errs[0], AuthenticationFailed), errs
        assert "are incorrect" in str(errs[0])
    # Reconnects after a success (the HMAC cache) and after failures still work.
    assert connect(store, "cassandra", PW).startswith("4.")
    assert "authentication failed for user 'nobody'" in store.log_text()
    log = "\n".join(x for x in store.log_text().splitlines() if not x.startswith("=== "))
    assert PW not in log and "wrong" not in log and (secret is None or secret not in log)


def test_plain_password_is_hashed_at_start(sluice_proc):
    store = sluice_proc("store", args=["--password", PW])
    check(store, None)
    # The configured text is wiped from the store's memory after hashing, but argv still has it:
    # /proc/PID/cmdline is the kernel's copy, which docs/security.md lists as not done.


def test_hash_from_sluice_store_passwd(sluice_proc):
    r = sh.run_sluice("store", "passwd", input=PW + "\n")
    assert r.returncode == 0, r.stderr
    h = r.stdout.strip()
    assert h.startswith("pbkdf2-sha256$100000$") and PW not in h
    again = sh.run_sluice("store", "passwd", input=PW + "\n").stdout.strip()
    assert again != h  # a fresh salt each time
    store = sluice_proc("store", args=["--password", h])
    check(store, None)
    assert PW not in open(f"/proc/{store.pid}/cmdline", "rb").read().decode(errors="replace")
    # The hash string itself is not a password that logs in.
    with pytest.raises(NoHostAvailable):
        connect(store, "cassandra", h)


def test_bad_hash_and_empty_password(tmp_path):
    r = sh.run_sluice("store", "--listen", f"127.0.0.1:{sh.free_port()}", "--data-dir", tmp_path,
                      "--password", "pbkdf2-sha256$100$zz$00")
    assert r.returncode == 2 and "password: a malformed pbkdf2-sha256$...$ hash" in r.stderr, r
    r = sh.run_sluice("store", "passwd", input="\n")
    assert r.returncode == 2 and "empty password" in r.stderr
    r = sh.run_sluice("store", "passwd", "extra")
    assert r.returncode == 2 and "takes no arguments" in r.stderr
