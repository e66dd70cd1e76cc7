"""The ``/metrics`` endpoint: prometheus-client's own HTTP server and registry (text format, or
OpenMetrics when the scraper asks for it), over the programs' ``ProgramMetrics``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server

from ..errors import LmpError
from .exporter import ProgramMetrics

DEFAULT_LISTEN = "127.0.0.1:9435"
"""Loopback by default: metrics say what runs on a host; exposing them is a choice."""


class ListenError(LmpError):
    """An address to serve metrics on that cannot be used."""


@dataclass(frozen=True, slots=True)
class Address:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_listen(text: str) -> Address:
    """``127.0.0.1:9435``, ``[::1]:9435``, ``:9435`` (every address), ``9435``."""
    m = re.fullmatch(
        r"(?:\[(?P<v6>[^\]]+)\]|(?P<host>[^:\[\]]*)):(?P<port>\d+)|(?P<only>\d+)", text
    )
    if m is None:
        raise ListenError(f"--listen {text!r}: expected HOST:PORT, [IPv6]:PORT or PORT")
    port = int(m.group("port") or m.group("only"))
    if not 0 < port < 65536:
        raise ListenError(f"--listen {text!r}: port {port} is not between 1 and 65535")
    host = (
        m.group("v6") or m.group("host") or ("0.0.0.0" if m.group("only") is None else "127.0.0.1")
    )
    return Address(host, port)


class MetricsServer:
    """Serves the metrics of ``programs`` until ``close``; a program added later is served too."""

    def __init__(self, address: Address, programs: Iterable[ProgramMetrics] = ()) -> None:
        self.address = address
        # auto_describe off: a scrape is the only time the collectors are read.
        self.registry = CollectorRegistry(auto_describe=False)
        for program in programs:
            self.add(program)
        try:
            self._server, self._thread = start_http_server(
                address.port, addr=address.host, registry=self.registry
            )
        except OSError as exc:
            raise ListenError(f"cannot serve metrics on {address}: {exc.strerror or exc}") from None

    @property
    def server(self) -> WSGIServer:
        return self._server

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def add(self, program: ProgramMetrics) -> None:
        self.registry.register(program)  # a collector: it has collect()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
