"""One program on several hosts, as one session: each host's stream (``remote_session``)
merged into one, with a ``host`` column, so the views sort, filter (``host=web2``) and count
it like any field. A program that reports a map (runqlat's histograms) is shown from one host
per view, its snapshots as they come.

Each record gets its host's name in 32 more bytes, appended (the layout's own fields keep
their offsets); the ``host`` field comes first in the layout, so tables show it first. A
host whose stream ends while others go on is said in one line (``take_notice``); when the
last one ends the session ends, saying why.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from typing import Any

from ..errors import LmpError, RecordingError
from ..format.layout import Field, FieldKind, StructLayout
from ..format.package import ExportSpec
from ..lazy import np
from ..stream.batch import Batch, EventSource
from ..stream.decode import Decoders
from .stream import StreamSession

HOST_FIELD = "host"
HOST_BYTES = 32
KEPT_SECONDS = 3600
"""Seconds of per-host rates kept (a sparkline's longest window)."""


def with_host(spec: ExportSpec) -> ExportSpec:
    """``spec`` with a ``host`` text field first, its bytes after the record's own."""
    layout = spec.layout
    if layout is None:
        raise LmpError("several hosts in one view: only for programs that report events")
    host = Field(HOST_FIELD, FieldKind.STRING, layout.size, HOST_BYTES, type_name="char[32]")
    merged = StructLayout(layout.name, layout.size + HOST_BYTES, (host, *layout.fields))
    return replace(spec, layout=merged)


def host_bytes(host: str) -> bytes:
    return host.encode()[: HOST_BYTES - 1].ljust(HOST_BYTES, b"\0")


def tagged(batch: Batch, host: bytes) -> Batch:
    """``batch`` with ``host`` after each record (one copy of the batch, no loop per event)."""
    n, size = batch.count, batch.record_size
    out = np.empty((n, size + HOST_BYTES), np.uint8)
    out[:, :size] = np.frombuffer(batch.records, np.uint8, count=n * size).reshape(n, size)
    out[:, size:] = np.frombuffer(host, np.uint8)
    return Batch(
        batch.time,
        out.tobytes(),
        n,
        size + HOST_BYTES,
        batch.drops,
        snapshot=False,
        shed=batch.shed,
    )


class FleetSource(EventSource):
    """Every host's batches as they come, tagged with the host."""

    def __init__(self, session: FleetSession) -> None:
        self.session = session
        self._queue: asyncio.Queue[tuple[StreamSession | None, Batch | None]] | None = None

    async def batches(self) -> AsyncIterator[Batch]:
        queue: asyncio.Queue[tuple[StreamSession | None, Batch | None]] = asyncio.Queue()
        self._queue = queue

        async def carry(host: StreamSession) -> None:
            try:
                assert host.source is not None
                tag = host_bytes(host.host)
                async for batch in host.source:
                    self.session.received(host.host, batch.count)
                    await queue.put((host, tagged(batch, tag) if self.session.tags else batch))
            finally:
                await queue.put((host, None))

        tasks = [asyncio.ensure_future(carry(h)) for h in self.session.hosts]
        live = len(tasks)
        try:
            while live and not self.closed:
                host, batch = await queue.get()
                if host is None:  # closed
                    return
                if batch is not None:
                    yield batch
                    continue
                live -= 1
                problem = host.problem
                if live and problem:
                    self.session.notices.append(f"{problem}; the other hosts go on")
                elif problem:
                    raise RecordingError(problem)
        finally:
            for task in tasks:
                task.cancel()
            # their own ends (cancelled, a host's error) are theirs; ours still propagates
            await asyncio.gather(*tasks, return_exceptions=True)

    def close(self) -> None:
        super().close()
        if self._queue is not None:  # the merge stops waiting
            self._queue.put_nowait((None, None))
        for host in self.session.hosts:
            if host.source is not None:
                host.source.close()


class FleetSession:
    """``program`` on ``hosts`` (each a ``StreamSession`` not started yet)."""

    def __init__(self, program: str, hosts: Sequence[StreamSession]) -> None:
        self.program = program
        self.hosts = list(hosts)
        self.notes: list[str] = []
        self.notices: list[str] = []
        """What happened to a host since the view last asked (``take_notice``)."""
        self.counts: dict[str, int] = {h.host: 0 for h in self.hosts}
        """Events per host so far."""
        self._per_second: dict[str, dict[int, int]] = {h.host: {} for h in self.hosts}
        self._spec: ExportSpec | None = None
        self._source: FleetSource | None = None
        self.tags = True
        """Records get their host appended (events); a map's snapshots come as they are."""

    @property
    def label(self) -> str:
        return f"{self.program}@{','.join(h.host for h in self.hosts)}"

    @property
    def fleet(self) -> FleetSession:
        return self

    @property
    def name(self) -> str:
        return self.program

    @property
    def spec(self) -> ExportSpec:
        if self._spec is None:
            raise LmpError(f"{self.label}: not started")
        return self._spec

    @property
    def decoders(self) -> Decoders:
        return Decoders.of(self.spec)

    @property
    def values(self) -> dict[str, Any]:
        return self.hosts[0].values if self.hosts else {}

    @property
    def digest(self) -> str:
        return self.hosts[0].digest if self.hosts else ""

    @property
    def source(self) -> FleetSource | None:
        return self._source

    def start(self) -> FleetSession:
        """Start every host at once (each an ssh login and a program load); a host that fails
        is left out in a note, unless all do."""
        failures: dict[str, str] = {}

        def start(host: StreamSession) -> None:
            try:
                host.start()
            except LmpError as exc:
                failures[host.host] = str(exc)

        threads = [threading.Thread(target=start, args=(h,)) for h in self.hosts]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        started = [h for h in self.hosts if h.host not in failures]
        if not started:
            self.close()
            raise RecordingError("; ".join(failures.values()))
        first = started[0].spec
        if first.layout is None and len(self.hosts) > 1:
            self.close()
            raise LmpError(
                f"{self.program} reports a map, not events: open it on one host per view "
                f"(lmp-tui --host {self.hosts[0].host})"
            )
        for host in started[1:]:
            if host.spec.layout != first.layout:
                failures[host.host] = f"{host.host}: another build of {self.program} (left out)"
                host.close()
        self.hosts = [h for h in started if h.host not in failures]
        self.notes += list(failures.values())
        for gone in failures:  # the status bar and the panels show the hosts that stream
            self.counts.pop(gone, None)
            self._per_second.pop(gone, None)
        # events get a host column; a map's snapshots (one host) are shown as they come
        self.tags = first.layout is not None
        self._spec = with_host(first) if self.tags else first
        self._source = FleetSource(self)
        return self

    def received(self, host: str, events: int, now: float | None = None) -> None:
        """Count ``events`` from ``host`` in this second (this machine's clock: the hosts'
        may differ)."""
        self.counts[host] += events
        second = int(time.time() if now is None else now)
        buckets = self._per_second[host]
        buckets[second] = buckets.get(second, 0) + events
        if len(buckets) > 2 * KEPT_SECONDS:
            for old in [s for s in buckets if s <= second - KEPT_SECONDS]:
                del buckets[old]

    def host_series(self, seconds: int, now: float | None = None) -> dict[str, Any]:
        """Each host's events per second over the last ``seconds`` seconds, oldest first
        (the current second, still counting, last)."""
        end = int(time.time() if now is None else now)
        span = range(end - min(seconds, KEPT_SECONDS) + 1, end + 1)
        return {
            host: np.array([buckets.get(s, 0) for s in span], np.float64)
            for host, buckets in self._per_second.items()
        }

    def host_rates(self, now: float | None = None) -> dict[str, float]:
        """Each host's events in the last whole second."""
        second = int(time.time() if now is None else now) - 1
        return {host: float(b.get(second, 0)) for host, b in self._per_second.items()}

    def take_notice(self) -> str | None:
        """A line about a host the view has not said yet, or None."""
        return self.notices.pop(0) if self.notices else None

    def stop(self) -> None:
        if self._source is not None:
            self._source.stop()

    def close(self) -> None:
        if self._source is not None:
            self._source.close()
        for host in self.hosts:
            host.close()

    def now(self) -> float:
        return time.time()

    def cost_meter(self) -> None:
        return None


def fleet_factory(
    hosts: Sequence[str],
    lmp: str = "lmp",
    ssh: str = "ssh",
    remote: Callable[..., StreamSession] | None = None,
) -> Callable[[str, list[str]], FleetSession]:
    """Sessions of a program on ``hosts``: ``factory(program, args)``."""
    from .stream import remote_session

    make = remote or remote_session

    def factory(program: str, args: list[str]) -> FleetSession:
        return FleetSession(program, [make(h, program, args, lmp, ssh) for h in hosts])

    return factory
