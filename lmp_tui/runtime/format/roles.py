"""What each field of a record means: its role (an id, a gauge, a duration...), its unit, and
which of the kernel's name tables decode it. Views and printers format and plot by meaning, not
by C type: a ``long long rssanon`` is bytes (in pages), an ``int ret`` an errno when negative.

``meanings(layout)`` answers for every top-level field. A package may say (an lmp extension on
``export_types`` members, which eunomia loaders ignore; ``lmp build`` writes them from doc
comments on the header's struct members)::

    {"name": "rssanon", "type": "long long", "role": "gauge", "unit": "pages"}
    {"name": "flags", "type": "int", "role": "flags", "flags": "open"}

and what it does not say is inferred from names, types and siblings, as libbpf-tools and the
eunomia examples name their fields (``pid``, ``ts_us``, ``delta_us``, ``ret``, ``skaddr``,
``saddr`` beside a ``family``...). Nothing here formats: ``stream.meaning`` does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from ..stream.addresses import addresses, family_field
from .layout import Field, FieldKind, StructLayout, declared_role
from .package import ExportSpec

# the words, re-exported: the UI takes them from here, with the meanings
from .role_names import (
    ENUM_TABLES as ENUM_TABLES,
)
from .role_names import (
    FLAG_KINDS as FLAG_KINDS,
)
from .role_names import (
    HEX as HEX,
)
from .role_names import (
    ROLE_OF_UNIT as ROLE_OF_UNIT,
)
from .role_names import (
    SIZE_UNITS as SIZE_UNITS,
)
from .role_names import (
    TIME_UNITS as TIME_UNITS,
)
from .role_names import (
    UNITS as UNITS,
)
from .role_names import (
    UNITS_OF as UNITS_OF,
)
from .role_names import (
    Role as Role,
)

Part = Literal["event", "key", "value"]


@dataclass(frozen=True, slots=True)
class Meaning:
    """What one field means. ``unit`` is one of ``UNITS`` (or empty), ``names`` which table
    names its values (``FLAG_KINDS`` for flags, ``ENUM_TABLES`` for integer enums), ``prefix``
    the common prefix of a C enum's enumerators, left out when shown."""

    role: Role
    unit: str = ""
    names: str = ""
    prefix: str = ""
    declared: bool = False
    """Said by the package (its ``export_types``), not inferred."""

    @property
    def hex(self) -> bool:
        return self.role == Role.ID and self.unit == HEX

    @property
    def flags_kind(self) -> str:
        return self.names if self.role == Role.FLAGS else ""

    @property
    def description(self) -> str:
        """``gauge, pages``, ``flags (open)``, ``id, hex``: for a list of fields."""
        text = str(self.role)
        if self.unit:
            text += f", {self.unit}"
        if self.names:
            text += f" ({self.names})"
        return text + ("" if self.declared else ", inferred")


PLAIN = Meaning(Role.PLAIN)


# -- inference ------------------------------------------------------------------------------------


def meanings(
    layout: StructLayout, *, program: str = "", map_name: str = "", part: Part = "event"
) -> dict[str, Meaning]:
    """What every top-level field of ``layout`` means: the package's annotation first, then
    inference from its name, type and siblings.

    ``program`` (the package's name) and ``map_name`` help where a struct alone is ambiguous
    (``flags`` in an ``opensnoop``); ``part`` says whether the layout is an event, or the key
    or value of a sampled map (whose values are running totals).
    """
    context = _Context(
        layout,
        program.lower(),
        map_name.lower(),
        part,
        frozenset(f.name.lower() for f in layout.fields),
        frozenset(addresses(layout)),
        family_field(layout),
    )
    return {f.name: _meaning(f, i, context) for i, f in enumerate(layout.fields)}


def export_meanings(spec: ExportSpec, program: str = "") -> dict[Part, dict[str, Meaning]]:
    """``meanings`` of what a run exports: its events, or its sampled map's key and value."""
    parts: dict[Part, StructLayout | None] = {
        "event": spec.layout,
        "key": spec.key,
        "value": spec.value,
    }
    return {
        part: meanings(layout, program=program, map_name=spec.map_name, part=part)
        for part, layout in parts.items()
        if layout is not None
    }


@dataclass(frozen=True, slots=True)
class _Context:
    layout: StructLayout
    program: str
    map_name: str
    part: Part
    names: frozenset[str]
    addresses: frozenset[int]
    family: int | None

    def mentions(self, *words: str) -> bool:
        return any(w in self.program or w in self.map_name for w in words)


def _meaning(f: Field, index: int, c: _Context) -> Meaning:
    guess = _inferred(f, index, c)
    if not (f.role or f.unit or f.flags):
        return guess
    role = declared_role(f)
    # What the package leaves out (a duration's unit, an enum's prefix) is still inferred.
    same = guess.role == role
    unit = f.unit or (guess.unit if same else "")
    names = f.flags or (guess.names if same else "")
    prefix = enum_prefix(f.enum_values) if f.kind == FieldKind.ENUM else ""
    return Meaning(role, unit, names, prefix, declared=True)


