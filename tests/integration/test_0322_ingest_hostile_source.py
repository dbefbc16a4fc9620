"""`sluice ingest` against a hostile source API (issue 5, "Bad input": the source answering 500,
429 or garbage): each failure is logged on one clear line and retried with exponential backoff
and jitter, a 429 waits as its Retry-After says (seconds or an HTTP-date), and ingest exits
non-zero, naming the last failure, only when its retries are exhausted. Answers that retrying
cannot fix (404) end the run at once. The peer is a scripted HTTP server (hostile_http.py); the
broker is the real `sluice broker`."""

import email.utils
import json
import re
import time

import pytest

import sluice_harness as sh
from hostile_http import HostileServer, cut_short, garbage, hang, status


@pytest.fixture
def broker(sluice_proc):
    return sluice_proc("broker")


def ingest(broker, url, *args, count=10, timeout=60):
    return sh.run_sluice("ingest", "--source", url, "--topic", "users_created", "--kafka",
                         broker.addr, "--count", count, "--backoff", "50ms", *args,
                         timeout=timeout)


def failed_with(r, pattern):
    """ingest exited 1 and its last stderr line gives the reason."""
    assert r.returncode == 1, f"exit {r.returncode}\n{r.stderr}"
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("sluice ingest: "), last
    assert re.search(pattern, last), f"{pattern!r} not in {last!r}"
    return last


def warn_lines(r):
    return [ln for ln in r.stderr.splitlines() if " WARN  ingest " in ln]


def test_500_retried_with_backoff_then_gives_up(broker):
    with HostileServer([status(500)]) as h:
        r = ingest(broker, h.url(), "--retries", "3")
    failed_with(r, r"giving up after 4 attempts; last: HTTP 500 \{\"error\":\"Uh oh")
    assert len(h.requests) == 4
    lines = warn_lines(r)
    assert len(lines) == 3, r.stderr
    for i, ln in enumerate(lines):
        assert re.search(rf"HTTP 500 .*; retry {i + 1} of 3 in \d+\.\d\d s$", ln), ln
    # Equal jitter on 50 ms doubling: each wait within [e/2, e] (plus scheduling slack).
    for i, gap in enumerate(h.gaps()):
        e = 0.05 * 2 ** i
        assert e / 2 - 0.005 <= gap <= e + sh.scaled(2), (i, gap)
    assert "1 records" not in r.stderr
    assert re.search(r"failed: 0 records delivered .* 4 API requests, 3 retries \(0 429, 4 5xx",
                     r.stderr), r.stderr


def test_backoff_grows_and_is_capped(broker):
    with HostileServer([status(503, b"busy")]) as h:
        r = ingest(broker, h.url(), "--retries", "5", "--backoff", "40ms", "--backoff-max", "100ms")
    failed_with(r, r"giving up after 6 attempts; last: HTTP 503 busy")
    gaps = h.gaps()
    assert len(gaps) == 5
    assert 0.015 <= gaps[0] <= 0.04 + sh.scaled(2)
    for g in gaps[2:]:  # 160 ms and more, capped at 100: within [50, 100]
        assert 0.045 <= g <= 0.1 + sh.scaled(2), gaps


def test_429_honours_retry_after_seconds(broker):
    cowboy = b'{"error":"Whoa, ease up there cowboy. You\'ve requested 20000 users in the last minute."}'
    with HostileServer([status(429, cowboy, headers={"Retry-After": "1"})]) as h:
        r = ingest(broker, h.url(), "--retries", "2", "--backoff-max", "100ms")
    failed_with(r, r"giving up after 3 attempts; last: HTTP 429 Too Many Requests")
    for g in h.gaps():  # Retry-After beats the 100 ms backoff cap
        assert 0.95 <= g <= 1 + sh.scaled(2), h.gaps()
    lines = warn_lines(r)
    assert len(lines) == 2
    for i, ln in enumerate(lines):
        assert "HTTP 429 Too Many Requests (Retry-After: 1)" in ln and "ease up there cowboy" in ln
        assert ln.endswith(f"waiting 1.00 s as Retry-After asks (retry {i + 1} of 2)"), ln


def test_429_honours_retry_after_http_date(broker):
    def date_in(seconds):
        return email.utils.formatdate(time.time() + seconds, usegmt=True)

    class Dated:  # a fresh date on every request
        __name__ = "dated 429"

        def __call__(self, h):
            status(429, headers={"Retry-After": date_in(2)})(h)

    with HostileServer([Dated()]) as h:
        r = ingest(broker, h.url(), "--retries", "1")
    failed_with(r, r"HTTP 429")
    (gap,) = h.gaps()
    # The date has whole seconds, so "now + 2 s" is 1 to 2 s away.
    assert 0.95 <= gap <= 2 + sh.scaled(2), gap
    assert re.search(r"\(Retry-After: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT\)", r.stderr)
    assert "as Retry-After asks" in r.stderr


