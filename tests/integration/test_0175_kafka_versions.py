"""Every advertised version of the broker's own (non-group) APIs, byte by byte: ApiVersions 0-3,
Metadata 0-8, Produce 3-8, Fetch 4-11, ListOffsets 0-5, CreateTopics 0-4, DeleteTopics 0-3,
DescribeConfigs 0-2 and InitProducerId 0-4. The clients in the other tests each use only some
of these versions; here each response is decoded with the field layout of that version
(apache/kafka clients/src/main/resources/common/message/*.json) and must be consumed exactly,
with the values the request asked for. (Group APIs: test_0131.)"""

import struct

import pytest

import kafka_wire as kw
from kafka_wire import array, bytes_, i8, i16, i32, i64, string, uvarint

API_VERSIONS, METADATA, PRODUCE, FETCH, LIST_OFFSETS = 18, 3, 0, 1, 2
CREATE_TOPICS, DELETE_TOPICS, DESCRIBE_CONFIGS, INIT_PRODUCER_ID = 19, 20, 32, 22


class R(kw.Reader):
    """kw.Reader with the nullable and compact forms."""

    def nstring(self):
        return self.string()

    def uvarint(self):
        shift = v = 0
        while True:
            b = self.take(1)[0]
            v |= (b & 0x7F) << shift
            if not b & 0x80:
                return v
            shift += 7

    def cstring(self):
        n = self.uvarint() - 1
        return None if n < 0 else self.take(n).decode()

    def carray(self, fn):
        n = self.uvarint() - 1
        return [] if n < 0 else [fn(self) for _ in range(n)]

    def tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.take(self.uvarint())

    def bool(self):
        b = self.i8()
        assert b in (0, 1)
        return bool(b)

    def i32s(self):
        return self.array(lambda r: r.i32())

    def done(self):
        assert self.left() == 0, f"{self.left()} bytes left over"


def request(conn, api, version, body, flexible_header=False, tagged_response=False):
    """Sends one request; returns an R over the response body (after its header)."""
    conn.corr += 1
    hdr = i16(api) + i16(version) + i32(conn.corr) + string("versions-test")
    if flexible_header:
        hdr += uvarint(0)
    conn.send_raw(i32(len(hdr) + len(body)) + hdr + body)
    corr, data = conn.recv()
    assert corr == conn.corr
    r = R(data)
    if tagged_response:
        r.tags()
    return r


@pytest.fixture(scope="module")
def broker(request, tmp_path_factory):
    import sluice_harness as sh
    p = sh.SluiceProcess("broker", tmp_path_factory.mktemp("versions"))
    p.start()
    yield p
    problems = p.cleanup()
    assert not problems, problems


@pytest.fixture
def conn(broker):
    with kw.Conn(broker.addr) as c:
        yield c


def cstr(s):
    b = s.encode()
    return uvarint(len(b) + 1) + b


@pytest.mark.parametrize("v", range(4))
def test_api_versions(conn, v):
    if v == 3:
        body = cstr("versions-test") + cstr("1.0") + uvarint(0)
        r = request(conn, API_VERSIONS, 3, body, flexible_header=True)  # response header v0
        assert r.i16() == 0
        keys = r.carray(lambda r: (r.i16(), r.i16(), r.i16(), r.tags())[:3])
        assert r.i32() == 0
        r.tags()
    else:
        r = request(conn, API_VERSIONS, v, b"")
        assert r.i16() == 0
        keys = r.array(lambda r: (r.i16(), r.i16(), r.i16()))
        if v >= 1:
            assert r.i32() == 0
    r.done()
    ranges = {k: (lo, hi) for k, lo, hi in keys}
    assert ranges[PRODUCE] == (0, 8) and ranges[FETCH] == (4, 11)
    assert ranges[METADATA] == (0, 8) and ranges[LIST_OFFSETS] == (0, 5)
    assert ranges[API_VERSIONS] == (0, 3) and ranges[INIT_PRODUCER_ID] == (0, 4)
    assert ranges[CREATE_TOPICS] == (0, 4) and ranges[DELETE_TOPICS] == (0, 3)
    assert ranges[DESCRIBE_CONFIGS] == (0, 2)


