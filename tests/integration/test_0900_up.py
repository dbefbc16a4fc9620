"""`sluice up`: the supervisor. It starts the components in order on one data dir, creates the
topics and the seeds' table, prefixes every log line with its component, restarts a crashed
child, stops everything in reverse order on SIGINT, takes its children down when it is killed,
resumes on the same data dir, and leaves out the embedded broker when kafka.bootstrap is set."""
import os
import re
import signal
import socket
import time
import types

import pytest
import requests
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

import cql_util
import sluice_harness as sh


def write_config(tmp_path, extra=""):
    return sh.write_up_config(tmp_path, extra=extra)


def start_up(sluice_proc, cfg, *args, data_dir=True, name=None):
    up = sluice_proc("up", listen=False, data_dir=data_dir, name=name,
                     args=["--config", str(cfg), "--ingest-duration", "0", *args])
    up.wait_for_log(r"sluice is up", timeout=60)
    return up


def child_pids(up, name):
    return [int(m) for m in re.findall(rf"^up\s+\| {re.escape(name)} started \(pid (\d+)\)",
                                       up.log_text(), re.M)]


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is gone for our purpose
        return f.read().split(") ", 1)[1][0] != "Z"


def topics(bootstrap):
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=sh.scaled(10))
    return set(md.topics)


def session(port):
    c = cql_util.cluster(types.SimpleNamespace(host="127.0.0.1", port=port))
    return c, c.connect()


def test_up_starts_in_order_and_stops_in_reverse(sluice_proc, tmp_path):
    cfg, ports = write_config(tmp_path)
    up = start_up(sluice_proc, cfg)
    bootstrap = f"127.0.0.1:{ports['broker']}"
    assert {"users_created", "users_created.dlq"} <= topics(bootstrap)
    c, s = session(ports["store"])
    try:
        cols = {r.column_name: r.type for r in s.execute(
            "SELECT column_name, type FROM system_schema.columns "
            "WHERE keyspace_name = 'spark_streams' AND table_name = 'created_users'")}
    finally:
        c.shutdown()
    assert cols["id"] == "uuid"
    assert set(cols) == {"id", "first_name", "last_name", "gender", "address", "post_code",
                         "email", "username", "dob", "registered_date", "phone", "picture"}

    log = up.log_text()
    # Every child's lines carry its name; the store is ready before the broker starts.
    assert re.search(r"^store\s+\| .*serving CQL", log, re.M)
    assert re.search(r"^broker\s+\| .*kafka broker", log, re.M)
    assert log.index("store ready on") < log.index("broker started")
    assert "kcat -b " + bootstrap in log
    assert 'SELECT first_name, last_name FROM spark_streams.created_users LIMIT 10' in log

    pids = {n: child_pids(up, n)[-1] for n in ("store", "broker")}
    t0 = time.monotonic()
    up.proc.send_signal(signal.SIGINT)
    assert up.wait(timeout=15) == 0
    assert time.monotonic() - t0 < sh.scaled(10)
    log = up.log_text()
    assert log.index("broker stopped (exited with status 0)") < \
        log.index("store stopped (exited with status 0)")
    assert not any(alive(p) for p in pids.values())


def test_up_restarts_a_crashed_child(sluice_proc, tmp_path):
    cfg, ports = write_config(tmp_path)
    up = start_up(sluice_proc, cfg)
    bootstrap = f"127.0.0.1:{ports['broker']}"
    first = child_pids(up, "broker")[-1]
    os.kill(first, signal.SIGKILL)
    up.wait_for_log(r"broker killed by signal 9 .*; restarting in \d+ ms \(restart 1\)")
    sh.wait_until(lambda: len(child_pids(up, "broker")) == 2, sh.scaled(10),
                  what="the broker restarted")
    sh.wait_port("127.0.0.1", ports["broker"], sh.scaled(10))
    assert "users_created" in topics(bootstrap)
    assert child_pids(up, "broker")[-1] != first


