"""A minimal Kafka wire-protocol client for tests that must send exactly the bytes they choose:
malformed frames, bad CRCs, unsupported versions. Only the few non-flexible request versions the
tests need are encoded; real clients (kcat, confluent-kafka, kafka-python, kafkajs) do the rest.

Layouts follow apache/kafka clients/src/main/resources/common/message/*.json."""

import socket
import struct
import time

# Kafka error codes the tests look for.
NONE = 0
CORRUPT_MESSAGE = 2
UNKNOWN_TOPIC_OR_PARTITION = 3
INVALID_TOPIC_EXCEPTION = 17
UNSUPPORTED_VERSION = 35
TOPIC_ALREADY_EXISTS = 36

PRODUCE, FETCH, LIST_OFFSETS, METADATA = 0, 1, 2, 3
API_VERSIONS, CREATE_TOPICS = 18, 19


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc32c_table()


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = _CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283


def i8(v):
    return struct.pack(">b", v)


def i16(v):
    return struct.pack(">h", v)


def i32(v):
    return struct.pack(">i", v)


def i64(v):
    return struct.pack(">q", v)


def string(s):
    if s is None:
        return i16(-1)
    b = s.encode() if isinstance(s, str) else s
    return i16(len(b)) + b


def bytes_(b):
    if b is None:
        return i32(-1)
    return i32(len(b)) + b


def array(items):
    if items is None:
        return i32(-1)
    return i32(len(items)) + b"".join(items)


def uvarint(v):
    out = bytearray()
    while True:
        byte = v & 0x7F
        v >>= 7
        if v:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def varint(v):
    return uvarint((v << 1) ^ (v >> 63))


def record(value, key=None, offset_delta=0, ts_delta=0):
    def vbytes(b):
        return varint(-1) if b is None else varint(len(b)) + b

    body = i8(0) + varint(ts_delta) + varint(offset_delta) + vbytes(key) + vbytes(value) + \
        varint(0)
    return varint(len(body)) + body


def record_batch(values, *, producer_id=-1, producer_epoch=-1, base_sequence=-1,
                 timestamp=None, bad_crc=False):
    """An uncompressed magic-2 batch of the given values (bytes), base offset 0."""
    ts = int(time.time() * 1000) if timestamp is None else timestamp
    recs = b"".join(record(v, offset_delta=i) for i, v in enumerate(values))
    after_crc = (i16(0) + i32(len(values) - 1) + i64(ts) + i64(ts) + i64(producer_id) +
                 i16(producer_epoch) + i32(base_sequence) + i32(len(values)) + recs)
    crc = crc32c(after_crc)
    if bad_crc:
        crc ^= 0x5A5A5A5A
    after_len = i32(0) + i8(2) + struct.pack(">I", crc) + after_crc
    return i64(0) + i32(len(after_len)) + after_len


def frame(api_key, version, body, corr=1, client_id="kafka-wire-test"):
    """A length-prefixed request with a v1 (non-flexible) header."""
    hdr = i16(api_key) + i16(version) + i32(corr) + string(client_id)
    return i32(len(hdr) + len(body)) + hdr + body


class Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError(f"response truncated at {self.pos} (+{n} of {len(self.data)})")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def i8(self):
        return struct.unpack(">b", self.take(1))[0]

    def i16(self):
        return struct.unpack(">h", self.take(2))[0]

    def i32(self):
        return struct.unpack(">i", self.take(4))[0]

    def i64(self):
        return struct.unpack(">q", self.take(8))[0]

    def string(self):
        n = self.i16()
        return None if n < 0 else self.take(n).decode()

    def array(self, fn):
        n = self.i32()
        return [] if n < 0 else [fn(self) for _ in range(n)]

    def left(self):
        return len(self.data) - self.pos


class Closed(Exception):
    """The broker closed the connection instead of answering."""


