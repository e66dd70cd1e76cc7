"""The sinks ``lmp run`` and ``lmp record`` feed: text on a file descriptor, a recording (a view's
store is fed by ``stream.store.StoreSink``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import RecordingError
from ..format.package import ExportSpec
from ..stream.decode import Decoded
from ..stream.output import BatchPrinter
from ..stream.writer import ChunkWriter

if TYPE_CHECKING:  # msgpack and the recording format load only when something records
    from ..stream.recording import Recorder


class TextSink:
    """ecli's plain or JSON output (``lmp run``, ``lmp replay``), written by a thread of its
    own so that a slow or stuck reader sheds lines (counted) instead of stalling the run."""

    def __init__(
        self,
        spec: ExportSpec,
        fd: int,
        json_mode: bool = False,
        on_failed: Callable[[], None] | None = None,
    ) -> None:
        self.printer = BatchPrinter(spec, json_mode)
        self.writer = ChunkWriter(fd)
        self.on_failed = on_failed
        if (header := self.printer.header()) is not None:
            self.writer.write(header + "\n", 0)

    @property
    def error(self) -> str:
        """Why writing stopped ("" while it works): a reader that went away or a full disk."""
        return self.writer.error

    @property
    def broken_pipe(self) -> bool:
        return self.writer.broken_pipe

    @property
    def shed(self) -> int:
        """Lines shed because the reader was too slow."""
        return self.writer.shed_lines

    @property
    def unwritten(self) -> int:
        """Lines not written because writing had failed."""
        return self.writer.unwritten_lines

    def write(self, item: Decoded) -> None:
        self.writer.write(self.printer.text(item), item.batch.count)
        if self.writer.failed and self.on_failed is not None:
            self.on_failed()

    def close(self) -> None:
        self.writer.close()


class RecorderSink:
    """Every batch, raw, to a recording (a memcpy per batch, nothing per event). A write that
    fails (a full disk) ends the recording, not the run: ``recorder.stopped_reason`` says why,
    and the file holds every frame before it."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    @property
    def failed(self) -> bool:
        return self.recorder.failed

    def write(self, item: Decoded) -> None:
        try:
            self.recorder.write(item.batch)
        except RecordingError as exc:
            self.recorder.stopped_reason = str(exc)

    def close(self) -> None:
        try:
            self.recorder.close()
        except RecordingError as exc:
            self.recorder.stopped_reason = str(exc)
