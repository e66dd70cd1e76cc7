"""Record the demo sessions shipped in lmp_tui/demos/ (run as root on a kernel with BPF).

    .venv/bin/python scripts/make_demos.py

Each is a few seconds of a built-in program with activity this script causes itself, so the
TUI has something real to show where BPF is unavailable, and snapshot tests have fixed input.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

DEMOS = Path(__file__).resolve().parent.parent / "lmp_tui" / "demos"
LMP = [sys.executable, "-m", "lmp_tui.cli", "record"]


def record(program: str, seconds: float, activity, *args: str) -> None:
    out = DEMOS / f"{program}.lmprec"
    proc = subprocess.Popen(
        [*LMP, program, "-o", str(out), "--duration", str(seconds), "--", *args],
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stderr.readline()
    activity(seconds)
    proc.wait()
    print(f"{out}: {out.stat().st_size} bytes", file=sys.stderr)


def signals(seconds: float) -> None:
    child = subprocess.Popen(["sleep", "60"])
    end = time.monotonic() + seconds - 0.5
    sigs = [signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH, signal.SIGCONT]
    i = 0
    while time.monotonic() < end:
        os.kill(child.pid, sigs[i % len(sigs)])
        i += 1
        time.sleep(0.1)
    child.kill()
    child.wait()


def memory(seconds: float) -> None:
    code = (
        "import time\nchunks = []\n"
        "for i in range(8):\n"
        "    b = bytearray(16 << 20)\n"
        "    for j in range(0, len(b), 4096): b[j] = 1\n"
        "    chunks.append(b); time.sleep(0.3)\n"
        "time.sleep(2)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code])
    time.sleep(seconds - 0.3)
    child.kill()
    child.wait()


def sleeps(seconds: float) -> None:
    end = time.monotonic() + seconds - 0.3
    while time.monotonic() < end:
        time.sleep(0.001)


if __name__ == "__main__":
    record("sigsnoop", 3, signals)
    record("procstat", 4, memory, "--interval", "200")
    record("runqlat", 3.5, sleeps)
