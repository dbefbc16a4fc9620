"""`sluice topic` (librdkafka inside) against `sluice broker`: create with partitions and configs,
list, describe, produce from stdin and generated, consume from the beginning, in a group that
resumes from its commits, and the failures that exit 1 (broker refuses, unreachable)."""

import pytest


@pytest.fixture
def topic_cmd(sluice_proc, run_sluice):
    broker = sluice_proc("broker")

    def run(*args, input=None, timeout=30):
        return run_sluice("topic", "--kafka", broker.addr, *args, input=input, timeout=timeout)
    run.broker = broker
    return run


def ok(r):
    assert r.returncode == 0, f"exit {r.returncode}: {r.stderr}"
    return r


def test_create_list_describe(topic_cmd):
    r = ok(topic_cmd("create", "orders", "--partitions", "3", "--config", "retention.ms=60000",
                     "--config=segment.bytes=1048576"))
    assert r.stdout == "created orders with 3 partitions\n"
    ok(topic_cmd("create", "audit"))

    r = topic_cmd("create", "orders")
    assert r.returncode == 1
    assert "orders" in r.stderr and "exists" in r.stderr.lower()
    # --if-not-exists (as kafka-topics.sh has it): success, and the topic is left as it was.
    r = ok(topic_cmd("create", "orders", "--partitions", "1", "--if-not-exists"))
    assert r.stdout == "orders exists\n"
    r = topic_cmd("create", "no/slashes")
    assert r.returncode == 1 and "no/slashes" in r.stderr

    names = ok(topic_cmd("list")).stdout.splitlines()
    assert names == sorted(names) and {"orders", "audit"} <= set(names)

    out = ok(topic_cmd("describe", "orders")).stdout.splitlines()
    assert out[0] == "topic orders partitions 3"
    assert out[1:4] == [f"partition {p} leader 1 start 0 end 0" for p in range(3)]
    assert "config retention.ms=60000" in out
    assert "config segment.bytes=1048576" in out

    r = topic_cmd("describe", "missing")
    assert r.returncode == 1 and "missing" in r.stderr
    assert "missing" not in ok(topic_cmd("list")).stdout.split(), "describe created the topic"


def test_produce_consume(topic_cmd):
    ok(topic_cmd("create", "lines", "--partitions", "2"))
    lines = [f"line {i} \u00e9\t end" for i in range(300)] + ["", "last"]
    r = ok(topic_cmd("produce", "lines", input="\n".join(lines) + "\n"))
    assert "produced 302 messages" in r.stderr
    ok(topic_cmd("produce", "lines", "--count", "1000", "--key", "same"))

    r = ok(topic_cmd("consume", "lines", "--from-beginning", "--count", "1302"))
    got = r.stdout.split("\n")
    assert got[-1] == ""
    assert sorted(got[:-1]) == sorted(lines + [f"message-{i}" for i in range(1000)])
    # One key means one partition, read in order.
    gen = [v for v in got if v.startswith("message-")]
    assert gen == [f"message-{i}" for i in range(1000)]

    out = ok(topic_cmd("describe", "lines")).stdout.splitlines()
    ends = [int(line.rsplit(" ", 1)[1]) for line in out if line.startswith("partition ")]
    assert sum(ends) == 1302

    # Without --from-beginning only new messages count; none arrive, so the timeout ends it.
    r = ok(topic_cmd("consume", "lines", "--timeout", "1s"))
    assert r.stdout == ""
    r = topic_cmd("consume", "lines", "--count", "1", "--timeout", "1s")
    assert r.returncode == 1 and "0 of 1" in r.stderr


def test_group_resumes(topic_cmd):
    ok(topic_cmd("produce", "grp", "--count", "50"))
    r = ok(topic_cmd("consume", "grp", "--group", "cli", "--from-beginning", "--count", "50"))
    assert sorted(r.stdout.split()) == sorted(f"message-{i}" for i in range(50))
    ok(topic_cmd("produce", "grp", input="after-1\nafter-2\n"))
    r = ok(topic_cmd("consume", "grp", "--group", "cli", "--from-beginning", "--timeout", "3s"))
    assert r.stdout.split() == ["after-1", "after-2"]


def test_refused_and_unreachable(topic_cmd, run_sluice, free_port):
    r = topic_cmd("consume", "nope", "--from-beginning", "--count", "1")
    assert r.returncode == 1 and "nope" in r.stderr

    dead = f"127.0.0.1:{free_port()}"
    r = run_sluice("topic", "--kafka", dead, "list", "--timeout", "2s", timeout=30)
    assert r.returncode == 1
    assert dead in r.stderr
