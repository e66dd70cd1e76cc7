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
import stat
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeGuard

import msgpack

from ..errors import LmpError, RecordingError
from ..format.layout import StructLayout
from ..format.limits import MAX_RECORD
from ..format.package import ExportSpec, SampleMeta
from ..untrusted import shown
from .batch import Batch
from .decode import Decoders
from .writer import WRITE_SLICE

if TYPE_CHECKING:
    import asyncio

FORMAT = "lmprec"
VERSION = 1
# Bounds for the reader, so a corrupt length prefix cannot make it allocate or wait for gigabytes.
MAX_FRAME = 256 << 20
"""Bytes a record may take: more than any exported struct (a perf sample is under 64 KiB),
and what keeps a view's store of such records within memory."""


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
        """The header ``d`` read from ``source``, checked field by field (the file is untrusted:
        a wrong type, a time that is not one, a layout that does not decode is a
        ``RecordingError`` in one line, nothing else)."""
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise RecordingError(f"{source}: not an lmp recording")
        version = d.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise RecordingError(f"{source}: recording has no valid format version")
        if version > VERSION:
            raise RecordingError(
                f"{source}: recording format version {version} is newer than this lmp "
                f"understands ({VERSION}); upgrade lmp-tui"
            )
        start = d.get("start", 0.0)
        if not _finite_number(start) or abs(start) > TIME_LIMIT:
            raise RecordingError(
                f"{source}: corrupt recording header (start time {_shown(start)} is not a "
                "wall-clock time)"
            )
        try:
            header = cls(
                program=_text(d, "program", required=True),
                spec=_spec_from(d),
                package_digest=_text(d, "package_digest"),
                params=_params(d.get("params")),
                host=_text(d, "host"),
                kernel=_text(d, "kernel"),
                start=float(start),
                version=version,
            )
            record_size = header.record_size
            if header.spec.kind != "none" and not 0 < record_size <= MAX_RECORD:
                raise ValueError(f"records of {record_size} bytes (at most {MAX_RECORD})")
            header.decoders()  # a layout numpy cannot make is as corrupt as a missing one
        except RecordingError:
            raise
        except (LmpError, KeyError, TypeError, ValueError) as exc:
            raise RecordingError(f"{source}: corrupt recording header ({_shown(exc)})") from None
        except Exception as exc:  # untrusted input: whatever fails to make sense of it
            why = type(exc).__name__
            raise RecordingError(f"{source}: corrupt recording header ({why})") from None
        return header


TIME_LIMIT = 1e12
"""Seconds either side of 1970 beyond which a recorded time is not a wall-clock time (a header
start out there is corrupt; a frame's is clamped)."""
TEXT_LIMIT = 256
"""Characters kept of a header's names (a program, a host, a parameter's text)."""


def _shown(value: object, limit: int = 120) -> str:
    """``value`` as one short line: what an error message may quote of untrusted data."""
    return shown(str(value) if isinstance(value, BaseException) else repr(value), limit)


def _clean(text: str, limit: int = TEXT_LIMIT) -> str:
    """Untrusted text made safe to show: control characters (terminal escapes, newlines)
    replaced, and cut at ``limit`` characters."""
    return shown(text, limit)


def _text(d: dict[Any, Any], key: str, *, required: bool = False) -> str:
    if key not in d:
        if required:
            raise ValueError(f"no {key}")
        return ""
    value = d[key]
    if not isinstance(value, str):
        raise TypeError(f"{key} is {type(value).__name__}, not text")
    return _clean(value)


