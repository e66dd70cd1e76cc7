"""The sinks a run's pipeline feeds: text on a file descriptor, a recording, a store for views."""

from __future__ import annotations

from collections.abc import Callable

from ..format.package import ExportSpec
from ..stream.decode import Decoded
from ..stream.output import BatchPrinter
from ..stream.recording import Recorder, RecordingError
from ..stream.store import EventStore, SnapshotStore, StoreConfig
from ..stream.writer import ChunkWriter


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
        return self.writer.shed_lines

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


class StoreSink:
    """Batches for a view's store: queued as they arrive, decoded into the store in bulk when
    the view asks (``flush``, once per screen refresh). Beyond ``shed_limit`` queued records
    the oldest batches are shed and counted, so a view that falls behind never holds up the
    run (nor grows without bound)."""

    def __init__(self, store: EventStore | SnapshotStore, spec: ExportSpec, shed_limit: int):
        self.store = store
        self.shed_limit = shed_limit
        self.cleared = bool(spec.sample is not None and spec.sample.clear_map)
        self._queue: list[Decoded] = []
        self._queued = 0

    def write(self, item: Decoded) -> None:
        self._queue.append(item)
        self._queued += item.batch.count
        while self._queued > self.shed_limit and len(self._queue) > 1:
            dropped = self._queue.pop(0).batch
            self._queued -= dropped.count
            if isinstance(self.store, EventStore):
                self.store.add_shed(dropped.count + dropped.shed)
                self.store.drops += dropped.drops

    @property
    def queued(self) -> int:
        """Records waiting for the next ``flush``."""
        return self._queued

    def discard(self) -> None:
        """Forget what is queued (a replay that jumped elsewhere)."""
        self._queue, self._queued = [], 0

    def flush(self) -> tuple[int, int]:
        """Decode everything queued into the store: (batches, records) taken."""
        if not self._queue:
            return 0, 0
        items, self._queue, self._queued = self._queue, [], 0
        return len(items), self.apply(items)

    def apply(self, items: list[Decoded]) -> int:
        """Decode ``items`` into the store now; the records taken."""
        store = self.store
        taken = 0
        for item in items:
            batch = item.batch
            taken += batch.count
            if isinstance(store, EventStore):
                store.append(item.events, batch.time, batch.drops, batch.shed)
            elif batch.snapshot:
                keys, values = item.snapshot
                store.update(keys, values, batch.time, cleared=self.cleared)
        return taken

    def close(self) -> None:
        self.flush()


def make_store(spec: ExportSpec, config: StoreConfig) -> EventStore | SnapshotStore | None:
    """The store that fits what a run exports (None when it exports nothing)."""
    if spec.key is not None and spec.value is not None:
        return SnapshotStore(
            spec.key,
            spec.value,
            bucket_seconds=config.bucket_seconds,
            series_length=config.series_length,
        )
    if spec.layout is not None:
        return EventStore(
            spec.layout,
            config.capacity,
            bucket_seconds=config.bucket_seconds,
            series_length=config.series_length,
            max_keys=config.max_keys,
        )
    return None