def parse_metadata(r, v):
    if v >= 3:
        r.i32()
    brokers = r.array(lambda r: (r.i32(), r.string(), r.i32(), r.nstring() if v >= 1 else None))
    cluster = r.nstring() if v >= 2 else None
    controller = r.i32() if v >= 1 else None

    def partition(r):
        p = {"err": r.i16(), "index": r.i32(), "leader": r.i32()}
        if v >= 7:
            p["epoch"] = r.i32()
        p["replicas"], p["isr"] = r.i32s(), r.i32s()
        if v >= 5:
            p["offline"] = r.i32s()
        return p

    def topic(r):
        t = {"err": r.i16(), "name": r.string()}
        if v >= 1:
            t["internal"] = r.bool()
        t["parts"] = r.array(partition)
        if v >= 8:
            t["ops"] = r.i32()
        return t
    topics = r.array(topic)
    if v >= 8:
        r.i32()
    r.done()
    return brokers, cluster, controller, topics


@pytest.mark.parametrize("v", range(9))
def test_metadata(broker, conn, v):
    name = f"md-v{v}"
    body = array([string(name)])
    if v >= 4:
        body += i8(1)
    if v >= 8:
        body += i8(0) + i8(0)
    brokers, cluster, controller, topics = parse_metadata(request(conn, METADATA, v, body), v)
    assert [b[:3] for b in brokers] == [(1, "127.0.0.1", broker.port)]
    if v >= 2:
        assert cluster and len(cluster) == 22
    if v >= 1:
        assert controller == 1
    (t,) = topics
    assert (t["err"], t["name"], len(t["parts"])) == (0, name, 1)
    p = t["parts"][0]
    assert (p["err"], p["index"], p["leader"], p["replicas"], p["isr"]) == (0, 0, 1, [1], [1])
    # All topics: an empty list in v0, null from v1.
    body = array([]) if v == 0 else i32(-1)
    if v >= 4:
        body += i8(0)
    if v >= 8:
        body += i8(0) + i8(0)
    _, _, _, topics = parse_metadata(request(conn, METADATA, v, body), v)
    assert name in {t["name"] for t in topics}


@pytest.mark.parametrize("v", range(3, 9))
def test_produce(conn, v):
    topic = f"pr-v{v}"
    kw.metadata(conn, [topic])
    for expect in (0, 2):
        body = string(None) + i16(-1) + i32(10000)
        body += array([string(topic) + array([i32(0) + bytes_(kw.record_batch([b"a", b"b"]))])])
        r = request(conn, PRODUCE, v, body)

        def part(r):
            p = (r.i32(), r.i16(), r.i64())
            if v >= 2:
                assert r.i64() == -1  # log append time: CreateTime topic
            if v >= 5:
                assert r.i64() == 0  # log start offset
            if v >= 8:
                assert r.array(lambda r: (r.i32(), r.nstring())) == []
                assert r.nstring() is None
            return p
        (name, parts), = r.array(lambda r: (r.string(), r.array(part)))
        assert r.i32() == 0  # throttle
        r.done()
        assert (name, parts) == (topic, [(0, 0, expect)])