def _params(value: Any) -> dict[str, Any]:
    """The parameters a run had: names to plain values (what ``header_for`` writes)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TypeError(f"params is {type(value).__name__}, not a map")
    params: dict[str, Any] = {}
    for name, v in value.items():
        if not isinstance(name, str) or not _plain(v):
            raise TypeError(f"parameter {_shown(name)} is not a name with a plain value")
        params[_clean(name)] = _clean(v, 1024) if isinstance(v, str) else v
    return params


def _spec_from(d: dict[str, Any]) -> ExportSpec:
    """The export a header describes. Recordings before ``export`` and ``clear_map`` were
    written say only events or sample: a ring buffer, and a map that keeps its counts."""
    layout = StructLayout.from_dict(d["layout"]) if d.get("layout") else None
    map_name = _text(d, "map")
    if d.get("kind") == "sample":
        sample = d.get("sample") or {}
        if not isinstance(sample, dict):
            raise TypeError(f"sample is {type(sample).__name__}, not a map")
        interval = sample.get("interval_ms", 1000)
        if not isinstance(interval, int) or isinstance(interval, bool):
            raise TypeError("sample interval_ms is not an integer")
        if not 0 < interval <= 86_400_000:
            raise ValueError(f"sample interval of {interval} ms out of range")
        clear_map = sample.get("clear_map", False)
        if not isinstance(clear_map, bool):
            raise TypeError("sample clear_map is not true or false")
        meta = SampleMeta(
            interval_ms=interval,
            type=_text(sample, "type") if "type" in sample else "default_kv",
            unit=_text(sample, "unit") if "unit" in sample else "(unit)",
            clear_map=clear_map,
        )
        key = StructLayout.from_dict(d["key_layout"])
        value = StructLayout.from_dict(d["value_layout"])
        return ExportSpec("sample", map_name, key=key, value=value, sample=meta)
    export = d.get("export", "ringbuf" if layout is not None else "none")
    if export not in ("ringbuf", "perf", "none"):
        raise ValueError(f"unknown export kind {_shown(export)}")
    if (layout is None) != (export == "none"):
        raise ValueError(f"export {export} with{'out' if layout is None else ''} a layout")
    return ExportSpec(export, map_name, layout=layout)


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
            self._file: BinaryIO | None = (
                open(os.dup(sys.stdout.fileno()), "wb", buffering=0)  # noqa: SIM115
                if self.streams
                else open(self.path, "wb", buffering=0)  # noqa: SIM115
            )
        except OSError as exc:
            raise RecordingError(f"cannot write {self.where}: {exc.strerror}") from None
        self._append(header.to_dict())
        self.flush()

    @property
    def streams(self) -> bool:
        """The recording goes to standard output (``-o -``): a stream another ``lmp`` reads
        as it is written, on a pipe or over ssh."""
        return str(self.path) == "-"

    @property
    def where(self) -> str:
        return "standard output" if self.streams else str(self.path)

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
            raise RecordingError(f"cannot write {self.where}: {self.error}") from None

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
    """Reads a recording: ``header``, then ``frames()``; never raises on a damaged tail.

    The file is untrusted. Opening it raises ``RecordingError`` and nothing else; reading its
    frames never raises, and stops at the first one that is not a well-formed frame (said by
    ``report``). No declared size makes it allocate more than the bytes the file holds (every
    length is bounded before its data is read), and every frame's time is a wall-clock time
    no earlier than the one before it (see ``_clamped``)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.source = _clean(str(path), 4096)
        try:
            # O_NONBLOCK: a FIFO given as a recording must not hang the open; refused below
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            raise RecordingError(f"{self.source}: cannot read: {exc.strerror}") from None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise RecordingError(f"{self.source}: cannot read: not a regular file")
        os.set_blocking(fd, True)
        self._file = open(fd, "rb")  # noqa: SIM115 - closed by close()
        self.size = info.st_size
        unpacker = _unpacker(self._file, header=True)
        try:
            first = next(unpacker)
        except StopIteration:
            self.close()
            raise RecordingError(
                f"{self.source}: not an lmp recording (empty or truncated)"
            ) from None
        except Exception:  # msgpack raises several types on damaged input
            self.close()
            raise RecordingError(f"{self.source}: not an lmp recording") from None
        try:
            self.header = RecordingHeader.from_dict(first, self.source)
        except RecordingError:
            self.close()
            raise
        self.data_offset = unpacker.tell()
        self.end = self.data_offset
        """Where the last frame ``scan`` found ends."""
        self.report = ReadReport()

    def frames(self, start: int | None = None, after: float | None = None) -> Iterator[Frame]:
        """Every complete, well-formed frame in order, from the first (or the one at byte
        ``start``, the frame after one timed ``after``); read as they are asked for, so memory
        stays bounded whatever the file's size. ``report`` says how reading ended."""
        base = self.data_offset if start is None else start
        self._file.seek(base)
        unpacker = _unpacker(self._file)
        self.report = ReadReport()
        size = self.header.record_size
        snapshots = self.header.spec.kind == "sample"
        previous = self.header.start if after is None else after
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
            batch = _frame_batch(obj, size, snapshots, previous)
            if batch is None:
                self.report.corrupt = f"corrupt frame at byte {offset}"
                return
            previous = batch.time
            end = base + unpacker.tell()
            yield Frame(batch, offset, end)
            self.report.frames += 1
            offset = end

    def scan(self) -> Iterator[FrameInfo]:
        """Each frame's time, place and counts, without making its records (they are skipped
        as bytes): what an index for seeking needs. Like ``frames``, it stops at a torn or
        damaged tail and says so in ``report``; the times are those ``frames`` gives, and each
        frame's count must fit the bytes it skips (what they hold is checked by ``frames``,
        when they are read). ``end`` is where the last frame scanned ends."""
        self._file.seek(self.data_offset)
        unpacker = _unpacker(self._file)
        self.report = ReadReport()
        self.end = self.data_offset
        size = self.header.record_size
        previous = self.header.start
        while True:
            offset = self.data_offset + unpacker.tell()
            fields: dict[Any, Any] = {}
            span = -1
            try:
                entries = unpacker.read_map_header()
                if entries > len(FRAME_KEYS):
                    raise ValueError("too many fields")
                for _ in range(entries):
                    key = unpacker.unpack()
                    if key == "r":
                        before = unpacker.tell()
                        unpacker.skip()
                        span = unpacker.tell() - before
                    elif key in FRAME_KEYS:
                        fields[key] = unpacker.unpack()
                    else:
                        raise ValueError("unknown field")
            except msgpack.OutOfData:
                self.report.torn_bytes = max(0, self.size - offset)
                return
            except Exception as exc:  # msgpack raises several types on damaged input
                self.report.corrupt = f"corrupt frame at byte {offset} ({type(exc).__name__})"
                return
            n, d = fields.get("n"), fields.get("d", 0)
            if not _count(n) or not _count(d) or not _fits(n, size, span):
                self.report.corrupt = f"corrupt frame at byte {offset}"
                return
            previous = _clamped(fields.get("t"), previous)
            self.report.frames += 1
            self.end = self.data_offset + unpacker.tell()
            yield FrameInfo(previous, offset, n, d)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> RecordingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RecordingStream:
    """A recording arriving as a stream (``lmp record -o -`` on a pipe, or over ssh): its
    header first, then frames as they come. ``feed`` takes bytes as they are read and returns
    the batches they complete; what the stream is cut in the middle of is said by
    ``report`` (``torn_bytes``) once ``end`` is called. The stream is as untrusted as a file:
    the same bounds, the same checks of each frame."""

    def __init__(self, source: str) -> None:
        self.source = _clean(source, 4096)
        self.header: RecordingHeader | None = None
        self.report = ReadReport()
        self._unpacker = _unpacker(None, header=True)
        self._held = bytearray()  # what came before the header was whole
        self._fed = 0  # bytes given to the frame unpacker
        self._previous = 0.0

    def feed(self, data: bytes) -> list[Batch]:
        """The batches ``data`` completes; raises ``RecordingError`` when the stream is not a
        recording. A frame that is not one ends the stream there (``report.corrupt``): the
        batches before it are returned, nothing after it is read."""
        if self.report.corrupt:
            return []
        if self.header is None:
            self._held += data
            self._unpacker.feed(data)
            try:
                first = self._unpacker.unpack()
            except msgpack.OutOfData:
                if len(self._held) > MAX_HEADER:
                    raise RecordingError(f"{self.source}: not an lmp recording") from None
                return []
            except Exception:  # msgpack raises several types on damaged input
                raise RecordingError(f"{self.source}: not an lmp recording") from None
            self.header = RecordingHeader.from_dict(first, self.source)
            self._previous = self.header.start
            data = bytes(self._held[self._unpacker.tell() :])
            self._held = bytearray()
            self._unpacker = _unpacker(None)
        self._unpacker.feed(data)
        self._fed += len(data)
        size = self.header.record_size
        snapshots = self.header.spec.kind == "sample"
        out: list[Batch] = []
        while True:
            offset = self._unpacker.tell()
            try:
                obj = self._unpacker.unpack()
            except msgpack.OutOfData:
                return out
            except Exception as exc:  # msgpack raises several types on damaged input
                self.report.corrupt = (
                    f"corrupt frame {self.report.frames + 1} ({type(exc).__name__})"
                )
                return out
            batch = _frame_batch(obj, size, snapshots, self._previous)
            if batch is None:
                self.report.corrupt = f"corrupt frame {self.report.frames + 1} (at byte {offset})"
                return out
            self._previous = batch.time
            self.report.frames += 1
            out.append(batch)

    def end(self) -> None:
        """The stream closed: note the bytes of a frame it was cut in the middle of; raises
        ``RecordingError`` when it ended before its header was whole."""
        if self.header is None:
            what = "empty" if not self._held else "cut before its header was whole"
            raise RecordingError(f"{self.source}: not an lmp recording ({what})")
        self.report.torn_bytes = self._fed - self._unpacker.tell()


