"""sluice broker's consumer group coordinator driven by real clients: python3-confluent-kafka 1.7.0
(librdkafka 2.0.2: JoinGroup v5, SyncGroup v3, OffsetCommit v7, OffsetFetch v5...) and
python3-kafka 2.0.2 (JoinGroup v2, SyncGroup v1, OffsetCommit v2, OffsetFetch v1...).

(a) two consumers of one group split a 4-partition topic; when one closes the other gets all 4;
(b) committed offsets resume after a consumer restart, a broker restart and a broker SIGKILL;
(c) a consumer process killed with SIGKILL is evicted after its session timeout and the survivor
    takes its partitions;
(d) AdminClient list_groups (ListGroups + DescribeGroups) and kafka-python's admin calls show
    the group, its state, members and assignments;
(e) a kafka-python group: commits resume, and two members split the partitions.

The broker runs with --group-min-session-timeout 1s so the tests can use short sessions."""

import os
import subprocess
import sys
import threading
import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import sluice_harness as sh

BROKER_ARGS = ["--group-min-session-timeout", "1s"]


def start_broker(sluice_proc):
    return sluice_proc("broker", args=BROKER_ARGS)


def create_topic(addr, name, partitions):
    admin = AdminClient({"bootstrap.servers": addr})
    fs = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    fs[name].result(timeout=sh.scaled(10))


def produce(addr, topic, partitions, per_partition, tag):
    """Writes per_partition messages "<tag>-<partition>-<i>" to each partition (acks=all)."""
    p = Producer({"bootstrap.servers": addr, "acks": "all", "linger.ms": 1})
    for part in range(partitions):
        for i in range(per_partition):
            p.produce(topic, value=f"{tag}-{part}-{i}".encode(), partition=part)
    assert p.flush(sh.scaled(30)) == 0
    return {f"{tag}-{part}-{i}" for part in range(partitions) for i in range(per_partition)}


