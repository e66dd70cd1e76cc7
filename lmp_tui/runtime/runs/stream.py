"""A recording that arrives as a stream, as a session: ``lmp replay -`` reading a pipe, and a
program running on another host (``ssh HOST lmp record PROGRAM -o -``) shown here live.

The stream is a recording (``.lmprec``: a header, then a frame per batch, each written as it
is made), so the views, sinks and decoders are those of a live run and a replay. The session
starts once the header has come; batches then arrive as the other end writes them, with no
pacing. When the stream ends (the other end stopped, the connection died), iteration ends
and ``problem`` says why, in one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import select
import shlex
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import RecordingError
from ..format.package import ExportSpec
from ..stream.batch import Batch, EventSource
from ..stream.decode import Decoders
from ..stream.recording import RecordingHeader, RecordingStream
from ..untrusted import shown
from .session import Fleet

READ_BYTES = 1 << 20
INFORMATION = re.compile(
    r"(lmp: )?(running |serving |exporting |recorded |streamed |[\w.-]+: \d+ events, )"
)
"""What ``lmp record`` says on stderr as it runs well: not a reason a stream ended."""
HEADER_TIMEOUT = 60.0
"""Seconds a stream may take to send its header (an ssh login, then loading the program)."""


class PipeSource(EventSource):
    """The batches of a ``RecordingStream`` read from ``fd`` as they come."""

    def __init__(self, stream: RecordingStream, fd: int, held: list[Batch]) -> None:
        self.stream = stream
        self.fd = fd
        self.held = held  # what came with the header
        self.ended = False
        """The stream closed (or broke): no more batches will come."""
        self.error = ""
        self._readable: asyncio.Event | None = None

    async def batches(self) -> AsyncIterator[Batch]:
        for batch in self.held:
            yield batch
        self.held = []
        loop = asyncio.get_running_loop()
        readable = self._readable = asyncio.Event()
        os.set_blocking(self.fd, False)
        loop.add_reader(self.fd, readable.set)
        try:
            while not self.closed:
                await readable.wait()
                readable.clear()
                if self.closed:
                    return
                for batch in self._read():
                    yield batch
                if self.ended:
                    return
        finally:
            loop.remove_reader(self.fd)

    def close(self) -> None:
        super().close()
        if self._readable is not None:  # a wait for data ends now
            self._readable.set()

    def _read(self) -> list[Batch]:
        try:
            data = os.read(self.fd, READ_BYTES)
        except BlockingIOError:
            return []
        except OSError as exc:
            self._end(f"cannot read: {exc.strerror or exc}")
            return []
        if not data:
            try:
                self.stream.end()
            except RecordingError as exc:
                self._end(str(exc))
            else:
                self._end("")
            return []
        try:
            batches = self.stream.feed(data)
        except RecordingError as exc:
            self._end(str(exc))
            return []
        if self.stream.report.corrupt:
            self._end(self.stream.report.problem(self.stream.source))
        return batches

    def _end(self, error: str) -> None:
        self.ended = True
        self.error = error


class StreamSession:
    """A recording read from ``fd`` as it is written; ``process``, when given, is what writes
    it (ended with the session) and ``describe`` names it in messages."""

    fleet: Fleet | None = None  # one stream, one host (a fleet is made of them)

    def __init__(
        self,
        fd: int,
        describe: str,
        process: subprocess.Popen[bytes] | None = None,
        host: str = "",
    ) -> None:
        self.fd = fd
        self.describe = describe
        self.process = process
        self.host = host
        self.stream = RecordingStream(describe)
        self.notes: list[str] = []
        self.said: deque[str] = deque(maxlen=20)
        """The last lines the writing process said on stderr (why it failed, when it did)."""
        self._source: PipeSource | None = None
        self._stderr: threading.Thread | None = None
        if process is not None and process.stderr is not None:
            self._stderr = threading.Thread(
                target=self._read_stderr, args=(process.stderr,), daemon=True
            )
            self._stderr.start()

    # -- Session -------------------------------------------------------------------------------

    @property
    def header(self) -> RecordingHeader:
        if self.stream.header is None:
            raise RecordingError(f"{self.describe}: not started")
        return self.stream.header

    @property
    def name(self) -> str:
        return self.header.program

    @property
    def spec(self) -> ExportSpec:
        return self.header.spec

    @property
    def decoders(self) -> Decoders:
        return self.header.decoders()

    @property
    def values(self) -> dict[str, Any]:
        return dict(self.header.params)

    @property
    def digest(self) -> str:
        return self.header.package_digest

    @property
    def source(self) -> PipeSource | None:
        return self._source

    def start(self, timeout: float = HEADER_TIMEOUT) -> StreamSession:
        """Read until the header is whole; raises ``RecordingError`` (the writer's own last
        line when it said why) if the stream ends or stays silent first."""
        deadline = time.monotonic() + timeout
        held: list[Batch] = []
        while self.stream.header is None:
            left = deadline - time.monotonic()
            ready = select.select([self.fd], [], [], max(left, 0))[0] if left > 0 else []
            if not ready:
                self.close()
                raise RecordingError(f"{self.describe}: nothing came in {timeout:g} s")
            data = os.read(self.fd, READ_BYTES)
            if not data:
                why = self._why()
                self.close()
                raise RecordingError(f"{self.describe}: {why}" if why else self._ended_early())
            try:
                held += self.stream.feed(data)
                if self.stream.report.corrupt:
                    raise RecordingError(self.stream.report.problem(self.stream.source))
            except RecordingError:
                why = self._why()
                self.close()
                if why:
                    raise RecordingError(f"{self.describe}: {why}") from None
                raise
        self._source = PipeSource(self.stream, self.fd, held)
        return self

    def stop(self) -> None:
        if self._source is not None:
            self._source.stop()

    def close(self) -> None:
        if self._source is not None:
            self._source.close()
        self._end_process()
        with contextlib.suppress(OSError):
            os.close(self.fd)
        self.fd = -1

    def now(self) -> float:
        return time.time()

    def cost_meter(self) -> None:
        """The programs run elsewhere: their cost is not this kernel's to count."""
        return None

    # -- how it ended --------------------------------------------------------------------------

    @property
    def problem(self) -> str:
        """Why the stream ended, in one line ("" while it runs, or when it ended cleanly)."""
        source = self._source
        if source is None or not source.ended:
            return ""
        why = self._why() or source.error
        torn = self.stream.report.torn_bytes
        if not why and torn:
            why = f"the stream was cut in the middle of a frame ({torn} bytes)"
        if not why and self.process is not None and self.process.poll() not in (None, 0):
            why = f"the connection ended ({self._client} {_status(self.process.returncode)})"
        return f"{self.describe}: {why}" if why else ""

    @property
    def _client(self) -> str:
        args = self.process.args if self.process is not None else ""
        return Path(str(args[0] if isinstance(args, list) and args else args)).name or "ssh"

    def _why(self) -> str:
        """The writer's last line on stderr that says something went wrong."""
        if self._stderr is not None and self.process is not None:
            # its last words are on their way once it has exited; never wait on a live one
            self._stderr.join(timeout=0.5 if self.process.poll() is not None else 0)
        for line in reversed(self.said):
            if line and not INFORMATION.match(line):
                return shown(line, 300)
        return ""

    def _ended_early(self) -> str:
        status = self.process.poll() if self.process is not None else None
        after = f" ({_status(status)})" if status not in (None, 0) else ""
        return f"{self.describe}: the stream ended before its header{after}"

    def _read_stderr(self, pipe: Any) -> None:
        for raw in iter(pipe.readline, b""):
            self.said.append(raw.decode("utf-8", "replace").strip())

    def _end_process(self) -> None:
        """Closing our end is what ends the other one (``lmp record -o -`` stops when its
        output goes away); ssh itself is asked to end, then made to."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _status(code: int | None) -> str:
    if code is not None and code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit status {code}"


def ssh_command(
    host: str, program: str, args: Sequence[str], lmp: str = "lmp", ssh: str = "ssh"
) -> list[str]:
    """The system ssh client (so ``~/.ssh/config``, agents and jump hosts work) running
    ``lmp record PROGRAM -o - -- ARGS`` on ``host`` (``[user@]HOST[:PORT]``); ``lmp`` and
    ``ssh`` are commands with their options (``ssh -F FILE``). BatchMode: a password prompt
    would wait on a terminal the TUI owns; a missing key is said instead."""
    target, port = host, None
    if host.count(":") == 1 and host.rsplit(":", 1)[1].isdigit():
        target, port = host.rsplit(":", 1)
    command, *options = shlex.split(lmp)
    rest = shlex.join([*options, "record", program, "-o", "-", "--", *args])
    # a leading ~/ is the remote shell's to expand: left out of the quotes
    home, command = ("~/", command[2:]) if command.startswith("~/") else ("", command)
    remote = f"{home}{shlex.quote(command)} {rest}"
    argv = [*shlex.split(ssh), "-o", "BatchMode=yes", "-o", "ServerAliveInterval=5", "-T"]
    if port is not None:
        argv += ["-p", port]
    return [*argv, "--", target, remote]


def remote_session(
    host: str, program: str, args: Sequence[str], lmp: str = "lmp", ssh: str = "ssh"
) -> StreamSession:
    """``program`` run by ``lmp`` on ``host`` over ssh, streamed here (not started yet)."""
    argv = ssh_command(host, program, args, lmp, ssh)
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # Ctrl-C in the TUI is the TUI's, not ssh's
        )
    except OSError as exc:
        raise RecordingError(f"{host}: cannot run {ssh}: {exc.strerror or exc}") from None
    assert process.stdout is not None
    fd = os.dup(process.stdout.fileno())
    process.stdout.close()
    return StreamSession(fd, host, process, host=host)
