"""A recording as a session: the same views and sinks as the live run, no root or BPF needed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..stream.recording import RecordingReader
from ..stream.replay import ReplaySource
from .session import Fleet


class ReplaySession:
    """A ``.lmprec`` file opened for replay; ``source`` paces its frames by their times."""

    fleet: Fleet | None = None  # a recording keeps its hosts as a column, if it had several

    def __init__(self, path: Path, speed: float | None = 1.0) -> None:
        self.path = Path(path)
        reader = RecordingReader(self.path)
        try:
            self.source = ReplaySource(reader, speed)
        except BaseException:
            reader.close()
            raise
        header = reader.header
        self.header = header
        self.name = header.program
        self.spec = header.spec
        self.decoders = header.decoders()
        self.digest = header.package_digest
        self.values: dict[str, Any] = dict(header.params)
        self.notes: list[str] = []

    @property
    def problem(self) -> str:
        """Why the recording ends early (a torn or corrupt tail), as far as it has been read
        (all of it once indexed or played to the end); ``""`` when it does not."""
        reader = self.source.reader
        return reader.report.problem(reader.source)  # the path, made printable

    def index(self) -> None:
        """Scan every frame now (for seeking, the duration, and ``problem``)."""
        self.source.index()

    def now(self) -> float:
        return self.header.start + self.source.position

    def cost_meter(self) -> None:
        """A recording costs the kernel nothing: no BPF cost to show."""
        return None

    def start(self) -> ReplaySession:
        return self

    def stop(self) -> None:
        self.source.stop()

    def close(self) -> None:
        self.source.close()
        self.source.reader.close()
