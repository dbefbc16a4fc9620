#!/usr/bin/python3
"""Regenerates fuzz/corpus/kafka_request/: real requests captured from third-party clients, plus
truncated and mutated variants of them.

    /usr/bin/python3 fuzz/capture_kafka_corpus.py [BUILD_DIR]

Starts `sluice broker` with --advertised pointing at a recording proxy, so every connection of
every client (bootstrap and the ones Metadata sends it to) passes through the proxy, which saves
each client-to-broker frame (without its length prefix, the form fuzz_kafka_request takes) as
<Api>-v<version>-<sha1>. Sessions: kcat (-L, -P with each codec, -C, -G, -Q), confluent-kafka
(idempotent producer, consumer group, AdminClient), kafka-python (producer, group consumer,
KafkaAdminClient) and kafkajs (tests/integration/js/*.js), plus ApiVersions v0-v3 sent raw.
Hand-made requests from crafted() join them. Identical frames are stored once; each API/version
(and, for Produce, codec) keeps at most PER_KIND frames."""

import hashlib
import random
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))

import kafka_wire as kw  # noqa: E402
import sluice_harness as sh  # noqa: E402

OUT = REPO / "fuzz" / "corpus" / "kafka_request"
PER_KIND = 4
MAX_FRAME = 64 * 1024
API_NAMES = {0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 8: "OffsetCommit",
             9: "OffsetFetch", 10: "FindCoordinator", 11: "JoinGroup", 12: "Heartbeat",
             13: "LeaveGroup", 14: "SyncGroup", 15: "DescribeGroups", 16: "ListGroups",
             18: "ApiVersions", 19: "CreateTopics", 20: "DeleteTopics", 22: "InitProducerId",
             32: "DescribeConfigs"}


class Recorder:
    def __init__(self):
        self.frames = {}  # sha1 -> (name, bytes)
        self.kinds = {}
        self.lock = threading.Lock()

    def add(self, frame):
        if len(frame) < 4 or len(frame) > MAX_FRAME:
            return
        api, ver = struct.unpack(">hh", frame[:4])
        kind = f"{API_NAMES.get(api, f'Api{api}')}-v{ver}"
        if api == 0:
            kind += "-" + produce_codec(frame, ver)
        digest = hashlib.sha1(frame).hexdigest()[:12]
        with self.lock:
            if digest in self.frames or self.kinds.get(kind, 0) >= PER_KIND:
                return
            self.kinds[kind] = self.kinds.get(kind, 0) + 1
            self.frames[digest] = (f"{kind}-{digest}", frame)


CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


def produce_codec(frame, ver):
    """The compression codec of a Produce request's first batch, so each codec is kept."""
    try:
        r = kw.Reader(frame[8:])
        r.string()  # client id
        if ver >= 3:
            r.string()  # transactional id
        r.i16(), r.i32()
        r.i32()  # topics
        r.string()
        r.i32()  # partitions
        r.i32()
        r.i32()  # records length
        batch = r.take(23)
        return CODECS[struct.unpack(">h", batch[21:23])[0] & 7]
    except (ValueError, IndexError):
        return "unparsed"


def pump(src, dst, rec):
    buf = b""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
            if rec is None:
                continue
            buf += data
            while len(buf) >= 4:
                n = struct.unpack(">i", buf[:4])[0]
                if n < 0 or len(buf) < 4 + n:
                    break
                rec.add(buf[4:4 + n])
                buf = buf[4 + n:]
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def proxy(listener, upstream_port, rec):
    while True:
        try:
            c, _ = listener.accept()
        except OSError:
            return
        u = socket.create_connection(("127.0.0.1", upstream_port))
        threading.Thread(target=pump, args=(c, u, rec), daemon=True).start()
        threading.Thread(target=pump, args=(u, c, None), daemon=True).start()


def run(cmd, input=None, timeout=60):
    r = subprocess.run(cmd, input=input, capture_output=True, timeout=timeout)
    if r.returncode != 0:
        print(f"warning: {cmd[:3]}... exited {r.returncode}: {r.stderr[-300:]!r}")
    return r


