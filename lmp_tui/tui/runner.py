"""A running program as the TUI sees it: a session, its store and the batches in between.

The event source is drained by an asyncio task (``pump``) that only queues raw batches; the
app's refresh timer calls ``flush`` once per tick, which decodes the queued batches in bulk
into the store. If the UI falls behind, the oldest queued batches are shed and counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ..runtime.decode import Batch, Decoder, SnapshotDecoder
from ..runtime.hub import HubProgram
from ..runtime.package import Package
from ..runtime.poller import EventSource
from ..runtime.session import ExportChoice, LiveSession
from ..runtime.store import EventStore, SnapshotStore, StoreConfig

RunState = Literal["running", "stopped", "failed"]
SHED_LIMIT = 262_144
"""Queued records beyond which the oldest queued batches are dropped (UI shedding)."""


class Session(Protocol):
    """What the TUI needs from a session: ``LiveSession`` or a scripted stand-in."""

    package: Package
    source: EventSource | None
    decoder: Decoder | None
    snapshot_decoder: SnapshotDecoder | None
    choice: ExportChoice

    def start(self) -> Session: ...

    def close(self) -> None: ...


SessionFactory = Callable[[HubProgram, dict[str, Any]], Session]


def live_session(program: HubProgram, values: dict[str, Any]) -> Session:
    """The real thing: load and attach ``program`` on this kernel (when started)."""
    return LiveSession(program.package, values)


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
    """One started program: numbered 1, 2, ... in the order they were started."""

    number: int
    program: HubProgram
    session: Session = field(repr=False)
    store: EventStore | SnapshotStore | None = field(repr=False)
    values: dict[str, Any] = field(default_factory=dict)
    state: RunState = "running"
    error: str | None = None
    shed_limit: int = SHED_LIMIT
    _pending: list[Batch] = field(default_factory=list, repr=False)
    _pending_records: int = 0

    @property
    def name(self) -> str:
        return self.program.name

    @property
    def title(self) -> str:
        return f"{self.number} {self.name}"

    def receive(self, batch: Batch) -> None:
        """Queue a batch for the next tick (called by the pump, once per batch)."""
        self._pending.append(batch)
        self._pending_records += batch.count
        while self._pending_records > self.shed_limit and len(self._pending) > 1:
            dropped = self._pending.pop(0)
            self._pending_records -= dropped.count
            if isinstance(self.store, EventStore):
                self.store.add_shed(dropped.count)
                self.store.drops += dropped.drops

    def flush(self) -> tuple[int, int]:
        """Decode everything queued into the store: (batches, records) taken."""
        if not self._pending:
            return 0, 0
        batches, self._pending, self._pending_records = self._pending, [], 0
        store, session = self.store, self.session
        taken = 0
        for batch in batches:
            taken += batch.count
            if isinstance(store, EventStore) and session.decoder is not None:
                store.append(
                    session.decoder.array(batch.records, batch.count), batch.time, batch.drops
                )
            elif isinstance(store, SnapshotStore) and session.snapshot_decoder is not None:
                keys, values = session.snapshot_decoder.arrays(batch.records, batch.count)
                sample = session.choice.sample
                store.update(
                    keys, values, batch.time, cleared=bool(sample is not None and sample.clear_map)
                )
        return len(batches), taken

    async def pump(self) -> None:
        """Queue batches until the source ends or is closed."""
        source = self.session.source
        if source is None:
            return
        async for batch in source:
            if self.state != "running":
                break
            self.receive(batch)

    def stop(self, error: str | None = None) -> bool:
        """Detach everything; True if this call stopped it (False if it was already)."""
        if self.state != "running":
            return False
        self.state = "failed" if error else "stopped"
        self.error = error
        self.session.close()
        return True
