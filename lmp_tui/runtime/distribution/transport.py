"""The vocabulary of fetching programs, without the clients (which import httpx): how to reach
registries and URLs, and what a fetch found."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .credentials import Credentials

Progress = Callable[[int, int], None]
"""Told (bytes done, bytes total) as a transfer goes."""


@dataclass(frozen=True, slots=True)
class TransportOptions:
    """How to reach registries and URLs: TLS trust, plain http (loopback only), timeouts."""

    insecure: bool = False
    ca_file: str | None = None
    timeout: float = 15.0  # longest silence while reading
    connect_timeout: float = 3.0  # so a dead host answers in one line well within 5 s
    # Longest one operation may take in all (a pull, a listing, a download: every request,
    # redirect, page and body read of it), so a server dripping a byte at a time is given up on.
    deadline: float = 120.0
    credentials: Credentials | None = None


@dataclass(frozen=True, slots=True)
class Resolved:
    """The bytes of a program and where they came from."""

    data: bytes
    kind: str  # "package" (package.json or .bpf.o: parse_package) or "wasm"
    source: str  # a path, URL or OCI reference, for messages
    name: str  # a program name suggested by the location ("" when it says nothing)
    digest: str
    cached: bool = False  # served from the cache without downloading the content
    shipped: bool = False  # the built-in Hub's own package (see ``parse_package``)
