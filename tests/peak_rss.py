"""A command's own peak RSS, measured from a test.

Linux counts a child's peak resident set from before its exec: the copy of its parent it was
forked (or vforked) from. Measured straight from pytest, a 40 MB command "peaks" at whatever
pytest has grown to. A small launcher process runs the command instead, and reports the
command's status and peak from its own ``wait4``.
"""

from __future__ import annotations

import sys
from pathlib import Path

_LAUNCHER = """
import os, subprocess, sys
report, cmd = sys.argv[1], sys.argv[2:]
proc = subprocess.Popen(cmd)
_, status, usage = os.wait4(proc.pid, 0)
with open(report, "w") as f:
    f.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss * 1024}")
"""


def launched(cmd: list[str], report: Path) -> list[str]:
    """The argv that runs ``cmd`` (stdio inherited) and writes its status and peak to ``report``."""
    return [sys.executable, "-c", _LAUNCHER, str(report), *cmd]


def reported(report: Path) -> tuple[int, int]:
    """(exit status, peak RSS in bytes) of the command a launcher ran."""
    status, peak = report.read_text().split()
    return int(status), int(peak)
