"""What flows from every source to every consumer: a ``Batch`` of raw records, and the
``EventSource`` protocol every source follows (kernel maps, recordings, scripts alike)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

Records = bytes | memoryview
"""Raw records: bytes (a recording, a test) or the drain thread's own memory (no copy)."""


@dataclass(slots=True)
class Batch:
    """What every event source yields: the raw records of one drain.

    ``time`` is wall-clock seconds (``time.time()``) when the batch was drained: printers show it
    as local time, recordings store it so replays can pace and show it. ``records`` holds ``count``
    records of exactly ``record_size`` bytes each (longer kernel records are cut, shorter padded).
    ``drops`` counts records the kernel lost since the previous batch (reserve failures, perf
    lost samples); ``shed`` those lmp had no room for (a consumer that fell behind, counted where
    it happened). A ``snapshot`` batch is the whole content of a sampled map: each record
    is the key bytes followed by the value bytes.
    """

    time: float
    records: Records
    count: int
    record_size: int
    drops: int = 0
    snapshot: bool = False
    shed: int = 0


class EventSource:
    """Base: ``async for batch in source`` until ``stop()`` or ``close()``."""

    closed = False

    def stop(self) -> None:
        """No more data will come: iteration ends after what is already buffered."""
        self.close()

    def close(self) -> None:
        self.closed = True

    def __aiter__(self) -> AsyncIterator[Batch]:
        return self.batches()

    async def batches(self) -> AsyncIterator[Batch]:  # pragma: no cover - abstract
        raise NotImplementedError
        yield
