"""Protocol points of issue 3 that the client suites do not pin down (docs/kafka.md,
"Conformance"): the listen default and the advertised address in Metadata, topic auto-creation
on and off, ListOffsets earliest/latest/by timestamp (confluent-kafka offsets_for_times and
kafka-python), Fetch long-polling with min_bytes, max_wait_ms, max_bytes and per-partition max
bytes, and acks=0 (no response) and acks=1."""

import subprocess
import threading
import time

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaConsumer
from kafka import TopicPartition as KpTopicPartition

import kafka_wire as kw
import sluice_harness as sh


def make_topic(addr, name, partitions=1, config=None):
    admin = AdminClient({"bootstrap.servers": addr})  # kept alive until the result is in
    admin.create_topics([NewTopic(name, partitions, 1, config=config or {})])[name].result(
        timeout=sh.scaled(10))


def produce(addr, topic, values, partition=0, timestamps=None, **conf):
    p = Producer({"bootstrap.servers": addr, **conf})
    errors = []
    for i, v in enumerate(values):
        kw_ = {"timestamp": timestamps[i]} if timestamps else {}
        p.produce(topic, value=v, partition=partition,
                  on_delivery=lambda e, m: errors.append(e) if e else None, **kw_)
    assert p.flush(sh.scaled(15)) == 0 and not errors, errors[:1]


def test_listen_default_and_advertised_address(sluice_proc, kcat):
    out = sh.run_sluice("broker", "--help")
    assert out.returncode == 0
    assert "--listen HOST:PORT" in out.stdout + out.stderr
    assert "(default: 127.0.0.1:9092)" in out.stdout + out.stderr

    # Without --advertised, Metadata gives the listen address.
    plain = sluice_proc("broker")
    with kw.Conn(plain.addr) as c:
        brokers, _ = kw.metadata_v4(c, [], False)
    assert brokers == [(1, "127.0.0.1", plain.port)]

    # With it, Metadata (and so every client's next connection) uses it.
    adv = sluice_proc("broker", args=["--advertised", "kafka.example.test:19092"])
    with kw.Conn(adv.addr) as c:
        brokers, _ = kw.metadata_v4(c, [], False)
    assert brokers == [(1, "kafka.example.test", 19092)]
    out = subprocess.run([kcat, "-b", adv.addr, "-L", "-m", "5"], capture_output=True,
                         text=True, timeout=sh.scaled(20))
    assert "broker 1 at kafka.example.test:19092" in out.stdout, out.stdout + out.stderr


def test_auto_create_on_and_off(sluice_proc):
    on = sluice_proc("broker", args=["--num-partitions", "3"])
    produce(on.addr, "made-by-produce", [b"x"], partition=-1)
    with kw.Conn(on.addr) as c:
        assert kw.metadata(c, ["made-by-metadata"])["made-by-metadata"] == (kw.NONE, 3)
        # Metadata v4+ says whether it may create; a client that says no gets no topic.
        _, md = kw.metadata_v4(c, ["not-made"], False)
        assert md["not-made"][0] == kw.UNKNOWN_TOPIC_OR_PARTITION
        listed = kw.metadata(c, None)
    assert listed["made-by-produce"] == (kw.NONE, 3)
    assert "made-by-metadata" in listed and "not-made" not in listed

    off = sluice_proc("broker", args=["--auto-create-topics=false"])
    with kw.Conn(off.addr) as c:
        assert kw.metadata(c, ["nope"])["nope"][0] == kw.UNKNOWN_TOPIC_OR_PARTITION
        _, md = kw.metadata_v4(c, ["nope"], True)
        assert md["nope"][0] == kw.UNKNOWN_TOPIC_OR_PARTITION
        err, _ = kw.produce(c, "nope", 0, kw.record_batch([b"x"]))
        assert err == kw.UNKNOWN_TOPIC_OR_PARTITION
    p = Producer({"bootstrap.servers": off.addr, "message.timeout.ms": 2000})
    errors = []
    p.produce("nope", value=b"x", on_delivery=lambda e, m: errors.append(e))
    p.flush(sh.scaled(10))
    assert len(errors) == 1 and errors[0] is not None
    assert not list(off.data_dir.glob("nope-*"))
    # Explicit creation still works.
    make_topic(off.addr, "explicit", 2)
    with kw.Conn(off.addr) as c:
        assert kw.metadata(c, ["explicit"])["explicit"] == (kw.NONE, 2)


