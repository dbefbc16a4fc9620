"""Bad input on the Kafka port, one test each (issue 3, "Bad input"): garbage bytes, a truncated
frame, a frame over --max-request-bytes, negative lengths and counts and counts larger than the
bytes left, an unknown API key, unsupported versions, a bad CRC and invalid topic names.

Each gets an error response or a closed connection. After each, a second, healthy client
(confluent-kafka) still produces and consumes, and every message acknowledged before is still
there."""

import random
import socket
import subprocess
import time

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

import kafka_wire as kw
import sluice_harness as sh

MAX_REQUEST = 1 << 20


class Ledger:
    """Acknowledged messages of the healthy client, checked after every bad input."""

    def __init__(self, addr):
        self.addr = addr
        self.acked = []

    def check(self, n=20):
        errors = []
        p = Producer({"bootstrap.servers": self.addr, "acks": "all"})
        batch = [b"healthy-%d" % (len(self.acked) + i) for i in range(n)]
        for v in batch:
            p.produce("healthy", value=v, on_delivery=lambda e, m: errors.append(e) if e else None)
        assert p.flush(sh.scaled(15)) == 0, "healthy producer could not deliver"
        assert not errors, f"healthy producer: {errors[0]}"
        self.acked += batch

        c = Consumer({"bootstrap.servers": self.addr, "group.id": "healthy-reader",
                      "enable.auto.commit": False, "enable.partition.eof": True})
        c.assign([TopicPartition("healthy", 0, 0)])
        got, deadline = [], time.monotonic() + sh.scaled(15)
        try:
            while time.monotonic() < deadline:
                m = c.poll(0.5)
                if m is None:
                    continue
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF and len(got) >= len(
                            self.acked):
                        break
                    if m.error().code() != KafkaError._PARTITION_EOF:
                        raise AssertionError(f"healthy consumer: {m.error()}")
                    continue
                got.append(m.value())
        finally:
            c.close()
        assert got == self.acked, "acknowledged messages lost or changed"


@pytest.fixture
def broker(sluice_proc):
    b = sluice_proc("broker", args=["--max-request-bytes", str(MAX_REQUEST)])
    b.ledger = Ledger(b.addr)
    b.ledger.check()
    yield b
    assert b.running, "broker died"


def closed_or_answered(conn, timeout=10):
    """The broker must either close the connection or answer; hanging is the failure."""
    try:
        conn.closed_by_peer(timeout=sh.scaled(timeout))
    except TimeoutError:
        pytest.fail("broker neither answered nor closed the connection")


def test_garbage_bytes(broker):
    # An HTTP request read as a Kafka length is ~1.2 GB: over the limit, so closed at once.
    with kw.Conn(broker.addr) as c:
        c.send_raw(b"GET / HTTP/1.1\r\nHost: kafka\r\n\r\n")
        assert c.closed_by_peer(timeout=sh.scaled(10)), "HTTP request got an answer"

    # Well-framed garbage: random headers and bodies.
    rng = random.Random(3)
    for i in range(40):
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 200)))
        with kw.Conn(broker.addr) as c:
            c.send_raw(kw.i32(len(body)) + body)
            closed_or_answered(c)

    # Random bodies behind valid headers of every API (but Fetch and JoinGroup, which may
    # legitimately wait when the garbage happens to parse).
    for api in (0, 2, 3, 8, 9, 10, 12, 13, 14, 15, 16, 18, 19, 20, 22, 32):
        for _ in range(3):
            body = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 120)))
            with kw.Conn(broker.addr) as c:
                c.send_raw(kw.frame(api, rng.randrange(0, 4), body))
                closed_or_answered(c)
    broker.ledger.check()


def test_truncated_frame(broker):
    req = kw.frame(kw.METADATA, 1, kw.array([kw.string("healthy")]))
    for cut in (1, 3, 4, 10, len(req) - 1):
        with kw.Conn(broker.addr) as c:
            c.send_raw(req[:cut])
        # closed by us mid-frame
    # A complete frame whose body stops mid-field is a parse error: the connection closes.
    body = kw.string(None) + kw.i16(-1) + kw.i32(1000) + kw.i32(1) + kw.i16(7) + b"heal"
    with kw.Conn(broker.addr) as c:
        c.send_raw(kw.frame(kw.PRODUCE, 3, body))
        assert c.closed_by_peer(timeout=sh.scaled(10))
    broker.ledger.check()