def test_up_console_answers_and_shows_restarts(sluice_proc, tmp_path):
    """The console is up's last child on console.listen; up prints its URL and the first-start
    admin password once; the console sees every component, and a child the supervisor
    restarts shows in its events."""
    cfg, ports = write_config(tmp_path)
    up = start_up(sluice_proc, cfg)
    base = f"http://127.0.0.1:{ports['console']}"
    log = up.log_text()
    assert f"console   {base}/" in log
    pw = re.search(r"first start: user admin, password (\S+) \(shown only now\)", log).group(1)
    assert requests.get(base + "/", timeout=5).status_code == 200
    assert requests.get(base + "/api/overview", timeout=5).status_code == 401
    auth = ("admin", pw)

    def overview():
        return requests.get(base + "/api/overview", auth=auth, timeout=5).json()

    sh.wait_until(lambda: all(overview().get("components", {}).values()), sh.scaled(20),
                  what="the console to see every component up")
    metrics = requests.get(base + "/metrics", timeout=5).text
    for comp in ("broker", "store", "registry", "scheduler", "processor"):
        assert f'sluice_up{{component="{comp}"}} 1' in metrics
    os.kill(child_pids(up, "fake-api")[-1], signal.SIGKILL)

    def restarted():
        return [e for e in overview()["events"]
                if e["child"] == "fake-api" and e["event"] == "restarting"]

    sh.wait_until(restarted, sh.scaled(10), what="the console to show fake-api's restart")
    assert "killed by signal 9" in restarted()[0]["detail"]
    # A second start keeps the users: the password is not printed again, and still works.
    up.proc.send_signal(signal.SIGINT)
    assert up.wait(timeout=15) == 0
    up.start(wait=False)
    up.wait_for_log(r"(?s)=== start 2.*sluice is up", timeout=60)
    assert up.log_text().count("first start: user admin") == 1
    assert requests.get(base + "/api/session", auth=auth, timeout=10).status_code == 200


def test_up_killed_takes_its_children_down(sluice_proc, tmp_path):
    cfg, _ = write_config(tmp_path)
    up = start_up(sluice_proc, cfg)
    # Every child, including the ones started just before the kill (fake-api, process).
    pids = [int(p) for p in re.findall(r"^up\s+\| \S+ started \(pid (\d+)\)", up.log_text(), re.M)]
    assert len(pids) >= 4
    up.kill9()
    sh.wait_until(lambda: not any(alive(p) for p in pids), sh.scaled(10),
                  what="the children of a killed supervisor to exit")


def test_up_resumes_on_the_same_data_dir(sluice_proc, tmp_path):
    cfg, ports = write_config(tmp_path)
    up = start_up(sluice_proc, cfg)
    bootstrap = f"127.0.0.1:{ports['broker']}"
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    p.produce("users_created.dlq", key=b"k", value=b'{"kept": true}')
    assert p.flush(sh.scaled(10)) == 0
    c, s = session(ports["store"])
    s.execute("INSERT INTO spark_streams.created_users (id, first_name) "
              "VALUES (5e3b2a52-7a4c-4d3c-9f1e-0c7d3f0a1b2c, 'Kept')")
    c.shutdown()
    up.proc.send_signal(signal.SIGINT)
    assert up.wait(timeout=15) == 0

    up.start(wait=False)
    up.wait_for_log(r"(?s)=== start 2.*sluice is up", timeout=60)
    assert re.search(r"(?s)=== start 2.*topic\s+\| users_created exists", up.log_text())
    cons = Consumer({"bootstrap.servers": bootstrap, "group.id": "resume-check",
                     "auto.offset.reset": "earliest"})
    lo, hi = cons.get_watermark_offsets(TopicPartition("users_created.dlq", 0),
                                        timeout=sh.scaled(10))
    cons.close()
    assert (lo, hi) == (0, 1)
    c, s = session(ports["store"])
    try:
        rows = list(s.execute("SELECT first_name FROM spark_streams.created_users"))
    finally:
        c.shutdown()
    assert [r.first_name for r in rows] == ["Kept"]


def test_up_uses_an_external_broker_when_kafka_bootstrap_is_set(sluice_proc, tmp_path):
    external = sluice_proc("broker")
    cfg, ports = write_config(tmp_path, f"kafka:\n  bootstrap: {external.addr}\n")
    up = start_up(sluice_proc, cfg)
    assert child_pids(up, "broker") == []
    with socket.socket() as so:
        assert so.connect_ex(("127.0.0.1", ports["broker"])) != 0
    assert {"users_created", "users_created.dlq"} <= topics(external.addr)


