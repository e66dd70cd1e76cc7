"""Attaching a program where its package says: libbpf's auto-attach, or, for the sections libbpf
cannot attach by itself, from the program's metadata as eunomia's loader does (spec 2, step 5):
XDP and TC in ``netdev.py``, perf events in ``perf_event.py``, each imported when a program needs
it (a tracing run's start-up does not pay for sockets and netlink).

Every attachment is an ``Attachment``: ``detach()`` undoes exactly what attaching did, so closing
a run leaves the kernel and the network configuration as they were.
"""

from __future__ import annotations

import errno
from collections.abc import Mapping
from typing import Any

from ..errors import KernelError
from ..format.package import Package
from . import libbpf
from .attachments import Attachment, Interface, Link, interface_name
from .bpf_object import failure

# -- attaching ---------------------------------------------------------------------------------------

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
        from .netdev import attach_xdp

        return attach_xdp(program, name, meta, iface)
    if section in TC_SECTIONS:
        from .netdev import attach_tc

        return attach_tc(program, name, meta, iface)
    if section in PERF_EVENT_SECTIONS:
        from .perf_event import attach_perf_event

        return attach_perf_event(program, name, meta)
    if not (link := libbpf.lib().bpf_program__attach(program)):
        err = libbpf.errno()
        if err == errno.EOPNOTSUPP:
            raise KernelError(
                f"cannot attach {name}: lmp does not know how to attach a {section!r} program"
            )
        raise KernelError(failure(f"cannot attach {name} ({section})", err))
    return Link(int(link))


# -- perf events --------------------------------------------------------------------------------