MAX_HEADER = 4 << 20
"""Bytes a header may take (a real one takes a few KB: names, layouts, parameters)."""
FRAME_KEYS = ("t", "n", "d", "r", "s", "x")
_FRAME_KEY_SET = frozenset(FRAME_KEYS)
COUNT_LIMIT = 1 << 62
"""Above this a count (events, drops) is not one."""


def _unpacker(file: BinaryIO | None, *, header: bool = False) -> msgpack.Unpacker:
    """An unpacker whose every length is bounded before its data is read: ``max_buffer_size``
    the bytes of one object, the other limits what a declared length may make it allocate up
    front (an array or a map is allocated at its declared length). Frames hold only a small
    map of numbers and one bin; a header, names and layouts. No ``file``: bytes are fed."""
    if header:
        limits = {"max_array_len": 1 << 14, "max_map_len": 1 << 12, "max_ext_len": 0}
        return msgpack.Unpacker(
            file, raw=False, max_buffer_size=MAX_HEADER, strict_map_key=False, **limits
        )
    return msgpack.Unpacker(
        file,
        raw=False,
        max_buffer_size=MAX_FRAME,
        strict_map_key=False,
        max_array_len=0,
        max_map_len=len(FRAME_KEYS),
        max_str_len=8,
        max_ext_len=0,
    )


