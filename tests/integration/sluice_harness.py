"""Helpers for sluice's integration tests: free loopback ports, scaled timeouts, running the real
build/sluice as a managed process, a throwaway PostgreSQL server, and runners for the third-party
Node.js clients. conftest.py turns these into fixtures; tests may also import them directly."""

import glob
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"

# Components that take --data-dir (ARCHITECTURE.md "CLI contract").
DATA_DIR_COMPONENTS = {"up", "broker", "store"}

# Lines a sanitizer prints when it finds a bug; a process whose log has one fails its test.
SANITIZER_RE = re.compile(
    r"ERROR: (AddressSanitizer|LeakSanitizer|ThreadSanitizer)|runtime error: |"
    r"SUMMARY: UndefinedBehaviorSanitizer"
)


def sluice_bin():
    """The binary under test: $SLUICE_BIN, default build/sluice in the repository."""
    return Path(os.environ.get("SLUICE_BIN", REPO / "build" / "sluice")).resolve()


def timeout_scale():
    """$SLUICE_TIMEOUT_SCALE (default 1); sanitizer builds set it higher."""
    try:
        scale = float(os.environ.get("SLUICE_TIMEOUT_SCALE", "1"))
    except ValueError:
        raise RuntimeError("SLUICE_TIMEOUT_SCALE must be a number") from None
    return scale if scale > 0 else 1.0


def scaled(seconds):
    """A timeout in seconds, multiplied by $SLUICE_TIMEOUT_SCALE."""
    return seconds * timeout_scale()


_handed_out = set()


def free_port(host=HOST):
    """A TCP port that is free on host right now and not handed out before in this session.

    Ports come from below Linux's ephemeral range (32768-60999), so they do not collide with the
    source ports of outgoing connections, and are chosen at random, so that test runs of several
    people on one machine rarely pick the same one."""
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(20000, 32768)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError("free_port: no free port found in 20000-32767")


def wait_port(host, port, timeout, proc=None):
    """Waits until host:port accepts a TCP connection. Raises TimeoutError, or RuntimeError when
    proc (a Popen) exits first."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with status {proc.returncode} before listening")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                pass
            # A process that failed to bind may have exited while someone else's listener on
            # the same port answered.
            if proc is not None and proc.poll() is not None:
                continue
            return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{host}:{port} not accepting connections after {timeout:.1f}s")
        time.sleep(0.02)


def sanitized(pid):
    """True for a process of a sanitizer build (`make test-asan`): its shadow memory makes RSS
    and PSS meaningless, so memory budgets are checked on the release build only."""
    try:
        with open(f"/proc/{pid}/maps") as f:
            return "libasan" in f.read()
    except OSError:
        return False


def write_up_config(tmp_path, extra="", sections=None):
    """A sluice.yaml for `sluice up` with every listener on a free loopback port; extra is added
    at the top level, sections maps a component to lines added inside its section (indented,
    each ending in a newline). Returns (path, ports by component)."""
    sections = sections or {}
    ports = {name: free_port() for name in ("broker", "store", "fake-api", "scheduler",
                                            "registry", "console", "process-metrics")}
    text = extra
    for name in ("broker", "store", "fake-api", "scheduler", "registry"):
        text += f"{name}:\n  listen: 127.0.0.1:{ports[name]}\n" + sections.get(name, "")
    text += (f"console:\n  listen: 127.0.0.1:{ports['console']}\n  collect-interval: 500ms\n"
             + sections.get("console", "")
             + f"pipeline:\n  metrics_listen: 127.0.0.1:{ports['process-metrics']}\n"
             + sections.get("pipeline", ""))
    path = tmp_path / "sluice.yaml"
    path.write_text(text)
    return path, ports


def wait_until(pred, timeout, interval=0.05, what="condition"):
    """Polls pred() until it returns a true value, which is returned; raises TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not met after {timeout:.1f}s")
        time.sleep(interval)


def tail(text, max_lines=300, max_chars=64 * 1024):
    lines = text[-max_chars:].splitlines()
    cut = len(lines) > max_lines or len(text) > max_chars
    lines = lines[-max_lines:]
    return ("[... earlier lines cut ...]\n" if cut else "") + "\n".join(lines)


