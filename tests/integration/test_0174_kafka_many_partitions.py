"""Topics with many partitions (docs/kafka.md, "Limits").

Each partition holds up to 4 file descriptors. A topic whose partitions would not fit under
RLIMIT_NOFILE (keeping 512 for connections) is refused at once with POLICY_VIOLATION and a
message saying why; one that fits is created, and deleted, with the file work on worker
threads, so that clients of other topics are not stalled meanwhile."""

import threading
import time

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import sluice_harness as sh


class SteadyProducer:
    """Produces one message every 10 ms to topic "steady" (acks=1) and records each delivery's
    latency, to see whether the broker stalls while something else happens."""

    def __init__(self, addr):
        self.p = Producer({"bootstrap.servers": addr, "acks": 1, "linger.ms": 0})
        self.latencies, self.errors = [], []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            sent = time.monotonic()

            def done(err, msg, sent=sent):
                if err:
                    self.errors.append(err)
                else:
                    self.latencies.append(time.monotonic() - sent)
            self.p.produce("steady", value=b"tick", on_delivery=done)
            self.p.poll(0.01)
        self.p.flush(sh.scaled(10))

    def __enter__(self):
        self.thread.start()
        sh.wait_until(lambda: len(self.latencies) >= 5, sh.scaled(10), what="steady deliveries")
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()

    def mark(self):
        return len(self.latencies)

    def worst_since(self, mark):
        window = self.latencies[mark:]
        assert window, "no delivery at all in the window"
        return max(window), len(window)


def create(admin, topic, partitions):
    return admin.create_topics([NewTopic(topic, partitions, 1)],
                               operation_timeout=sh.scaled(60))[topic]


def test_1000_partitions_do_not_stall_other_clients(sluice_proc):
    broker = sluice_proc("broker")
    admin = AdminClient({"bootstrap.servers": broker.addr})
    with SteadyProducer(broker.addr) as steady:
        mark = steady.mark()
        t0 = time.monotonic()
        create(admin, "wide", 1000).result(timeout=sh.scaled(60))
        create_s = time.monotonic() - t0
        worst_create, n_create = steady.worst_since(mark)

        md = admin.list_topics(timeout=sh.scaled(10))
        assert len(md.topics["wide"].partitions) == 1000
        p = Producer({"bootstrap.servers": broker.addr, "acks": "all"})
        for part in (0, 500, 999):
            p.produce("wide", value=b"in-%d" % part, partition=part)
        assert p.flush(sh.scaled(15)) == 0
        c = Consumer({"bootstrap.servers": broker.addr, "group.id": "wide-reader",
                      "enable.auto.commit": False})
        c.assign([TopicPartition("wide", 999, 0)])
        m = c.poll(sh.scaled(10))
        assert m is not None and not m.error() and m.value() == b"in-999"
        c.close()

        mark = steady.mark()
        t0 = time.monotonic()
        admin.delete_topics(["wide"], operation_timeout=sh.scaled(30))["wide"].result(
            timeout=sh.scaled(30))
        delete_s = time.monotonic() - t0
        # Answered once the directories are gone, so the name is free again at once.
        assert not list(broker.data_dir.glob("wide-*"))
        create(admin, "wide", 3).result(timeout=sh.scaled(10))
        worst_delete, n_delete = steady.worst_since(mark)
    assert not steady.errors, steady.errors[0]
    print(f"\n1000 partitions: CreateTopics answered in {create_s:.2f}s, worst steady delivery "
          f"meanwhile {worst_create * 1000:.0f}ms over {n_create}; DeleteTopics (files "
          f"removed) answered in {delete_s:.2f}s, worst steady delivery "
          f"{worst_delete * 1000:.0f}ms over {n_delete}")
    assert create_s < sh.scaled(20)
    assert worst_create < sh.scaled(0.5), f"steady producer stalled {worst_create:.2f}s"
    assert worst_delete < sh.scaled(0.5), f"steady producer stalled {worst_delete:.2f}s"
    assert len(admin.list_topics(timeout=sh.scaled(10)).topics["wide"].partitions) == 3


NOFILE = 1500


def test_descriptor_budget_refuses_at_once(sluice_proc):
    # Soft and hard limit both, so the broker cannot raise its soft limit past it.
    broker = sluice_proc("broker", argv=[
        "prlimit", f"--nofile={NOFILE}:{NOFILE}", str(sh.sluice_bin()), "broker",
        "--listen", "127.0.0.1:{port}", "--data-dir", "{data_dir}"])
    admin = AdminClient({"bootstrap.servers": broker.addr})
    with SteadyProducer(broker.addr) as steady:
        mark = steady.mark()
        t0 = time.monotonic()
        with pytest.raises(KafkaException) as ei:
            create(admin, "toowide", 1000).result(timeout=sh.scaled(10))
        refuse_s = time.monotonic() - t0
        err = ei.value.args[0]
        assert err.code() == KafkaError.POLICY_VIOLATION, err
        assert "RLIMIT_NOFILE" in err.str() and "ulimit -n" in err.str(), err.str()
        assert refuse_s < sh.scaled(2), f"refusal took {refuse_s:.2f}s"
        assert not list(broker.data_dir.glob("toowide-*"))

        # What fits is created; the next one that would not is refused too.
        create(admin, "fits", 200).result(timeout=sh.scaled(30))
        with pytest.raises(KafkaException) as ei:
            create(admin, "onemore", 100).result(timeout=sh.scaled(10))
        assert ei.value.args[0].code() == KafkaError.POLICY_VIOLATION
        worst, _ = steady.worst_since(mark)
    assert not steady.errors, steady.errors[0]
    print(f"\n1000 partitions under nofile={NOFILE}: refused in {refuse_s * 1000:.0f}ms: "
          f"{err.str()}")
    assert worst < sh.scaled(0.5)
    md = admin.list_topics(timeout=sh.scaled(10))
    assert len(md.topics["fits"].partitions) == 200 and "onemore" not in md.topics
    assert broker.running


def test_auto_created_wide_topic(sluice_proc):
    # More than 8 partitions: made on workers, LEADER_NOT_AVAILABLE until then, which
    # clients retry.
    broker = sluice_proc("broker", args=["--num-partitions", "64"])
    p = Producer({"bootstrap.servers": broker.addr, "acks": "all"})
    errors = []
    for i in range(200):
        p.produce("autowide", key=b"k%d" % i, value=b"v%d" % i,
                  on_delivery=lambda e, m: errors.append(e) if e else None)
    assert p.flush(sh.scaled(30)) == 0 and not errors, errors[:1]
    md = AdminClient({"bootstrap.servers": broker.addr}).list_topics(timeout=sh.scaled(10))
    assert len(md.topics["autowide"].partitions) == 64
