#!/usr/bin/env python3
"""Start-up: how long until a program is attached and gone again, and until the TUI draws.

    .venv/bin/python bench/startup.py            # 15 rounds of each, about a minute
    .venv/bin/python bench/startup.py --rounds 5

Two comparisons, each measured in the same run, alternating the two sides round by round so
that a busy moment of the machine hits both:

* ``lmp run sigsnoop --duration 0`` against ``bpftrace -e 'BEGIN { exit() }
  tracepoint:signal:signal_generate {}'``: both load and really attach a program on the same
  tracepoint, then detach and exit (the kernel's detach, ~70 ms here, is paid by both). Wall time
  from spawn to exit. Target: lmp <= 0.6 x bpftrace.
* ``lmp-tui`` against a minimal Textual app (one Static), each in a pseudo-terminal of 120x40:
  wall time from spawn to the first frame that shows its content (the Hub list for lmp-tui).
  Target: lmp-tui <= 1.5 x the minimal app.

Medians are reported with the spread (min-max); the ratio is of the medians.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import pty
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent
TARGET_RUN = 0.6
TARGET_TUI = 1.5

BPFTRACE = ["bpftrace", "-e", "BEGIN { exit() } tracepoint:signal:signal_generate {}"]
LMP_RUN = [str(VENV_BIN / "lmp"), "run", "sigsnoop", "--duration", "0"]

MINIMAL_APP = """
from textual.app import App
from textual.widgets import Static

class Minimal(App):
    def compose(self):
        yield Static("minimal textual app ready")

Minimal().run()
"""


def wall(argv: list[str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-300:]}")
    return elapsed


def first_frame(argv: list[str], marker: bytes, env: dict[str, str], timeout: float = 20) -> float:
    """Seconds from spawning ``argv`` in a 120x40 pseudo-terminal until ``marker`` appears
    in what it writes; then it is sent SIGTERM (and killed if it lingers)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: a terminal of its own
        os.execvpe(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    t0 = time.perf_counter()
    seen = b""
    try:
        while marker not in seen:
            if time.perf_counter() - t0 > timeout:
                raise SystemExit(f"{argv[0]}: no {marker!r} on screen after {timeout} s")
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                try:
                    seen += os.read(fd, 1 << 16)
                except OSError:
                    break
        return time.perf_counter() - t0
    finally:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        # read what it writes while it exits, so it never blocks on a full terminal
        while time.monotonic() < deadline and os.waitpid(pid, os.WNOHANG) == (0, 0):
            if select.select([fd], [], [], 0.05)[0]:
                with contextlib.suppress(OSError):
                    os.read(fd, 1 << 16)
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)


def summary(times: list[float]) -> str:
    med = statistics.median(times)
    return f"{med * 1000:7.0f} ms  ({min(times) * 1000:.0f}-{max(times) * 1000:.0f})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    if shutil.which("bpftrace") is None:
        raise SystemExit("bpftrace is not installed: apt-get install bpftrace (setup.sh does)")
    env = {**os.environ, "TERM": "xterm-256color"}
    env.pop("COLUMNS", None), env.pop("LINES", None)
    env["LMP_CONFIG_DIR"] = str(BENCH / ".build" / "startup-config")  # no user config

    results: dict[str, list[float]] = {k: [] for k in ("lmp run", "bpftrace", "lmp-tui", "app")}
    wall(LMP_RUN), wall(BPFTRACE)  # warm the page cache for both
    for _ in range(args.rounds):
        results["lmp run"].append(wall(LMP_RUN))
        results["bpftrace"].append(wall(BPFTRACE))
        tui = [str(VENV_BIN / "lmp-tui")]
        results["lmp-tui"].append(first_frame(tui, b"sigsnoop", env))
        app = [sys.executable, "-c", MINIMAL_APP]
        results["app"].append(first_frame(app, b"minimal textual app ready", env))

    run_ratio = statistics.median(results["lmp run"]) / statistics.median(results["bpftrace"])
    tui_ratio = statistics.median(results["lmp-tui"]) / statistics.median(results["app"])
    print(f"start-up, median of {args.rounds} rounds (min-max)")
    print(f"  lmp run sigsnoop --duration 0   {summary(results['lmp run'])}")
    print(f"  bpftrace, same tracepoint       {summary(results['bpftrace'])}")
    print(f"  lmp-tui, first frame            {summary(results['lmp-tui'])}")
    print(f"  minimal Textual app, first frame{summary(results['app'])}")
    print("targets:")
    for name, ratio, target in (
        ("lmp run / bpftrace", run_ratio, TARGET_RUN),
        ("lmp-tui / minimal Textual app", tui_ratio, TARGET_TUI),
    ):
        verdict = "PASS" if ratio <= target else "MISS"
        print(f"  [{verdict}] {name}: {ratio:.2f} (<= {target})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
