"""deploy/: sluice beside real clusters. No container engine runs here, so the checks are: the
compose file is well formed and runs only commands and flags the binary has; the runtime image
installs a package for every shared library the binary links; and `sluice up` with
kafka.bootstrap and cassandra.contact_points set, as deploy/sluice.yaml has them, starts neither
embedded engine and moves users into the cluster it was given (here a separate broker and store
standing in for the clusters)."""
import re
import signal
import subprocess
import types
from pathlib import Path

import yaml

import cql_util
import test_0900_up as up_test
import sluice_harness as sh

def repo():
    return Path(__file__).resolve().parents[2]


def test_compose_file_is_consistent(run_sluice):
    compose = yaml.safe_load((repo() / "deploy" / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"kafka", "cassandra", "postgres", "sluice", "process"} <= set(services)
    for name, svc in services.items():
        for dep in svc.get("depends_on", {}):
            assert dep in services, f"{name} depends on unknown service {dep}"
    assert services["sluice"]["build"]["dockerfile"] == "deploy/Dockerfile"
    commands = set(re.findall(r"^  sluice (\S+)", run_sluice("--help").stdout, re.M))
    for name in ("sluice", "process"):
        cmd = services[name]["command"]
        assert cmd[0] in commands, f"{name}: sluice has no command {cmd[0]}"
        flags = {a.split("=")[0] for a in cmd[1:] if a.startswith("--")}
        help_text = run_sluice(cmd[0], "--help").stdout
        for f in flags:
            assert f in help_text, f"{name}: sluice {cmd[0]} has no flag {f}"
    # The config the image carries points at the compose services.
    cfg = yaml.safe_load((repo() / "deploy" / "sluice.yaml").read_text())
    assert cfg["kafka"]["bootstrap"].split(":")[0] == "kafka"
    assert cfg["cassandra"]["contact_points"].split(":")[0] == "cassandra"


def test_compose_config_parses():
    """Compose itself reads the file: Debian's docker-compose 1.29 validates it against the
    Compose schema and resolves build contexts, env and volumes without a container engine."""
    r = subprocess.run(["docker-compose", "-p", "sluice", "-f",
                        str(repo() / "deploy" / "docker-compose.yml"), "config"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    services = yaml.safe_load(r.stdout)["services"]
    assert {"kafka", "cassandra", "postgres", "sluice", "process"} <= set(services)
    assert services["sluice"]["build"]["context"] == str(repo())


def test_runtime_image_has_every_shared_library(sluice_bin):
    """Every library the binary links directly (NEEDED) comes from a Debian package that the
    Dockerfile's runtime stage installs, or from libc6 and libgcc-s1, which every image has."""
    text = (repo() / "deploy" / "Dockerfile").read_text()
    runtime = text[text.index("FROM debian:bookworm-slim"):]
    listed = set(re.findall(r"\b(lib[a-z0-9.+-]+[a-z0-9]|zlib1g)\b", runtime)) | {"libc6",
                                                                                  "libgcc-s1"}
    needed = re.findall(r"NEEDED\s+(\S+)", subprocess.run(
        ["objdump", "-p", str(sluice_bin)], capture_output=True, text=True).stdout)
    resolved = dict(re.findall(r"^\s*(\S+) => (/\S+)", subprocess.run(
        ["ldd", str(sluice_bin)], capture_output=True, text=True).stdout, re.M))
    # A sanitizer build links its runtimes; the image is built without them.
    needed = [n for n in needed if not re.match(r"lib(asan|ubsan|lsan|tsan)\.", n)]
    assert needed
    missing = []
    for lib in needed:
        path = resolved.get(lib)
        assert path, f"ldd does not resolve {lib}"
        owner = ""
        for p in (path, path.replace("/usr/lib/", "/lib/", 1), path.replace("/lib/", "/usr/lib/", 1)):
            owner = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True).stdout
            if owner:
                break
        pkg = owner.split(":")[0].strip()
        if pkg not in listed:
            missing.append(f"{lib} (package {pkg or 'unknown'})")
    assert not missing, "the runtime image lacks: " + ", ".join(missing)


def test_up_against_external_clusters(sluice_proc, tmp_path):
    broker = sluice_proc("broker")
    store = sluice_proc("store")
    api_port, sched_port = sh.free_port(), sh.free_port()
    cfg = tmp_path / "sluice.yaml"
    cfg.write_text(f"kafka:\n  bootstrap: {broker.addr}\n"
                   f"cassandra:\n  contact_points: {store.addr}\n"
                   "  user: cassandra\n  password: cassandra\n"
                   f"fake-api:\n  listen: 127.0.0.1:{api_port}\n"
                   f"scheduler:\n  listen: 127.0.0.1:{sched_port}\n")
    up = sluice_proc("up", listen=False, data_dir=True,
                     args=["--config", str(cfg), "--ingest-duration", "2s"])
    up.wait_for_log(r"sluice is up", timeout=60)
    log = up.log_text()
    assert not re.search(r"^up\s+\| (broker|store) started", log, re.M)
    up_test.wait_runs_done(sched_port)
    n = up_test.records_in(broker.addr, "users_created")
    assert n > 0
    c = cql_util.cluster(types.SimpleNamespace(host=store.host, port=store.port))
    s = c.connect()
    try:
        sh.wait_until(lambda: s.execute(
            "SELECT count(*) FROM spark_streams.created_users").one()[0] == n,
            sh.scaled(60), what=f"{n} rows in the external store")
    finally:
        c.shutdown()
    up.proc.send_signal(signal.SIGINT)
    assert up.wait(timeout=15) == 0
    assert broker.running and store.running  # up stops only what it started
