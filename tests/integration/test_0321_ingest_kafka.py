"""`sluice ingest` and the broker (issue 5, the ingest section): what goes over the wire is an
idempotent producer's (InitProducerId, then Produce with acks=-1 and batches carrying a producer
id and consecutive sequences), seen by a TCP tap between ingest and `sluice broker`; exit codes:
non-zero with the reason when the broker is unreachable, the topic does not exist, or the broker
dies mid-run; 0 when the broker is SIGKILLed and comes back within the delivery timeout, with
every record there exactly once; and the usage errors (exit 2)."""

import re
import socket
import struct
import threading
import time

import pytest

import ingest_util as iu
import pipeline_util as pu
import sluice_harness as sh

PRODUCE, INIT_PRODUCER_ID = 0, 22


class KafkaTap:
    """A TCP proxy on a loopback port that forwards bytes both ways unchanged and decodes the
    request frames going to the broker: [(api key, version, acks or None, [(producer id, epoch,
    base sequence, record count)])]."""

    def __init__(self, port, upstream_port):
        self.upstream = ("127.0.0.1", upstream_port)
        self.port = port
        self.addr = f"127.0.0.1:{port}"
        self.requests = []
        self.lock = threading.Lock()
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", self.port))
        self.lsock.listen(16)
        self.closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.closing = True
        self.lsock.close()

    def _accept(self):
        while not self.closing:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            u = socket.create_connection(self.upstream)
            threading.Thread(target=self._pump, args=(c, u, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(u, c, False), daemon=True).start()

    def _pump(self, src, dst, decode):
        buf = b""
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
                if decode:
                    buf += data
                    while len(buf) >= 4:
                        n = struct.unpack_from(">i", buf)[0]
                        if len(buf) < 4 + n:
                            break
                        self._decode(buf[4:4 + n])
                        buf = buf[4 + n:]
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _decode(self, frame):
        key, ver = struct.unpack_from(">hh", frame)
        pos = 8
        (clen,) = struct.unpack_from(">h", frame, pos)
        pos += 2 + max(clen, 0)
        acks, batches = None, []
        if key == PRODUCE and 3 <= ver <= 8:
            (tlen,) = struct.unpack_from(">h", frame, pos)
            pos += 2 + max(tlen, 0)
            acks, _timeout, ntopics = struct.unpack_from(">hii", frame, pos)
            pos += 10
            for _ in range(ntopics):
                (nlen,) = struct.unpack_from(">h", frame, pos)
                pos += 2 + nlen
                (nparts,) = struct.unpack_from(">i", frame, pos)
                pos += 4
                for _ in range(nparts):
                    _part, size = struct.unpack_from(">ii", frame, pos)
                    pos += 8
                    rec = frame[pos:pos + size]
                    pos += size
                    off = 0
                    while off + 61 <= len(rec):
                        (blen,) = struct.unpack_from(">i", rec, off + 8)
                        pid, epoch, seq, count = struct.unpack_from(">qhii", rec, off + 43)
                        batches.append((pid, epoch, seq, count))
                        off += 12 + blen
        with self.lock:
            self.requests.append((key, ver, acks, batches))


def test_idempotent_acks_all_on_the_wire(sluice_proc):
    api = sluice_proc("fake-api")
    # The broker advertises the tap, so every connection ingest makes goes through it.
    tap_port = sh.free_port()
    broker = sluice_proc("broker", args=["--advertised", f"127.0.0.1:{tap_port}"])
    tap = KafkaTap(tap_port, broker.port)
    try:
        iu.ok(iu.ingest(tap, pu.source_url(api, "wire"), "--count", 5000, "--batch", 1000))
        reqs = list(tap.requests)
        assert len(iu.consume_all(broker)) == 5000
    finally:
        tap.close()
    keys = [k for k, *_ in reqs]
    assert INIT_PRODUCER_ID in keys, keys
    assert keys.index(INIT_PRODUCER_ID) < keys.index(PRODUCE)
    produces = [r for r in reqs if r[0] == PRODUCE]
    assert produces and all(acks == -1 for _, _, acks, _ in produces), \
        {acks for _, _, acks, _ in produces}
    batches = [b for *_, bs in produces for b in bs]
    pids = {(pid, epoch) for pid, epoch, _, _ in batches}
    assert len(pids) == 1 and next(iter(pids))[0] >= 0, pids
    # Sequences count every record once, from 0, batch after batch (one partition).
    seq = 0
    for _, _, base, count in sorted(batches, key=lambda b: b[2]):
        assert base == seq, batches
        seq += count
    assert seq == 5000


def test_broker_unreachable(free_port):
    dead = type("B", (), {"addr": f"127.0.0.1:{free_port()}"})()
    t0 = time.monotonic()
    r = iu.ingest(dead, "http://127.0.0.1:9/api/", "--count", 10, "--delivery-timeout", "2s")
    took = time.monotonic() - t0
    assert r.returncode == 1, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last == f"sluice ingest: kafka: no answer from {dead.addr} within 2.0 s " \
                   "(Local: Broker transport failure)", last
    assert took < 2 + sh.scaled(3), took


def test_topic_missing_and_not_created(sluice_proc):
    broker = sluice_proc("broker", args=["--auto-create-topics=false"])
    r = iu.ingest(broker, "http://127.0.0.1:9/api/", "--count", 10, "--delivery-timeout", "2s",
                  topic="absent")
    assert r.returncode == 1, r.stderr
    assert r.stderr.strip().splitlines()[-1] == (
        f"sluice ingest: kafka: topic absent does not exist on {broker.addr} and was not created "
        "(create it with sluice topic create absent)")


def test_broker_dies_mid_run(sluice_proc):
    api, broker = sluice_proc("fake-api"), sluice_proc("broker")
    ing = sluice_proc("ingest", listen=False, check_exit=False, args=[
        "--source", pu.source_url(api, "dies"), "--kafka", broker.addr, "--count", 1000000,
        "--batch", 500, "--rate", 5000, "--delivery-timeout", "2s"])
    sh.wait_until(lambda: len(iu.consume_all(broker)) >= 1000, sh.scaled(20), what="1000 records")
    broker.kill9()
    t0 = time.monotonic()
    assert ing.wait(timeout=40) == 1
    took = time.monotonic() - t0
    # librdkafka 2.0.2 times the first records out several seconds after message.timeout.ms;
    # ingest stops fetching at the first failure and fails the rest of its queue at once.
    assert took < sh.scaled(25), took
    reason = [ln for ln in ing.log_text().splitlines() if ln.startswith("sluice ingest: ")]
    assert len(reason) == 1, ing.log_text()
    assert re.search(r"^sluice ingest: \d+ of \d+ records not delivered.*; first failure: "
                     r"users_created \[0\]: Local: Message timed out$|no delivery report",
                     reason[0]), reason[0]
    s = iu.summary(ing.log_text())
    assert s["status"] == "failed" and s["fetched"] < 60000, s  # stopped fetching


def test_broker_sigkilled_and_back_nothing_lost(sluice_proc):
    """acks=all is answered after fsync, and the broker keeps idempotent producer state across
    kill -9: a broker that crashes and comes back within the delivery timeout costs nothing,
    and adds no duplicate."""
    api, broker = sluice_proc("fake-api"), sluice_proc("broker")
    ing = sluice_proc("ingest", listen=False, args=[
        "--source", pu.source_url(api, "back"), "--kafka", broker.addr, "--count", 20000,
        "--batch", 500, "--rate", 5000, "--delivery-timeout", "60s"])
    sh.wait_until(lambda: len(iu.consume_all(broker)) >= 2000, sh.scaled(20), what="2000 records")
    broker.crash_restart()
    assert ing.wait(timeout=90) == 0, ing.log_text()[-3000:]
    records = [iu.check_record(k, v) for _, _, k, v in iu.consume_all(broker)]
    iu.check_against_users(records, pu.fetch_users(api, "back", 20000, 500))


@pytest.mark.parametrize("args,reason", [
    (["--count", "5", "--duration", "5s"], "give --count or --duration, not both"),
    (["--batch", "0"], "batch"),
    (["--batch", "5001"], "batch"),
    (["--count", "-1"], "count"),
    (["--rate", "-5"], "rate"),
    (["--timeout", "soon"], "timeout"),
    (["--stage", "mysql://x/y"], "--stage must be a postgresql:// URL"),
    (["--frobnicate"], "frobnicate"),
    (["extra"], "unexpected argument 'extra'"),
    (["--topic", ""], "must not be empty"),
])
def test_usage_errors(run_sluice, args, reason):
    r = run_sluice("ingest", *args, timeout=10)
    assert r.returncode == 2, (args, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sluice ingest") and reason in lines[0], \
        r.stderr


def test_help(run_sluice):
    r = run_sluice("ingest", "--help")
    assert r.returncode == 0
    for flag in ("--source", "--topic", "--kafka", "--count", "--duration", "--batch", "--rate",
                 "--retries", "--timeout", "--stage", "--delivery-timeout"):
        assert flag in r.stdout, flag


def test_config_file_section(sluice_proc, tmp_path):
    """The ingest: section of sluice.yaml sets every flag; a flag given as well wins; a bad key is
    reported with file:line and exits 2."""
    api, broker = sluice_proc("fake-api"), sluice_proc("broker")
    cfg = tmp_path / "sluice.yaml"
    cfg.write_text("ingest:\n"
                   f"  source: {pu.source_url(api, 'yaml')}\n"
                   "  topic: from_yaml\n"
                   f"  kafka: {broker.addr}\n"
                   "  count: 120\n"
                   "  batch: 50\n")
    iu.ok(sh.run_sluice("ingest", "--config", cfg))
    assert len(iu.consume_all(broker, "from_yaml")) == 120
    iu.ok(sh.run_sluice("ingest", "--config", cfg, "--count", 30))
    assert len(iu.consume_all(broker, "from_yaml")) == 150
    cfg.write_text("ingest:\n  batchsize: 50\n")
    r = sh.run_sluice("ingest", "--config", cfg)
    assert r.returncode == 2 and f"{cfg}:2:" in r.stderr and "batchsize" in r.stderr, r.stderr
