"""Run by test_1100 inside a network namespace of its own (`unshare -rn`): starts every
listening component with its default address, so the fixed default ports cannot collide with
anything else on the machine, and prints one JSON line per phase with the TCP listeners that
/proc/net/tcp and /proc/net/tcp6 show while it runs.

usage: listeners_netns.py WORKDIR"""

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sluice_harness as sh  # noqa: E402

TCP_LISTEN = "0A"


def _addr4(h):
    return socket.inet_ntop(socket.AF_INET, bytes.fromhex(h)[::-1])


def _addr6(h):
    raw = bytes.fromhex(h)
    # The kernel prints the address as four 32-bit words, each in host (little-endian) order.
    return socket.inet_ntop(socket.AF_INET6, b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4)))


def listeners():
    """[(family, address, port)] of every TCP socket in LISTEN state in this namespace."""
    out = []
    for path, fam, conv in (("/proc/net/tcp", "tcp", _addr4), ("/proc/net/tcp6", "tcp6", _addr6)):
        try:
            lines = Path(path).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            f = line.split()
            if f[3] != TCP_LISTEN:
                continue
            host, port = f[1].split(":")
            out.append((fam, conv(host), int(port, 16)))
    return sorted(set(out))


def wait_ports(ports, procs, timeout):
    deadline = time.monotonic() + sh.scaled(timeout)
    while True:
        have = {p for _, _, p in listeners()}
        if set(ports) <= have:
            return
        for p in procs:
            if not p.running:
                raise RuntimeError(f"{p.name} exited: {sh.tail(p.log_text(), 30)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"ports {sorted(set(ports) - have)} not listening; have {sorted(have)}")
        time.sleep(0.05)


def phase(name, work, specs, ports, timeout=20):
    """Starts specs [(component, args)] with default addresses (no --listen), waits for ports,
    prints the listeners, stops them in reverse order."""
    procs = []
    try:
        for comp, args in specs:
            p = sh.SluiceProcess(comp, work / name / comp, args=args, listen=False,
                                 data_dir=comp in ("up", "broker", "store"), name=comp)
            procs.append(p.start(wait=False))
        wait_ports(ports, procs, timeout)
        print(json.dumps({"phase": name, "listeners": listeners(), "expect": ports}), flush=True)
    finally:
        problems = []
        for p in reversed(procs):
            problems += p.cleanup()
        if problems:
            print(json.dumps({"phase": name, "problems": problems}), flush=True)


def main():
    work = Path(sys.argv[1])
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    # Every standalone component with no address flag at all.
    phase("standalone", work, [
        ("broker", []), ("store", []), ("fake-api", []),
        ("registry", []),
    ], [9092, 9042, 8000, 8081])
    phase("scheduler", work, [("scheduler", ["--dags", str(work)])], [8080])
    phase("console", work, [("console", [])], [8080])
    # up with no config file: every child on up's defaults, the processor's metrics listener
    # included (a standalone `sluice process` has none unless --metrics-listen is given).
    phase("up", work, [("up", ["--ingest-duration", "0"])],
          [9092, 9042, 8000, 8081, 8080, 8082, 8083], timeout=40)
    # The check itself: an address configured to be public is seen as such.
    phase("public", work, [("fake-api", ["--listen", "0.0.0.0:8000"])], [8000])


if __name__ == "__main__":
    main()
