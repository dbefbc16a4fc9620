"""The console shell in Debian's Chromium, driven by playwright-core (tests/browser/
console_core.mjs on tests/browser/lib.mjs): log in (a wrong password refused), the Overview's
pipeline picture with the topic's message count from a real broker, the Alerts page's rules
edited by an admin (a bad rule refused), the Users page, and a viewer who sees neither. The page
must raise no errors and request nothing outside the console. Screenshots go to
$SLUICE_ARTIFACTS (default build/test-artifacts/core-*.png)."""

import os
import subprocess

import pytest
from confluent_kafka import Producer

import console_util as cu
import sluice_harness as sh

N = 150


def test_console_shell_in_chromium(sluice_proc):
    if not os.path.exists("/usr/bin/chromium"):
        pytest.fail("/usr/bin/chromium not found: run scripts/install-deps", pytrace=False)
    broker = sluice_proc("broker")
    r = sh.run_sluice("topic", "--kafka", broker.addr, "create", "users_created")
    assert r.returncode == 0, r.stderr
    p = Producer({"bootstrap.servers": broker.addr})
    for i in range(N):
        p.produce("users_created", key=str(i), value=b'{"n": %d}' % i)
    assert p.flush(sh.scaled(10)) == 0
    con = cu.start(sluice_proc, args=["--kafka", broker.addr, "--collect-interval", "300ms"])
    artifacts = os.environ.get("SLUICE_ARTIFACTS") or str(sh.REPO / "build" / "test-artifacts")
    env = dict(os.environ, CONSOLE_URL=f"http://{con.addr}", ADMIN_PASSWORD=con.admin_password,
               EXPECT_MESSAGES=str(N), SLUICE_ARTIFACTS=artifacts,
               TIMEOUT_SCALE=str(sh.timeout_scale()), NODE_PATH=str(sh.node_modules()))
    out = subprocess.run(["node", str(sh.REPO / "tests" / "browser" / "console_core.mjs")],
                         cwd=sh.REPO, env=env, capture_output=True, text=True,
                         timeout=sh.scaled(120))
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), (
        f"node exited {out.returncode}\n--- stdout\n{out.stdout}\n--- stderr\n{out.stderr}")
    for name in ["login-refused", "overview", "alerts", "users", "viewer-alerts", "logged-out"]:
        assert os.path.getsize(os.path.join(artifacts, f"core-{name}.png")) > 0
    log = con.log_text()
    assert 'user "admin" replaced the alert rules' in log
    assert 'user "admin" set user "vera" (viewer)' in log
