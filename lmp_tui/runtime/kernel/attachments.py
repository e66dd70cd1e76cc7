"""What every kind of attachment shares: the ``Attachment`` that ``detach()`` undoes, libbpf's
``Link``, the ``Interface`` a user may point XDP and TC programs at, and reading the metadata
attachments are made from. Below ``attach.py`` (which picks the kind) and the kinds themselves
(``netdev.py``, ``perf_event.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import PackageError, ParameterError
from ..untrusted import shown
from . import libbpf

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
