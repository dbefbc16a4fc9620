"""Tests of the test harness itself (conftest.py, sluice_harness.py): ports, scaled timeouts, the
process lifecycle (start, wait_ready, kill -9, restart on the same port and data dir, teardown
and log attachment) and the PostgreSQL fixture.

The lifecycle tests drive a tiny Python TCP listener rather than a sluice component, so that
they check the harness alone; component tests check the components."""

import socket
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest

import sluice_harness as sh
from test_0001_cli import LISTENING_COMMANDS

HERE = Path(__file__).resolve().parent

# Records each start in DATA/starts, then accepts connections until SIGTERM. With --ignore-term
# it ignores SIGTERM, to test the SIGKILL fallback.
LISTENER = r"""
import os, signal, socket, sys
port, data = int(sys.argv[1]), sys.argv[2]
if "--ignore-term" in sys.argv:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
else:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
with open(os.path.join(data, "starts"), "a") as f:
    f.write("start\n")
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen()
print("listening on", port, flush=True)
while True:
    c, _ = s.accept()
    c.sendall(open(os.path.join(data, "starts")).read().encode())
    c.close()
"""


@pytest.fixture
def listener(tmp_path):
    path = tmp_path / "listener.py"
    path.write_text(LISTENER)
    return path


def fetch(port):
    with socket.create_connection(("127.0.0.1", port), timeout=sh.scaled(5)) as c:
        data = b""
        while chunk := c.recv(4096):
            data += chunk
    return data.decode()


def test_free_port_is_bindable_and_unique():
    ports = [sh.free_port() for _ in range(50)]
    assert len(set(ports)) == 50
    assert all(20000 <= p < 32768 for p in ports)
    for p in ports[:5]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", p))


def test_scaled_timeout(monkeypatch):
    monkeypatch.setenv("SLUICE_TIMEOUT_SCALE", "4")
    assert sh.scaled(2.5) == 10
    monkeypatch.setenv("SLUICE_TIMEOUT_SCALE", "0.5")
    assert sh.scaled(10) == 5
    monkeypatch.delenv("SLUICE_TIMEOUT_SCALE")
    assert sh.scaled(7) == 7


def test_wait_port_times_out_on_a_closed_port():
    port = sh.free_port()
    with pytest.raises(TimeoutError):
        sh.wait_port("127.0.0.1", port, 0.2)


def test_process_lifecycle(sluice_proc, listener):
    p = sluice_proc("listener", argv=[sys.executable, listener, "{port}", "{data_dir}"])
    assert p.running and p.addr == f"127.0.0.1:{p.port}"
    assert fetch(p.port) == "start\n"
    port, data_dir = p.port, p.data_dir

    p.kill9()
    assert not p.running and p.returncode == -9
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()

    p.restart()
    assert (p.port, p.data_dir) == (port, data_dir)
    assert fetch(p.port) == "start\nstart\n"

    p.crash_restart()
    assert fetch(p.port) == "start\nstart\nstart\n"
    assert p.stop() == 0
    p.wait_for_log(r"=== stop: exit status 0")
    assert p.log_text().count("listening on") == 3


def test_wait_ready_reports_early_exit(sluice_proc):
    with pytest.raises(RuntimeError, match="exited with status 3 before listening"):
        sluice_proc("early-exit", argv=[sys.executable, "-c", "print('bad config'); exit(3)"],
                    check_exit=False)


def test_one_shot_process(sluice_proc):
    p = sluice_proc("oneshot", listen=False, argv=[sys.executable, "-c", "print('done')"])
    assert p.wait(10) == 0
    assert "done" in p.log_text()


def test_sluice_components_get_listen_and_data_dir(tmp_path):
    p = sh.SluiceProcess("broker", tmp_path / "b", args=["--x", 1])
    argv = p.argv()
    assert argv[:2] == [str(sh.sluice_bin()), "broker"]
    assert argv[2:] == ["--listen", p.addr, "--data-dir", str(p.data_dir), "--x", "1"]
    r = sh.SluiceProcess("registry", tmp_path / "r", args=["--kafka", "127.0.0.1:1"]).argv()
    assert "--data-dir" not in r and "--listen" in r
    assert "--listen" not in sh.SluiceProcess("ingest", tmp_path / "i", listen=False).argv()