def _finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _count(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < COUNT_LIMIT


def _fits(n: int, record_size: int, span: int) -> bool:
    """``n`` records fit the bin that took ``span`` bytes (its header included)."""
    if record_size == 0:
        return n == 0 and span in (-1, 2, 3, 5)
    return span - n * record_size in (2, 3, 5)


def _clamped(t: Any, previous: float) -> float:
    """A frame's time, "monotonic enough": clocks step, so a time before the previous frame's
    (or the recording's start), or one that is not a time at all (NaN, infinite, out of
    range, not a number), is taken as the previous frame's rather than refused."""
    if not _finite_number(t) or t <= previous or t > TIME_LIMIT:
        return previous
    return float(t)


def _frame_batch(obj: Any, record_size: int, snapshots: bool, previous: float) -> Batch | None:
    """The batch frame ``obj`` holds, at its clamped time; None if it is not a frame."""
    if not isinstance(obj, dict) or not obj.keys() <= _FRAME_KEY_SET:
        return None
    n, r, d, x = obj.get("n"), obj.get("r"), obj.get("d", 0), obj.get("x", 0)
    snapshot = obj.get("s", False)
    if not _count(n) or not _count(d) or not _count(x) or not isinstance(snapshot, bool):
        return None
    if not isinstance(r, bytes) or len(r) != n * record_size or (record_size == 0 and n):
        return None
    if snapshot and not snapshots:
        return None
    when = _clamped(obj.get("t"), previous)
    return Batch(when, r, n, record_size, d, snapshot=snapshot, shed=x)


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
