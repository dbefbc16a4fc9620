"""The console's Topics API against a real `sluice broker` and `sluice registry`, with
python3-requests for the API and python3-confluent-kafka as the outside Kafka client: the topic
list with message counts and rates, one topic's partitions and configs, the message browser
(newest, offset, timestamp, partition, key/value search, JSON, Avro decoded through the registry
by the schema id of Confluent's wire format), producing a message that another client then
reads, and a named 4xx for every bad input while the console keeps serving."""

import json
import struct
import time

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

import console_util as cu
import registry_util as ru
import sluice_harness as sh

N = 30


def create(broker, topic, parts):
    a = AdminClient({"bootstrap.servers": broker.addr})
    fs = a.create_topics([NewTopic(topic, num_partitions=parts, replication_factor=1)])
    fs[topic].result(timeout=sh.scaled(10))


def produce(broker, topic, msgs):
    """msgs: (key, value bytes, partition or None, headers or None)."""
    p = Producer({"bootstrap.servers": broker.addr})
    for key, value, part, headers in msgs:
        kw = {"key": key, "value": value}
        if part is not None:
            kw["partition"] = part
        if headers:
            kw["headers"] = headers
        p.produce(topic, **kw)
    assert p.flush(sh.scaled(10)) == 0


def user(i):
    return json.dumps({"id": f"id-{i}", "first_name": f"User{i}",
                       "email": f"user{i}@example.com"}).encode()


@pytest.fixture
def env(sluice_proc):
    broker, reg = ru.start(sluice_proc)
    con = cu.start(sluice_proc, args=["--kafka", broker.addr, "--registry", ru.url(reg),
                                      "--collect-interval", "200ms"])
    create(broker, "users_created", 3)
    produce(broker, "users_created", [(f"k{i}", user(i), i % 3, None) for i in range(N)])
    return broker, reg, con, cu.login(con)


def get(s, con, path, status=200, **params):
    r = s.get(cu.url(con, path), params=params, timeout=sh.scaled(15))
    assert r.status_code == status, (path, r.status_code, r.text)
    return r.json()


def test_topic_list_and_detail(env):
    broker, reg, con, s = env
    topics = {t["name"]: t for t in get(s, con, "/api/topics")["topics"]}
    t = topics["users_created"]
    assert t["partitions"] == 3 and t["messages"] == N and t["internal"] is False
    assert topics["_schemas"]["internal"] is True
    d = get(s, con, "/api/topics/users_created")
    assert [p["partition"] for p in d["partitions"]] == [0, 1, 2]
    assert [p["end"] for p in d["partitions"]] == [10, 10, 10]
    assert sum(p["messages"] for p in d["partitions"]) == N
    configs = {c["name"]: c for c in d["configs"]}
    assert configs["cleanup.policy"]["value"] == "delete"
    assert "retention.ms" in configs
    # Messages written while the sampler runs show up as an in-rate, then in the history. The
    # sampler must have taken a sample before they are written: its first one can come later
    # than the fixture's produce and login, and then no interval would hold the new messages.
    sh.wait_until(lambda: get(s, con, "/api/topics/users_created")["history"], sh.scaled(10),
                  what="two samples in the topic's history")
    produce(broker, "users_created", [(f"r{i}", user(i), None, None) for i in range(200)])

    def rated():
        d = get(s, con, "/api/topics/users_created")
        return any(p[1] > 0 for p in d["history"]) and d

    d = sh.wait_until(rated, sh.scaled(10), what="an in-rate in the topic's history")
    assert d["messages"] == N + 200
    # The list's chart: every topic but the internal ones, summed.
    h = get(s, con, "/api/topics")["history"]
    assert any(p[1] > 0 for p in h) and all(len(p) == 3 for p in h)


