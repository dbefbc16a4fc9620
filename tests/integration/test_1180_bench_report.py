"""Issue 11's benchmark report: bench/report turns one `make bench` run's results (what bench/run
leaves in $SLUICE_BENCH_OUT) into the generated part of docs/benchmarks.md and its gnuplot PNGs.
Run here on a canned results directory, so the check takes a second and needs no benchmark."""
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
REPORT = REPO / "bench" / "report"

KAFKA_OUT = """bench_kafka: produce then consume, 1000 messages per case; medians of 3 runs (min-max)
run 1 sluice 100 B: produce 0.10 s
%3|1795358609.611|FAIL|rdkafka#producer-6| [thrd:main]: Connect failed
| case | sluice msgs/s | mock msgs/s | ratio sluice/mock |
|---|---|---|---|
| produce 100 B | 1200 (1100-1300) | 1000 (900-1100) | 1.20 |
| produce 1 KiB | 900 (800-950) | 1000 (950-1050) | 0.90 |
"""

# The shape of bench_scheduler's output: per-run detail lines, a captioned table of sluice against
# its peers with the ratio, then lines that are not a table.
SCHEDULER_OUT = """RSS idle: 13416 KiB (SQLite's allocations 192 KiB)
run 1/5 trigger-to-running, noop task (in-process) (200 triggers): p50 0.42 ms, p99 1.97 ms

bench_scheduler: scheduler loop in process over SQLite; 5 runs alternating with the peers
| figure | sluice (median, min-max) | peer | peer (median, min-max) | ratio |
|---|---|---|---|---|
| trigger-to-running p50 ms, noop task | 0.39 (0.33-0.43) | bare SQLite | 0.15 (0.12-0.16) | 2.60 |

RSS after 10 runs of one: 15280 KiB (SQLite's allocations 712 KiB)
"""


def canned(d):
    d.mkdir()
    (d / "machine.txt").write_text("date 2026-11-22T14:00:00Z\ncommit abc1234\ncpu Test CPU\n"
                                   "cores 2\nmemory 23.5 GiB\nkernel 6.1.0\nbuild RelWithDebInfo\n"
                                   )
    (d / "status.tsv").write_text("bench_kafka 0 42\nbench_pipeline.py 1 99\n"
                                  "bench_scheduler 0 120\n")
    (d / "bench_scheduler.out").write_text(SCHEDULER_OUT)
    (d / "bench_kafka.out").write_text(KAFKA_OUT)
    (d / "bench_pipeline.out").write_text("records/s end to end: sluice 50000, peer 1000\n")
    (d / "kafka_throughput.tsv").write_text(
        "produce\t100\tsluice\t1200\t1100\t1300\t0.12\n"
        "produce\t1024\tsluice\t900\t800\t950\t0.92\n"
        "produce\t100\tmock\t1000\t900\t1100\t0.10\n"
        "produce\t1024\tmock\t1000\t950\t1050\t1.02\n")
    (d / "latency_pipeline_sluice_at_1000.txt").write_text("".join(f"{x / 10}\n" for x in range(1, 200)))
    (d / "latency_scheduler_noop.txt").write_text("0.4\n0.5\n0.6\n2.5\n")
    (d / "load.tsv").write_text("0 1.5\n1 2.5\n2 3.5\n")
    (d / "rss.tsv").write_text("0 10 broker 20000\n1 10 broker 21000\n1 11 store 30000\n")


def run(res, docs):
    return subprocess.run(["/usr/bin/python3", str(REPORT), str(res), str(docs)],
                          capture_output=True, text=True, timeout=120)


def test_report_from_canned_results(tmp_path):
    res, docs = tmp_path / "results", tmp_path / "docs"
    canned(res)
    docs.mkdir()
    (docs / "benchmarks.md").write_text("# Benchmarks\n\nHand-written method.\n")
    r = run(res, docs)
    assert r.returncode == 0, r.stderr
    md = (docs / "benchmarks.md").read_text()
    assert md.startswith("# Benchmarks\n\nHand-written method.\n")  # kept
    assert "commit abc1234" in md and "Test CPU, 2 cores, 23.5 GiB, Linux 6.1.0" in md
    assert "1.50 min, 2.50 median, 3.50 max" in md  # the run's noise
    assert "| bench_kafka | ok | 42 |" in md and "| bench_pipeline.py | FAILED (1) | 99 |" in md
    # the benchmark's own table, sluice against its peer with the ratio, and its caption
    assert "| produce 1 KiB | 900 (800-950) | 1000 (950-1050) | 0.90 |" in md
    assert "bench_kafka: produce then consume, 1000 messages per case" in md
    assert "run 1 sluice" not in md and "rdkafka#producer" not in md  # progress, client logs
    assert "records/s end to end: sluice 50000, peer 1000" in md
    # a table whose caption follows per-run lines: caption and rows kept, the run lines left out
    assert ("bench_scheduler: scheduler loop in process over SQLite; 5 runs alternating with the "
            "peers\n\n| figure |") in md
    assert "| trigger-to-running p50 ms, noop task | 0.39 (0.33-0.43) | bare SQLite |" in md
    assert "run 1/5" not in md
    assert "RSS idle: 13416 KiB" in md and "RSS after 10 runs of one: 15280 KiB" in md
    for png in ("bench_kafka_throughput.png", "bench_latency_cdf.png", "bench_rss_over_time.png"):
        f = docs / "img" / png
        assert f.exists() and f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
        assert f"](img/{png})" in md

    # A second run replaces the generated part instead of adding another.
    (res / "machine.txt").write_text((res / "machine.txt").read_text().replace("abc1234", "def5678"))
    (docs / "benchmarks.md").write_text(md + "\nText after the report.\n")
    assert run(res, docs).returncode == 0
    md2 = (docs / "benchmarks.md").read_text()
    assert md2.count("bench-report:begin") == 1 and "def5678" in md2 and "abc1234" not in md2
    assert md2.endswith("Text after the report.\n") and "Hand-written method." in md2


def test_bad_arguments(tmp_path):
    r = run(tmp_path / "missing", tmp_path)
    assert r.returncode == 2 and "not a directory" in r.stderr
    r = subprocess.run(["/usr/bin/python3", str(REPORT)], capture_output=True, text=True)
    assert r.returncode == 2 and "bench/report RESULTS_DIR DOCS_DIR" in r.stderr