def test_list_offsets_earliest_latest_and_by_time(sluice_proc):
    broker = sluice_proc("broker")
    make_topic(broker.addr, "times")
    base = int(time.time() * 1000) - 60_000
    stamps = [base + 1000 * i for i in range(10)]
    produce(broker.addr, "times", [b"m%d" % i for i in range(10)], timestamps=stamps,
            **{"linger.ms": 100})
    # A second, gzip-compressed batch: by-time lookups inside it answer its first offset.
    produce(broker.addr, "times", [b"z%d" % i + b"z" * 2000 for i in range(5)],
            timestamps=[base + 20_000 + 100 * i for i in range(5)],
            **{"linger.ms": 100, "compression.codec": "gzip"})

    c = Consumer({"bootstrap.servers": broker.addr, "group.id": "times-probe"})
    try:
        assert c.get_watermark_offsets(TopicPartition("times", 0), timeout=sh.scaled(10),
                                       cached=False) == (0, 15)
        got = []
        for ts in (base - 5, base, base + 1500, base + 9000, base + 9001, base + 20_250,
                   base + 99_000):
            tp, = c.offsets_for_times([TopicPartition("times", 0, ts)], timeout=sh.scaled(10))
            got.append(tp.offset)
    finally:
        c.close()
    # Exact per record in an uncompressed batch; the first offset of a compressed one; -1
    # (the end) when every record is older.
    assert got == [0, 0, 2, 9, 10, 10, -1]

    kc = KafkaConsumer(bootstrap_servers=broker.addr, request_timeout_ms=10000)
    try:
        tp = KpTopicPartition("times", 0)
        assert kc.beginning_offsets([tp]) == {tp: 0}
        assert kc.end_offsets([tp]) == {tp: 15}
        found = kc.offsets_for_times({tp: base + 3000})[tp]
        assert (found.offset, found.timestamp) == (3, base + 3000)
        assert kc.offsets_for_times({tp: base + 99_000})[tp] is None
    finally:
        kc.close()


def records_of(resp, topic, part):
    err, hwm, start, records = resp[(topic, part)]
    assert err == kw.NONE
    return kw.batches(records), len(records)


def test_fetch_long_poll_min_bytes_and_max_bytes(sluice_proc):
    broker = sluice_proc("broker")
    make_topic(broker.addr, "fp", 2)
    c = kw.Conn(broker.addr, timeout=sh.scaled(20))

    # Nothing to read: the answer comes after max_wait_ms, empty.
    t0 = time.monotonic()
    r = kw.fetch(c, [("fp", 0, 0, 1 << 20)], max_wait_ms=600, min_bytes=1)
    waited = time.monotonic() - t0
    assert records_of(r, "fp", 0) == ([], 0)
    assert 0.55 <= waited < sh.scaled(3), waited

    # A long poll is answered as soon as a producer (another client) appends.
    def later(delay, fn):
        t = threading.Timer(delay, fn)
        t.start()
        return t
    t0 = time.monotonic()
    later(0.3, lambda: produce(broker.addr, "fp", [b"wake"]))
    r = kw.fetch(c, [("fp", 0, 0, 1 << 20)], max_wait_ms=10_000, min_bytes=1)
    waited = time.monotonic() - t0
    assert [b[:2] for b in records_of(r, "fp", 0)[0]] == [(0, 1)]
    assert waited < sh.scaled(3), f"long poll not woken by the append ({waited:.2f}s)"

    # min_bytes: small appends do not answer it until enough has gathered.
    stop = threading.Event()

    def trickle():
        p = Producer({"bootstrap.servers": broker.addr, "linger.ms": 0})
        while not stop.is_set():
            p.produce("fp", value=b"t" * 1000, partition=0)
            p.flush(5)
            time.sleep(0.1)
    th = threading.Thread(target=trickle)
    t0 = time.monotonic()
    th.start()
    try:
        r = kw.fetch(c, [("fp", 0, 1, 1 << 20)], max_wait_ms=10_000, min_bytes=4000)
    finally:
        stop.set()
        th.join()
    waited = time.monotonic() - t0
    got, size = records_of(r, "fp", 0)
    assert size >= 4000 and len(got) >= 4, (size, got)
    assert waited < sh.scaled(5), waited
    # min_bytes never reached: answered at max_wait_ms with what there is.
    end = got[-1][0] + 1
    produce(broker.addr, "fp", [b"short"])
    t0 = time.monotonic()
    r = kw.fetch(c, [("fp", 0, end, 1 << 20)], max_wait_ms=700, min_bytes=1 << 20)
    assert len(records_of(r, "fp", 0)[0]) >= 1
    assert time.monotonic() - t0 >= 0.65

    # Per-partition and response limits, in whole batches (each message its own batch here).
    for part in (0, 1):
        p = Producer({"bootstrap.servers": broker.addr, "linger.ms": 0})
        for i in range(20):
            p.produce("fp", value=b"%d" % i + b"." * 1000, partition=part)
            p.flush(5)
    hw0 = kw.list_offsets(c, "fp", 0)[1]
    r = kw.fetch(c, [("fp", 0, 0, 2500), ("fp", 1, 0, 2500)])
    for part in (0, 1):
        got, size = records_of(r, "fp", part)
        assert 1 <= len(got) and size <= 2500, (part, size)
    r = kw.fetch(c, [("fp", 0, 0, 1 << 20), ("fp", 1, 0, 1 << 20)], max_bytes=3000)
    (_, s0), (_, s1) = records_of(r, "fp", 0), records_of(r, "fp", 1)
    assert s0 + s1 <= 3000 and s0 > 0, (s0, s1)
    # A first batch larger than every limit still goes out whole, so consumers progress.
    produce(broker.addr, "fp", [b"B" * 50_000], partition=1)
    hw1 = kw.list_offsets(c, "fp", 1)[1]
    r = kw.fetch(c, [("fp", 1, hw1 - 1, 100)], max_bytes=100)
    got, size = records_of(r, "fp", 1)
    assert len(got) == 1 and size > 50_000
    c.close()

    # And a real consumer with tiny limits reads everything.
    cons = Consumer({"bootstrap.servers": broker.addr, "group.id": "fp-small",
                     "enable.auto.commit": False, "enable.partition.eof": True,
                     "max.partition.fetch.bytes": 100, "fetch.max.bytes": 1000,
                     "message.max.bytes": 1000,
                     "fetch.wait.max.ms": 50})
    cons.assign([TopicPartition("fp", 0, 0), TopicPartition("fp", 1, 0)])
    n, eof, deadline = 0, set(), time.monotonic() + sh.scaled(30)
    while len(eof) < 2 and time.monotonic() < deadline:
        m = cons.poll(0.5)
        if m is None:
            continue
        if m.error():
            assert m.error().code() == KafkaError._PARTITION_EOF, m.error()
            eof.add(m.partition())
            continue
        n += 1
    cons.close()
    assert n == hw0 + hw1