def test_429_without_usable_retry_after_backs_off(broker):
    with HostileServer([status(429), status(429, headers={"Retry-After": "soon"}),
                        status(429, headers={"Retry-After": "-5"})]) as h:
        r = ingest(broker, h.url(), "--retries", "2")
    failed_with(r, r"giving up after 3 attempts; last: HTTP 429 Too Many Requests "
                   r"\(Retry-After: -5\)")
    lines = warn_lines(r)
    assert "(Retry-After: none)" in lines[0] and "(Retry-After: soon)" in lines[1]
    for ln in lines:
        assert re.search(r"retry \d of 2 in 0\.\d\d s$", ln), ln
    assert all(g < sh.scaled(3) for g in h.gaps())


GARBAGE = [
    (garbage(b"<html><body>Service Unavailable</body></html>"), r"garbage: not JSON \("),
    (garbage(b""), r"garbage: not JSON \(.*\): \(empty body\)"),
    (garbage(b'{"results":[{"gender":"female","name":{"fi'), r"garbage: not JSON \("),
    (garbage(b"\x00\xff\xfe\x80 binary"), r"garbage: not JSON \("),
    (garbage(b"[1,2,3]"), r'garbage: JSON without a "results" array: \[1,2,3\]'),
    (garbage(b'{"results":"none"}'), r'garbage: JSON without a "results" array'),
    (garbage(b'{"results":[],"info":{}}'), r'garbage: an empty "results" array'),
    (garbage(b'{"error":"Uh oh, something has gone wrong."}'),
     r"the source reported an error: Uh oh, something has gone wrong\."),
    (status(302, b"moved, but not saying where"), r"garbage: HTTP 302 moved, but not saying"),
]


def test_garbage_each_kind_logged_and_retried(broker):
    with HostileServer([g for g, _ in GARBAGE]) as h:
        r = ingest(broker, h.url(), "--retries", str(len(GARBAGE) - 1), "--backoff", "10ms",
                   "--backoff-max", "20ms")
    assert len(h.requests) == len(GARBAGE)
    lines = warn_lines(r)
    assert len(lines) == len(GARBAGE) - 1, r.stderr
    for ln, (_, pattern) in zip(lines, GARBAGE):
        assert re.search(pattern, ln), (pattern, ln)
    failed_with(r, GARBAGE[-1][1])
    # Unprintable bytes never reach the log raw.
    assert "\x00" not in r.stderr and "\ufffd" not in r.stderr


def test_client_errors_are_not_retried(broker):
    with HostileServer([status(404, b"Not Found", content_type="text/plain")]) as h:
        r = ingest(broker, h.url("/nope/"), "--retries", "5")
    failed_with(r, r"answered HTTP 404 Not Found: not retrying")
    assert len(h.requests) == 1


def test_timeout_retried(broker):
    with HostileServer([hang(sh.scaled(5))]) as h:
        t0 = time.monotonic()
        r = ingest(broker, h.url(), "--retries", "1", "--timeout", "300ms")
        took = time.monotonic() - t0
    failed_with(r, r"giving up after 2 attempts; last: timed out: ")
    assert len(h.requests) == 2
    assert took < sh.scaled(8), took
    assert re.search(r"timed out: .*retry 1 of 1", r.stderr)


def test_connection_cut_mid_body_retried(broker):
    with HostileServer([cut_short()]) as h:
        r = ingest(broker, h.url(), "--retries", "1")
    failed_with(r, r"giving up after 2 attempts; last: request failed: ")
    assert len(h.requests) == 2


def test_unreachable_source(broker, free_port):
    r = ingest(broker, f"http://127.0.0.1:{free_port()}/api/", "--retries", "2")
    failed_with(r, r"giving up after 3 attempts; last: request failed: .*Couldn't connect")
    assert len(warn_lines(r)) == 2


def test_users_that_do_not_flatten_are_skipped(broker):
    """Users the API sends without the fields format_data reads are skipped with the reason; a
    source that never sends a valid one is given up on like any broken source."""
    bad = json.dumps({"results": [{"gender": "female", "name": {"first": "A"}},
                                  {"gender": "male", "name": {"first": "B", "last": "C"},
                                   "location": {"street": {"number": None}}}]}).encode()
    with HostileServer([garbage(bad)]) as h:
        r = ingest(broker, h.url(), "--retries", "2")
    failed_with(r, r"3 pages in a row without one valid user")
    assert 3 <= len(h.requests) <= 4  # the next page may have been asked for already
    assert "user 0 of a page skipped: name.last: missing" in r.stderr
    assert "user 1 of a page skipped: location.street.number: null, expected a string or an " \
           "integer" in r.stderr
    assert re.search(r"0 records delivered .* 6 skipped as invalid", r.stderr)


def test_bad_source_urls_are_usage_errors(broker):
    for url, why in [("ftp://127.0.0.1/api/", "bad --source URL: scheme must be http or https"),
                     ("not a url", "bad --source URL: ")]:
        r = ingest(broker, url)
        assert r.returncode == 2, (url, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("sluice ingest: " + why), r.stderr