@pytest.mark.parametrize("v", range(4, 12))
def test_fetch(conn, v):
    topic = f"fe-v{v}"
    kw.metadata(conn, [topic])
    assert kw.produce(conn, topic, 0, kw.record_batch([b"x", b"y", b"z"])) == (0, 0)
    body = i32(-1) + i32(0) + i32(1) + i32(1 << 20) + i8(0)
    if v >= 7:
        body += i32(0) + i32(-1)
    part = i32(0) + (i32(-1) if v >= 9 else b"") + i64(1) + (i64(-1) if v >= 5 else b"") + \
        i32(1 << 20)
    body += array([string(topic) + array([part])])
    if v >= 7:
        body += array([])
    if v >= 11:
        body += string("")
    r = request(conn, FETCH, v, body)
    assert r.i32() == 0
    if v >= 7:
        assert r.i16() == 0
        assert r.i32() == 0  # no fetch sessions: always full requests

    def partition(r):
        p = {"index": r.i32(), "err": r.i16(), "hwm": r.i64(), "lso": r.i64()}
        if v >= 5:
            p["start"] = r.i64()
        p["aborted"] = r.array(lambda r: (r.i64(), r.i64()))
        if v >= 11:
            p["replica"] = r.i32()
        n = r.i32()
        p["records"] = r.take(n) if n > 0 else b""
        return p
    (name, parts), = r.array(lambda r: (r.string(), r.array(partition)))
    r.done()
    p, = parts
    assert (name, p["index"], p["err"], p["hwm"], p["lso"]) == (topic, 0, 0, 3, 3)
    if v >= 5:
        assert p["start"] == 0
    # The batch holding offset 1 is returned whole, from its base offset 0.
    assert [b[:2] for b in kw.batches(p["records"])] == [(0, 3)]


@pytest.mark.parametrize("v", range(6))
def test_list_offsets(conn, v):
    topic = f"lo-v{v}"
    kw.metadata(conn, [topic])
    ts = 1_700_000_000_000
    assert kw.produce(conn, topic, 0, kw.record_batch([b"p", b"q"], timestamp=ts)) == (0, 0)
    for when, expect in ((-2, 0), (-1, 2), (ts, 0)):
        body = i32(-1) + (i8(0) if v >= 2 else b"")
        body += array([string(topic) + array([
            i32(0) + (i32(-1) if v >= 4 else b"") + i64(when) + (i32(1) if v == 0 else b"")])])
        r = request(conn, LIST_OFFSETS, v, body)
        if v >= 2:
            assert r.i32() == 0

        def part(r):
            p = {"index": r.i32(), "err": r.i16()}
            if v == 0:
                p["offsets"] = r.array(lambda r: r.i64())
            else:
                p["ts"], p["offset"] = r.i64(), r.i64()
            if v >= 4:
                p["epoch"] = r.i32()
            return p
        (name, parts), = r.array(lambda r: (r.string(), r.array(part)))
        r.done()
        p, = parts
        assert (name, p["index"], p["err"]) == (topic, 0, 0)
        if v == 0:
            assert p["offsets"] == [expect]
        else:
            assert p["offset"] == expect
            assert p["ts"] == (ts if when == ts else -1)


@pytest.mark.parametrize("v", range(5))
def test_create_topics(conn, v):
    def create(name, parts, configs=(), validate=False):
        body = array([string(name) + i32(parts) + i16(1) + array([]) +
                      array([string(k) + string(val) for k, val in configs])])
        body += i32(5000) + (i8(1 if validate else 0) if v >= 1 else b"")
        r = request(conn, CREATE_TOPICS, v, body)
        if v >= 2:
            assert r.i32() == 0
        (res,) = r.array(lambda r: (r.string(), r.i16(), r.nstring() if v >= 1 else None))
        r.done()
        return res
    name = f"ct-v{v}"
    assert create(name, 2, [("retention.ms", "1000")]) == (name, 0, None)
    n, err, msg = create(name, 2)
    assert (n, err) == (name, kw.TOPIC_ALREADY_EXISTS)
    assert msg == (f"Topic '{name}' already exists." if v >= 1 else None)
    n, err, msg = create(name + "-bad", 1, [("retention.ms", "x")])
    assert err == 40  # INVALID_CONFIG
    if v >= 1:
        assert "retention.ms" in msg
        assert create(name + "-dry", 3, validate=True) == (name + "-dry", 0, None)
        assert kw.metadata(conn, None).get(name + "-dry") is None