def sessions(addr):
    kcat = sh.kcat_path()
    lines = b"".join(b"k%d:v%d\n" % (i, i) for i in range(30))
    run([kcat, "-b", addr, "-L"])
    for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
        run([kcat, "-b", addr, "-P", "-t", f"cap-{codec}", "-K", ":", "-z", codec], input=lines)
    run([kcat, "-b", addr, "-C", "-t", "cap-gzip", "-o", "beginning", "-e", "-q"])
    run([kcat, "-b", addr, "-G", "cap-kcat", "-X", "auto.offset.reset=earliest", "-e", "-q",
         "cap-none"])
    run([kcat, "-b", addr, "-Q", "-t", f"cap-lz4:0:{int(time.time() * 1000) - 60000}"])

    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic
    p = Producer({"bootstrap.servers": addr, "enable.idempotence": True, "acks": "all"})
    for i in range(20):
        p.produce("cap-conf", key=b"%d" % i, value=b"idempotent-%d" % i)
    p.flush(10)
    c = Consumer({"bootstrap.servers": addr, "group.id": "cap-conf",
                  "auto.offset.reset": "earliest", "session.timeout.ms": 6000})
    c.subscribe(["cap-conf"])
    deadline = time.monotonic() + 10
    n = 0
    while n < 20 and time.monotonic() < deadline:
        m = c.poll(0.5)
        n += m is not None and not m.error()
    c.commit(asynchronous=False)
    c.close()
    a = AdminClient({"bootstrap.servers": addr})
    for f in a.create_topics([NewTopic("cap-admin", 2, 1, config={"retention.ms": "60000"})]
                             ).values():
        f.result(10)
    for f in a.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, "cap-admin")]
                                ).values():
        f.result(10)
    a.list_groups(timeout=10)
    for f in a.delete_topics(["cap-admin"], operation_timeout=10).values():
        f.result(10)

    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
    from kafka.admin import NewTopic as KNewTopic
    kp = KafkaProducer(bootstrap_servers=addr, compression_type="gzip")
    for i in range(20):
        kp.send("cap-kpy", key=b"%d" % i, value=b"kafka-python-%d" % i)
    kp.flush(10)
    kp.close()
    # Told the broker is 0.11, kafka-python speaks Produce v3 and Fetch v4.
    for codec in (None, "gzip"):
        kp = KafkaProducer(bootstrap_servers=addr, api_version=(0, 11), compression_type=codec)
        for i in range(10):
            kp.send("cap-kpy-v3", value=b"v3-%d" % i)
        kp.flush(10)
        kp.close()
    kc = KafkaConsumer("cap-kpy", bootstrap_servers=addr, group_id="cap-kpy",
                       auto_offset_reset="earliest", consumer_timeout_ms=3000,
                       session_timeout_ms=6000)
    for _ in kc:
        pass
    kc.commit()
    kc.close()
    ka = KafkaAdminClient(bootstrap_servers=addr)
    ka.create_topics([KNewTopic("cap-kpy-admin", 1, 1)])
    ka.describe_consumer_groups(["cap-kpy"])
    ka.list_consumer_group_offsets("cap-kpy")
    ka.list_consumer_groups()
    ka.delete_topics(["cap-kpy-admin"])
    ka.close()

    js = REPO / "tests" / "integration" / "js"
    sh.run_node(js / "producer.js", addr, "cap-js", 20, "gzip", check=False)
    sh.run_node(js / "consumer_group.js", addr, "cap-js", "cap-js", 20, check=False)
    sh.run_node(js / "admin.js", addr, "cap-js-admin", 2, "cap-js", check=False)

    for v in range(4):
        body = (kw.uvarint(len(b"sluice") + 1) + b"sluice" + kw.uvarint(2) + b"1" + b"\0"
                if v >= 3 else b"")
        hdr = kw.i16(kw.API_VERSIONS) + kw.i16(v) + kw.i32(1) + kw.string("raw")
        if v >= 3:
            hdr += b"\0"
        with kw.Conn(addr) as conn:
            conn.send_raw(kw.i32(len(hdr + body)) + hdr + body)
            conn.recv()


