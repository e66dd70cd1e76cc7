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
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import KernelError, PackageError, ParameterError
from ..format.package import Package
from ..untrusted import shown
from . import libbpf
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
            return cls(_socket().if_nametoindex(name), name)
        except OSError:
            raise ParameterError(f"no network interface named {shown(name, 40)!r}") from None

    @classmethod
    def numbered(cls, index: int) -> Interface:
        try:
            return cls(index, _socket().if_indextoname(index))
        except (OSError, OverflowError):
            raise ParameterError(f"no network interface with index {index}") from None

    @classmethod
    def parse(cls, text: str) -> Interface:
        """A name (``eth0``) or an index (``2``), as the TUI's form takes either."""
        text = text.strip()
        return cls.numbered(int(text)) if text.isdigit() else cls.named(text)


def _socket() -> Any:
    # imported when an interface is named: ~4 ms of every `lmp run` start otherwise
    import socket

    return socket


def interface_name(index: int) -> str:
    try:
        return _socket().if_indextoname(index)
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

# -- metadata -------------------------------------------------------------------------------------


def meta_object(meta: Mapping[str, Any], key: str, name: str) -> Mapping[str, Any]:
    value = meta.get(key, {})
    if not isinstance(value, dict):
        raise PackageError(f"program {name}: {key} must be an object")
    return value


def meta_number(meta: Mapping[str, Any], key: str, default: int, name: str) -> int:
    value = meta.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << 32:
        raise PackageError(f"program {name}: {key} must be a number from 0 to 2^32-1")
    return value


def meta_named(
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
    return meta_number(meta, key, default, name)
