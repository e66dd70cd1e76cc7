"""Test support for distribution: a real OCI registry (Debian's ``docker-registry``, the CNCF
distribution registry v2) on 127.0.0.1 with temp storage, optional htpasswd auth and TLS from a
throwaway CA; isolated lmp config/cache dirs; and ``lmp`` with the distribution commands.

Test modules import the fixtures they use (``from registry import registry  # noqa: F401``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
SIGSNOOP = ROOT / "lmp_tui/hub/sigsnoop/package.json"
REGISTRY_BIN = shutil.which("docker-registry") or "/usr/sbin/docker-registry"

USER, PASSWORD = "lmp", "s3cret"
# bcrypt (cost 5) of PASSWORD, made once with libxcrypt; fixed here so the tests need neither the
# `bcrypt` package nor apache2-utils' htpasswd. The registry accepts only bcrypt entries.
HTPASSWD = f"{USER}:$2b$05$abcdefghijklmnopqrstuuLK7U1u6pVRmL7L1BBM2aS35PSZnDXlK\n"

LMP = [sys.executable, "-m", "lmp_tui.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Tls:
    ca: Path
    cert: Path
    key: Path


def make_tls(where: Path) -> Tls:
    """A CA and a server certificate for 127.0.0.1 signed by it (EC keys: fast)."""
    where.mkdir(parents=True, exist_ok=True)
    ca, ca_key = where / "ca.pem", where / "ca.key"
    cert, key, csr, ext = where / "cert.pem", where / "key.pem", where / "req.csr", where / "ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for cmd in (
        [
            "req",
            "-x509",
            *ec,
            "-keyout",
            ca_key,
            "-out",
            ca,
            "-days",
            "2",
            "-subj",
            "/CN=lmp test CA",
        ],
        ["req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"],
        ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial"]
        + ["-out", cert, "-days", "2", "-extfile", ext],
    ):
        subprocess.run(["openssl", *map(str, cmd)], check=True, capture_output=True)
    return Tls(ca, cert, key)


@dataclass
class Registry:
    root: Path  # its storage
    port: int
    tls: Tls | None = None
    htpasswd: Path | None = None
    proc: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    def blob_file(self, digest: str) -> Path:
        hexdigest = digest.split(":", 1)[1]
        return self.root / "docker/registry/v2/blobs/sha256" / hexdigest[:2] / hexdigest / "data"

    def config(self) -> str:
        lines = [
            "version: 0.1",
            "log:",
            "  level: error",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {self.root}",
            "  delete:",
            "    enabled: true",
            "http:",
            f"  addr: {self.host}",
            "  secret: lmp-test",
        ]
        if self.tls:
            lines += ["  tls:", f"    certificate: {self.tls.cert}", f"    key: {self.tls.key}"]
        if self.htpasswd:
            lines += ["auth:", "  htpasswd:", "    realm: lmp-test", f"    path: {self.htpasswd}"]
        return "\n".join(lines) + "\n"

    def start(self) -> Registry:
        conf = self.root.parent / f"registry-{self.port}.yml"
        conf.write_text(self.config())
        log = open(self.root.parent / f"registry-{self.port}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen([REGISTRY_BIN, "serve", str(conf)], stdout=log, stderr=log)
        log.close()
        verify = ssl.create_default_context(cafile=str(self.tls.ca)) if self.tls else False
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited: see {log.name}")
            try:
                httpx.get(f"{self.url}/v2/", verify=verify, timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.02)
        raise RuntimeError("docker-registry did not start within 10 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_registry(where: Path, *, auth: bool = False, tls: bool = False) -> Registry:
    where.mkdir(parents=True, exist_ok=True)
    htpasswd = None
    if auth:
        htpasswd = where / "htpasswd"
        htpasswd.write_text(HTPASSWD)
    reg = Registry(
        where / "storage", free_port(), make_tls(where / "tls") if tls else None, htpasswd
    )
    reg.root.mkdir(exist_ok=True)
    return reg.start()


def _serve(where: Path, **kw: bool) -> Iterator[Registry]:
    reg = start_registry(where, **kw)
    try:
        yield reg
    finally:
        reg.stop()


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """Plain http on loopback, anonymous, delete enabled."""
    yield from _serve(tmp_path_factory.mktemp("registry"))


@pytest.fixture(scope="module")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """Basic auth (htpasswd) with USER / PASSWORD."""
    yield from _serve(tmp_path_factory.mktemp("auth-registry"), auth=True)


@pytest.fixture(scope="module")
def tls_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """TLS with a certificate from a CA made for the test (``registry.tls.ca``)."""
    yield from _serve(tmp_path_factory.mktemp("tls-registry"), tls=True)


@pytest.fixture
def lmp_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Fresh config, cache and Docker config dirs for this test, in-process and for subprocesses."""
    env = {
        "LMP_CONFIG_DIR": str(tmp_path / "config"),
        "LMP_CACHE_DIR": str(tmp_path / "cache"),
        "DOCKER_CONFIG": str(tmp_path / "docker"),
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


def lmp(
    *args: str, input: str | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """Run ``lmp`` with the current environment (``lmp_dirs`` has set the private dirs)."""
    return subprocess.run(
        [*LMP, *args],
        capture_output=True,
        text=True,
        input=input,
        timeout=timeout,
        cwd=ROOT,
        env=dict(os.environ),
    )


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    """The failure is exactly one ``lmp: ...`` line on stderr: no traceback, no noise."""
    assert proc.returncode != 0, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lmp: "), proc.stderr
    return lines[0]


@contextlib.contextmanager
def http_server(directory: Path, tls: Tls | None = None) -> Iterator[tuple[str, list[str]]]:
    """A static web server on 127.0.0.1 in a thread (https with ``tls``): (base URL with a
    trailing slash, the paths it was asked for, in order)."""
    requests: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args, **kw) -> None:
            super().__init__(*args, directory=str(directory), **kw)

        def do_GET(self) -> None:
            requests.append(self.path)
            super().do_GET()

        def log_message(self, *args) -> None:  # keep pytest output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    scheme = "http"
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls.cert, tls.key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}/", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# -- programmable fake servers (hostile registries, token servers, web servers) ----------------------


