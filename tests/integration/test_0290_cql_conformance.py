"""Issue 4 points the other CQL files exercise only indirectly, each checked on the wire:
Unauthorized 0x2100 for writes and DDL on the system keyspaces (Cassandra's words, through the
python driver), skip_metadata on EXECUTE (the Rows result carries the No_metadata flag and no
column specs), the default timestamp flag (WRITETIME is the client's timestamp), and the C
client's paging (`sluice cql -e` reads a result of several 1000-row pages to its end), and the
interactive shell on a terminal (libedit: a line typed, recalled with the up arrow, run again;
history saved; Ctrl-D exits 0)."""

import os
import pty
import select
import struct
import subprocess
import termios
import time

import pytest
from cassandra import Unauthorized

import cql_util as cu
import sluice_harness as sh
from cql_util import _attach_store_log, cql, ks, store  # noqa: F401  (fixtures)


@pytest.mark.parametrize("stmt", [
    "INSERT INTO system.local (key) VALUES ('x')",
    "CREATE TABLE system.t (k int PRIMARY KEY)",
    "DROP KEYSPACE system_schema",
])
def test_system_keyspaces_are_unauthorized(ks, stmt):
    s, _ = ks
    with pytest.raises(Unauthorized) as e:
        s.execute(stmt)
    assert "code=2100" in str(e.value) and "is not user-modifiable" in str(e.value)
    assert s.execute("SELECT key FROM system.local").one().key == "local"


def test_skip_metadata_and_default_timestamp(store, ks):
    s, name = ks
    s.execute("CREATE TABLE t (k int PRIMARY KEY, v text)")
    with cu.RawConn(store) as r:
        # QUERY with default timestamp (flag 0x20): values (0x01) then the [long] timestamp.
        body = (cu.long_string(f"INSERT INTO {name}.t (k, v) VALUES (?, ?)") +
                cu.short(cu.ONE) + bytes([0x01 | 0x20]) + cu.short(2) +
                cu.value(cu.int32(1)) + cu.value(b"x") + struct.pack(">q", 1234567))
        op, rbody, _, stream = r.request(cu.QUERY, body)
        assert r.result(op, rbody, stream).kind == cu.VOID
        stmt_id = r.prepare(f"SELECT k, v FROM {name}.t WHERE k = ?").id
        # EXECUTE with skip_metadata (0x02): Rows flags has No_metadata (0x0004), no specs.
        body = cu.string(stmt_id) + cu.short(cu.ONE) + bytes([0x01 | 0x02]) + cu.short(1) + \
            cu.value(cu.int32(1))
        op, rbody, _, _ = r.request(cu.EXECUTE, body)
        assert op == cu.RESULT
        kind, flags, ncols = struct.unpack(">iii", rbody[:12])
        assert kind == cu.ROWS and flags & 0x0004 and ncols == 2
        assert struct.unpack(">i", rbody[12:16])[0] == 1  # rows count follows at once
        assert rbody[16:] == cu.value(cu.int32(1)) + cu.value(b"x")
    assert s.execute("SELECT WRITETIME(v) FROM t WHERE k = 1").one()[0] == 1234567


def test_shell_pages_through_a_large_result(store, ks, run_sluice):
    s, name = ks
    s.execute("CREATE TABLE big (k int PRIMARY KEY)")
    ins = s.prepare("INSERT INTO big (k) VALUES (?)")
    for k in range(2500):
        s.execute_async(ins, (k,))
    cu.wait_until(lambda: s.execute("SELECT COUNT(*) FROM big").one()[0] == 2500, 10,
                  "2500 rows written")
    r = run_sluice("cql", store.addr, "-e", f"SELECT k FROM {name}.big;")
    assert r.returncode == 0, r.stderr
    assert "(2500 rows)" in r.stdout
    ks_printed = sorted(int(line) for line in r.stdout.split("\n") if line.strip().isdigit())
    assert ks_printed == list(range(2500))


def test_interactive_shell_line_editing(store, tmp_path):
    m, slave = pty.openpty()
    p = subprocess.Popen([str(sh.sluice_bin()), "cql", store.addr], stdin=slave, stdout=slave,
                         stderr=slave, env=dict(os.environ, HOME=str(tmp_path), TERM="xterm"),
                         close_fds=True)
    tty = os.ttyname(slave)
    os.close(slave)
    pending = [b""]

    def wait_editing():
        # libedit prints the prompt, then switches the terminal to raw mode: a key typed in
        # between is read in canonical mode (^D there turns into a NUL), so type only once the
        # shell is in raw mode, as a person at the prompt would.
        end = time.monotonic() + sh.scaled(5)
        while time.monotonic() < end:
            fd = os.open(tty, os.O_RDWR | os.O_NOCTTY)
            try:
                if not termios.tcgetattr(fd)[3] & termios.ICANON:
                    return
            finally:
                os.close(fd)
            time.sleep(0.01)
        raise AssertionError("the shell never put the terminal in raw mode")

    def read_until(pat, timeout=5):
        end = time.monotonic() + sh.scaled(timeout)
        while time.monotonic() < end:
            if pat in pending[0]:
                i = pending[0].index(pat) + len(pat)
                out, pending[0] = pending[0][:i], pending[0][i:]
                return out
            if select.select([m], [], [], 0.2)[0]:
                try:
                    pending[0] += os.read(m, 65536)
                except OSError:
                    break
        raise AssertionError(f"no {pat!r} in {pending[0]!r}")

    try:
        read_until(b"cqlsh> ")
        wait_editing()
        os.write(m, b"SELECT cluster_name FROM system.local;\r")
        assert b"Test Cluster" in read_until(b"(1 rows)")
        read_until(b"cqlsh> ")
        wait_editing()
        os.write(m, b"\x1b[A")  # the up arrow recalls the line
        time.sleep(0.2)
        os.write(m, b"\r")
        out = read_until(b"(1 rows)")
        assert b"SELECT cluster_name FROM system.local;" in out and b"Test Cluster" in out
        read_until(b"cqlsh> ")
        wait_editing()
        os.write(m, b"\x04")
        assert p.wait(sh.scaled(5)) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(m)
    assert "SELECT\\040cluster_name" in (tmp_path / ".sluice_cql_history").read_text()
