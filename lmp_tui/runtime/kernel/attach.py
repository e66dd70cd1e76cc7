"""Attaching a program where its package says: libbpf's auto-attach, or, for the sections libbpf
cannot attach by itself (XDP, TC, perf events), from the program's metadata as eunomia's loader
does (spec 2, step 5).

Every attachment is an ``Attachment``: ``detach()`` undoes exactly what attaching did, so closing
a run leaves the kernel and the network configuration as they were.

* XDP: ``ifindex`` (default 1), ``flags`` (default 0). Attached as a BPF link rather than
  through netlink, so the program goes away with the process even when it is killed; a link
  never replaces another program, which makes ``xdpopts.old_prog_fd`` (a descriptor of the
  process that wrote the package) meaningless here.
* TC: ``tchook`` ``{"ifindex": 1, "attach_point": "BPF_TC_INGRESS"}``, ``tcopts``
  ``{"handle": 1, "priority": 1}``. The clsact qdisc is created when absent; on detach the
  filter goes, and the qdisc too when we created it and no other filter is left on it.
* perf_event: ``perf_event`` ``{"type": "PERF_TYPE_SOFTWARE", "config":
  "PERF_COUNT_SW_CPU_CLOCK", "sample_freq": 99}`` (or ``sample_period``): one event per online
  CPU. Without it, eunomia's choice: CPU cycles, one sample a second.
"""

from __future__ import annotations

import ctypes
import errno
import os
import socket
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..errors import KernelError, PackageError, ParameterError
from ..format.package import Package
from ..untrusted import shown
from . import libbpf, tc_netlink
from .bpf_object import failure

# -- what a user may override ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Interface:
    """The network interface ``--ifname``/``--ifindex`` chose for XDP and TC programs."""

    index: int
    name: str

    @classmethod
    def named(cls, name: str) -> Interface:
        try:
            return cls(socket.if_nametoindex(name), name)
        except OSError:
            raise ParameterError(f"no network interface named {shown(name, 40)!r}") from None

    @classmethod
    def numbered(cls, index: int) -> Interface:
        try:
            return cls(index, socket.if_indextoname(index))
        except (OSError, OverflowError):
            raise ParameterError(f"no network interface with index {index}") from None

    @classmethod
    def parse(cls, text: str) -> Interface:
        """A name (``eth0``) or an index (``2``), as the TUI's form takes either."""
        text = text.strip()
        return cls.numbered(int(text)) if text.isdigit() else cls.named(text)


def interface_name(index: int) -> str:
    try:
        return socket.if_indextoname(index)
    except (OSError, OverflowError, ValueError):
        return f"ifindex {index}"


# -- attachments ------------------------------------------------------------------------------------


class Attachment(Protocol):
    def detach(self) -> None: ...


@dataclass(slots=True)
class Link:
    """A libbpf ``struct bpf_link *``: auto-attached programs and perf events."""

    ptr: int

    def detach(self) -> None:
        if self.ptr:
            libbpf.lib().bpf_link__destroy(self.ptr)
            self.ptr = 0


