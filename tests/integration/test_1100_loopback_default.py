"""issue 11, security: every listener binds loopback unless configured otherwise.

listeners_netns.py runs in a network namespace of its own (`unshare -rn`), so each component can
be started with no --listen at all (its built-in default port cannot collide with anything else
on the machine) and every TCP listener of the namespace is read from /proc/net/tcp{,6}."""

import ipaddress
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import sluice_harness as sh

HERE = Path(__file__).resolve().parent


def _run(tmp_path):
    if not shutil.which("unshare"):
        pytest.fail("unshare (util-linux) not found", pytrace=False)
    r = subprocess.run(["unshare", "-rn", sys.executable, str(HERE / "listeners_netns.py"),
                        str(tmp_path)], capture_output=True, text=True, timeout=sh.scaled(120))
    assert r.returncode == 0, f"listeners_netns.py failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    phases = {}
    for line in r.stdout.splitlines():
        d = json.loads(line)
        assert "problems" not in d, d
        phases[d["phase"]] = d
    return phases


def test_every_default_listener_is_loopback(tmp_path):
    phases = _run(tmp_path)
    assert set(phases) == {"standalone", "scheduler", "console", "up", "public"}
    for name in ("standalone", "scheduler", "console", "up"):
        d = phases[name]
        ports = {p for _, _, p in d["listeners"]}
        assert set(d["expect"]) <= ports, d
        for fam, addr, port in d["listeners"]:
            assert ipaddress.ip_address(addr).is_loopback, \
                f"{name}: {fam} {addr}:{port} listens on a non-loopback address"
    # up's children: store, broker, fake-api, registry, console, scheduler, process metrics.
    assert {p for _, _, p in phases["up"]["listeners"]} == {9092, 9042, 8000, 8081, 8080, 8082,
                                                           8083}
    # The check sees a configured public address, so the loopback results above mean something.
    assert [tuple(x) for x in phases["public"]["listeners"]] == [("tcp", "0.0.0.0", 8000)]
