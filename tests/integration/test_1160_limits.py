"""Issue 11, resources: the connection limit and running out of file descriptors, on the broker
(Kafka), the store (CQL) and an HTTP component (the Schema Registry, src/web/http.c). Each time a
client already connected keeps working, the refused connections are logged with a clear line,
and once the flood is gone new clients connect again. On Kafka and CQL the refusal is a closed
connection: before a connection has sent a request neither protocol has a way to carry an error
(a CQL ERROR frame needs the client's protocol version, which only its first frame gives). HTTP
can say it before the request: a 503 (test_1161 covers it in detail, over TLS too).

The broker and store log running out of descriptors: libuv's accept handles EMFILE itself (it
frees a reserved descriptor, accepts and closes the waiting connections) without telling the
server, so src/core/server.c checks once a second whether its listener could take one more
descriptor; the tests wait for its WARN line while the flood holds the descriptors, and for its
INFO line once they are free (docs/reliability.md)."""
import json
import os
import resource
import socket
import time
import types

import requests
from confluent_kafka import Producer

import cql_util
import registry_util
import sluice_harness as sh

def closed_count(socks):
    n = 0
    for s in socks:
        s.settimeout(0.2)
        try:
            if s.recv(1) == b"":
                n += 1
        except socket.timeout:
            pass
        except ConnectionResetError:
            n += 1
    return n


def release(socks):
    for s in socks:
        s.close()


def nofile_limit(proc, extra):
    """Lowers proc's RLIMIT_NOFILE to its open descriptors plus `extra`."""
    used = len(os.listdir(f"/proc/{proc.pid}/fd"))
    soft, hard = resource.prlimit(proc.pid, resource.RLIMIT_NOFILE)
    resource.prlimit(proc.pid, resource.RLIMIT_NOFILE, (used + extra, hard))
    return soft


def restore(proc, soft):
    resource.prlimit(proc.pid, resource.RLIMIT_NOFILE,
                     (soft, resource.prlimit(proc.pid, resource.RLIMIT_NOFILE)[1]))


def producer(broker):
    return Producer({"bootstrap.servers": broker.addr, "acks": "all", "log_level": 2,
                     "socket.keepalive.enable": True})


def produce_ok(p, value):
    p.produce("limits", value=value)
    assert p.flush(sh.scaled(15)) == 0


def test_broker_connection_limit(sluice_proc):
    broker = sluice_proc("broker", args=["--max-connections", "8"])
    p = producer(broker)
    produce_ok(p, b"before")
    socks = [socket.create_connection(("127.0.0.1", broker.port), timeout=5) for _ in range(20)]
    time.sleep(0.5)
    assert closed_count(socks) >= 10
    broker.wait_for_log(r"connection limit \(8\) reached, closing")
    produce_ok(p, b"during")  # the producer's connection was there first: still served
    release(socks)
    p2 = producer(broker)
    sh.wait_until(lambda: p2.list_topics(timeout=2) is not None, sh.scaled(10),
                  what="a new client after the flood")
    produce_ok(p2, b"after")


def test_broker_out_of_fds(sluice_proc):
    broker = sluice_proc("broker")
    p = producer(broker)
    produce_ok(p, b"before")
    soft = nofile_limit(broker, 8)
    socks = [socket.create_connection(("127.0.0.1", broker.port), timeout=5) for _ in range(40)]
    time.sleep(0.5)
    assert closed_count(socks) >= 20
    produce_ok(p, b"during")
    broker.wait_for_log(r"out of file descriptors \(EMFILE, RLIMIT_NOFILE \d+\): new "
                        r"connections are closed at once", 5)
    release(socks)
    restore(broker, soft)
    broker.wait_for_log(r"file descriptors free again", 5)
    p2 = producer(broker)
    produce_ok(p2, b"after")


def cql_session(store):
    c = cql_util.cluster(types.SimpleNamespace(host="127.0.0.1", port=store.port))
    return c, c.connect()


def test_store_connection_limit(sluice_proc):
    store = sluice_proc("store", args=["--max-connections", "8"])
    c, s = cql_session(store)
    try:
        s.execute("CREATE KEYSPACE k WITH replication = {'class': 'SimpleStrategy', "
                  "'replication_factor': 1}")
        s.execute("CREATE TABLE k.t (id int PRIMARY KEY, v text)")
        s.execute("INSERT INTO k.t (id, v) VALUES (1, 'before')")
        socks = [socket.create_connection(("127.0.0.1", store.port), timeout=5)
                 for _ in range(20)]
        time.sleep(0.5)
        assert closed_count(socks) >= 10
        store.wait_for_log(r"connection limit \(8\) reached, closing")
        s.execute("INSERT INTO k.t (id, v) VALUES (2, 'during')")
        release(socks)
    finally:
        c.shutdown()
    c, s = cql_session(store)
    try:
        assert sorted(r.v for r in s.execute("SELECT v FROM k.t")) == ["before", "during"]
    finally:
        c.shutdown()


