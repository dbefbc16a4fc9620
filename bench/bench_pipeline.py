"""bench_pipeline: the pipeline end to end, from a Kafka produce to the row being readable in the
store, for `sluice process` and for the seeds' own way of consuming, in the same run.

Each measurement starts a fresh `sluice broker` and `sluice store` (default durability: the broker
answers acks=all after fdatasync, the store acknowledges a write after its WAL is synced) and a
topic users_created, then one consumer:
  - sluice: `sluice process --kafka B --sink cql://.../spark_streams.created_users`;
  - peer: seed 000's consumer as the seeds write it: a python3-kafka KafkaConsumer whose every
    record is inserted with python3-cassandra's session.execute() of spark_stream.py's
    insert_data statement, one at a time (run as a child process: `bench_pipeline.py --peer`).
The driver (this process) produces with python3-confluent-kafka (librdkafka, acks=all,
idempotence on, key = id) records flattened by the tests' oracle (tests/integration/
pipeline_util.format_data) from synthetic randomuser-shaped users, and reads the store with
python3-cassandra. Phases, with the consumer already running and warmed up:
  1. saturation: N records produced as fast as the producer goes; records/s = N / (first produce
     -> every record readable);
  2. latency: records produced at a fixed rate for S seconds (sluice: half the throughput it
     just reached, unless --rate; the peer: --peer-rate; sluice also at the peer's rate, so both
     are compared at the same load); every k-th record's latency is
     (first time a SELECT by id finds it) - (the time of its produce call, its CreateTime); a
     poller thread asks every POLL_MS for the oldest pending samples;
  3. sluice only (not with --window), when the binary has them: users from `sluice fake-api` through `sluice ingest`
     (acks=all, idempotent), records/s from ingest's start until process has committed them all
     (it commits only what the sink acknowledged).
At the end every record is checked to be in the table exactly once. RSS is each process's peak
(VmHWM). Runs alternate sluice and the peer; the table shows medians with min-max.

With --window PRESET the two sides are `sluice process` plain and `sluice process
--window-preset PRESET` (what `sluice up` runs: created_users plus the windowed table), and the
figure is what the window costs the pipeline's end-to-end throughput: 1 - windowed / plain.

  bench/bench_pipeline.py [--runs 5] [--records 300000] [--peer-records 6000] [--partitions 4]
                          [--rate 0] [--peer-rate 100] [--seconds 10] [--ingest-records 100000]
                          [--process-args ARGS] [--sink-params batch_rows=N]
                          [--window users_per_nat_minute [--window-groups 1|10|each]
                          [--window-size 1m]]
                          [--json FILE]
"""

import argparse
import json
import os
import random
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "integration"))

import pipeline_util as pu  # noqa: E402
import sluice_harness as sh  # noqa: E402

POLL_MS = 2
# Few enough that the poller keeps up (it would otherwise add its own queueing to the figures).
SAMPLES_PER_S = 100

# spark_stream.py's create_keyspace(), create_table() (with the dob column sluice stores, as the
# seeds' own insert_data expects) and insert_data().
PEER_KEYSPACE = """
        CREATE KEYSPACE IF NOT EXISTS spark_streams
        WITH replication = {'class': 'SimpleStrategy', 'replication_factor': '1'};
    """
PEER_TABLE = """
    CREATE TABLE IF NOT EXISTS spark_streams.created_users (
        id UUID PRIMARY KEY,
        first_name TEXT,
        last_name TEXT,
        gender TEXT,
        address TEXT,
        post_code TEXT,
        email TEXT,
        username TEXT,
        dob TEXT,
        registered_date TEXT,
        phone TEXT,
        picture TEXT);
    """
PEER_INSERT = """
            INSERT INTO spark_streams.created_users(id, first_name, last_name, gender, address, 
                post_code, email, username, dob, registered_date, phone, picture)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        """


