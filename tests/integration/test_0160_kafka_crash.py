"""The broker's durability promise under kill -9 (ARCHITECTURE.md "Promises", issue 3 "Crash"):
an idempotent acks=all producer (confluent-kafka) runs while the broker is SIGKILLed at 10 random
moments and restarted on the same data dir and port. Afterwards every acknowledged message is
present exactly once at the offset its delivery report gave, in produce order per partition, and
every partition's offsets run from 0 without a gap."""

import os
import random
import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

import sluice_harness as sh

TOPIC = "crashy"
PARTITIONS = 3
KILLS = 10
PRODUCE_SECONDS = 25
RATE = 2000  # messages per second offered


def read_back(addr, timeout=30):
    """Every message of every partition from offset 0: {partition: [(offset, value), ...]}."""
    c = Consumer({"bootstrap.servers": addr, "group.id": "crash-verify",
                  "enable.auto.commit": False, "enable.partition.eof": True})
    c.assign([TopicPartition(TOPIC, p, 0) for p in range(PARTITIONS)])
    parts = {p: [] for p in range(PARTITIONS)}
    at_eof = set()
    deadline = time.monotonic() + sh.scaled(timeout)
    try:
        while len(at_eof) < PARTITIONS:
            assert time.monotonic() < deadline, f"read back stalled; at EOF: {sorted(at_eof)}"
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                assert m.error().code() == KafkaError._PARTITION_EOF, f"consume: {m.error()}"
                at_eof.add(m.partition())
                continue
            at_eof.discard(m.partition())
            parts[m.partition()].append((m.offset(), m.value()))
    finally:
        c.close()
    return parts


def test_acks_all_survives_sigkill(sluice_proc):
    seed = int(os.environ.get("SLUICE_CRASH_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    why = f"(seed {seed}; rerun with SLUICE_CRASH_SEED={seed})"
    broker = sluice_proc("broker", args=["--num-partitions", str(PARTITIONS)])

    acked, failed = [], []

    def on_delivery(err, msg):
        if err is None:
            acked.append((msg.partition(), msg.offset(), msg.value()))
        else:
            failed.append((err, msg.value()))

    p = Producer({"bootstrap.servers": broker.addr, "enable.idempotence": True, "acks": "all",
                  "linger.ms": 2, "reconnect.backoff.ms": 20, "reconnect.backoff.max.ms": 200,
                  "retry.backoff.ms": 20, "message.timeout.ms": int(sh.scaled(60_000))})
    kill_at = sorted(rng.uniform(0.5, PRODUCE_SECONDS - 0.5) for _ in range(KILLS))
    kills = 0
    sent = 0
    start = time.monotonic()
    while True:
        now = time.monotonic() - start
        if now >= PRODUCE_SECONDS:
            break
        while sent < now * RATE:
            p.produce(TOPIC, key=b"%d" % (sent % 64), value=b"m-%08d" % sent,
                      on_delivery=on_delivery)
            sent += 1
        p.poll(0.005)
        if kills < KILLS and now >= kill_at[kills]:
            broker.kill9()
            time.sleep(rng.uniform(0, 0.3))
            broker.start()
            kills += 1
    remaining = p.flush(sh.scaled(60))
    assert remaining == 0, f"{remaining} messages without a delivery report after 60 s {why}"
    assert kills == KILLS

    # One more crash after the last acknowledgement: durable means durable now.
    broker.crash_restart()
    stored = read_back(broker.addr)

    print(f"{sent} sent, {len(acked)} acknowledged, {len(failed)} failed, {kills} kills {why}")
    assert not failed, f"{len(failed)} of {sent} deliveries failed, first {failed[0][0]} {why}"
    assert len(acked) == sent

    for part, rows in stored.items():
        offsets = [o for o, _ in rows]
        assert offsets == list(range(len(rows))), f"partition {part}: offsets have gaps {why}"
    at = {(part, off): v for part, rows in stored.items() for off, v in rows}
    for part, off, value in acked:
        assert at.get((part, off)) == value, \
            f"acknowledged {value!r} at {part}/{off} is {at.get((part, off))!r} {why}"
    counts = {}
    for v in at.values():
        counts[v] = counts.get(v, 0) + 1
    dups = [v for v, n in counts.items() if n > 1]
    assert not dups, f"{len(dups)} messages stored twice (idempotence broken), e.g. {dups[0]} {why}"
    for part in range(PARTITIONS):
        seq = [int(v[2:]) for _, v in stored[part]]
        assert seq == sorted(seq), f"partition {part}: not in produce order {why}"