class SluiceProcess:
    """One running component: `sluice <component> [--listen 127.0.0.1:PORT] [--data-dir DIR]
    args...`, with stdout and stderr appended to log_path. The port and data dir survive
    restart(), so a test can crash a component and bring it back on the same state.

    argv may replace the command line (a list; "{port}" and "{data_dir}" in it are substituted),
    which lets the harness test itself without a sluice component."""

    def __init__(self, component, workdir, *, args=(), listen=True, data_dir=None, env=None,
                 argv=None, name=None, ready_timeout=10, stop_grace=5, check_exit=True):
        self.component = component
        self.name = name or component
        self.args = [str(a) for a in args]
        self.listen = bool(listen)
        self.port = (listen if isinstance(listen, int) and not isinstance(listen, bool)
                     else free_port()) if listen else None
        self.host = HOST
        self.workdir = Path(workdir)
        self.data_dir = self.workdir / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.workdir / "log"
        self.pass_data_dir = (component in DATA_DIR_COMPONENTS) if data_dir is None else data_dir
        self.env = dict(os.environ)
        self.env.update({k: str(v) for k, v in (env or {}).items()})
        self.argv_template = list(argv) if argv is not None else None
        self.ready_timeout = ready_timeout
        self.stop_grace = stop_grace
        self.check_exit = check_exit
        self.proc = None
        self.starts = 0
        self.unclean = []  # reasons a stop was not clean, reported at teardown

    @property
    def addr(self):
        return f"{self.host}:{self.port}" if self.port else None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    @property
    def returncode(self):
        return self.proc.poll() if self.proc else None

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def argv(self):
        if self.argv_template is not None:
            return [a.replace("{port}", str(self.port)).replace("{data_dir}", str(self.data_dir))
                    for a in map(str, self.argv_template)]
        cmd = [str(sluice_bin()), self.component]
        if self.listen:
            cmd += ["--listen", self.addr]
        if self.pass_data_dir:
            cmd += ["--data-dir", str(self.data_dir)]
        return cmd + self.args

    def start(self, wait=True):
        """Starts the process; with wait (and a listen port), returns once it accepts TCP."""
        assert not self.running, f"{self.name} is already running"
        self.starts += 1
        cmd = self.argv()
        with open(self.log_path, "ab") as log:
            log.write(f"=== start {self.starts}: {' '.join(cmd)}\n".encode())
            log.flush()
            # A session of its own, so teardown can kill whatever the process spawned.
            self.started_at = time.monotonic()
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, env=self.env,
                                         cwd=self.workdir, start_new_session=True)
        if wait and self.listen:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=None):
        """Waits until the component accepts TCP connections on its port (scaled timeout)."""
        assert self.listen, f"{self.name} does not listen"
        t = scaled(timeout if timeout is not None else self.ready_timeout)
        try:
            wait_port(self.host, self.port, t, self.proc)
        except (TimeoutError, RuntimeError) as e:
            raise RuntimeError(f"{self.name} on {self.addr}: {e}\n{tail(self.log_text(), 40)}") \
                from None
        return self

    def wait(self, timeout=30):
        """Waits for the process to exit by itself (scaled timeout); returns its exit status."""
        try:
            return self.proc.wait(scaled(timeout))
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"{self.name} still running after {scaled(timeout):.1f}s") from None

    def stop(self, grace=None):
        """SIGTERM, then SIGKILL if still running after the grace period; returns the exit
        status. A process that needed SIGKILL is noted as an unclean stop."""
        if not self.running:
            return self.returncode
        g = scaled(grace if grace is not None else self.stop_grace)
        self._wait_sigterm_handler()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(g)
        except subprocess.TimeoutExpired:
            self.unclean.append(f"did not exit within {g:.1f}s of SIGTERM; sent SIGKILL")
            self.proc.kill()
            rc = self.proc.wait()
        if rc != 0:
            self.unclean.append(f"exited with status {rc} after SIGTERM")
        self._note("stop", rc)
        return rc

    def _wait_sigterm_handler(self, timeout=2.0):
        """Until timeout (scaled) after its start, waits for the process to catch SIGTERM.
        Every sluice command installs its handler first thing, but the dynamic loader runs
        before that: a SIGTERM in those milliseconds after exec kills by default action (-15),
        as it would any program. A CI run stopped a just-restarted `sluice process` there
        (test_0381)."""
        deadline = self.started_at + scaled(timeout)
        while self.running and time.monotonic() < deadline:
            try:
                with open(f"/proc/{self.proc.pid}/status") as f:
                    caught = next(int(l.split()[1], 16) for l in f if l.startswith("SigCgt:"))
            except (OSError, StopIteration):
                return
            if caught & (1 << (signal.SIGTERM - 1)):
                return
            time.sleep(0.002)

    def kill9(self):
        """SIGKILL, as a crash or power cut would; returns once the process is gone."""
        if self.running:
            self.proc.kill()
            self.proc.wait()
            self._note("kill -9", self.proc.returncode)
        return self.returncode

    def restart(self, kill=False, wait=True):
        """Stops (or, with kill, SIGKILLs) the process and starts it again on the same port and
        data dir; with wait, returns once it accepts connections again."""
        if kill:
            self.kill9()
        else:
            self.stop()
        return self.start(wait=wait)

    def crash_restart(self, wait=True):
        """kill -9, then restart on the same data dir and port."""
        return self.restart(kill=True, wait=wait)

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for_log(self, pattern, timeout=10):
        """Waits until the log matches the regex pattern; returns the match."""
        rx = re.compile(pattern)
        return wait_until(lambda: rx.search(self.log_text()), scaled(timeout),
                          what=f"{self.name} log matching {pattern!r}")

    def sanitizer_report(self):
        m = SANITIZER_RE.search(self.log_text())
        return m.group(0) if m else None

    def cleanup(self):
        """Teardown: stop the process, kill anything left in its session, and return the list of
        problems (sanitizer reports, unclean stops) to report."""
        self.stop()
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        problems = [f"{self.name}: {u}" for u in self.unclean] if self.check_exit else []
        rep = self.sanitizer_report()
        if rep:
            problems.append(f"{self.name}: sanitizer report in log: {rep}")
        return problems

    def _note(self, what, rc):
        with open(self.log_path, "ab") as log:
            log.write(f"=== {what}: exit status {rc}\n".encode())

    def __repr__(self):
        return f"<SluiceProcess {self.name} {self.addr or ''} pid={self.pid}>"


