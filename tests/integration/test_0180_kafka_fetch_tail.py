"""The in-memory fetch tail (docs/kafka.md, "Direct appends"): a partition written by direct
appends keeps its newest bytes in memory, and a Fetch of a range wholly inside them is answered
from there instead of from the file (which O_DIRECT left out of the page cache). A
confluent-kafka consumer follows a producer of 1-8 KiB messages (acks=all, ~200 KiB requests,
so each takes the direct path) across several segment rolls, then kcat reads everything back;
both must see every message byte for byte at consecutive offsets, and the broker's count of
ranges served from memory (logged at stop) must be non-zero. With --fetch-tail-bytes 0 the
same traffic is served from the files and the count stays 0."""

import re
import subprocess
import threading
import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

import sluice_harness as sh

TOPIC = "tail"
MESSAGES = 1500
ALPHABET = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def value(i):
    n = 1024 + (i * 7919) % (7 * 1024)
    body = bytes(ALPHABET[(i + k * 13) % len(ALPHABET)] for k in range(64))
    return (b"m%06d-" % i + body * (n // 64 + 1))[:n]


def follow(addr, out, done):
    """Consumes from offset 0 until MESSAGES are read; (offset, value) pairs into out."""
    c = Consumer({"bootstrap.servers": addr, "group.id": "tail-follow",
                  "enable.auto.commit": False, "fetch.wait.max.ms": 50,
                  "fetch.message.max.bytes": 1 << 20})
    c.assign([TopicPartition(TOPIC, 0, 0)])
    deadline = time.monotonic() + sh.scaled(60)
    try:
        while len(out) < MESSAGES and time.monotonic() < deadline:
            m = c.poll(0.2)
            if m is None:
                continue
            if m.error():
                if m.error().code() in (KafkaError._PARTITION_EOF,
                                        KafkaError.UNKNOWN_TOPIC_OR_PART):
                    continue
                out.append((-1, str(m.error()).encode()))
                break
            out.append((m.offset(), m.value()))
    finally:
        c.close()
        done.set()


def produce(addr, seen):
    p = Producer({"bootstrap.servers": addr, "acks": "all", "linger.ms": 20,
                  "batch.size": 256 << 10, "compression.type": "none"})
    for i in range(MESSAGES):
        while True:
            try:
                p.produce(TOPIC, value(i), partition=0)
                break
            except BufferError:
                p.poll(0.05)
        if i % 100 == 99:
            # Lockstep: the follower reads every 100 messages (~450 KiB) before the next ones
            # are sent, so its fetches ask for the log's newest bytes even on a loaded machine
            # (a follower further behind than the tail reads from the file, by design).
            assert p.flush(sh.scaled(30)) == 0
            sh.wait_until(lambda: len(seen) >= i + 1, sh.scaled(30), interval=0.01,
                          what=f"the follower to read {i + 1} messages")
    assert p.flush(sh.scaled(30)) == 0


def kcat_all(kcat, addr):
    r = subprocess.run([kcat, "-C", "-b", addr, "-t", TOPIC, "-p", "0", "-o", "beginning", "-e",
                        "-q", "-f", "%o %s\n"], capture_output=True,
                       timeout=sh.scaled(60))
    assert r.returncode == 0, r.stderr
    rows = []
    for line in r.stdout.splitlines():
        off, val = line.split(b" ", 1)
        rows.append((int(off), val))
    return rows


def run(sluice_proc, kcat, tail_bytes):
    broker = sluice_proc("broker", args=["--segment-bytes", "2MiB", "--direct-appends=true",
                                         "--fetch-tail-bytes", tail_bytes])
    # The topic first, so the follower's first fetch finds it.
    p = Producer({"bootstrap.servers": broker.addr})
    p.produce(TOPIC, b"m000000-first", partition=0)
    assert p.flush(sh.scaled(10)) == 0
    seen, done = [], threading.Event()
    t = threading.Thread(target=follow, args=(broker.addr, seen, done), daemon=True)
    t.start()
    produce(broker.addr, seen)
    done.wait(sh.scaled(60))
    t.join(sh.scaled(5))
    want = [b"m000000-first"] + [value(i) for i in range(MESSAGES)]
    assert [o for o, _ in seen] == list(range(MESSAGES)), "follower: offsets"
    assert [v for _, v in seen] == want[:MESSAGES], "follower: values"
    rows = kcat_all(kcat, broker.addr)
    assert [o for o, _ in rows] == list(range(len(want)))
    assert [v for _, v in rows] == want
    segs = sorted((broker.data_dir / f"{TOPIC}-0").glob("*.log"))
    assert len(segs) >= 3, f"expected rolls, got {segs}"
    broker.stop()
    m = re.search(r"fetch tail: (\d+) ranges, (\d+) bytes served from memory", broker.log_text())
    assert m, sh.tail(broker.log_text(), 20)
    return int(m.group(1)), int(m.group(2))


def test_fetch_tail_serves_fresh_data_across_rolls(sluice_proc, kcat):
    ranges, nbytes = run(sluice_proc, kcat, "1MiB")
    assert ranges > 0 and nbytes > 0


def test_fetch_tail_off(sluice_proc, kcat):
    assert run(sluice_proc, kcat, "0") == (0, 0)
