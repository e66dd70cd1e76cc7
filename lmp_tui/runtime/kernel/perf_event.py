"""perf_event programs: one perf event per online CPU, described by the program's metadata
(``/// @perf_event {"type": "PERF_TYPE_SOFTWARE", "config": "PERF_COUNT_SW_CPU_CLOCK",
"sample_freq": 99}``, or ``sample_period``). Without it, eunomia's choice: CPU cycles, one sample
a second.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import KernelError
from . import libbpf
from .attachments import Attachment, Link, meta_named, meta_number, meta_object


@dataclass(slots=True)
class Links:
    """Several attachments as one (a perf event per CPU)."""

    parts: list[Attachment] = field(default_factory=list)

    def detach(self) -> None:
        while self.parts:
            self.parts.pop().detach()


PERF_TYPES = {"PERF_TYPE_HARDWARE": 0, "PERF_TYPE_SOFTWARE": 1}
PERF_CONFIGS = {
    "PERF_COUNT_HW_CPU_CYCLES": 0,
    "PERF_COUNT_HW_INSTRUCTIONS": 1,
    "PERF_COUNT_SW_CPU_CLOCK": 0,
    "PERF_COUNT_SW_TASK_CLOCK": 1,
}
_PERF_ATTR = struct.Struct("<IIQQQQQ")  # type, size, config, period|freq, sample_type, read, flags
PERF_ATTR_SIZE = 128  # PERF_ATTR_SIZE_VER7: the rest of ours is zeros
PERF_FLAG_FREQ = 1 << 10
PERF_FLAG_FD_CLOEXEC = 8
_PERF_EVENT_OPEN = {"x86_64": 298, "aarch64": 241, "riscv64": 241, "ppc64le": 319, "s390x": 331}
_libc = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True, slots=True)
class PerfEventSpec:
    type: int = 0  # eunomia's default: hardware CPU cycles, one sample a second
    config: int = 0
    frequency: int | None = 1
    period: int | None = None

    @classmethod
    def of(cls, meta: Mapping[str, Any], name: str) -> PerfEventSpec:
        spec = meta_object(meta, "perf_event", name)
        if not spec:
            return cls()
        kind = meta_named(spec, "type", PERF_TYPES, 0, name)
        config = meta_named(spec, "config", PERF_CONFIGS, 0, name)
        period = meta_number(spec, "sample_period", 0, name) or None
        frequency = None if period else (meta_number(spec, "sample_freq", 1, name) or 1)
        return cls(kind, config, frequency, period)

    def attr(self) -> bytes:
        flags = PERF_FLAG_FREQ if self.frequency else 0
        head = _PERF_ATTR.pack(
            self.type, PERF_ATTR_SIZE, self.config, self.frequency or self.period or 0, 0, 0, flags
        )
        return head.ljust(PERF_ATTR_SIZE, b"\0")


def online_cpus(path: Path = Path("/sys/devices/system/cpu/online")) -> list[int]:
    """The CPUs listed as online (``0-3,5``)."""
    cpus: list[int] = []
    for part in path.read_text().strip().split(","):
        first, _, last = part.partition("-")
        cpus.extend(range(int(first), int(last or first) + 1))
    return cpus


def _perf_event_open(attr: bytes, cpu: int) -> int:
    number = _PERF_EVENT_OPEN.get(os.uname().machine)
    if number is None:
        raise KernelError(f"lmp cannot open perf events on {os.uname().machine}")
    buf = ctypes.create_string_buffer(attr, len(attr))
    fd = _libc.syscall(number, buf, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC)
    return int(fd) if fd >= 0 else -ctypes.get_errno()


def attach_perf_event(program: int, name: str, meta: Mapping[str, Any]) -> Attachment:
    spec = PerfEventSpec.of(meta, name)
    attr = spec.attr()
    links = Links()
    try:
        for cpu in online_cpus():
            fd = _perf_event_open(attr, cpu)
            if fd == -errno.ENODEV:  # went offline since we read the list
                continue
            if fd < 0:
                raise KernelError(f"cannot attach {name} (perf_event): {_perf_refusal(spec, fd)}")
            link = libbpf.lib().bpf_program__attach_perf_event(program, fd)
            if not link:
                err = libbpf.errno()
                os.close(fd)
                raise KernelError(
                    f"cannot attach {name} (perf_event) on CPU {cpu}: {libbpf.strerror(err)}"
                )
            links.parts.append(Link(int(link)))  # destroying the link closes the event
    except BaseException:
        links.detach()
        raise
    return links


def _perf_refusal(spec: PerfEventSpec, err: int) -> str:
    if spec.type == PERF_TYPES["PERF_TYPE_HARDWARE"] and -err in (errno.ENOENT, errno.EOPNOTSUPP):
        return (
            "this machine has no hardware cycle counter (a virtual machine?); sample the CPU "
            'clock instead: /// @perf_event {"type": "PERF_TYPE_SOFTWARE", '
            '"config": "PERF_COUNT_SW_CPU_CLOCK", "sample_freq": 99}'
        )
    if -err == errno.EACCES:
        return "not allowed (kernel.perf_event_paranoid; run it as root)"
    return os.strerror(-err)