def peer_main(bootstrap, store_host, store_port):
    """The peer: seed 000's consumer. Runs until SIGTERM."""
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import Cluster
    from kafka import KafkaConsumer

    cluster = Cluster([store_host], port=int(store_port),
                      auth_provider=PlainTextAuthProvider(username=pu.CQL_USER,
                                                          password=pu.CQL_PASSWORD))
    session = cluster.connect()
    session.execute(PEER_KEYSPACE)
    session.execute(PEER_TABLE)
    consumer = KafkaConsumer(pu.TOPIC, bootstrap_servers=bootstrap, group_id="python-peer",
                             auto_offset_reset="earliest")
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    print("peer: consuming", flush=True)
    while not stop:
        for records in consumer.poll(timeout_ms=200).values():
            for msg in records:
                data = json.loads(msg.value)
                session.execute(PEER_INSERT, (
                    uuid.UUID(data["id"]), data["first_name"], data["last_name"],
                    data["gender"], data["address"], pu.as_text(data["post_code"]),
                    data["email"], data["username"], data["dob"], data["registered_date"],
                    data["phone"], data["picture"]))
    consumer.close()
    cluster.shutdown()


# ---------------------------------------------------------------------------------------------
# Synthetic users, randomuser 1.4 shaped, with realistic field lengths.

FIRST = ["Emma", "Noah", "Olivia", "Liam", "Ava", "Lucas", "Mia", "Mathis", "Zoë", "Jens",
         "Aino", "Mehmet", "Rafael", "Ingrid", "Kenji", "Aarav", "Camille", "Oğuz", "Sofía"]
LAST = ["Smith", "Jensen", "Müller", "García", "Martin", "Korhonen", "Yılmaz", "Silva",
        "O'Connor", "Nieminen", "Dubois", "Rossi", "Novak", "Sharma", "Tanaka", "Berg"]
STREETS = ["Main Street", "Rue de la Paix", "Hauptstraße", "Calle Mayor", "Kirkegade",
           "Mannerheimintie", "Atatürk Sk", "Rua Dois", "Church Road", "Station Road"]
CITIES = [("Aarhus", "Midtjylland", "Denmark"), ("Lyon", "Rhône", "France"),
          ("Espoo", "Uusimaa", "Finland"), ("Bremen", "Bremen", "Germany"),
          ("Adelaide", "South Australia", "Australia"), ("Cork", "Munster", "Ireland"),
          ("Sivas", "Muğla", "Turkey"), ("Denver", "Colorado", "United States")]
WORDS = ["purple", "tiger", "silver", "lazy", "happy", "bird", "orange", "wolf", "crazy", "frog"]


def synthetic_user(rng):
    g = rng.choice(["male", "female"])
    first, last = rng.choice(FIRST), rng.choice(LAST)
    city, state, country = rng.choice(CITIES)
    pc = rng.randrange(10000, 99999) if rng.random() < 0.7 else f"{rng.randrange(100, 999)} " \
        f"{rng.choice('ABCDEFGH')}{rng.randrange(10, 99)}"
    folder = "men" if g == "male" else "women"
    pic = rng.randrange(0, 99)
    r = rng.randrange
    return {
        "gender": g, "name": {"title": "Mr" if g == "male" else "Ms", "first": first,
                              "last": last},
        "location": {"street": {"number": rng.randrange(1, 9999), "name": rng.choice(STREETS)},
                     "city": city, "state": state, "country": country, "postcode": pc},
        "email": f"{first.lower()}.{last.lower()}@example.com",
        "login": {"username": rng.choice(WORDS) + rng.choice(WORDS) + str(r(100, 999))},
        "dob": {"date": f"19{r(50, 99)}-0{r(1, 9)}-1{r(0, 9)}T{r(10, 23)}:14:{r(10, 59)}."
                        f"{r(100, 999)}Z", "age": r(25, 75)},
        "registered": {"date": f"20{r(10, 21)}-0{r(1, 9)}-2{r(0, 9)}T0{r(0, 9)}:38:0{r(0, 9)}."
                               f"{r(100, 999)}Z", "age": r(2, 20)},
        "phone": f"({r(100, 999)})-{r(100, 999)}-{r(1000, 9999)}",
        "picture": {"medium": f"https://randomuser.me/api/portraits/med/{folder}/{pic}.jpg"},
    }