def crafted():
    """Requests no client sends but the bad-input tests do: unsupported versions, a bad CRC,
    invalid topic names, an unknown API key."""
    def f(api, ver, body):
        return kw.frame(api, ver, body)[4:]

    def produce(ver, batch, topic="crafted"):
        body = (kw.string(None) if ver >= 3 else b"") + kw.i16(-1) + kw.i32(1000)
        return f(kw.PRODUCE, ver, body + kw.array([kw.string(topic) + kw.array(
            [kw.i32(0) + kw.bytes_(batch)])]))

    good = kw.record_batch([b"one", b"two"])
    return {
        "crafted-Produce-v2": produce(2, good),
        "crafted-Produce-v3-bad-crc": produce(3, kw.record_batch([b"x"], bad_crc=True)),
        "crafted-Produce-v3-idempotent": produce(3, kw.record_batch(
            [b"i"], producer_id=1, producer_epoch=0, base_sequence=0)),
        "crafted-Produce-v3-bad-topic": produce(3, good, topic="bad/topic"),
        "crafted-Fetch-v3": f(kw.FETCH, 3, b""),
        "crafted-Metadata-v99": f(kw.METADATA, 99, b""),
        "crafted-ApiVersions-v99": f(kw.API_VERSIONS, 99, b""),
        "crafted-CreateTopics-v0-bad-name": f(kw.CREATE_TOPICS, 0, kw.array(
            [kw.string("..") + kw.i32(1) + kw.i16(1) + kw.array([]) + kw.array([])]) +
            kw.i32(1000)),
        "crafted-ListOffsets-v1": f(kw.LIST_OFFSETS, 1, kw.i32(-1) + kw.array(
            [kw.string("crafted") + kw.array([kw.i32(0) + kw.i64(-2)])])),
        "crafted-unknown-api": f(9999, 0, b""),
    }


def variants(frames, rng):
    """Truncations and mutations of every captured frame."""
    out = {}
    for name, f in frames:
        for cut in sorted({4, 8, len(f) // 2, len(f) - 1}):
            if 0 < cut < len(f):
                out[f"{name}-trunc{cut}"] = f[:cut]
        for i in range(3):
            b = bytearray(f)
            pos = rng.randrange(len(b))
            if i == 0:
                b[pos] ^= 1 << rng.randrange(8)
            elif i == 1 and len(b) >= pos + 4:
                b[pos:pos + 4] = rng.choice([b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff",
                                             b"\x80\x00\x00\x00", b"\x00\x00\x00\x00"])
            else:
                b[pos:pos + 2] = rng.choice([b"\xff\xff", b"\x7f\xff", b"\xff\xfe"])
            out[f"{name}-mut{i}"] = bytes(b)
    return out


def main():
    build = Path(sys.argv[1] if len(sys.argv) > 1 else REPO / "build").resolve()
    import os
    os.environ["SLUICE_BIN"] = str(build / "sluice")
    rec = Recorder()
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(64)
    proxy_port = lst.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="sluice-capture-") as tmp:
        broker = sh.SluiceProcess("broker", Path(tmp),
                                  args=["--advertised", f"127.0.0.1:{proxy_port}"])
        broker.start()
        threading.Thread(target=proxy, args=(lst, broker.port, rec), daemon=True).start()
        try:
            sessions(f"127.0.0.1:{proxy_port}")
        finally:
            broker.stop()
            lst.close()
    frames = sorted(rec.frames.values()) + sorted(crafted().items())
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()
    for name, f in frames:
        (OUT / name).write_bytes(f)
    for name, f in variants(frames, random.Random(1)).items():
        (OUT / name).write_bytes(f)
    kinds = sorted(rec.kinds)
    print(f"{len(frames)} captured frames of {len(kinds)} kinds: {', '.join(kinds)}")
    print(f"{len(list(OUT.iterdir()))} files in {OUT}")


if __name__ == "__main__":
    main()
