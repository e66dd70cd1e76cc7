"""The one path of a run's data: session -> source -> (decoded once) -> sinks.

``lmp run``, ``lmp record``, ``lmp replay``, the ewasm host and the TUI all carry batches this
way; what differs between them is which sinks they attach (a printer, a recorder, a store, a
guest's event feed) and how they drive the pipeline (``run`` under asyncio, ``poll`` from a
thread that must block, as a wasm guest's host call does).
"""

from __future__ import annotations

import select
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ..kernel.sources import SampledMapSource, StreamSource
from ..stream.batch import Batch
from ..stream.decode import Decoded
from .session import Session

if TYPE_CHECKING:
    import asyncio


class Sink(Protocol):
    """Where a run's batches go. ``write`` is called once per batch, in order, and must not
    block for long: a sink that cannot keep up sheds and counts what it shed."""

    def write(self, item: Decoded) -> None: ...

    def close(self) -> None: ...


@dataclass(slots=True)
class Tally:
    """What a run has carried so far: events, and those lost on the way (kernel drops, and
    what lmp itself shed before the pipeline), as its batches reported them."""

    events: int = 0
    drops: int = 0
    shed: int = 0
    batches: int = 0

    def add(self, batch: Batch) -> None:
        self.events += batch.count
        self.drops += batch.drops
        self.shed += batch.shed
        self.batches += 1


class Pipeline:
    """Carries a started session's batches to its sinks; sinks can come and go as it runs."""

    def __init__(self, session: Session, sinks: Iterable[Sink] = ()) -> None:
        self.session = session
        self.sinks: list[Sink] = list(sinks)
        self.tally = Tally()
        self._next_sample = 0.0

    def attach(self, sink: Sink) -> None:
        self.sinks.append(sink)

    def detach(self, sink: Sink) -> None:
        if sink in self.sinks:
            self.sinks.remove(sink)

    def deliver(self, batch: Batch) -> None:
        self.tally.add(batch)
        item = Decoded(batch, self.session.decoders)
        for sink in list(self.sinks):
            sink.write(item)

    async def run(self, until: asyncio.Event | None = None, duration: float | None = None) -> Tally:
        """Deliver batches until the source ends, ``until`` is set or ``duration`` seconds
        pass; then stop the session (a live one detaches) and deliver what its source still
        held, so a stopped run has lost nothing."""
        import asyncio  # here: lmp run and lmp record use run_blocking, and start faster

        futures: set[asyncio.Future[Any]] = set()
        pump = None
        if self.session.source is not None:
            pump = asyncio.ensure_future(self._pump())
            futures.add(pump)
        if until is not None:
            futures.add(asyncio.ensure_future(until.wait()))
        if not futures:  # nothing to carry and nothing to wait for: only the duration ends it
            futures.add(asyncio.ensure_future(asyncio.Event().wait()))
        try:
            await asyncio.wait(futures, timeout=duration, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.session.stop()
            for future in futures - {pump}:
                future.cancel()
        if pump is not None:
            await pump
        return self.tally

    async def _pump(self) -> None:
        source = self.session.source
        assert source is not None
        async for batch in source:
            self.deliver(batch)

    def poll(self, timeout: float) -> bool:
        """Without an event loop (a thread that may block, as a wasm guest's host call does):
        deliver what the source has, waiting at most ``timeout`` seconds for it; a sampled map
        is read once per interval. False when nothing came."""
        source = self.session.source
        batch = None
        if isinstance(source, SampledMapSource):
            wait = self._next_sample - time.monotonic()
            if wait > timeout:
                time.sleep(timeout)
                return False
            time.sleep(max(wait, 0.0))
            self._next_sample = time.monotonic() + source.interval
            batch = source.snapshot()
        elif isinstance(source, StreamSource):
            batch = source.drain()
            if batch is None:
                select.select([source.fileno()], [], [], timeout)
                batch = source.drain()
        else:
            time.sleep(timeout)
        if batch is None:
            return False
        self.deliver(batch)
        return True

    def run_blocking(
        self, stopped: Callable[[], bool], duration: float | None = None, tick: float = 0.1
    ) -> Tally:
        """``run`` without an event loop (``lmp run`` and ``lmp record`` need none): deliver
        batches until ``stopped()`` or ``duration`` seconds pass, checking every ``tick``; then
        stop the session and deliver what its source still held."""
        deadline = None if duration is None else time.monotonic() + duration
        try:
            while not stopped():
                timeout = tick if deadline is None else min(tick, deadline - time.monotonic())
                if timeout <= 0:
                    break
                if self.poll(timeout):
                    time.sleep(StreamSource.handoff_s)  # let records gather: a batch, not one
        finally:
            self.session.stop()
        while self.poll(0):
            pass
        return self.tally

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()
