"""The ``/metrics`` endpoint: prometheus-client's own HTTP server and registry (text format, or
OpenMetrics when the scraper asks for it), over the programs' ``ProgramMetrics``."""

from __future__ import annotations

import gc
import gzip
import re
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import gzip_accepted

from ..errors import LmpError
from .exporter import ProgramMetrics

if TYPE_CHECKING:
    from wsgiref.types import StartResponse
    from wsgiref.types import WSGIApplication as WSGIApp

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


def prefer_text(app: WSGIApp) -> WSGIApp:
    """``app`` (prometheus-client's) answering in the text format whenever the scraper accepts
    it, OpenMetrics only to one that accepts nothing else, and gzip at level 1.

    Prometheus prefers OpenMetrics but accepts text; the samples are the same (lmp exposes no
    exemplars, units or ``_created``), and prometheus-client renders text in about half the
    time (54 against 101 ms for 10,000 series here). Its gzip is level 9: 11.9 ms for
    those 590 KB, where level 1 takes 1.5 ms for 29 KB instead of 24 KB. A scrape of many
    series waits for both."""

    def wrapped(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        accepted = [a for a in environ.get("HTTP_ACCEPT", "").split(",") if a.strip()]
        text = [a for a in accepted if a.split(";")[0].strip() in ("text/plain", "*/*")]
        if text and len(text) < len(accepted):
            environ = {**environ, "HTTP_ACCEPT": "text/plain;version=0.0.4"}
        if not gzip_accepted(environ.get("HTTP_ACCEPT_ENCODING", "")):
            return app(environ, start_response)
        said: list[Any] = []

        def keep(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            said[:] = [status, headers]
            return lambda _data: None

        body = b"".join(app({**environ, "HTTP_ACCEPT_ENCODING": ""}, keep))
        status, headers = said
        if status.startswith("200"):
            body = gzip.compress(body, compresslevel=1)
            headers = [h for h in headers if h[0].lower() != "content-length"]
            headers += [("Content-Encoding", "gzip"), ("Content-Length", str(len(body)))]
        start_response(status, headers)
        return [body]

    return wrapped


class _CollectorPaused:
    """Python's cyclic garbage collector kept out of scrapes.

    A scrape allocates a sample, a label dict and a line per series, enough at 10,000 series
    to set off a full collection of the exporter's heap: about 15 ms under bench/export.py's
    load, which Prometheus would count in ``scrape_duration_seconds``. What a scrape
    allocates holds no cycles (it is freed as it goes out of use), so the collector can wait
    until the scrape is over; it then runs between scrapes, on whichever thread allocates
    next. Counted, so that overlapping scrapes (two Prometheus servers) resume it once,
    after the last."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scrapes = 0
        self._resume = False

    def __enter__(self) -> None:
        with self._lock:
            if self._scrapes == 0:
                self._resume = gc.isenabled()
                gc.disable()
            self._scrapes += 1

    def __exit__(self, *_exc: object) -> None:
        with self._lock:
            self._scrapes -= 1
            if self._scrapes == 0 and self._resume:
                gc.enable()


def collector_paused(app: WSGIApp) -> WSGIApp:
    """``app`` with the garbage collector waiting while it renders (``_CollectorPaused``)."""
    paused = _CollectorPaused()

    def wrapped(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        with paused:
            return list(app(environ, start_response))

    return wrapped


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        """Scrapes are not news: nothing on stderr for each."""


class MetricsServer:
    """Serves the metrics of ``programs`` until ``close``; a program added later is served too."""

    def __init__(self, address: Address, programs: Iterable[ProgramMetrics] = ()) -> None:
        self.address = address
        # auto_describe off: a scrape is the only time the collectors are read.
        self.registry = CollectorRegistry(auto_describe=False)
        for program in programs:
            self.add(program)
        server = type("Server", (_Server,), {"address_family": _family(address)})
        try:
            self._server: WSGIServer = make_server(
                address.host,
                address.port,
                prefer_text(collector_paused(make_wsgi_app(self.registry))),
                server,
                handler_class=_QuietHandler,
            )
        except OSError as exc:
            raise ListenError(f"cannot serve metrics on {address}: {exc.strerror or exc}") from None
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="lmp-metrics", daemon=True
        )
        self._thread.start()

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
        self._thread.join()


def _family(address: Address) -> socket.AddressFamily:
    """IPv6 for an IPv6 address, else IPv4."""
    return socket.AF_INET6 if ":" in address.host else socket.AF_INET
