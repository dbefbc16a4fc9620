"""`sluice ingest` from `sluice fake-api` into `sluice broker` (issue 5, the ingest section): --count
N produces exactly N records, each the seeds' flattened form of the API user it came from (read
back with python3-confluent-kafka and checked against users fetched again with the same seed),
keyed by its id, a fresh UUIDv4; results=<batch> and page=1,2,3... for a seeded source, and the
remainder asked for by an unseeded one; --duration; the per-second rate limit; the progress line
on a terminal and not elsewhere; SIGTERM stops fetching, waits for every delivery report and
exits 0; a source that fails now and then is retried without losing or repeating a page."""

import os
import pty
import re
import subprocess
import time
import urllib.parse

import pytest

import ingest_util as iu
import pipeline_util as pu
import sluice_harness as sh
from hostile_http import HostileServer, forward, garbage, status


@pytest.fixture
def stack(sluice_proc):
    return sluice_proc("fake-api"), sluice_proc("broker")


def decoded(broker, topic=pu.TOPIC):
    return [iu.check_record(k, v) for _, _, k, v in iu.consume_all(broker, topic)]


def test_count_exact_and_flattened(stack):
    api, broker = stack
    r = iu.ok(iu.ingest(broker, pu.source_url(api, "count-1"), "--count", 1234, "--batch", 100))
    s = iu.summary(r)
    assert s["status"] == "done" and s["delivered"] == 1234 and s["fetched"] == 1234
    assert s["requests"] == 13 and s["retries"] == 0
    records = decoded(broker)
    iu.check_against_users(records, pu.fetch_users(api, "count-1", 1234, 100))
    # post_code is text whichever form the API used; both forms occur in 1234 users.
    raw = pu.fetch_users(api, "count-1", 1234, 100)
    kinds = {type(u["location"]["postcode"]) for u in raw}
    assert kinds == {int, str}, kinds


def test_seeded_paging_and_unseeded_remainder(stack):
    api, broker = stack
    with HostileServer([forward(api.addr)]) as h:
        iu.ok(iu.ingest(broker, h.url("/api/?seed=pages&nat=gb,us"), "--count", 250, "--batch",
                        100, topic="seeded"))
        seeded = [urllib.parse.parse_qs(urllib.parse.urlparse(p).query) for _, p in h.requests]
        h.requests.clear()
        iu.ok(iu.ingest(broker, h.url("/api/?results=7&page=9"), "--count", 250, "--batch", 100,
                        topic="unseeded"))
        unseeded = [urllib.parse.parse_qs(urllib.parse.urlparse(p).query) for _, p in h.requests]
    # Seeded: every request asks a whole page, pages 1, 2, 3; the last one is cut at the count.
    assert seeded == [{"seed": ["pages"], "nat": ["gb,us"], "results": ["100"], "page": [str(p)]}
                      for p in (1, 2, 3)], seeded
    # Unseeded: the URL's own results= and page= give way; only what is still needed is asked.
    assert unseeded == [{"results": ["100"]}, {"results": ["100"]}, {"results": ["50"]}], unseeded
    assert len(decoded(broker, "seeded")) == 250
    assert len(decoded(broker, "unseeded")) == 250


def test_page_in_url_is_where_a_seeded_run_starts(stack):
    api, broker = stack
    url = f"http://{api.addr}/api/?seed=start&page=3"
    iu.ok(iu.ingest(broker, url, "--count", 150, "--batch", 50))
    users = pu.fetch_users(api, "start", 250, 50)[100:]  # pages 3, 4, 5
    iu.check_against_users(decoded(broker), users)


def test_partitions_by_key(sluice_proc):
    api, broker = sluice_proc("fake-api"), sluice_proc("broker")
    pu.create_topic(broker, "spread", 4)
    iu.ok(iu.ingest(broker, pu.source_url(api, "spread"), "--count", 2000, topic="spread"))
    recs = iu.consume_all(broker, "spread")
    assert len(recs) == 2000
    per = {p: sum(1 for r in recs if r[0] == p) for p in range(4)}
    assert all(n > 300 for n in per.values()), per  # keys are random ids: an even spread


def test_duration(stack):
    api, broker = stack
    t0 = time.monotonic()
    r = iu.ok(iu.ingest(broker, pu.source_url(api, "dur"), "--duration", "2s", "--rate", 1000,
                        "--batch", 100))
    took = time.monotonic() - t0
    s = iu.summary(r)
    assert 2.0 <= took <= 2 + sh.scaled(5), took
    # A page of 100 every 0.1 s at most; fewer when the machine is slow.
    assert 500 <= s["delivered"] <= 2100, s
    assert len(decoded(broker)) == s["delivered"]


