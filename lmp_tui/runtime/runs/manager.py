"""Runs: a started session (or wasm app) with its store, numbered, pumped, stopped.

A front end that shows several runs at once (the TUI) keeps them in a ``RunManager``: it numbers
them 1, 2, ... as views are numbered, pumps each on the event loop, and stops them so that
nothing a run loaded stays attached whatever way it ends. Views read a run's ``store`` and
decode what arrived once per refresh (``flush``), never once per batch. Once a second the
manager samples each run's BPF cost and kernel drops and tells ``on_sampled``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Literal, Protocol

from ..errors import LmpError
from ..format.package import Package
from ..format.params import Parameter, parameters
from ..kernel.stats import CostSource, ProgramCost
from ..stream.decode import Decoded
from ..stream.recording import Recorder, header_for
from ..stream.replay import ReplaySource
from ..stream.store import EventStore, SnapshotStore, StoreSink
from .pipeline import Pipeline
from .session import Session
from .sinks import RecorderSink

RunState = Literal["running", "stopped", "failed"]
RunKind = Literal["live", "replay", "wasm"]
SHED_LIMIT = 262_144
"""Records queued for a view beyond which its oldest queued batches are shed (counted)."""
SPEEDS: tuple[float | None, ...] = (0.5, 1.0, 2.0, 4.0, None)
"""Replay speeds, slowest first; None is as fast as possible."""
PUMP_END_TIMEOUT = 1.0
"""How long a stopped run's pump may take to hand over what the kernel still held."""
SAMPLE_INTERVAL = 1.0
"""Seconds between samples of a run's BPF cost (bpftop's period)."""


class Run(Protocol):
    """What a front end holds of a run."""

    @property
    def number(self) -> int: ...

    @property
    def state(self) -> RunState: ...

    @property
    def error(self) -> str | None: ...

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> RunKind: ...

    @property
    def recordable(self) -> bool:
        """It can be recorded from now on (``start_recording``)."""

    @property
    def seekable(self) -> bool:
        """It is a replay: ``seek`` and ``set_speed`` work."""

    async def pump(self) -> None:
        """Carry data until the run ends or is stopped; raises ``LmpError`` when it fails."""

    def flush(self) -> tuple[int, int]:
        """Decode what arrived since the last call into the store: (batches, records)."""

    def end(self) -> None:
        """Ask the run to finish: the pump hands over what is left, then returns."""

    def stop(self, error: str | None = None) -> bool:
        """Release everything; True if this call stopped it (False if it already was)."""


