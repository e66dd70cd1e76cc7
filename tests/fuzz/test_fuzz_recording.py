"""Fuzz the recording reader (issue 11, item 9): mutated real recordings and random bytes.

Every case is written to a file and read the way ``lmp replay`` and the TUI read one: the
header, every frame (decoded, into a store), the index, seeks and a view's rebuild, and the
paced playing at full speed. Under ``limits.bounded``: a ``RecordingError`` is an answer,
anything else (another exception, 2 s, 256 MB) fails the case.
"""

from __future__ import annotations

import asyncio
import math
import tempfile
from pathlib import Path
from typing import Any

import msgpack
from hypothesis import given
from hypothesis import strategies as st
from limits import bounded

from lmp_tui.runtime.distribution.hub import find_builtin
from lmp_tui.runtime.errors import RecordingError
from lmp_tui.runtime.runs.scripted import event_batch, snapshot_batch, snapshot_decoder
from lmp_tui.runtime.stream.decode import Decoded, Decoder
from lmp_tui.runtime.stream.recording import Recorder, RecordingHeader, RecordingReader
from lmp_tui.runtime.stream.replay import ReplaySource
from lmp_tui.runtime.stream.store import StoreConfig, StoreSink, make_store

START = 1_700_000_000.0
WORK = Path(tempfile.mkdtemp(prefix="lmp-fuzz-recording-"))


def _events_recording() -> bytes:
    spec = find_builtin("sigsnoop").package.export()
    assert spec.layout is not None
    decoder = Decoder(spec.layout)
    path = WORK / "events.lmprec"
    recorder = Recorder(path, RecordingHeader("sigsnoop", spec, start=START))
    for i in range(6):
        rows = [{"pid": i, "tpid": j, "sig": 10 + j, "comm": f"c{i}"} for j in range(i % 3)]
        recorder.write(event_batch(decoder, rows, START + i * 0.5, drops=i % 2))
    recorder.close()
    return path.read_bytes()


def _sample_recording() -> bytes:
    package = find_builtin("runqlat").package
    spec = package.export()
    decoder = snapshot_decoder(package)
    path = WORK / "sample.lmprec"
    recorder = Recorder(path, RecordingHeader("runqlat", spec, start=START))
    for i in range(4):
        batch = snapshot_batch(decoder, [({}, {})] * (i % 3), START + i)
        recorder.write(batch)
    recorder.close()
    return path.read_bytes()


SEEDS = [_events_recording(), _sample_recording()]


def replay_everything(data: bytes) -> int:
    """Read ``data`` as a recording every way the front ends do; the events it held."""
    path = WORK / "case.lmprec"
    path.write_bytes(data)
    events = 0
    with RecordingReader(path) as reader:
        header = reader.header
        decoders = header.decoders()
        store = make_store(header.spec, StoreConfig())
        sink = StoreSink(store, header.spec, 1 << 20) if store is not None else None
        previous = header.start
        for frame in reader.frames():
            batch = frame.batch
            assert math.isfinite(batch.time) and batch.time >= previous
            previous = batch.time
            item = Decoded(batch, decoders)
            if sink is not None:
                sink.apply([item])
            events += batch.count
        reader.report.problem(reader.source)
        source = ReplaySource(reader, speed=None)
        index = source.index()
        assert len(index) == reader.report.frames
        duration = source.duration
        assert math.isfinite(duration) and duration >= 0
        for at in (0.0, duration / 2, duration, duration + 5, -1.0, math.nan):
            source.seek(at)
            source.history(header.start + at - 10, events=100)
            source.history(header.start, frames=1)
        source.seek(0.0)

        async def play() -> int:
            n = 0
            async for batch in source:
                n += batch.count
            return n

        asyncio.run(play())
    return events


def replay(data: bytes) -> None:
    result = bounded(replay_everything, data)
    if isinstance(result, BaseException):
        assert isinstance(result, RecordingError), repr(result)


# -- mutations of real recordings -----------------------------------------------------------------


@given(st.sampled_from(SEEDS), st.data())
def test_flipped_bytes(seed: bytes, data: st.DataObject) -> None:
    raw = bytearray(seed)
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] = data.draw(st.integers(0, 255))
    replay(bytes(raw))


@given(st.sampled_from(SEEDS), st.data())
def test_truncated_anywhere(seed: bytes, data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(seed)))
    extra = data.draw(st.binary(max_size=16))
    replay(seed[:cut] + extra)


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.binary(max_size=40),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a msgpack value (a map's values, a list's items), itself included."""
    found = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            found += _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _paths(v, (*path, i))
    return found


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replace(copy[head], rest, new)
    return copy


def _objects(seed: bytes) -> list[Any]:
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
    unpacker.feed(seed)
    return list(unpacker)


@given(st.sampled_from(SEEDS), st.data())
def test_values_of_other_types(seed: bytes, data: st.DataObject) -> None:
    """A header field or a frame field (any depth: a layout's field, a parameter) replaced
    with a value of another type, or dropped, or a frame field added."""
    objects = _objects(seed)
    for _ in range(data.draw(st.integers(1, 3))):
        which = data.draw(st.integers(0, len(objects) - 1))
        path = data.draw(st.sampled_from(_paths(objects[which])))
        action = data.draw(st.sampled_from(["replace", "drop", "add"]))
        target = objects[which]
        if action == "drop" and path:
            parent = _get(target, path[:-1])
            if isinstance(parent, dict):
                smaller = {k: v for k, v in parent.items() if k != path[-1]}
                objects[which] = _replace(target, path[:-1], smaller)
            continue
        if action == "add":
            parent = _get(target, path)
            if isinstance(parent, dict):
                key = data.draw(st.sampled_from(["t", "n", "d", "r", "s", "x", "start", "zz"]))
                bigger = {**parent, key: data.draw(VALUES)}
                objects[which] = _replace(target, path, bigger)
                continue
        objects[which] = _replace(target, path, data.draw(VALUES))
    replay(b"".join(msgpack.packb(o, use_bin_type=True) for o in objects))


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


@given(st.sampled_from(SEEDS), st.data())
def test_huge_declared_sizes(seed: bytes, data: st.DataObject) -> None:
    """A length prefix (array, map, str, bin) declaring up to 4 G items, spliced in anywhere."""
    at = data.draw(st.integers(0, len(seed)))
    tag = data.draw(st.sampled_from([b"\xdd", b"\xdf", b"\xdb", b"\xc6", b"\xdc", b"\xde"]))
    width = 4 if tag in (b"\xdd", b"\xdf", b"\xdb", b"\xc6") else 2
    size = data.draw(st.integers(0, 2 ** (8 * width) - 1)).to_bytes(width, "big")
    tail = data.draw(st.sampled_from([b"", seed[at:], bytes(64)]))
    replay(seed[:at] + tag + size + tail)


# -- random bytes ---------------------------------------------------------------------------------


@given(st.binary(max_size=2048))
def test_random_bytes(raw: bytes) -> None:
    replay(raw)


@given(st.sampled_from(SEEDS), st.binary(max_size=2048))
def test_random_bytes_after_a_real_header(seed: bytes, raw: bytes) -> None:
    unpacker = msgpack.Unpacker(raw=False)
    unpacker.feed(seed)
    unpacker.skip()
    replay(seed[: unpacker.tell()] + raw)
