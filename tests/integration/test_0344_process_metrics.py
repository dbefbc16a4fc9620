"""sluice process's metrics (issue 5: "Metrics: records in, out and invalid; batch latency;
consumer lag. They are logged every 10 s and available as JSON for the console"): GET
/metrics.json on --metrics-listen, read with urllib while records flow, agrees with what was
produced and stored, shows the lag of records not yet processed, and the same figures are
logged at --metrics-interval."""

import json
import urllib.error
import urllib.request

import pipeline_util as pu
import process_util as xu
import sluice_harness as sh


def get(url):
    with urllib.request.urlopen(url, timeout=sh.scaled(5)) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("application/json")
        return json.loads(r.read())


def test_metrics_json_and_log(sluice_proc, free_port):
    _, broker, store = pu.start_stack(sluice_proc, api=False, partitions=2)
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics.json"
    args = ["--metrics-listen", f"127.0.0.1:{port}", "--metrics-interval", "300ms",
            "--linger", "20ms", "--batch-size", "100"]
    proc = pu.start_process(sluice_proc, broker, pu.cql_sink(store), args=args)
    sh.wait_port("127.0.0.1", port, sh.scaled(10), proc.proc)
    proc.wait_for_log(r"assigned 2 partition", 30)
    m = get(url)
    assert set(m) == {"in", "out", "invalid", "filtered", "late", "missing_timestamp", "windows",
                      "window_bytes", "batches", "sink_retries", "batch_latency_ms", "lag",
                      "partitions"}, m
    assert (m["in"], m["out"], m["invalid"], m["batches"]) == (0, 0, 0, 0)
    assert set(m["batch_latency_ms"]) == {"p50", "p99"}

    items, _ = xu.good_items(900)
    items += [(b"bad%d" % i, b"{not json") for i in range(9)]
    xu.produce(broker, items)
    want = (len(items), 900, 9)
    sh.wait_until(lambda: (lambda x: (x["in"], x["out"], x["invalid"]) == want)(get(url)),
                  sh.scaled(30), what=f"metrics {want}")
    m = sh.wait_until(lambda: (lambda x: x if x["lag"] == 0 else None)(get(url)),
                      sh.scaled(10), what="lag 0")
    assert m["partitions"] == 2
    assert m["batches"] >= len(items) // 100
    assert 0 <= m["batch_latency_ms"]["p50"] <= m["batch_latency_ms"]["p99"] < 30000
    assert m["sink_retries"] == 0
    pu.wait_committed(broker, len(items), 30, procs=[proc])

    # Lag counts what is in the topic but not yet committed, the batch held in retries too.
    store.stop()
    more, _ = xu.good_items(300, start=900)
    xu.produce(broker, more)
    sh.wait_until(lambda: get(url)["sink_retries"] > 0, sh.scaled(30), what="sink retries")
    m = sh.wait_until(lambda: (lambda x: x if x["lag"] == 300 else None)(get(url)),
                      sh.scaled(10), what="lag 300 while the store is down")
    assert m["out"] == 900
    store.start()
    sh.wait_until(lambda: (lambda x: x["out"] == 1200 and x["lag"] == 0)(get(url)),
                  sh.scaled(60), what="out 1200, lag 0")

    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/nope", timeout=sh.scaled(5))
        raise AssertionError("404 expected")
    except urllib.error.HTTPError as e:
        assert e.code == 404

    lines = xu.metric_lines(proc)
    assert any(ln["in"] == str(len(items) + 300) and ln["invalid"] == "9" for ln in lines), \
        lines[-3:]
    assert {"out", "invalid", "batch_p50", "batch_p99", "lag", "partitions"} <= set(lines[-1])
    assert proc.stop() == 0
