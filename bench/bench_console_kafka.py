"""bench_console_kafka: the console's Topics and Consumer groups endpoints with 100 topics (issue
8's budget: every JSON endpoint within 50 ms at p99), the figure docs/console.md records, against
a peer measured in the same run.

Starts `sluice broker` and `sluice console`, makes 100 topics of 3 partitions with 20 messages
each and a group with committed offsets on 30 partitions (tests/integration/
console_budget_util.py, shared with test_0735), then times N sequential requests per endpoint
over one keep-alive session with python3-requests, after one warm-up request each.

The peer fetches the same information straight from the broker with python3-confluent-kafka
(librdkafka), one request at a time as well, over clients made once (as the console keeps its
own): AdminClient list_topics, describe_configs and list_groups; committed offsets through a
Consumer of the group (one OffsetFetch); start and end offsets through batched ListOffsets
(offsets_for_times with -2 and -1); and for the browser, a consume of the browsed records (the
last 50 of each partition; the search reads them all and filters on the text). The two sides
alternate in RUNS blocks of N/RUNS requests per endpoint. Prints a markdown table per endpoint:
p50 (median of the blocks' p50s, min-max), p99 over all the samples, and the ratios
sluice/peer, then the console's RSS.

  bench/bench_console_kafka.py [--requests 500]
"""

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "integration"))

from confluent_kafka import Consumer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, ConfigResource  # noqa: E402

import console_budget_util as bu  # noqa: E402
import console_util as cu  # noqa: E402
import sluice_harness as sh  # noqa: E402

RUNS = 5
TOPIC = "topic-042"
GROUP = "budget"
TIMEOUT = 30


class Peer:
    """The console's answers, from the broker directly."""

    def __init__(self, addr):
        self.addr = addr
        self.admin = AdminClient({"bootstrap.servers": addr})
        conf = {"bootstrap.servers": addr, "group.id": "bench-peer", "enable.auto.commit": False,
                "fetch.wait.max.ms": 10, "enable.partition.eof": False}
        self.cons = Consumer(conf)
        self.groups = {}  # group -> a Consumer of it, for OffsetFetch only (never subscribes)

    def close(self):
        self.cons.close()
        for c in self.groups.values():
            c.close()
        self.admin = None  # destroyed now, before the broker stops, not at exit

    def _group(self, g):
        if g not in self.groups:
            self.groups[g] = Consumer({"bootstrap.servers": self.addr, "group.id": g,
                                       "enable.auto.commit": False})
        return self.groups[g]

    def _ends(self, tps):
        """{(topic, partition): (start, end)} in two batched ListOffsets."""
        lo = self.cons.offsets_for_times([TopicPartition(t, p, -2) for t, p in tps], TIMEOUT)
        hi = self.cons.offsets_for_times([TopicPartition(t, p, -1) for t, p in tps], TIMEOUT)
        return {(a.topic, a.partition): (a.offset, b.offset) for a, b in zip(lo, hi)}

    def _partitions(self, md, topics=None):
        return [(t, p) for t, tm in md.topics.items() if topics is None or t in topics
                for p in tm.partitions]

    def _committed(self, g, tps):
        got = self._group(g).committed([TopicPartition(t, p) for t, p in tps], TIMEOUT)
        return {(x.topic, x.partition): x.offset for x in got if x.offset >= 0}

    def topics(self):
        md = self.admin.list_topics(timeout=TIMEOUT)
        ends = self._ends(self._partitions(md))
        msgs = {}
        for (t, _p), (lo, hi) in ends.items():
            msgs[t] = msgs.get(t, 0) + hi - lo
        return msgs

    def topic(self):
        md = self.admin.list_topics(topic=TOPIC, timeout=TIMEOUT)
        ends = self._ends(self._partitions(md, {TOPIC}))
        res = ConfigResource(ConfigResource.Type.TOPIC, TOPIC)
        configs = self.admin.describe_configs([res])[res].result(timeout=TIMEOUT)
        lags = {}
        for g in self.admin.list_groups(timeout=TIMEOUT):
            com = self._committed(g.id, list(ends))
            if com:
                lags[g.id] = sum(ends[tp][1] - off for tp, off in com.items())
        return ends, configs, lags

    def _read(self, q=None, limit=50):
        """The last limit records of each partition of TOPIC (all of them for a search)."""
        md = self.admin.list_topics(topic=TOPIC, timeout=TIMEOUT)
        ends = self._ends(self._partitions(md, {TOPIC}))
        want = {p: hi for (_t, p), (lo, hi) in ends.items() if hi > lo}
        self.cons.assign([TopicPartition(TOPIC, p, lo if q else max(lo, hi - limit))
                          for (_t, p), (lo, hi) in ends.items() if hi > lo])
        out, deadline = [], time.monotonic() + TIMEOUT
        while want and time.monotonic() < deadline:
            m = self.cons.poll(0.1)  # each record as it comes (consume() waits out its timeout)
            if m is not None and not m.error():
                if m.offset() + 1 >= want.get(m.partition(), 0):
                    want.pop(m.partition(), None)
                text = (m.key() or b"") + b"\0" + (m.value() or b"")
                if q is None or q.encode() in text.lower():
                    out.append(m)
        self.cons.unassign()
        assert not want, f"peer: {TOPIC} not read to its end: {want}"
        return out

    def browse(self):
        return self._read()

    def search(self):
        return self._read(q="k7")

    def groups_list(self):
        md = self.admin.list_topics(timeout=TIMEOUT)
        tps = self._partitions(md)
        out = {}
        for g in self.admin.list_groups(timeout=TIMEOUT):
            com = self._committed(g.id, tps)
            ends = self._ends(list(com)) if com else {}
            out[g.id] = (g.state, len(g.members),
                         sum(ends[tp][1] - off for tp, off in com.items()) if com else None)
        return out

    def group(self):
        (g,) = self.admin.list_groups(group=GROUP, timeout=TIMEOUT)
        md = self.admin.list_topics(timeout=TIMEOUT)
        com = self._committed(GROUP, self._partitions(md))
        ends = self._ends(list(com))
        return g.state, {tp: (ends[tp], off, ends[tp][1] - off) for tp, off in com.items()}