class SessionRun:
    """A session carried by a pipeline into a store (a live program, a replay, a script)."""

    def __init__(
        self,
        number: int,
        session: Session,
        store: EventStore | SnapshotStore | None,
        label: str = "",
        shed_limit: int = SHED_LIMIT,
    ) -> None:
        self.number = number
        self.session = session
        self.store = store
        self.label = label or session.name
        self.values = dict(session.values)
        self.state: RunState = "running"
        self.error: str | None = None
        self.pipeline = Pipeline(session)
        self.store_sink = StoreSink(store, session.spec, shed_limit) if store is not None else None
        if self.store_sink is not None:
            self.pipeline.attach(self.store_sink)
        self.recorder: Recorder | None = None
        """Where its batches are being recorded, if they are."""
        self.recording_since = 0.0
        """``time.monotonic()`` when the current recording started."""
        self.last_recording: Recorder | None = None
        self._recording_sink: RecorderSink | None = None
        self.cost: ProgramCost | None = None
        """What its BPF programs cost over the last sampled interval (None: not known)."""
        self._meter: CostSource | None = session.cost_meter()
        self._drops_seen = 0
        self._hinted = False

    @property
    def name(self) -> str:
        return self.label

    @property
    def title(self) -> str:
        return f"{self.number} {self.name}"

    @property
    def replay(self) -> ReplaySource | None:
        """The recording this run replays, or None."""
        source = self.session.source
        return source if isinstance(source, ReplaySource) else None

    @property
    def kind(self) -> RunKind:
        return "replay" if self.replay is not None else "live"

    @property
    def made_up(self) -> bool:
        """Its events are made up (``lmp-tui --demo``), not a kernel's."""
        return bool(getattr(self.session, "made_up", False))

    @property
    def recordable(self) -> bool:
        return self.kind == "live" and self.state == "running" and self.store is not None

    @property
    def seekable(self) -> bool:
        return self.replay is not None

    # -- recording -----------------------------------------------------------------------------

    def start_recording(self, path: Path) -> Recorder:
        """Record every batch from now on to ``path`` (raises ``RecordingError``)."""
        header = header_for(self.session)
        header.start = self.session.now()
        recorder = Recorder(path, header)
        self.recorder = recorder
        self.recording_since = time.monotonic()
        self._recording_sink = RecorderSink(recorder)
        self.pipeline.attach(self._recording_sink)
        return recorder

    def stop_recording(self) -> Recorder | None:
        """Close the recording (everything received so far is in the file)."""
        recorder, self.recorder = self.recorder, None
        sink, self._recording_sink = self._recording_sink, None
        if sink is not None:
            self.pipeline.detach(sink)
            sink.close()
        if recorder is not None:
            self.last_recording = recorder
        return recorder

    # -- the data path -------------------------------------------------------------------------

    @property
    def queued(self) -> int:
        """Records that arrived and wait for the next ``flush`` into the store."""
        return self.store_sink.queued if self.store_sink is not None else 0

    def flush(self) -> tuple[int, int]:
        if self.store_sink is None:
            return 0, 0
        return self.store_sink.flush()

    async def pump(self) -> None:
        """Carry batches until the source ends or the run stops.

        A replay holds at its end instead of ending, so seeking back plays it again.
        """
        source = self.session.source
        if source is None:
            return
        replay = self.replay
        while True:
            async for batch in source:
                if self.state != "running":
                    return
                self.pipeline.deliver(batch)
            if replay is None:
                return
            while replay.finished and not replay.closed:
                await asyncio.sleep(0.05)
            if replay.closed or self.state != "running":
                return

    # -- sampling ------------------------------------------------------------------------------

    def sample(self) -> str | None:
        """Take the BPF cost since the last call into ``cost``; the hint on how to narrow the
        program the first time the kernel dropped events since the last call (else None)."""
        if self._meter is not None and self.state == "running":
            self.cost = self._meter.sample()
        fleet = self.session.fleet
        if fleet is not None and (notice := fleet.take_notice()):  # a host ended
            return notice
        drops = self.store.drops if self.store is not None else 0
        dropped, self._drops_seen = drops > self._drops_seen, drops
        package = getattr(self.session, "package", None)
        if not dropped or self._hinted or self.kind != "live" or not isinstance(package, Package):
            return None
        self._hinted = True
        return narrowing_hint(self.name, parameters(package), self.values)

    # -- replay controls -----------------------------------------------------------------------

    def seek(self, seconds: float) -> float:
        """Jump the replay to ``seconds`` from its start; the store is rebuilt to show what the
        recording had up to there. Returns the position sought to."""
        replay = self.replay
        if replay is None:
            raise LmpError(f"{self.name} is not a replay")
        seconds = max(0.0, min(seconds, replay.duration))
        replay.seek(seconds)
        store, sink = self.store, self.store_sink
        if store is None or sink is None:
            return seconds
        sink.discard()
        store.clear()
        # Only what the store can still show is decoded again: enough events for its ring (the
        # latest snapshot of a sampled map) and the batches inside its series window; older
        # ones are only counted (a sampled map's total then counts from the snapshot kept).
        horizon = (
            replay.reader.header.start + seconds - store.axis.length * store.axis.bucket_seconds
        )
        if isinstance(store, EventStore):
            batches, events, drops = replay.history(horizon, events=store.capacity)
        else:
            batches, events, drops = replay.history(horizon, frames=1)
        decoders = self.session.decoders
        sink.apply([Decoded(b, decoders) for b in batches])
        if isinstance(store, EventStore):
            store.total += events
            store.drops += drops
        return seconds

    def set_speed(self, step: int) -> float | None:
        """One step faster (+1) or slower (-1) through ``SPEEDS``; the new speed."""
        replay = self.replay
        if replay is None:
            raise LmpError(f"{self.name} is not a replay")
        index = SPEEDS.index(replay.speed) if replay.speed in SPEEDS else SPEEDS.index(1.0)
        replay.speed = SPEEDS[max(0, min(index + step, len(SPEEDS) - 1))]
        return replay.speed

    def end(self) -> None:
        """Detach the program; ``pump`` takes what the kernel still held, then returns."""
        if self.state == "running":
            self.session.stop()

    def stop(self, error: str | None = None) -> bool:
        if self.state != "running":
            return False
        self.state = "failed" if error else "stopped"
        self.error = error
        self.stop_recording()
        if self._meter is not None:
            self._meter.close()  # before the session: the statistics go off with the last meter
        self.cost = None
        self.session.close()
        return True


