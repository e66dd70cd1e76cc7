"""IP addresses in text output: which fields hold them, and their values as ``127.0.0.1``/``::1``.

The one place that decides. A top-level field of 4 or 16 bytes (``__u32``, ``unsigned
__int128``, ``__u8[16]``, ``__u32[4]``...) is an address when

- its ``export_types`` member says so with ``"format": "ipv4" | "ipv6" | "ip"``, or
- its name looks like one (see ``looks_like_address``) and the struct has a family field
  (``family``, ``af`` or ``*_family``).

Where a family field exists and the format is not fixed, each event's family picks the version:
AF_INET (2) shows the first 4 bytes as IPv4, AF_INET6 (10) the 16 bytes as IPv6, and any other
value the raw value as before. Without a family field a name alone proves nothing (a
``__u32 addr`` may be anything), so the field stays an integer unless annotated; ``"ip"`` then
goes by size. Bytes are shown in memory order: the kernel keeps addresses in network byte order,
so a ``__u32`` or ``__int128`` read as a little-endian integer would have them backwards.

JSON output never uses this: it stays ecli's integers and arrays, byte for byte.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

from ..format.layout import Field, FieldKind, StructLayout, address_size
from ..lazy import np

AF_INET = 2
AF_INET6 = 10

IPV4_WIDTH = 15  # 255.255.255.255
IPV6_WIDTH = 39  # ffff:...:ffff, bcc's tcpstates' %-39s

_FAMILY_NAMES = ("family", "af")
_VERSION_SUFFIXES = ("_v4", "_v6", "v4", "v6", "4", "6")

Strings = Callable[["np.ndarray"], list[str]]


@dataclass(frozen=True, slots=True)
class Address:
    """How one top-level field's values show as IP addresses."""

    field: Field
    index: int
    """The field's position in the layout (columns go by position: names may repeat)."""
    family: int | None
    """Position of the family field that picks each event's version, when ``version`` is 0."""
    version: int
    """4 or 6 when fixed (by annotation, or by size without a family field), else 0."""

    @property
    def width(self) -> int:
        """Characters the widest value takes."""
        return IPV4_WIDTH if self.version == 4 or address_size(self.field) == 4 else IPV6_WIDTH

    @property
    def description(self) -> str:
        """What the field shows as, for a list of fields."""
        return f"IPv{self.version}" if self.version else "IP by family"


def looks_like_address(name: str) -> bool:
    """``saddr``, ``daddr``, ``addr``, ``src_ip``, ``ip``, ``saddr_v6``, ``daddr6``, ``ipv4``:
    a name ending in ``addr`` or ``ip``, after one version suffix (``_v4``, ``v6``, ``6``...)."""
    base = name.lower()
    for suffix in _VERSION_SUFFIXES:
        if base.endswith(suffix) and len(base) > len(suffix):
            base = base[: -len(suffix)]
            break
    return base.endswith(("addr", "ip"))


def family_field(layout: StructLayout) -> int | None:
    """Position of the integer field that holds the address family, or None."""
    for i, f in enumerate(layout.fields):
        name = f.name.lower()
        if f.kind in (FieldKind.INT, FieldKind.ENUM) and (
            name in _FAMILY_NAMES or name.endswith("_family")
        ):
            return i
    return None


def addresses(layout: StructLayout) -> dict[int, Address]:
    """The layout's address fields, by position."""
    family = family_field(layout)
    out: dict[int, Address] = {}
    for i, f in enumerate(layout.fields):
        size = address_size(f)
        if not size or i == family:
            continue
        if f.format in ("ipv4", "ipv6"):
            out[i] = Address(f, i, None, int(f.format[-1]))
        elif f.format == "ip" and family is None:
            out[i] = Address(f, i, None, 4 if size == 4 else 6)
        elif family is not None and (f.format == "ip" or looks_like_address(f.name)):
            out[i] = Address(f, i, family, 0)
    return out


def address_strings(address: Address, rows: np.ndarray, raw: Strings) -> list[str]:
    """The address column of ``rows`` (a batch of whole events: the family is a sibling) as
    text. ``raw`` formats the values that are not addresses (an unknown family), as the column
    would be without this.

    Addresses repeat (a connection's every state change), so each distinct one is formatted once
    and spread back with numpy: Python calls per distinct address, not per event.
    """
    names = rows.dtype.names or ()
    col = rows[names[address.index]]
    n = len(col)
    if address.version:
        versions = np.full(n, address.version, np.int8)
    else:
        assert address.family is not None
        family = rows[names[address.family]]
        versions = np.where(family == AF_INET, 4, 0).astype(np.int8)
        if address_size(address.field) == 16:
            versions[family == AF_INET6] = 6
    memory = np.ascontiguousarray(col).view(np.uint8).reshape(n, address.field.size)
    out = np.empty(n, dtype=object)
    for version, size in ((4, 4), (6, 16)):
        where = np.flatnonzero(versions == version)
        if where.size:
            out[where] = _texts(memory[where, :size], version)
    rest = np.flatnonzero(versions == 0)
    if rest.size:
        out[rest] = raw(col[rest])
    return list(out.tolist())


def _texts(memory: np.ndarray, version: int) -> np.ndarray:
    """Rows of address bytes (network order) as text: each distinct address formatted once."""
    keys = np.ascontiguousarray(memory).view(f"V{memory.shape[1]}").ravel()
    distinct, inverse = np.unique(keys, return_inverse=True)
    make = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    texts = np.array([str(make(k.tobytes())) for k in distinct], dtype=object)
    return texts[inverse.reshape(-1)]
