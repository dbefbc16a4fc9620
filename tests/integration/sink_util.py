"""Helpers for the sink tests (test_036x cql://, test_037x postgresql://): the sink driver
(build/tests/sink_driver, tests/drivers/sink_driver.c) that opens one sl_sink and writes each
batch it is given, and rows shaped like the seeds' created_users."""

import json
import random
import selectors
import string
import subprocess
import uuid
from pathlib import Path

import sluice_harness as sh

# The seeds' table: id uuid PRIMARY KEY plus 11 text columns.
USER_FIELDS = ["first_name", "last_name", "gender", "address", "post_code", "email", "username",
               "dob", "registered_date", "phone", "picture"]
USER_COLS = "id:uuid," + ",".join(f"{f}:text" for f in USER_FIELDS)
# One column of each type the sink knows.
TYPED_COLS = "id:uuid,t:text,i:int,b:bigint,d:double,f:boolean,ts:timestamp"


def driver_path():
    return Path(sh.sluice_bin()).resolve().parent / "tests" / "sink_driver"


class SinkDriver:
    """sink_driver URL --cols COLS ...: .open_line ("open ok" or "open error: ..."), .ok,
    .write(rows) -> "ok N" or "error: REASON", .close() -> exit status."""

    def __init__(self, url, cols=USER_COLS, *, max_inflight=None, timeout_ms=None,
                 open_timeout=30):
        argv = [str(driver_path()), url, "--cols", cols]
        if max_inflight is not None:
            argv += ["--max-inflight", str(max_inflight)]
        if timeout_ms is not None:
            argv += ["--timeout-ms", str(timeout_ms)]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)
        self.open_line = self._readline(open_timeout)
        self.ok = self.open_line == "open ok"

    def _readline(self, timeout):
        if not self.sel.select(sh.scaled(timeout)):
            self.proc.kill()
            raise TimeoutError(f"sink_driver silent for {sh.scaled(timeout):.0f}s")
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read()
            raise RuntimeError(f"sink_driver exited ({self.proc.wait()}): {err}")
        return line.rstrip("\n")

    def write(self, rows, timeout=60):
        self.proc.stdin.write(json.dumps(rows) + "\n")
        self.proc.stdin.flush()
        return self._readline(timeout)

    def close(self):
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        try:
            return self.proc.wait(sh.scaled(30))
        finally:
            self.sel.close()
            self.proc.stdout.close()
            self.proc.stderr.close()

    def stderr_text(self):
        return self.proc.stderr.read() if self.proc.poll() is not None else ""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.close()


def open_error(url, cols=USER_COLS, **kw):
    """Opens a sink that must fail; returns the reason."""
    d = SinkDriver(url, cols, **kw)
    try:
        assert not d.ok, f"{url} opened"
        assert d.open_line.startswith("open error: "), d.open_line
        return d.open_line[len("open error: "):]
    finally:
        d.close()


def user_rows(n, rng=None):
    """n rows for created_users: a fresh uuid4 and 11 text fields, some non-ASCII, some empty."""
    rng = rng or random.Random(5)
    names = ["Ana", "José", "Zoë", "Łukasz", "Ólafur", "Ngọc", "Иван", "美咲", "O'Brien", ""]
    rows = []
    for i in range(n):
        first, last = rng.choice(names), rng.choice(names)
        rows.append([str(uuid.uuid4()), first, last, rng.choice(["male", "female"]),
                     f"{rng.randint(1, 9999)} Rua {rng.choice(names)}, Cidade, PE, Brazil",
                     str(rng.randint(10000, 99999)), f"{first.lower() or 'x'}.{i}@example.com",
                     "".join(rng.choices(string.ascii_lowercase, k=8)) + str(i),
                     "1990-01-02T03:04:05.006Z", "2010-05-06T07:08:09.010Z",
                     f"({rng.randint(10, 99)}) {rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
                     f"https://randomuser.me/api/portraits/med/women/{i % 100}.jpg"])
    return rows