@pytest.mark.parametrize("v", range(4))
def test_delete_topics(conn, v):
    name = f"dt-v{v}"
    assert kw.create_topics(conn, name) == 0
    for expect in (0, kw.UNKNOWN_TOPIC_OR_PARTITION):
        r = request(conn, DELETE_TOPICS, v, array([string(name)]) + i32(5000))
        if v >= 1:
            assert r.i32() == 0
        assert r.array(lambda r: (r.string(), r.i16())) == [(name, expect)]
        r.done()


@pytest.mark.parametrize("v", range(3))
def test_describe_configs(conn, v):
    name = f"dc-v{v}"
    assert kw.create_topics(conn, name) == 0
    body = array([i8(2) + string(name) + array([string("retention.ms"), string("cleanup.policy")]),
                  i8(4) + string("1") + i32(-1)])
    if v >= 1:
        body += i8(1)
    r = request(conn, DESCRIBE_CONFIGS, v, body)
    assert r.i32() == 0

    def config(r):
        c = {"name": r.string(), "value": r.nstring(), "read_only": r.bool()}
        if v == 0:
            c["default"] = r.bool()
        else:
            c["source"] = r.i8()
        c["sensitive"] = r.bool()
        if v >= 1:
            c["synonyms"] = r.array(lambda r: (r.string(), r.nstring(), r.i8()))
        return c

    def result(r):
        return {"err": r.i16(), "msg": r.nstring(), "type": r.i8(), "name": r.string(),
                "configs": r.array(config)}
    topic, brk = r.array(result)
    r.done()
    assert (topic["err"], topic["type"], topic["name"]) == (0, 2, name)
    cfg = {c["name"]: c for c in topic["configs"]}
    assert set(cfg) == {"retention.ms", "cleanup.policy"}
    assert cfg["retention.ms"]["value"] == str(7 * 86400 * 1000)
    assert cfg["cleanup.policy"]["value"] == "delete"
    if v == 0:
        assert cfg["retention.ms"]["default"]
    else:
        assert cfg["retention.ms"]["source"] == 5  # DEFAULT_CONFIG
    assert (brk["err"], brk["type"], brk["name"]) == (0, 4, "1")
    assert "advertised.listeners" in {c["name"] for c in brk["configs"]}


@pytest.mark.parametrize("v", range(5))
def test_init_producer_id(conn, v):
    flex = v >= 2
    if flex:
        body = uvarint(0) + i32(60000)  # null compact string
        if v >= 3:
            body += i64(-1) + i16(-1)
        body += uvarint(0)
    else:
        body = string(None) + i32(60000)
    r = request(conn, INIT_PRODUCER_ID, v, body, flexible_header=flex, tagged_response=flex)
    assert r.i32() == 0
    err, pid, epoch = r.i16(), r.i64(), r.i16()
    if flex:
        r.tags()
    r.done()
    assert (err, epoch) == (0, 0) and pid >= 0
    if v >= 3:
        # KIP-360: the same producer asks again with its id and epoch and gets the next epoch.
        body = uvarint(0) + i32(60000) + i64(pid) + i16(epoch) + uvarint(0)
        r = request(conn, INIT_PRODUCER_ID, v, body, flexible_header=True, tagged_response=True)
        assert r.i32() == 0
        assert (r.i16(), r.i64(), r.i16()) == (0, pid, epoch + 1)
        r.tags()
        r.done()
    # Transactional producers are refused plainly (no transaction coordinator).
    tid = cstr("txn") if flex else string("txn")
    body = tid + i32(60000) + (i64(-1) + i16(-1) if v >= 3 else b"") + (uvarint(0) if flex
                                                                       else b"")
    r = request(conn, INIT_PRODUCER_ID, v, body, flexible_header=flex, tagged_response=flex)
    r.i32()
    assert r.i16() == 53  # TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    assert struct.unpack(">qh", r.take(10)) == (-1, -1)
    if flex:
        r.tags()
    r.done()
