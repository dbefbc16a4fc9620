"""The group coordinator's APIs byte by byte (kafka_wire.py), for what the real clients of
test_0130 never send: the oldest versions (JoinGroup v0, SyncGroup/Heartbeat v0, OffsetCommit v0
and v1, OffsetFetch v0-v2 and flexible v6-v7, FindCoordinator v0, DescribeGroups v0, ListGroups
v0, LeaveGroup v3's member list), every named error a bad group request gets, and malformed
bodies, which close that connection while the broker keeps serving others."""

import struct

import pytest

import kafka_wire as kw
from kafka_wire import array, bytes_, i8, i16, i32, i64, string

OFFSET_COMMIT, OFFSET_FETCH, FIND_COORDINATOR, JOIN_GROUP = 8, 9, 10, 11
HEARTBEAT, LEAVE_GROUP, SYNC_GROUP, DESCRIBE_GROUPS, LIST_GROUPS = 12, 13, 14, 15, 16

OFFSET_METADATA_TOO_LARGE = 12
COORDINATOR_NOT_AVAILABLE = 15
ILLEGAL_GENERATION = 22
INCONSISTENT_GROUP_PROTOCOL = 23
INVALID_GROUP_ID = 24
UNKNOWN_MEMBER_ID = 25
INVALID_SESSION_TIMEOUT = 26
REBALANCE_IN_PROGRESS = 27
INVALID_REQUEST = 42
MEMBER_ID_REQUIRED = 79


def join(conn, group, member="", version=0, session=10000, ptype="consumer",
         protocols=(("range", b"meta-r"),)):
    body = string(group) + i32(session)
    if version >= 1:
        body += i32(session)  # rebalance timeout
    body += string(member)
    if version >= 5:
        body += string(None)  # group instance id
    body += string(ptype) + array([string(n) + bytes_(m) for n, m in protocols])
    r = conn.request(JOIN_GROUP, version, body)
    if version >= 2:
        r.i32()  # throttle
    res = {"error": r.i16(), "generation": r.i32(), "protocol": r.string(), "leader": r.string(),
           "member": r.string()}

    def member_row(r):
        mid = r.string()
        if version >= 5:
            r.string()
        return mid, r.take(r.i32())

    res["members"] = r.array(member_row)
    assert r.left() == 0
    return res


def sync(conn, group, generation, member, assignments=(), version=0):
    body = string(group) + i32(generation) + string(member)
    if version >= 3:
        body += string(None)
    body += array([string(m) + bytes_(a) for m, a in assignments])
    r = conn.request(SYNC_GROUP, version, body)
    if version >= 1:
        r.i32()
    err = r.i16()
    return err, r.take(r.i32())


def heartbeat(conn, group, generation, member, version=0):
    r = conn.request(HEARTBEAT, version, string(group) + i32(generation) + string(member))
    if version >= 1:
        r.i32()
    return r.i16()


def commit(conn, group, parts, version=0, generation=-1, member="", retention=-1):
    """parts: [(topic, partition, offset, metadata)] -> {(topic, partition): error}."""
    body = string(group)
    if version >= 1:
        body += i32(generation) + string(member)
    if 2 <= version <= 4:
        body += i64(retention)
    topics = {}
    for t, p, o, m in parts:
        row = i32(p) + i64(o)
        if version == 1:
            row += i64(-1)  # commit timestamp: now
        topics.setdefault(t, []).append(row + string(m))
    body += array([string(t) + array(rows) for t, rows in topics.items()])
    r = conn.request(OFFSET_COMMIT, version, body)
    if version >= 3:
        r.i32()
    out = {}
    for t, ps in r.array(lambda r: (r.string(), r.array(lambda r: (r.i32(), r.i16())))):
        for p, e in ps:
            out[(t, p)] = e
    return out


