"""`sluice console` serves its single-page app from assets embedded in the binary (no files on
disk are read), prints the first-start admin password once and stores only its hash, and the
`sluice console user` command manages users without a running console."""

import os
import stat

import requests

import console_util as cu
import sluice_harness as sh


def test_shell_and_assets_are_embedded(sluice_proc):
    con = cu.start(sluice_proc)
    r = requests.get(cu.url(con, "/"), timeout=5)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Frame-Options"] == "DENY"
    assert '<script src="/assets/app.js"></script>' in r.text
    for name, ctype in [("app.js", "text/javascript"), ("app.css", "text/css"),
                        ("start.js", "text/javascript")]:
        a = requests.get(cu.url(con, "/assets/" + name), timeout=5)
        assert a.status_code == 200, name
        assert a.headers["Content-Type"].startswith(ctype)
        src = os.path.join(sh.REPO, "src/console/assets", name)
        assert a.content == open(src, "rb").read()
    # Every page module in the binary gets a script tag in the shell.
    for name in sorted(os.listdir(os.path.join(sh.REPO, "src/console/assets"))):
        if name.startswith("page_") and name.endswith(".js"):
            assert f'<script src="/assets/{name}"></script>' in r.text


def test_first_start_password_printed_once_and_hashed(sluice_proc):
    con = cu.start(sluice_proc)
    pw = con.admin_password
    users = con.data_dir / "users"
    mode = stat.S_IMODE(os.stat(users).st_mode)
    assert mode == 0o600
    text = users.read_text()
    assert pw not in text
    assert "admin admin pbkdf2-sha256 " in text
    s = cu.login(con)
    assert s.get(cu.url(con, "/api/session"), timeout=5).json()["user"] == "admin"
    con.restart()
    assert con.log_text().count("created user admin with password") == 1
    cu.login(con, password=pw)  # the same password after a restart


def test_user_command(sluice_bin, tmp_path):
    d = str(tmp_path / "c")
    r = sh.run_sluice("console", "user", "add", "ann", "--role", "viewer", "--data-dir", d)
    assert r.returncode == 0, r.stderr
    assert "created user admin with password" in r.stdout  # the users file did not exist
    assert "user ann (viewer), password " in r.stdout
    r = sh.run_sluice("console", "user", "add", "bob", "--role", "admin", "--password-stdin",
                      "--data-dir", d, input="s3cret-pw\n")
    assert r.returncode == 0 and "user bob (admin) set" in r.stdout
    r = sh.run_sluice("console", "user", "list", "--data-dir", d)
    assert r.stdout.split() == ["admin", "admin", "ann", "viewer", "bob", "admin"]
    assert sh.run_sluice("console", "user", "delete", "ann", "--data-dir", d).returncode == 0
    r = sh.run_sluice("console", "user", "delete", "ann", "--data-dir", d)
    assert r.returncode == 2 and "no such user" in r.stderr
    r = sh.run_sluice("console", "user", "add", "bad name", "--data-dir", d)
    assert r.returncode == 2 and "bad name" in r.stderr
    r = sh.run_sluice("console", "user", "add", "x", "--role", "root", "--data-dir", d)
    assert r.returncode == 2
    r = sh.run_sluice("console", "user", "frob", "--data-dir", d)
    assert r.returncode == 2
    assert sh.run_sluice("console", "user", "delete", "bob", "--data-dir", d).returncode == 0
    r = sh.run_sluice("console", "user", "delete", "admin", "--data-dir", d)
    assert r.returncode == 2 and "last admin" in r.stderr


def test_bad_flags_exit_2(sluice_bin, tmp_path):
    r = sh.run_sluice("console", "--listen", "nowhere")
    assert r.returncode == 2
    r = sh.run_sluice("console", "--frobnicate")
    assert r.returncode == 2
    r = sh.run_sluice("console", "--help")
    assert r.returncode == 0
    # An unreadable users file stops the console with the file named, exit 1.
    d = tmp_path / "c"
    d.mkdir()
    (d / "users").write_text("garbage line\n")
    r = sh.run_sluice("console", "--listen", "127.0.0.1:0", "--data-dir", str(d), timeout=10)
    assert r.returncode == 1
    assert "users:1: not a user line" in r.stderr
