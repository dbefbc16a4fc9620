"""Bad input on the CQL wire, byte by byte over raw sockets (cql_raw.py): every malformed frame,
wrong version byte, oversized body, out-of-order or unknown message and truncated body gets
the ERROR frame Cassandra would send (code, wording, stream, v4 response header), frame-level
errors close only their own connection, and the store keeps serving a connection that was
already open and a new one."""

import struct

import pytest

import cql_raw as cr

pytestmark = pytest.mark.timeout(120)

SUPPORTED = "supported versions are (4/v4)"


@pytest.fixture
def store(sluice_proc):
    return sluice_proc("store", args=["--max-frame-bytes", "4096"])


def healthy(port, conn=None):
    """A working connection: the one given, or a new authenticated one, answers a query."""
    c = conn or cr.Conn(port).startup()
    try:
        f = c.query("SELECT release_version FROM system.local", stream=77)
        assert f.name == "RESULT" and f.stream == 77, f
        names, rows, _ = cr.parse_rows(f.body)
        assert names == ["release_version"] and rows[0][0].startswith(b"4."), (names, rows)
    finally:
        if conn is None:
            c.close()


def assert_protocol_error(f, stream, text, exact=False):
    assert f is not None, "the connection closed without an ERROR frame"
    assert f.version == 0x84 and f.opcode == 0 and f.stream == stream, f
    code, msg = f.error()
    assert code == cr.PROTOCOL_ERROR, (hex(code), msg)
    assert (msg == text) if exact else msg.startswith(text), msg
    return msg


@pytest.mark.parametrize("version", [1, 2, 3, 5, 6, 0x41, 0x42, 0x7f])
def test_wrong_version_is_rejected_as_cassandra_words_it(store, version):
    bystander = cr.Conn(store.port).startup()
    with cr.Conn(store.port) as c:
        if version <= 2:  # v1/v2 headers are 8 bytes with a one-byte stream
            c.send_raw(bytes([version, 0, 9, 0x05]) + b"\0\0\0\0")
            stream = 9
        else:
            c.send("OPTIONS", stream=300, version=version)
            stream = 300
        f = c.recv()
        # Drivers step down on exactly this text (python: 'unsupported protocol version', node:
        # 'Invalid or unsupported protocol version'); node also reads the header's version.
        assert_protocol_error(f, stream, f"Invalid or unsupported protocol version ({version}); "
                              f"{SUPPORTED}", exact=True)
        c.expect_closed()
    healthy(store.port, bystander)
    healthy(store.port)
    bystander.close()


def test_response_bit_closes(store):
    with cr.Conn(store.port) as c:
        c.send("QUERY", cr.query_body("SELECT 1"), stream=5, version=0x84)
        assert_protocol_error(c.recv(), 5, "Wrong protocol direction (expected REQUEST, got "
                              "RESPONSE) for opcode 7 (QUERY)", exact=True)
        c.expect_closed()
    healthy(store.port)


def test_negative_length_closes(store):
    with cr.Conn(store.port) as c:
        c.send_raw(struct.pack(">BBhBi", 4, 0, 6, 0x05, -1))
        assert_protocol_error(c.recv(), 6, "Invalid frame body length -1", exact=True)
        c.expect_closed()
    healthy(store.port)


def test_body_over_the_limit_closes(store):
    bystander = cr.Conn(store.port).startup()
    with cr.Conn(store.port).startup() as c:
        # The header alone decides: 4097 bytes announced, only a few sent.
        c.send_raw(struct.pack(">BBhBi", 4, 0, 8, 0x07, 4097) + b"x" * 100)
        assert_protocol_error(c.recv(), 8, "Request is too big: length 4097 exceeds maximum "
                              "allowed length 4096.", exact=True)
        c.expect_closed()
    with cr.Conn(store.port).startup() as c:
        # Exactly at the limit is accepted (and is a malformed QUERY, answered on its stream).
        c.send("QUERY", struct.pack(">i", 4096) + b"x" * 4092, stream=3)
        assert_protocol_error(c.recv(), 3, "Invalid or truncated QUERY message body")
        healthy(store.port, c)
    healthy(store.port, bystander)
    bystander.close()


