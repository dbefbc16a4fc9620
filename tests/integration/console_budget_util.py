"""The console's 100-topic budget (issue 8: every JSON endpoint within 50 ms at p99 with 100
topics), shared by test_0735 (a generous bound on a busy machine) and
bench/bench_console_kafka.py (the figure recorded in docs/console.md).

setup() makes 100 topics of 3 partitions with messages in each and a consumer group with
committed offsets on ten of them; measure() times each Topics/Consumer groups endpoint with
sequential requests over one keep-alive session, as the pages make them."""

import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import console_util as cu
import sluice_harness as sh

TOPICS = 100
PARTITIONS = 3
PER_PARTITION = 20


def setup(sluice_proc):
    """Broker + console with TOPICS topics; returns (broker, console, logged-in session)."""
    broker = sluice_proc("broker", args=["--flush", "os"])
    con = cu.start(sluice_proc, args=["--kafka", broker.addr])
    names = [f"topic-{i:03d}" for i in range(TOPICS)]
    a = AdminClient({"bootstrap.servers": broker.addr})
    for f in a.create_topics([NewTopic(n, num_partitions=PARTITIONS, replication_factor=1)
                              for n in names]).values():
        f.result(timeout=sh.scaled(30))
    p = Producer({"bootstrap.servers": broker.addr, "linger.ms": 5})
    for n in names:
        for part in range(PARTITIONS):
            for i in range(PER_PARTITION):
                p.produce(n, key=f"k{i}", value=b'{"n": %d}' % i, partition=part)
    assert p.flush(sh.scaled(30)) == 0
    # A group with offsets on ten topics (committed directly, no member).
    c = Consumer({"bootstrap.servers": broker.addr, "group.id": "budget",
                  "enable.auto.commit": False})
    c.commit(offsets=[TopicPartition(n, part, PER_PARTITION // 2)
                      for n in names[:10] for part in range(PARTITIONS)], asynchronous=False)
    c.close()
    return broker, con, cu.login(con)


ENDPOINTS = [
    ("topics", "/api/topics"),
    ("topic", "/api/topics/topic-042"),
    ("browse", "/api/topics/topic-042/messages?limit=50"),
    ("search", "/api/topics/topic-042/messages?q=k7"),
    ("groups", "/api/groups"),
    ("group", "/api/groups/budget"),
]


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def measure(con, s, n):
    """{name: (p50_ms, p99_ms, max_ms)} over n sequential requests per endpoint."""
    out = {}
    for name, path in ENDPOINTS:
        url = cu.url(con, path)
        r = s.get(url, timeout=sh.scaled(30))  # warm: connections and caches
        assert r.status_code == 200, (path, r.text)
        ms = []
        for _ in range(n):
            t0 = time.perf_counter()
            r = s.get(url, timeout=sh.scaled(30))
            ms.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, (path, r.text)
        out[name] = (pct(ms, 0.5), pct(ms, 0.99), max(ms))
    return out


def check_answers(con, s):
    """The answers measured are the full ones: 100 topics, the group's 30 partitions."""
    topics = s.get(cu.url(con, "/api/topics"), timeout=sh.scaled(30)).json()["topics"]
    assert len(topics) == TOPICS
    assert all(t["messages"] == PARTITIONS * PER_PARTITION for t in topics)
    g = s.get(cu.url(con, "/api/groups/budget"), timeout=sh.scaled(30)).json()
    assert len(g["offsets"]) == 10 * PARTITIONS
    assert g["lag"] == 10 * PARTITIONS * (PER_PARTITION - PER_PARTITION // 2)