def check_peer(peer):
    """The peer finds what the console shows (bu.check_answers): the work is the same."""
    msgs = peer.topics()
    assert len([t for t in msgs if t.startswith("topic-")]) == bu.TOPICS
    assert all(msgs[t] == bu.PARTITIONS * bu.PER_PARTITION for t in msgs if t.startswith("topic-"))
    assert len(peer.browse()) == bu.PARTITIONS * bu.PER_PARTITION
    _state, offs = peer.group()
    assert len(offs) == 10 * bu.PARTITIONS
    assert sum(x[2] for x in offs.values()) == 10 * bu.PARTITIONS * (
        bu.PER_PARTITION - bu.PER_PARTITION // 2)


def time_peer(fn, n):
    fn()  # warm, as measure() does
    ms = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t0) * 1000)
    return ms


def time_console(con, s, path, n):
    url = cu.url(con, path)
    assert s.get(url, timeout=sh.scaled(30)).status_code == 200
    ms = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = s.get(url, timeout=sh.scaled(30))
        ms.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, (path, r.text)
    return ms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=500)
    args = ap.parse_args()
    block = max(1, args.requests // RUNS)
    work = Path(tempfile.mkdtemp(prefix="bench-console-"))
    procs = []
    peer = None

    def start(component, args=(), **kw):
        p = sh.SluiceProcess(component, work / component, args=args, **kw)
        procs.append(p)
        return p.start()

    try:
        broker, con, s = bu.setup(start)
        bu.check_answers(con, s)
        peer = Peer(broker.addr)
        check_peer(peer)
        fns = {"topics": peer.topics, "topic": peer.topic, "browse": peer.browse,
               "search": peer.search, "groups": peer.groups_list, "group": peer.group}
        ours = {name: [] for name, _ in bu.ENDPOINTS}
        theirs = {name: [] for name, _ in bu.ENDPOINTS}
        for _ in range(RUNS):
            for name, path in bu.ENDPOINTS:
                ours[name].append(time_console(con, s, path, block))
                theirs[name].append(time_peer(fns[name], block))

        print(f"bench_console_kafka: {bu.TOPICS} topics x {bu.PARTITIONS} partitions "
              f"({bu.PER_PARTITION} messages each), a group with offsets on "
              f"{10 * bu.PARTITIONS} partitions; sequential requests over one keep-alive "
              f"session, {RUNS} blocks of {block} per endpoint alternating with the peer "
              "(python3-confluent-kafka straight to the broker); p50 median of the blocks "
              "(min-max), p99 of all samples, ms")
        print("| endpoint | sluice console p50 | p99 | peer: confluent-kafka p50 | p99 "
              "| ratio p50 | ratio p99 |")
        print("|---|---|---|---|---|---|---|")
        for name, path in bu.ENDPOINTS:
            o50 = [bu.pct(b, 0.5) for b in ours[name]]
            t50 = [bu.pct(b, 0.5) for b in theirs[name]]
            o99 = bu.pct([x for b in ours[name] for x in b], 0.99)
            t99 = bu.pct([x for b in theirs[name] for x in b], 0.99)
            om, tm = statistics.median(o50), statistics.median(t50)
            print(f"| {name} `{path}` | {om:.2f} ({min(o50):.2f}-{max(o50):.2f}) | {o99:.2f} "
                  f"| {tm:.2f} ({min(t50):.2f}-{max(t50):.2f}) | {t99:.2f} "
                  f"| {om / tm:.2f} | {o99 / t99:.2f} |")
        print()
        for line in open(f"/proc/{con.pid}/status"):
            if line.startswith(("VmRSS:", "VmHWM:")):
                print("console " + " ".join(line.split()))
    finally:
        if peer:
            peer.close()
        for p in reversed(procs):
            p.cleanup()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