@dataclass(slots=True)
class LinkFd:
    """A kernel BPF link by its file descriptor: closing it detaches the program."""

    fd: int

    def detach(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


@dataclass(slots=True)
class Links:
    """Several attachments as one (a perf event per CPU)."""

    parts: list[Attachment] = field(default_factory=list)

    def detach(self) -> None:
        while self.parts:
            self.parts.pop().detach()


@dataclass(slots=True)
class TcFilter:
    """A TC filter we added, and whether the clsact qdisc it sits on is ours to remove."""

    ifindex: int
    attach_point: int
    handle: int
    priority: int
    created_qdisc: bool
    attached: bool = True

    def detach(self) -> None:
        lib = libbpf.lib()
        if self.attached:
            self.attached = False
            hook = _tc_hook(self.ifindex, self.attach_point)
            # bpf_tc_detach wants only handle and priority set
            opts = _tc_opts(handle=self.handle, priority=self.priority)
            lib.bpf_tc_detach(ctypes.byref(hook), ctypes.byref(opts))
        if self.created_qdisc and not tc_netlink.filters_left(self.ifindex):
            self.created_qdisc = False
            both = _tc_hook(self.ifindex, BPF_TC_INGRESS | BPF_TC_EGRESS)
            lib.bpf_tc_hook_destroy(ctypes.byref(both))


# -- attaching ---------------------------------------------------------------------------------------

BPF_XDP = 37  # enum bpf_attach_type
XDP_FLAGS_UPDATE_IF_NOEXIST = 1
XDP_FLAGS_MODES = 2 | 4 | 8  # SKB_MODE, DRV_MODE, HW_MODE
BPF_TC_INGRESS, BPF_TC_EGRESS = 1, 2
TC_ATTACH_POINTS = {"BPF_TC_INGRESS": BPF_TC_INGRESS, "BPF_TC_EGRESS": BPF_TC_EGRESS}
XDP_SECTIONS = frozenset({"xdp", "xdp.frags"})
TC_SECTIONS = frozenset({"tc", "classifier"})
PERF_EVENT_SECTIONS = frozenset({"perf_event"})


def needs_interface(section: str) -> bool:
    """XDP and TC programs attach to a network interface (``--ifname`` applies to them)."""
    return section in XDP_SECTIONS or section in TC_SECTIONS


def package_interface(package: Package) -> str:
    """The interface a package's XDP or TC programs name ("" when it has none): what
    ``--ifname`` would replace."""
    for prog in package.progs:
        if prog.attach in XDP_SECTIONS:
            index = prog.others.get("ifindex", 1)
        elif prog.attach in TC_SECTIONS:
            hook = prog.others.get("tchook", {})
            index = hook.get("ifindex", 1) if isinstance(hook, dict) else 1
        else:
            continue
        return interface_name(index) if isinstance(index, int) else str(index)
    return ""


def attach(
    program: int, name: str, section: str, meta: Mapping[str, Any], iface: Interface | None
) -> Attachment:
    """Attach one loaded program; raises ``KernelError`` (or ``PackageError`` for bad
    metadata) saying what could not be attached where."""
    libbpf.log.take()
    if section in XDP_SECTIONS:
        return _attach_xdp(program, name, meta, iface)
    if section in TC_SECTIONS:
        return _attach_tc(program, name, meta, iface)
    if section in PERF_EVENT_SECTIONS:
        return _attach_perf_event(program, name, meta)
    if not (link := libbpf.lib().bpf_program__attach(program)):
        err = libbpf.errno()
        if err == errno.EOPNOTSUPP:
            raise KernelError(
                f"cannot attach {name}: lmp does not know how to attach a {section!r} program"
            )
        raise KernelError(failure(f"cannot attach {name} ({section})", err))
    return Link(int(link))


def _attach_xdp(
    program: int, name: str, meta: Mapping[str, Any], iface: Interface | None
) -> Attachment:
    ifindex = iface.index if iface else _int(meta, "ifindex", 1, name)
    flags = _int(meta, "flags", 0, name)
    old_fd = _int(_dict(meta, "xdpopts", name), "old_prog_fd", 0, name)
    if flags & ~(XDP_FLAGS_MODES | XDP_FLAGS_UPDATE_IF_NOEXIST) or old_fd:
        # REPLACE with another process's descriptor cannot mean anything here
        raise PackageError(
            f"program {name}: XDP flags {flags:#x} / xdpopts.old_prog_fd {old_fd} ask to replace "
            "a program; lmp attaches XDP as a link, which never replaces one"
        )
    opts = libbpf.LinkCreateOpts(ctypes.sizeof(libbpf.LinkCreateOpts), flags & XDP_FLAGS_MODES)
    prog_fd = libbpf.lib().bpf_program__fd(program)
    fd = libbpf.lib().bpf_link_create(prog_fd, ifindex, BPF_XDP, ctypes.byref(opts))
    if fd < 0:
        where = interface_name(ifindex)
        reason = {
            errno.EBUSY: f"another XDP program is attached to {where}",
            errno.EEXIST: f"another XDP program is attached to {where}",
            errno.ENODEV: f"no network interface with index {ifindex}",
            errno.EOPNOTSUPP: f"{where} does not support this XDP mode (flags {flags:#x})",
        }.get(-fd, libbpf.strerror(fd))
        raise KernelError(f"cannot attach {name} (xdp) to {where}: {reason}")
    return LinkFd(fd)


def _attach_tc(
    program: int, name: str, meta: Mapping[str, Any], iface: Interface | None
) -> Attachment:
    hook_meta, opts_meta = _dict(meta, "tchook", name), _dict(meta, "tcopts", name)
    ifindex = iface.index if iface else _int(hook_meta, "ifindex", 1, name)
    point_name = hook_meta.get("attach_point", "BPF_TC_INGRESS")
    if point_name not in TC_ATTACH_POINTS:
        raise PackageError(
            f"program {name}: tchook.attach_point must be BPF_TC_INGRESS or BPF_TC_EGRESS, "
            f"not {shown(str(point_name), 40)!r}"
        )
    point = TC_ATTACH_POINTS[point_name]
    handle = _int(opts_meta, "handle", 1, name)
    priority = _int(opts_meta, "priority", 1, name)
    where = interface_name(ifindex)
    lib = libbpf.lib()
    hook = _tc_hook(ifindex, point)
    created = lib.bpf_tc_hook_create(ctypes.byref(hook))
    if created not in (0, -errno.EEXIST):
        raise KernelError(
            f"cannot attach {name} (tc) to {where}: cannot add the clsact qdisc: "
            f"{libbpf.strerror(created)}"
        )
    filt = TcFilter(ifindex, point, handle, priority, created_qdisc=created == 0, attached=False)
    opts = _tc_opts(handle=handle, priority=priority, prog_fd=lib.bpf_program__fd(program))
    if err := lib.bpf_tc_attach(ctypes.byref(hook), ctypes.byref(opts)):
        filt.detach()  # the qdisc, if it is ours
        reason = (
            f"a filter with handle {handle} and priority {priority} is already there"
            if err == -errno.EEXIST
            else libbpf.strerror(err)
        )
        raise KernelError(f"cannot attach {name} (tc) to {where}: {reason}")
    filt.attached = True
    return filt


def _tc_hook(ifindex: int, point: int) -> libbpf.TcHook:
    return libbpf.TcHook(ctypes.sizeof(libbpf.TcHook), ifindex, point, 0)


def _tc_opts(handle: int, priority: int, prog_fd: int = 0) -> libbpf.TcOpts:
    return libbpf.TcOpts(ctypes.sizeof(libbpf.TcOpts), prog_fd, 0, 0, handle, priority)


# -- perf events --------------------------------------------------------------------------------

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
        spec = _dict(meta, "perf_event", name)
        if not spec:
            return cls()
        kind = _named(spec, "type", PERF_TYPES, 0, name)
        config = _named(spec, "config", PERF_CONFIGS, 0, name)
        period = _int(spec, "sample_period", 0, name) or None
        frequency = None if period else (_int(spec, "sample_freq", 1, name) or 1)
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


def _attach_perf_event(program: int, name: str, meta: Mapping[str, Any]) -> Attachment:
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


# -- metadata -------------------------------------------------------------------------------------


def _dict(meta: Mapping[str, Any], key: str, name: str) -> Mapping[str, Any]:
    value = meta.get(key, {})
    if not isinstance(value, dict):
        raise PackageError(f"program {name}: {key} must be an object")
    return value


def _int(meta: Mapping[str, Any], key: str, default: int, name: str) -> int:
    value = meta.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << 32:
        raise PackageError(f"program {name}: {key} must be a number from 0 to 2^32-1")
    return value


def _named(
    meta: Mapping[str, Any], key: str, names: Mapping[str, int], default: int, name: str
) -> int:
    value = meta.get(key, default)
    if isinstance(value, str):
        if value not in names:
            raise PackageError(
                f"program {name}: perf_event.{key} {shown(value, 40)!r} is not one of "
                f"{', '.join(names)} (or a number)"
            )
        return names[value]
    return _int(meta, key, default, name)
