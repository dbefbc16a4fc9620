"""The console's /metrics (Prometheus text) and alerts against a real broker: topic offsets,
group lag and each component's up state in /metrics; alert rules on records/s and consumer lag
that fire and resolve, with each transition in the history (kept across a restart), in the log
and POSTed to a webhook; bad rules refused with a reason."""

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from confluent_kafka import Consumer, Producer, TopicPartition

import console_util as cu
import sluice_harness as sh

LINE = re.compile(r'^(# (HELP|TYPE) \S+ .+|[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? '
                  r'-?[0-9.e+]+)$')


class Hook:
    """A webhook receiver on a free loopback port; .events holds the JSON bodies POSTed."""

    def __init__(self):
        self.events = []
        hook = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                hook.events.append((self.headers.get("Content-Type"),
                                    json.loads(self.rfile.read(n))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def produce(addr, topic, n, value=b'{"x": 1}'):
    p = Producer({"bootstrap.servers": addr})
    for i in range(n):
        p.produce(topic, key=str(i), value=value)
    assert p.flush(sh.scaled(10)) == 0


def test_metrics_text(sluice_proc):
    broker = sluice_proc("broker")
    assert sh.run_sluice("topic", "--kafka", broker.addr, "create", "users_created",
                         "--partitions", "2").returncode == 0
    produce(broker.addr, "users_created", 40)
    c = Consumer({"bootstrap.servers": broker.addr, "group.id": "g1",
                  "enable.auto.commit": False})
    c.commit(offsets=[TopicPartition("users_created", 0, 0),
                      TopicPartition("users_created", 1, 0)], asynchronous=False)
    c.close()
    con = cu.start(sluice_proc, args=["--kafka", broker.addr, "--collect-interval", "200ms"])

    def text():
        return requests.get(cu.url(con, "/metrics"), timeout=5)

    sh.wait_until(lambda: 'sluice_kafka_group_lag{group="g1"} 40' in text().text,
                  sh.scaled(10), what="g1's lag in /metrics")
    r = text()
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    body = r.text
    for line in body.strip().split("\n"):
        assert LINE.match(line), line
    assert 'sluice_up{component="broker"} 1' in body
    for comp in ("store", "registry", "scheduler", "processor"):
        assert f'sluice_up{{component="{comp}"}} 0' in body
    assert 'sluice_kafka_topic_partitions{topic="users_created"} 2' in body
    assert 'sluice_kafka_topic_end_offset{topic="users_created"} 40' in body
    assert 'sluice_kafka_topic_messages{topic="users_created"} 40' in body
    assert "# TYPE sluice_kafka_topic_end_offset counter" in body
    # A broker gone is a 0, not an error.
    broker.stop()
    sh.wait_until(lambda: 'sluice_up{component="broker"} 0' in text().text, sh.scaled(15),
                  what="the broker down in /metrics")
    assert requests.post(cu.url(con, "/metrics"), timeout=5).status_code == 405


def test_alerts_fire_resolve_and_notify(sluice_proc):
    broker = sluice_proc("broker")
    assert sh.run_sluice("topic", "--kafka", broker.addr, "create", "users_created").returncode == 0
    hook = Hook()
    try:
        con = cu.start(sluice_proc, args=["--kafka", broker.addr, "--collect-interval", "200ms",
                                          "--webhook", hook.url])
        s = cu.login(con)
        a = s.get(cu.url(con, "/api/alerts"), timeout=5).json()
        assert {r["metric"] for r in a["rules"]} == \
            {"consumer_lag", "dlq_per_s", "failed_dag_runs"}
        assert a["webhook"] is True
        rules = [{"name": "records in", "metric": "records_per_s", "target": "users_created",
                  "op": ">", "threshold": 20, "for": "0s"},
                 {"name": "g1 lag", "metric": "consumer_lag", "target": "g1", "op": ">",
                  "threshold": 10, "for_ms": 300}]
        r = s.put(cu.url(con, "/api/alerts/rules"), json=rules, timeout=5)
        assert r.status_code == 200, r.text
        assert json.load(open(con.data_dir / "alerts.json"))[1]["for_ms"] == 300

        def state(name):
            for rule in s.get(cu.url(con, "/api/alerts"), timeout=5).json()["rules"]:
                if rule["name"] == name:
                    return rule["state"]

        def history():
            return [(h["rule"], h["state"]) for h in
                    s.get(cu.url(con, "/api/alerts"), timeout=5).json()["history"]]

        # Records/s: bursts fire the rule (a burst can fire and resolve between two looks, so
        # the history is what counts), quiet resolves it.
        stop = time.monotonic() + sh.scaled(10)
        while ("records in", "firing") not in history() and time.monotonic() < stop:
            produce(broker.addr, "users_created", 200)
        sh.wait_until(lambda: state("records in") == "ok", sh.scaled(10),
                      what="records in to resolve")
        rec = history()
        assert rec and rec[0] == ("records in", "firing") and rec[-1][1] == "resolved"
        assert all(st == ("firing" if i % 2 == 0 else "resolved")
                   for i, (_, st) in enumerate(rec))
        # Lag: a group that committed nothing past 0 of 40+ records.
        c = Consumer({"bootstrap.servers": broker.addr, "group.id": "g1",
                      "enable.auto.commit": False})
        c.commit(offsets=[TopicPartition("users_created", 0, 0)], asynchronous=False)
        sh.wait_until(lambda: state("g1 lag") == "firing", sh.scaled(10), what="g1 lag to fire")
        end = Consumer({"bootstrap.servers": broker.addr, "group.id": "probe"}) \
            .get_watermark_offsets(TopicPartition("users_created", 0), timeout=5)[1]
        c.commit(offsets=[TopicPartition("users_created", 0, end)], asynchronous=False)
        c.close()
        sh.wait_until(lambda: state("g1 lag") == "ok", sh.scaled(10), what="g1 lag to resolve")

        hist = history()
        assert [h for h in hist if h[0] == "g1 lag"] == [("g1 lag", "firing"),
                                                         ("g1 lag", "resolved")]
        sh.wait_until(lambda: len(hook.events) == len(hist), sh.scaled(10),
                      what="a webhook call for each transition")
        assert all(ct == "application/json" for ct, _ in hook.events)
        assert [(e["rule"], e["state"]) for _, e in hook.events] == hist
        assert hook.events[-2][1]["value"] > 10
        assert hook.events[-2][1]["metric"] == "consumer_lag"
        log = con.log_text()
        assert 'alert "records in" firing' in log and 'alert "g1 lag" resolved' in log
        # The history and the rules survive a restart.
        con.restart()
        s = cu.login(con)
        a = s.get(cu.url(con, "/api/alerts"), timeout=5).json()
        assert [(h["rule"], h["state"]) for h in a["history"]] == hist
        assert [r["name"] for r in a["rules"]] == ["records in", "g1 lag"]
        ov = s.get(cu.url(con, "/api/overview"), timeout=5).json()
        assert "alerts_firing" in ov
    finally:
        hook.close()


def test_bad_rules_refused(sluice_proc):
    con = cu.start(sluice_proc)
    s = cu.login(con)
    bad = [({"rules": "no"}, "rules must be an array"),
           ([{"metric": "consumer_lag", "threshold": 1}], "rule 0: want an object with a name"),
           ([{"name": "a", "metric": "cpu", "threshold": 1}], "metric must be"),
           ([{"name": "a", "metric": "dlq_per_s", "threshold": "x"}], "threshold must be"),
           ([{"name": "a", "metric": "dlq_per_s", "threshold": 1, "op": ">="}], "op must be"),
           ([{"name": "a", "metric": "dlq_per_s", "threshold": 1, "for": "soon"}],
            "for must be a duration"),
           ([{"name": "a", "metric": "dlq_per_s", "threshold": 1}] * 65, "at most 64")]
    for body, reason in bad:
        r = s.put(cu.url(con, "/api/alerts/rules"), json=body, timeout=5)
        assert r.status_code == 400 and reason in r.json()["error"], (body, r.text)
    r = s.put(cu.url(con, "/api/alerts/rules"), data="[", timeout=5,
              headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"].startswith("bad JSON")
    assert len(s.get(cu.url(con, "/api/alerts"), timeout=5).json()["rules"]) == 3