def run_sluice(*args, timeout=30, input=None, env=None):
    """Runs `sluice args...` to completion; returns a CompletedProcess with text output."""
    e = dict(os.environ)
    e.update({k: str(v) for k, v in (env or {}).items()})
    return subprocess.run([str(sluice_bin()), *map(str, args)], capture_output=True, text=True,
                          timeout=scaled(timeout), input=input, env=e,
                          stdin=None if input is not None else subprocess.DEVNULL)


class PostgresServer:
    """A throwaway PostgreSQL cluster on a random loopback port, its unix socket in its own temp
    dir. PostgreSQL refuses to run as root, so as root initdb and pg_ctl run as the postgres user
    through runuser, and the temp dir is made reachable for that user."""

    def __init__(self):
        self.bin_dir = self.find_bin_dir()
        self.port = free_port()
        self.host = HOST
        self.user = "postgres"
        self.root = Path(tempfile.mkdtemp(prefix="sluice-pg-"))
        self.root.chmod(0o755)
        self.data_dir = self.root / "data"
        self.socket_dir = self.root / "sock"
        self.log_path = self.root / "postgres.log"
        self.as_root = os.geteuid() == 0
        for d in (self.data_dir, self.socket_dir):
            d.mkdir(mode=0o700)
        if self.as_root:
            self.log_path.touch()
            for p in (self.data_dir, self.socket_dir, self.log_path):
                shutil.chown(p, "postgres", "postgres")
        self.started = False

    @staticmethod
    def find_bin_dir():
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                       key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
        if found:
            return Path(found[-1]).parent
        pg_ctl = shutil.which("pg_ctl")
        if pg_ctl:
            return Path(pg_ctl).parent
        raise RuntimeError("PostgreSQL server binaries not found (scripts/install-deps installs "
                           "the postgresql package)")

    def _run(self, tool, *args, timeout=60):
        cmd = [str(self.bin_dir / tool), *map(str, args)]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=scaled(timeout),
                           stdin=subprocess.DEVNULL, cwd=self.root)
        if r.returncode != 0:
            raise RuntimeError(f"{tool} failed ({r.returncode}): {r.stdout}{r.stderr}\n"
                               f"{tail(self.log_text(), 40)}")
        return r

    def start(self):
        self._run("initdb", "-D", self.data_dir, "-U", self.user, "-A", "trust", "-E", "UTF8",
                  "--locale=C", "--no-sync", "--no-instructions")
        opts = (f"-p {self.port} -k {self.socket_dir} -c listen_addresses={self.host} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._run("pg_ctl", "-D", self.data_dir, "-l", self.log_path, "-o", opts, "-w",
                  "-t", str(int(scaled(60))), "start", timeout=90)
        self.started = True
        return self

    def stop(self):
        if self.started:
            try:
                self._run("pg_ctl", "-D", self.data_dir, "-m", "immediate", "-w", "stop")
            finally:
                self.started = False
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def dsn(self):
        """libpq key=value connection string for the postgres database (psycopg2.connect and
        PQconnectdb take it)."""
        return self.dsn_for("postgres")

    @property
    def url(self):
        """The same as a postgresql:// URL, the form sluice's flags take."""
        return self.url_for("postgres")

    def dsn_for(self, dbname):
        return f"host={self.host} port={self.port} user={self.user} dbname={dbname}"

    def url_for(self, dbname):
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"

    def socket_dsn(self, dbname="postgres"):
        """A DSN over the unix socket in the temp dir."""
        return f"host={self.socket_dir} port={self.port} user={self.user} dbname={dbname}"

    def create_database(self, name):
        self.sql(f'CREATE DATABASE "{name}"')

    def drop_database(self, name):
        self.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def sql(self, statement, dbname="postgres"):
        import psycopg2  # Debian's python3-psycopg2

        conn = psycopg2.connect(self.dsn_for(dbname))
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(statement)
                return cur.fetchall() if cur.description else None
        finally:
            conn.close()

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except (FileNotFoundError, PermissionError):
            return ""


