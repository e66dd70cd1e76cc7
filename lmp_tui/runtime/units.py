"""Sizes as people write them (``4M``, ``256KiB``, ``1048576``) and as tools print them."""

from __future__ import annotations

import mmap
import re

from .errors import ParameterError

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
_SIZE = re.compile(r"\s*(\d+)\s*([kmg]?)(?:i?b)?\s*", re.IGNORECASE)
MAX_RING_SIZE = 1 << 30
"""The kernel caps a ring buffer below 4 GiB; a gigabyte of locked memory is plenty."""


def parse_size(text: str) -> int:
    """Bytes from ``4096``, ``256K``, ``4M``, ``4MiB``, ``1G`` (powers of 1024, as ``ulimit``)."""
    m = _SIZE.fullmatch(text)
    if not m:
        raise ParameterError(f"{text!r} is not a size (like 256K, 4M or 1048576)")
    return int(m.group(1)) * _UNITS[m.group(2).lower()]


def format_bytes(n: int) -> str:
    """``4 MiB``, ``256 KiB``, ``1.5 GiB``, ``512 B``: binary units, as htop and btop show."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} B"


def ring_size(text: str, page_size: int = mmap.PAGESIZE) -> tuple[int, str]:
    """A ring buffer size from ``text``: a power of 2 of pages, rounded up; and a note saying
    so when it had to be rounded (empty otherwise)."""
    asked = parse_size(text)
    if asked <= 0:
        raise ParameterError("a ring size must be positive")
    size = page_size
    while size < asked:
        size *= 2
    if size > MAX_RING_SIZE:
        raise ParameterError(f"ring size {text} is larger than {format_bytes(MAX_RING_SIZE)}")
    note = ""
    if size != asked:
        note = (
            f"ring size {format_bytes(asked)} rounded up to {format_bytes(size)} "
            "(a power of 2 of pages)"
        )
    return size, note
