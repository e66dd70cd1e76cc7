"""Shared fixtures: the CLI as a subprocess, and what is loaded in the kernel."""

from __future__ import annotations

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


def bpf_prog_ids() -> set[int]:
    out = subprocess.run(
        ["bpftool", "prog", "show", "-j"], capture_output=True, text=True, check=True
    )
    return {p["id"] for p in json.loads(out.stdout or "[]")}


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