class Conn:
    """One TCP connection to a broker; send() and recv() whole frames."""

    def __init__(self, addr, timeout=10.0):
        host, port = addr.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.sock.settimeout(timeout)
        self.corr = 0

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def _recv_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            try:
                chunk = self.sock.recv(n - len(buf))
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                raise Closed(f"connection closed after {len(buf)} of {n} bytes")
            buf += chunk
        return bytes(buf)

    def recv(self):
        """One response frame: (correlation id, bytes after the v0 response header)."""
        n = struct.unpack(">i", self._recv_exact(4))[0]
        data = self._recv_exact(n)
        return struct.unpack(">i", data[:4])[0], data[4:]

    def request(self, api_key, version, body):
        self.corr += 1
        self.send_raw(frame(api_key, version, body, corr=self.corr))
        corr, resp = self.recv()
        assert corr == self.corr, f"correlation id {corr}, expected {self.corr}"
        return Reader(resp)

    def closed_by_peer(self, timeout=10.0):
        """True once the broker has closed the connection (reads EOF), False if it answered
        with data instead; raises TimeoutError if neither happens in time."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            return True
        except socket.timeout:
            raise TimeoutError("broker neither answered nor closed the connection") from None
        return not data


def api_versions(conn, version=0):
    """ApiVersions v0-2: (error code, {api_key: (min, max)})."""
    r = conn.request(API_VERSIONS, version, b"")
    err = r.i16()
    keys = dict((k, (lo, hi)) for k, lo, hi in r.array(lambda r: (r.i16(), r.i16(), r.i16())))
    return err, keys


def produce(conn, topic, partition, batch, version=3, acks=-1, timeout_ms=10000):
    """Produce one batch to one partition: (error code, base offset)."""
    body = b""
    if version >= 3:
        body += string(None)  # transactional id
    body += i16(acks) + i32(timeout_ms)
    body += array([string(topic) + array([i32(partition) + bytes_(batch)])])
    r = conn.request(PRODUCE, version, body)
    topics = r.array(lambda r: (r.string(), r.array(_produce_partition(version))))
    (_, parts), = topics
    (_, err, base), = parts
    return err, base


def _produce_partition(version):
    def fn(r):
        p, err, base = r.i32(), r.i16(), r.i64()
        if version >= 2:
            r.i64()  # log append time
        if version >= 5:
            r.i64()  # log start offset
        return p, err, base
    return fn


def list_offsets(conn, topic, partition, timestamp=-1):
    """ListOffsets v1 for one partition: (error code, offset). timestamp -1 latest, -2 earliest."""
    body = i32(-1) + array([string(topic) + array([i32(partition) + i64(timestamp)])])
    r = conn.request(LIST_OFFSETS, 1, body)
    (_, parts), = r.array(lambda r: (r.string(), r.array(
        lambda r: (r.i32(), r.i16(), r.i64(), r.i64()))))
    (_, err, _, offset), = parts
    return err, offset


def metadata(conn, topics, version=1):
    """Metadata v1 (auto-creates when the broker does): {topic: (error, partition count)}."""
    body = array(None if topics is None else [string(t) for t in topics])
    r = conn.request(METADATA, version, body)
    r.array(lambda r: (r.i32(), r.string(), r.i32(), r.string()))  # brokers
    r.i32()  # controller

    def topic(r):
        err, name = r.i16(), r.string()
        r.i8()  # is_internal
        parts = r.array(lambda r: (r.i16(), r.i32(), r.i32(),
                                   r.array(lambda r: r.i32()), r.array(lambda r: r.i32())))
        return name, (err, len(parts))
    return dict(r.array(topic))


def create_topics(conn, topic, partitions=1, version=0):
    """CreateTopics v0 for one topic: its error code."""
    body = array([string(topic) + i32(partitions) + i16(1) + array([]) + array([])]) + i32(10000)
    r = conn.request(CREATE_TOPICS, version, body)
    (_, err), = r.array(lambda r: (r.string(), r.i16()))
    return err


INIT_PRODUCER_ID = 22
LEADER_NOT_AVAILABLE = 5
OUT_OF_ORDER_SEQUENCE_NUMBER = 45
INVALID_PRODUCER_EPOCH = 47
UNKNOWN_PRODUCER_ID = 59


def init_producer_id(conn):
    """InitProducerId v0 for an idempotent (non-transactional) producer: (error, id, epoch)."""
    r = conn.request(INIT_PRODUCER_ID, 0, string(None) + i32(60000))
    r.i32()  # throttle
    return r.i16(), r.i64(), r.i16()


def produce_no_ack(conn, topic, partition, batch, version=3):
    """Produce with acks=0: sends the request and returns its correlation id; the broker sends
    no response, so the next frame on the connection answers a later request."""
    conn.corr += 1
    body = (string(None) if version >= 3 else b"") + i16(0) + i32(10000)
    body += array([string(topic) + array([i32(partition) + bytes_(batch)])])
    conn.send_raw(frame(PRODUCE, version, body, corr=conn.corr))
    return conn.corr


def metadata_v4(conn, topics, allow_auto_create):
    """Metadata v4: (brokers [(node, host, port)], {topic: (error, partition count)})."""
    body = array(None if topics is None else [string(t) for t in topics])
    body += i8(1 if allow_auto_create else 0)
    r = conn.request(METADATA, 4, body)
    r.i32()  # throttle
    brokers = r.array(lambda r: (r.i32(), r.string(), r.i32(), r.string())[:3])
    r.string()  # cluster id
    r.i32()  # controller

    def topic(r):
        err, name = r.i16(), r.string()
        r.i8()  # is_internal
        parts = r.array(lambda r: (r.i16(), r.i32(), r.i32(),
                                   r.array(lambda r: r.i32()), r.array(lambda r: r.i32())))
        return name, (err, len(parts))
    return brokers, dict(r.array(topic))


def batches(records):
    """The record batches of a Fetch response's records: [(base offset, record count, bytes)]."""
    out, pos = [], 0
    while pos + 61 <= len(records):
        base, length = struct.unpack_from(">qi", records, pos)
        if pos + 12 + length > len(records):
            break  # a partial batch at the end (Kafka may send one)
        count = struct.unpack_from(">i", records, pos + 57)[0]
        out.append((base, count, 12 + length))
        pos += 12 + length
    return out