@pytest.mark.parametrize("algo", ["lz4", "snappy"])
def test_compressed_body_over_the_limit(store, algo):
    with cr.Conn(store.port).startup(compression=algo) as c:
        big = cr.query_body("SELECT * FROM system.local WHERE key = '" + "k" * 8000 + "'")
        c.send("QUERY", big, stream=4)  # compresses far below 4096 bytes
        f = c.recv()
        assert_protocol_error(f, 4, "Request is too big: uncompressed length exceeds maximum "
                              "allowed length 4096.", exact=True)
        healthy(store.port, c)  # a message-level error: the connection goes on
        # A corrupt body in the negotiated algorithm, declaring a small length.
        corrupt = b"\x00\x00\x00\x10\xff\xff" if algo == "lz4" else b"\x10\xff\xff"
        c.send("QUERY", corrupt, stream=5, compress=False, flags=0x01)
        assert_protocol_error(c.recv(), 5, f"Invalid {algo}-compressed QUERY frame body",
                              exact=True)
        healthy(store.port, c)


def test_compressed_frame_without_negotiation(store):
    with cr.Conn(store.port).startup() as c:
        c.send("QUERY", cr.lz4_compress(cr.query_body("SELECT 1")), stream=2, flags=0x01)
        assert_protocol_error(c.recv(), 2, "Received a compressed QUERY frame but no compression "
                              "was negotiated", exact=True)
        healthy(store.port, c)


@pytest.mark.parametrize("opcode", ["QUERY", "PREPARE", "EXECUTE", "BATCH", "REGISTER",
                                    "AUTH_RESPONSE"])
def test_request_before_startup(store, opcode):
    with cr.Conn(store.port) as c:
        f = c.request(opcode, b"\0\0\0\0", stream=11)
        assert_protocol_error(f, 11, f"Unexpected message {opcode}, expecting STARTUP or OPTIONS",
                              exact=True)
        # The connection stays usable: OPTIONS, then a proper STARTUP.
        f = c.request("OPTIONS", stream=12)
        assert f.name == "SUPPORTED" and f.stream == 12
        opts = cr.Reader(f.body).string_multimap()
        assert opts["COMPRESSION"] == ["lz4", "snappy"] and opts["CQL_VERSION"] == ["3.4.5"]
        c.startup()
        healthy(store.port, c)


@pytest.mark.parametrize("opcode,text", [
    (0x04, "Unknown opcode 4"), (0x11, "Unknown opcode 17"), (0xff, "Unknown opcode 255"),
    (0x08, "Wrong protocol direction (expected RESPONSE, got REQUEST) for opcode 8 (RESULT)"),
    (0x00, "Wrong protocol direction (expected RESPONSE, got REQUEST) for opcode 0 (ERROR)"),
])
def test_unknown_opcode(store, opcode, text):
    with cr.Conn(store.port).startup() as c:
        f = c.request(opcode, b"abc", stream=13)
        assert_protocol_error(f, 13, text, exact=True)
        healthy(store.port, c)


@pytest.mark.parametrize("opcode,body", [
    ("QUERY", cr.long_string("SELECT * FROM system.local")[:-3]),
    ("QUERY", cr.long_string("SELECT 1") + b"\x00"),  # consistency cut in half
    ("QUERY", cr.query_body("SELECT 1", flags=0x01, extra=b"\x00\x02" + cr.bytes_(b"x"))),
    ("QUERY", cr.query_body("SELECT 1", flags=0x04, extra=b"\x00\x00")),
    ("QUERY", struct.pack(">i", -5)),
    ("PREPARE", struct.pack(">i", 1000) + b"SELECT"),
    ("EXECUTE", b"\x00\x10" + b"\x01" * 8),
    ("BATCH", b"\x00\x00\x05\x00"),
    ("BATCH", b"\x07\x00\x00\x00\x01\x00"),  # batch type 7
    ("BATCH", b"\x00\x00\x00\x00\x01\x40"),  # names for values
    ("REGISTER", b"\x00\x03" + cr.string("SCHEMA_CHANGE")),
])
def test_truncated_or_malformed_body(store, opcode, body):
    with cr.Conn(store.port).startup() as c:
        f = c.request(opcode, body, stream=14)
        assert_protocol_error(f, 14, f"Invalid or truncated {opcode} message body (at byte ")
        healthy(store.port, c)


def test_startup_errors(store):
    with cr.Conn(store.port) as c:
        f = c.request("STARTUP", cr.string_map({"COMPRESSION": "lz4"}), stream=1)
        assert_protocol_error(f, 1, "Missing value CQL_VERSION in STARTUP message", exact=True)
        f = c.request("STARTUP", cr.string_map({"CQL_VERSION": "3.0.0", "COMPRESSION": "zstd"}),
                      stream=2)
        assert_protocol_error(f, 2, "Unknown compression algorithm: zstd", exact=True)
        f = c.request("STARTUP", cr.string_map({"CQL_VERSION": "2.0.0"}), stream=3)
        assert_protocol_error(f, 3, "CQL version 2.0.0 is not supported by the binary protocol")
        f = c.request("STARTUP", b"\x00\x01\x00", stream=4)
        assert_protocol_error(f, 4, "Invalid or truncated STARTUP message body")
        c.startup()
        f = c.request("STARTUP", cr.string_map({"CQL_VERSION": "3.0.0"}), stream=5)
        assert_protocol_error(f, 5, "Unexpected message STARTUP, the connection is already "
                              "initialized", exact=True)
        healthy(store.port, c)


