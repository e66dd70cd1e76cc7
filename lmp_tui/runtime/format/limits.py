"""Bounds and name rules of the package format that every start needs: kept apart from the typed
schema (``schema``), whose library costs ~20 ms of start-up to import."""

from __future__ import annotations

import re

MAX_OBJECT_BYTES = 32 << 20  # an inflated .bpf.o; real ones are tens to hundreds of KB
MAX_RECORD = 64 << 10
"""Bytes of one exported record (an event, a sampled map's key plus value) at most: a perf
sample's own limit, far above any tool's events, and what a recording holds per record."""

# Names are data, never paths: one may become a directory, a file, an object or option name.
# eunomia's obj_name is a file stem with dots made underscores (``sigsnoop_bpf``).
OBJ_NAME = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}\Z"
OPTION = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z"  # a long option, after ``--``
_SAFE_NAME = re.compile(OBJ_NAME)
_OPTION = re.compile(OPTION)


def safe_name(name: str, fallback: str = "program") -> str:
    """``name`` if it is a safe name (see ``OBJ_NAME``), else ``fallback``: never a path."""
    return name if _SAFE_NAME.match(name) else fallback


def is_option(name: str) -> bool:
    """``name`` can follow ``--`` on a command line (and in a usage line)."""
    return bool(_OPTION.match(name))
