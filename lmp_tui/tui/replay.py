"""The files the app offers to open: recordings to replay (the built-in demos first) and wasm
apps (replays themselves are ``runtime.runs.replay.ReplaySession`` runs, in the same views as
a live program)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from ..runtime.stream.recording import demo_recordings
from ..runtime.untrusted import printable
from .formatting import human_bytes

RECORDING_SUFFIX = ".lmprec"
WASM_SUFFIX = ".wasm"


@dataclass(frozen=True, slots=True)
class Openable:
    """A file the app can open: a recording to replay or a wasm app to run."""

    path: Path
    origin: str  # "demo", "here", "recordings"

    @property
    def kind(self) -> str:
        return "wasm app" if self.path.suffix == WASM_SUFFIX else "recording"

    @property
    def label(self) -> str:
        try:
            size = human_bytes(self.path.stat().st_size)
        except OSError:
            size = "?"
        where = {"demo": "built-in demo", "here": "this directory"}.get(self.origin, self.origin)
        return f"{printable(self.path.name):<36} {self.kind:<10} {size:>8}  {printable(where)}"


def openable_files(
    here: Path | None = None, recordings_dir: Path | None = None, demos: bool = True
) -> list[Openable]:
    """The demo recordings, then ``*.lmprec`` and ``*.wasm`` here and in ``recordings_dir``."""
    found: list[Openable] = []
    seen: set[Path] = set()

    def add(path: Path, origin: str) -> None:
        key = path.resolve()
        if key not in seen and path.is_file():
            seen.add(key)
            found.append(Openable(path, origin))

    if demos:
        for path in demo_recordings():
            add(path, "demo")
    places = [(here or Path.cwd(), "here")]
    if recordings_dir is not None:
        places.append((recordings_dir, str(recordings_dir)))
    for directory, origin in places:
        with contextlib.suppress(OSError):
            for path in sorted(directory.glob(f"*{RECORDING_SUFFIX}")):
                add(path, origin)
    with contextlib.suppress(OSError):
        for path in sorted((here or Path.cwd()).glob(f"*{WASM_SUFFIX}")):
            add(path, "here")
    return found


def speed_label(speed: float | None) -> str:
    return "max" if speed is None else f"{speed:g}×"


CLOCK_LIMIT = 6e9
"""Seconds past which ``clock`` shows no more digits (a century): it stays a short string."""


def clock(seconds: float) -> str:
    """``1:05.3``: minutes and seconds to a tenth (at most 12 characters, whatever it is
    given: a negative or NaN time is 0, a longer one than a century is shown as a century)."""
    seconds = min(seconds, CLOCK_LIMIT) if seconds > 0 else 0.0  # NaN > 0 is False
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}:{rest:04.1f}"
