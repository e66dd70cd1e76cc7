"""Small helpers shared by the command modules."""

from __future__ import annotations

import sys


def err(msg: str) -> None:
    """One line on stderr, prefixed so users know which tool spoke."""
    print(f"lmp: {msg}", file=sys.stderr, flush=True)


def write_lines(lines: list[str]) -> None:
    if lines:
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
