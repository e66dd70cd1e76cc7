"""Sessions that replay prepared batches instead of attaching to the kernel.

Used by ``lmp-tui --demo``, the tests (deterministic snapshots), the load benchmark and anything
else that wants the real views without BPF. The batches carry real layouts: build them with ``pack`` and
``pack_snapshot`` from plain dicts, using the program's own package.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ..errors import PackageError
from ..format.package import ExportSpec, Package
from ..kernel.stats import FixedCost, ProgramCost
from ..lazy import np
from ..stream.batch import Batch, EventSource
from ..stream.decode import Decoder, Decoders, SnapshotDecoder
from ..stream.recording import Recorder, RecordingHeader
from .session import Fleet


class ScriptedSource(EventSource):
    """Yields the given batches (``interval`` seconds apart), then waits until closed."""

    def __init__(self, batches: Iterable[Batch], interval: float = 0.0, hold: bool = True) -> None:
        self._batches = list(batches)
        self.interval = interval
        self.hold = hold
        self.done = False
        """True once every batch has been yielded."""
        self.last_time: float | None = None
        """The time of the newest batch yielded: a scripted session's clock."""

    @property
    def script(self) -> list[Batch]:
        """Every batch it yields, in order."""
        return list(self._batches)

    async def batches(self) -> AsyncIterator[Batch]:
        for batch in self._batches:
            if self.closed:
                return
            self.last_time = batch.time
            yield batch
            await asyncio.sleep(self.interval)
        self.done = True
        while self.hold and not self.closed:
            await asyncio.sleep(0.05)


class FeedSource(ScriptedSource):
    """Yields whatever is handed to ``feed`` (by a test, while the app runs) until closed."""

    def __init__(self) -> None:
        super().__init__([])
        self._queue: deque[Batch] = deque()
        self.fed = 0

    def feed(self, *batches: Batch) -> None:
        self._queue.extend(batches)
        self.fed += len(batches)

    async def batches(self) -> AsyncIterator[Batch]:
        while not self.closed:
            if not self._queue:
                await asyncio.sleep(0.01)
                continue
            batch = self._queue.popleft()
            self.last_time = batch.time
            yield batch


def write_recording(path: Path, header: RecordingHeader, batches: Iterable[Batch]) -> Path:
    """A recording of ``batches`` made at once (tests and demos: fixed header, fixed times)."""
    recorder = Recorder(path, header)
    for batch in batches:
        recorder.write(batch)
    recorder.close()
    return Path(path)


def snapshot_decoder(package: Package) -> SnapshotDecoder:
    """The decoder a live session builds for the package's sampled map."""
    decoder = Decoders.of(package.export()).snapshot
    if decoder is None:
        raise PackageError(f"{package.name} has no sampled map")
    return decoder


def _fill(arr: np.ndarray, rows: Sequence[Mapping[str, Any]]) -> None:
    for i, row in enumerate(rows):
        for name, value in row.items():
            arr[i][name] = value.encode() if isinstance(value, str) else value


def pack(decoder: Decoder, rows: Sequence[Mapping[str, Any]]) -> bytes:
    """Records of the decoder's layout from dicts (missing fields are zero)."""
    arr = np.zeros(len(rows), decoder.dtype)
    _fill(arr, rows)
    return arr.tobytes()


def event_batch(
    decoder: Decoder, rows: Sequence[Mapping[str, Any]], time: float, drops: int = 0
) -> Batch:
    return Batch(time, pack(decoder, rows), len(rows), decoder.layout.size, drops)


def snapshot_batch(
    decoder: SnapshotDecoder,
    entries: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]],
    time: float,
) -> Batch:
    """A sampled-map snapshot: each record is the key bytes then the value bytes."""
    keys = np.zeros(len(entries), decoder.key.dtype)
    values = np.zeros(len(entries), decoder.value.dtype)
    _fill(keys, [k for k, _ in entries])
    _fill(values, [v for _, v in entries])
    records = b"".join(k.tobytes() + v.tobytes() for k, v in zip(keys, values, strict=True))
    return Batch(time, records, len(entries), decoder.record_size, 0, snapshot=True)


@dataclass
class ScriptedSession:
    """A session of prepared batches: ``start`` and ``close`` touch nothing outside."""

    package: Package = field(repr=False)
    source: EventSource | None
    spec: ExportSpec = field(default_factory=ExportSpec)
    values: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    cost: ProgramCost | None = None
    """The BPF cost it says its programs have (None: none shown, as a replay's)."""
    started: bool = False
    closed: bool = False

    made_up: ClassVar[bool] = True
    """Its events never came from a kernel: views label it DEMO."""

    @property
    def fleet(self) -> Fleet | None:
        return None

    def __post_init__(self) -> None:
        self.name = self.package.name
        self.digest = self.package.digest
        self.decoders = Decoders.of(self.spec)

    def now(self) -> float:
        """Scripted batches carry made-up times: the newest of them."""
        last = getattr(self.source, "last_time", None)
        return last if last is not None else time.time()

    def start(self) -> ScriptedSession:
        self.started = True
        return self

    def cost_meter(self) -> FixedCost | None:
        return FixedCost(self.cost) if self.cost is not None else None

    def stop(self) -> None:
        if self.source is not None:
            self.source.stop()

    def close(self) -> None:
        self.closed = True
        if self.source is not None:
            self.source.close()

    @classmethod
    def of(
        cls, package: Package, batches: Iterable[Batch], interval: float = 0.0
    ) -> ScriptedSession:
        """The package's own export (events or snapshots), fed ``batches``."""
        spec = package.export()
        if spec.kind == "none":
            raise PackageError(f"{package.name} exports nothing")
        return cls(package, ScriptedSource(batches, interval), spec)
