"""Untrusted recordings (issue 11, items 7 and 9): whatever a ``.lmprec`` holds, ``lmp replay``
prints its events and/or one line and exits, and the TUI shows it or says one line, and keeps
running with its live programs.

The damaged files are in ``tests/data/untrusted/recording`` (``make.py`` there makes them).
"""

from __future__ import annotations

import asyncio
import math
import os
import time
import tracemalloc
from pathlib import Path

import msgpack
import pytest
from conftest import lmp
from test_tui_pilot import start, wait_for
from test_tui_replay import SIZE, make_app, opened, program_view

from lmp_tui.runtime.distribution.hub import find_builtin
from lmp_tui.runtime.errors import RecordingError
from lmp_tui.runtime.runs.replay import ReplaySession
from lmp_tui.runtime.stream.batch import Batch
from lmp_tui.runtime.stream.recording import Recorder, RecordingHeader, RecordingReader
from lmp_tui.runtime.stream.store import EventStore, SnapshotStore
from lmp_tui.tui.replay import Openable, clock
from lmp_tui.widgets.timeline import ReplayTimeline

DATA = Path(__file__).resolve().parent / "data" / "untrusted" / "recording"
START = 1_700_000_000.0

# file: (exit status, event lines printed, what the one stderr line says or "" for none)
EXPECTED = {
    "clock_stepped.lmprec": (0, 8, ""),
    "nan_start.lmprec": (1, 0, "start time nan is not a wall-clock time"),
    "inf_start.lmprec": (1, 0, "start time inf is not a wall-clock time"),
    "nan_frame_time.lmprec": (0, 12, ""),
    "type_confused_header.lmprec": (1, 0, "corrupt recording header (program is int"),
    "type_confused_start.lmprec": (1, 0, "start time 'yesterday' is not a wall-clock time"),
    "type_confused_frame.lmprec": (1, 2, "corrupt frame at byte"),
    "huge_declared_bin.lmprec": (0, 2, "torn frame"),
    "huge_declared_array.lmprec": (1, 0, "not an lmp recording"),
    "truncated.lmprec": (0, 4, "torn frame"),
}


def test_every_regression_file_is_checked() -> None:
    assert {p.name for p in DATA.glob("*.lmprec")} == set(EXPECTED)


# -- lmp replay ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_item9_lmp_replay_of_a_damaged_recording_is_events_and_one_line(name: str) -> None:
    status, lines, says = EXPECTED[name]
    res = lmp("replay", str(DATA / name), "--max-speed", timeout=20)
    assert "Traceback" not in res.stderr
    assert res.returncode == status, res.stderr
    events = res.stdout.splitlines()[1:]  # the table's header first
    assert len(events) == lines, res.stdout
    if says:
        [line] = res.stderr.strip().splitlines()
        assert line.startswith(f"lmp: {DATA / name}: ") and says in line
    else:
        assert res.stderr == ""


def test_item7_lmp_replay_of_a_clock_stepped_recording_keeps_time_moving_forward() -> None:
    began = time.monotonic()
    res = lmp("replay", str(DATA / "clock_stepped.lmprec"), "--json", timeout=20)
    assert res.returncode == 0 and res.stderr == "" and time.monotonic() - began < 10
    # the frame stamped 30 years back is shown at the time of the frame before it, and at
    # speed 1 the replay takes the 2.5 s the recording covers, not 30 years
    assert res.stdout.count("\n") == 8


def test_item7_lmp_replay_of_a_nan_start_is_one_line() -> None:
    res = lmp("replay", str(DATA / "nan_start.lmprec"), timeout=20)
    assert res.returncode == 1 and res.stdout == "" and "Traceback" not in res.stderr
    assert res.stderr == (
        f"lmp: {DATA / 'nan_start.lmprec'}: corrupt recording header "
        "(start time nan is not a wall-clock time)\n"
    )


# -- the reader ----------------------------------------------------------------------------------


def frames_and_index(path: Path) -> tuple[list[float], list[float]]:
    with RecordingReader(path) as reader:
        played = [f.batch.time for f in reader.frames()]
        scanned = [f.time for f in reader.scan()]
    return played, scanned


def test_item7_times_are_clamped_never_rejected() -> None:
    played, scanned = frames_and_index(DATA / "clock_stepped.lmprec")
    assert played == scanned == [START + 0.5, START + 1.5, START + 1.5, START + 2.5]
    played, scanned = frames_and_index(DATA / "nan_frame_time.lmprec")
    assert played == scanned == [START + 0.5] * 5 + [START + 1.5]


def test_item7_a_first_frame_before_the_start_is_at_the_start(tmp_path: Path) -> None:
    spec = find_builtin("sigsnoop").package.export()
    path = tmp_path / "early.lmprec"
    recorder = Recorder(path, RecordingHeader("sigsnoop", spec, start=START))
    for t in (START - 100, START - 50, START + 1, START + 0.5):
        recorder.write(Batch(t, bytes(spec.record_size), 1, spec.record_size))
    recorder.close()
    assert frames_and_index(path)[0] == [START, START, START + 1, START + 1]


