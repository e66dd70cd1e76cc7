"""Recordings in the TUI: a session that replays a ``.lmprec`` file, and the files to offer.

A ``ReplaySession`` quacks like a live session, so a replay gets the very same view (decoder,
store, table, panels) as the program had live; it needs neither root nor BPF.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..runtime.distribution import hub
from ..runtime.errors import LmpError
from ..runtime.format.package import ExportChoice, SampleMeta
from ..runtime.stream.recording import (
    RecordingHeader,
    RecordingReader,
    ReplaySource,
    demo_recordings,
)
from .formatting import human_bytes

RECORDING_SUFFIX = ".lmprec"
WASM_SUFFIX = ".wasm"


def _sample_meta(header: RecordingHeader) -> SampleMeta:
    sample = header.sample
    clear = sample.get("clear_map")
    if clear is None:  # not recorded: the built-in program of that name says
        clear = False
        with contextlib.suppress(LmpError, OSError):
            for m in hub.find_builtin(header.program).package.maps:
                if m.sample is not None:
                    clear = m.sample.clear_map
    return SampleMeta(
        interval_ms=int(sample.get("interval_ms", 1000)),
        type=str(sample.get("type", "default_kv")),
        unit=str(sample.get("unit", "(unit)")),
        clear_map=bool(clear),
    )


class ReplaySession:
    """A recording opened for replay: ``source`` is a ``ReplaySource`` (frames loaded here)."""

    def __init__(self, path: Path, speed: float | None = 1.0) -> None:
        self.path = Path(path)
        reader = RecordingReader(self.path)
        try:
            self.source = ReplaySource(reader, speed)
        except BaseException:
            reader.close()
            raise
        self.header = header = reader.header
        self.problem = reader.report.problem(str(path))
        """Why the recording ends early (torn or corrupt tail), or ``""``."""
        self.decoder, self.snapshot_decoder = header.decoders()
        self.package: Any = None
        self.values = dict(header.params)
        self.layout = header.layout
        if header.kind == "sample":
            self.choice = ExportChoice("sample", "", _sample_meta(header))
        else:
            self.choice = ExportChoice("ringbuf" if self.decoder else "none")

    @property
    def program(self) -> str:
        return self.header.program

    def start(self) -> ReplaySession:
        return self

    def stop(self) -> None:
        self.source.stop()

    def close(self) -> None:
        self.source.close()
        self.source.reader.close()


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
        return f"{self.path.name:<36} {self.kind:<10} {size:>8}  {where}"


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


def clock(seconds: float) -> str:
    """``1:05.3``: minutes and seconds to a tenth."""
    seconds = max(seconds, 0.0)
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}:{rest:04.1f}"
