"""Shared fixtures: the CLI as a subprocess, and what is loaded in the kernel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

# The OCI registry fixtures (a real docker-registry on 127.0.0.1) for every test module.
pytest_plugins = ["registry"]

# Wall-clock columns (the TUI's time, lmp run's TIME) are local time: snapshots must not depend
# on the machine's zone.
os.environ["TZ"] = "UTC"
time.tzset()

ROOT = Path(__file__).resolve().parent.parent
LMP = [sys.executable, "-m", "lmp_tui.cli"]


def _holders() -> tuple[dict[int, set[int]], dict[int, int]]:
    """Which processes hold which BPF programs (their fds' fdinfo), and every process's
    parent."""
    held: dict[int, set[int]] = {}
    parents: dict[int, int] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        pid = int(proc.name)
        try:
            stat = (proc / "stat").read_text()
            parents[pid] = int(stat.rsplit(")", 1)[1].split()[1])
            for fd in (proc / "fdinfo").iterdir():
                for line in fd.read_text().splitlines():
                    if line.startswith("prog_id:"):
                        held.setdefault(int(line.split()[1]), set()).add(pid)
        except (OSError, ValueError, IndexError):
            continue  # a process that went away meanwhile
    return held, parents


def _descends_from(pid: int, root: int, parents: dict[int, int]) -> bool:
    seen = set()
    while pid and pid not in seen:
        if pid == root:
            return True
        seen.add(pid)
        pid = parents.get(pid, 0)
    return False


def loaded_programs() -> set[int]:
    out = subprocess.run(
        ["bpftool", "prog", "show", "-j"], capture_output=True, text=True, check=True
    )
    return {p["id"] for p in json.loads(out.stdout or "[]")}


def programs_held_by(root: int) -> set[int]:
    """The BPF programs that process ``root`` or one of its descendants holds."""
    held, parents = _holders()
    return {
        prog
        for prog, holders in held.items()
        if any(_descends_from(pid, root, parents) for pid in holders)
    }


def bpf_prog_ids() -> set[int]:
    """Ids of the loaded BPF programs that could be ours: held by this test process or a
    process it started, or held by no process at all (what a leak looks like: loaded after
    whoever loaded it is gone). Programs other tools hold, a parallel test run's included,
    are not counted: they are told apart by the process that holds them, not by name."""
    held, parents = _holders()
    me = os.getpid()
    return {
        prog
        for prog in loaded_programs()
        if not held.get(prog) or any(_descends_from(pid, me, parents) for pid in held[prog])
    }


def lmp(*args: str, timeout: float = 60, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LMP, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT, **kw
    )


@pytest.fixture
def no_leaks():
    """Asserts the test leaves no BPF program loaded that was not there before."""
    before = bpf_prog_ids()
    yield
    assert_no_leaks(before)


def assert_no_leaks(before: set[int], settle: float = 3.0) -> None:
    # The kernel frees detached tracing programs after an RCU grace period, so a program
    # that was released can still be listed for a moment.
    deadline = time.monotonic() + settle
    while (leaked := bpf_prog_ids() - before) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not leaked, f"BPF programs left loaded: {sorted(leaked)}"
