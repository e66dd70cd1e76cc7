"""Smoke test of the TUI load benchmark: ``bench/tui_load.py`` for a few seconds, end to end."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_tui_load_benchmark_runs_and_reports() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "tui_load.py"), "--duration", "3", "--rate", "50000"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    redraws = float(re.search(r"redraw rate\s+([\d.]+)/s", out).group(1))
    worst = float(re.search(r"worst (\d+) ms", out).group(1))
    rss = float(re.search(r"peak RSS\s+(\d+) MB", out).group(1))
    delivered = int(re.search(r"events delivered\s+([\d,]+)", out).group(1).replace(",", ""))
    assert delivered > 50_000 and redraws > 0 and worst > 0 and rss > 0, out
