"""sluice registry keeps nothing of its own: a restart (clean or kill -9) rebuilds every schema,
id, version, config and deletion from _schemas, and two registries over one broker agree, even
when both register at once (a lost race on an id or version is retried, never answered
wrongly)."""

import json
import threading
import time

import registry_util as ru
import sluice_harness as sh


def schema(i):
    return json.dumps({"type": "record", "name": f"R{i}", "fields": [
        {"name": "f", "type": "int"}, {"name": f"g{i}", "type": "string", "default": ""}]})


def snapshot(reg):
    """Everything a client can see: subjects, versions with ids, configs, modes."""
    out = {"config": ru.call(reg, "GET", "/config")[1], "mode": ru.call(reg, "GET", "/mode")[1]}
    for s in ru.call(reg, "GET", "/subjects", deleted="true")[1]:
        vs = ru.call(reg, "GET", f"/subjects/{s}/versions", deleted="true")[1]
        live = ru.call(reg, "GET", f"/subjects/{s}/versions")
        out[s] = {"live": live[1] if live[0] == 200 else [],
                  "versions": {v: ru.call(reg, "GET", f"/subjects/{s}/versions/{v}",
                                          deleted="true")[1] for v in vs},
                  "config": ru.call(reg, "GET", f"/config/{s}")}
    return out


def wait_agree(a, b, timeout=10):
    deadline = time.monotonic() + sh.scaled(timeout)
    while True:
        sa, sb = snapshot(a), snapshot(b)
        if sa == sb or time.monotonic() > deadline:
            return sa, sb
        time.sleep(0.1)


def populate(reg):
    ids = {}
    assert ru.call(reg, "PUT", "/config", {"compatibility": "NONE"})[0] == 200
    for i in range(6):
        st, body = ru.call(reg, "POST", f"/subjects/s{i % 3}/versions", {"schema": schema(i)})
        assert st == 200, body
        ids[i] = body["id"]
    assert ru.call(reg, "PUT", "/config/s1", {"compatibility": "FULL"})[0] == 200
    assert ru.call(reg, "PUT", "/config", {"compatibility": "FORWARD"})[0] == 200
    assert ru.call(reg, "DELETE", "/subjects/s0/versions/1")[0] == 200
    assert ru.call(reg, "DELETE", "/subjects/s2")[0] == 200
    assert ru.call(reg, "DELETE", "/subjects/s2", permanent="true")[0] == 200
    return ids


def test_restart_keeps_everything(sluice_proc):
    broker, reg = ru.start(sluice_proc)
    ids = populate(reg)
    before = snapshot(reg)
    assert "s2" not in before and before["s0"]["live"] == [2]
    reg.restart()
    assert snapshot(reg) == before
    reg.kill9()
    reg.start()
    assert snapshot(reg) == before
    # ids go on after the highest one, never reused
    st, body = ru.call(reg, "POST", "/subjects/new/versions", {"schema": schema(99)})
    assert body["id"] == max(ids.values()) + 1
    # and the broker's own restart loses nothing either
    broker.restart()
    reg.restart()
    after = snapshot(reg)
    assert after.pop("new")["live"] == [1]
    assert after == before


def test_two_registries_agree(sluice_proc):
    broker, a = ru.start(sluice_proc, name="registry-a")
    _, b = ru.start(sluice_proc, broker=broker, name="registry-b")
    populate(a)
    sa, sb = wait_agree(a, b)
    assert sa == sb
    # a third one started later replays to the same state
    _, c = ru.start(sluice_proc, broker=broker, name="registry-c")
    assert snapshot(c) == sa


def test_concurrent_writers(sluice_proc):
    broker, a = ru.start(sluice_proc, name="registry-a")
    _, b = ru.start(sluice_proc, broker=broker, name="registry-b")
    assert ru.call(a, "PUT", "/config", {"compatibility": "NONE"})[0] == 200
    wait_agree(a, b)
    results = {}

    def writer(reg, tag):
        for i in range(15):
            # the same subject from both sides, and one schema both register
            for subj, sch in (("shared", schema(f"{tag}{i}")), ("both", schema(f"x{i}"))):
                st, body = ru.call(reg, "POST", f"/subjects/{subj}/versions", {"schema": sch})
                assert st == 200, body
                results[(tag, subj, i)] = (sch, body["id"])

    threads = [threading.Thread(target=writer, args=(r, t)) for r, t in ((a, "a"), (b, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sa, sb = wait_agree(a, b)
    assert sa == sb
    # every answer holds: the id answered is the id stored for that schema, ids are unique per
    # schema, and each schema is one version of its subject
    by_schema = {}
    for (tag, subj, i), (sch, sid) in results.items():
        by_schema.setdefault(sch, set()).add(sid)
        assert json.loads(ru.call(a, "GET", f"/schemas/ids/{sid}")[1]["schema"]) == \
            json.loads(sch)
    assert all(len(v) == 1 for v in by_schema.values())
    assert len({next(iter(v)) for v in by_schema.values()}) == len(by_schema)
    assert len(sa["shared"]["live"]) == 30 and len(sa["both"]["live"]) == 15