@pytest.mark.parametrize("text, reason", [
    ("broker: [unclosed\n", r"sluice\.yaml:\d+"),
    ("broker:\n  listen: 1\n  listen: 2\n", r"sluice\.yaml:3"),
])
def test_up_refuses_a_broken_config(run_sluice, tmp_path, text, reason):
    path = tmp_path / "sluice.yaml"
    path.write_text(text)
    r = run_sluice("up", "--config", path, "--data-dir", tmp_path / "d")
    assert r.returncode == 2
    assert re.search(reason, r.stderr), r.stderr
    assert not (tmp_path / "d").exists()


def test_up_rejects_unknown_flags(run_sluice, tmp_path):
    r = run_sluice("up", "--no-such-flag", "--data-dir", tmp_path / "d")
    assert r.returncode == 2
    assert "no-such-flag" in r.stderr


def dag_runs(scheduler_port):
    url = f"http://127.0.0.1:{scheduler_port}/api/v1/dags/user_automation/dagRuns"
    return requests.get(url, timeout=sh.scaled(5)).json()["dag_runs"]


def wait_runs_done(scheduler_port):
    """Waits until user_automation has runs and all of them succeeded; returns them."""
    def done():
        runs = dag_runs(scheduler_port)
        assert all(r["state"] != "failed" for r in runs), runs
        return runs if runs and all(r["state"] == "success" for r in runs) else None
    return sh.wait_until(done, sh.scaled(90), what="user_automation's runs to succeed")


def records_in(bootstrap, topic):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "count-check"})
    try:
        md = c.list_topics(topic, timeout=sh.scaled(10))
        return sum(c.get_watermark_offsets(TopicPartition(topic, p), timeout=sh.scaled(10))[1]
                   for p in md.topics[topic].partitions)
    finally:
        c.close()


def wait_rows(port, n):
    c, s = session(port)
    try:
        sh.wait_until(lambda: s.execute(
            "SELECT count(*) FROM spark_streams.created_users").one()[0] == n,
            sh.scaled(60), what=f"{n} rows in spark_streams.created_users")
        return s.execute("SELECT * FROM spark_streams.created_users LIMIT 1").one()
    finally:
        c.shutdown()


def wait_window_users(port, n):
    """The default pipeline's window: users per country per minute add up to the n records
    (one tumbling window each; up's ingest produces in order, so none is late)."""
    c, s = session(port)
    try:
        def total():
            rows = list(s.execute("SELECT key, nat, window_start, users, distinct_emails "
                                  "FROM spark_streams.users_per_nat_minute"))
            return rows if sum(r.users for r in rows) == n else None
        rows = sh.wait_until(total, sh.scaled(60), what=f"{n} users in users_per_nat_minute")
        for r in rows:
            assert r.key == f"{r.nat}|{int(r.window_start.timestamp() * 1000)}", r
            assert int(r.window_start.timestamp()) % 60 == 0
            assert 0 < r.distinct_emails <= r.users + 1
        return rows
    finally:
        c.shutdown()