def test_authentication_errors(store):
    with cr.Conn(store.port) as c:
        f = c.request("STARTUP", cr.string_map({"CQL_VERSION": "3.0.0"}), stream=1)
        assert f.name == "AUTHENTICATE", f
        f = c.request("QUERY", cr.query_body("SELECT * FROM system.local"), stream=2)
        assert_protocol_error(f, 2, "Unexpected message QUERY, expecting SASL_RESPONSE",
                              exact=True)
        for token, text in [
            (b"\x00cassandra\x00wrong", "Provided username cassandra and/or password are "
             "incorrect"),
            (b"\x00nobody\x00cassandra", "Provided username nobody and/or password are "
             "incorrect"),
            (b"\x00cassandra\x00", "Password must not be null"),
            (b"cassandra", "Password must not be null"),
            (b"\x00\x00cassandra", "Authentication ID must not be null"),
            (b"a\x00b\x00c\x00d", "Credential format error"),
            (None, "Password must not be null"),
        ]:
            f = c.request("AUTH_RESPONSE", cr.bytes_(token), stream=3)
            assert f.opcode == 0 and f.stream == 3, f
            code, msg = f.error()
            assert code == cr.BAD_CREDENTIALS and msg.startswith(text), (hex(code), msg)
        # Still authenticating: the right password now succeeds on the same connection.
        f = c.request("AUTH_RESPONSE", cr.bytes_(b"\x00cassandra\x00cassandra"), stream=4)
        assert f.name == "AUTH_SUCCESS" and cr.Reader(f.body).bytes() is None, f
        f = c.request("AUTH_RESPONSE", cr.bytes_(b"\x00cassandra\x00cassandra"), stream=5)
        assert_protocol_error(f, 5, "Unexpected message AUTH_RESPONSE")
        healthy(store.port, c)


def test_bad_query_parameters(store):
    with cr.Conn(store.port).startup() as c:
        f = c.request("QUERY", cr.query_body("SELECT * FROM system.local", consistency=0x0B),
                      stream=1)
        assert_protocol_error(f, 1, "Unknown code 11 for a consistency level", exact=True)
        f = c.request("QUERY", cr.query_body("SELECT * FROM system.local", flags=0x04,
                                             extra=struct.pack(">i", 0)), stream=2)
        assert_protocol_error(f, 2, "The page size cannot be 0", exact=True)
        f = c.request("QUERY", cr.query_body("SELECT * FROM system.local", flags=0x20,
                                             extra=struct.pack(">q", -2**63)), stream=3)
        assert_protocol_error(f, 3, "Out of bound timestamp")
        f = c.request("REGISTER", cr.string_list(["SCHEMA_CHANGE", "NOT_AN_EVENT"]), stream=4)
        assert_protocol_error(f, 4, "Invalid value 'NOT_AN_EVENT' for Type", exact=True)
        healthy(store.port, c)


def test_unknown_prepared_id_is_unprepared(store):
    with cr.Conn(store.port).startup() as c:
        qid = bytes(range(16))
        body = cr.string(qid) + cr.short(cr.LOCAL_ONE) + b"\x00"
        f = c.request("EXECUTE", body, stream=6)
        code, msg = f.error()
        assert code == cr.UNPREPARED and f.stream == 6, (hex(code), msg)
        r = cr.Reader(f.body)
        r.int(), r.string()
        assert r.take(r.short()) == qid  # the error carries the id back
        healthy(store.port, c)


def test_garbage_stream_then_healthy(store):
    """Random bytes that happen to start like a v4 frame: the server answers or closes, and
    never stops serving others."""
    import random
    rng = random.Random(250)
    bystander = cr.Conn(store.port).startup()
    for _ in range(30):
        with cr.Conn(store.port) as c:
            junk = bytes([4, rng.randrange(256), 0, rng.randrange(8), rng.randrange(0x12),
                          0, 0, 0, rng.randrange(64)]) + rng.randbytes(rng.randrange(80))
            c.send_raw(junk)
            c.sock.shutdown(1)
            while c.recv() is not None:
                pass
    healthy(store.port, bystander)
    healthy(store.port)
    bystander.close()