def test_browse(env):
    broker, reg, con, s = env
    b = get(s, con, "/api/topics/users_created/messages", limit=5)
    assert len(b["messages"]) == 5 and b["complete"] is True
    m = b["messages"][-1]
    assert m["value_format"] == "json" and m["key_format"] == "text"
    assert json.loads(m["value"])["email"].endswith("@example.com")
    assert m["timestamp"] > 0 and m["size"] > 0
    # One partition from an offset; search by value, by key; a future timestamp has nothing.
    b = get(s, con, "/api/topics/users_created/messages", partition=1, offset=7)
    assert [(x["partition"], x["offset"]) for x in b["messages"]] == [(1, 7), (1, 8), (1, 9)]
    b = get(s, con, "/api/topics/users_created/messages", q="USER17@example")
    assert [x["key"] for x in b["messages"]] == ["k17"]
    assert b["scanned"] == N
    b = get(s, con, "/api/topics/users_created/messages", q="k2", **{"in": "key"})
    assert sorted(x["key"] for x in b["messages"]) == ["k2"] + [f"k{i}" for i in range(20, 30)]
    b = get(s, con, "/api/topics/users_created/messages", q="k2", **{"in": "value"})
    assert b["messages"] == []
    future = int(time.time() * 1000) + 3600_000
    b = get(s, con, "/api/topics/users_created/messages", timestamp=future)
    assert b["messages"] == []
    b = get(s, con, "/api/topics/users_created/messages", timestamp=0, limit=50)
    assert len(b["messages"]) == N


def avro_str(s):
    b = s.encode()
    n = len(b)
    z = (n << 1) ^ (n >> 63)
    out = bytearray()
    while z >= 0x80:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out) + b


def test_avro_through_registry(env):
    broker, reg, con, s = env
    schema = ru.record([{"name": "first_name", "type": "string"},
                        {"name": "email", "type": "string"}])
    st, body = ru.call(reg, "POST", "/subjects/avro_users-value/versions", {"schema": schema})
    assert st == 200, body
    sid = body["id"]
    datum = avro_str("Ada") + avro_str("ada@example.com")
    create(broker, "avro_users", 1)
    produce(broker, "avro_users", [
        ("a1", b"\x00" + struct.pack(">I", sid) + datum, None, [("trace", b"t-1")]),
        ("a2", b"\x00" + struct.pack(">I", 9999) + datum, None, None),
        # Bytes left over after the record. (A string cut short would do too, but libavro 1.11
        # leaks the string's buffer then, which the sanitizer build reports.)
        ("a3", b"\x00" + struct.pack(">I", sid) + datum + b"\x02", None, None),
    ])
    ms = get(s, con, "/api/topics/avro_users/messages", **{"from": "oldest"})["messages"]
    assert len(ms) == 3
    assert ms[0]["value_format"] == "avro" and ms[0]["value_schema_id"] == sid
    assert json.loads(ms[0]["value"]) == {"first_name": "Ada", "email": "ada@example.com"}
    assert ms[0]["headers"] == [{"key": "trace", "value": "t-1"}]
    # An id the registry lacks, and bytes that do not fit the schema: shown raw, with why.
    assert ms[1]["value_format"] == "binary" and "9999" in ms[1]["value_error"]
    assert ms[2]["value_format"] == "binary" and "schema" in ms[2]["value_error"]
    # Search runs over the decoded text.
    ms = get(s, con, "/api/topics/avro_users/messages", q="ada@")["messages"]
    assert [m["key"] for m in ms] == ["a1"]


def test_produce_then_read_by_another_client(env):
    broker, reg, con, s = env
    r = s.post(cu.url(con, "/api/topics/users_created/messages"),
               json={"key": "made-here", "value": '{"hello": "world"}', "partition": 2,
                     "headers": {"origin": "console"}}, timeout=sh.scaled(15))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["partition"] == 2 and out["offset"] == 10
    c = Consumer({"bootstrap.servers": broker.addr, "group.id": "check-0730",
                  "enable.auto.commit": False})
    from confluent_kafka import TopicPartition
    c.assign([TopicPartition("users_created", 2, 10)])
    m = None
    deadline = time.time() + sh.scaled(10)
    while m is None and time.time() < deadline:
        m = c.poll(0.5)
        if m is not None and m.error():
            m = None
    c.close()
    assert m is not None
    assert m.key() == b"made-here" and m.value() == b'{"hello": "world"}'
    assert m.headers() == [("origin", b"console")]
    # The read-only role browses but cannot produce.
    pw = cu.add_user(con, "viewer1")
    v = cu.login(con, "viewer1", pw)
    assert v.get(cu.url(con, "/api/topics/users_created/messages"),
                 timeout=sh.scaled(15)).status_code == 200
    r = v.post(cu.url(con, "/api/topics/users_created/messages"), json={"value": "x"},
               timeout=sh.scaled(15))
    assert r.status_code == 403
    # Without the CSRF token the console refuses the produce.
    r = s.post(cu.url(con, "/api/topics/users_created/messages"), json={"value": "x"},
               headers={"X-CSRF-Token": ""}, timeout=sh.scaled(15))
    assert r.status_code == 403


