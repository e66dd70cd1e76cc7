"""Recordings as streams: ``lmp record PROGRAM -o -`` writes each frame as it is made,
``lmp replay -`` prints them as they come, a stream cut anywhere ends cleanly, and the writer
stops (detaching everything) when its reader goes away. Kernel tests run as root, never
skipped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmp_tui.runtime.errors import RecordingError
from lmp_tui.runtime.stream.recording import RecordingReader, RecordingStream, demo_recordings

ROOT = Path(__file__).resolve().parent.parent
LMP = [sys.executable, "-m", "lmp_tui.cli"]
DEMO = next(p for p in demo_recordings() if "sigsnoop" in p.name)


def file_frames(path: Path) -> list[tuple[float, bytes, int]]:
    with RecordingReader(path) as reader:
        return [(f.batch.time, bytes(f.batch.records), f.batch.count) for f in reader.frames()]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 4096), min_size=1, max_size=60))
def test_a_stream_read_in_any_pieces_gives_the_files_frames(cuts: list[int]) -> None:
    data = DEMO.read_bytes()
    stream = RecordingStream("test")
    got = []
    at = 0
    for size in cuts + [len(data)]:
        got += stream.feed(data[at : at + size])
        at += size
        if at >= len(data):
            break
    stream.end()
    assert [(b.time, bytes(b.records), b.count) for b in got] == file_frames(DEMO)
    assert stream.report.torn_bytes == 0


def test_a_stream_cut_mid_frame_keeps_the_frames_before_and_says_so() -> None:
    data = DEMO.read_bytes()
    stream = RecordingStream("test")
    got = stream.feed(data[: len(data) - 7])
    stream.end()
    assert len(got) == len(file_frames(DEMO)) - 1
    assert stream.report.torn_bytes > 0


@pytest.mark.parametrize(
    ("data", "said"),
    [(b"", "empty"), (b"\x85\xa6format", "cut before its header"), (b"hello world", "not an lmp")],
)
def test_what_is_not_a_recording_is_one_line(data: bytes, said: str) -> None:
    stream = RecordingStream("standard input")
    with pytest.raises(RecordingError, match=said):
        stream.feed(data)
        stream.end()


def test_a_corrupt_frame_ends_the_stream_after_the_frames_before_it() -> None:
    data = DEMO.read_bytes()
    with RecordingReader(DEMO) as reader:
        header_end = reader.data_offset
    with RecordingReader(DEMO) as reader:
        first_end = next(reader.frames()).end
    stream = RecordingStream("test")
    got = stream.feed(data[:first_end] + b"\xc1" * 16 + data[first_end:])
    assert [(b.time, bytes(b.records), b.count) for b in got] == file_frames(DEMO)[:1]
    assert "corrupt frame 2" in stream.report.problem("test")
    assert stream.feed(data[first_end:]) == []  # nothing after it is read
    assert header_end < first_end


def test_replay_dash_prints_a_piped_recording() -> None:
    expected = subprocess.run([*LMP, "replay", "--max-speed", str(DEMO)], capture_output=True,
                              text=True, cwd=ROOT, timeout=60)  # fmt: skip
    piped = subprocess.run([*LMP, "replay", "-"], input=DEMO.read_bytes(), capture_output=True,
                           cwd=ROOT, timeout=60)  # fmt: skip
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.decode() == expected.stdout and expected.stdout.count("\n") > 5


def test_replay_dash_of_a_file_on_stdin_replays_that_file() -> None:
    """``lmp replay - < FILE``: epoll cannot watch a file; it is replayed as the file is."""
    expected = subprocess.run([*LMP, "replay", "--max-speed", str(DEMO)], capture_output=True,
                              text=True, cwd=ROOT, timeout=60)  # fmt: skip
    with DEMO.open("rb") as stdin:
        given = subprocess.run([*LMP, "replay", "--max-speed", "-"], stdin=stdin,
                               capture_output=True, text=True, cwd=ROOT, timeout=60)  # fmt: skip
    assert given.returncode == 0, given.stderr
    assert given.stdout == expected.stdout


def test_a_stream_to_stdout_is_quiet_and_unlimited() -> None:
    """-o -: stdout is the recording's (no text lines in it), and a stream has no disk to
    fill, so no size limit ends it without a word."""
    from lmp_tui.cli.parser import parser
    from lmp_tui.cli.run import UNLIMITED, RunRequest

    for command in ("record", "run"):
        args = parser().parse_args([command, "sigsnoop", "-o", "-"])
        args.program_args = []  # what the CLI takes after --
        request = RunRequest.from_args(args)
        assert request.quiet and request.max_bytes == UNLIMITED


def test_replay_dash_of_a_torn_stream_is_one_line() -> None:
    data = DEMO.read_bytes()
    done = subprocess.run([*LMP, "replay", "-"], input=data[:-5], capture_output=True,
                          cwd=ROOT, timeout=60)  # fmt: skip
    err = done.stderr.decode()
    assert done.returncode == 1 and "Traceback" not in err, err
    assert err.strip().count("\n") == 0 and "cut in the middle of a frame" in err


@pytest.mark.kernel
@pytest.mark.usefixtures("no_leaks")
def test_each_event_crosses_the_pipe_within_a_moment() -> None:
    """``lmp record sigsnoop -o - | lmp replay -``: each signal printed soon after it is sent
    (the bound is generous; bench/stream.py measures it)."""
    pipeline = subprocess.Popen(
        f"{sys.executable} -m lmp_tui.cli record sigsnoop -o - -- --signal USR2 "
        f"| {sys.executable} -m lmp_tui.cli replay -",
        shell=True, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    assert pipeline.stdout is not None and pipeline.stderr is not None
    try:
        said = ""
        while "waiting for events" not in said:
            line = pipeline.stderr.readline()
            assert line, said
            said += line
        assert pipeline.stdout.readline().split()[0] == "TIME"  # the header line
        old = signal.signal(signal.SIGUSR2, signal.SIG_IGN)
        try:
            ages = []
            for _ in range(5):
                sent = time.monotonic()
                os.kill(os.getpid(), signal.SIGUSR2)
                line = pipeline.stdout.readline()
                ages.append(time.monotonic() - sent)
                assert "12" in line.split(), line  # SIGUSR2, from this process
                time.sleep(0.1)
        finally:
            signal.signal(signal.SIGUSR2, old)
        assert max(ages) < 1.0, ages
    finally:
        os.killpg(pipeline.pid, signal.SIGINT)
        _, err = pipeline.communicate(timeout=20)
    assert "Traceback" not in err and "detached" in err, err


@pytest.mark.kernel
@pytest.mark.usefixtures("no_leaks")
def test_the_writer_stops_when_its_reader_goes_away() -> None:
    """No event needs to be written for the writer to notice: it ends and detaches."""
    record = subprocess.Popen([*LMP, "record", "sigsnoop", "-o", "-"], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert record.stdout is not None and record.stderr is not None
    said = ""
    while "waiting for events" not in said:
        line = record.stderr.readline()
        assert line, said
        said += line
    record.stdout.close()  # the reader goes away
    record.wait(10)
    err = record.stderr.read()
    assert record.returncode == 128 + signal.SIGPIPE, err
    assert "the reader went away" in err and "detached" in err and "Traceback" not in err
