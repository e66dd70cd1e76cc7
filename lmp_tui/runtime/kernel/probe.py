"""What this kernel offers: privileges, tracefs, tracepoints, BTF, kprobes.

Used before loading (so a missing tracepoint is one clear line, not a libbpf log) and by
``lmp list`` and the sidebar, which say up front what this kernel cannot run.
"""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ..errors import KernelError

TRACEFS = Path("/sys/kernel/tracing")
VMLINUX_BTF = Path("/sys/kernel/btf/vmlinux")
CAP_SYS_ADMIN, CAP_PERFMON, CAP_BPF = 21, 38, 39


@dataclass(frozen=True, slots=True)
class Requirement:
    """One thing a program's attach point needs from the kernel."""

    kind: str  # "tracepoint", "btf_tracepoint", "kprobe", "fentry", "btf"
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


def requirement_for(section: str) -> Requirement | None:
    """What attaching a program of this ELF section needs."""
    kind, _, rest = section.partition("/")
    match kind:
        case "tracepoint" | "tp":
            return Requirement("tracepoint", rest)
        case "tp_btf" | "raw_tp" | "raw_tracepoint":
            return Requirement("btf_tracepoint", rest)
        case "kprobe" | "kretprobe" | "ksyscall" | "kretsyscall":
            return Requirement("kprobe", rest)
        case "fentry" | "fexit" | "fmod_ret" | "fentry.s" | "fexit.s":
            return Requirement("fentry", rest)
    return None


def capabilities() -> int:
    """The effective capability mask of this process."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    except OSError:
        pass
    return 0


def can_use_bpf() -> str | None:
    """None when we may load tracing programs, else why not (one line)."""
    caps = capabilities()
    if caps & (1 << CAP_SYS_ADMIN) or (caps & (1 << CAP_BPF) and caps & (1 << CAP_PERFMON)):
        return None
    return (
        "loading BPF programs needs root (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN): "
        "run it with sudo"
    )


def ensure_tracefs() -> None:
    """Make ``/sys/kernel/tracing`` usable, mounting it when we are allowed to."""
    if (TRACEFS / "events").is_dir():
        return
    if capabilities() & (1 << CAP_SYS_ADMIN):
        # mount(2) itself: no mount(8) to find, no subprocess to start
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mount(b"nodev", os.fsencode(TRACEFS), b"tracefs", ctypes.c_ulong(0), None)
        if (TRACEFS / "events").is_dir():
            return
    raise KernelError(
        f"tracefs is not mounted at {TRACEFS}: run `sudo mount -t tracefs nodev {TRACEFS}`"
    )


@cache
def _vmlinux_btf() -> bytes:
    try:
        return VMLINUX_BTF.read_bytes()
    except OSError:
        return b""


def missing(req: Requirement) -> str | None:
    """None when this kernel has what ``req`` names, else the reason in a few words."""
    match req.kind:
        case "tracepoint":
            if not (TRACEFS / "events").is_dir():
                try:
                    ensure_tracefs()
                except KernelError as exc:
                    return str(exc)
            if "/" not in req.name:
                return f"bad tracepoint section name {req.name!r}"
            if not (TRACEFS / "events" / req.name / "id").exists():
                return f"tracepoint {req.name} does not exist on this kernel"
        case "btf_tracepoint":
            btf = _vmlinux_btf()
            if not btf:
                return f"{VMLINUX_BTF} is missing (the kernel has no BTF)"
            if b"\0btf_trace_" + req.name.encode() + b"\0" not in btf:
                return f"raw tracepoint {req.name} does not exist on this kernel"
        case "kprobe":
            if not Path("/sys/bus/event_source/devices/kprobe").exists():
                return "this kernel has no kprobe support (CONFIG_KPROBES is off)"
        case "fentry":
            btf = _vmlinux_btf()
            if not btf:
                return f"{VMLINUX_BTF} is missing (the kernel has no BTF)"
            if b"\0" + req.name.encode() + b"\0" not in btf:
                return f"kernel function {req.name} is not in the kernel's BTF"
    return None


def kernel_release() -> str:
    return os.uname().release