BAD_GETS = [
    ("/api/topics/bad%20name", {}, 400, "invalid topic name"),
    ("/api/topics/" + "x" * 250, {}, 400, "invalid topic name"),
    ("/api/topics/ghost", {}, 404, "unknown topic"),
    ("/api/topics/ghost/messages", {}, 404, "unknown topic"),
    ("/api/topics/users_created/nope", {}, 404, "not found"),
    ("/api/topics/users_created/messages", {"partition": "x"}, 400, "partition"),
    ("/api/topics/users_created/messages", {"partition": "9"}, 400, "no partition 9"),
    ("/api/topics/users_created/messages", {"from": "middle"}, 400, "from must be"),
    ("/api/topics/users_created/messages", {"from": "offset"}, 400, "offset must be"),
    ("/api/topics/users_created/messages", {"limit": "100000"}, 400, "limit must be"),
    ("/api/topics/users_created/messages", {"timestamp": "yesterday"}, 400, "timestamp"),
    ("/api/topics/users_created/messages", {"q": "x" * 300}, 400, "q is longer"),
    ("/api/topics/users_created/messages", {"in": "headers"}, 400, "in must be"),
]

BAD_POSTS = [
    ("/api/topics/users_created/messages", "{", 400, "bad JSON"),
    ("/api/topics/users_created/messages", "[1]", 400, "JSON object"),
    ("/api/topics/users_created/messages", '{"key":"k"}', 400, "\"value\" is required"),
    ("/api/topics/users_created/messages", '{"value":5}', 400, "string or null"),
    ("/api/topics/users_created/messages", '{"value":"v","partition":3}', 400, "no partition 3"),
    ("/api/topics/users_created/messages", '{"value":"v","headers":[]}', 400, "headers"),
    ("/api/topics/users_created/messages", '{"value":"v","x":1}', 400, "unknown field"),
    ("/api/topics/ghost/messages", '{"value":"v"}', 404, "unknown topic"),
    ("/api/topics/users_created", '{"value":"v"}', 405, "method not allowed"),
]


def test_bad_input_gets_named_4xx(env):
    broker, reg, con, s = env
    for path, params, status, needle in BAD_GETS:
        r = s.get(cu.url(con, path), params=params, timeout=sh.scaled(15))
        assert r.status_code == status, (path, params, r.text)
        assert needle in r.json()["error"], (path, params, r.text)
    for path, body, status, needle in BAD_POSTS:
        r = s.post(cu.url(con, path), data=body, headers={"Content-Type": "application/json"},
                   timeout=sh.scaled(15))
        assert r.status_code == status, (path, body, r.text)
        assert needle in r.json()["error"], (path, body, r.text)
    # Nothing was produced by the refused posts, and the console still serves.
    topics = {t["name"]: t for t in get(s, con, "/api/topics")["topics"]}
    assert topics["users_created"]["messages"] == N
    assert "ghost" not in topics


def test_broker_down_is_a_502_not_a_hang(sluice_proc):
    broker = sluice_proc("broker")
    con = cu.start(sluice_proc, args=["--kafka", broker.addr])
    s = cu.login(con)
    assert get(s, con, "/api/topics")["topics"] == []
    broker.stop()
    t0 = time.time()
    r = s.get(cu.url(con, "/api/topics"), timeout=sh.scaled(30))
    assert r.status_code == 502 and "metadata" in r.json()["error"]
    assert time.time() - t0 < sh.scaled(15)
    # Other pages keep working meanwhile.
    assert s.get(cu.url(con, "/api/session"), timeout=sh.scaled(5)).status_code == 200


def test_registry_down_shows_raw_bytes_with_the_reason(sluice_proc):
    broker = sluice_proc("broker")
    port = sh.free_port()
    con = cu.start(sluice_proc, args=["--kafka", broker.addr,
                                      "--registry", f"http://u:secret@127.0.0.1:{port}"])
    s = cu.login(con)
    create(broker, "framed", 1)
    produce(broker, "framed", [("k", b"\x00\x00\x00\x00\x07" + avro_str("x"), None, None)])
    [m] = get(s, con, "/api/topics/framed/messages")["messages"]
    assert m["value_format"] == "binary"
    assert m["value_error"].startswith("schema id 7: ") and "secret" not in m["value_error"]
    # The harness's first line is the command line itself.
    assert "secret" not in con.log_text().split("\n", 1)[1]
