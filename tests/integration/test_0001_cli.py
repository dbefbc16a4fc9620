"""The command-line contract (ARCHITECTURE.md "CLI contract"): --help and --version, dispatch to
the subcommands that exist, and exit status 2 with a one-line reason for anything unknown or
malformed."""

import re
import subprocess

import pytest

import sluice_harness as sh

CONTRACT = {"up", "broker", "store", "registry", "console", "scheduler", "fake-api", "ingest",
            "process", "dag", "cql", "topic"}
# Subcommands whose contract has --listen HOST:PORT.
LISTENERS = {"broker", "store", "registry", "console", "fake-api"}


def listed_commands():
    """The subcommands `sluice --help` lists, read at collection time so each gets its own
    tests. Empty when the binary is missing; test_help then reports that."""
    try:
        r = subprocess.run([str(sh.sluice_bin()), "--help"], capture_output=True, text=True,
                           timeout=sh.scaled(10), stdin=subprocess.DEVNULL)
    except OSError:
        return []
    return re.findall(r"^\s+sluice ([a-z][a-z0-9-]*)\b", r.stdout, re.M)


COMMANDS = listed_commands()
LISTENING_COMMANDS = [c for c in COMMANDS if c in LISTENERS]


def one_line(text):
    lines = text.strip().splitlines()
    assert len(lines) == 1, f"expected a one-line reason, got {len(lines)} lines:\n{text}"
    return lines[0]


def test_help(run_sluice):
    r = run_sluice("--help")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("sluice "), r.stdout
    assert "Usage:" in r.stdout
    assert "sluice --version" in r.stdout
    assert r.stderr == ""
    assert run_sluice("-h").stdout == r.stdout


def test_help_lists_only_contract_commands():
    assert set(COMMANDS) <= CONTRACT, f"not in the CLI contract: {set(COMMANDS) - CONTRACT}"
    assert len(COMMANDS) == len(set(COMMANDS)), f"listed twice: {COMMANDS}"


def test_version(run_sluice, repo):
    r = run_sluice("--version")
    assert r.returncode == 0, r.stderr
    m = re.fullmatch(r"sluice (\d+\.\d+\.\d+)\n", r.stdout)
    assert m, repr(r.stdout)
    cmake = (repo / "CMakeLists.txt").read_text()
    assert re.search(r"project\(sluice VERSION " + re.escape(m.group(1)) + r"\b", cmake)


def test_no_arguments_is_a_usage_error(run_sluice):
    r = run_sluice()
    assert r.returncode == 2
    assert r.stdout == ""
    assert "Usage:" in r.stderr


@pytest.mark.parametrize("word", ["frobnicate", "brokers", "Broker", "x" * 300])
def test_unknown_command_exits_2(run_sluice, word):
    r = run_sluice(word, "--help")
    assert r.returncode == 2
    assert r.stdout == ""
    line = one_line(r.stderr)
    assert "unknown command" in line and word[:50] in line


@pytest.mark.parametrize("flag", ["--bogus", "-x", "--help=yes", "--"])
def test_unknown_top_level_flag_exits_2(run_sluice, flag):
    r = run_sluice(flag)
    assert r.returncode == 2
    line = one_line(r.stderr)
    assert "unknown flag" in line and flag in line


@pytest.mark.parametrize("cmd", COMMANDS)
def test_command_help(run_sluice, cmd):
    r = run_sluice(cmd, "--help")
    assert r.returncode == 0, r.stderr
    assert cmd in r.stdout
    if cmd in LISTENERS:
        assert "--listen" in r.stdout


@pytest.mark.parametrize("cmd", COMMANDS)
def test_command_unknown_flag_exits_2(run_sluice, cmd):
    r = run_sluice(cmd, "--no-such-flag", "1", timeout=10)
    assert r.returncode == 2, f"{cmd}: exit {r.returncode}\n{r.stdout}{r.stderr}"
    assert "--no-such-flag" in one_line(r.stderr) or "no-such-flag" in r.stderr


@pytest.mark.parametrize("cmd", LISTENING_COMMANDS)
@pytest.mark.parametrize("value", ["nohostport", "127.0.0.1:99999", "127.0.0.1:-1",
                                   "127.0.0.1:http", ":"])
def test_command_bad_listen_exits_2(run_sluice, cmd, value):
    r = run_sluice(cmd, "--listen", value, timeout=10)
    assert r.returncode == 2, f"{cmd} --listen {value}: exit {r.returncode}\n{r.stderr}"
    assert "listen" in one_line(r.stderr)


@pytest.mark.parametrize("cmd", LISTENING_COMMANDS)
def test_command_missing_flag_value_exits_2(run_sluice, cmd):
    r = run_sluice(cmd, "--listen", timeout=10)
    assert r.returncode == 2
    assert "listen" in one_line(r.stderr)