def test_acks_zero_and_one(sluice_proc):
    broker = sluice_proc("broker")
    make_topic(broker.addr, "acks")
    with kw.Conn(broker.addr) as c:
        # acks=0: no response at all; the next frame answers the next request.
        for i in range(3):
            kw.produce_no_ack(c, "acks", 0, kw.record_batch([b"zero-%d" % i]))
        err, end = kw.list_offsets(c, "acks", 0)  # asserts the correlation id is its own
        assert (err, end) == (kw.NONE, 3)
        # acks=1: answered with the offset, and readable at once.
        assert kw.produce(c, "acks", 0, kw.record_batch([b"one"]), acks=1) == (kw.NONE, 3)
        r = kw.fetch(c, [("acks", 0, 3, 1 << 20)])
        assert [b[:2] for b in kw.batches(r[("acks", 0)][3])] == [(3, 1)]
        # A bad batch with acks=0 is dropped silently; the connection keeps working.
        kw.produce_no_ack(c, "acks", 0, kw.record_batch([b"bad"], bad_crc=True))
        assert kw.list_offsets(c, "acks", 0) == (kw.NONE, 4)

    # The same through librdkafka.
    produce(broker.addr, "acks", [b"c0-%d" % i for i in range(500)], acks=0)
    # acks=0 messages may still be in flight when flush returns: all in before the next phase.
    with kw.Conn(broker.addr) as c:
        sh.wait_until(lambda: kw.list_offsets(c, "acks", 0)[1] == 504, sh.scaled(10),
                      what="the acks=0 messages appended")
    produce(broker.addr, "acks", [b"c1-%d" % i for i in range(500)], acks=1)
    cons = Consumer({"bootstrap.servers": broker.addr, "group.id": "acks-reader",
                     "enable.auto.commit": False, "enable.partition.eof": True})
    cons.assign([TopicPartition("acks", 0, 0)])
    values = []
    while True:
        m = cons.poll(sh.scaled(10))
        assert m is not None
        if m.error():
            assert m.error().code() == KafkaError._PARTITION_EOF
            break
        values.append(m.value())
    cons.close()
    assert values == ([b"zero-0", b"zero-1", b"zero-2", b"one"] +
                      [b"c0-%d" % i for i in range(500)] + [b"c1-%d" % i for i in range(500)])


@pytest.mark.parametrize("version", [3, 5, 7])
def test_produce_versions_served(sluice_proc, version):
    broker = sluice_proc("broker")
    with kw.Conn(broker.addr) as c:
        assert kw.produce(c, "pv", 0, kw.record_batch([b"a", b"b"]), version=version) == \
            (kw.NONE, 0)
        assert kw.produce(c, "pv", 0, kw.record_batch([b"c"]), version=version) == (kw.NONE, 2)