@dataclass
class Seen:
    """One request a fake server received."""

    method: str
    path: str
    headers: dict[str, str]


@dataclass
class FakeServer:
    """A fake server's address and what it was asked (``seen``, in order)."""

    url: str  # scheme://127.0.0.1:port, no trailing slash
    port: int
    seen: list[Seen]
    stop: threading.Event

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def authorizations(self) -> list[str]:
        return [s.headers["authorization"] for s in self.seen if "authorization" in s.headers]


class FakeHandler(BaseHTTPRequestHandler):
    """What a fake server's ``respond(handler)`` works with: ``reply``, ``endless``, ``drip``.
    HTTP/1.0, so a body without Content-Length ends when the connection does."""

    server_state: FakeServer

    def reply(
        self, status: int, body: bytes | str | dict = b"", headers: dict[str, str] | None = None
    ) -> None:
        if isinstance(body, dict):
            body = json.dumps(body)
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def endless(self, status: int, headers: dict[str, str] | None = None) -> None:
        """A body that never ends (until the client hangs up or the server stops)."""
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        chunk = b"x" * (64 << 10)
        with contextlib.suppress(OSError):
            while not self.server_state.stop.is_set():
                self.wfile.write(chunk)

    def drip(self, every: float, head: bytes = b"") -> None:
        """``head`` (raw bytes: status line, headers...) then a byte every ``every`` seconds."""
        with contextlib.suppress(OSError):
            self.wfile.write(head)
            self.wfile.flush()
            while not self.server_state.stop.wait(every):
                self.wfile.write(b"x")
                self.wfile.flush()

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def fake_server(
    respond: Callable[[FakeHandler], None], tls: Tls | None = None
) -> Iterator[FakeServer]:
    """A server on 127.0.0.1 (https with ``tls``) in a thread; ``respond(handler)`` answers each
    request after it is recorded in ``seen`` (headers with lower-case names)."""
    seen: list[Seen] = []
    state = FakeServer("", 0, seen, threading.Event())

    class Handler(FakeHandler):
        server_state = state

        def handle_one(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            seen.append(
                Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
            )
            respond(self)

        do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = handle_one

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    scheme = "http"
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls.cert, tls.key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    state.port = server.server_address[1]
    state.url = f"{scheme}://127.0.0.1:{state.port}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.stop.set()
        server.shutdown()
        server.server_close()
        thread.join()
