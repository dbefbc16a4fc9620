"""bench_window_pipeline: what a windowed aggregation costs `sluice process` end to end (issue
10), with 1, 10 and 1,000,000 distinct groups.

For each group count, bench_pipeline.py --window-groups runs the pipeline (a producer with
acks=all -> sluice broker -> sluice process -> sluice store) alternately plain and with a window
(one-minute tumbling on the Kafka timestamp, count, count_distinct(email), min(dob),
max(registered_date), upserted to spark_streams.bench_groups as each batch updates it, beside
created_users), each run on a fresh broker and store. The peer is the same pipeline without the
window. It checks that every record is in created_users once and that the window table counted
each record once, in as many groups as asked. With a million groups every record is its own
group (grouped by id): each record then opens a window, and each window is a result row.

Prints one table: per group count, records/s end to end of both sides (median, min-max), the
cost (1 - windowed / plain, of the medians and per run), and the CPU seconds per 100k records
of the consumer and of the store.

  bench/bench_window_pipeline.py [--runs 3] [--records 100000] [--groups 1,10,each]
  (each: as many groups as records, --each-records of them, default 1,000,000)
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_pipeline import fmt  # noqa: E402  (median (min-max), as bench_pipeline prints it)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--records", type=int, default=100000,
                    help="records per measurement with 1 and 10 groups")
    ap.add_argument("--each-records", type=int, default=1000000,
                    help="records (and so groups) per measurement with a group per record")
    ap.add_argument("--groups", default="1,10,each")
    args = ap.parse_args()

    rows = []
    for g in args.groups.split(","):
        n = args.each_records if g == "each" else args.records
        with tempfile.NamedTemporaryFile(suffix=".json") as f:
            cmd = [sys.executable, str(HERE / "bench_pipeline.py"), "--window-groups", g,
                   "--runs", str(args.runs), "--records", str(n), "--seconds", "1",
                   "--json", f.name]
            print(f"== {' '.join(cmd[1:])}", flush=True)
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            # its progress lines, for the raw output (the report leaves out "run " lines)
            for line in r.stdout.splitlines():
                if line.lstrip().startswith("run "):
                    print(line, flush=True)
            if r.returncode:
                print(r.stdout[-4000:])
                print(f"bench_pipeline.py --window-groups {g} exited {r.returncode}")
                return 1
            res = json.loads(Path(f.name).read_text())["runs"]
        plain, win = res["sluice"], res["window"]
        p = [x["rps"] for x in plain]
        w = [x["rps"] for x in win]
        costs = [100 * (1 - b / a) for a, b in zip(p, w)]
        cpu = {k: (statistics.median(x["cpu"][k] for x in plain),
                   statistics.median(x["cpu"][k] for x in win)) for k in ("consumer", "store")}
        groups = {"each": f"{n:,} (one per record)"}.get(g, g)
        rows.append(f"| {groups} | {n:,} | {fmt(w)} | {fmt(p)} | "
                    f"{100 * (1 - statistics.median(w) / statistics.median(p)):.1f}% | "
                    f"{', '.join(f'{c:.1f}%' for c in costs)} | "
                    f"{cpu['consumer'][0]:.2f} -> {cpu['consumer'][1]:.2f} | "
                    f"{cpu['store'][0]:.2f} -> {cpu['store'][1]:.2f} |")

    print(f"\nbench_window_pipeline: sluice process end to end (produce acks=all -> broker -> "
          f"process -> store), plain against windowed (1-minute tumbling, 4 aggregates, results "
          f"upserted per batch beside created_users), {args.runs} runs alternating, medians "
          f"(min-max); goal: cost <= 20%")
    print("| groups | records | windowed records/s | peer: plain records/s | cost (medians) | "
          "cost per run | consumer CPU s/100k, plain -> windowed | store CPU s/100k, plain -> "
          "windowed |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(row)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