def narrowing_hint(name: str, params: list[Parameter], values: dict[str, object]) -> str:
    """One line on how to have ``name`` send fewer events when the kernel drops some: its
    process parameter first, when one is not set yet, then its other parameters not set yet,
    by the option a user types (the same in ``lmp run`` and the TUI's form)."""
    pidlike = [p for p in params if p.variable.type == "pid_t" or "pid" in p.name]
    unset = [p for p in params if values.get(p.name, p.default) == p.default]
    # one process already chosen: narrowing to a thread of it is not what helps
    traced = any(p not in unset for p in pidlike)
    pid = None if traced else next((p for p in pidlike if p in unset), None)
    others = [p.flag for p in unset if p is not pid and not (traced and p in pidlike)]
    what = f"{name} drops events: the kernel makes them faster than lmp reads them. "
    if pid is not None:
        also = f" (or narrow it with {', '.join(others)})" if others else ""
        return what + f"Trace one process: run it again with {pid.flag} PID{also}."
    if others:
        return what + f"Trace less: run it again with {', '.join(others)}, or a larger buffer."
    return what + "Run it again with a larger buffer (--ring-size)."


class RunManager(Mapping[int, Run]):
    """The runs of one front end by number, 1..``limit`` (a free number is reused), each pumped
    by a task of its own; ``on_stopped(run, error)`` is told when one ends."""

    def __init__(
        self,
        limit: int = 9,
        on_stopped: Callable[[Run, str | None], None] | None = None,
        on_sampled: Callable[[SessionRun, str | None], None] | None = None,
        sample_interval: float = SAMPLE_INTERVAL,
    ) -> None:
        self.limit = limit
        self.on_stopped = on_stopped
        self.on_sampled = on_sampled
        """Told of each sample of a program's run: its new ``cost``, and a hint once it drops."""
        self.sample_interval = sample_interval
        self._runs: dict[int, Run] = {}
        self._pumps: dict[int, asyncio.Task[None]] = {}
        self._samplers: dict[int, asyncio.Task[None]] = {}

    def __getitem__(self, number: int) -> Run:
        return self._runs[number]

    def __iter__(self) -> Iterator[int]:
        return iter(sorted(self._runs))

    def __len__(self) -> int:
        return len(self._runs)

    def free_number(self) -> int | None:
        return next((n for n in range(1, self.limit + 1) if n not in self._runs), None)

    def start(self, run: Run) -> None:
        """Keep ``run`` (numbered with ``free_number()``) and start pumping it."""
        if run.number in self._runs:
            raise LmpError(f"run number {run.number} is taken")
        self._runs[run.number] = run
        self._pumps[run.number] = asyncio.ensure_future(self._pump(run))
        if isinstance(run, SessionRun):
            self._samplers[run.number] = asyncio.ensure_future(self._sample(run))

    async def _sample(self, run: SessionRun) -> None:
        """Sample ``run`` every ``sample_interval`` while it runs: a timer of its own, so the
        interval is the same whatever the refresh rate and however busy its views are."""
        while True:
            await asyncio.sleep(self.sample_interval)
            if run.state != "running":
                return
            hint = run.sample()
            if self.on_sampled is not None:
                self.on_sampled(run, hint)

    async def _pump(self, run: Run) -> None:
        error: str | None = None
        try:
            await run.pump()
        except LmpError as exc:
            error = str(exc)
        except Exception as exc:  # a bug: said in one line, the run stopped cleanly
            error = f"{type(exc).__name__}: {exc}"
        run.flush()
        if run.stop(error) and self.on_stopped is not None:
            self.on_stopped(run, error)

    async def stop(self, run: Run, timeout: float = PUMP_END_TIMEOUT) -> None:
        """End ``run``: its pump takes what the kernel still held (for ``timeout`` at most),
        then everything is released."""
        pump = self._pumps.pop(run.number, None)
        if (sampler := self._samplers.pop(run.number, None)) is not None:
            sampler.cancel()
        run.end()
        if pump is not None and not pump.done():
            try:
                await asyncio.wait_for(asyncio.shield(pump), timeout)
            except (TimeoutError, asyncio.CancelledError):
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await pump
        run.flush()
        if run.stop() and self.on_stopped is not None:
            self.on_stopped(run, None)

    async def stop_all(self) -> None:
        for run in list(self.values()):
            await self.stop(run)

    async def remove(self, run: Run) -> None:
        """Stop ``run`` and forget it (its number is free again)."""
        await self.stop(run)
        self._runs.pop(run.number, None)

    def release_all(self) -> None:
        """The last word before the process goes: whatever still runs is released now."""
        for task in [*self._pumps.values(), *self._samplers.values()]:
            task.cancel()
        for run in self._runs.values():
            run.stop()