def test_frame_over_max_request_bytes(broker):
    with kw.Conn(broker.addr) as c:
        c.send_raw(kw.i32(MAX_REQUEST + 1) + kw.i16(kw.METADATA) + kw.i16(1) + kw.i32(7))
        assert c.closed_by_peer(timeout=sh.scaled(10)), "oversized frame was answered"
    # Sending the body anyway does not help; the broker must not buffer it.
    with kw.Conn(broker.addr) as c:
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 16)
        try:
            c.send_raw(kw.i32(8 * MAX_REQUEST) + b"\0" * (4 * MAX_REQUEST))
        except (BrokenPipeError, ConnectionResetError):
            pass
        else:
            assert c.closed_by_peer(timeout=sh.scaled(10))
    # A request just under the limit is served.
    big = b"x" * (MAX_REQUEST - 4096)
    with kw.Conn(broker.addr) as c:
        err, _ = kw.produce(c, "healthy-big", 0, kw.record_batch([big]))
        assert err == kw.NONE
    broker.ledger.check()


def test_negative_lengths_and_counts(broker):
    cases = {
        "client id length -2": kw.i16(kw.METADATA) + kw.i16(1) + kw.i32(1) + kw.i16(-2),
        "client id longer than frame": kw.i16(kw.METADATA) + kw.i16(1) + kw.i32(1) + kw.i16(500),
    }
    for what, payload in cases.items():
        with kw.Conn(broker.addr) as c:
            c.send_raw(kw.i32(len(payload)) + payload)
            assert c.closed_by_peer(timeout=sh.scaled(10)), what

    def produce_body(topics_count=None, name_len=None, parts_count=None, records_len=None,
                     records=b""):
        b = kw.string(None) + kw.i16(-1) + kw.i32(1000)
        b += kw.i32(1 if topics_count is None else topics_count)
        b += kw.i16(len("healthy") if name_len is None else name_len) + b"healthy"
        b += kw.i32(1 if parts_count is None else parts_count) + kw.i32(0)
        b += kw.i32(len(records) if records_len is None else records_len) + records
        return b

    batch = kw.record_batch([b"never"])
    bodies = {
        "metadata topics count -2": (kw.METADATA, 1, kw.i32(-2)),
        "metadata topics count 2^31-1": (kw.METADATA, 1, kw.i32(0x7FFFFFFF) + kw.string("a")),
        "produce topics count -5": (kw.PRODUCE, 3, produce_body(topics_count=-5)),
        "produce topics count 1e9": (kw.PRODUCE, 3, produce_body(topics_count=10**9)),
        "produce topic name length -7": (kw.PRODUCE, 3, produce_body(name_len=-7)),
        "produce partitions count 2^31-1": (kw.PRODUCE, 3, produce_body(parts_count=2**31 - 1)),
        "produce records length -3": (kw.PRODUCE, 3, produce_body(records_len=-3, records=batch)),
        "produce records longer than frame": (kw.PRODUCE, 3, produce_body(
            records_len=len(batch) + 100, records=batch)),
        "list offsets partitions count -9": (kw.LIST_OFFSETS, 1, kw.i32(-1) + kw.i32(1) +
                                             kw.string("healthy") + kw.i32(-9)),
        "create topics count 1e6": (kw.CREATE_TOPICS, 0, kw.i32(10**6) + kw.string("x")),
    }
    for what, (api, ver, body) in bodies.items():
        with kw.Conn(broker.addr) as c:
            c.send_raw(kw.frame(api, ver, body))
            closed_or_answered(c)
            # Whatever the answer, nothing may have been appended: checked by the ledger.

    # Inside a batch with a valid CRC: a negative record count, a count larger than the records
    # present, and a batch length beyond the record set. Each is refused, nothing appended.
    def batch_with(count=None, length_delta=0):
        b = bytearray(kw.record_batch([b"one"]))
        if count is not None:
            b[57:61] = kw.i32(count)
            b[17:21] = kw.crc32c(bytes(b[21:])).to_bytes(4, "big")
        if length_delta:
            b[8:12] = kw.i32(len(b) - 12 + length_delta)
        return bytes(b)

    with kw.Conn(broker.addr) as c:
        _, before = kw.list_offsets(c, "healthy", 0)
        for what, b in {"record count -1": batch_with(count=-1),
                        "record count 1000 for 1 record": batch_with(count=1000),
                        "batch length +1000": batch_with(length_delta=1000),
                        "batch length -20": batch_with(length_delta=-20)}.items():
            try:
                err, _ = kw.produce(c, "healthy", 0, b)
            except kw.Closed:
                c = kw.Conn(broker.addr)
                continue
            assert err != kw.NONE, f"{what}: accepted"
        _, after = kw.list_offsets(c, "healthy", 0)
        assert after == before, "a refused batch was appended"
    broker.ledger.check()


