"""Direct appends under kill -9 (docs/kafka.md "Direct appends"): large Produce requests are read
into aligned memory and their batch is written to the segment with O_DIRECT, the last block
padded with zeros past the log's size. A confluent-kafka producer (acks=all, idempotent, 2-8 KiB
messages in ~200 KiB batches, one partition so every request takes the direct path) runs while
the broker is SIGKILLed at 4 random moments and restarted. The path must be seen taken (the
segment's descriptor caught with O_DIRECT set, or a killed broker's segment ending in a padded
block); afterwards every acknowledged message is present
once at its acknowledged offset, byte for byte, offsets run from 0 without a gap, and appends and
reads continue after a restart over the padded tail."""

import os
import random
import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

import sluice_harness as sh

TOPIC = "direct"
KILLS = 4
PRODUCE_SECONDS = 8
RATE = 3000  # messages per second offered


PATTERN = bytes(k * 7 % 251 for k in range(8192 + 256))


def value(i, rng_seed):
    n = 2048 + (i * 7919 + rng_seed) % 6144
    return b"v-%08d-" % i + PATTERN[i % 256:i % 256 + n - 11]


def direct_fds(pid):
    """Descriptors of the process open on a segment log with O_DIRECT."""
    found = []
    fd_dir = f"/proc/{pid}/fd"
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(f"{fd_dir}/{fd}")
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                flags = next(int(ln.split()[1], 8) for ln in f if ln.startswith("flags:"))
        except OSError:
            continue
        if target.endswith(".log") and flags & os.O_DIRECT:
            found.append(target)
    return found


def fs_takes_o_direct(d):
    probe = os.path.join(d, "odirect-probe")
    try:
        fd = os.open(probe, os.O_CREAT | os.O_WRONLY | os.O_DIRECT, 0o644)
    except OSError:
        return False
    os.close(fd)
    os.unlink(probe)
    return True


def read_back(addr, timeout=30):
    c = Consumer({"bootstrap.servers": addr, "group.id": "direct-verify",
                  "enable.auto.commit": False, "enable.partition.eof": True,
                  "fetch.message.max.bytes": 1 << 20})
    c.assign([TopicPartition(TOPIC, 0, 0)])
    rows = []
    deadline = time.monotonic() + sh.scaled(timeout)
    try:
        while True:
            assert time.monotonic() < deadline, f"read back stalled after {len(rows)}"
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                assert m.error().code() == KafkaError._PARTITION_EOF, f"consume: {m.error()}"
                break
            rows.append((m.offset(), m.value()))
    finally:
        c.close()
    return rows


def test_direct_appends_survive_sigkill(sluice_proc):
    seed = int(os.environ.get("SLUICE_CRASH_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    why = f"(seed {seed}; rerun with SLUICE_CRASH_SEED={seed})"
    broker = sluice_proc("broker", args=["--num-partitions", "1", "--direct-appends=true"])
    direct_fs = fs_takes_o_direct(str(broker.data_dir))

    acked, failed = [], []

    def on_delivery(err, msg):
        if err is None:
            acked.append((msg.offset(), msg.value()))
        else:
            failed.append((err, msg.value()))

    p = Producer({"bootstrap.servers": broker.addr, "enable.idempotence": True, "acks": "all",
                  "linger.ms": 20, "batch.size": 256 * 1024, "reconnect.backoff.ms": 20,
                  "reconnect.backoff.max.ms": 200, "retry.backoff.ms": 20,
                  "message.timeout.ms": int(sh.scaled(60_000))})
    kill_at = sorted(rng.uniform(1.0, PRODUCE_SECONDS - 0.5) for _ in range(KILLS))
    kills = sent = 0
    saw_direct = False
    padded = 0
    start = time.monotonic()
    while True:
        now = time.monotonic() - start
        if now >= PRODUCE_SECONDS:
            break
        while sent < now * RATE:
            p.produce(TOPIC, value=value(sent, seed), on_delivery=on_delivery)
            sent += 1
        p.poll(0.005)
        if not saw_direct and acked and broker.running:
            saw_direct = bool(direct_fds(broker.pid))
        if kills < KILLS and now >= kill_at[kills]:
            broker.kill9()
            # A direct append leaves its last block zero-padded: a killed broker's active
            # segment ends on a 4 KiB boundary (a buffered one only by a 1-in-4096 chance).
            logs = sorted((broker.data_dir / f"{TOPIC}-0").glob("*.log"))
            size = logs[-1].stat().st_size if logs else 0
            padded += size > 0 and size % 4096 == 0
            time.sleep(rng.uniform(0, 0.2))
            broker.start()
            kills += 1
    remaining = p.flush(sh.scaled(60))
    assert remaining == 0, f"{remaining} messages without a delivery report {why}"
    assert kills == KILLS
    if not saw_direct and direct_fs:
        saw_direct = bool(direct_fds(broker.pid))
    assert saw_direct or padded or not direct_fs, \
        f"neither an O_DIRECT descriptor nor a padded tail after a kill {why}"

    broker.crash_restart()
    stored = read_back(broker.addr)
    print(f"{sent} sent, {len(acked)} acknowledged, {kills} kills, O_DIRECT seen {saw_direct}, "
          f"{padded} padded tails {why}")
    assert not failed, f"{len(failed)} of {sent} deliveries failed: {failed[0][0]} {why}"
    assert len(acked) == sent
    assert [o for o, _ in stored] == list(range(len(stored))), f"offsets have gaps {why}"
    at = dict(stored)
    for off, v in acked:
        assert at.get(off) == v, f"acknowledged message at {off} differs after restart {why}"
    heads = [v[:11] for _, v in stored]
    assert len(set(heads)) == len(heads), f"a message is stored twice {why}"

    # Appends continue over the recovered tail, and a clean restart keeps them.
    p2 = Producer({"bootstrap.servers": broker.addr, "acks": "all", "linger.ms": 20,
                   "batch.size": 256 * 1024})
    extra = [value(10_000_000 + i, seed) for i in range(200)]
    for v in extra:
        p2.produce(TOPIC, value=v)
    assert p2.flush(sh.scaled(30)) == 0
    broker.restart()
    again = read_back(broker.addr)
    assert [o for o, _ in again] == list(range(len(stored) + len(extra)))
    assert [v for _, v in again[len(stored):]] == extra


def test_direct_appends_off(sluice_proc):
    """By default (--direct-appends=false since session 6) the same large batches go through the
    page cache (no O_DIRECT descriptor at any moment) and read back."""
    broker = sluice_proc("broker", args=["--num-partitions", "1"])
    p = Producer({"bootstrap.servers": broker.addr, "acks": "all", "linger.ms": 20,
                  "batch.size": 256 * 1024})
    values = [value(i, 1) for i in range(3000)]
    seen = []
    for i, v in enumerate(values):
        p.produce(TOPIC, value=v)
        if i % 300 == 0:
            p.poll(0)
            seen += direct_fds(broker.pid)
    assert p.flush(sh.scaled(30)) == 0
    seen += direct_fds(broker.pid)
    assert not seen, f"O_DIRECT descriptors by default: {seen}"
    assert [v for _, v in read_back(broker.addr)] == values