def test_failure_attaches_log_and_unclean_stop_fails(pytester, listener):
    """Runs pytest on two inner tests using this conftest: a failing test gets the process log
    in its report, and a process that ignores SIGTERM makes its test fail at teardown."""
    pytester.makeconftest((HERE / "conftest.py").read_text())
    pytester.makepyfile(sluice_harness=(HERE / "sluice_harness.py").read_text())
    pytester.makepyfile(test_inner=f"""
import sys
ARGV = [sys.executable, {str(listener)!r}, "{{port}}", "{{data_dir}}"]

def test_fails(sluice_proc):
    sluice_proc("lst", argv=ARGV)
    assert False, "deliberate"

def test_ignores_sigterm(sluice_proc):
    sluice_proc("stubborn", argv=ARGV + ["--ignore-term"], stop_grace=0.3)
""")
    r = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rfE")
    r.assert_outcomes(passed=1, failed=1, errors=1)
    out = r.stdout.str()
    assert "lst log (" in out and "listening on" in out
    assert "did not exit within" in out and "sent SIGKILL" in out


@pytest.mark.parametrize("component", LISTENING_COMMANDS)
def test_component_lifecycle(sluice_proc, component):
    """Every listening component the binary lists starts on a random port, survives kill -9 and
    restarts on the same port and data dir, and stops cleanly on SIGTERM (teardown checks the
    exit status and sanitizer reports). The registry keeps its state in a Kafka topic, so it
    gets a broker of its own."""
    args = []
    if component == "registry":
        args = ["--kafka", sluice_proc("broker").addr]
    p = sluice_proc(component, args=args)
    port, data_dir = p.port, p.data_dir
    with socket.create_connection(("127.0.0.1", port), timeout=sh.scaled(5)):
        pass
    p.crash_restart()
    assert (p.port, p.data_dir) == (port, data_dir) and p.running
    with socket.create_connection(("127.0.0.1", port), timeout=sh.scaled(5)):
        pass
    assert p.stop() == 0, p.log_text()


def test_postgres_fixture(postgres, pg_db):
    with psycopg2.connect(pg_db.dsn) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE users (id uuid PRIMARY KEY, first_name text)")
        cur.execute("INSERT INTO users VALUES (gen_random_uuid(), 'Ada')")
        cur.execute("SELECT first_name FROM users")
        assert cur.fetchall() == [("Ada",)]
    # The URL form and the unix socket reach the same server.
    with psycopg2.connect(pg_db.url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM users")
        assert cur.fetchone() == (1,)
    with psycopg2.connect(postgres.socket_dsn(pg_db.name)) as conn, conn.cursor() as cur:
        cur.execute("SHOW port")
        assert cur.fetchone() == (str(postgres.port),)
    # libpq itself (psql) takes the same DSN.
    r = subprocess.run(["psql", pg_db.dsn, "-Atc", "SELECT first_name FROM users"],
                       capture_output=True, text=True, timeout=sh.scaled(30))
    assert (r.returncode, r.stdout) == (0, "Ada\n"), r.stderr
    assert postgres.root.stat().st_mode & 0o005 == 0o005
    assert postgres.sql("SELECT current_database()") == [("postgres",)]
    with psycopg2.connect(postgres.dsn) as conn:
        assert conn.get_dsn_parameters()["port"] == str(postgres.port)


def test_pg_db_is_fresh(pg_db):
    with psycopg2.connect(pg_db.dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        assert cur.fetchone() == (0,)


def test_node_runner_resolves_client_libraries(node):
    r = node("const {Kafka} = require('kafkajs'); const cassandra = require('cassandra-driver');"
             "console.log(typeof Kafka, typeof cassandra.Client, process.argv[2]);", "arg1")
    assert r.stdout.strip() == "function function arg1"
    with pytest.raises(AssertionError, match="exited 3"):
        node("process.exit(3)")


def test_kcat_is_installed(kcat):
    r = subprocess.run([kcat, "-V"], capture_output=True, text=True, timeout=sh.scaled(10))
    assert r.returncode == 0 and "kcat" in r.stdout