def test_up_moves_users_from_the_api_into_the_table(sluice_proc, tmp_path):
    """The default pipeline: up unpauses user_automation (paused at creation, as in Airflow 2),
    which runs its latest complete daily interval at once: exactly one run, whose ingest task
    (2 s here) feeds the topic; every record in the topic ends up as a row of the table."""
    cfg, ports = write_config(tmp_path)
    up = sluice_proc("up", listen=False, data_dir=True,
                     args=["--config", str(cfg), "--ingest-duration", "2s"])
    up.wait_for_log(r"sluice is up", timeout=60)
    assert re.search(r"^unpause\s+\| user_automation unpaused", up.log_text(), re.M)
    assert not re.search(r"^trigger\s+\|", up.log_text(), re.M)
    runs = wait_runs_done(ports["scheduler"])
    assert [r["run_type"] for r in runs] == ["scheduled"], runs
    n = records_in(f"127.0.0.1:{ports['broker']}", "users_created")
    assert n > 0
    row = wait_rows(ports["store"], n)
    assert row.first_name and row.email and "@" in row.email
    assert row.address.count(", ") == 3
    wait_window_users(ports["store"], n)
    up.proc.send_signal(signal.SIGINT)
    assert up.wait(timeout=15) == 0
    log = up.log_text()
    # Producers first, the store last.
    order = [log.index(f"{n} stopped") for n in ("scheduler", "process", "fake-api", "broker",
                                                  "store")]
    assert order == sorted(order)

    # A second start resumes: the DAG's history is kept and its interval already ran, so no
    # run is added (as after an Airflow restart); a trigger by hand adds one.
    up.start(wait=False)
    up.wait_for_log(r"(?s)=== start 2.*sluice is up", timeout=60)
    time.sleep(sh.scaled(1))
    assert [r["dag_run_id"] for r in dag_runs(ports["scheduler"])] == \
        [r["dag_run_id"] for r in runs]
    r = sh.run_sluice("dag", "trigger", "user_automation", "--scheduler",
                      f"http://127.0.0.1:{ports['scheduler']}")
    assert r.returncode == 0 and r.stdout.startswith("manual__"), r.stderr
    again = wait_runs_done(ports["scheduler"])
    assert {r["dag_run_id"] for r in runs} < {r["dag_run_id"] for r in again}
    n2 = records_in(f"127.0.0.1:{ports['broker']}", "users_created")
    assert n2 > n
    wait_rows(ports["store"], n2)


def test_example_config_is_the_one_the_binary_prints(run_sluice):
    """sluice.example.yaml in the repo has every key of every section with its default: it is
    exactly what `sluice up --print-config` prints from the option tables, and it checks clean."""
    from pathlib import Path
    example = Path(__file__).resolve().parents[2] / "sluice.example.yaml"
    printed = run_sluice("up", "--print-config")
    assert printed.returncode == 0
    assert example.read_text() == printed.stdout, \
        "sluice.example.yaml is stale: regenerate with `build/sluice up --print-config`"
    for section in ("up:", "kafka:", "cassandra:", "broker:", "store:", "fake-api:", "pipeline:"):
        assert f"\n{section}\n" in printed.stdout
    r = run_sluice("up", "--check", "--config", example)
    assert r.returncode == 0, r.stderr
    assert "would start" in r.stdout


def test_up_checks_the_whole_file_before_starting_anything(run_sluice, tmp_path):
    path = tmp_path / "sluice.yaml"
    path.write_text("brokr:\n  listen: 1\n"
                    "store:\n  listen: nowhere\n"
                    "fake-api:\n  fail_rate: lots\n"
                    "pipeline:\n  batch_size: 0\n  sinkk: x\n"
                    "broker:\n  flush: sometimes\n")
    r = run_sluice("up", "--config", path, "--data-dir", tmp_path / "d")
    assert r.returncode == 2
    errs = [l for l in r.stderr.splitlines() if l.startswith(str(path))]
    lines = sorted(int(l.split(":")[1]) for l in errs)
    assert lines == [1, 4, 6, 8, 9, 11], r.stderr
    assert "unknown section" in r.stderr and "did you mean 'sink'" in r.stderr
    assert "6 errors" in r.stderr and "nothing was started" in r.stderr
    assert not (tmp_path / "d").exists()


def test_up_check_prints_the_plan(run_sluice, tmp_path):
    path = tmp_path / "sluice.yaml"
    path.write_text("kafka:\n  bootstrap: k1:9092,k2:9092\n"
                    "pipeline:\n  sink: postgresql://u@db/x\n")
    r = run_sluice("up", "--check", "--config", path)
    assert r.returncode == 0, r.stderr
    names = [l.split()[0] for l in r.stdout.splitlines()[1:]]
    assert names[:2] == ["store", "table"] and "broker" not in names
    process = next(l for l in r.stdout.splitlines() if l.split()[0] == "process")
    assert "--kafka k1:9092,k2:9092" in process
    assert "--sink" not in process  # the pipeline section's own sink is left to process