class Records:
    """N flattened records as (id, JSON bytes), made once and reused by every run (each run has a
    fresh broker and store)."""

    def __init__(self, n, seed=5):
        rng = random.Random(seed)
        self.items = []
        for _ in range(n):
            rec = pu.format_data(synthetic_user(rng), uuid.UUID(int=rng.getrandbits(128),
                                                                version=4))
            self.items.append((rec["id"].encode(), json.dumps(rec).encode()))
        self.mean_size = sum(len(v) for _, v in self.items) / max(1, n)

    def stream(self, seed=6):
        """The N records, then copies of them with fresh ids, without end."""
        yield from self.items
        rng = random.Random(seed)
        while True:
            for k, v in self.items:
                new = str(uuid.UUID(int=rng.getrandbits(128), version=4)).encode()
                yield new, v.replace(k, new)


# ---------------------------------------------------------------------------------------------
# Measurement


def cpu_seconds(pid):
    """utime + stime of pid in seconds, or 0."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def vm_hwm(pid):
    """Peak RSS of pid in MiB (VmHWM), or None."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class Poller:
    """Finds when rows become readable: SELECTs by id through python3-cassandra."""

    def __init__(self, store):
        from cassandra.auth import PlainTextAuthProvider
        from cassandra.cluster import Cluster

        self.cluster = Cluster([store.host], port=store.port, protocol_version=4,
                               auth_provider=PlainTextAuthProvider(username=pu.CQL_USER,
                                                                   password=pu.CQL_PASSWORD))
        self.session = self.cluster.connect()
        self.stmt = None

    def prepare(self):
        if self.stmt is None:
            self.stmt = self.session.prepare(
                f"SELECT id FROM {pu.KEYSPACE}.{pu.TABLE} WHERE id = ?")

    def present(self, ids):
        """The subset of ids (strings) readable now."""
        self.prepare()
        futs = [(i, self.session.execute_async(self.stmt, (uuid.UUID(i),))) for i in ids]
        return {i for i, f in futs if f.result().one() is not None}

    def wait(self, ids, timeout, alive=None):
        """Waits until every id is readable; returns {id: time first seen (time.time())}."""
        seen, pending = {}, set(ids)
        deadline = time.monotonic() + timeout
        while pending:
            for i in self.present(list(pending)[:64]):
                seen[i] = time.time()
                pending.discard(i)
            if not pending:
                break
            if alive is not None:
                alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(pending)} rows not readable after {timeout:.0f}s")
            time.sleep(POLL_MS / 1000)
        return seen

    def all_ids(self):
        from cassandra.query import SimpleStatement

        st = SimpleStatement(f"SELECT id FROM {pu.KEYSPACE}.{pu.TABLE}", fetch_size=10000)
        return [str(r[0]) for r in self.session.execute(st, timeout=300)]

    def close(self):
        self.cluster.shutdown()


class Producer:
    def __init__(self, broker):
        from confluent_kafka import Producer as P

        self.p = P({"bootstrap.servers": broker.addr, "acks": "all", "enable.idempotence": True,
                    "linger.ms": 5, "queue.buffering.max.messages": 500000,
                    "queue.buffering.max.kbytes": 1048576,
                    "log.connection.close": False})
        self.last = {}  # partition -> (offset, id) of the last record delivered
        self.errors = []

    def _dr(self, err, msg):
        if err is not None:
            self.errors.append(err)
            return
        if msg.offset() >= self.last.get(msg.partition(), (-1, None))[0]:
            self.last[msg.partition()] = (msg.offset(), msg.key().decode())

    def send(self, key, value):
        while True:
            try:
                self.p.produce(pu.TOPIC, value, key, on_delivery=self._dr)
                return
            except BufferError:
                self.p.poll(0.01)

    def flush(self):
        left = self.p.flush(120)
        assert left == 0 and not self.errors, f"produce: {left} left, errors {self.errors[:3]}"


def save_samples(name, samples_ms):
    """The samples (ms, one a line) for bench/report's latency CDF, when bench/run names a dir."""
    d = os.environ.get("SLUICE_BENCH_OUT")
    if d:
        with open(os.path.join(d, name + ".txt"), "a") as f:
            f.writelines(f"{x:.3f}\n" for x in samples_ms)


