"""Smoke test of the ingest benchmark: ``bench/ingest.py --quick`` end to end.

Loads real BPF programs (a Hub program, once per consumer, and the perf-buffer test program),
so it needs root with BPF; it does not skip, a machine that cannot run it fails it. It checks
the accounting, not the speed: every generated event was received or counted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
INGEST = ROOT / "bench" / "ingest.py"

pytestmark = pytest.mark.kernel


def test_ingest_quick(tmp_path: Path) -> None:
    out_json = tmp_path / "ingest.json"
    proc = subprocess.run(
        [sys.executable, str(INGEST), "--quick", "--only", "hub,perf", "--programs", "sigsnoop",
         "--json-out", str(out_json)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "targets:" in proc.stdout and "programs still attached: none" in proc.stdout
    report = json.loads(out_json.read_text())
    cells = report["cells"]
    sides = {(c["program"], c["side"]) for c in cells}
    assert {("sigsnoop", s) for s in ("none", "c", "record", "tui", "run", "run -j")} <= sides
    assert {("perfsnoop", s) for s in ("c", "record", "run")} <= sides
    for c in cells:
        assert not c["error"], c
        assert c["generated"] > 0, c
        if c["side"] != "none":
            # each generated event was received, dropped by the kernel or shed (counted)
            assert c["generated"] == c["received"] + c["drops"] + c["shed"], c
    assert report["leftover"] == []
