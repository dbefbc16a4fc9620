"""The console's Consumer groups API against a real `sluice broker`, with python3-confluent-kafka
consumers as the group's members and python3-requests for the API: the group list with state,
members and lag; one group's members, assignments, committed offsets and lag per partition; the
lag history the sampler keeps; resetting offsets to earliest, latest or a timestamp only while
the group is empty (409 while a member is live); and a named 4xx for every bad input."""

import time

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

import console_util as cu
import sluice_harness as sh

T0 = 1_700_000_000_000  # message timestamps: partition p, message i at T0 + p * 1000 + i


@pytest.fixture
def env(sluice_proc):
    broker = sluice_proc("broker")
    con = cu.start(sluice_proc, args=["--kafka", broker.addr, "--collect-interval", "200ms"])
    a = AdminClient({"bootstrap.servers": broker.addr})
    a.create_topics([NewTopic("events", num_partitions=2, replication_factor=1)])["events"] \
        .result(timeout=sh.scaled(10))
    p = Producer({"bootstrap.servers": broker.addr})
    for part in (0, 1):
        for i in range(10):
            p.produce("events", key=f"{part}-{i}", value=b"{}", partition=part,
                      timestamp=T0 + part * 1000 + i)
    assert p.flush(sh.scaled(10)) == 0
    return broker, con, cu.login(con)


def get(s, con, path, status=200):
    r = s.get(cu.url(con, path), timeout=sh.scaled(15))
    assert r.status_code == status, (path, r.status_code, r.text)
    return r.json()


def reset(s, con, group, body, status=200):
    r = s.post(cu.url(con, f"/api/groups/{group}/offsets"), json=body, timeout=sh.scaled(15))
    assert r.status_code == status, (body, r.status_code, r.text)
    return r.json()


