"""Replay streams: a recording of 3 million events starts printing at once, in bounded memory,
and the TUI seeks in it; a recording's frames are read as they are played, never all at once."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import LMP, ROOT
from test_tui_replay import make_app, opened

from lmp_tui.runtime.distribution.hub import find_builtin
from lmp_tui.runtime.stream.batch import Batch
from lmp_tui.runtime.stream.decode import Decoder
from lmp_tui.runtime.stream.recording import Recorder, RecordingHeader

START = 1_700_000_000.0
FRAMES, PER_FRAME, STEP = 1000, 3000, 0.06  # 3,000,000 events over 60 s


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = find_builtin("sigsnoop").package.export()
    decoder = Decoder(spec.layout)
    path = tmp_path_factory.mktemp("big") / "big.lmprec"
    recorder = Recorder(path, RecordingHeader("sigsnoop", spec, start=START), max_bytes=1 << 40)
    rows = np.zeros(PER_FRAME, decoder.dtype)
    rows["sig"], rows["comm"] = 10, b"big"
    for i in range(FRAMES):
        rows["pid"] = i  # the frame's number: a row says where it came from
        recorder.write(Batch(START + i * STEP, rows.tobytes(), PER_FRAME, spec.record_size))
    recorder.close()
    return path


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_lmp_replay_of_3m_events_prints_at_once_in_bounded_memory(big: Path) -> None:
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [*LMP, "replay", str(big), "--max-speed"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    header, first = proc.stdout.readline(), proc.stdout.readline()
    first_line_s = time.monotonic() - t0
    peak = 0.0
    lines = 2
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.is_set():
            try:
                peak = max(peak, peak_rss_mb(proc.pid))
            except OSError:
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    for _ in proc.stdout:
        lines += 1
    proc.wait(60)
    done.set()
    watcher.join()
    assert header.startswith(b"TIME") and b" big" in first
    assert first_line_s < 1.0, f"first line after {first_line_s:.2f} s"
    assert lines == 2 + FRAMES * PER_FRAME - 1
    assert 0 < peak < 150, f"peak RSS {peak:.0f} MB"
    assert proc.returncode == 0


async def test_the_tui_seeks_in_a_recording_of_3m_events(big: Path) -> None:
    app = make_app(replays=[big])
    async with app.run_test() as pilot:
        run = await opened(app)
        replay = run.replay
        assert replay is not None and replay.duration == pytest.approx((FRAMES - 1) * STEP)
        await pilot.press("P", "b", *"......")  # pause, back to the start, 6 x 5 s forward
        await pilot.pause()
        assert replay.paused and replay.position == 30.0
        frames_before = int(30.0 / STEP + 0.5)  # frames stamped before 30 s from the start
        store = run.store
        assert store.total == frames_before * PER_FRAME
        assert len(store) == store.capacity  # the ring holds the newest events only
        newest = store.rows["pid"][(store.head - 1) % store.capacity]
        assert newest == frames_before - 1
        assert app.views[run.number].table.row_count == store.capacity