def test_store_out_of_fds(sluice_proc):
    store = sluice_proc("store")
    c, s = cql_session(store)
    try:
        s.execute("CREATE KEYSPACE k WITH replication = {'class': 'SimpleStrategy', "
                  "'replication_factor': 1}")
        s.execute("CREATE TABLE k.t (id int PRIMARY KEY, v text)")
        s.execute("INSERT INTO k.t (id, v) VALUES (1, 'before')")
        soft = nofile_limit(store, 8)
        socks = [socket.create_connection(("127.0.0.1", store.port), timeout=5)
                 for _ in range(40)]
        time.sleep(0.5)
        assert closed_count(socks) >= 20
        s.execute("INSERT INTO k.t (id, v) VALUES (2, 'during')")
        store.wait_for_log(r"out of file descriptors \(EMFILE, RLIMIT_NOFILE \d+\): new "
                           r"connections are closed at once", 5)
        release(socks)
    finally:
        c.shutdown()
    restore(store, soft)
    store.wait_for_log(r"file descriptors free again", 5)
    c, s = cql_session(store)
    try:
        assert sorted(r.v for r in s.execute("SELECT v FROM k.t")) == ["before", "during"]
    finally:
        c.shutdown()


SCHEMA = json.dumps({"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]})
CT = registry_util.CT


def test_http_registry_out_of_fds(sluice_proc):
    """Out of descriptors, src/web/http.c says so once (a WARN), stops accepting for 100 ms at a
    time instead of spinning on the readable listening socket, keeps serving the keep-alive
    connection it has, and accepts again once descriptors are free (an INFO)."""
    _, reg = registry_util.start(sluice_proc)
    base = f"http://{reg.addr}"
    held = requests.Session()
    assert held.get(base + "/subjects", timeout=5).status_code == 200
    soft = nofile_limit(reg, 8)
    socks = []
    for _ in range(40):
        socks.append(socket.create_connection(("127.0.0.1", reg.port), timeout=5))
    reg.wait_for_log(r"WARN .*out of file descriptors \(EMFILE, RLIMIT_NOFILE \d+\): new "
                     r"connections wait until descriptors are free")
    r = held.post(base + "/subjects/s-value/versions", data=json.dumps({"schema": SCHEMA}),
                  headers={"Content-Type": CT}, timeout=10)
    assert r.status_code == 200, r.text
    # Paused, not spinning: the loop's thread is mostly idle while the flood waits.
    with open(f"/proc/{reg.pid}/stat") as f:
        before = sum(int(x) for x in f.read().rsplit(")", 1)[1].split()[11:13])
    time.sleep(1)
    with open(f"/proc/{reg.pid}/stat") as f:
        after = sum(int(x) for x in f.read().rsplit(")", 1)[1].split()[11:13])
    assert after - before < os.sysconf("SC_CLK_TCK") // 2, (before, after)
    assert reg.log_text().count("out of file descriptors") == 1
    restore(reg, soft)
    reg.wait_for_log(r"INFO .*file descriptors free again: accepting", 5)
    release(socks)
    held.close()

    def subjects():
        try:
            return requests.get(base + "/subjects", timeout=5).json() == ["s-value"]
        except requests.RequestException:
            return None
    sh.wait_until(subjects, sh.scaled(15), what="a new HTTP client after the flood")


def test_http_registry_connection_limit(sluice_proc):
    """The limit (sl_http_config.max_connections, 1024 by default; test_1161 sets a small one):
    past it a new connection is accepted, answered 503 and closed (src/web/http.c sends at most
    64 such answers at a time; beyond those it closes at once), which is logged once (a WARN)
    and once more when the server is under the limit again; the keep-alive client inside the
    limit is served throughout, and new clients once the flood has gone."""
    _, reg = registry_util.start(sluice_proc)
    base = f"http://{reg.addr}"
    held = requests.Session()
    assert held.get(base + "/subjects", timeout=5).status_code == 200
    socks = [socket.create_connection(("127.0.0.1", reg.port), timeout=5) for _ in range(1100)]
    reg.wait_for_log(r"WARN .*connection limit \(1024\) reached: new connections get a 503")
    r = held.post(base + "/subjects/s-value/versions", data=json.dumps({"schema": SCHEMA}),
                  headers={"Content-Type": CT}, timeout=10)
    assert r.status_code == 200, r.text
    # The last ones are past the limit: each gets the whole 503 or, past the 64 in flight, a
    # bare close; none is left waiting.
    answered = 0
    for s in socks[-60:]:
        s.settimeout(sh.scaled(10))
        answer = b""
        while chunk := s.recv(4096):
            answer += chunk
        assert answer == b"" or (answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
                                 and answer.endswith(b"connection limit (1024) reached\n")), answer
        answered += answer != b""
    assert answered > 0
    release(socks)
    reg.wait_for_log(r"under the connection limit \(1024\) again")

    def subjects():
        try:
            return requests.get(base + "/subjects", timeout=5).json() == ["s-value"]
        except requests.RequestException:
            return None
    sh.wait_until(subjects, sh.scaled(15), what="a new HTTP client after the flood")