def node_modules():
    return REPO / "node_modules"


def run_node(script, *args, timeout=30, input=None, env=None, check=True, workdir=None):
    """Runs a Node.js script (JavaScript source text, or a path to a .js file) with NODE_PATH set
    to the repository's node_modules, so require('kafkajs') and require('cassandra-driver')
    resolve. process.argv[2:] are args. Returns a CompletedProcess; with check, a non-zero exit
    raises AssertionError carrying the script's output."""
    nm = node_modules()
    if not (nm / "kafkajs").is_dir():
        raise RuntimeError(f"{nm} lacks kafkajs: run scripts/install-deps")
    e = dict(os.environ)
    e["NODE_PATH"] = str(nm)
    e.update({k: str(v) for k, v in (env or {}).items()})
    tmp = None
    if isinstance(script, Path) or (isinstance(script, str) and script.endswith(".js")
                                    and "\n" not in script and Path(script).is_file()):
        path = Path(script)
    else:
        fd, tmp = tempfile.mkstemp(suffix=".js", prefix="sluice-node-", dir=workdir)
        with os.fdopen(fd, "w") as f:
            f.write(script)
        path = Path(tmp)
    try:
        r = subprocess.run(["node", str(path), *map(str, args)], capture_output=True, text=True,
                           timeout=scaled(timeout), input=input, env=e,
                           stdin=None if input is not None else subprocess.DEVNULL)
    finally:
        if tmp:
            os.unlink(tmp)
    if check and r.returncode != 0:
        raise AssertionError(f"node {path.name} exited {r.returncode}\n--- stdout\n{r.stdout}"
                             f"\n--- stderr\n{r.stderr}")
    return r


def kcat_path():
    """Path of Debian's kcat (installed by scripts/install-deps)."""
    p = shutil.which("kcat")
    if not p:
        raise RuntimeError("kcat not found: run scripts/install-deps")
    return p
