"""XDP and TC programs, attached to a network interface from their package's metadata.

* XDP: ``ifindex`` (default 1), ``flags`` (default 0). Attached as a BPF link rather than
  through netlink, so the program goes away with the process even when it is killed; a link
  never replaces another program, which makes ``xdpopts.old_prog_fd`` (a descriptor of the
  process that wrote the package) meaningless here.
* TC: ``tchook`` ``{"ifindex": 1, "attach_point": "BPF_TC_INGRESS"}``, ``tcopts``
  ``{"handle": 1, "priority": 1}``. The clsact qdisc is created when absent; on detach the
  filter goes, and the qdisc too when we created it and no other filter is left on it.
"""

from __future__ import annotations

import ctypes
import errno
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import KernelError, PackageError
from ..untrusted import shown
from . import libbpf, tc_netlink
from .attachments import Attachment, Interface, interface_name, meta_number, meta_object

BPF_XDP = 37  # enum bpf_attach_type
XDP_FLAGS_UPDATE_IF_NOEXIST = 1
XDP_FLAGS_MODES = 2 | 4 | 8  # SKB_MODE, DRV_MODE, HW_MODE
BPF_TC_INGRESS, BPF_TC_EGRESS = 1, 2
TC_ATTACH_POINTS = {"BPF_TC_INGRESS": BPF_TC_INGRESS, "BPF_TC_EGRESS": BPF_TC_EGRESS}


@dataclass(slots=True)
class LinkFd:
    """A kernel BPF link by its file descriptor: closing it detaches the program."""

    fd: int

    def detach(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


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


def attach_xdp(
    program: int, name: str, meta: Mapping[str, Any], iface: Interface | None
) -> Attachment:
    ifindex = iface.index if iface else meta_number(meta, "ifindex", 1, name)
    flags = meta_number(meta, "flags", 0, name)
    old_fd = meta_number(meta_object(meta, "xdpopts", name), "old_prog_fd", 0, name)
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


def attach_tc(
    program: int, name: str, meta: Mapping[str, Any], iface: Interface | None
) -> Attachment:
    hook_meta, opts_meta = meta_object(meta, "tchook", name), meta_object(meta, "tcopts", name)
    ifindex = iface.index if iface else meta_number(hook_meta, "ifindex", 1, name)
    point_name = hook_meta.get("attach_point", "BPF_TC_INGRESS")
    if point_name not in TC_ATTACH_POINTS:
        raise PackageError(
            f"program {name}: tchook.attach_point must be BPF_TC_INGRESS or BPF_TC_EGRESS, "
            f"not {shown(str(point_name), 40)!r}"
        )
    point = TC_ATTACH_POINTS[point_name]
    handle = meta_number(opts_meta, "handle", 1, name)
    priority = meta_number(opts_meta, "priority", 1, name)
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
