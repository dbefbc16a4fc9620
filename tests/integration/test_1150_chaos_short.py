"""Issue 11, chaos (short): tests/chaos/chaos.py for 60 s inside `make test` (`make chaos` runs
the same code for 10 minutes). `sluice up` under continuous acks=all ingest while the broker,
store, processor, scheduler and registry are SIGKILLed at random; afterwards every acknowledged
record is a row and once in the topic, the processor's lag is 0, every DAG run is final and no
process sampled for 30 s past warm-up shows sustained RSS growth (chaos.rss_verdict: slopes in
kB/min, printed). The seed is printed (rerun with `chaos.py --seed N`)."""
import subprocess
import sys

import sluice_harness as sh

sys.path.insert(0, str(sh.REPO / "tests" / "chaos"))
import chaos  # noqa: E402


def sanitizer_build():
    """True when the binary under test links libasan (`make test-asan`)."""
    out = subprocess.run(["ldd", str(sh.sluice_bin())], capture_output=True, text=True).stdout
    return "libasan" in out


def test_chaos_short(tmp_path):
    fig = chaos.run(60, workdir=tmp_path / "chaos")
    chaos.print_figures(fig)
    assert fig["kills_survived"] >= 5
    assert all(n >= 1 for n in fig["kills"].values()), fig["kills"]  # every component at least once
    assert fig["records_checked"] > 1000
    assert fig["records_lost"] == 0
    # up, fake-api and the console are never killed: at least their series are long enough.
    # A sanitizer build's series are not judged (chaos.rss_verdict): its RSS is shadow memory.
    if not sanitizer_build():
        assert fig["rss_processes_checked"] >= 3, fig["rss_processes_checked"]
    assert fig["duplicates"] == 0
    assert fig["problems"] == [], "\n".join(fig["problems"]) + f"\nup's log: {fig['up_log']}"


def test_rss_verdict_rule():
    """The leak rule on made-up series of one sample a second: steady growth is a leak, a step
    is not, the store's growth within its buffers is not, a short life and a sanitizer build are
    not judged."""
    def series(f, n=80, sanitized=False):
        return [(a, f(a), sanitized) for a in range(n)]

    samples = {
        1: ("console", series(lambda a: 20000 + 25 * a)),  # 1500 kB/min
        2: ("broker", series(lambda a: 20000 + (8000 if a > 30 else 0))),
        3: ("store", series(lambda a: 30000 + 100 * a)),  # 6000 kB/min, 6.5 MB in all
        4: ("store", series(lambda a: 30000 + 100 * a, n=400)),  # the same past its 32 MiB
        5: ("registry", series(lambda a: 20000 + 500 * a, n=44)),
        6: ("scheduler", series(lambda a: 20000 + 500 * a, sanitized=True)),
        7: ("up", series(lambda a: 20000 + 8 * (a % 3))),
    }
    checked, bad, table = chaos.rss_verdict(samples)
    assert checked == 5
    assert [b.split(":")[0] for b in bad] == ["console pid 1", "store pid 4"], bad
    assert {r["pid"]: r["judged"] for r in table} == {1: True, 2: True, 3: True, 4: True,
                                                      5: False, 7: True}
    assert table[0]["slope_kb_min"] == 1500.0 and table[1]["late_slope_kb_min"] == 0.0
