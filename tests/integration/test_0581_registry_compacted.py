"""The registry over a compacted _schemas (issue 7 "Storage"): with small segments and a quick
log cleaner, many superseded records (config churn, deleted versions) are compacted away by
sluice broker, and a registry restarted on the compacted topic, or a new one, rebuilds exactly
the same schemas, ids, versions, configs and deletions."""

import registry_util as ru
import sluice_harness as sh
from test_0530_registry_durability import populate, snapshot


def test_registry_state_survives_compaction(sluice_proc):
    broker = sluice_proc("broker", args=["--segment-bytes", "2KiB", "--log-cleaner-interval",
                                         "100ms"])
    broker, reg = ru.start(sluice_proc, broker=broker)
    populate(reg)
    for i in range(120):  # superseded CONFIG records over many segments
        level = ["NONE", "FULL", "BACKWARD", "FORWARD"][i % 4]
        assert ru.call(reg, "PUT", "/config/s1", {"compatibility": level})[0] == 200
    assert ru.call(reg, "PUT", "/config/s1", {"compatibility": "FULL"})[0] == 200
    for i in range(40):  # roll the last records out of the active segment
        assert ru.call(reg, "PUT", "/config/s0", {"compatibility": "NONE"})[0] == 200
    before = snapshot(reg)
    part = broker.data_dir / "_schemas-0"
    assert len(list(part.glob("*.log"))) > 5
    broker.wait_for_log(r"_schemas-0: compacted \d+ segment", timeout=20)
    size = sum(p.stat().st_size for p in part.glob("*.log"))
    print(f"_schemas: {size} bytes in {len(list(part.glob('*.log')))} segments after compaction")

    reg.restart()
    assert snapshot(reg) == before
    _, reg2 = ru.start(sluice_proc, broker=broker, name="registry2")
    assert snapshot(reg2) == before
    broker.restart()
    reg.restart()
    assert snapshot(reg) == before
    assert size < 160 * 100  # most of the churn is gone
