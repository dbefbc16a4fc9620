"""The Topics and Consumer groups pages in Debian's Chromium (tests/browser/console_kafka.mjs via
playwright-core, with lib.mjs) over a real broker, store, console and `sluice process`: log in, see
users_created with the right message count, browse a message, produce one from the page, and
watch the sluice-process group's lag drop to zero as the processor catches up. Screenshots go to
$SLUICE_ARTIFACTS (default build/test-artifacts/)."""

import json
import os
import subprocess

import pytest
import requests

import console_util as cu
import pipeline_util as pu
import process_util as prc
import sluice_harness as sh

N = 200


def test_topics_and_lag_in_chromium(sluice_proc, tmp_path):
    if not os.path.exists("/usr/bin/chromium"):
        pytest.fail("/usr/bin/chromium not found: run scripts/install-deps", pytrace=False)
    _, broker, store = pu.start_stack(sluice_proc, partitions=3, api=False)
    con = cu.start(sluice_proc, args=["--kafka", broker.addr, "--collect-interval", "500ms"])
    items, _ = prc.good_items(N)
    prc.produce(broker, items)
    # The group starts at the beginning without a processor yet, so its lag is all N messages:
    # the reset creates the group's offsets (Kafka's simple commit).
    s = cu.login(con)
    r = s.post(cu.url(con, "/api/groups/sluice-process/offsets"),
               json={"to": "earliest", "topic": pu.TOPIC}, timeout=sh.scaled(15))
    assert r.status_code == 200, r.text
    assert sorted(o["offset"] for o in r.json()["offsets"]) == [0, 0, 0]

    artifacts = os.environ.get("SLUICE_ARTIFACTS") or str(sh.REPO / "build" / "test-artifacts")
    argv = [str(sh.sluice_bin()), "process", "--kafka", broker.addr, "--sink",
            pu.cql_sink(store)]
    env = dict(os.environ, CONSOLE_URL=cu.url(con, ""), ADMIN_PASSWORD=con.admin_password,
               TIMEOUT_SCALE=str(sh.timeout_scale()), SLUICE_ARTIFACTS=artifacts,
               EXPECT_MESSAGES=str(N), PROCESS_ARGV=json.dumps(argv),
               PROCESS_LOG=str(tmp_path / "process.log"))
    out = subprocess.run(["node", str(sh.REPO / "tests" / "browser" / "console_kafka.mjs")],
                         cwd=sh.REPO, env=env, capture_output=True, text=True,
                         timeout=sh.scaled(180))
    log = (tmp_path / "process.log").read_text() if (tmp_path / "process.log").exists() else ""
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), (
        f"node exited {out.returncode}\n--- stdout\n{out.stdout}\n--- stderr\n{out.stderr}"
        f"\n--- process log\n{sh.tail(log, 60)}")
    # The lag the page showed is the broker's: the group committed everything.
    g = s.get(cu.url(con, "/api/groups/sluice-process"), timeout=sh.scaled(15)).json()
    assert g["lag"] == 0 and sum(o["committed"] for o in g["offsets"]) == N + 1
    for name in ["topics", "browse", "lag-before", "lag-zero"]:
        assert os.path.getsize(os.path.join(artifacts, f"kafka-{name}.png")) > 0
