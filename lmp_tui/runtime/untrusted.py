"""Text that comes from packages and events, made safe to use: as a file name, on a terminal.

A package names its program, its fields and their enum values; an event carries strings the
traced programs chose (a file name, a command). Neither may pick a path we write to, nor send
escape sequences to the user's terminal (clear the screen, retitle the window, fake a line).
"""

from __future__ import annotations

import re

_UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9_.+-]+")
# C0, DEL, C1, and the Unicode line and paragraph separators (a line break to some terminals)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}
_ESCAPES |= {ord("\t"): "\\t", ord("\n"): "\\n", ord("\r"): "\\r"}
_ESCAPES |= {0x2028: "\\u2028", 0x2029: "\\u2029"}
FILE_STEM_MAX = 64


def file_stem(name: str, fallback: str = "program") -> str:
    """``name`` as one path component of at most 64 characters: no separators, no leading dot,
    nothing but letters, digits and ``_.+-`` (``../../tmp/x`` becomes ``tmp_x``)."""
    stem = _UNSAFE_FILE_CHARS.sub("_", name).strip("._")[:FILE_STEM_MAX]
    return stem or fallback


def printable(text: str) -> str:
    """``text`` with control characters (C0, DEL, C1) written as ``\\x1b``-style escapes."""
    return text.translate(_ESCAPES) if _CONTROL.search(text) else text


def shown(text: str, limit: int = 120) -> str:
    """Untrusted text for a one-line message: ``printable``, and cut to at most ``limit`` characters, so
    that a hostile package, server or guest can neither spread a message over lines nor drive
    the terminal."""
    text = printable(text[: limit + 1])
    return text if len(text) <= limit else text[: max(limit - 3, 0)] + "..."


def printable_all(texts: list[str]) -> list[str]:
    """``printable`` over a column of texts, with one scan of the whole column when (as nearly
    always) none of them has a control character."""
    if not _CONTROL.search("".join(texts)):
        return texts
    return [t.translate(_ESCAPES) for t in texts]