def test_unknown_api_key(broker):
    for api in (9999, -1, 17, 57):
        with kw.Conn(broker.addr) as c:
            c.send_raw(kw.frame(api, 0, b""))
            closed_or_answered(c)
    broker.ledger.check()


def test_unsupported_version(broker):
    # KIP-511: an ApiVersions version the broker lacks is answered in v0 with error 35 and the
    # supported ApiVersions range, so the client can retry.
    with kw.Conn(broker.addr) as c:
        err, keys = kw.api_versions(c, version=99)
        assert err == kw.UNSUPPORTED_VERSION
        assert keys.get(kw.API_VERSIONS) == (0, 3)
        err, keys = kw.api_versions(c, version=0)  # the same connection keeps working
        assert err == kw.NONE and keys[kw.PRODUCE][0] == 0 and keys[kw.FETCH][0] <= 4

    # Produce v0-2 are advertised (librdkafka 2.0.2 looks for v0 before enabling gzip) but not
    # served: each partition gets UNSUPPORTED_VERSION.
    with kw.Conn(broker.addr) as c:
        err, _ = kw.produce(c, "healthy", 0, kw.record_batch([b"v2"]), version=2)
        assert err == kw.UNSUPPORTED_VERSION
        _, end = kw.list_offsets(c, "healthy", 0)
        assert end == len(broker.ledger.acked)

    # A version beyond an API's range gets UNSUPPORTED_VERSION or a closed connection; one the
    # broker advertises nowhere (Fetch v3) too.
    for api, ver in ((kw.METADATA, 99), (kw.PRODUCE, 99), (kw.FETCH, 3), (kw.LIST_OFFSETS, 77)):
        with kw.Conn(broker.addr) as c:
            c.corr += 1
            c.send_raw(kw.frame(api, ver, b"", corr=c.corr))
            try:
                corr, body = c.recv()
            except kw.Closed:
                continue
            assert corr == c.corr
            assert kw.i16(kw.UNSUPPORTED_VERSION) in body, f"api {api} v{ver}: {body!r}"
    broker.ledger.check()


def test_bad_crc(broker, kcat):
    with kw.Conn(broker.addr) as c:
        err, base = kw.produce(c, "crc", 0, kw.record_batch([b"good-0", b"good-1"]))
        assert (err, base) == (kw.NONE, 0)
        for version in (3, 7):
            err, _ = kw.produce(c, "crc", 0, kw.record_batch([b"evil"], bad_crc=True),
                                version=version)
            assert err == kw.CORRUPT_MESSAGE
        # One bit flipped in a record value, after the CRC was computed.
        b = bytearray(kw.record_batch([b"flipped"]))
        b[-3] ^= 0x01
        err, _ = kw.produce(c, "crc", 0, bytes(b))
        assert err == kw.CORRUPT_MESSAGE
        assert kw.list_offsets(c, "crc", 0) == (kw.NONE, 2)
        err, base = kw.produce(c, "crc", 0, kw.record_batch([b"good-2"]))
        assert (err, base) == (kw.NONE, 2)

    out = subprocess.run([kcat, "-b", broker.addr, "-C", "-t", "crc", "-o", "beginning", "-e",
                          "-q", "-f", "%o %s\n"], capture_output=True, text=True,
                         timeout=sh.scaled(30))
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["0 good-0", "1 good-1", "2 good-2"]
    broker.ledger.check()


BAD_NAMES = ["bad name", "slash/inside", "..", ".", "", "x" * 250, "tab\there", "ünïcode"]


def test_invalid_topic_name(broker):
    with kw.Conn(broker.addr) as c:
        md = kw.metadata(c, BAD_NAMES)
        for name in BAD_NAMES:
            assert md[name][0] == kw.INVALID_TOPIC_EXCEPTION, f"metadata {name!r}: {md[name]}"
        for name in BAD_NAMES:
            assert kw.create_topics(c, name) == kw.INVALID_TOPIC_EXCEPTION, name
        for name in BAD_NAMES[:3]:
            err, _ = kw.produce(c, name, 0, kw.record_batch([b"nope"]))
            assert err in (kw.INVALID_TOPIC_EXCEPTION, kw.UNKNOWN_TOPIC_OR_PARTITION), name
        # The longest legal name (249 characters) is fine.
        assert kw.create_topics(c, "y" * 249) == kw.NONE
        assert kw.metadata(c, None).keys() >= {"healthy", "y" * 249}
        assert not set(kw.metadata(c, None)) & set(BAD_NAMES)
    leftovers = [p.name for p in broker.data_dir.iterdir()
                 if any(p.name.startswith(n + "-") for n in BAD_NAMES if n not in ("", ".", ".."))]
    assert not leftovers, f"directories created for invalid topics: {leftovers}"
    broker.ledger.check()