_ID_NAMES = frozenset(
    {"pid", "tid", "ppid", "uid", "gid", "tgid", "tpid", "ptid", "pgid", "sid", "euid", "egid",
     "suid", "sgid", "fsuid", "fsgid", "id", "cpu", "ino", "inode", "dev", "ifindex", "fd",
     "cgroup", "cgroup_id", "netns", "mntns", "pidns", "mnt_ns", "pid_ns", "net_ns", "user_ns",
     "uts_ns", "ipc_ns", "cgroup_ns", "cookie"}
)  # fmt: skip
_ID_SUFFIXES = ("_pid", "_tid", "_tgid", "_uid", "_gid", "_id", "_ino", "_ifindex", "_cpu")
_POINTER_NAMES = frozenset({"sk", "skb", "sock", "task", "file", "page", "folio", "bio", "rq"})
_ERRNO_NAMES = frozenset({"ret", "retval", "ret_val", "err", "error", "rc"})
_SIGNAL_NAMES = frozenset({"sig", "signal", "signo", "signum"})
_SYSCALL_NAMES = frozenset({"syscall", "syscall_id", "syscall_nr", "sys_nr", "syscall_no"})
_PORT_NAMES = frozenset({"port", "sport", "dport", "lport", "rport"})
_FLAG_NAMES = frozenset({"flags", "flag", "oflags", "fflags", "mflags"})
_OPEN_SIBLINGS = frozenset({"fname", "filename", "path", "pathname", "file", "fpath"})
_MOUNT_SIBLINGS = frozenset({"fs", "fstype", "src", "source", "dest", "target", "dev_name"})
_STATE_NAMES = frozenset({"state", "oldstate", "newstate", "old_state", "new_state"})
_ETH_PROTO_NAMES = frozenset({"eth_proto", "ethertype", "eth_type", "h_proto", "l3_proto"})
_IP_PROTO_NAMES = frozenset({"ip_proto", "ipproto", "l4_proto", "protocol", "proto"})
_TIMESTAMP_NAMES = frozenset({"ts", "timestamp", "tstamp", "time_stamp"})
_DURATION_STEMS = ("delta", "duration", "latency", "lat", "elapsed", "runtime", "dur")
_TASK_COUNTERS = frozenset({"nvcsw", "nivcsw", "minflt", "majflt", "min_flt", "maj_flt"})
_COUNTER_NAMES = frozenset(
    {"count", "counts", "cnt", "packets", "pkts", "errors", "errs", "drops", "calls", "hits",
     "misses", "events", "total"}
)  # fmt: skip
_COUNTER_SUFFIXES = ("_cnt", "_count", "_packets", "_pkts", "_errors", "_drops", "_calls")
_PAGE_NAMES = frozenset({"vsize", "vswap", "vdata", "vstk", "vpte", "vmsize", "total_vm", "swap"})
_BYTE_NAMES = frozenset({"size", "len", "bytes", "length"})
_BYTE_SUFFIXES = ("_bytes", "_size", "_len", "bytes")

# A unit named at the end of a field name: ``delta_us``, ``ts_ns``, ``rss_kb``, ``max_nsec``.
_UNIT_SUFFIX = re.compile(
    r"(?:_|^)(?:(ns|nsecs?)|(us|usecs?)|(ms|msecs?)|(secs?)|(bytes)|(kb|kib)|(pages))$"
)
_SUFFIX_UNITS = ("ns", "us", "ms", "s", "bytes", "kib", "pages")


def unit_suffix(name: str) -> str:
    """The unit a field's name ends with (``delta_us`` -> ``us``, ``rss_kb`` -> ``kib``), or
    empty: ``_ns``/``_nsec``, ``_us``/``_usec``, ``_ms``, ``_sec``, ``_bytes``, ``_kb``, ``_pages``."""
    m = _UNIT_SUFFIX.search(name.lower())
    if m is None:
        return ""
    return next(u for g, u in zip(m.groups(), _SUFFIX_UNITS, strict=True) if g)


def _inferred(f: Field, index: int, c: _Context) -> Meaning:
    if f.format or index in c.addresses:
        return Meaning(Role.IPADDR, declared=bool(f.format))
    match f.kind:
        case FieldKind.STRING:
            return Meaning(Role.TEXT)
        case FieldKind.PTR:
            return Meaning(Role.ID, HEX)
        case FieldKind.ENUM:
            return Meaning(Role.ENUM, prefix=enum_prefix(f.enum_values))
        case FieldKind.INT:
            return _integer(f, index, c)
        case FieldKind.FLOAT:
            return _quantity(f.name.lower(), c) or PLAIN
    return PLAIN


