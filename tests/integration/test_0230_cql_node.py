"""sluice store driven by the npm cassandra-driver 4.8 (issue 4, "cassandra-driver (npm)"): it
connects with localDataCenter 'datacenter1' and PlainTextAuthProvider (it first offers protocol
0x42 and must step down to v4), executes with prepare: true for values of most types, runs
unprepared queries with positional and named values, pages with eachRow (autoPage and
nextPage()), fetchSize + pageState, the async iterator and stream(), and runs logged, unlogged,
counter, timestamped, conditional and failing batches. What Node wrote is read back with
python3-cassandra too. The scripts are js/cql_*.js; each prints one JSON line."""

import datetime
import json
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

import cql_util as cu

JS = Path(__file__).resolve().parent / "js"


def run_js(node, script, *args, timeout=60):
    r = node(JS / script, *args, timeout=timeout, check=False)
    lines = r.stdout.strip().splitlines()
    assert lines, f"{script} printed nothing (exit {r.returncode}); stderr:\n{r.stderr}"
    out = json.loads(lines[-1])
    assert out.get("ok") and r.returncode == 0, \
        f"{script} failed: {out.get('error')} (code {out.get('code')})\n{r.stderr}"
    return out


@pytest.fixture
def store(sluice_proc):
    return sluice_proc("store")


def test_connect_and_prepared_values(store, node):
    out = run_js(node, "cql_prepared.js", store.addr, "node_prep")
    assert out["host"]["n"] == 1 and out["host"]["datacenter"] == cu.DC
    assert out["host"]["version"].startswith("4.")
    want = {
        "id": out["id"], "name": "Zo\u00eb \u2713", "n": -42, "big": "9007199254740993",
        "vi": "-123456789012345678901234567890", "dec": "12.345", "d": 2.5, "f": True,
        "ts": 1700000000123, "dt": "2024-02-29", "tm": "13:14:15.123456789",
        "ip": "2001:db8::1", "b": "deadbeef00", "l": [3, 1, 2], "s": ["a", "b"],
        "m": {"x": 1, "y": 2}, "tu": [7, "seven"], "tid": out["tid"],
        "tidDate": 1700000000123, "si": -32768, "ti": 127, "fl": 1.25,
    }
    assert out["prepared"] == want
    assert out["unprepared"] == want
    assert out["kv"] == {"a": "positional", "b": "named"}
    assert out["bad"]["code"] == cu.INVALID, out["bad"]
    assert "nosuch" in out["bad"]["message"]
    assert out["after"] == "positional", "the client did not recover from the error"

    # What Node wrote reads the same through python3-cassandra.
    c = cu.cluster(store)
    try:
        s = c.connect("node_prep")
        row = s.execute("SELECT * FROM t WHERE id = %s", [uuid.UUID(out["id"])]).one()
        assert (row.name, row.n, row.big, row.vi, row.dec, row.d, row.f) == (
            "Zo\u00eb \u2713", -42, 9007199254740993, -123456789012345678901234567890,
            Decimal("12.345"), 2.5, True)
        assert row.ts == datetime.datetime(2023, 11, 14, 22, 13, 20, 123000)
        assert (str(row.dt), str(row.tm), row.ip, row.b) == (
            "2024-02-29", "13:14:15.123456789", "2001:db8::1", b"\xde\xad\xbe\xef\x00")
        assert (row.l, row.s, row.m, row.tu) == ([3, 1, 2], {"a", "b"}, {"x": 1, "y": 2},
                                                 (7, "seven"))
        assert row.tid == uuid.UUID(out["tid"]) and row.tid.version == 1
        assert (row.si, row.ti, row.fl) == (-32768, 127, 1.25)
    finally:
        c.shutdown()


def test_each_row_and_paging(store, node):
    n = 1000
    out = run_js(node, "cql_paging.js", store.addr, "node_paging", n)
    every = list(range(n))
    assert out["auto"]["rows"] == every and out["auto"]["pages"] == 1
    assert out["manual"]["rows"] == every
    assert out["manual"]["pages"] == 4, "eachRow without autoPage: one callback per page"
    assert out["state"]["rows"] == every
    sizes = out["state"]["pageSizes"]
    assert sizes[:6] == [150] * 6 and sum(sizes) == n and all(s <= 150 for s in sizes)
    assert out["iter"] == list(range(37))
    assert out["streamed"] == every
    assert out["scanCount"] == n + 37


def test_batches(store, node):
    out = run_js(node, "cql_batch.js", store.addr, "node_batch")
    b1 = {int(k): v for k, v in out["b1"].items()}
    want = {i: f"one-{i}" for i in range(10)}
    want.update({i: f"un-{i}" for i in range(10, 20)})
    want[0] = "changed"
    want[100] = "stamped"
    assert b1 == want, "a batch lost or mixed up rows (k 200 must not exist: its batch failed)"
    assert sorted(map(tuple, out["b2"])) == sorted(
        [(i % 2, i, f"two-{i}") for i in range(10)] + [(7, 1, "first"), (7, 2, "first")])
    assert out["cnt"] == {"1": "3", "2": "7"}
    assert out["wt"] == "1234567", "the batch's client timestamp was not used"
    assert out["cas1"] is True and out["cas2"] is False
    assert out["bad"]["code"] == cu.INVALID, out["bad"]
