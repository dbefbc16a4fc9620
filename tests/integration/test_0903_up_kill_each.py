"""Issue 9: after a SIGKILL of any one child, the supervisor brings it back and no data is lost.
One `up`, users already in the topic and the table; then each service child in turn is killed
with SIGKILL. After each: the supervisor logs the restart, the child's port accepts again, and
more users produced then reach the table. At the end every produced user is a row, once."""
import json
import os
import signal
import uuid

from confluent_kafka import Producer

import sluice_harness as sh
from test_0900_up import child_pids, session, start_up, write_config

CHILDREN = ("store", "broker", "registry", "fake-api", "process", "scheduler", "console")
PORT_OF = {"process": "process-metrics"}


def produce(bootstrap, n):
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all"})
    ids = []
    for i in range(n):
        uid = str(uuid.uuid4())
        ids.append(uid)
        user = {"id": uid, "first_name": f"F{i}", "last_name": "L", "gender": "female",
                "address": "1 Main St, Town, State, Country", "post_code": "12345",
                "email": f"u{i}@example.com", "username": f"user{i}",
                "dob": "1990-01-01T00:00:00.000Z", "registered_date": "2020-01-01T00:00:00.000Z",
                "phone": "555-0100", "picture": "https://example.com/p.jpg"}
        p.produce("users_created", key=uid, value=json.dumps(user))
    assert p.flush(sh.scaled(30)) == 0
    return ids


def rows(port):
    c, s = session(port)
    try:
        return [r[0] for r in s.execute("SELECT id FROM spark_streams.created_users")]
    finally:
        c.shutdown()


def test_kill_each_child_loses_nothing(sluice_proc, tmp_path):
    cfg, ports = write_config(tmp_path)
    up = start_up(sluice_proc, cfg)
    bootstrap = f"127.0.0.1:{ports['broker']}"
    sent = produce(bootstrap, 50)
    for name in CHILDREN:
        first = child_pids(up, name)[-1]
        os.kill(first, signal.SIGKILL)
        up.wait_for_log(rf"{name} killed by signal 9 .*; restarting in \d+ ms")
        sh.wait_until(lambda: child_pids(up, name)[-1] != first, sh.scaled(15),
                      what=f"{name} restarted")
        sh.wait_port("127.0.0.1", ports[PORT_OF.get(name, name)], sh.scaled(15))
        sent += produce(bootstrap, 20)
    want = sorted(str(uuid.UUID(u)) for u in sent)
    sh.wait_until(lambda: sorted(str(r) for r in rows(ports["store"])) == want, sh.scaled(60),
                  what=f"all {len(want)} users as rows, once each")
    assert up.running
