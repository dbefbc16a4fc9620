"""DescribeLogDirs v0-1 (API key 35): topic sizes for the console's Topics page (issue 8).
kafka-python 2.0.2 has no describe_log_dirs, so the responses are decoded here from the
DescribeLogDirs{Request,Response}.json layouts; data is produced with confluent-kafka and every
size must equal the bytes of that partition's .log segment files on disk."""

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

import console_util as cu
import kafka_wire as kw
import sluice_harness as sh
from kafka_wire import array, i32, string

DESCRIBE_LOG_DIRS = 35
N, PAYLOAD = 200, 500


def describe(conn, version, topics):
    """topics: None (all) or [(name, [partitions])]. Returns (throttle, [(err, dir, {topic:
    {partition: size}})]), checking offset_lag 0 and is_future_key false."""
    if topics is None:
        body = i32(-1)
    else:
        body = array([string(t) + array([i32(p) for p in ps]) for t, ps in topics])
    r = conn.request(DESCRIBE_LOG_DIRS, version, body)
    throttle = r.i32()

    def part(r):
        idx, size, lag, future = r.i32(), r.i64(), r.i64(), r.i8()
        assert lag == 0 and future == 0
        return idx, size

    def topic(r):
        return r.string(), dict(r.array(part))

    results = r.array(lambda r: (r.i16(), r.string(), dict(r.array(topic))))
    assert r.left() == 0
    return throttle, results


def disk_sizes(data_dir, topic, nparts):
    return {p: sum(f.stat().st_size for f in (data_dir / f"{topic}-{p}").glob("*.log"))
            for p in range(nparts)}


def test_describe_log_dirs(sluice_proc):
    broker = sluice_proc("broker")
    admin = AdminClient({"bootstrap.servers": broker.addr})
    for f in admin.create_topics([NewTopic("sized", 3, 1), NewTopic("empty", 1, 1)]).values():
        f.result(timeout=10)
    p = Producer({"bootstrap.servers": broker.addr, "linger.ms": 5})
    for i in range(N):
        p.produce("sized", value=bytes([i % 251]) * PAYLOAD, partition=i % 3)
    assert p.flush(10) == 0

    with kw.Conn(broker.addr) as c:
        _, keys = kw.api_versions(c)
        assert keys[DESCRIBE_LOG_DIRS] == (0, 1)
        on_disk = disk_sizes(broker.data_dir, "sized", 3)
        for v in (0, 1):
            throttle, results = describe(c, v, None)
            assert throttle == 0 and len(results) == 1
            err, log_dir, topics = results[0]
            assert err == 0 and log_dir
            assert topics["sized"] == on_disk
            assert sum(on_disk.values()) > N * PAYLOAD
            assert topics["empty"] == {0: 0}

        # Asked-for partitions only; unknown topics and partitions are left out, as in Kafka.
        _, results = describe(c, 1, [("sized", [2, 0, 7]), ("nope", [0])])
        assert results[0][2] == {"sized": {2: on_disk[2], 0: on_disk[0]}}
        _, results = describe(c, 1, [])
        assert results[0][2] == {}


def test_console_shows_the_sizes(sluice_proc):
    """The console asks every broker with DescribeLogDirs v1 itself (librdkafka has no call):
    /api/topics and /api/topics/{t} carry the bytes on disk, topic and partitions."""
    broker = sluice_proc("broker")
    admin = AdminClient({"bootstrap.servers": broker.addr})
    admin.create_topics([NewTopic("sized", 3, 1)])["sized"].result(timeout=10)
    p = Producer({"bootstrap.servers": broker.addr, "linger.ms": 5})
    for i in range(N):
        p.produce("sized", value=bytes([i % 251]) * PAYLOAD, partition=i % 3)
    assert p.flush(10) == 0
    on_disk = disk_sizes(broker.data_dir, "sized", 3)
    con = cu.start(sluice_proc, args=["--kafka", broker.addr])
    s = cu.login(con)
    topics = {t["name"]: t for t in
              s.get(cu.url(con, "/api/topics"), timeout=sh.scaled(15)).json()["topics"]}
    assert topics["sized"]["size_bytes"] == sum(on_disk.values()) > N * PAYLOAD
    d = s.get(cu.url(con, "/api/topics/sized"), timeout=sh.scaled(15)).json()
    assert d["size_bytes"] == sum(on_disk.values())
    assert {q["partition"]: q["size_bytes"] for q in d["partitions"]} == on_disk


def test_bad_request_closes_only_that_connection(sluice_proc):
    broker = sluice_proc("broker")
    with kw.Conn(broker.addr) as c:
        # A topics count larger than the bytes that follow: a parse error, the connection closes.
        c.send_raw(kw.frame(DESCRIBE_LOG_DIRS, 1, i32(1000) + string("t")))
        assert c.closed_by_peer()
    with kw.Conn(broker.addr) as c:
        _, results = describe(c, 1, None)
        assert results[0][0] == 0
