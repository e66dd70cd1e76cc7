"""Where lmp keeps what it can make again: downloads, vmlinux.h, the kernel BTF's name index.

``$LMP_CACHE_DIR`` when set (tests, CI), else the XDG cache directory, as
``platformdirs.user_cache_dir("lmp")`` answers on Linux, without importing platformdirs: this is
on ``lmp run``'s start path, and platformdirs brings tempfile and shutil along (~12 ms).
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    if override := os.environ.get("LMP_CACHE_DIR"):
        return Path(override)
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "lmp"
