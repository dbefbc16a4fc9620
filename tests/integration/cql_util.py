"""Helpers for the CQL store's integration tests (test_02xx): starting `sluice store`, connecting
python3-cassandra to it, and a raw native protocol v4 connection for the requests a driver will
not send (wrong value lengths, invalid UTF-8, unknown prepared ids, wrong bind counts).

Layouts follow apache/cassandra doc/native_protocol_v4.spec; section numbers refer to it."""

import re
import socket
import struct
import time
import zlib

import pytest

import sluice_harness as sh
# The protocol notation (encoders and the body Reader) is shared with cql_raw.py.
from cql_raw import Reader, int32, long_string, short, string, string_list, string_map  # noqa: F401

USER, PASSWORD = "cassandra", "cassandra"
DC = "datacenter1"

# Opcodes (§2.4).
ERROR, STARTUP, READY, AUTHENTICATE, OPTIONS, SUPPORTED = 0x00, 0x01, 0x02, 0x03, 0x05, 0x06
QUERY, RESULT, PREPARE, EXECUTE, REGISTER, EVENT, BATCH = 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D
AUTH_CHALLENGE, AUTH_RESPONSE, AUTH_SUCCESS = 0x0E, 0x0F, 0x10

# Error codes (§9).
SERVER_ERROR, PROTOCOL_ERROR, BAD_CREDENTIALS = 0x0000, 0x000A, 0x0100
SYNTAX_ERROR, UNAUTHORIZED, INVALID, ALREADY_EXISTS, UNPREPARED = (0x2000, 0x2100, 0x2200,
                                                                   0x2400, 0x2500)

ONE = 0x0001

# Result kinds (§4.2.5).
VOID, ROWS, SET_KEYSPACE, PREPARED, SCHEMA_CHANGE = 1, 2, 3, 4, 5


# ---------------------------------------------------------------------------------------------
# python3-cassandra


def cluster(store, *, protocol_version=None, user=USER, password=PASSWORD, timeout=10, **kw):
    """A python3-cassandra Cluster for store (a SluiceProcess) with PlainTextAuthProvider and a
    DC-aware policy for datacenter1; requests time out after the scaled timeout. Without
    protocol_version the driver negotiates (it steps down from its newest version to v4)."""
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import ConstantReconnectionPolicy, DCAwareRoundRobinPolicy

    profile = ExecutionProfile(load_balancing_policy=DCAwareRoundRobinPolicy(local_dc=DC),
                               request_timeout=sh.scaled(timeout))
    args = dict(contact_points=[store.host], port=store.port,
                auth_provider=PlainTextAuthProvider(username=user, password=password),
                execution_profiles={EXEC_PROFILE_DEFAULT: profile},
                connect_timeout=sh.scaled(5), control_connection_timeout=sh.scaled(5),
                reconnection_policy=ConstantReconnectionPolicy(0.1, None),
                schema_event_refresh_window=0.05, topology_event_refresh_window=0.05,
                max_schema_agreement_wait=sh.scaled(10))
    if protocol_version is not None:
        args["protocol_version"] = protocol_version
    args.update(kw)
    return Cluster(**args)


def create_keyspace(session, name):
    session.execute(f"CREATE KEYSPACE {name} WITH replication = "
                    "{'class': 'SimpleStrategy', 'replication_factor': 1}")


def ks_name(request):
    """A keyspace name for the test of request: letters, digits and _, at most 48 chars."""
    name = request.node.name.lower()
    base = re.sub(r"[^a-z0-9_]+", "_", name.removeprefix("test_")).strip("_")
    return f"ks_{base[:36]}_{zlib.crc32(name.encode()):08x}"


@pytest.fixture(scope="module")
def store(request, tmp_path_factory):
    """One `sluice store` for a whole test module (each test works in a keyspace of its own, so
    the tests stay independent while paying for the start and the driver's connect once)."""
    p = sh.SluiceProcess("store", tmp_path_factory.mktemp("store"), name="store")
    p.start()
    request.module._cql_store = p
    yield p
    problems = p.cleanup()
    if problems:
        pytest.fail("unclean store shutdown:\n  " + "\n  ".join(problems), pytrace=False)


@pytest.fixture(autouse=True)
def _attach_store_log(request):
    """Attaches the module's store log to a failing test's report (conftest reads
    item._sluice_procs)."""
    p = getattr(request.module, "_cql_store", None)
    if p is not None and not hasattr(request.node, "_sluice_procs"):
        request.node._sluice_procs = [p]
    yield