def test_rate_limit(stack):
    api, broker = stack
    with HostileServer([forward(api.addr)]) as h:
        t0 = time.monotonic()
        iu.ok(iu.ingest(broker, h.url("/api/?seed=rate"), "--count", 1500, "--batch", 100,
                        "--rate", 500))
        took = time.monotonic() - t0
    # One page at once, then a page of 100 every 0.2 s: 14 * 0.2 s.
    assert 2.8 - 0.05 <= took <= 2.8 + sh.scaled(8), took
    t = [q[0] for q in h.requests]
    assert len(t) == 15
    for i in range(5, 15):
        assert t[i] - t[i - 5] >= 1.0 - 0.05, (i, t[i] - t[i - 5])  # <= 500 users a second


def test_progress_line_on_a_terminal_only(stack):
    api, broker = stack
    args = [str(sh.sluice_bin()), "ingest", "--source", pu.source_url(api, "tty"), "--kafka",
            broker.addr, "--count", "3000", "--batch", "100", "--rate", "3000"]
    master, slave = pty.openpty()
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=slave, close_fds=True)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    assert p.wait(sh.scaled(30)) == 0, out.decode(errors="replace")
    text = out.decode()
    lines = re.findall(r"\rsluice ingest: (\d+) fetched, (\d+) produced, (\d+) delivered "
                       r"\(\d+/s\), [\d.]+ s\x1b\[K", text)
    assert len(lines) >= 3, text  # redrawn while running (every 250 ms), and a final one
    assert lines[-1] == ("3000", "3000", "3000"), lines[-1]
    # Not a terminal: no progress line, only the log.
    r = iu.ok(iu.ingest(broker, pu.source_url(api, "pipe"), "--count", 100))
    assert "\r" not in r.stderr and "\x1b" not in r.stderr


def test_sigterm_drains_and_exits_zero(sluice_proc, stack):
    api, broker = stack
    ing = sluice_proc("ingest", listen=False, args=[
        "--source", pu.source_url(api, "term"), "--kafka", broker.addr, "--count", 1000000,
        "--batch", 200, "--rate", 4000])
    ing.wait_for_log(r"-> users_created on")
    time.sleep(1.5)
    assert ing.stop() == 0
    s = iu.summary(ing.log_text())
    assert s["status"] == "stopped" and 200 <= s["delivered"] < 1000000, s
    # Everything produced was delivered and nothing else: the topic holds exactly those.
    records = decoded(broker)
    assert len(records) == s["delivered"]
    iu.check_against_users(records, pu.fetch_users(api, "term", len(records), 200))


def test_failing_source_retried_without_losing_a_page(stack):
    """fake-api behind a peer that answers 500, then 429 with Retry-After, then garbage, between
    good pages: the same page is asked again until it comes, so the records are still pages
    1..N in order."""
    api, broker = stack
    good = forward(api.addr)
    script = [good, status(500), status(429, headers={"Retry-After": "1"}), good,
              garbage(b"<html>oops</html>"), good, good]
    with HostileServer(script) as h:
        r = iu.ok(iu.ingest(broker, h.url("/api/?seed=flaky"), "--count", 500, "--batch", 100,
                            "--backoff", "20ms"))
        pages = [urllib.parse.parse_qs(urllib.parse.urlparse(p).query)["page"][0]
                 for _, p in h.requests]
    assert pages == ["1", "2", "2", "2", "3", "3", "4", "5"], pages
    s = iu.summary(r)
    assert s["retries"] == 3 and s["delivered"] == 500
    assert re.search(r"WARN  ingest source .*: HTTP 500 .*retry 1 of 10", r.stderr)
    assert "waiting 1.00 s as Retry-After asks (retry 2 of 10)" in r.stderr
    assert re.search(r"garbage: not JSON .*<html>oops</html>; retry 1 of 10", r.stderr)
    iu.check_against_users(decoded(broker), pu.fetch_users(api, "flaky", 500, 100))


def test_fake_api_quota_and_failures(sluice_proc):
    """fake-api's own hostility: its per-client quota answers 429 (ingest waits the Retry-After
    or backs off, then continues once the window has passed) and its injected failure rate
    answers 500; the run still ends with exactly the users asked for."""
    api = sluice_proc("fake-api", args=["--quota", "300", "--quota-window", "2s",
                                        "--fail-rate", "0.2"])
    broker = sluice_proc("broker")
    r = iu.ok(iu.ingest(broker, pu.source_url(api, "quota"), "--count", 900, "--batch", 100,
                        "--backoff", "50ms", "--backoff-max", "1s", "--retries", "30",
                        timeout=120))
    assert "HTTP 429" in r.stderr
    ref = sluice_proc("fake-api", name="reference")  # same seed, same users, no quota
    iu.check_against_users(decoded(broker), pu.fetch_users(ref, "quota", 900, 100))
