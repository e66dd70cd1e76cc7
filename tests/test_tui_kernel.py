"""The TUI on the real kernel: sigsnoop and procstat started with keys, events the test causes
show up in the views, and nothing stays attached afterwards. Root with BPF: these run, here and
in CI; they are not skipped."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from textual.pilot import Pilot

from lmp_tui.app import LmpApp
from lmp_tui.runtime.config import Config, TuiSettings
from lmp_tui.runtime.distribution import hub
from lmp_tui.runtime.runs.manager import SessionRun
from lmp_tui.runtime.stream.decode import Decoder
from lmp_tui.runtime.stream.query import Filter, Sort, parse_filter, select
from lmp_tui.runtime.stream.recording import RecordingReader
from lmp_tui.runtime.stream.store import EventStore
from lmp_tui.tui.screens import ParameterForm
from lmp_tui.widgets import EventTable

pytestmark = [pytest.mark.kernel, pytest.mark.usefixtures("no_leaks")]

PAGE = os.sysconf("SC_PAGE_SIZE")
ALLOCATION = 64 << 20
HOG = textwrap.dedent(
    """
    import sys, time
    # procstat reports a task when it is switched out: wake every 50 ms so it is seen before
    # the allocation too (one long sleep would be a single switch, maybe before we attached).
    for _ in range(30):
        time.sleep(0.05)
    b = bytearray(64 << 20)
    b[::4096] = b"\\x01" * len(b[::4096])  # touch every page
    print("allocated", flush=True)
    # procstat reports a task when it is switched out, at most every 100 ms per task: keep
    # switching so a report after the allocation is certain (one during it may be the last).
    for _ in range(300):
        time.sleep(0.2)
    """
)


async def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def start(pilot: Pilot, name: str) -> SessionRun:
    """Run ``name`` from the sidebar with its default parameters, as a user would."""
    app = pilot.app
    assert isinstance(app, LmpApp)
    before = set(app.runs)
    await pilot.press("0", "slash", *name, "enter", "enter")
    await pilot.pause()
    assert isinstance(app.screen, ParameterForm)
    await pilot.press("enter")
    await wait_for(lambda: set(app.runs) != before, 15, f"{name} to load and attach")
    run = app.runs[(set(app.runs) - before).pop()]
    assert run.state == "running" and run.name == name
    return run


def rows_where(store: EventStore, text: str) -> np.ndarray:
    return store.rows[select(store, Sort(), parse_filter(text, store.layout))]


async def test_sigsnoop_and_procstat_live_in_the_app(tmp_path: Path) -> None:
    programs = [hub.find_builtin("sigsnoop"), hub.find_builtin("procstat")]
    config = Config(tui=TuiSettings(theme="dark", refresh_rate=10, recordings_dir=str(tmp_path)))
    app = LmpApp(config, programs=programs)
    assert app.bpf_problem is None
    sleeper = subprocess.Popen(["sleep", "60"])
    hog: subprocess.Popen[str] | None = None
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            sig = await start(pilot, "sigsnoop")
            assert isinstance(sig.store, EventStore)
            await asyncio.sleep(0.3)
            os.kill(sleeper.pid, signal.SIGUSR1)
            await wait_for(
                lambda: len(rows_where(sig.store, f"tpid={sleeper.pid}")) > 0,
                10,
                "sigsnoop's row for our signal",
            )
            row = rows_where(sig.store, f"tpid={sleeper.pid}")[0]
            assert row["pid"] == os.getpid() and row["sig"] == signal.SIGUSR1
            # The same row through the UI: filter box, then the table's visible text.
            await pilot.press("slash", *f"tpid={sleeper.pid}", "enter")
            table = app.views[sig.number].query_one(EventTable)
            await wait_for(lambda: table.where.text != "" and table.row_count > 0, 5, "the filter")
            shown = [table.row_values(i) for i in range(table.row_count)]
            assert shown and shown[0]["sig"] == "SIGUSR1"
            assert shown[0]["pid"] == str(os.getpid()) and shown[0]["tpid"] == str(sleeper.pid)
            table.set_filter(Filter())

            # r records the live program; the file holds the raw records of our next signal.
            await pilot.press("r")
            recorder = sig.recorder
            assert recorder is not None and recorder.path.parent == tmp_path
            assert recorder.header.params == sig.values
            os.kill(sleeper.pid, signal.SIGUSR2)
            await wait_for(
                lambda: any(rows_where(sig.store, f"tpid={sleeper.pid}")["sig"] == signal.SIGUSR2),
                10,
                "sigsnoop's row for our second signal",
            )
            await pilot.press("r")
            assert sig.recorder is None and not recorder.active
            with RecordingReader(recorder.path) as reader:
                assert reader.header.program == "sigsnoop" and reader.header.spec.kind == "ringbuf"
                decoder = Decoder(reader.header.spec.layout)
                rows = np.concatenate(
                    [decoder.array(f.batch.records, f.batch.count) for f in reader.frames()]
                )
            ours = rows[(rows["tpid"] == sleeper.pid) & (rows["sig"] == signal.SIGUSR2)]
            assert len(ours) == 1 and ours[0]["pid"] == os.getpid()

            proc = await start(pilot, "procstat")
            assert isinstance(proc.store, EventStore) and proc.store.keyed is not None
            assert app.current == proc.number
            hog = subprocess.Popen([sys.executable, "-c", HOG], stdout=subprocess.PIPE, text=True)
            keyed = proc.store.keyed
            rise = ALLOCATION * 15 // 16 // PAGE  # 64 MiB in pages, minus some slack

            def risen() -> bool:
                # From the lowest value, not the first: between fork and exec the child's pid
                # still reports the parent's (pytest's) memory.
                series = keyed.series(hog.pid, "rssanon")
                finite = series[~np.isnan(series)]
                return len(finite) >= 2 and finite[-1] - finite.min() >= rise

            await wait_for(risen, 20, "procstat's rssanon series for the allocating child")
            series = keyed.series(hog.pid, "rssanon")
            finite = series[~np.isnan(series)]
            assert finite[-1] - finite.min() >= rise and finite[-1] * PAGE >= ALLOCATION
            assert keyed.label_of(hog.pid).startswith("python")
            # Picking that pid in the panels shows its series.
            view = app.views[proc.number]
            view.choose_key(hog.pid)
            await pilot.pause(0.3)
            panel_series = {s.name: s for s in view.query_one("SparklinePanel").series}
            assert panel_series["rssanon"].latest * PAGE >= ALLOCATION

            # Both run at once; switch back and forth, then stop both with keys.
            await pilot.press("1")
            assert app.current == sig.number
            await pilot.press("x")
            await wait_for(lambda: sig.state == "stopped", 5, "sigsnoop to stop")
            await pilot.press("2", "x")
            await wait_for(lambda: proc.state == "stopped", 5, "procstat to stop")
            assert sig.session.program.attached == 0 == proc.session.program.attached
    finally:
        for child in (sleeper, hog):
            if child is not None:
                child.kill()
                child.wait()
