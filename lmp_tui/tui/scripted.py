"""Sessions that replay prepared batches instead of attaching to the kernel.

Used by the tests (deterministic snapshots), the load benchmark and anything else that wants the
real views without BPF. The batches carry real layouts: build them with ``pack`` and
``pack_snapshot`` from plain dicts, using the program's own package.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..runtime.errors import PackageError
from ..runtime.format.btf import Kind
from ..runtime.format.layout import StructLayout
from ..runtime.format.package import ExportChoice, Package
from ..runtime.runs.session import sample_layouts
from ..runtime.stream.batch import Batch, EventSource
from ..runtime.stream.decode import Decoder, SnapshotDecoder
from ..runtime.stream.recording import Recorder, RecordingHeader


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


def map_types(package: Package, map_name: str) -> tuple[int, int]:
    """The BTF key and value type ids of a map declared with ``__type(key/value, ...)``."""
    btf = package.btf
    maps = btf.find(".maps", Kind.DATASEC)
    if maps is not None:
        for info in maps.secinfos:
            var = btf[info.type_id]
            if var.name != map_name:
                continue
            members = {m.name: m.type_id for m in btf.strip(var.type).members}
            if "key" in members and "value" in members:
                return btf.strip(members["key"]).type, btf.strip(members["value"]).type
    raise PackageError(f"map {map_name!r} has no BTF key/value types")


def sample_choice(package: Package) -> ExportChoice:
    for m in package.maps:
        if m.sample is not None:
            return ExportChoice("sample", m.name, m.sample)
    raise PackageError(f"{package.name} has no sampled map")


def snapshot_decoder(package: Package) -> SnapshotDecoder:
    """The decoder a live session would build for the package's sampled map."""
    choice = sample_choice(package)
    key, value = sample_layouts(package, *map_types(package, choice.map_name))
    return SnapshotDecoder(key, value)


def _fill(arr: np.ndarray, rows: list[Mapping[str, Any]]) -> None:
    for i, row in enumerate(rows):
        for name, value in row.items():
            arr[i][name] = value.encode() if isinstance(value, str) else value


def pack(decoder: Decoder, rows: list[Mapping[str, Any]]) -> bytes:
    """Records of the decoder's layout from dicts (missing fields are zero)."""
    arr = np.zeros(len(rows), decoder.dtype)
    _fill(arr, rows)
    return arr.tobytes()


def event_batch(
    decoder: Decoder, rows: list[Mapping[str, Any]], time: float, drops: int = 0
) -> Batch:
    return Batch(time, pack(decoder, rows), len(rows), decoder.layout.size, drops)


def snapshot_batch(
    decoder: SnapshotDecoder,
    entries: list[tuple[Mapping[str, Any], Mapping[str, Any]]],
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
    """Quacks like ``LiveSession``; ``start`` and ``close`` touch nothing outside."""

    package: Package = field(repr=False)
    source: EventSource | None
    decoder: Decoder | None = None
    snapshot_decoder: SnapshotDecoder | None = None
    choice: ExportChoice = field(default_factory=lambda: ExportChoice("ringbuf", "events"))
    started: bool = False
    closed: bool = False
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def layout(self) -> StructLayout | None:
        return self.decoder.layout if self.decoder is not None else None

    def now(self) -> float:
        """The session's clock: scripted batches carry made-up times, so the newest of them."""
        last = getattr(self.source, "last_time", None)
        return last if last is not None else time.time()

    def start(self) -> ScriptedSession:
        self.started = True
        return self

    def stop(self) -> None:
        if self.source is not None:
            self.source.stop()

    def close(self) -> None:
        self.closed = True
        if self.source is not None:
            self.source.close()

    @classmethod
    def events(
        cls, package: Package, batches: Iterable[Batch], interval: float = 0.0
    ) -> ScriptedSession:
        layout = package.export_layout()
        if layout is None:
            raise PackageError(f"{package.name} exports no event struct")
        return cls(package, ScriptedSource(batches, interval), Decoder(layout))

    @classmethod
    def snapshots(
        cls, package: Package, batches: Iterable[Batch], interval: float = 0.0
    ) -> ScriptedSession:
        return cls(
            package,
            ScriptedSource(batches, interval),
            None,
            snapshot_decoder(package),
            sample_choice(package),
        )