def fetch(conn, group, topics, version=1):
    """topics: {topic: [partitions]} or None -> ({(t, p): (offset, metadata, error)}, error)."""
    body = string(group)
    body += array(None if topics is None else
                  [string(t) + array([i32(p) for p in ps]) for t, ps in topics.items()])
    r = conn.request(OFFSET_FETCH, version, body)
    if version >= 3:
        r.i32()
    out = {}

    def part(r):
        p, o = r.i32(), r.i64()
        if version >= 5:
            r.i32()
        return p, o, r.string(), r.i16()

    for t, ps in r.array(lambda r: (r.string(), r.array(part))):
        for p, o, m, e in ps:
            out[(t, p)] = (o, m, e)
    top = r.i16() if version >= 2 else None
    assert r.left() == 0
    return out, top


def uvarint(v):
    return kw.uvarint(v)


def cstring(s):
    """A compact nullable string (flexible versions)."""
    if s is None:
        return uvarint(0)
    b = s.encode()
    return uvarint(len(b) + 1) + b


class Flex:
    """Reads a flexible response: compact strings and arrays, tagged fields."""

    def __init__(self, data):
        self.r = kw.Reader(data)

    def uvarint(self):
        v, shift = 0, 0
        while True:
            b = self.r.take(1)[0]
            v |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return v

    def string(self):
        n = self.uvarint()
        return None if n == 0 else self.r.take(n - 1).decode()

    def array(self, fn):
        n = self.uvarint()
        return [] if n == 0 else [fn(self) for _ in range(n - 1)]

    def tags(self):
        assert self.uvarint() == 0


def fetch_flexible(conn, group, topics, version):
    """OffsetFetch v6/v7: request header v2, compact encodings, response header v1."""
    body = cstring(group)
    body += uvarint(len(topics) + 1)
    for t, ps in topics.items():
        body += cstring(t) + uvarint(len(ps) + 1) + b"".join(i32(p) for p in ps) + uvarint(0)
    if version >= 7:
        body += i8(1)  # require_stable
    body += uvarint(0)
    conn.corr += 1
    hdr = i16(OFFSET_FETCH) + i16(version) + i32(conn.corr) + string("wire") + uvarint(0)
    conn.send_raw(i32(len(hdr) + len(body)) + hdr + body)
    corr, data = conn.recv()
    assert corr == conn.corr
    f = Flex(data)
    f.tags()  # response header v1
    f.r.i32()  # throttle
    out = {}

    def part(f):
        p, o, epoch = f.r.i32(), f.r.i64(), f.r.i32()
        m, e = f.string(), f.r.i16()
        f.tags()
        return p, o, m, e

    def topic(f):
        t = f.string()
        ps = f.array(part)
        f.tags()
        return t, ps

    for t, ps in f.array(topic):
        for p, o, m, e in ps:
            out[(t, p)] = (o, m, e)
    err = f.r.i16()
    f.tags()
    assert f.r.left() == 0
    return out, err


@pytest.fixture
def broker(sluice_proc):
    b = sluice_proc("broker")
    with kw.Conn(b.addr) as c:
        for t in ("wt", "wt2"):
            assert kw.create_topics(c, t, partitions=2) == 0
    return b


