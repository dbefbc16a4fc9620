"""A raw CQL native protocol v4 client over a plain socket, for tests that must send what no
driver would (wrong versions, lying lengths, truncated bodies) and read the exact ERROR frame
back. It is written from doc/native_protocol_v4.spec, independently of the server; compression
uses Debian's python3-lz4 and python3-snappy, like the Python driver does."""

import socket
import struct

import sluice_harness as sh

OPCODES = {"ERROR": 0x00, "STARTUP": 0x01, "READY": 0x02, "AUTHENTICATE": 0x03, "OPTIONS": 0x05,
           "SUPPORTED": 0x06, "QUERY": 0x07, "RESULT": 0x08, "PREPARE": 0x09, "EXECUTE": 0x0A,
           "REGISTER": 0x0B, "EVENT": 0x0C, "BATCH": 0x0D, "AUTH_CHALLENGE": 0x0E,
           "AUTH_RESPONSE": 0x0F, "AUTH_SUCCESS": 0x10}
OPNAMES = {v: k for k, v in OPCODES.items()}
PROTOCOL_ERROR = 0x000A
BAD_CREDENTIALS = 0x0100
UNPREPARED = 0x2500
LOCAL_ONE = 0x000A


def short(n):
    return struct.pack(">H", n)


def string(s):
    b = s.encode() if isinstance(s, str) else s
    return short(len(b)) + b


def int32(v):
    return struct.pack(">i", v)


def long_string(s):
    b = s.encode() if isinstance(s, str) else s
    return int32(len(b)) + b


def bytes_(b):
    return struct.pack(">i", -1) if b is None else struct.pack(">i", len(b)) + b


def string_map(d):
    return short(len(d)) + b"".join(string(k) + string(v) for k, v in d.items())


def string_list(items):
    return short(len(items)) + b"".join(string(s) for s in items)


def query_body(text, consistency=LOCAL_ONE, flags=0, extra=b""):
    return long_string(text) + short(consistency) + bytes([flags]) + extra


def lz4_compress(body):
    import lz4.block
    return struct.pack(">I", len(body)) + lz4.block.compress(body, store_size=False)


def lz4_decompress(body):
    import lz4.block
    (n,) = struct.unpack(">I", body[:4])
    return lz4.block.decompress(body[4:], uncompressed_size=n)


def snappy_compress(body):
    import snappy
    return snappy.compress(body)


def snappy_decompress(body):
    import snappy
    return snappy.decompress(body)


CODECS = {"lz4": (lz4_compress, lz4_decompress), "snappy": (snappy_compress, snappy_decompress)}


class Frame:
    def __init__(self, version, flags, stream, opcode, body):
        self.version, self.flags, self.stream, self.opcode, self.body = (
            version, flags, stream, opcode, body)

    @property
    def name(self):
        return OPNAMES.get(self.opcode, hex(self.opcode))

    def error(self):
        """(code, message) of an ERROR frame."""
        assert self.opcode == OPCODES["ERROR"], f"expected ERROR, got {self.name}: {self.body!r}"
        code, n = struct.unpack(">iH", self.body[:6])
        return code, self.body[6:6 + n].decode()

    def __repr__(self):
        return (f"<Frame v=0x{self.version:02x} flags=0x{self.flags:02x} stream={self.stream} "
                f"{self.name} {self.body[:80]!r}>")


class Reader:
    """Reads the bytes of a body in protocol notation."""

    def __init__(self, body):
        self.b, self.i = body, 0

    def take(self, n):
        assert n >= 0 and self.i + n <= len(self.b), \
            f"short body: want {n} bytes at {self.i} of {len(self.b)}"
        v = self.b[self.i:self.i + n]
        self.i += n
        return v

    def int(self):
        return struct.unpack(">i", self.take(4))[0]

    def short(self):
        return struct.unpack(">H", self.take(2))[0]

    def string(self):
        return self.take(self.short()).decode()

    def long_string(self):
        return self.take(self.int()).decode()

    def bytes(self):
        n = self.int()
        return None if n < 0 else self.take(n)

    def short_bytes(self):
        return self.take(self.short())

    def string_list(self):
        return [self.string() for _ in range(self.short())]

    def string_multimap(self):
        return {self.string(): self.string_list() for _ in range(self.short())}

    def option(self):
        """A type [option] as a nested tuple: (id,) or (id, children...)."""
        tid = self.short()
        if tid == 0x0000:
            return (tid, self.string())
        if tid in (0x20, 0x22):
            return (tid, self.option())
        if tid == 0x21:
            return (tid, self.option(), self.option())
        if tid == 0x30:
            ks, name = self.string(), self.string()
            fields = [(self.string(), self.option()) for _ in range(self.short())]
            return (tid, ks, name, fields)
        if tid == 0x31:
            return (tid, *[self.option() for _ in range(self.short())])
        return (tid,)

    def rest(self):
        return self.take(len(self.b) - self.i)


