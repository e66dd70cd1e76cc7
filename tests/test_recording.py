"""Recordings: live round trip, crash safety, damaged files (issue: record and replay)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import msgpack
import pytest
from conftest import LMP, ROOT, lmp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lmp_tui.runtime.distribution.hub import find_builtin
from lmp_tui.runtime.errors import RecordingError
from lmp_tui.runtime.runs.session import LiveSession
from lmp_tui.runtime.stream.batch import Batch
from lmp_tui.runtime.stream.decode import Decoded
from lmp_tui.runtime.stream.output import BatchPrinter
from lmp_tui.runtime.stream.recording import (
    Recorder,
    RecordingHeader,
    RecordingReader,
    header_for,
)


def live_and_recorded(program: str, values: dict, trigger, tmp_path: Path, seconds: float = 1.5):
    """Run ``program`` live, recording; return (live lines, replayed lines)."""
    path = tmp_path / f"{program}.lmprec"
    live: list[str] = []
    with LiveSession(find_builtin(program).package, values) as s:
        rec = Recorder(path, header_for(s))
        printer = BatchPrinter(s.spec, json_mode=True)
        trigger()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            batch = s.source.snapshot() if s.spec.kind == "sample" else s.source.drain()
            if batch is not None:
                rec.write(batch)
                live += printer.text(Decoded(batch, s.decoders)).splitlines()
            time.sleep(0.05 if s.spec.kind != "sample" else 0.5)
        rec.close()
    with RecordingReader(path) as reader:
        header = reader.header
        again, decoders = BatchPrinter(header.spec, json_mode=True), header.decoders()
        replayed = [
            ln
            for f in reader.frames()
            for ln in again.text(Decoded(f.batch, decoders)).splitlines()
        ]
        assert not reader.report.problem(str(path))
    return live, replayed


@pytest.mark.usefixtures("no_leaks")
@pytest.mark.parametrize("program", ["sigsnoop", "procstat", "runqlat"])
def test_live_round_trip(program, tmp_path):
    child = subprocess.Popen(["sleep", "30"])
    try:
        live, replayed = live_and_recorded(
            program, {}, lambda: os.kill(child.pid, signal.SIGUSR1), tmp_path
        )
    finally:
        child.kill()
        child.wait()
    assert live, "nothing was recorded"
    assert replayed == live


def test_cli_replay_prints_what_run_printed(tmp_path):
    path = tmp_path / "s.lmprec"
    child = subprocess.Popen(["sleep", "30"])
    proc = subprocess.Popen(
        [*LMP, "run", "sigsnoop", "--record", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert "waiting for events" in proc.stderr.readline()
    os.kill(child.pid, signal.SIGUSR1)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    child.kill()
    child.wait()
    assert f" {child.pid} " in out
    assert "recorded" in err
    replay = lmp("replay", str(path), "--max-speed")
    assert replay.returncode == 0, replay.stderr
    assert replay.stdout == out


def test_sigkill_mid_recording_keeps_flushed_frames(tmp_path):
    path = tmp_path / "killed.lmprec"
    proc = subprocess.Popen(
        [*LMP, "record", "sigsnoop", "-o", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert "waiting for events" in proc.stderr.readline()
    child = subprocess.Popen(["sleep", "30"])
    for _ in range(20):
        os.kill(child.pid, signal.SIGUSR1)
        time.sleep(0.05)
    time.sleep(0.6)  # frames are flushed as written; give the last one time to land
    proc.kill()
    proc.wait()
    child.kill()
    child.wait()
    with RecordingReader(path) as reader:
        rows = [f for f in reader.frames()]
        assert not reader.report.corrupt
    events = sum(f.batch.count for f in rows)
    assert events >= 20  # every signal we sent before the kill is on disk
    # Tear the tail: replay keeps every complete frame and says so in one line.
    data = path.read_bytes()
    (tmp_path / "torn.lmprec").write_bytes(data[:-3])
    res = lmp("replay", str(tmp_path / "torn.lmprec"), "--max-speed")
    assert res.returncode == 0
    [line] = res.stderr.strip().splitlines()
    assert "torn frame" in line and "Traceback" not in res.stderr


def synthetic_recording(path: Path, frames: int = 30) -> bytes:
    pkg = find_builtin("sigsnoop").package
    rec = Recorder(path, RecordingHeader(program="sigsnoop", spec=pkg.export()))
    for i in range(frames):
        n = i % 4
        rec.write(Batch(1000.0 + i, bytes(range(32)) * n, n, 32, drops=i % 2))
    rec.close()
    return path.read_bytes()


def read_all(path: Path) -> tuple[int, str]:
    try:
        with RecordingReader(path) as reader:
            frames = list(reader.frames())
            return len(frames), reader.report.problem(str(path))
    except RecordingError as exc:
        return -1, str(exc)


def test_every_cut_replays_every_complete_frame(tmp_path):
    data = synthetic_recording(tmp_path / "full.lmprec")
    with RecordingReader(tmp_path / "full.lmprec") as reader:
        ends = [f.offset for f in reader.frames()][1:] + [len(data)]
        first = reader.data_offset
    cut_path = tmp_path / "cut.lmprec"
    for cut in range(len(data) + 1):
        cut_path.write_bytes(data[:cut])
        n, problem = read_all(cut_path)
        if cut < first:
            assert n == -1 and "not an lmp recording" in problem
        else:
            assert n == sum(1 for e in ends if e <= cut)
            assert bool(problem) == (cut not in ends and cut != first)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_random_corruption_never_raises(tmp_path, data):
    raw = bytearray(synthetic_recording(tmp_path / "base.lmprec", frames=8))
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] = data.draw(st.integers(0, 255))
    path = tmp_path / "bad.lmprec"
    path.write_bytes(bytes(raw))
    t0 = time.monotonic()
    n, _ = read_all(path)
    assert n <= 8 and time.monotonic() - t0 < 2


def test_newer_version_and_non_recordings_are_one_line(tmp_path):
    newer = tmp_path / "newer.lmprec"
    newer.write_bytes(msgpack.packb({"format": "lmprec", "version": 99, "program": "x"}))
    res = lmp("replay", str(newer))
    assert res.returncode == 1
    assert res.stderr.strip() == (
        f"lmp: {newer}: recording format version 99 is newer than this lmp understands (1); "
        "upgrade lmp-tui"
    )
    for content in (b"", b"hello world", (ROOT / "README.md").read_bytes()):
        other = tmp_path / "other.lmprec"
        other.write_bytes(content)
        res = lmp("replay", str(other))
        assert res.returncode == 1 and len(res.stderr.strip().splitlines()) == 1
        assert "not an lmp recording" in res.stderr and "Traceback" not in res.stderr
    res = lmp("replay", str(tmp_path / "missing.lmprec"))
    assert res.returncode == 1 and "cannot read" in res.stderr


def test_shipped_demos_replay_cleanly():
    from lmp_tui.runtime.stream.recording import demo_recordings

    demos = {p.stem: p for p in demo_recordings()}
    assert {"sigsnoop", "procstat", "runqlat"} <= set(demos)
    for path in demos.values():
        with RecordingReader(path) as reader:
            assert sum(f.batch.count for f in reader.frames()) > 0
            assert not reader.report.problem(str(path))
