"""Sessions: where a run's batches come from. A live program on this kernel here; a recording
(``replay``) and a script (``scripted``) follow the same ``Session`` protocol, so everything
downstream (pipeline, sinks, views) is written once.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from ..format.package import ExportSpec, Package
from ..kernel import libbpf
from ..kernel.attachments import Interface
from ..kernel.program import Program, skipped_note
from ..kernel.sources import (
    PAGE_SIZE,
    DropCounter,
    PerfBufferSource,
    RingBufferSource,
    SampledMapSource,
)
from ..kernel.stats import CostMeter, CostSource, open_meter
from ..stream.batch import EventSource
from ..stream.decode import Decoders

DROPS_MAP = "drops"
"""A per-CPU array a program counts its ring buffer reserve failures in (the Hub's convention)."""


class Fleet(Protocol):
    """What a run on several hosts tells besides its events."""

    @property
    def label(self) -> str:
        """The program and its hosts: ``sigsnoop@web1,web2``."""

    def host_rates(self) -> dict[str, float]:
        """Each host's events in the last whole second."""

    def host_series(self, seconds: int) -> dict[str, Any]:
        """Each host's events per second over the last ``seconds`` seconds, oldest first."""

    def take_notice(self) -> str | None:
        """A line about a host (it ended, it failed) not said yet, or None."""


class Session(Protocol):
    """What a run is made from."""

    @property
    def name(self) -> str: ...

    @property
    def spec(self) -> ExportSpec:
        """What its batches are: the export's kind and layouts."""

    @property
    def decoders(self) -> Decoders: ...

    @property
    def values(self) -> dict[str, Any]:
        """The program's parameter values."""

    @property
    def digest(self) -> str:
        """The package's digest, when known ("" otherwise)."""

    @property
    def source(self) -> EventSource | None:
        """Its batches, once started (None when it exports nothing)."""

    @property
    def notes(self) -> list[str]:
        """What a user should know about how it started (optional programs left out)."""

    @property
    def fleet(self) -> Fleet | None:
        """Its hosts, when it runs on several (None for a run on one)."""

    def start(self) -> Session: ...

    def stop(self) -> None:
        """No more data: the source hands over what it still holds, then its iteration ends."""

    def close(self) -> None:
        """Release everything (for a live session: nothing stays attached in the kernel)."""

    def now(self) -> float:
        """The session's clock, in wall-clock seconds (a replay's and a script's are their
        batches' recorded times)."""

    def cost_meter(self) -> CostSource | None:
        """What its BPF programs cost the kernel from now on, sample by sample (once started);
        None when nothing of it runs here (a replay) or the kernel will not count."""


class LiveSession:
    """A package loaded and attached on this kernel, with the source that drains its export.

    ``ring_size`` (bytes, a power of 2 of pages) replaces the export buffer's size before load:
    a ring buffer's ``max_entries``, or a perf event array's buffer per CPU. ``interface``
    replaces the one XDP and TC programs attach to.
    """

    fleet: Fleet | None = None  # this host only

    def __init__(
        self,
        package: Package,
        values: dict[str, Any] | None = None,
        verbose: bool = False,
        ring_size: int | None = None,
        interface: Interface | None = None,
    ) -> None:
        self.package = package
        self.name = package.name
        self.digest = package.digest
        self.values = dict(values or {})
        self.ring_size = ring_size
        self.spec = package.export()
        self.decoders = Decoders.of(self.spec)
        libbpf.log.verbose = verbose
        self.program = Program(package, self.values, interface)
        self.source: EventSource | None = None

    def now(self) -> float:
        return time.time()

    @property
    def notes(self) -> list[str]:
        skipped = self.program.skipped
        return [skipped_note(skipped)] if skipped else []

    def start(self) -> LiveSession:
        self.program.open()
        try:
            if self.ring_size and self.spec.kind == "ringbuf":
                self.program.resize_map(self.spec.map_name, self.ring_size)
            self.program.load()
            self.source = self._open_source()
        except BaseException:
            self.close()
            raise
        return self

    def _open_source(self) -> EventSource | None:
        spec = self.spec
        if spec.kind == "none":
            return None
        maps = self.program.maps
        info = maps[spec.map_name]
        if spec.kind == "sample":
            assert spec.sample is not None
            return SampledMapSource(
                info.fd,
                info.key_size,
                info.value_size,
                spec.sample.interval_ms,
                spec.sample.clear_map,
            )
        if spec.kind == "ringbuf":
            drops_map = maps.get(DROPS_MAP)
            ncpus = libbpf.lib().libbpf_num_possible_cpus()
            drops = DropCounter(drops_map.fd if drops_map else None, ncpus)
            return RingBufferSource(info.fd, info.max_entries, spec.record_size, drops)
        pages = (self.ring_size or 0) // PAGE_SIZE or self.package.perf_buffer_pages
        return PerfBufferSource(info.fd, spec.record_size, pages)

    def stop(self) -> None:
        """Detach the programs, then let the source hand over what the kernel still holds."""
        self.program.detach()
        if self.source is not None:
            self.source.stop()

    def close(self) -> None:
        self.program.detach()
        if self.source is not None:
            self.source.close()
        self.program.close()

    def cost_meter(self) -> CostMeter | None:
        return open_meter(self.program.program_fds())

    def __enter__(self) -> LiveSession:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