def test_old_and_flexible_versions(broker):
    with kw.Conn(broker.addr) as c:
        # FindCoordinator v0 (no key type) and v1 (group, transaction, unknown key types).
        r = c.request(FIND_COORDINATOR, 0, string("g0"))
        assert (r.i16(), r.i32(), r.string(), r.i32()) == (0, 1, "127.0.0.1", broker.port)
        for key_type, want in ((0, 0), (1, COORDINATOR_NOT_AVAILABLE), (7, INVALID_REQUEST)):
            r = c.request(FIND_COORDINATOR, 1, string("g0") + i8(key_type))
            r.i32()
            assert r.i16() == want

        # JoinGroup v0 (no rebalance timeout: the session timeout serves), SyncGroup v0,
        # Heartbeat v0.
        j = join(c, "g0", version=0)
        assert j["error"] == 0 and j["generation"] == 1 and j["protocol"] == "range"
        assert j["leader"] == j["member"] and j["member"].startswith("kafka-wire-test-")
        assert j["members"] == [(j["member"], b"meta-r")]
        err, assignment = sync(c, "g0", 1, j["member"], [(j["member"], b"assign-0")])
        assert (err, assignment) == (0, b"assign-0")
        assert heartbeat(c, "g0", 1, j["member"]) == 0
        assert heartbeat(c, "g0", 2, j["member"]) == ILLEGAL_GENERATION

        # OffsetCommit v1 from the member; v0 and v1 simple commits to another group.
        assert commit(c, "g0", [("wt", 0, 7, "v1")], version=1, generation=1,
                      member=j["member"]) == {("wt", 0): 0}
        assert commit(c, "simple", [("wt", 0, 5, "m0"), ("wt", 1, 6, None)]) == \
            {("wt", 0): 0, ("wt", 1): 0}
        assert commit(c, "simple", [("wt2", 1, 9, "x")], version=1) == {("wt2", 1): 0}

        # OffsetFetch v0/v1 (per partition; unknown -1 ""), v2 with a null list (all).
        got, top = fetch(c, "simple", {"wt": [0, 1], "wt2": [0]}, version=0)
        assert got == {("wt", 0): (5, "m0", 0), ("wt", 1): (6, "", 0), ("wt2", 0): (-1, "", 0)}
        assert top is None
        got, top = fetch(c, "g0", {"wt": [0]}, version=1)
        assert got == {("wt", 0): (7, "v1", 0)}
        got, top = fetch(c, "simple", None, version=2)
        assert (got, top) == ({("wt", 0): (5, "m0", 0), ("wt", 1): (6, "", 0),
                               ("wt2", 1): (9, "x", 0)}, 0)
        got, top = fetch(c, "nobody", None, version=5)
        assert (got, top) == ({}, 0)
        # Flexible OffsetFetch v6 and v7 (require_stable: nothing is ever unstable here).
        for v in (6, 7):
            got, err = fetch_flexible(c, "simple", {"wt": [0, 1]}, v)
            assert (got, err) == ({("wt", 0): (5, "m0", 0), ("wt", 1): (6, "", 0)}, 0)

        # DescribeGroups v0 and ListGroups v0.
        r = c.request(DESCRIBE_GROUPS, 0, array([string("g0"), string("nope")]))

        def member(r):
            return r.string(), r.string(), r.string(), r.take(r.i32()), r.take(r.i32())

        groups = r.array(lambda r: (r.i16(), r.string(), r.string(), r.string(), r.string(),
                                    r.array(member)))
        assert groups[0][:5] == (0, "g0", "Stable", "consumer", "range")
        assert groups[0][5] == [(j["member"], "kafka-wire-test", "/127.0.0.1", b"meta-r",
                                 b"assign-0")]
        assert groups[1] == (0, "nope", "Dead", "", "", [])
        r = c.request(LIST_GROUPS, 0, b"")
        assert r.i16() == 0
        listed = dict(r.array(lambda r: (r.string(), r.string())))
        assert listed == {"g0": "consumer", "simple": ""}

        # LeaveGroup v3: per-member errors.
        body = string("g0") + array([string(j["member"]) + string(None),
                                     string("ghost") + string(None)])
        r = c.request(LEAVE_GROUP, 3, body)
        r.i32()
        assert r.i16() == 0
        rows = r.array(lambda r: (r.string(), r.string(), r.i16()))
        assert rows == [(j["member"], None, 0), ("ghost", None, UNKNOWN_MEMBER_ID)]

        # JoinGroup v4: MEMBER_ID_REQUIRED, then the join with the id given.
        j4 = join(c, "g4", version=4)
        assert j4["error"] == MEMBER_ID_REQUIRED and j4["generation"] == -1
        j4b = join(c, "g4", member=j4["member"], version=4)
        assert j4b["error"] == 0 and j4b["member"] == j4["member"]


