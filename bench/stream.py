#!/usr/bin/env python3
"""How long an event takes to cross a stream: ``lmp record sigsnoop -o - | lmp replay -``
against ``lmp run sigsnoop`` printing it directly, on the same signals, in the same run.

    .venv/bin/python bench/stream.py [--signals 200] [--interval 0.02]

This process sends ``--signals`` SIGUSR2 to itself (ignored), one every ``--interval``
seconds, and times each from just before ``kill()`` to the moment the line that reports it
is read from the consumer's standard output (the program filters on the signal, so every
line is one of ours). Columns: lines seen / signals sent, latency p50 / p99 / max in ms.
Target (issue 16): each event printed within 200 ms of its signal.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LMP = f"{sys.executable} -m lmp_tui.cli"
TARGET_MS = 200.0
CONSUMERS = {
    "lmp run": f"{LMP} run sigsnoop -- --signal USR2",
    "record -o - into replay -": f"{LMP} record sigsnoop -o - -- --signal USR2 | {LMP} replay -",
}


def measure(command: str, signals: int, interval: float) -> tuple[int, list[float]]:
    proc = subprocess.Popen(
        command, shell=True, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    said = ""
    while "waiting for events" not in said:
        line = proc.stderr.readline()
        if not line:
            raise SystemExit(f"{command}: {said}")
        said += line
    seen: list[float] = []
    header = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("TIME"):
                header.set()
                continue
            seen.append(time.monotonic())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    time.sleep(0.5)
    sent = []
    for _ in range(signals):
        sent.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGUSR2)
        time.sleep(interval)
    time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGINT)
    proc.wait(30)
    reader.join(5)
    ages = [1e3 * (got - at) for at, got in zip(sent, seen, strict=False)]
    return len(seen), ages


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--signals", type=int, default=200)
    ap.add_argument("--interval", type=float, default=0.02)
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("bench/stream.py loads BPF programs: run it as root", file=sys.stderr)
        return 1
    signal.signal(signal.SIGUSR2, signal.SIG_IGN)
    print(f"sigsnoop, {args.signals} signals {1e3 * args.interval:g} ms apart")
    print("| consumer | lines / signals | latency p50 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|")
    worst = 0.0
    for name, command in CONSUMERS.items():
        lines, ages = measure(command, args.signals, args.interval)
        ordered = sorted(ages)
        p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if ordered else float("nan")
        peak = max(ages) if ages else float("nan")
        print(
            f"| {name} | {lines} / {args.signals} | {statistics.median(ages):.1f} | {p99:.1f} "
            f"| {peak:.1f} |"
        )
        if name != "lmp run":
            worst = max(worst, peak)
    verdict = "PASS" if worst <= TARGET_MS else "MISS"
    print(
        f"\n{verdict} slowest event through the stream: {worst:.1f} ms (target <= {TARGET_MS:.0f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
