"""bench_http_tls: HTTPS GET /subjects on the registry of this build ($SLUICE_BIN) against the
same registry over plain HTTP (the peer: what TLS costs), and, if given, another build
($SLUICE_BIN_BASE, e.g. the build before the HTTP listener moved from libmicrohttpd's GnuTLS to
OpenSSL). One broker (this build) holds the schemas topic; each target is a registry with the
same certificate (made with the openssl CLI, verified by the client with check_hostname).
Two loops in Python's http.client: --reqs GETs over one keep-alive connection, and --conns GETs
each on a new connection (a full TLS 1.3 handshake each). Runs alternate the targets; medians of
req/s and of the registry's CPU time (user + system, /proc/PID/stat) per request, with min-max.
On a shared machine the CPU time is the steadier figure: req/s also measures the Python client
and whoever else runs.

  SLUICE_BIN=build/sluice SLUICE_BIN_BASE=OTHER/sluice bench/bench_http_tls.py [--runs 5]
"""

import argparse
import http.client
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "integration"))
import tls_util  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc):
    for _ in range(600):
        if proc.poll() is not None:
            raise SystemExit(f"{proc.args[:2]} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"port {port} never opened")


def start(args):
    port = free_port()
    p = subprocess.Popen([*args[:2], "--listen", f"127.0.0.1:{port}", *args[2:]],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, p)
    return port, p


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(fn, port, pid, ctx, n):
    """(req/s, server CPU microseconds per request)."""
    c0 = cpu_s(pid)
    rate = fn(port, ctx, n)
    return rate, (cpu_s(pid) - c0) * 1e6 / n


def connect(port, ctx):
    if ctx is None:
        return http.client.HTTPConnection("127.0.0.1", port)
    return http.client.HTTPSConnection("127.0.0.1", port, context=ctx)


def keepalive(port, ctx, n):
    c = connect(port, ctx)
    c.request("GET", "/subjects")
    c.getresponse().read()
    t = time.perf_counter()
    for _ in range(n):
        c.request("GET", "/subjects")
        r = c.getresponse()
        r.read()
        assert r.status == 200
    dt = time.perf_counter() - t
    c.close()
    return n / dt


def fresh(port, ctx, n):
    t = time.perf_counter()
    for _ in range(n):
        c = connect(port, ctx)
        c.request("GET", "/subjects")
        r = c.getresponse()
        r.read()
        assert r.status == 200 and (ctx is None or c.sock.version() == "TLSv1.3")
        c.close()
    return n / (time.perf_counter() - t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--reqs", type=int, default=3000)
    ap.add_argument("--conns", type=int, default=300)
    a = ap.parse_args()
    bins = {"this build": os.environ.get("SLUICE_BIN", "build/sluice")}
    if os.environ.get("SLUICE_BIN_BASE"):
        bins["base"] = os.environ["SLUICE_BIN_BASE"]
    tmp = Path(tempfile.mkdtemp(prefix="bench-http-tls-"))
    certs = tls_util.make_certs(tmp)
    ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    procs = []
    try:
        bport, b = start([bins["this build"], "broker", "--data-dir", str(tmp / "broker")])
        procs.append(b)
        ports, pids, ctxs = {}, {}, {}
        bins["peer: plaintext"] = bins["this build"]
        for name, path in bins.items():
            tls = [] if name.startswith("peer") else [
                "--tls-cert", str(certs / "server.pem"), "--tls-key", str(certs / "server.key")]
            ports[name], p = start([path, "registry", "--kafka", f"127.0.0.1:{bport}", *tls])
            pids[name] = p.pid
            ctxs[name] = ctx if tls else None
            procs.append(p)
        loops = {"keep-alive": (keepalive, a.reqs), "new conn": (fresh, a.conns)}
        res = {n: {k: [] for k in loops} for n in ports}
        for _ in range(a.runs):
            for n, port in ports.items():
                for k, (fn, count) in loops.items():
                    res[n][k].append(measure(fn, port, pids[n], ctxs[n], count))
        print(f"bench_http_tls: registry GET /subjects, Python http.client, {a.reqs} requests on "
              f"one keep-alive connection and {a.conns} on a new connection each, {a.runs} runs "
              "alternating the targets, median (min-max); ratio = req/s against the same "
              "registry over plain HTTP")
        print("| target | loop | req/s | server CPU us/request | ratio req/s to plaintext |\n"
              "|---|---|---|---|---|")
        plain = {k: statistics.median(x[0] for x in v)
                 for k, v in res["peer: plaintext"].items()}
        for n in ports:
            for k, v in res[n].items():
                rate = [x[0] for x in v]
                cpu = [x[1] for x in v]
                print(f"| {n} ({bins[n]}) | {k} | {statistics.median(rate):.0f} "
                      f"({min(rate):.0f}-{max(rate):.0f}) | {statistics.median(cpu):.0f} "
                      f"({min(cpu):.0f}-{max(cpu):.0f}) | "
                      f"{statistics.median(rate) / plain[k]:.2f} |")
    finally:
        for p in procs:
            p.terminate()
            p.wait()


if __name__ == "__main__":
    main()