def measure_latency(prod, poller, recs, rate, alive, tag):
    """Produces recs at rate records/s and returns (p50, p99, samples) of the time from each
    sampled record's produce call (its CreateTime) to the first SELECT that finds it, in ms."""
    n = len(recs)
    step = max(1, rate // SAMPLES_PER_S)
    pending, found, sent_at = [], {}, {}
    stop = threading.Event()

    def poll_loop():
        while not stop.is_set() or pending:
            head = pending[:32]
            if head:
                for i in poller.present(head):
                    found[i] = time.time()
                    pending.remove(i)
            time.sleep(POLL_MS / 1000)

    th = threading.Thread(target=poll_loop, daemon=True)
    th.start()
    tick = 0.005
    start = time.monotonic()
    sent = 0
    try:
        while sent < n:
            due = min(n, int((time.monotonic() - start) * rate) + 1)
            while sent < due:
                k, v = recs[sent]
                if sent % step == 0:
                    sent_at[k.decode()] = time.time()
                    prod.send(k, v)
                    pending.append(k.decode())
                else:
                    prod.send(k, v)
                sent += 1
            prod.p.poll(0)
            time.sleep(tick)
        prod.flush()
        deadline = time.monotonic() + max(60, n / 200)
        while pending and time.monotonic() < deadline:
            alive()
            time.sleep(0.05)
    finally:
        stop.set()
        th.join(10)
    assert not pending, f"{len(pending)} sampled records not readable"
    lats = sorted((found[i] - sent_at[i]) * 1000 for i in found)
    save_samples(f"latency_pipeline_{tag}", lats)
    return lats[len(lats) // 2], lats[min(len(lats) - 1, int(len(lats) * 0.99))], len(lats)


# --window-groups: the group expression giving that many groups over Records' users. A phone is
# "(ddd)-ddd-dddd", its last digit uniform; every record's id is its own.
GROUP_BY = {"1": "'all'", "10": "substring(phone, 14, 1)", "each": "id"}


def window_config(groups, state, size="1m"):
    """A process config: the seeds' schema (the default) and a window like the preset's
    (tumbling, one minute unless size, on the Kafka timestamp), grouped into `groups` groups."""
    return ("pipeline:\n"
            f"  state_dir: {state}\n"
            "  window:\n"
            "    table: spark_streams.bench_groups\n"
            f"    size: {size}\n"
            "    time: kafka\n"
            "    lateness: 5s\n"
            "    late: count\n"
            f"    group_by: {{g: \"{GROUP_BY[groups]}\"}}\n"
            "    aggregates: {users: count(), distinct_emails: count_distinct(email), "
            "first_dob: min(dob), last_registered: max(registered_date)}\n")


def check_window(poller, groups, n, alive):
    """The window table counted every record once, in the groups asked for. Its rows are
    written with the batch's own rows, and possibly after them: waited for up to 60 s."""
    from cassandra.query import SimpleStatement

    st = SimpleStatement("SELECT g, users FROM spark_streams.bench_groups", fetch_size=10000)
    deadline = time.monotonic() + 60
    while True:
        rows = list(poller.session.execute(st, timeout=300))
        total, names = sum(r[1] for r in rows), {r[0] for r in rows}
        want = n if groups == "each" else int(groups)
        if total == n and len(names) == want:
            return
        alive()
        assert time.monotonic() < deadline, \
            f"window: {total} users counted for {n} records, in {len(names)} groups, not {want}"
        time.sleep(0.5)


def run_side(side, args, recs, tmp):
    """One measurement of side ('sluice' or 'peer'): a dict of figures."""
    n = args.records if side != "peer" else args.peer_records
    rate = args.rate if side != "peer" else args.peer_rate
    work = Path(tempfile.mkdtemp(prefix=f"{side}-", dir=tmp))
    broker = sh.SluiceProcess("broker", work / "broker")
    store = sh.SluiceProcess("store", work / "store")
    procs = [broker, store]
    consumer = peer = None
    out = {"side": side, "records": n, "rate": rate}
    try:
        broker.start()
        store.start()
        pu.create_topic(broker, pu.TOPIC, args.partitions)
        if side != "peer":
            extra = shlex.split(args.process_args)
            if side == "window" and args.window_groups:
                cfg = work / "window.yaml"
                cfg.write_text(window_config(args.window_groups, work / "state", args.window_size))
                extra += ["--config", str(cfg)]
            elif side == "window":
                extra += ["--window-preset", args.window, "--state-dir", str(work / "state")]
            consumer = pu.start_process(lambda *a, **k: sh.SluiceProcess(
                a[0], work / "process", **k).start(), broker,
                pu.cql_sink(store) + (f"?{args.sink_params}" if args.sink_params else ""),
                args=extra)
            procs.append(consumer)
        else:
            peer = subprocess.Popen([sys.executable, __file__, "--peer", broker.addr, store.host,
                                     str(store.port)], stdout=open(work / "peer.log", "wb"),
                                    stderr=subprocess.STDOUT, start_new_session=True)

        def alive():
            for p in procs:
                if not p.running:
                    raise RuntimeError(f"{p.name} exited {p.returncode}:\n"
                                       f"{sh.tail(p.log_text(), 20)}")
            if peer is not None and peer.poll() is not None:
                raise RuntimeError(f"peer exited {peer.returncode}:\n"
                                   f"{(work / 'peer.log').read_text()[-2000:]}")

        poller = Poller(store)
        prod = Producer(broker)
        items = recs.stream()
        # Warm-up: one record per partition (librdkafka spreads keys), readable before timing.
        warm = [next(items) for _ in range(args.partitions * 4)]
        for k, v in warm:
            prod.send(k, v)
        prod.flush()
        def ready():
            alive()
            return _table_ready(poller)

        sh.wait_until(ready, 60, interval=0.1, what="the consumer's table")
        poller.wait([k.decode() for k, _ in warm], 60, alive)

        # 1. Saturation.
        batch = [next(items) for _ in range(n)]
        prod.last.clear()
        pids = {"broker": broker.pid, "store": store.pid,
                "consumer": consumer.pid if consumer is not None else peer.pid}
        cpu0 = {k: cpu_seconds(v) for k, v in pids.items()}
        t0 = time.time()
        for k, v in batch:
            prod.send(k, v)
        prod.flush()
        t_prod = time.time()
        last_ids = [k for _, k in prod.last.values()]
        seen = poller.wait(last_ids, max(120, n / 500), alive)
        t1 = max(seen.values())
        out["rps"] = n / (t1 - t0)
        out["produce_rps"] = n / (t_prod - t0)
        # CPU per 100k records in this phase (the poller and producer are this process).
        out["cpu"] = {k: (cpu_seconds(v) - cpu0[k]) * 100000 / n for k, v in pids.items()}

        # 2. Latency at fixed rates: the side's own, and for sluice also the peer's.
        lat = []
        if not rate:  # half the throughput just measured, so the phase is not a backlog
            rate = max(100, int(out["rps"] / 2 / 100) * 100)
        for r in ([rate, args.peer_rate] if side != "peer" else [rate]):
            recs_r = [next(items) for _ in range(int(r * args.seconds))]
            lat += recs_r
            out.setdefault("latency", {})["own" if r == rate else r] = \
                (r,) + measure_latency(prod, poller, recs_r, r, alive, f"{side}_at_{r}")

        # Everything is there exactly once.
        ids = poller.all_ids()
        want = {k.decode() for k, _ in warm + batch + lat}
        assert len(ids) == len(set(ids)) == len(want) and set(ids) == want, \
            f"{side}: {len(ids)} rows ({len(set(ids))} distinct) for {len(want)} records"
        if side == "window" and args.window_groups:
            check_window(poller, args.window_groups, len(want), alive)

        # 3. sluice only: from the API, fake-api -> ingest -> broker -> process -> store.
        if side == "sluice" and args.ingest_records:
            api = sh.SluiceProcess("fake-api", work / "fake-api")
            procs.append(api)
            api.start()
            n_api = args.ingest_records
            t0 = time.time()
            r = sh.run_sluice("ingest", "--source", pu.source_url(api, "bench"), "--topic",
                              pu.TOPIC, "--kafka", broker.addr, "--count", n_api, "--batch",
                              args.ingest_batch, timeout=600)
            assert r.returncode == 0, f"ingest exited {r.returncode}: {r.stderr[-2000:]}"
            t_ing = time.time()
            total = len(want) + n_api
            while pu.committed_total(broker) < total:
                alive()
                assert time.time() - t_ing < 600, "process did not commit the ingested users"
                time.sleep(0.05)
            t1 = time.time()
            out["api_rps"], out["ingest_rps"] = n_api / (t1 - t0), n_api / (t_ing - t0)
            n_rows = len(poller.all_ids())
            assert n_rows == total, f"{n_rows} rows after ingest, {total} expected"
        poller.close()

        out["rss"] = {"broker": vm_hwm(broker.pid), "store": vm_hwm(store.pid)}
        if consumer is not None:
            out["rss"]["process"] = vm_hwm(consumer.pid)
        if peer is not None:
            out["rss"]["peer"] = vm_hwm(peer.pid)
        return out
    finally:
        if peer is not None and peer.poll() is None:
            peer.terminate()
            try:
                peer.wait(10)
            except subprocess.TimeoutExpired:
                peer.kill()
        for p in reversed(procs):
            p.cleanup()


def _table_ready(poller):
    try:
        poller.prepare()
        return True
    except Exception:
        return False


def has_command(name):
    r = subprocess.run([str(sh.sluice_bin()), name, "--help"], capture_output=True, text=True)
    return "unknown command" not in r.stderr


def fmt(xs, unit="", nd=0):
    m = statistics.median(xs)
    return f"{m:.{nd}f}{unit} ({min(xs):.{nd}f}-{max(xs):.{nd}f})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--records", type=int, default=300000)
    ap.add_argument("--peer-records", type=int, default=6000)
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--rate", type=int, default=0,
                    help="sluice's latency phase, records/s (0: half its measured throughput)")
    ap.add_argument("--peer-rate", type=int, default=100,
                    help="the peer's latency phase (below its capacity, which is fsync-bound)")
    ap.add_argument("--seconds", type=float, default=10, help="length of the latency phase")
    ap.add_argument("--ingest-records", type=int, default=100000,
                    help="users ingested from fake-api in sluice's phase 3 (0: no phase 3)")
    ap.add_argument("--ingest-batch", type=int, default=500,
                    help="ingest's --batch (users per API request) in phase 3; 500 is its default")
    ap.add_argument("--process-args", default="",
                    help="extra flags for sluice process, e.g. \"--max-inflight 1024\"")
    ap.add_argument("--sink-params", default="",
                    help="query parameters for sluice's cql:// sink URL, e.g. batch_rows=64")
    ap.add_argument("--only", choices=["sluice", "peer"])
    ap.add_argument("--window", metavar="PRESET",
                    help="compare sluice process plain and with --window-preset PRESET instead "
                         "of sluice and the peer (issue 10's cost)")
    ap.add_argument("--window-groups", choices=sorted(GROUP_BY),
                    help="with --window: instead of the preset, a window grouped into 1 group, "
                         "10, or one per record (each), counting users, distinct emails, the "
                         "smallest dob and the largest registered_date")
    ap.add_argument("--window-size", default="1m",
                    help="with --window-groups: the tumbling window's size (a duration)")
    ap.add_argument("--json", metavar="FILE",
                    help="also write every run's figures to FILE (bench_window_pipeline.py)")
    ap.add_argument("--peer", nargs=3, metavar=("BOOTSTRAP", "HOST", "PORT"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.peer:
        return peer_main(*args.peer)

    sides = [args.only] if args.only else ["sluice", "peer"]
    if args.window_groups and not args.window:
        args.window = "users_per_nat_minute"  # the comparison of --window, with its own window
    if args.window:
        sides, args.ingest_records = ["sluice", "window"], 0
    if "sluice" in sides and not has_command("process"):
        print(f"sluice process: not in {sh.sluice_bin()} (unknown command), so only the peer "
              "is measured", flush=True)
        sides.remove("sluice")
        if not sides:
            return 1
    if "sluice" in sides and args.ingest_records and not (has_command("ingest")
                                                          and has_command("fake-api")):
        print("sluice ingest or fake-api: not in the binary, so no phase 3", flush=True)
        args.ingest_records = 0
    recs = Records(max(args.records, args.peer_records) + args.partitions * 4)
    results = {s: [] for s in sides}
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-", dir="/var/tmp") as tmp:
        for r in range(args.runs):
            order = sides if r % 2 == 0 else list(reversed(sides))
            for side in order:
                res = run_side(side, args, recs, tmp)
                results[side].append(res)
                lat = "; ".join(f"at {v[0]}/s p50 {v[1]:.1f} ms p99 {v[2]:.1f} ms"
                                for v in res["latency"].values())
                print(f"  run {r + 1} {side}: {res['rps']:.0f} records/s (producer "
                      f"{res['produce_rps']:.0f}/s); latency {lat}; RSS MiB "
                      + ", ".join(f"{k} {v:.0f}" for k, v in res["rss"].items() if v),
                      flush=True)

    if args.json:
        Path(args.json).write_text(json.dumps({"mean_size": recs.mean_size, "runs": results}))
    print(f"\nbench_pipeline: produce (acks=all, idempotent) -> sluice broker (flush=always) -> "
          f"consumer -> sluice store (commitlog-sync batch), {args.partitions} partitions, "
          f"records ~{recs.mean_size:.0f} B JSON, {args.runs} runs, medians (min-max)")
    print("| consumer | records | records/s end to end | latency at | p50 ms | p99 ms | "
          "consumer RSS MiB | broker RSS MiB | store RSS MiB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for side in sides:
        rs = results[side]
        wname = (f"sluice process, window of {args.window_groups} group(s)" if args.window_groups
                 else f"sluice process --window-preset {args.window}")
        who = {"sluice": "sluice process", "window": wname,
               "peer": "peer: python3-kafka + python3-cassandra"}[side]
        crss = [x["rss"].get("process" if side != "peer" else "peer") or 0 for x in rs]
        for j, key in enumerate(rs[0]["latency"]):
            first = j == 0
            rates = [x["latency"][key][0] for x in rs]
            at = f"{fmt(rates)}/s" if min(rates) != max(rates) else f"{rates[0]}/s"
            print(f"| {who if first else ''} | {rs[0]['records'] if first else ''} | "
                  f"{fmt([x['rps'] for x in rs]) if first else ''} | {at} | "
                  f"{fmt([x['latency'][key][1] for x in rs], nd=1)} | "
                  f"{fmt([x['latency'][key][2] for x in rs], nd=1)} | "
                  + (f"{fmt(crss)} | {fmt([x['rss']['broker'] or 0 for x in rs])} | "
                     f"{fmt([x['rss']['store'] or 0 for x in rs])} |" if first else "| | |"))
    if args.window:
        s = statistics.median(x["rps"] for x in results["sluice"])
        w = statistics.median(x["rps"] for x in results["window"])
        pairs = [1 - b["rps"] / a["rps"] for a, b in zip(results["sluice"], results["window"])]
        print(f"\nwindow cost (1 - windowed / plain records/s): medians {100 * (1 - w / s):.1f}%; "
              f"per run {', '.join(f'{100 * c:.1f}%' for c in pairs)}  (goal: <= 20%)")
    elif len(sides) == 2:
        s = statistics.median(x["rps"] for x in results["sluice"])
        p = statistics.median(x["rps"] for x in results["peer"])
        print(f"\nratio sluice/peer (records/s, medians): {s / p:.1f}x  "
              f"(goal: >= 100000 records/s and >= 50x)")
    print("\nCPU seconds per 100k records in the saturation phase (utime+stime), medians:")
    for side in sides:
        rs = results[side]
        print(f"  {side}: " + ", ".join(f"{k} {statistics.median(x['cpu'][k] for x in rs):.2f}"
                                       for k in rs[0]["cpu"]))
    if "sluice" in sides:
        print("producer rate in sluice's saturation phase: "
              + fmt([x["produce_rps"] for x in results["sluice"]], "/s"))
        if args.ingest_records:
            rs = results["sluice"]
            print(f"from the API (fake-api -> sluice ingest --batch {args.ingest_batch} -> "
                  f"broker -> process -> store), {args.ingest_records} users: "
                  f"{fmt([x['api_rps'] for x in rs])} "
                  f"records/s until committed; ingest alone {fmt([x['ingest_rps'] for x in rs])}"
                  " records/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