def consumer(addr, group, **extra):
    conf = {"bootstrap.servers": addr, "group.id": group, "auto.offset.reset": "earliest",
            "enable.auto.commit": False, "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 300, "topic.metadata.refresh.interval.ms": 1000}
    conf.update(extra)
    return Consumer(conf)


def parts(c):
    return sorted(tp.partition for tp in c.assignment())


def poll_until(consumers, pred, timeout, what):
    """Polls each consumer in turn (rebalances are served from poll) until pred() holds; returns
    the messages received meanwhile."""
    deadline = time.monotonic() + sh.scaled(timeout)
    msgs = []
    while time.monotonic() < deadline:
        for c in consumers:
            m = c.poll(0.05)
            if m is not None:
                assert not m.error() or m.error().code() == KafkaError._PARTITION_EOF, m.error()
                if not m.error():
                    msgs.append(m)
        if pred():
            return msgs
    raise AssertionError(f"timed out after {sh.scaled(timeout):.0f}s waiting for {what}; "
                         f"assignments: {[parts(c) for c in consumers]}")


def consume_exactly(c, n, timeout=30, then_idle=True):
    """Reads n messages; with then_idle, checks that nothing more arrives for a moment."""
    got = []
    deadline = time.monotonic() + sh.scaled(timeout)
    while len(got) < n and time.monotonic() < deadline:
        m = c.poll(0.1)
        if m is not None and not m.error():
            got.append(m.value().decode())
    assert len(got) == n, f"got {len(got)} of {n} messages"
    end = time.monotonic() + (1.0 if then_idle else 0)
    while time.monotonic() < end:
        m = c.poll(0.1)
        assert m is None or m.error(), f"unexpected extra message {m.value()!r}"
    return got


def committed(addr, group, topic, partitions):
    """The group's committed offsets (OffsetFetch), read by a consumer that does not join."""
    c = consumer(addr, group)
    try:
        tps = c.committed([TopicPartition(topic, p) for p in range(partitions)],
                          timeout=sh.scaled(10))
        return {tp.partition: tp.offset for tp in tps}
    finally:
        c.close()


def test_two_consumers_split_then_one_takes_all(sluice_proc):
    broker = start_broker(sluice_proc)
    create_topic(broker.addr, "split", 4)
    sent = produce(broker.addr, "split", 4, 5, "m")

    c1 = consumer(broker.addr, "g-split")
    c1.subscribe(["split"])
    poll_until([c1], lambda: parts(c1) == [0, 1, 2, 3], 20, "c1 to own all 4 partitions")

    c2 = consumer(broker.addr, "g-split")
    c2.subscribe(["split"])
    poll_until([c1, c2],
               lambda: len(parts(c1)) == 2 and len(parts(c2)) == 2
               and set(parts(c1)) | set(parts(c2)) == {0, 1, 2, 3},
               30, "a 2+2 split")

    c2.close()  # LeaveGroup: c1 learns of the rebalance from its next heartbeat
    msgs = poll_until([c1], lambda: parts(c1) == [0, 1, 2, 3], 30, "c1 to own all 4 again")
    assert {m.value().decode() for m in msgs} <= sent
    c1.close()
    assert "member" in broker.log_text() and "left" in broker.log_text()


def test_committed_offsets_resume(sluice_proc):
    broker = start_broker(sluice_proc)
    create_topic(broker.addr, "resume", 4)
    first = produce(broker.addr, "resume", 4, 10, "a")

    c = consumer(broker.addr, "g-resume")
    c.subscribe(["resume"])
    got1 = consume_exactly(c, 24, then_idle=False)
    c.commit(asynchronous=False)
    offs = committed(broker.addr, "g-resume", "resume", 4)
    assert sum(max(o, 0) for o in offs.values()) == 24  # -1001: nothing committed yet
    c.close()

    # A new consumer in the group starts where the first one committed: no duplicates.
    c = consumer(broker.addr, "g-resume")
    c.subscribe(["resume"])
    got2 = consume_exactly(c, 16)
    assert not set(got1) & set(got2)
    assert set(got1) | set(got2) == first
    c.commit(asynchronous=False)
    c.close()
    assert committed(broker.addr, "g-resume", "resume", 4) == {0: 10, 1: 10, 2: 10, 3: 10}

    # A graceful restart keeps them.
    broker.restart()
    assert committed(broker.addr, "g-resume", "resume", 4) == {0: 10, 1: 10, 2: 10, 3: 10}
    second = produce(broker.addr, "resume", 4, 2, "b")
    c = consumer(broker.addr, "g-resume")
    c.subscribe(["resume"])
    assert set(consume_exactly(c, 8)) == second
    c.commit(asynchronous=False)
    c.close()

    # So does kill -9: an OffsetCommit is answered only once its record is fsynced.
    broker.crash_restart()
    assert committed(broker.addr, "g-resume", "resume", 4) == {0: 12, 1: 12, 2: 12, 3: 12}
    third = produce(broker.addr, "resume", 4, 1, "c")
    c = consumer(broker.addr, "g-resume")
    c.subscribe(["resume"])
    assert set(consume_exactly(c, 4)) == third
    c.close()


CHILD = r"""
import sys
from confluent_kafka import Consumer
addr, group, topic = sys.argv[1:4]
c = Consumer({"bootstrap.servers": addr, "group.id": group, "session.timeout.ms": 3000,
              "heartbeat.interval.ms": 300, "auto.offset.reset": "earliest"})
c.subscribe([topic])
last = None
while True:
    c.poll(0.05)
    a = sorted(tp.partition for tp in c.assignment())
    if a != last:
        print("assigned", ",".join(map(str, a)), flush=True)
        last = a
"""


class ChildConsumer:
    """A consumer in its own process, so the test can SIGKILL it; tracks its assignment."""

    def __init__(self, addr, group, topic):
        self.proc = subprocess.Popen([sys.executable, "-c", CHILD, addr, group, topic],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.assigned = None
        self.lines = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())
            if line.startswith("assigned"):
                rest = line.split(" ", 1)[1].strip()
                self.assigned = [int(x) for x in rest.split(",")] if rest else []

    def kill9(self):
        self.proc.kill()
        self.proc.wait()


def test_killed_member_is_evicted_after_session_timeout(sluice_proc):
    broker = start_broker(sluice_proc)
    create_topic(broker.addr, "evict", 4)
    child = ChildConsumer(broker.addr, "g-evict", "evict")
    try:
        sh.wait_until(lambda: child.assigned == [0, 1, 2, 3], sh.scaled(20),
                      what=f"the child consumer to own all 4 (output: {child.lines})")
        c = consumer(broker.addr, "g-evict", **{"session.timeout.ms": 3000})
        c.subscribe(["evict"])
        poll_until([c], lambda: len(parts(c)) == 2 and child.assigned is not None
                   and len(child.assigned) == 2, 30, "a 2+2 split with the child")
        child.kill9()
        t0 = time.monotonic()
        poll_until([c], lambda: parts(c) == [0, 1, 2, 3], 30, "the survivor to own all 4")
        took = time.monotonic() - t0
        # Not before the child's 3 s session ran out (less its last heartbeat interval), and
        # soon after.
        assert 2.5 <= took <= sh.scaled(3 + 5), f"eviction took {took:.1f}s"
        broker.wait_for_log(r"member \S+ expired after 3000 ms without a heartbeat")
        c.close()
    finally:
        child.kill9()


def test_admin_lists_and_describes_groups(sluice_proc):
    from kafka import KafkaAdminClient
    from kafka.structs import TopicPartition as KTopicPartition

    broker = start_broker(sluice_proc)
    create_topic(broker.addr, "adm", 2)
    c1 = consumer(broker.addr, "g-admin", **{"client.id": "adm-1"})
    c2 = consumer(broker.addr, "g-admin", **{"client.id": "adm-2"})
    c1.subscribe(["adm"])
    c2.subscribe(["adm"])
    poll_until([c1, c2], lambda: len(parts(c1)) == 1 and len(parts(c2)) == 1, 30,
               "a 1+1 split")
    produce(broker.addr, "adm", 2, 3, "x")
    poll_until([c1, c2], lambda: all(c.position(c.assignment())[0].offset == 3
                                     for c in (c1, c2)), 20, "both to read their partition")
    c1.commit(asynchronous=False)
    c2.commit(asynchronous=False)

    # librdkafka: ListGroups, then DescribeGroups.
    admin = AdminClient({"bootstrap.servers": broker.addr})
    groups = {g.id: g for g in admin.list_groups(timeout=sh.scaled(10))}
    g = groups["g-admin"]
    assert g.state == "Stable"
    assert g.protocol_type == "consumer"
    assert g.protocol in ("range", "roundrobin")
    assert sorted(m.client_id for m in g.members) == ["adm-1", "adm-2"]
    for m in g.members:
        assert m.client_host == "/127.0.0.1"
        assert m.id.startswith(m.client_id + "-")
        assert m.metadata and m.assignment
    [one] = admin.list_groups("g-admin", timeout=sh.scaled(10))
    assert one.state == "Stable"

    # kafka-python: ListGroups, DescribeGroups (decoding the consumer protocol's metadata and
    # assignments) and OffsetFetch with a null topic list (all committed partitions).
    ka = KafkaAdminClient(bootstrap_servers=broker.addr)
    try:
        assert ("g-admin", "consumer") in ka.list_consumer_groups()
        [info] = ka.describe_consumer_groups(["g-admin"])
        assert info.state == "Stable" and info.protocol_type == "consumer"
        owned = []
        for m in info.members:
            assert m.member_metadata.subscription == ["adm"]
            for topic, ps in m.member_assignment.assignment:
                assert topic == "adm"
                owned += ps
        assert sorted(owned) == [0, 1]
        offsets = ka.list_consumer_group_offsets("g-admin")
        assert {tp.partition: om.offset for tp, om in offsets.items()} == {0: 3, 1: 3}
        assert all(tp.topic == "adm" for tp in offsets)
        only = ka.list_consumer_group_offsets("g-admin", partitions=[KTopicPartition("adm", 1)])
        assert [om.offset for om in only.values()] == [3]

        c1.close()
        c2.close()
        [info] = ka.describe_consumer_groups(["g-admin"])
        assert info.state == "Empty" and not info.members
        # An unknown group is reported Dead, as Kafka does.
        [none] = ka.describe_consumer_groups(["no-such-group"])
        assert none.state == "Dead"
    finally:
        ka.close()
    groups = {g.id: g for g in admin.list_groups(timeout=sh.scaled(10))}
    assert groups["g-admin"].state == "Empty"


def test_kafka_python_group(sluice_proc):
    from kafka import KafkaConsumer

    broker = start_broker(sluice_proc)
    create_topic(broker.addr, "kp", 2)
    sent = produce(broker.addr, "kp", 2, 10, "k")

    def kconsumer(**extra):
        conf = dict(bootstrap_servers=broker.addr, group_id="g-kp", auto_offset_reset="earliest",
                    enable_auto_commit=False, session_timeout_ms=6000, heartbeat_interval_ms=300)
        conf.update(extra)
        return KafkaConsumer("kp", **conf)

    def read(c, n, timeout=30):
        got = []
        deadline = time.monotonic() + sh.scaled(timeout)
        while len(got) < n and time.monotonic() < deadline:
            for recs in c.poll(timeout_ms=200, max_records=n - len(got)).values():
                got += [r.value.decode() for r in recs]
        assert len(got) == n, f"got {len(got)} of {n}"
        return got

    c = kconsumer()
    got1 = read(c, 12)
    c.commit()  # OffsetCommit v2 with the generation and member id from JoinGroup v2
    c.close()
    c = kconsumer()
    got2 = read(c, 8)
    assert set(got1) | set(got2) == sent and not set(got1) & set(got2)
    c.commit()

    c.close()

    # Two kafka-python members split the partitions. Each polls in its own thread: a member's
    # poll() blocks in JoinGroup until every member has rejoined.
    owned = {}
    stop = threading.Event()

    def member(name):
        k = kconsumer()
        try:
            while not stop.is_set():
                k.poll(timeout_ms=100)
                owned[name] = sorted(tp.partition for tp in k.assignment())
        finally:
            k.close()

    threads = [threading.Thread(target=member, args=(n,)) for n in ("m1", "m2")]
    for t in threads:
        t.start()
    try:
        sh.wait_until(lambda: owned.get("m1") and owned.get("m2")
                      and sorted(owned["m1"] + owned["m2"]) == [0, 1],
                      sh.scaled(30), what=f"a 1+1 split (owned: {owned})")
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert committed(broker.addr, "g-kp", "kp", 2) == {0: 10, 1: 10}
    assert os.path.getsize(broker.data_dir / "__groups" / "offsets.log") > 8