def consume(broker, group, n):
    """A member of group that reads and commits n messages, then stays in the group."""
    c = Consumer({"bootstrap.servers": broker.addr, "group.id": group, "client.id": "reader-1",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe(["events"])
    got = 0
    deadline = time.time() + sh.scaled(20)
    while got < n and time.time() < deadline:
        m = c.poll(0.2)
        if m is None or m.error():
            continue
        got += 1
        c.commit(message=m, asynchronous=False)
    assert got == n
    return c


def lag(s, con, group):
    return get(s, con, f"/api/groups/{group}")["lag"]


def test_live_group_then_reset(env):
    broker, con, s = env
    c = consume(broker, "readers", 12)
    groups = {g["group"]: g for g in get(s, con, "/api/groups")["groups"]}
    g = groups["readers"]
    assert g["state"] == "Stable" and g["members"] == 1 and g["topics"] == ["events"]
    assert g["lag"] == 8

    d = get(s, con, "/api/groups/readers")
    assert d["state"] == "Stable" and d["assignor"] == "range"
    [m] = d["members"]
    assert m["client_id"] == "reader-1" and m["host"].endswith("127.0.0.1")
    assert sorted((a["topic"], a["partition"]) for a in m["assignment"]) == \
        [("events", 0), ("events", 1)]
    rows = {o["partition"]: o for o in d["offsets"]}
    assert sum(o["committed"] for o in rows.values()) == 12
    for o in rows.values():
        assert o["end"] == 10 and o["lag"] == 10 - o["committed"]
        assert o["member"] == m["member_id"]
    assert d["lag"] == 8

    # The sampler's history: total and per partition, aligned on ts.
    def history():
        h = get(s, con, "/api/groups/readers")["history"]
        return len(h["ts"]) >= 3 and h
    h = sh.wait_until(history, sh.scaled(10), what="three lag samples")
    assert h["total"][-1] == 8 and len(h["total"]) == len(h["ts"])
    assert set(h["partitions"]) == {"events/0", "events/1"}

    # A live member blocks a reset, named so.
    err = reset(s, con, "readers", {"to": "earliest"}, 409)["error"]
    assert "1 active member" in err and "stop its consumers" in err
    # The page's topic view names the group.
    t = get(s, con, "/api/topics/events")
    assert t["groups"] == [{"group": "readers", "lag": 8}]

    c.close()
    sh.wait_until(lambda: get(s, con, "/api/groups/readers")["state"] == "Empty",
                  sh.scaled(10), what="the group to empty")
    out = reset(s, con, "readers", {"to": "earliest"})
    assert sorted((o["partition"], o["offset"]) for o in out["offsets"]) == [(0, 0), (1, 0)]
    assert lag(s, con, "readers") == 20
    reset(s, con, "readers", {"to": "latest", "topic": "events"})
    assert lag(s, con, "readers") == 0
    # From a time: partition 0 at its 5th message, partition 1 has nothing before T0+1000.
    out = reset(s, con, "readers", {"to": "timestamp", "timestamp": T0 + 5})
    assert sorted((o["partition"], o["offset"]) for o in out["offsets"]) == [(0, 5), (1, 0)]
    assert lag(s, con, "readers") == 5 + 10
    out = reset(s, con, "readers", {"to": "timestamp", "timestamp": T0 + 10**9})
    assert sorted((o["partition"], o["offset"]) for o in out["offsets"]) == [(0, 10), (1, 10)]

    # A consumer that joins again starts from the reset offsets: partition 0 has nothing at or
    # after that time (its end), partition 1 its last two messages.
    reset(s, con, "readers", {"to": "timestamp", "timestamp": T0 + 1008})
    c = Consumer({"bootstrap.servers": broker.addr, "group.id": "readers",
                  "enable.auto.commit": False})
    c.subscribe(["events"])
    seen = []
    deadline = time.time() + sh.scaled(15)
    while time.time() < deadline and (len(seen) < 2 or time.time() < quiet):
        m = c.poll(0.2)
        if m is not None and not m.error():
            seen.append(m.key().decode())
            quiet = time.time() + 1.0
    c.close()
    assert sorted(seen) == ["1-8", "1-9"]


def test_a_new_group_from_a_reset(env):
    broker, con, s = env
    # Resetting a group that does not exist yet creates its offsets (a simple commit), as
    # kafka-consumer-groups --reset-offsets does.
    reset(s, con, "fresh", {"to": "earliest", "topic": "events"})
    d = get(s, con, "/api/groups/fresh")
    assert d["members"] == [] and d["lag"] == 20
    assert {g["group"] for g in get(s, con, "/api/groups")["groups"]} >= {"fresh"}


BAD = [
    ("readers", "{", 400, "bad JSON"),
    ("readers", "[]", 400, "JSON object"),
    ("readers", "{}", 400, "\"to\" is required"),
    ("readers", '{"to":"yesterday"}', 400, "earliest, latest or timestamp"),
    ("readers", '{"to":"timestamp"}', 400, "needs \"timestamp\""),
    ("readers", '{"to":"timestamp","timestamp":-5}', 400, "wrong type"),
    ("readers", '{"to":"latest","topic":""}', 400, "wrong type"),
    ("readers", '{"to":"latest","colour":"red"}', 400, "unknown field"),
    ("readers", '{"to":"latest","topic":"ghost"}', 404, "unknown topic"),
    ("nobody", '{"to":"latest"}', 400, "no committed offsets"),
    ("g" * 300, '{"to":"latest"}', 400, "invalid group id"),
]


def test_bad_input_gets_named_4xx(env):
    broker, con, s = env
    consume(broker, "readers", 1).close()
    for group, body, status, needle in BAD:
        r = s.post(cu.url(con, f"/api/groups/{group}/offsets"), data=body,
                   headers={"Content-Type": "application/json"}, timeout=sh.scaled(15))
        assert r.status_code == status, (group, body, r.text)
        assert needle in r.json()["error"], (group, body, r.text)
    assert get(s, con, "/api/groups/nobody", 404)["error"] == "unknown group 'nobody'"
    assert "invalid group id" in get(s, con, "/api/groups/" + "g" * 300, 400)["error"]
    r = s.post(cu.url(con, "/api/groups/readers"), json={}, timeout=sh.scaled(15))
    assert r.status_code == 405
    r = s.post(cu.url(con, "/api/groups/readers/frob"), json={}, timeout=sh.scaled(15))
    assert r.status_code == 404
    # The refused resets changed nothing: one message read of the partition it committed on
    # (a partition without a commit has no lag to count).
    assert lag(s, con, "readers") == 9
