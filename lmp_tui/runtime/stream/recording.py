"""Recordings (``.lmprec``): a msgpack stream of one header map, then one map per batch.

Raw records plus the layout are stored, so a replay decodes through the very same ``Decoder``
as the live run, and recording costs a memcpy per batch rather than a Python call per event.
The stream is append-only and every frame is flushed as it is written: a recording cut at any
byte replays every complete frame before the cut. See README "Recording format".
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import msgpack

from ..errors import LmpError, RecordingError
from ..format.layout import StructLayout
from ..format.package import ExportSpec, SampleMeta
from .batch import Batch
from .decode import Decoders
from .writer import WRITE_SLICE

if TYPE_CHECKING:
    import asyncio

FORMAT = "lmprec"
VERSION = 1
# Bounds for the reader, so a corrupt length prefix cannot make it allocate or wait for gigabytes.
MAX_FRAME = 256 << 20


@dataclass(slots=True)
class RecordingHeader:
    """What a recording is of: enough to decode, print and show it anywhere, without the object.

    ``spec`` is the live run's ``ExportSpec`` (layouts and sample metadata, ``clear_map``
    included), so a replay behaves as the run did.
    """

    program: str
    spec: ExportSpec
    package_digest: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    host: str = field(default_factory=socket.gethostname)
    kernel: str = field(default_factory=lambda: os.uname().release)
    start: float = field(default_factory=time.time)
    version: int = VERSION

    @property
    def record_size(self) -> int:
        return self.spec.record_size

    def decoders(self) -> Decoders:
        return Decoders.of(self.spec)

    def to_dict(self) -> dict[str, Any]:
        spec = self.spec
        d: dict[str, Any] = {
            "format": FORMAT,
            "version": self.version,
            "program": self.program,
            "kind": "sample" if spec.kind == "sample" else "events",
            "export": spec.kind,
            "map": spec.map_name,
            "package_digest": self.package_digest,
            "params": self.params,
            "host": self.host,
            "kernel": self.kernel,
            "start": self.start,
        }
        if spec.layout is not None:
            d["layout"] = spec.layout.to_dict()
        if spec.key is not None and spec.value is not None and spec.sample is not None:
            d["key_layout"] = spec.key.to_dict()
            d["value_layout"] = spec.value.to_dict()
            d["sample"] = {
                "type": spec.sample.type,
                "unit": spec.sample.unit,
                "interval_ms": spec.sample.interval_ms,
                "clear_map": spec.sample.clear_map,
            }
        return d

    @classmethod
    def from_dict(cls, d: Any, source: str) -> RecordingHeader:
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise RecordingError(f"{source}: not an lmp recording")
        version = d.get("version")
        if not isinstance(version, int) or version < 1:
            raise RecordingError(f"{source}: recording has no valid format version")
        if version > VERSION:
            raise RecordingError(
                f"{source}: recording format version {version} is newer than this lmp "
                f"understands ({VERSION}); upgrade lmp-tui"
            )
        try:
            return cls(
                program=str(d["program"]),
                spec=_spec_from(d),
                package_digest=str(d.get("package_digest", "")),
                params=dict(d.get("params") or {}),
                host=str(d.get("host", "")),
                kernel=str(d.get("kernel", "")),
                start=float(d.get("start", 0.0)),
                version=version,
            )
        except (KeyError, TypeError, ValueError, LmpError) as exc:
            raise RecordingError(f"{source}: corrupt recording header ({exc})") from None


def _spec_from(d: dict[str, Any]) -> ExportSpec:
    """The export a header describes. Recordings before ``export`` and ``clear_map`` were
    written say only events or sample: a ring buffer, and a map that keeps its counts."""
    layout = StructLayout.from_dict(d["layout"]) if d.get("layout") else None
    if d.get("kind") == "sample":
        sample = dict(d.get("sample") or {})
        meta = SampleMeta(
            interval_ms=int(sample.get("interval_ms", 1000)),
            type=str(sample.get("type", "default_kv")),
            unit=str(sample.get("unit", "(unit)")),
            clear_map=bool(sample.get("clear_map", False)),
        )
        key = StructLayout.from_dict(d["key_layout"])
        value = StructLayout.from_dict(d["value_layout"])
        return ExportSpec("sample", str(d.get("map", "")), key=key, value=value, sample=meta)
    export = d.get("export", "ringbuf" if layout is not None else "none")
    if export not in ("ringbuf", "perf", "none"):
        raise ValueError(f"unknown export kind {export!r}")
    return ExportSpec(export, str(d.get("map", "")), layout=layout)


FLUSH_BYTES = 2 << 20
"""Unwritten frame bytes that make the recorder write at once: the batches it holds until then
are staging buffers the drain thread is waiting to reuse."""


class Recorder:
    """Appends batches to a recording file; stops by itself at ``max_bytes``.

    Frames are packed as batches arrive. Under an asyncio loop they are written out together, at
    most ``flush_interval`` after the first unwritten one (a timer on the loop) or as soon as
    ``FLUSH_BYTES`` wait; without one, at once. A batch is often a handful of events, and a write per batch would cost more than
    the events do; a crash loses at most ``flush_interval`` of frames.
    """

    def __init__(
        self,
        path: Path,
        header: RecordingHeader,
        max_bytes: int = 1 << 30,
        flush_interval: float = 0.1,
    ) -> None:
        self.path = Path(path)
        self.header = header
        self.max_bytes = max_bytes
        self.flush_interval = flush_interval
        self.frames = 0
        self.events = 0
        self.bytes = 0
        self.stopped_reason = ""
        self.error = ""
        """Why writing failed ("" while it works): the file ends at the last frame written."""
        self._packer = msgpack.Packer(use_bin_type=True)
        self._pending: list[bytes | memoryview] = []
        self._pending_bytes = self._pending_frames = self._pending_events = 0
        self._timer: asyncio.TimerHandle | None = None
        try:
            # unbuffered: frames are gathered here and written with one writev per flush
            self._file: BinaryIO | None = open(self.path, "wb", buffering=0)  # noqa: SIM115
        except OSError as exc:
            raise RecordingError(f"cannot write {self.path}: {exc.strerror}") from None
        self._append(header.to_dict())
        self.flush()

    @property
    def active(self) -> bool:
        return self._file is not None

    @property
    def failed(self) -> bool:
        return bool(self.error)

    def write(self, batch: Batch) -> None:
        """One frame per batch: the raw record bytes, untouched (and not copied: the frame's
        other fields are packed in front of them and both go to the file as they are)."""
        if self._file is None:
            return
        frame: dict[str, Any] = {"t": batch.time, "n": batch.count, "d": batch.drops}
        if batch.snapshot:
            frame["s"] = True
        if batch.shed:
            frame["x"] = batch.shed
        pack = self._packer.pack
        head = [self._packer.pack_map_header(len(frame) + 1)]
        for key, value in frame.items():
            head += [pack(key), pack(value)]
        head += [pack("r"), _bin_header(len(batch.records))]
        self._pending += [b"".join(head), batch.records]
        size = sum(map(len, self._pending[-2:]))
        self.bytes += size
        self._pending_bytes += size
        self.frames += 1
        self.events += batch.count
        self._pending_frames += 1
        self._pending_events += batch.count
        if self.bytes >= self.max_bytes:
            self.close(f"size limit of {self.max_bytes} bytes reached")
        elif self._pending_bytes >= FLUSH_BYTES:
            self.flush()
        elif self._timer is None:
            self._schedule_flush()

    def _append(self, obj: dict[str, Any]) -> None:
        data = self._packer.pack(obj)
        self._pending.append(data)
        self.bytes += len(data)
        self._pending_bytes += len(data)

    def _schedule_flush(self) -> None:
        # No loop can run where asyncio was never imported (lmp run and lmp record drive their
        # pipeline without one, and start faster for it): there, every batch is written at once.
        asyncio = sys.modules.get("asyncio")
        try:
            loop = asyncio.get_running_loop() if asyncio is not None else None
        except RuntimeError:
            loop = None
        if loop is None:
            self.flush()
            return
        self._timer = loop.call_later(self.flush_interval, self._timed_flush)

    def _timed_flush(self) -> None:
        with contextlib.suppress(RecordingError):  # said by ``error``, ``stopped_reason``
            self.flush()

    def flush(self) -> None:
        """Write out the frames gathered so far; raises ``RecordingError`` if that fails, after
        which the recording is closed and its counts are those of the file."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._file is None or not self._pending:
            return
        chunks, pending = self._pending, (self._pending_bytes, self._pending_frames)
        events = self._pending_events
        self._pending, self._pending_bytes, self._pending_frames, self._pending_events = [], 0, 0, 0
        try:
            _write_all(self._file.fileno(), chunks)
        except OSError as exc:
            self._file.close()
            self._file = None
            self.bytes -= pending[0]
            self.frames -= pending[1]
            self.events -= events
            self.error = exc.strerror or str(exc)
            self.stopped_reason = f"write failed: {self.error}"
            raise RecordingError(f"cannot write {self.path}: {self.error}") from None

    def close(self, reason: str = "") -> None:
        if self._file is not None:
            self.flush()
            if self._file is not None:
                self._file.close()
            self._file = None
            self.stopped_reason = reason


