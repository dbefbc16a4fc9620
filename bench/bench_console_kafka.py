"""bench_console_kafka: the console's Topics and Consumer groups endpoints with 100 topics (issue
8's budget: every JSON endpoint within 50 ms at p99), the figure docs/console.md records.

Starts `sluice broker` and `sluice console`, makes 100 topics of 3 partitions with 20 messages
each and a group with committed offsets on 30 partitions (tests/integration/
console_budget_util.py, shared with test_0735), then times N sequential requests per endpoint
over one keep-alive session with python3-requests, after one warm-up request each. Prints p50,
p99 and max per endpoint, and the console's RSS.

  bench/bench_console_kafka.py [--requests 500]
"""

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "integration"))

import console_budget_util as bu  # noqa: E402
import sluice_harness as sh  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=500)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-console-"))
    procs = []

    def start(component, args=(), **kw):
        p = sh.SluiceProcess(component, work / component, args=args, **kw)
        procs.append(p)
        return p.start()

    try:
        broker, con, s = bu.setup(start)
        bu.check_answers(con, s)
        figures = bu.measure(con, s, args.requests)
        print(f"{bu.TOPICS} topics x {bu.PARTITIONS} partitions, {args.requests} requests each")
        print(f"{'endpoint':10s} {'p50 ms':>8s} {'p99 ms':>8s} {'max ms':>8s}")
        for name, (p50, p99, mx) in figures.items():
            print(f"{name:10s} {p50:8.2f} {p99:8.2f} {mx:8.2f}")
        for line in open(f"/proc/{con.pid}/status"):
            if line.startswith(("VmRSS:", "VmHWM:")):
                print("console " + " ".join(line.split()))
    finally:
        for p in reversed(procs):
            p.cleanup()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
