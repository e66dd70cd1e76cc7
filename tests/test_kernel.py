"""The built-in programs really load, attach and report what the test triggers.

These run as root with BPF, here and in CI; they are not skipped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from lmp_tui.runtime.distribution.hub import find_builtin
from lmp_tui.runtime.runs.session import LiveSession

pytestmark = pytest.mark.usefixtures("no_leaks")


def collect(
    session: LiveSession, until: Callable[[list[dict[str, Any]]], bool], timeout: float = 5.0
) -> list[dict[str, Any]]:
    """Drain decoded events until ``until(rows)`` holds or the timeout passes."""
    rows: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = session.source.drain()
        if batch is not None and batch.count:
            decoder = session.decoders.events
            rows += decoder.rows(decoder.array(batch.records, batch.count))
            if until(rows):
                break
        else:
            time.sleep(0.02)
    return rows


@pytest.fixture
def sleeper():
    child = subprocess.Popen(["sleep", "30"])
    yield child
    child.kill()
    child.wait()


@pytest.mark.parametrize("kill_only", [False, True])
def test_sigsnoop_reports_our_signal(sleeper, kill_only):
    with LiveSession(find_builtin("sigsnoop").package, {"kill_only": kill_only}) as s:
        assert s.program.attached == (6 if kill_only else 1)
        os.kill(sleeper.pid, signal.SIGUSR1)
        rows = collect(s, lambda rows: any(r["tpid"] == sleeper.pid for r in rows))
    mine = [r for r in rows if r["tpid"] == sleeper.pid]
    assert mine, rows
    assert mine[0]["pid"] == os.getpid()
    assert mine[0]["sig"] == signal.SIGUSR1
    assert mine[0]["ret"] == 0
    assert mine[0]["comm"]


def test_sigsnoop_filters_by_signal(sleeper):
    with LiveSession(find_builtin("sigsnoop").package, {"target_signal": 12}) as s:
        os.kill(sleeper.pid, signal.SIGUSR1)
        os.kill(sleeper.pid, signal.SIGUSR2)
        rows = collect(s, lambda rows: any(r["tpid"] == sleeper.pid for r in rows))
    assert [r["sig"] for r in rows if r["tpid"] == sleeper.pid] == [12]


def test_bootstrap_exec_and_exit():
    with LiveSession(find_builtin("bootstrap").package) as s:
        child = subprocess.run(["/bin/sh", "-c", "exec /bin/true"], check=True)
        del child
        exit3 = subprocess.Popen(["/bin/sh", "-c", "sleep 0.2; exit 3"])
        exit3.wait()
        rows = collect(s, lambda rows: any(r["pid"] == exit3.pid and r["exit_event"] for r in rows))
    execs = [r for r in rows if not r["exit_event"] and r["filename"] == "/bin/true"]
    assert execs and execs[0]["comm"] == "true"
    [done] = [r for r in rows if r["pid"] == exit3.pid and r["exit_event"]]
    assert done["exit_code"] == 3
    assert 150_000_000 < done["duration_ns"] < 5_000_000_000
    assert done["ppid"] == os.getpid()


def test_procstat_sees_rss_grow():
    # procstat reports a task when it is switched out, so the child wakes every 50 ms, before
    # and after it touches 64 MiB, to be seen in both states.
    code = (
        "import time\n"
        "for _ in range(10): time.sleep(0.05)\n"
        "b = bytearray(64 << 20)\n"
        "for i in range(0, len(b), 4096): b[i] = 1\n"
        "for _ in range(40): time.sleep(0.05)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code])
    try:
        with LiveSession(
            find_builtin("procstat").package, {"filtered_pid": child.pid, "min_interval_ms": 10}
        ) as s:
            rows = collect(
                s,
                lambda rows: (
                    len(rows) > 1
                    and max(r["rssanon"] for r in rows) - min(r["rssanon"] for r in rows) > 15000
                ),
                timeout=6,
            )
    finally:
        child.kill()
        child.wait()
    assert rows and {r["pid"] for r in rows} == {child.pid}
    rss = [r["rssanon"] for r in rows]
    assert max(rss) - min(rss) > 15000, rss  # 64 MiB = 16384 pages
    last = rows[-1]
    assert last["size"] >= last["rssanon"] and last["vsize"] > last["size"]


def test_runqlat_histogram_fills():
    with LiveSession(find_builtin("runqlat").package) as s:
        assert s.spec.kind == "sample" and s.spec.sample.type == "log2_hist"
        for _ in range(50):
            time.sleep(0.002)
        batch = s.source.snapshot()
    entries = s.decoders.snapshot.entries(batch.records, batch.count)
    assert entries
    key, value = entries[0]
    assert list(key) == ["u32"] or len(key) == 1
    assert sum(value["slots"]) > 0


def test_perf_buffer_programs_deliver_events(tmp_path):
    from pathlib import Path

    from lmp_tui.runtime.author.build import build
    from lmp_tui.runtime.format.package import load_package

    root = Path(__file__).resolve().parent
    built = build(
        root / "data/perfexec",
        outdir=tmp_path,
        vmlinux=root.parent / "lmp_tui/hub/include/x86",
        log=lambda _: None,
    )
    with LiveSession(load_package(built.package_json)) as s:
        assert s.spec.kind == "perf"
        child = subprocess.Popen(["/bin/true"])
        child.wait()
        rows = collect(s, lambda rows: any(r["pid"] == child.pid for r in rows))
    [mine] = [r for r in rows if r["pid"] == child.pid]
    assert mine["comm"] == "true"


def test_unmounted_tracefs_is_mounted_before_a_tracepoint_run():
    """A fresh container has no tracefs: `lmp run` mounts it (mount(2), as root) and runs.
    The run is in a mount namespace of its own so the host's tracefs stays as it is."""
    script = (
        "umount /sys/kernel/tracing && test ! -d /sys/kernel/tracing/events && "
        f"{sys.executable} -m lmp_tui.cli run sigsnoop --duration 0"
    )
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "detached" in done.stderr