def parse_rows(body):
    """A Rows RESULT body -> (column names, rows of raw bytes, paging_state or None)."""
    r = Reader(body)
    assert r.int() == 2, "not a Rows result"
    flags, ncols = r.int(), r.int()
    paging = r.bytes() if flags & 0x2 else None
    names = []
    if not flags & 0x4:
        if flags & 0x1:
            r.string(), r.string()
        for _ in range(ncols):
            if not flags & 0x1:
                r.string(), r.string()
            names.append(r.string())
            r.option()
    rows = [[r.bytes() for _ in range(ncols)] for _ in range(r.int())]
    return names, rows, paging


class Conn:
    """One connection. send() writes a frame (or raw bytes); recv() returns the next Frame, or
    None once the server has closed the connection."""

    def __init__(self, port, host="127.0.0.1", timeout=10):
        self.sock = socket.create_connection((host, port), timeout=sh.scaled(timeout))
        self.buf = b""
        self.compress = self.decompress = None

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, opcode, body=b"", stream=0, flags=0, version=4, compress=None):
        if isinstance(opcode, str):
            opcode = OPCODES[opcode]
        if compress is None:
            compress = self.compress is not None and len(body) > 0
        if compress:
            body = self.compress(body)
            flags |= 0x01
        self.sock.sendall(struct.pack(">BBhBi", version, flags, stream, opcode, len(body)) + body)

    def _fill(self, n):
        while len(self.buf) < n:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return False
            self.buf += chunk
        return True

    def recv(self):
        if not self._fill(9):
            assert self.buf == b"", f"connection closed inside a header: {self.buf!r}"
            return None
        version, flags, stream, opcode, n = struct.unpack(">BBhBi", self.buf[:9])
        assert self._fill(9 + n), "connection closed inside a body"
        body = self.buf[9:9 + n]
        self.buf = self.buf[9 + n:]
        if flags & 0x01:
            assert self.decompress, "compressed frame without negotiated compression"
            body = self.decompress(body)
        if flags & 0x08:  # warnings come first; tests read them from .warnings
            r = Reader(body)
            warnings = r.string_list()
            body = body[r.i:]
        else:
            warnings = []
        f = Frame(version, flags, stream, opcode, body)
        f.warnings = warnings
        return f

    def request(self, opcode, body=b"", stream=0, **kw):
        self.send(opcode, body, stream=stream, **kw)
        f = self.recv()
        assert f is not None, f"connection closed after {opcode}"
        return f

    def expect_closed(self):
        """Asserts the server closes the connection without sending anything more."""
        f = self.recv()
        assert f is None, f"expected the connection to close, got {f}"

    def startup(self, user="cassandra", password="cassandra", compression=None, stream=0):
        opts = {"CQL_VERSION": "3.0.0"}
        if compression:
            opts["COMPRESSION"] = compression
        self.send("STARTUP", string_map(opts), stream=stream, compress=False)
        if compression:
            self.compress, self.decompress = CODECS[compression]
        f = self.recv()
        if f.name == "AUTHENTICATE":
            assert Reader(f.body).string() == "org.apache.cassandra.auth.PasswordAuthenticator"
            token = b"\x00" + user.encode() + b"\x00" + password.encode()
            f = self.request("AUTH_RESPONSE", bytes_(token), stream=stream)
            assert f.name == "AUTH_SUCCESS", f
        else:
            assert f.name == "READY", f
        return self

    def query(self, text, stream=0, consistency=LOCAL_ONE):
        return self.request("QUERY", query_body(text, consistency), stream=stream)