def test_item7_seeking_past_a_step_back_reads_on_from_the_clamped_time() -> None:
    session = ReplaySession(DATA / "clock_stepped.lmprec", speed=None)
    try:
        source = session.source
        assert source.duration == 2.5
        source.seek(1.5)  # the first frame at 1.5 s: the second; the stepped one follows
        batches, events, drops = source.history(START, events=0)
        assert [b.time for b in batches] == [START + 0.5] and events == 0

        async def rest() -> list[float]:
            return [b.time async for b in source]

        assert asyncio.run(rest()) == [START + 1.5, START + 1.5, START + 2.5]
        assert source.position == 2.5 and source.finished
    finally:
        session.close()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_item9_the_reader_raises_only_recording_errors(name: str) -> None:
    status, lines, _ = EXPECTED[name]
    t0 = time.monotonic()
    try:
        session = ReplaySession(DATA / name, speed=None)
    except RecordingError as exc:
        assert status == 1 and lines == 0 and "\n" not in str(exc)
        return
    try:
        session.index()
        assert sum(f.batch.count for f in session.source.reader.frames()) == lines
    finally:
        session.close()
    assert time.monotonic() - t0 < 2


def test_item9_a_fifo_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.lmprec"
    os.mkfifo(fifo)
    t0 = time.monotonic()
    with pytest.raises(RecordingError, match="not a regular file"):
        RecordingReader(fifo)
    assert time.monotonic() - t0 < 1
    with pytest.raises(RecordingError, match="cannot read"):
        RecordingReader(tmp_path)


def test_item9_header_text_cannot_reach_the_terminal(tmp_path: Path) -> None:
    spec = find_builtin("sigsnoop").package.export()
    header = RecordingHeader(
        "sig\x1b]0;pwned\x07snoop\n", spec, params={"x\x1b[2J": "v\r\n"}, host="h" * 10_000
    )
    path = tmp_path / "escape.lmprec"
    Recorder(path, header).close()
    with RecordingReader(path) as reader:
        read = reader.header
    assert read.program == "sig\\x1b]0;pwned\\x07snoop\\n"
    assert read.params == {"x\\x1b[2J": "v\\r\\n"}
    assert len(read.host) == 256 and read.host.isprintable()


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("version", True, "no valid format version"),
        ("start", None, "start time None"),
        ("start", 1e300, "start time 1e+300"),
        ("params", {"a": [1, 2]}, "parameter 'a' is not a name with a plain value"),
        ("params", "x=1", "params is str"),
        ("export", "kprobe", "unknown export kind 'kprobe'"),
        ("layout", {"name": "e", "size": 1 << 30, "fields": []}, "records of 1073741824 bytes"),
        ("layout", {"name": "e", "size": 0, "fields": []}, "records of 0 bytes"),
        ("layout", [1, 2, 3], "corrupt recording header"),
        ("host", b"\xff", "host is bytes, not text"),
    ],
)
def test_item9_a_wrong_header_field_is_one_line(
    tmp_path: Path, field: str, value: object, says: str
) -> None:
    unpacker = msgpack.Unpacker(raw=False)
    unpacker.feed((DATA / "clock_stepped.lmprec").read_bytes())
    header, *frames = unpacker
    path = tmp_path / "bad.lmprec"
    path.write_bytes(
        b"".join(msgpack.packb(o, use_bin_type=True) for o in [{**header, field: value}, *frames])
    )
    with pytest.raises(RecordingError) as caught:
        RecordingReader(path)
    message = str(caught.value)
    assert says in message and "\n" not in message and len(message) < 400


def test_item9_every_cut_of_a_damaged_recording_still_reads(tmp_path: Path) -> None:
    data = (DATA / "clock_stepped.lmprec").read_bytes()
    path = tmp_path / "cut.lmprec"
    complete = []
    for cut in range(len(data) + 1):
        path.write_bytes(data[:cut])
        try:
            with RecordingReader(path) as reader:
                complete.append(len(list(reader.frames())))
        except RecordingError:
            complete.append(-1)
    assert complete[-1] == 4 and complete == sorted(complete)


def test_item9_a_file_name_cannot_reach_the_terminal(tmp_path: Path) -> None:
    path = tmp_path / "a\x1b]0;x\x07\nb.lmprec"
    path.write_bytes(b"not a recording")
    with pytest.raises(RecordingError) as caught:
        RecordingReader(path)
    assert str(caught.value) == f"{tmp_path}/a\\x1b]0;x\\x07\\nb.lmprec: not an lmp recording"
    assert Openable(path, "here").label.startswith("a\\x1b]0;x\\x07\\nb.lmprec ")


