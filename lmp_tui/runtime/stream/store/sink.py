"""How big a run's store is, which kind it gets, and the sink that fills it."""

from __future__ import annotations

from dataclasses import dataclass

from ...format.package import ExportSpec
from ..decode import Decoded
from .events import DEFAULT_CAPACITY, EventStore
from .series import DEFAULT_BUCKET_SECONDS, DEFAULT_MAX_KEYS, DEFAULT_SERIES_LENGTH
from .snapshots import SnapshotStore


@dataclass
class StoreConfig:
    """How big the stores of a run are."""

    capacity: int = DEFAULT_CAPACITY
    bucket_seconds: float = DEFAULT_BUCKET_SECONDS
    series_length: int = DEFAULT_SERIES_LENGTH
    max_keys: int = DEFAULT_MAX_KEYS


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


MAX_STORE_BYTES = 256 << 20
"""Record bytes an event store sets aside at most, whatever its row limit."""


def make_store(
    spec: ExportSpec, config: StoreConfig, program: str = ""
) -> EventStore | SnapshotStore | None:
    """The store that fits what a run exports (None when it exports nothing); ``program``, the
    package's name, helps tell what its fields mean."""
    if spec.key is not None and spec.value is not None:
        return SnapshotStore(
            spec.key,
            spec.value,
            bucket_seconds=config.bucket_seconds,
            series_length=config.series_length,
        )
    if spec.layout is not None:
        # rows are set aside up front: a package or recording with huge records gets fewer
        rows = max(1, min(config.capacity, MAX_STORE_BYTES // max(spec.layout.size, 1)))
        return EventStore(
            spec.layout,
            rows,
            bucket_seconds=config.bucket_seconds,
            series_length=config.series_length,
            max_keys=config.max_keys,
            program=program,
            map_name=spec.map_name,
        )
    return None