def fetch(conn, parts, max_wait_ms=0, min_bytes=1, max_bytes=50 << 20, timeout=None):
    """Fetch v11. parts: [(topic, partition, offset, partition max bytes)]. Returns
    {(topic, partition): (error, high watermark, log start, records bytes)}."""
    by_topic = {}
    for t, p, off, pmax in parts:
        by_topic.setdefault(t, []).append(i32(p) + i32(-1) + i64(off) + i64(-1) + i32(pmax))
    body = i32(-1) + i32(max_wait_ms) + i32(min_bytes) + i32(max_bytes) + i8(0) + i32(0) + \
        i32(-1)
    body += array([string(t) + array(ps) for t, ps in by_topic.items()])
    body += array([]) + string("")
    if timeout is not None:
        conn.sock.settimeout(timeout)
    r = conn.request(FETCH, 11, body)
    r.i32()  # throttle
    assert r.i16() == NONE
    r.i32()  # session id
    out = {}
    for _ in range(r.i32()):
        t = r.string()
        for _ in range(r.i32()):
            p, err, hwm = r.i32(), r.i16(), r.i64()
            r.i64()  # last stable offset
            log_start = r.i64()
            r.array(lambda r: (r.i64(), r.i64()))  # aborted transactions
            r.i32()  # preferred read replica
            n = r.i32()
            out[(t, p)] = (err, hwm, log_start, r.take(n) if n > 0 else b"")
    return out