def test_group_request_errors(broker):
    with kw.Conn(broker.addr) as c:
        # The default bounds are 6 s .. 30 min.
        assert join(c, "e", session=1000)["error"] == INVALID_SESSION_TIMEOUT
        assert join(c, "e", session=31 * 60 * 1000)["error"] == INVALID_SESSION_TIMEOUT
        assert join(c, "")["error"] == INVALID_GROUP_ID
        assert join(c, "e", member="ghost")["error"] == UNKNOWN_MEMBER_ID
        assert join(c, "e", protocols=())["error"] == INCONSISTENT_GROUP_PROTOCOL
        j = join(c, "e")
        assert j["error"] == 0
        assert join(c, "e", ptype="connect")["error"] == INCONSISTENT_GROUP_PROTOCOL
        assert join(c, "e", protocols=(("sticky", b""),))["error"] == INCONSISTENT_GROUP_PROTOCOL
        assert sync(c, "e", 1, "ghost")[0] == UNKNOWN_MEMBER_ID
        assert sync(c, "e", 9, j["member"])[0] == ILLEGAL_GENERATION
        assert heartbeat(c, "e", 1, "ghost") == UNKNOWN_MEMBER_ID
        assert heartbeat(c, "nogroup", 1, "ghost") == UNKNOWN_MEMBER_ID

        # Commits: a generation for a group that does not exist, a member that is not one, an
        # unknown topic or partition, oversized metadata; good parts still succeed.
        assert commit(c, "nogroup", [("wt", 0, 1, "")], version=2, generation=3,
                      member="m") == {("wt", 0): ILLEGAL_GENERATION}
        assert commit(c, "e", [("wt", 0, 1, "")], version=2, generation=1,
                      member="ghost") == {("wt", 0): UNKNOWN_MEMBER_ID}
        assert commit(c, "e", [("wt", 0, 1, "")], version=2, generation=1,
                      member=j["member"]) == {("wt", 0): REBALANCE_IN_PROGRESS}
        res = commit(c, "s", [("nosuch", 0, 1, ""), ("wt", 5, 1, ""), ("wt", -1, 1, ""),
                              ("wt", 0, 1, "m" * 5000), ("wt", 1, 42, "ok")], version=2)
        assert res == {("nosuch", 0): kw.UNKNOWN_TOPIC_OR_PARTITION,
                       ("wt", 5): kw.UNKNOWN_TOPIC_OR_PARTITION,
                       ("wt", -1): kw.UNKNOWN_TOPIC_OR_PARTITION,
                       ("wt", 0): OFFSET_METADATA_TOO_LARGE, ("wt", 1): 0}
        assert fetch(c, "s", {"wt": [0, 1]})[0] == {("wt", 0): (-1, "", 0),
                                                    ("wt", 1): (42, "ok", 0)}


@pytest.mark.parametrize("what,body", [
    # JoinGroup v1 cut inside its protocol list.
    ("truncated", string("g") + i32(10000) + i32(10000) + string("") + string("consumer")
     + i32(1) + string("range")),
    # A protocol count far beyond the bytes that follow.
    ("huge count", string("g") + i32(10000) + i32(10000) + string("") + string("consumer")
     + i32(1 << 30)),
    # A negative string length other than -1.
    ("negative length", struct.pack(">h", -5) + b"xxxxx"),
])
def test_malformed_join_closes_only_that_connection(broker, what, body):
    with kw.Conn(broker.addr) as other:
        with kw.Conn(broker.addr) as bad:
            bad.send_raw(kw.frame(JOIN_GROUP, 1, body))
            assert bad.closed_by_peer(), what
        r = other.request(FIND_COORDINATOR, 0, string("g"))
        assert r.i16() == 0
        assert join(other, "after-" + what.replace(" ", "-"))["error"] == 0
    broker.wait_for_log(r"JoinGroup v1: malformed request body")