def _bin_header(n: int) -> bytes:
    """The msgpack bin header for ``n`` bytes (bin 8/16/32, the shortest that fits)."""
    if n < 1 << 8:
        return b"\xc4" + n.to_bytes(1, "big")
    if n < 1 << 16:
        return b"\xc5" + n.to_bytes(2, "big")
    return b"\xc6" + n.to_bytes(4, "big")


def _write_all(fd: int, chunks: list[bytes | memoryview]) -> None:
    """``writev`` until every byte is written (a pipe takes part of it at a time), at most
    ``WRITE_SLICE`` bytes per call (why: see there)."""
    views = [memoryview(c).cast("B") for c in chunks if c]
    while views:
        iov, size = [], 0
        for view in views[:IOV_MAX]:
            iov.append(view[: WRITE_SLICE - size])
            size += len(iov[-1])
            if size >= WRITE_SLICE:
                break
        done = os.writev(fd, iov)
        while views and done >= len(views[0]):
            done -= len(views[0])
            views.pop(0)
        if views and done:
            views[0] = views[0][done:]


IOV_MAX = 1024


@dataclass(slots=True)
class Frame:
    batch: Batch
    offset: int
    """Where the frame starts in the file."""
    end: int
    """Where the next one starts."""


@dataclass(frozen=True, slots=True)
class FrameInfo:
    """A frame as the index knows it, without its records."""

    time: float
    offset: int
    count: int
    drops: int


