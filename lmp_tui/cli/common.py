"""Small helpers shared by the command modules."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time

from ..runtime.distribution.transport import Progress, TransportOptions

PROGRESS_MIN = 1 << 20  # smaller transfers finish before a progress line would help


def err(msg: str) -> None:
    """One line on stderr, prefixed so users know which tool spoke."""
    # stderr may be gone (a closed terminal, a closed pipe): the exit status still tells
    with contextlib.suppress(OSError):
        print(f"lmp: {msg}", file=sys.stderr, flush=True)


def write_lines(lines: list[str]) -> None:
    if lines:
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()


def transport_options(args: argparse.Namespace) -> TransportOptions:
    return TransportOptions(insecure=bool(args.insecure), ca_file=args.ca_file)


def progress_printer(label: str) -> Progress | None:
    """A one-line ``\\r`` progress on stderr for big transfers, only when someone is watching."""
    if not sys.stderr.isatty():
        return None
    last = 0.0

    def show(done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if total < PROGRESS_MIN or (done < total and now - last < 0.1):
            return
        last = now
        pct = 100 * done // total if total else 100
        end = "\n" if done >= total else ""
        sys.stderr.write(f"\r{label}: {done / 2**20:.1f}/{total / 2**20:.1f} MiB {pct:3d}%{end}")
        sys.stderr.flush()

    return show
