"""sluice process keeps consuming after the broker is SIGKILLed and restarted while it is a group
member (issue 11, "Chaos"; docs/reliability.md): its session expires while the broker is down,
it rejoins the restarted broker's group, and it must fetch again from the committed offsets.

Records are produced throughout; the broker is killed at random moments within the batches
(so commits are in flight), held down longer than the session timeout, and restarted. After
every restart the group's committed offsets must reach the end of what was produced.

The second test puts a TCP proxy between every client and the broker (which advertises the
proxy) that cuts the connection whenever an OffsetFetch passes while it is told to: the
processor's start offsets cannot be read for a while after its assignment, and it must keep
asking, then start from the committed offsets, not stay assigned and idle."""

import random
import socket
import struct
import threading
import time

import pipeline_util as pu
import process_util as xu
import sluice_harness as sh

SESSION = "2s"
CYCLES = 5
OFFSET_FETCH = 9  # Kafka api key


def _shut(*socks):
    """Closes both directions of each socket (the other thread's recv returns)."""
    for s in socks:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()


class FetchCutter:
    """A TCP proxy to the broker that, while `cut` is set, closes both sides of a connection
    on which a client sends an OffsetFetch request."""

    def __init__(self, port):
        self.port = port
        self.target = None
        self.cut = threading.Event()
        self.cuts = 0
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind((sh.HOST, port))
        self.ls.listen(64)
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.closed = True
        self.ls.close()

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            try:
                b = socket.create_connection(self.target, timeout=5)
                b.settimeout(None)
            except OSError:
                c.close()
                continue
            threading.Thread(target=self._requests, args=(c, b), daemon=True).start()
            threading.Thread(target=self._pipe, args=(b, c), daemon=True).start()

    @staticmethod
    def _read(s, n):
        out = b""
        while len(out) < n:
            d = s.recv(n - len(out))
            if not d:
                raise OSError("closed")
            out += d
        return out

    def _requests(self, c, b):
        try:
            while True:
                head = self._read(c, 4)
                frame = self._read(c, struct.unpack(">i", head)[0])
                if self.cut.is_set() and struct.unpack(">h", frame[:2])[0] == OFFSET_FETCH:
                    self.cuts += 1
                    break
                b.sendall(head + frame)
        except OSError:
            pass
        _shut(c, b)

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                d = src.recv(65536)
                if not d:
                    break
                dst.sendall(d)
        except OSError:
            pass
        _shut(src, dst)


class Feeder(threading.Thread):
    """Produces good records with an idempotent producer until stopped, riding out the broker's
    restarts (the producer retries); records every acknowledged id."""

    def __init__(self, broker):
        super().__init__(daemon=True)
        self.broker = broker
        self.stop_ev = threading.Event()
        self.acked = {}
        self.errors = []

    def run(self):
        from confluent_kafka import Producer

        p = Producer({"bootstrap.servers": self.broker.addr, "enable.idempotence": True,
                      "linger.ms": 5, "message.timeout.ms": 120000})

        def dr(err, msg):
            if err is None:
                self.acked[msg.key().decode()] = True
            else:
                self.errors.append(str(err))

        i = 0
        while not self.stop_ev.is_set():
            items, _ = xu.good_items(50, start=i)
            i += 50
            for k, v in items:
                try:
                    p.produce(pu.TOPIC, key=k, value=v, on_delivery=dr)
                except BufferError:
                    p.poll(0.05)
            p.poll(0.05)
        p.flush(sh.scaled(120))


def test_process_resumes_after_broker_kill_and_restart(sluice_proc):
    _, broker, store = pu.start_stack(sluice_proc, api=False, partitions=2,
                                      broker_args=["--group-min-session-timeout", "1s"])
    proc = pu.start_process(sluice_proc, broker, pu.cql_sink(store),
                            args=["--batch-size", "200", "--linger", "20ms",
                                  "--session-timeout", SESSION, "--metrics-interval", "500ms"])
    feeder = Feeder(broker)
    feeder.start()
    rng = random.Random(11)
    try:
        for cycle in range(CYCLES):
            # The processor is a member with commits going on: kill the broker mid-batch.
            target = len(feeder.acked) + 300
            pu.wait_committed(broker, target, 60, procs=[proc], interval=0.05)
            time.sleep(rng.uniform(0, 0.1))
            broker.kill9()
            # Longer than the session: the member is gone when the broker comes back.
            time.sleep(rng.uniform(2.5, 4))
            broker.start()
            total = len(feeder.acked)
            pu.wait_committed(broker, total, 40, procs=[proc])
    finally:
        feeder.stop_ev.set()
        feeder.join(sh.scaled(150))
    assert not feeder.errors, feeder.errors[:5]
    msgs = pu.consume_all(broker, pu.TOPIC)
    pu.wait_committed(broker, len(msgs), 40, procs=[proc])
    assert proc.stop() == 0
    cluster = pu.cql_cluster(store)
    try:
        rows = xu.read_rows(cluster.connect())
    finally:
        cluster.shutdown()
    assert set(feeder.acked) <= set(rows), \
        f"{len(set(feeder.acked) - set(rows))} acknowledged ids are not rows"
    pu.check_committed_at_end(broker, msgs)


def test_process_retries_unreadable_start_offsets(sluice_proc, free_port):
    cutter = FetchCutter(free_port())
    try:
        broker = sluice_proc("broker", args=["--advertised", f"{sh.HOST}:{cutter.port}",
                                             "--group-min-session-timeout", "1s"], wait=False)
        cutter.target = (sh.HOST, broker.port)
        broker.wait_ready()
        pu.create_topic(broker, pu.TOPIC, 1)
        store = sluice_proc("store")
        items, recs = xu.good_items(1000)
        xu.produce(broker, items[:500])
        proc = pu.start_process(sluice_proc, broker, pu.cql_sink(store),
                                args=["--kafka", f"{sh.HOST}:{cutter.port}",
                                      "--batch-size", "100", "--linger", "20ms",
                                      "--session-timeout", SESSION])
        pu.wait_committed(broker, 500, 60, procs=[proc])

        # The broker restarts; every OffsetFetch is cut until the processor has retried twice.
        cutter.cut.set()
        broker.kill9()
        time.sleep(3)
        broker.start()
        xu.wait_log_count(proc, "fetching the committed offsets of 1 partition(s)", 2, 60)
        assert cutter.cuts >= 2
        cutter.cut.clear()
        xu.produce(broker, items[500:])
        pu.wait_committed(broker, 1000, 60, procs=[proc])
        assert proc.stop() == 0
        xu.check_table(store, recs)
    finally:
        cutter.close()
