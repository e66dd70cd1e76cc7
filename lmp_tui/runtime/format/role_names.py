"""The words a field's annotations may use: roles, units, flag and enum tables.

Apart from ``roles`` (which infers meanings) and ``layout`` (which checks annotations): both
need the words, and neither may import the other for them.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ID = "id"
    """Names a thing (pid, uid, a socket's kernel address): shown whole, never summed or
    abbreviated; with unit ``hex`` in hexadecimal."""
    GAUGE = "gauge"
    """A level at the time of the event (resident pages, a size)."""
    COUNTER = "counter"
    """A running total (context switches, a sampled map's calls): its rate says something."""
    DURATION = "duration"
    TIMESTAMP = "timestamp"
    ERRNO = "errno"
    """A return value: ``-errno`` on failure, a number otherwise."""
    FLAGS = "flags"
    IPADDR = "ipaddr"
    PORT = "port"
    ENUM = "enum"
    SIGNAL = "signal"
    SYSCALL = "syscall"
    TEXT = "text"
    PLAIN = "plain"
    """A number with nothing more known."""


TIME_UNITS = ("ns", "us", "ms", "s")
SIZE_UNITS = ("bytes", "kib", "pages")
HEX = "hex"
UNITS = (*TIME_UNITS, *SIZE_UNITS, HEX)
FLAG_KINDS = ("open", "mount")
"""Which flags the kernel's names decode (``O_*`` of open(2), ``MS_*`` of mount(2))."""
ENUM_TABLES = ("tcp_state", "ip_proto", "eth_proto", "family")
"""Names for integers that hold an enumeration without being a C enum (upstream tcpstates'
``int oldstate``): inferred only, a package declares a C enum instead."""

UNITS_OF: dict[Role, tuple[str, ...]] = {
    Role.ID: ("", HEX),
    Role.GAUGE: ("", *SIZE_UNITS),
    Role.COUNTER: ("", *SIZE_UNITS),
    Role.DURATION: ("", *TIME_UNITS),
    Role.TIMESTAMP: ("", *TIME_UNITS),
}
ROLE_OF_UNIT = {
    **dict.fromkeys(TIME_UNITS, Role.DURATION),
    **dict.fromkeys(SIZE_UNITS, Role.GAUGE),
}
ROLE_OF_UNIT[HEX] = Role.ID
