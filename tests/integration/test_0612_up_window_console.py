"""Issue 10: the default `sluice up` pipeline writes the window table
spark_streams.users_per_nat_minute beside created_users, and the console's Tables page shows it
updating. Up runs user_automation's ingest for 20 s; Debian's chromium (playwright-core,
tests/browser/window_table.mjs) opens the Tables page on the window table with "refresh every
2 s" on and sees the users column's sum grow with no further click. Afterwards the table's
counts are checked against the topic: every record is one user in one window."""

import os
import re
import subprocess

import sluice_harness as sh
from test_0900_up import records_in, wait_runs_done, wait_window_users, write_config


def test_tables_page_shows_the_window_table_updating(sluice_proc, tmp_path, repo):
    cfg, ports = write_config(tmp_path)
    up = sluice_proc("up", listen=False, data_dir=True,
                     args=["--config", str(cfg), "--ingest-duration", "45s"])
    up.wait_for_log(r"sluice is up", timeout=60)
    pw = re.search(r"first start: user admin, password (\S+) \(shown only now\)",
                   up.log_text()).group(1)
    env = dict(os.environ, CONSOLE_URL=f"http://127.0.0.1:{ports['console']}",
               ADMIN_PASSWORD=pw, TABLE="spark_streams.users_per_nat_minute",
               TIMEOUT_SCALE=str(sh.timeout_scale()))
    env.setdefault("SLUICE_ARTIFACTS", str(repo / "build" / "test-artifacts"))
    p = subprocess.run(["node", str(repo / "tests" / "browser" / "window_table.mjs")], cwd=repo,
                       env=env, capture_output=True, text=True, timeout=sh.scaled(120))
    assert p.returncode == 0 and p.stdout.strip().endswith("ok"), p.stdout + p.stderr
    first, later = map(int, re.search(r"users (\d+) -> (\d+)", p.stdout).groups())
    assert 0 < first < later

    wait_runs_done(ports["scheduler"])
    n = records_in(f"127.0.0.1:{ports['broker']}", "users_created")
    assert n >= later
    wait_window_users(ports["store"], n)