def _integer(f: Field, index: int, c: _Context) -> Meaning:
    name = f.name.lower()
    if c.part == "key" and len(c.layout.fields) == 1:
        # A sampled map keyed by one integer: a syscall number (syscount) or an id (a pid,
        # a cgroup); its name is only its type's (``__u32``).
        return Meaning(Role.SYSCALL if _syscall_context(c) else Role.ID)
    if name in _SIGNAL_NAMES:
        return Meaning(Role.SIGNAL)
    if name in _ERRNO_NAMES and f.signed:
        return Meaning(Role.ERRNO)
    if name in _SYSCALL_NAMES or name in ("id", "nr") and _syscall_context(c):
        return Meaning(Role.SYSCALL)
    if name in _PORT_NAMES or name.endswith("_port"):
        return Meaning(Role.PORT)
    if name in _FLAG_NAMES or name.endswith("_flags"):
        return Meaning(Role.FLAGS, names=_flags_kind(name, c))
    if name in _STATE_NAMES:
        return Meaning(Role.ENUM, names="tcp_state" if _tcp_context(c) else "")
    if name in _ETH_PROTO_NAMES:
        return Meaning(Role.ENUM, names="eth_proto")
    if name in _IP_PROTO_NAMES:
        return Meaning(Role.ENUM, names="ip_proto")
    if index == c.family:
        return Meaning(Role.ENUM, names="family")
    if name in _ID_NAMES or name.endswith(_ID_SUFFIXES):
        return Meaning(Role.ID)
    if f.size == 8 and (name in _POINTER_NAMES or name.endswith(("addr", "_ptr"))):
        # An 8-byte "address" is a kernel object's (a socket's skaddr): a name, in hex as the
        # kernel prints pointers; 4 and 16 bytes are IP addresses, decided by ``addresses``.
        return Meaning(Role.ID, HEX)
    return _quantity(name, c) or PLAIN


def _quantity(name: str, c: _Context) -> Meaning | None:
    """Timestamps, durations, sizes and counts, by name."""
    unit = unit_suffix(name)
    stem = _UNIT_SUFFIX.sub("", name)
    if name in _TIMESTAMP_NAMES or stem in _TIMESTAMP_NAMES or stem.endswith(("_ts", "_tstamp")):
        # bpf_ktime_get_ns(): nanoseconds unless the name says otherwise
        return Meaning(Role.TIMESTAMP, unit if unit in TIME_UNITS else "ns")
    if stem.startswith(_DURATION_STEMS) or unit in TIME_UNITS:
        return Meaning(Role.DURATION, unit if unit in TIME_UNITS else "ns")
    if name in _TASK_COUNTERS:
        return Meaning(Role.COUNTER)
    running_total = c.part == "value"
    if unit in SIZE_UNITS or name in _BYTE_NAMES or name.endswith(_BYTE_SUFFIXES):
        if unit == "" and _pages_context(name, c):
            unit = "pages"
        return Meaning(Role.COUNTER if running_total else Role.GAUGE, unit or "bytes")
    if name.startswith("rss") or name in _PAGE_NAMES:
        # The kernel counts memory in pages (mm_struct, MM_*PAGES): so do programs reading it.
        return Meaning(Role.GAUGE, "pages")
    if running_total and (name in _COUNTER_NAMES or name.endswith(_COUNTER_SUFFIXES)):
        return Meaning(Role.COUNTER)
    return None


def _pages_context(name: str, c: _Context) -> bool:
    """``size`` beside ``rss*`` page counts (procstat's) is a page count like them."""
    return name in ("size", "total") and any(
        n.startswith("rss") and not unit_suffix(n) for n in c.names
    )


def _flags_kind(name: str, c: _Context) -> str:
    if "open" in name or c.names & _OPEN_SIBLINGS or c.mentions("open"):
        return "open"
    if "mount" in name or c.names & _MOUNT_SIBLINGS or c.mentions("mount"):
        return "mount"
    return ""


def _tcp_context(c: _Context) -> bool:
    return c.mentions("tcp") or (
        c.family is not None and any(n in _PORT_NAMES or n.endswith("_port") for n in c.names)
    )


def _syscall_context(c: _Context) -> bool:
    return c.mentions("syscall", "syscount")


def enum_prefix(values: Iterable[tuple[str, int]]) -> str:
    """The prefix all enumerators share, up to an underscore, that leaves each a name
    (``LMP_TCP_FIN_WAIT1`` -> ``LMP_TCP_``); empty when there is none."""
    names = [n for n, _ in values]
    if not names:
        return ""
    common = names[0]
    for n in names[1:]:
        while not n.startswith(common):
            common = common[:-1]
    cut = common.rfind("_") + 1
    while cut:
        # ``FOO_1``, ``FOO_`` alone: what is left must still read as a name
        if all(len(n) > cut and not n[cut].isdigit() for n in names):
            return common[:cut]
        cut = common.rfind("_", 0, cut - 1) + 1
    return ""
