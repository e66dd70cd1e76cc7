"""A running program as the TUI sees it: a session, its store and the batches in between.

The event source is drained by an asyncio task (``pump``) that only queues raw batches; the
app's refresh timer calls ``flush`` once per tick, which decodes the queued batches in bulk
into the store. If the UI falls behind, the oldest queued batches are shed and counted.

While recording, the pump also hands every raw batch to a ``Recorder`` before anything decodes
it: a memcpy per batch, nothing per event. A replay is the same thing fed by a ``ReplaySource``;
``seek`` rebuilds the store from the recording so the view shows what it had by then.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from ..runtime.distribution.hub import HubProgram
from ..runtime.format.package import ExportChoice, Package
from ..runtime.runs.session import LiveSession
from ..runtime.stream.batch import Batch, EventSource
from ..runtime.stream.decode import Decoder, SnapshotDecoder
from ..runtime.stream.recording import Recorder, RecordingError, ReplaySource, header_for
from ..runtime.stream.store import EventStore, SnapshotStore, StoreConfig

RunState = Literal["running", "stopped", "failed"]
RunKind = Literal["live", "replay", "wasm"]
SHED_LIMIT = 262_144
"""Queued records beyond which the oldest queued batches are dropped (UI shedding)."""
SPEEDS: tuple[float | None, ...] = (0.5, 1.0, 2.0, 4.0, None)
"""Replay speeds, slowest first; None is as fast as possible."""


class Session(Protocol):
    """What the TUI needs from a session: ``LiveSession`` or a scripted stand-in."""

    package: Package
    source: EventSource | None
    decoder: Decoder | None
    snapshot_decoder: SnapshotDecoder | None
    choice: ExportChoice

    def start(self) -> Session: ...

    def stop(self) -> None:
        """Detach: the source hands over what is left, then its iteration ends."""

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class RunSettings:
    """What a run is started with: the program's parameter values, and its export buffer's
    size in bytes (None: as the package ships it)."""

    values: dict[str, Any] = field(default_factory=dict)
    ring_size: int | None = None


SessionFactory = Callable[[HubProgram, RunSettings], Session]


def live_session(program: HubProgram, settings: RunSettings) -> Session:
    """The real thing: load and attach ``program`` on this kernel (when started)."""
    return LiveSession(program.package, settings.values, ring_size=settings.ring_size)


def make_store(session: Session, config: StoreConfig) -> EventStore | SnapshotStore | None:
    """The store that fits what the session exports (None when it exports nothing)."""
    if session.decoder is not None:
        return EventStore(
            session.decoder.layout,
            config.capacity,
            bucket_seconds=config.bucket_seconds,
            series_length=config.series_length,
            max_keys=config.max_keys,
        )
    if session.snapshot_decoder is not None:
        return SnapshotStore(
            session.snapshot_decoder.key.layout,
            session.snapshot_decoder.value.layout,
            bucket_seconds=config.bucket_seconds,
            series_length=config.series_length,
        )
    return None


@dataclass(eq=False)
class ProgramRun:
    """One started program (or replay): numbered 1, 2, ... in the order they were started."""

    number: int
    program: HubProgram | None
    session: Session = field(repr=False)
    store: EventStore | SnapshotStore | None = field(repr=False)
    values: dict[str, Any] = field(default_factory=dict)
    state: RunState = "running"
    error: str | None = None
    shed_limit: int = SHED_LIMIT
    label: str = ""
    """The name shown for it (a replay has no Hub program: the recording's program name)."""
    recorder: Recorder | None = field(default=None, repr=False)
    """Where its batches are being recorded, if they are."""
    recording_since: float = 0.0
    """``time.monotonic()`` when the current recording started."""
    last_recording: Recorder | None = field(default=None, repr=False)
    _pending: list[Batch] = field(default_factory=list, repr=False)
    _pending_records: int = 0

    @property
    def name(self) -> str:
        if self.label or self.program is None:
            return self.label
        return self.program.name

    @property
    def title(self) -> str:
        return f"{self.number} {self.name}"

    @property
    def replay(self) -> ReplaySource | None:
        """The recording this run replays, or None for a live program."""
        source = self.session.source
        return source if isinstance(source, ReplaySource) else None

    @property
    def kind(self) -> RunKind:
        return "replay" if self.replay is not None else "live"

    # -- recording -----------------------------------------------------------------------------

    def start_recording(self, path: Path) -> Recorder:
        """Record every batch from now on to ``path`` (raises ``RecordingError``)."""
        header = header_for(self.session)
        # The session's clock: wall-clock time live, the batches' made-up times when scripted.
        now = getattr(self.session, "now", None)
        header.start = now() if callable(now) else time.time()
        self.recorder = Recorder(path, header)
        self.recording_since = time.monotonic()
        return self.recorder

    def stop_recording(self) -> Recorder | None:
        """Close the recording (everything received so far is in the file)."""
        recorder, self.recorder = self.recorder, None
        if recorder is not None:
            try:
                recorder.close()
            except RecordingError as exc:
                recorder.stopped_reason = str(exc)
            self.last_recording = recorder
        return recorder

    # -- the data path -------------------------------------------------------------------------

    def receive(self, batch: Batch) -> None:
        """Queue a batch for the next tick (called by the pump, once per batch)."""
        if self.recorder is not None:
            try:
                self.recorder.write(batch)  # the raw bytes: nothing per event
            except RecordingError as exc:
                self.recorder.stopped_reason = str(exc)
        self._pending.append(batch)
        self._pending_records += batch.count
        while self._pending_records > self.shed_limit and len(self._pending) > 1:
            dropped = self._pending.pop(0)
            self._pending_records -= dropped.count
            if isinstance(self.store, EventStore):
                self.store.add_shed(dropped.count + dropped.shed)
                self.store.drops += dropped.drops

    def flush(self) -> tuple[int, int]:
        """Decode everything queued into the store: (batches, records) taken."""
        if not self._pending:
            return 0, 0
        batches, self._pending, self._pending_records = self._pending, [], 0
        return len(batches), self._apply(batches)

    def _apply(self, batches: Sequence[Batch]) -> int:
        store, session = self.store, self.session
        taken = 0
        for batch in batches:
            taken += batch.count
            if isinstance(store, EventStore) and session.decoder is not None:
                arr = session.decoder.array(batch.records, batch.count)
                store.append(arr, batch.time, batch.drops, batch.shed)
            elif isinstance(store, SnapshotStore) and session.snapshot_decoder is not None:
                keys, values = session.snapshot_decoder.arrays(batch.records, batch.count)
                sample = session.choice.sample
                store.update(
                    keys, values, batch.time, cleared=bool(sample is not None and sample.clear_map)
                )
        return taken

    async def pump(self) -> None:
        """Queue batches until the source ends or is closed.

        A replay holds at its end instead of ending, so seeking back plays it again; it yields
        to the loop after each batch, or a replay at full speed would never let the UI draw.
        """
        source = self.session.source
        if source is None:
            return
        replay = self.replay
        while True:
            async for batch in source:
                if self.state != "running":
                    return
                self.receive(batch)
                if replay is not None:
                    await asyncio.sleep(0)
            if replay is None:
                return
            while replay.finished and not replay.closed:
                await asyncio.sleep(0.05)
            if replay.closed or self.state != "running":
                return

    # -- replay controls -----------------------------------------------------------------------

    def seek(self, seconds: float) -> float:
        """Jump the replay to ``seconds`` from its start; the store is rebuilt to show what the
        recording had up to there. Returns the position sought to."""
        replay = self.replay
        assert replay is not None, f"{self.name} is not a replay"
        seconds = max(0.0, min(seconds, replay.duration))
        replay.seek(seconds)
        self._pending, self._pending_records = [], 0
        store = self.store
        if store is None:
            return seconds
        store.clear()
        history = replay.history()
        # Only what the store can still show matters: enough records for its ring (the latest
        # snapshot of a sampled map) and the batches inside its series window. Older events are
        # only counted; a sampled map's total then counts from the first snapshot kept.
        horizon = (
            replay.reader.header.start + seconds - store.axis.length * store.axis.bucket_seconds
        )
        first, need = len(history), store.capacity if isinstance(store, EventStore) else 1
        while first > 0 and (need > 0 or history[first - 1].time >= horizon):
            first -= 1
            need -= history[first].count if isinstance(store, EventStore) else 1
        self._apply(history[first:])
        if isinstance(store, EventStore):
            store.total += sum(b.count for b in history[:first])
            store.drops += sum(b.drops for b in history[:first])
        return seconds

    def set_speed(self, step: int) -> float | None:
        """One step faster (+1) or slower (-1) through ``SPEEDS``; the new speed."""
        replay = self.replay
        assert replay is not None, f"{self.name} is not a replay"
        index = SPEEDS.index(replay.speed) if replay.speed in SPEEDS else SPEEDS.index(1.0)
        replay.speed = SPEEDS[max(0, min(index + step, len(SPEEDS) - 1))]
        return replay.speed

    def end(self) -> None:
        """Detach the program; ``pump`` takes what the kernel still held, then returns."""
        if self.state == "running":
            self.session.stop()

    def stop(self, error: str | None = None) -> bool:
        """Detach everything; True if this call stopped it (False if it was already)."""
        if self.state != "running":
            return False
        self.state = "failed" if error else "stopped"
        self.error = error
        self.stop_recording()
        self.session.close()
        return True