def test_item9_the_index_of_many_tiny_frames_is_compact(tmp_path: Path) -> None:
    """A recording of empty frames costs its index 32 bytes a frame, not a Python object."""
    frames = 50_000
    data = (DATA / "clock_stepped.lmprec").read_bytes()
    unpacker = msgpack.Unpacker(raw=False)
    unpacker.feed(data)
    unpacker.skip()
    empty = msgpack.packb({"t": START + 1, "n": 0, "d": 0, "r": b""}, use_bin_type=True)
    path = tmp_path / "tiny.lmprec"
    path.write_bytes(data[: unpacker.tell()] + empty * frames)
    session = ReplaySession(path, speed=None)
    try:
        tracemalloc.start()
        session.index()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert len(session.source.index()) == frames and not session.problem
        assert peak < (2 << 20) + frames * 48  # a FrameInfo list took over 120 bytes a frame
    finally:
        session.close()


# -- the stores and the timeline ------------------------------------------------------------------


def test_item7_stores_clamp_times_that_are_not_times() -> None:
    package = find_builtin("sigsnoop").package
    spec = package.export()
    assert spec.layout is not None
    store = EventStore(spec.layout, 10)
    rows = store.rows[:1].copy()
    for t in (START, math.nan, math.inf, -math.inf, 1e300, START - 1e9, START + 1):
        store.append(rows, t)
    assert store.total == 7 and store.last_time == START + 1
    assert all(math.isfinite(t) for t in store.times)
    sample = find_builtin("runqlat").package.export()
    assert sample.key is not None and sample.value is not None
    snapshots = SnapshotStore(sample.key, sample.value)
    empty_keys, empty_values = snapshots_rows(snapshots)
    for t in (math.nan, START, math.inf):
        snapshots.update(empty_keys, empty_values, t)
    assert snapshots.last_time == START and snapshots.snapshots == 3


def snapshots_rows(store: SnapshotStore) -> tuple[object, object]:
    import numpy as np

    from lmp_tui.runtime.stream.decode import numpy_dtype

    key = numpy_dtype(store.key_layout.fields, store.key_layout.size)
    value = numpy_dtype(store.value_layout.fields, store.value_layout.size)
    return np.zeros(0, key), np.zeros(0, value)


class FakeReplay:
    """What the timeline reads of a replay, with any numbers at all."""

    def __init__(self, position: float, duration: float) -> None:
        self.position, self.duration = position, duration
        self.closed = self.paused = self.finished = False
        self.speed = 1.0


@pytest.mark.parametrize(
    ("position", "duration"),
    [
        (-1e9, 2.5),
        (math.nan, 2.5),
        (2.5, math.nan),
        (math.inf, math.inf),
        (-math.inf, 1e300),
        (1e300, 1.0),
        (1.0, -5.0),
    ],
)
def test_item7_the_timeline_is_as_wide_as_its_widget_whatever_the_times(
    position: float, duration: float
) -> None:
    timeline = ReplayTimeline(FakeReplay(position, duration))  # type: ignore[arg-type]
    text = timeline.render().plain
    assert len(text) < 200  # unmounted: a one-cell bar, the times, the marks


@pytest.mark.parametrize("seconds", [-1e9, math.nan, math.inf, 1e300, 0.0, 65.25])
def test_item7_clock_is_short_whatever_it_is_given(seconds: float) -> None:
    assert len(clock(seconds)) <= 14


# -- the TUI -------------------------------------------------------------------------------------


async def test_item7_a_clock_stepped_recording_replays_in_the_tui() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        live = await start(pilot, "sigsnoop")
        app.open_recording(DATA / "clock_stepped.lmprec", paused=True)
        run = await opened(app, 2)
        replay, view = run.replay, program_view(app, run)
        assert replay is not None and replay.duration == 2.5
        timeline = view.timeline
        assert timeline is not None
        replay.speed = None
        await pilot.press("P")  # play it all
        await wait_for(lambda: replay.finished and run.store is not None and run.store.total == 8)
        await pilot.pause(0.1)
        text = timeline.render().plain
        assert len(text) <= SIZE[0] and "0:02.5 / 0:02.5" in text
        assert run.state == "running" and live.state == "running"
        began = time.monotonic()
        await pilot.press("q")
        await pilot.pause()
    assert time.monotonic() - began < 3
    assert live.session.closed


@pytest.mark.parametrize("name", ["nan_start.lmprec", "type_confused_header.lmprec"])
async def test_item7_a_nan_recording_in_the_tui_is_one_line(name: str) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        live = await start(pilot, "sigsnoop")
        views = set(app.views)
        app.open_recording(DATA / name)
        await wait_for(lambda: any(n.severity == "error" for n in app._notifications))
        [note] = [n for n in app._notifications if n.severity == "error"]
        assert note.message.startswith(f"{DATA / name}: corrupt recording header (")
        assert "\n" not in note.message
        await pilot.pause(0.2)
        assert set(app.views) == views and live.state == "running"
        assert app.is_running and app.current == live.number
        began = time.monotonic()
        await pilot.press("q")
        await pilot.pause()
    assert time.monotonic() - began < 3
    assert live.session.closed
