"""A package in the kernel: open, write globals, load, attach; ``close()`` detaches everything.

``Program`` is a context manager, and every failure path closes what was opened, so an error
never leaves a program attached.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, replace
from typing import Any

from ..errors import KernelError, PackageError, ParameterError
from ..format.package import Package, ProgMeta
from ..format.params import encode
from . import libbpf, probe
from .attach import attach, needs_interface
from .attachments import Attachment, Interface
from .bpf_object import BpfObject, failure


@dataclass(frozen=True, slots=True)
class MapInfo:
    name: str
    type: int
    fd: int
    key_size: int
    value_size: int
    max_entries: int
    btf_key_type_id: int
    btf_value_type_id: int


@dataclass(frozen=True, slots=True)
class Skipped:
    program: str
    reason: str


def skipped_note(skipped: list[Skipped]) -> str:
    """One line naming what was left out and why (libbpf-tools say as much for openat2)."""
    reasons = dict.fromkeys(s.reason for s in skipped)
    names = ", ".join(s.program for s in skipped)
    return f"without the optional {names}: {'; '.join(reasons)}"


def selected_programs(package: Package, values: dict[str, Any]) -> list[ProgMeta]:
    """The programs to attach: all, less those whose ``@when`` condition is false.

    ``/// @when kill_only`` (or ``!kill_only``) on a program lets one object carry alternative
    attach sets; loaders that ignore it attach everything, and the program's own check of the
    flag keeps their output right.
    """
    chosen = []
    for prog in package.progs:
        cond = prog.others.get("when")
        if isinstance(cond, str) and cond:
            negate = cond.startswith("!")
            name = cond.lstrip("!").strip()
            if bool(values.get(name, False)) == negate:
                continue
        chosen.append(prog)
    return chosen


class Program:
    """One loaded and attached BPF object.

    ``interface`` replaces the interface XDP and TC programs name in their metadata.
    """

    def __init__(
        self,
        package: Package,
        values: dict[str, Any] | None = None,
        interface: Interface | None = None,
    ) -> None:
        self.package = package
        self.values = dict(values or {})
        self.interface = interface
        self._object: BpfObject | None = None
        self._links: list[Attachment] = []
        self.skipped: list[Skipped] = []
        """Optional programs left out because this kernel lacks their attach point."""
        self.maps: dict[str, MapInfo] = {}

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Program:
        """Open, load and attach; on any failure nothing stays loaded."""
        return self.open().load()

    def open(self) -> Program:
        """Check the kernel, open the object and set its globals: maps can be resized now."""
        try:
            self._preflight()
            self._open()
            self._write_globals()
            self._choose_programs()
        except BaseException:
            self.close()
            raise
        return self

    def load(self) -> Program:
        """Load into the kernel and attach (after ``open``)."""
        try:
            self._load()
            self._attach()
        except BaseException:
            self.close()
            raise
        return self

    def resize_map(self, name: str, max_entries: int) -> None:
        """Set a map's ``max_entries`` before load (a ring buffer's size in bytes)."""
        if libbpf.lib().bpf_map__set_max_entries(self._map_ptrs[name], max_entries) != 0:
            raise KernelError(failure(f"cannot resize map {name}", libbpf.errno()))
        self.maps[name] = replace(self.maps[name], max_entries=max_entries)

    def detach(self) -> None:
        """Detach every program, last attached first; maps stay readable until ``close()``."""
        while self._links:
            self._links.pop().detach()

    def close(self) -> None:
        self.detach()
        if self._object is not None:
            self._object.close()
            self._object = None

    def __enter__(self) -> Program:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def attached(self) -> int:
        return len(self._links)

    def program_fds(self) -> list[tuple[str, int]]:
        """(name, fd) of each loaded program (none before ``load``): what ``stats`` reads."""
        if self._object is None:
            return []
        lib = libbpf.lib()
        return [
            (name, fd)
            for name, _, program in self._object.programs()
            if lib.bpf_program__autoload(program) and (fd := lib.bpf_program__fd(program)) >= 0
        ]

    # -- steps --------------------------------------------------------------------------------

    def _preflight(self) -> None:
        reason = probe.can_use_bpf()
        if reason:
            raise KernelError(reason)
        chosen = selected_programs(self.package, self.values)
        if self.interface and not any(needs_interface(p.attach) for p in chosen):
            raise ParameterError(
                f"--ifname/--ifindex apply to XDP and TC programs; {self.package.name} has none"
            )
        for prog in chosen:
            req = probe.requirement_for(prog.attach)
            if req is not None and req.kind == "tracepoint":
                probe.ensure_tracefs()  # once, explicitly: probing itself mounts nothing
            if why := probe.refusal(prog.attach):
                if not prog.optional:
                    raise KernelError(f"cannot run {self.package.name}: {why}")
                self.skipped.append(Skipped(prog.name, why))
        if chosen and len(self.skipped) == len(chosen):
            raise KernelError(f"cannot run {self.package.name}: {self.skipped[0].reason}")

    def _open(self) -> None:
        lib = libbpf.lib()
        self._object = BpfObject(self.package.obj, self.package.obj_name)
        self._map_ptrs = dict(self._object.maps())
        for name, m in self._map_ptrs.items():
            self.maps[name] = MapInfo(
                name,
                lib.bpf_map__type(m),
                -1,
                lib.bpf_map__key_size(m),
                lib.bpf_map__value_size(m),
                lib.bpf_map__max_entries(m),
                lib.bpf_map__btf_key_type_id(m),
                lib.bpf_map__btf_value_type_id(m),
            )

    def _write_globals(self) -> None:
        """Initial values of ``.rodata``/``.bss`` (spec 2, step 4)."""
        lib = libbpf.lib()
        by_section: dict[str, list[tuple[int, bytes]]] = {}
        for v in self.package.variables:
            value = self.values.get(v.name, v.value)
            if value is None:
                continue
            by_section.setdefault(v.section, []).append(
                (v.offset, encode(self.package.btf, v, value))
            )
        for section, writes in by_section.items():
            if section not in (".rodata", ".bss"):
                raise PackageError(
                    f"Unsupported section {section}: only .rodata and .bss globals can be set"
                )
            ident = section.lstrip(".")
            ptr = self._internal_map(ident)
            size = ctypes.c_size_t()
            initial = lib.bpf_map__initial_value(ptr, ctypes.byref(size))
            buf = bytearray(ctypes.string_at(initial, size.value) if initial else bytes(size.value))
            for offset, raw in writes:
                buf[offset : offset + len(raw)] = raw
            cbuf = ctypes.create_string_buffer(bytes(buf), len(buf))
            if lib.bpf_map__set_initial_value(ptr, cbuf, len(buf)) != 0:
                raise KernelError(failure(f"cannot set {section} values", libbpf.errno()))

    def _internal_map(self, ident: str) -> int:
        suffix = "." + ident
        for name, ptr in self._map_ptrs.items():
            if name.endswith(suffix) and libbpf.lib().bpf_map__is_internal(ptr):
                return ptr
        raise PackageError(f"the object has no {suffix} map")

    def _choose_programs(self) -> None:
        assert self._object is not None
        wanted = {p.name for p in selected_programs(self.package, self.values)}
        wanted -= {s.program for s in self.skipped}
        for name, _, program in self._object.programs():
            libbpf.lib().bpf_program__set_autoload(program, name in wanted)

    def _load(self) -> None:
        assert self._object is not None
        self._object.load(self.package.name)
        lib = libbpf.lib()
        for name, ptr in self._map_ptrs.items():
            self.maps[name] = replace(
                self.maps[name],
                fd=lib.bpf_map__fd(ptr),
                max_entries=lib.bpf_map__max_entries(ptr),
                btf_key_type_id=lib.bpf_map__btf_key_type_id(ptr),
                btf_value_type_id=lib.bpf_map__btf_value_type_id(ptr),
            )

    def _attach(self) -> None:
        assert self._object is not None
        metadata = {p.name: p.others for p in self.package.progs}
        for name, section, program in self._object.programs():
            if libbpf.lib().bpf_program__autoload(program):
                meta = metadata.get(name, {})
                self._links.append(attach(program, name, section, meta, self.interface))
