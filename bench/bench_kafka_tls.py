"""bench_kafka_tls: the broker's throughput over TLS against the same broker in plaintext, in the
same run, and (optionally) the plaintext path against another build, to show that TLS costs a
plaintext connection nothing.

Each measurement starts a fresh `sluice broker --flush os` (so the disk is not what is measured)
on a temp data dir: plaintext, or with --tls-cert/--tls-key (a certificate made with the openssl
CLI, verified by the client). A python3-confluent-kafka producer (acks=1, no compression,
linger 5 ms) sends N records of one size to a 1-partition topic and waits for every delivery
report; a consumer then reads all N from the start (Fetch: sendfile in plaintext, read +
SSL_write over TLS). MB/s of record values, each phase timed from its first call to its last
record. Then the memory of idle connections: C connections (default 1000), each after one
ApiVersions exchange, and the broker's VmRSS growth per connection, plaintext and TLS. With
$SLUICE_BIN_BASE (a build without this change, e.g. the commit before it), a third
target runs that binary in plaintext. Runs alternate the targets; the table shows medians with
min-max and each figure's ratio to plaintext.

  bench/bench_kafka_tls.py [--runs 5] [--records 200000] [--size 1000] [--conns 1000]
"""

import argparse
import os
import socket
import ssl
import statistics
import sys
import tempfile
import time
from pathlib import Path

from confluent_kafka import Consumer, Producer

import sluice_harness as sh
import tls_util as tu


def start_broker(binary, tls, certs, work):
    """A started sluice broker (flush os), with TLS from the test CA's server cert if tls."""
    args = ["--flush", "os"]
    if tls:
        args += ["--tls-cert", certs / "server.pem", "--tls-key", certs / "server.key"]
    broker = sh.SluiceProcess("broker", work, argv=[binary, "broker", "--listen",
                                                     "127.0.0.1:{port}", "--data-dir",
                                                     "{data_dir}", *args])
    broker.start()
    return broker


def measure(binary, tls, certs, work, n, size):
    broker = start_broker(binary, tls, certs, work)
    conf = {"bootstrap.servers": broker.addr}
    if tls:
        conf.update({"security.protocol": "SSL", "ssl.ca.location": str(certs / "ca.pem"),
                     "ssl.endpoint.identification.algorithm": "https"})
    try:
        p = Producer({**conf, "acks": 1, "linger.ms": 5, "batch.size": 1 << 20,
                      "queue.buffering.max.messages": 1000000,
                      "queue.buffering.max.kbytes": 2 << 20})
        value = b"x" * size
        p.produce("warm", b"w")
        p.flush(30)
        t0 = time.monotonic()
        for _ in range(n):
            while True:
                try:
                    p.produce("bench", value)
                    break
                except BufferError:
                    p.poll(0.01)
        if p.flush(120) != 0:
            raise RuntimeError("produce did not finish")
        produce_s = time.monotonic() - t0
        del p  # closed now, not when the broker is already gone
        c = Consumer({**conf, "group.id": "bench", "auto.offset.reset": "earliest",
                      "enable.auto.commit": False, "fetch.max.bytes": 50 << 20})
        c.subscribe(["bench"])
        got, t0 = 0, None
        end = time.monotonic() + 120
        while got < n and time.monotonic() < end:
            for m in c.consume(10000, 0.5):
                if m.error():
                    continue
                if t0 is None:
                    t0 = time.monotonic()
                got += 1
        consume_s = time.monotonic() - t0
        c.close()
        if got != n:
            raise RuntimeError(f"consumed {got} of {n}")
        mb = n * size / 1e6
        return mb / produce_s, mb / consume_s
    finally:
        broker.stop()


def conn_memory(binary, tls, certs, work, n):
    """The broker's VmRSS growth, in bytes, per idle connection after one ApiVersions each."""
    broker = start_broker(binary, tls, certs, work)

    def rss():
        with open(f"/proc/{broker.pid}/status") as f:
            return next(int(x.split()[1]) * 1024 for x in f if x.startswith("VmRSS"))
    ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    client_id = b"bench"
    req = ((8 + 2 + len(client_id)).to_bytes(4, "big") + (18).to_bytes(2, "big") +
           (0).to_bytes(2, "big") + (1).to_bytes(4, "big") +
           len(client_id).to_bytes(2, "big") + client_id)
    socks = []
    try:
        before = rss()
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", broker.port))
            if tls:
                s = ctx.wrap_socket(s, server_hostname="127.0.0.1")
            s.sendall(req)
            s.recv(65536)
            socks.append(s)
        time.sleep(0.5)
        return (rss() - before) / n
    finally:
        for s in socks:
            s.close()
        broker.stop()


def fmt(xs):
    return f"{statistics.median(xs):7.1f} ({min(xs):.1f}-{max(xs):.1f})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--records", type=int, default=200000)
    ap.add_argument("--size", type=int, default=1000)
    ap.add_argument("--conns", type=int, default=1000)
    a = ap.parse_args()
    binary = str(sh.sluice_bin())
    targets = [("plaintext", binary, False), ("TLS", binary, True)]
    base = os.environ.get("SLUICE_BIN_BASE")
    if base:
        targets.append(("plaintext, base build", base, False))
    res = {name: ([], []) for name, _, _ in targets}
    with tempfile.TemporaryDirectory(prefix="bench-kafka-tls-", dir="/var/tmp") as d:
        d = Path(d)
        certs = tu.make_certs(d)
        for r in range(a.runs):
            order = targets if r % 2 == 0 else list(reversed(targets))
            for name, b, tls in order:
                work = d / f"{name.replace(' ', '_').replace(',', '')}-{r}"
                prod, cons = measure(b, tls, certs, work, a.records, a.size)
                res[name][0].append(prod)
                res[name][1].append(cons)
                print(f"run {r + 1} {name}: produce {prod:.1f} MB/s, consume {cons:.1f} MB/s",
                      file=sys.stderr)
        mem = {tls: conn_memory(binary, tls, certs, d / f"conns-{tls}", a.conns)
               for tls in (False, True)}
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    print(f"broker throughput, {a.records} records of {a.size} B, {a.runs} runs, "
          f"load {' '.join(load)}; MB/s median (min-max), ratio to plaintext")
    print(f"{'target':24} {'produce':>22} {'ratio':>6} {'consume':>22} {'ratio':>6}")
    pp, pc = (statistics.median(x) for x in res["plaintext"])
    for name, _, _ in targets:
        p, c = res[name]
        print(f"{name:24} {fmt(p):>22} {statistics.median(p) / pp:6.2f} {fmt(c):>22} "
              f"{statistics.median(c) / pc:6.2f}")
    print(f"idle connections ({a.conns}): plaintext {mem[False]:.0f} B each, "
          f"TLS {mem[True]:.0f} B each")


if __name__ == "__main__":
    main()
