"""HTTP the way lmp speaks it to registries and URLs, whoever is on the other end: TLS trust,
plain http only to this machine, redirects followed by lmp's rules (never to plain http off this
machine, never from https to http), one overall deadline per operation that every socket read
and write keeps to, and every body read through a limit."""

from __future__ import annotations

import contextlib
import ipaddress
import ssl
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpcore
import httpx

from ..errors import LmpError
from ..untrusted import shown
from .transport import Progress, TransportOptions

MAX_REDIRECTS = 10


class RegistryError(LmpError):
    """The registry (or URL) is unreachable, refused us, or sent something that fails
    verification."""


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """System trust store (falling back to certifi), or only the given CA when ``--ca-file``."""
    if ca_file:
        path = Path(ca_file)
        if not path.is_file():
            raise RegistryError(f"--ca-file {ca_file}: no such file")
        try:
            return ssl.create_default_context(cafile=str(path))
        except ssl.SSLError as exc:
            raise RegistryError(f"--ca-file {ca_file}: not a PEM certificate ({exc})") from None
    ctx = ssl.create_default_context()
    if not ctx.cert_store_stats().get("x509_ca"):
        import certifi  # httpx's own dependency

        ctx.load_verify_locations(certifi.where())
    return ctx


class Deadline:
    """The most one operation (a pull, a listing, a download) may take over all of its
    requests, redirects, pages and body reads. Outside an operation there is no limit."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._at: float | None = None

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """Start the clock, unless an enclosing operation has (then its deadline holds)."""
        if self._at is not None:
            yield
            return
        self._at = time.monotonic() + self.seconds
        try:
            yield
        finally:
            self._at = None

    def expired(self) -> bool:
        return self._at is not None and time.monotonic() >= self._at

    def bound(self, timeout: float | None, error: type[Exception]) -> float | None:
        """``timeout`` cut to the time left; ``error`` once none is."""
        if self._at is None:
            return timeout
        left = self._at - time.monotonic()
        if left <= 0:
            raise error("the overall deadline has passed")
        return left if timeout is None else min(timeout, left)

    def message(self, where: str) -> str:
        return f"{where}: not done after {self.seconds:g} s; gave up (too slow, or never ends)"


class _DeadlineStream(httpcore.NetworkStream):
    """A socket whose every read, write and TLS handshake ends by the deadline: a server that
    drips a byte at a time (headers included) cannot hold us past it."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: Deadline) -> None:
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._deadline.bound(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadline.bound(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        bound = self._deadline.bound(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._inner.start_tls(ssl_context, server_hostname, bound), self._deadline
        )

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, deadline: Deadline) -> None:
        self._inner = httpcore.SyncBackend()
        self._deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        bound = self._deadline.bound(timeout, httpcore.ConnectTimeout)
        stream = self._inner.connect_tcp(host, port, bound, local_address, socket_options)
        return _DeadlineStream(stream, self._deadline)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        bound = self._deadline.bound(timeout, httpcore.ConnectTimeout)
        stream = self._inner.connect_unix_socket(path, bound, socket_options)
        return _DeadlineStream(stream, self._deadline)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _DeadlineTransport(httpx.HTTPTransport):
    """httpx's own transport over sockets that keep to the deadline."""

    def __init__(self, ctx: ssl.SSLContext, deadline: Deadline) -> None:
        super().__init__(verify=ctx)
        self._pool.close()
        self._pool = httpcore.ConnectionPool(
            ssl_context=ctx,
            max_connections=10,
            keepalive_expiry=5.0,
            network_backend=_DeadlineBackend(deadline),
        )


def http_client(options: TransportOptions, deadline: Deadline | None = None) -> httpx.Client:
    """A client that follows no redirect by itself (``send`` does, by lmp's rules), asks for
    bodies uncompressed, and keeps every socket read and write within ``deadline``."""
    timeout = httpx.Timeout(
        options.timeout, connect=options.connect_timeout, pool=options.connect_timeout
    )
    ctx = tls_context(options.ca_file)
    return httpx.Client(
        verify=ctx,
        transport=_DeadlineTransport(ctx, deadline or Deadline(options.deadline)),
        timeout=timeout,
        follow_redirects=False,
        headers={"User-Agent": "lmp-tui", "Accept-Encoding": "identity"},
    )


def host_is_loopback(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ``::1`` (a bare host, as ``httpx.URL.host`` gives it)."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_url(text: str, where: str, base: httpx.URL | None = None) -> httpx.URL:
    """An absolute http(s) URL (``text`` resolved against ``base`` if given), or one line."""
    try:
        url = base.join(text) if base is not None else httpx.URL(text)
    except (httpx.InvalidURL, ValueError, TypeError):
        raise RegistryError(f"{where}: invalid URL {shown(repr(text))}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise RegistryError(f"{where}: not an http(s) URL: {shown(repr(text))}")
    return url


def check_url(url: httpx.URL, where: str, previous: httpx.URL | None = None) -> None:
    """Plain http only to this machine, and never after https (``previous``: where the server
    that named ``url`` was reached): a package runs as root, so it is never fetched in clear."""
    if url.scheme != "http":
        return
    if previous is not None and previous.scheme == "https":
        raise RegistryError(
            f"{where}: {shown(str(url))} is plain http, named by an https server; refused"
        )
    if not host_is_loopback(url.host):
        raise RegistryError(
            f"{where}: plain http is allowed only to this machine (localhost, 127.0.0.1, ::1), "
            f"not to {shown(url.host, 80)}; use https"
        )


def origin(url: httpx.URL) -> tuple[str, str, int | None]:
    """Scheme, host and port: what credentials are bound to."""
    return url.scheme, url.host.lower(), url.port or {"http": 80, "https": 443}.get(url.scheme)


_REDIRECTS = (301, 302, 303, 307, 308)


def send(
    http: httpx.Client,
    method: str,
    url: httpx.URL,
    *,
    where: str,
    options: TransportOptions,
    deadline: Deadline,
    headers: Callable[[httpx.URL], dict[str, str]] | None = None,
    body: bytes | None = None,
    progress: Progress | None = None,
) -> httpx.Response:
    """A streamed response, redirects followed by lmp's rules: at most ``MAX_REDIRECTS``, plain
    http only to this machine and never after https, a redirect's own body never read, and
    ``headers(url)`` asked for each hop (so credentials go only to their origin). Network
    failures are one-line ``RegistryError``s."""
    for _ in range(MAX_REDIRECTS + 1):
        hdrs = headers(url) if headers is not None else {}
        if body is not None:
            # Explicit length, so a progress-reporting body is not sent chunked.
            hdrs["Content-Length"] = str(len(body))
        try:
            request = http.build_request(method, url, headers=hdrs, content=_body(body, progress))
            response = http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise RegistryError(
                describe_http_error(exc, where, options.timeout, deadline)
            ) from None
        location = response.headers.get("location")
        if response.status_code not in _REDIRECTS or location is None:
            return response
        response.close()
        target = parse_url(location, f"{where}: redirect", url)
        check_url(target, where, previous=url)
        if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
            method, body = ("HEAD" if method == "HEAD" else "GET"), None
        url = target
    raise RegistryError(f"{where}: more than {MAX_REDIRECTS} redirects; gave up")


def describe_http_error(
    exc: httpx.HTTPError, where: str, timeout: float, deadline: Deadline | None = None
) -> str:
    """One line for a network failure, with the fix when there is an obvious one."""
    text = shown(str(exc) or type(exc).__name__, 300)
    if deadline is not None and deadline.expired():
        return deadline.message(where)
    if isinstance(exc, httpx.ConnectTimeout):
        return f"{where}: no answer within the connect timeout (host down or unreachable)"
    if isinstance(exc, httpx.TimeoutException):
        return f"{where}: no data for {timeout:g} s; gave up"
    if "CERTIFICATE_VERIFY_FAILED" in text:
        reason = text.split("certificate verify failed:", 1)[-1].split("(_ssl", 1)[0].strip()
        return (
            f"{where}: TLS certificate not trusted ({reason}); "
            "pass --ca-file with the CA that signed it"
        )
    if "SSL" in text or "TLS" in text or "WRONG_VERSION" in text:
        return (
            f"{where}: TLS handshake failed ({text.strip()}); if it serves plain http on "
            "this machine, pass --insecure"
        )
    if isinstance(exc, httpx.ConnectError):
        reason = text.split("]", 1)[-1].strip() if text.startswith("[Errno") else text
        return f"{where}: cannot connect ({reason.lower()})"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"{where}: not an HTTP answer ({text}); is it TLS? then drop --insecure"
    return f"{where}: {text}"


def read_limited(
    response: httpx.Response,
    limit: int,
    where: str,
    progress: Progress | None = None,
    *,
    deadline: Deadline | None = None,
    truncate: bool = False,
) -> bytes:
    """Every body lmp reads goes through here: past ``limit`` bytes it is refused (or with
    ``truncate``, cut there) before more is in memory, and the deadline is checked between
    chunks (the transport also bounds each read by it). A compressed body is refused: we ask
    for none, and unpacking one could make gigabytes of a few kilobytes."""
    encoding = response.headers.get("content-encoding", "").strip().lower()
    if encoding not in ("", "identity"):
        if truncate:
            return b""
        raise RegistryError(
            f"{where}: compressed reply ({shown(encoding, 40)}) though we asked for none; refused"
        )
    try:
        total = max(0, int(response.headers.get("content-length") or 0))
    except ValueError:
        total = 0
    if total > limit and not truncate:
        raise RegistryError(f"{where}: {total} bytes, expected at most {limit}; refused")
    chunks: list[bytes] = []
    done = 0
    for chunk in response.iter_raw():
        if deadline is not None and deadline.expired():
            raise RegistryError(deadline.message(where))
        if done + len(chunk) > limit:
            if truncate:
                chunks.append(chunk[: limit - done])
                break
            raise RegistryError(f"{where}: more than the expected {limit} bytes; refused")
        done += len(chunk)
        chunks.append(chunk)
        if progress is not None:
            progress(done, max(total, done))
    return b"".join(chunks)


def _body(body: bytes | None, progress: Progress | None) -> bytes | Iterator[bytes] | None:
    """Bytes as they are, or in chunks reporting progress (a fresh iterator per attempt)."""
    if body is None or progress is None:
        return body

    def chunks() -> Iterator[bytes]:
        step = 256 << 10
        for i in range(0, len(body), step):
            yield body[i : i + step]
            progress(min(i + step, len(body)), len(body))

    return chunks()
