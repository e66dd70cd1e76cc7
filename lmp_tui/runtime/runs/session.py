"""A running program and its event stream: what ``lmp run`` and the TUI both drive.

Chooses the export map as ecli does (spec 4.5: sample maps, ring buffers, perf buffers, the last
one wins), builds the matching source and decoder, and tears everything down on ``close()``.
"""

from __future__ import annotations

from typing import Any

from ..errors import LayoutError, PackageError
from ..format.btf import Kind
from ..format.layout import StructLayout, layout_from_btf
from ..format.package import ExportChoice, Package, choose_export
from ..kernel import libbpf
from ..kernel.program import Program
from ..kernel.sources import (
    PAGE_SIZE,
    DropCounter,
    EventSource,
    PerfBufferSource,
    RingBufferSource,
    SampledMapSource,
)
from ..stream.decode import Decoder, SnapshotDecoder

DROPS_MAP = "drops"


def sample_layouts(
    package: Package, key_type_id: int, value_type_id: int
) -> tuple[StructLayout, StructLayout]:
    """Key and value layouts of a sampled map, value member names from export_types when they fit."""
    if not key_type_id or not value_type_id:
        raise PackageError("the sampled map has no BTF key/value types (declare it with __type)")
    key = layout_from_btf(package.btf, key_type_id)
    value = layout_from_btf(package.btf, value_type_id)
    names = package.sample_value_member_names()
    vt = package.btf.strip(value_type_id)
    exports = package.meta.get("export_types") or []
    if (
        names
        and vt.kind == Kind.STRUCT
        and exports
        and exports[0].get("name") == vt.name
        and len(names) == len(value.fields)
    ):
        value = StructLayout(
            value.name,
            value.size,
            tuple(
                type(f)(**{**_fields(f), "name": n})
                for f, n in zip(value.fields, names, strict=True)
            ),
            value.kind,
        )
    return key, value


def _fields(f: Any) -> dict[str, Any]:
    return {s: getattr(f, s) for s in f.__slots__}


class LiveSession:
    """A program attached to this kernel, with its event source and decoder.

    ``ring_size`` (bytes, a power of 2 of pages) replaces the export map's size before load: a
    ring buffer's ``max_entries``, or a perf event array's buffer per CPU.
    """

    def __init__(
        self,
        package: Package,
        values: dict[str, Any] | None = None,
        verbose: bool = False,
        ring_size: int | None = None,
    ) -> None:
        self.package = package
        self.values = dict(values or {})
        self.ring_size = ring_size
        libbpf.log.verbose = verbose
        self.program = Program(package, self.values)
        self.source: EventSource | None = None
        self.choice = ExportChoice("none")
        self.layout: StructLayout | None = None
        self.decoder: Decoder | None = None
        self.snapshot_decoder: SnapshotDecoder | None = None

    def start(self) -> LiveSession:
        self.program.open()
        try:
            maps = self.program.maps
            self.choice = choose_export(self.package, {n: m.type for n, m in maps.items()})
            if self.ring_size and self.choice.kind == "ringbuf":
                self.program.resize_map(self.choice.map_name, self.ring_size)
            self.program.load()
            self._open_source()
        except BaseException:
            self.close()
            raise
        return self

    def _open_source(self) -> None:
        maps = self.program.maps
        if self.choice.kind == "none":
            return
        info = maps[self.choice.map_name]
        if self.choice.kind == "sample":
            assert self.choice.sample is not None
            key, value = sample_layouts(self.package, info.btf_key_type_id, info.btf_value_type_id)
            self.snapshot_decoder = SnapshotDecoder(key, value)
            self.source = SampledMapSource(
                info.fd,
                info.key_size,
                info.value_size,
                self.choice.sample.interval_ms,
                self.choice.sample.clear_map,
            )
            return
        try:
            layout = self.package.export_layout()
        except LayoutError as exc:
            raise PackageError(str(exc)) from None
        if layout is None:
            raise PackageError(
                f"Export map named {self.choice.map_name} found, but no export type is provided"
            )
        self.layout = layout
        self.decoder = Decoder(layout)
        if self.choice.kind == "ringbuf":
            drops_map = maps.get(DROPS_MAP)
            ncpus = libbpf.lib().libbpf_num_possible_cpus()
            drops = DropCounter(drops_map.fd if drops_map else None, ncpus)
            self.source = RingBufferSource(info.fd, info.max_entries, layout.size, drops)
        else:
            pages = (self.ring_size or 0) // PAGE_SIZE or self.package.perf_buffer_pages
            self.source = PerfBufferSource(info.fd, layout.size, pages)

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

    def __enter__(self) -> LiveSession:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