@dataclass(slots=True)
class ReadReport:
    """How reading ended: cleanly, on a torn tail, or on a corrupt frame."""

    frames: int = 0
    torn_bytes: int = 0
    corrupt: str = ""

    def problem(self, source: str) -> str:
        if self.corrupt:
            return f"{source}: {self.corrupt}; replayed the {self.frames} frames before it"
        if self.torn_bytes:
            return (
                f"{source}: recording ends with a torn frame ({self.torn_bytes} bytes after "
                f"frame {self.frames}, cut while writing); replayed {self.frames} frames"
            )
        return ""


class RecordingReader:
    """Reads a recording: ``header``, then ``frames()``; never raises on a damaged tail."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.source = str(path)
        try:
            self._file = open(self.path, "rb")  # noqa: SIM115 - closed by close()
        except OSError as exc:
            raise RecordingError(f"{path}: cannot read: {exc.strerror}") from None
        self.size = os.fstat(self._file.fileno()).st_size
        self._unpacker = self._new_unpacker()
        try:
            first = next(self._unpacker)
        except StopIteration:
            self.close()
            raise RecordingError(f"{path}: not an lmp recording (empty or truncated)") from None
        except Exception:
            self.close()
            raise RecordingError(f"{path}: not an lmp recording") from None
        try:
            self.header = RecordingHeader.from_dict(first, self.source)
        except RecordingError:
            self.close()
            raise
        self.data_offset = self._unpacker.tell()
        self.report = ReadReport()

    def _new_unpacker(self) -> msgpack.Unpacker:
        return msgpack.Unpacker(
            self._file,
            raw=False,
            max_buffer_size=MAX_FRAME,
            strict_map_key=False,
        )

    def frames(self, start: int | None = None) -> Iterator[Frame]:
        """Every complete, well-formed frame in order, from the first (or the one at byte
        ``start``); read as they are asked for, so memory stays bounded whatever the file's
        size. ``report`` says how reading ended."""
        base = self.data_offset if start is None else start
        self._file.seek(base)
        unpacker = self._new_unpacker()
        self.report = ReadReport()
        size = self.header.record_size
        offset = base
        while True:
            try:
                obj = next(unpacker)
            except StopIteration:
                self.report.torn_bytes = max(0, self.size - offset)
                return
            except Exception as exc:  # msgpack raises several types on damaged input
                self.report.corrupt = f"corrupt frame at byte {offset} ({type(exc).__name__})"
                return
            batch = _frame_batch(obj, size)
            if batch is None:
                self.report.corrupt = f"corrupt frame at byte {offset}"
                return
            end = base + unpacker.tell()
            yield Frame(batch, offset, end)
            self.report.frames += 1
            offset = end

    def scan(self) -> Iterator[FrameInfo]:
        """Each frame's time, place and counts, without making its records (they are skipped
        as bytes): what an index for seeking needs. Like ``frames``, it stops at a torn or
        damaged tail and says so in ``report`` (it does not check each frame's record bytes
        against its count: ``frames`` does, when they are read)."""
        self._file.seek(self.data_offset)
        unpacker = self._new_unpacker()
        self.report = ReadReport()
        while True:
            offset = self.data_offset + unpacker.tell()
            fields: dict[str, Any] = {}
            try:
                for _ in range(unpacker.read_map_header()):
                    key = unpacker.unpack()
                    if key == "r":
                        unpacker.skip()
                    else:
                        fields[key] = unpacker.unpack()
            except msgpack.OutOfData:
                self.report.torn_bytes = max(0, self.size - offset)
                return
            except Exception as exc:  # msgpack raises several types on damaged input
                self.report.corrupt = f"corrupt frame at byte {offset} ({type(exc).__name__})"
                return
            t, n, d = fields.get("t"), fields.get("n"), fields.get("d", 0)
            if not _finite_number(t) or not isinstance(n, int) or not isinstance(d, int) or n < 0:
                self.report.corrupt = f"corrupt frame at byte {offset}"
                return
            self.report.frames += 1
            yield FrameInfo(float(t), offset, n, d)  # type: ignore[arg-type]  # finite: checked

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> RecordingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _frame_batch(obj: Any, record_size: int) -> Batch | None:
    if not isinstance(obj, dict):
        return None
    t, n, r, d, x = obj.get("t"), obj.get("n"), obj.get("r"), obj.get("d", 0), obj.get("x", 0)
    if not _finite_number(t):
        return None
    if not isinstance(n, int) or not isinstance(r, bytes) or not isinstance(d, int):
        return None
    if not isinstance(x, int) or n < 0 or len(r) != n * record_size:
        return None
    when = float(t)  # type: ignore[arg-type]  # finite: checked
    return Batch(when, r, n, record_size, d, snapshot=bool(obj.get("s", False)), shed=x)


def demo_recordings() -> list[Path]:
    """The small recordings shipped in the package (``scripts/make_demos.py`` made them)."""
    from importlib import resources

    return sorted(Path(str(resources.files("lmp_tui.demos"))).glob("*.lmprec"))


def header_for(session: Any) -> RecordingHeader:
    """The header describing what a session produces (any ``runs.Session``)."""
    return RecordingHeader(
        program=session.name,
        spec=session.spec,
        package_digest=session.digest,
        params={k: v for k, v in session.values.items() if _plain(v)},
    )


def _plain(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)
