"""The layer rule: the runtime is a library and never pulls in textual or rich."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import lmp_tui.runtime

PROBE = """
import importlib, json, pkgutil, sys
import lmp_tui.runtime as runtime
names = sorted(m.name for m in pkgutil.walk_packages(runtime.__path__, "lmp_tui.runtime."))
for name in names:
    importlib.import_module(name)
leaked = sorted({m.split(".")[0] for m in sys.modules} & {"textual", "rich"})
print(json.dumps({"modules": names, "leaked": leaked}))
"""


def test_runtime_imports_neither_textual_nor_rich() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    expected = sorted(
        m.name for m in pkgutil.walk_packages(lmp_tui.runtime.__path__, "lmp_tui.runtime.")
    )
    assert result["modules"] == expected and "lmp_tui.runtime.store" in expected
    assert result["leaked"] == [], f"the runtime imported {result['leaked']}"
