"""sluice broker driven by kafkajs 2.2.4 from npm (never uses flexible versions; ApiVersions v2,
Metadata v6, Produce v7, Fetch v11, JoinGroup v5, OffsetCommit v5, CreateTopics v3): a producer,
a consumer group that resumes from its commits, and the admin calls createTopics,
fetchTopicMetadata and describeGroups. The scripts are in js/."""

import json
from pathlib import Path

JS = Path(__file__).resolve().parent / "js"


def run_js(node, script, *args, timeout=60):
    r = node(JS / script, *args, timeout=timeout, env={"KAFKAJS_NO_PARTITIONER_WARNING": "1"})
    lines = r.stdout.strip().splitlines()
    assert lines, f"{script} printed nothing; stderr:\n{r.stderr}"
    return json.loads(lines[-1])


def check_bases(offsets):
    """Every send's base offset per partition starts at 0 and grows."""
    last = {}
    for part, base in offsets:
        assert base > last.get(part, -1), f"partition {part}: base offset {base} after {last}"
        assert part in last or base == 0, f"partition {part}: first base offset {base}"
        last[part] = base


def test_producer_and_group(sluice_proc, node):
    broker = sluice_proc("broker", args=["--num-partitions", "3"])
    out = run_js(node, "producer.js", broker.addr, "js-topic", 3000)
    assert out["offsets"], "no produce results"
    check_bases(out["offsets"])
    run_js(node, "producer.js", broker.addr, "js-topic", 500, "gzip")

    first = run_js(node, "consumer_group.js", broker.addr, "js-topic", "js-group", 3500)
    values = sorted(v for _, _, v in first["messages"])
    assert values == sorted([f"value-{i}" for i in range(3000)] +
                            [f"value-{i}" for i in range(500)])
    by_part = {}
    for part, off, _ in first["messages"]:
        by_part.setdefault(part, []).append(off)
    assert sorted(by_part) == [0, 1, 2]
    for part, offs in by_part.items():
        assert offs == list(range(len(offs))), f"partition {part}: offsets not 0..n-1 in order"

    (g,) = first["group"]["groups"]
    assert g["groupId"] == "js-group" and g["errorCode"] == 0
    assert g["state"] == "Stable" and g["protocolType"] == "consumer"
    assert g["protocol"] == "RoundRobinAssigner"
    assert len(g["members"]) == 1 and g["members"][0]["clientId"] == "sluice-kafkajs-consumer"

    # The group committed as it went: a new member sees only what came after.
    run_js(node, "producer.js", broker.addr, "js-topic", 40)
    second = run_js(node, "consumer_group.js", broker.addr, "js-topic", "js-group", 40)
    assert sorted(v for _, _, v in second["messages"]) == sorted(f"value-{i}" for i in range(40))
    for part, off, _ in second["messages"]:
        assert off >= len(by_part[part]), "a committed message was delivered again"


def test_admin(sluice_proc, node):
    broker = sluice_proc("broker")
    run_js(node, "producer.js", broker.addr, "js-admin-feed", 10)
    run_js(node, "consumer_group.js", broker.addr, "js-admin-feed", "js-admin-group", 10)

    out = run_js(node, "admin.js", broker.addr, "js-admin", 4, "js-admin-group")
    assert out["created"] is True
    assert out["createdAgain"] is False, "creating an existing topic must fail per topic"
    (t,) = out["metadata"]["topics"]
    assert t["name"] == "js-admin"
    assert sorted(p["partitionId"] for p in t["partitions"]) == [0, 1, 2, 3]
    for p in t["partitions"]:
        assert p["leader"] == 1 and p["replicas"] == [1] and p["isr"] == [1]
        assert p["partitionErrorCode"] == 0
    assert {"js-admin", "js-admin-feed"} <= set(out["topics"])

    (g,) = out["groups"]["groups"]
    assert g["groupId"] == "js-admin-group" and g["errorCode"] == 0
    assert g["state"] == "Empty" and g["members"] == []
    assert g["protocolType"] == "consumer"