@pytest.fixture(scope="module")
def cql(store):
    """A connected python3-cassandra Cluster for the module's store."""
    c = cluster(store)
    c.connect().shutdown()
    yield c
    c.shutdown()


@pytest.fixture
def ks(request, cql):
    """A fresh keyspace for this test; yields (session in that keyspace, keyspace name)."""
    name = ks_name(request)
    admin = cql.connect()
    admin.execute(f"DROP KEYSPACE IF EXISTS {name}")
    create_keyspace(admin, name)
    s = cql.connect(name)
    yield s, name
    s.shutdown()
    admin.shutdown()


def assert_alive(store, session=None):
    """The store still answers: on session (if given), on a new driver connection and on a new
    raw connection."""
    if session is not None:
        assert session.execute("SELECT release_version FROM system.local").one()
    c = cluster(store, protocol_version=4)
    try:
        s = c.connect()
        row = s.execute("SELECT cluster_name, data_center FROM system.local").one()
        assert row.data_center == DC
    finally:
        c.shutdown()
    with RawConn(store) as r:
        assert r.query("SELECT key FROM system.local").rows == [[b"local"]]


def wait_until(pred, timeout, what="condition", interval=0.05):
    return sh.wait_until(pred, sh.scaled(timeout), interval=interval, what=what)


# ---------------------------------------------------------------------------------------------
# Raw native protocol v4


def value(v):
    """A [value]: None is null (-1); bytes as they are."""
    return int32(-1) if v is None else int32(len(v)) + v


def query_params(values=None, consistency=ONE, page_size=None, paging_state=None, names=None):
    """<query_parameters> of §4.1.4 with positional (or, with names, named) values."""
    flags = 0
    tail = b""
    if values is not None:
        flags |= 0x01
        tail += short(len(values))
        for i, v in enumerate(values):
            if names is not None:
                tail += string(names[i])
            tail += value(v)
        if names is not None:
            flags |= 0x40
    if page_size is not None:
        flags |= 0x04
        tail += int32(page_size)
    if paging_state is not None:
        flags |= 0x08
        tail += value(paging_state)
    return short(consistency) + bytes([flags]) + tail


class CqlError(Exception):
    """An ERROR response (§4.2.1): code, message and the rest of the body (the extra fields)."""

    def __init__(self, code, message, extra, stream):
        super().__init__(f"error 0x{code:04x}: {message}")
        self.code = code
        self.message = message
        self.extra = extra
        self.stream = stream


class Result:
    def __init__(self, kind):
        self.kind = kind
        self.columns = []  # [(keyspace, table, name, option)]
        self.rows = []  # [[bytes or None]]
        self.paging_state = None
        self.keyspace = None
        self.id = None
        self.bind = []
        self.pk_indexes = []
        self.change = None

    @classmethod
    def parse(cls, body):
        r = Reader(body)
        res = cls(r.int())
        if res.kind == ROWS:
            res.columns, res.paging_state = parse_metadata(r)
            nrows = r.int()
            res.rows = [[r.bytes() for _ in res.columns] for _ in range(nrows)]
        elif res.kind == SET_KEYSPACE:
            res.keyspace = r.string()
        elif res.kind == PREPARED:
            res.id = r.short_bytes()
            flags, ncols = r.int(), r.int()
            npk = r.int()
            res.pk_indexes = [r.short() for _ in range(npk)]
            res.bind = parse_colspecs(r, flags, ncols)
            res.columns, _ = parse_metadata(r)
        elif res.kind == SCHEMA_CHANGE:
            res.change = parse_change(r)
        return res


def parse_colspecs(r, flags, ncols):
    if flags & 0x0001:
        gks, gtable = r.string(), r.string()
    cols = []
    for _ in range(ncols):
        if flags & 0x0001:
            ks, table = gks, gtable
        else:
            ks, table = r.string(), r.string()
        cols.append((ks, table, r.string(), r.option()))
    return cols


def parse_metadata(r):
    """Rows metadata (§4.2.5.2): ([(ks, table, name, option)], paging_state or None)."""
    flags, ncols = r.int(), r.int()
    paging_state = r.bytes() if flags & 0x0002 else None
    if flags & 0x0004:
        return [(None, None, None, None)] * ncols, paging_state
    return parse_colspecs(r, flags, ncols), paging_state


def parse_change(r):
    change, target = r.string(), r.string()
    if target == "KEYSPACE":
        return (change, target, r.string())
    if target in ("TABLE", "TYPE"):
        return (change, target, r.string(), r.string())
    return (change, target, r.string(), r.string(), r.string_list())


