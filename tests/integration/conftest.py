"""Fixtures for sluice's integration tests (helpers in sluice_harness.py).

    def test_produce(sluice_proc, kcat):
        broker = sluice_proc("broker")            # started, accepting TCP on broker.port
        subprocess.run([kcat, "-b", broker.addr, "-L"], check=True)
        broker.crash_restart()                     # kill -9, same port and data dir

    def test_sink(postgres, pg_db):                # session server, a fresh database per test
        psycopg2.connect(pg_db.dsn)

A started process's log is attached to the report of a failing test. At teardown every process
is stopped (SIGTERM, then SIGKILL after a grace period); a process that had to be SIGKILLed, that
exited non-zero on SIGTERM, or whose log has a sanitizer report fails the test."""

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sluice_harness as sh  # noqa: E402

REPO = sh.REPO

pytest_plugins = ["pytester"]  # test_0002_harness runs pytest on inner tests with this conftest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)
    if not rep.failed:
        return
    for p in getattr(item, "_sluice_procs", []):
        rep.sections.append((f"{p.name} log ({p.log_path})", sh.tail(p.log_text())))
    pg = getattr(item.session, "_sluice_pg", None)
    if pg is not None and pg.log_text():
        rep.sections.append((f"postgres log ({pg.log_path})", sh.tail(pg.log_text(), 100)))


@pytest.fixture(scope="session")
def sluice_bin():
    """Path of the binary under test ($SLUICE_BIN, default build/sluice)."""
    b = sh.sluice_bin()
    if not b.is_file():
        pytest.fail(f"{b} does not exist: build first (make build)", pytrace=False)
    return b


@pytest.fixture
def sluice_proc(request, tmp_path):
    """Factory: sluice_proc(component, listen=True, args=[...], env={...}, wait=True, ...)
    starts `sluice <component> --listen 127.0.0.1:<free port> [--data-dir <fresh dir>] args`
    and returns a started SluiceProcess (.port .addr .data_dir .log_path .stop() .kill9()
    .restart() .crash_restart() .wait_ready() .wait() .wait_for_log()). listen=False for
    components that only connect out; listen=PORT to reuse a port. --data-dir is passed to the
    components that take one (override with data_dir=True/False)."""
    procs = []
    request.node._sluice_procs = procs

    def start(component, *, listen=True, args=(), wait=True, name=None, **kw):
        if kw.get("argv") is None and not sh.sluice_bin().is_file():
            pytest.fail(f"{sh.sluice_bin()} does not exist: build first (make build)",
                        pytrace=False)
        name = name or component
        n = sum(1 for p in procs if p.name.split("#")[0] == name)
        if n:
            name = f"{name}#{n + 1}"
        workdir = tmp_path / "procs" / name.replace("#", "-")
        p = sh.SluiceProcess(component, workdir, args=args, listen=listen, name=name, **kw)
        procs.append(p)
        return p.start(wait=wait)

    yield start

    problems = []
    for p in reversed(procs):
        problems += p.cleanup()
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.passed and not problems:
        shutil.rmtree(tmp_path / "procs", ignore_errors=True)
    if problems:
        pytest.fail("unclean component shutdown:\n  " + "\n  ".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def postgres(request):
    """A PostgreSQL server for the whole session, started on first use and removed afterwards.
    Yields a PostgresServer: .dsn (libpq/psycopg2 key=value string), .url (postgresql://),
    .dsn_for(db), .url_for(db), .port, .socket_dir, .sql(statement), .create_database(name)."""
    pg = sh.PostgresServer()
    request.session._sluice_pg = pg
    try:
        pg.start()
        yield pg
    finally:
        request.session._sluice_pg = None
        pg.stop()


class PgDatabase:
    def __init__(self, server, name):
        self.server = server
        self.name = name
        self.dsn = server.dsn_for(name)
        self.url = server.url_for(name)


@pytest.fixture
def pg_db(request, postgres):
    """A fresh, empty database on the session's PostgreSQL server, dropped after the test.
    .dsn (key=value), .url (postgresql://), .name, .server."""
    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:40]
    name += f"_{sh.free_port()}"
    postgres.create_database(name)
    yield PgDatabase(postgres, name)
    postgres.drop_database(name)


@pytest.fixture
def scaled():
    """scaled(seconds): a timeout multiplied by $SLUICE_TIMEOUT_SCALE."""
    return sh.scaled


@pytest.fixture
def free_port():
    """free_port(): a free loopback TCP port not handed out before in this session."""
    return sh.free_port


@pytest.fixture(scope="session")
def node():
    """node(script, *args, timeout=30, check=True): runs JavaScript source or a .js file with
    NODE_PATH at the repository's node_modules (kafkajs, cassandra-driver); returns a
    CompletedProcess with text stdout/stderr."""
    if not shutil.which("node"):
        pytest.fail("node not found", pytrace=False)
    return sh.run_node


@pytest.fixture(scope="session")
def kcat():
    """Path of the kcat binary."""
    return sh.kcat_path()


@pytest.fixture
def run_sluice(sluice_bin):
    """run_sluice(*args, timeout=30, input=None, env=None): runs build/sluice to completion and
    returns a CompletedProcess with text stdout/stderr."""
    return sh.run_sluice


@pytest.fixture(scope="session")
def repo():
    """The repository root (a Path)."""
    return REPO


def pytest_report_header(config):
    return [f"sluice: {sh.sluice_bin()} (timeout scale {sh.timeout_scale():g})",
            "python: " + sys.executable + (" (not Debian's /usr/bin/python3)"
                                           if sys.executable != "/usr/bin/python3" else "")]

