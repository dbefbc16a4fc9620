"""Fetch sends record bytes straight from the segment files (sendfile), and falls back to
reading them into memory when the socket does not take them at once or when the response waits
behind another (docs/kafka.md, "Fetch from the page cache"). Every case checks the bytes on
the wire against the batches produced: base offset as assigned, the rest as sent."""

import time

import kafka_wire as kw
import sluice_harness as sh
from test_0170_kafka_protocol import make_topic


def produce_batches(addr, topic, count, values=20, size=500):
    """count raw batches of values records of size bytes: [(base offset, stored bytes)]."""
    out = []
    with kw.Conn(addr, timeout=sh.scaled(20)) as c:
        for i in range(count):
            b = kw.record_batch([bytes([65 + (i + j) % 26]) * size for j in range(values)])
            err, base = kw.produce(c, topic, 0, b)
            assert err == kw.NONE
            out.append((base, kw.i64(base) + b[8:]))
    return out


def fetch_request(parts, max_bytes=50 << 20):
    """A Fetch v11 body; parts [(topic, partition, offset, partition max bytes)] in order,
    one topic entry per part so a partition may appear twice."""
    body = kw.i32(-1) + kw.i32(0) + kw.i32(1) + kw.i32(max_bytes) + kw.i8(0) + kw.i32(0) + \
        kw.i32(-1)
    body += kw.array([kw.string(t) + kw.array([kw.i32(p) + kw.i32(-1) + kw.i64(off) +
                                                kw.i64(-1) + kw.i32(pmax)])
                      for t, p, off, pmax in parts])
    return body + kw.array([]) + kw.string("")


def fetch_parse(r):
    """[(topic, partition, error, records)] in response order."""
    r.i32()
    assert r.i16() == kw.NONE
    r.i32()
    out = []
    for _ in range(r.i32()):
        t = r.string()
        for _ in range(r.i32()):
            p, err = r.i32(), r.i16()
            r.i64(), r.i64(), r.i64()
            r.array(lambda r: (r.i64(), r.i64()))
            r.i32()
            n = r.i32()
            out.append((t, p, err, r.take(n) if n > 0 else b""))
    return out


def expected(stored, offset, pmax):
    """Whole batches from the one holding offset while they fit in pmax (the first always)."""
    i = max(k for k, (base, _) in enumerate(stored) if base <= offset)
    out = stored[i][1]
    for _, b in stored[i + 1:]:
        if len(out) + len(b) > pmax:
            break
        out += b
    return out


def check_prefix(records, stored, offset):
    """records is whole batches of stored, starting with the one holding offset (a read may
    stop early at a segment's end)."""
    assert len(records) > 0
    assert records == expected(stored, offset, len(records))


def test_same_partition_twice_from_closed_segments(sluice_proc):
    # Two reads of one partition in one response, from two closed segments: the log keeps one
    # closed segment's file open at a time, so the first range must not depend on its fd.
    broker = sluice_proc("broker")
    make_topic(broker.addr, "sf", 1, {"segment.bytes": "65536"})
    stored = produce_batches(broker.addr, "sf", 120)
    assert len(list((broker.data_dir / "sf-0").glob("*.log"))) >= 10
    with kw.Conn(broker.addr, timeout=sh.scaled(20)) as c:
        offs = [stored[10][0] + 3, stored[100][0], stored[50][0] + 19]
        c.corr += 1
        c.send_raw(kw.frame(kw.FETCH, 11, fetch_request([("sf", 0, o, 30000) for o in offs]),
                            corr=c.corr))
        _, resp = c.recv()
        got = fetch_parse(kw.Reader(resp))
        assert [(t, p, e) for t, p, e, _ in got] == [("sf", 0, kw.NONE)] * 3
        for (_, _, _, records), off in zip(got, offs):
            check_prefix(records, stored, off)

        # A sequential reader across every segment gets every batch once, byte for byte.
        off, seen = 0, b""
        while off < stored[-1][0] + 20:
            r = c.request(kw.FETCH, 11, fetch_request([("sf", 0, off, 30000)]))
            (_, _, err, records), = fetch_parse(r)
            assert err == kw.NONE and records
            seen += records
            base, count, _ = kw.batches(records)[-1]
            off = base + count
        assert seen == b"".join(b for _, b in stored)


def test_unread_and_queued_responses(sluice_proc):
    # 6 MB in one segment: a Fetch of all of it is more than the socket takes while the client
    # is not reading, and a second Fetch sent before reading waits behind the first.
    broker = sluice_proc("broker")
    make_topic(broker.addr, "big", 1)
    stored = produce_batches(broker.addr, "big", 600, values=20, size=500)
    whole = b"".join(b for _, b in stored)
    assert len(whole) > 6_000_000
    with kw.Conn(broker.addr, timeout=sh.scaled(30)) as c:
        req = fetch_request([("big", 0, 0, 50 << 20)])
        mid = stored[300][0] + 5
        req2 = fetch_request([("big", 0, mid, 1 << 20)])
        c.send_raw(kw.frame(kw.FETCH, 11, req, corr=1) + kw.frame(kw.FETCH, 11, req2, corr=2))
        time.sleep(0.5)
        corr, resp = c.recv()
        assert corr == 1
        (_, _, err, records), = fetch_parse(kw.Reader(resp))
        assert err == kw.NONE and records == whole
        corr, resp = c.recv()
        assert corr == 2
        (_, _, err, records), = fetch_parse(kw.Reader(resp))
        assert err == kw.NONE and records == expected(stored, mid, 1 << 20)
        # Still framed correctly afterwards.
        c.corr = 2
        err, _ = kw.api_versions(c)
        assert err == kw.NONE
    text = broker.log_path.read_text()
    assert " ERROR " not in text, text[-2000:]