class RawConn:
    """One native protocol v4 connection: STARTUP (and SASL PLAIN if the server asks), then
    requests one at a time, or raw frames through send_frame/recv_frame."""

    def __init__(self, store, user=USER, password=PASSWORD, startup=True, timeout=10):
        self.sock = socket.create_connection((store.host, store.port), timeout=sh.scaled(5))
        self.sock.settimeout(sh.scaled(timeout))
        self.next_stream = 1
        self.events = []  # EVENT bodies received while waiting for a response
        self.warnings = []  # the last response's warnings
        if startup:
            self.startup(user, password)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.sock.close()

    def startup(self, user=USER, password=PASSWORD, options=None):
        op, body, _, _ = self.request(STARTUP, string_map(options or {"CQL_VERSION": "3.0.0"}))
        if op == AUTHENTICATE:
            op, body, _, _ = self.request(
                AUTH_RESPONSE, value(b"\0" + user.encode() + b"\0" + password.encode()))
            if op == ERROR:
                raise self.error(body, 0)
            assert op == AUTH_SUCCESS, f"AUTH_RESPONSE answered with opcode {op:#x}"
        elif op == ERROR:
            raise self.error(body, 0)
        else:
            assert op == READY, f"STARTUP answered with opcode {op:#x}"

    def send_frame(self, opcode, body, stream=None, version=4, flags=0):
        if stream is None:
            stream = self.next_stream
            self.next_stream = self.next_stream % 32767 + 1
        self.sock.sendall(struct.pack(">BBhBi", version, flags, stream, opcode, len(body)) + body)
        return stream

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError(f"connection closed after {len(buf)} of {n} bytes")
            buf += chunk
        return buf

    def recv_frame(self):
        """(version, flags, stream, opcode, body) of the next frame."""
        version, flags, stream, opcode, length = struct.unpack(">BBhBi", self.recv_exact(9))
        body = self.recv_exact(length) if length else b""
        return version, flags, stream, opcode, body

    def request(self, opcode, body):
        """Sends one request and returns (opcode, body, flags, stream) of its response; EVENT
        frames (stream -1) that arrive meanwhile are kept in self.events."""
        stream = self.send_frame(opcode, body)
        while True:
            version, flags, rstream, op, rbody = self.recv_frame()
            assert version == 0x84, f"response version byte {version:#x}"
            if rstream == -1 and op == EVENT:
                self.events.append(rbody)
                continue
            assert rstream == stream, f"response on stream {rstream}, request on {stream}"
            if flags & 0x08:  # warnings precede the body
                r = Reader(rbody)
                self.warnings = r.string_list()
                rbody = r.rest()
            return op, rbody, flags, rstream

    @staticmethod
    def error(body, stream):
        r = Reader(body)
        code = r.int()
        message = r.string()
        return CqlError(code, message, r.rest(), stream)

    def result(self, op, body, stream):
        if op == ERROR:
            raise self.error(body, stream)
        assert op == RESULT, f"expected RESULT, got opcode {op:#x}"
        return Result.parse(body)

    def query(self, text, values=None, **kw):
        op, body, _, stream = self.request(QUERY, long_string(text) + query_params(values, **kw))
        return self.result(op, body, stream)

    def prepare(self, text):
        op, body, _, stream = self.request(PREPARE, long_string(text))
        return self.result(op, body, stream)

    def execute(self, stmt_id, values=None, **kw):
        op, body, _, stream = self.request(EXECUTE, string(stmt_id) + query_params(values, **kw))
        return self.result(op, body, stream)

    def register(self, events=("SCHEMA_CHANGE",)):
        self.events = []
        op, body, _, _ = self.request(REGISTER, string_list(list(events)))
        assert op == READY, f"REGISTER answered with opcode {op:#x}"

    def expect_error(self, fn, *args, **kw):
        """Runs a request that must fail; returns its CqlError."""
        try:
            res = fn(*args, **kw)
        except CqlError as e:
            return e
        raise AssertionError(f"expected an ERROR response, got result kind {res.kind}")

    def wait_event(self, timeout=5):
        """The next pushed EVENT body (one already received first)."""
        if self.events:
            return self.events.pop(0)
        deadline = time.monotonic() + sh.scaled(timeout)
        while time.monotonic() < deadline:
            _, _, stream, op, body = self.recv_frame()
            if stream == -1 and op == EVENT:
                return body
        raise TimeoutError("no EVENT frame")
