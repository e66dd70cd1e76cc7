"""Shared fixtures: the CLI as a subprocess, and what is loaded in the kernel."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

# The OCI registry fixtures (a real docker-registry on 127.0.0.1) for every test module.
pytest_plugins = ["registry"]

ROOT = Path(__file__).resolve().parent.parent
LMP = [sys.executable, "-m", "lmp_tui.cli"]


# Programs the tests load that are not in the Hub (tests/data, bench/ringgen).
_TEST_PROGRAMS = {"handle_exec", "handle", "first", "second", "h", "on_getppid"}


@functools.cache
def our_program_names() -> frozenset[str]:
    """BPF program names of ours, as the kernel stores them (at most 15 characters)."""
    from lmp_tui.runtime.distribution.hub import builtin_programs

    names = set(_TEST_PROGRAMS)
    for prog in builtin_programs():
        names |= {p.name for p in prog.package.progs}
    return frozenset(n[:15] for n in names)


def bpf_prog_ids() -> set[int]:
    """Ids of loaded BPF programs that are ours (other tools on the machine are not counted)."""
    out = subprocess.run(
        ["bpftool", "prog", "show", "-j"], capture_output=True, text=True, check=True
    )
    ours = our_program_names()
    return {p["id"] for p in json.loads(out.stdout or "[]") if p.get("name") in ours}


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
