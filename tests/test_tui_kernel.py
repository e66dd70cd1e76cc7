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
from lmp_tui.runtime.stream.meaning import to_base
from lmp_tui.runtime.stream.query import Filter, Sort, parse_filter, select
from lmp_tui.runtime.stream.recording import RecordingReader
from lmp_tui.runtime.stream.store import EventStore
from lmp_tui.tui.screens import ParameterForm
from lmp_tui.widgets import EventTable, SparklinePanel
from lmp_tui.widgets.sparklines import format_value, series_meaning

pytestmark = [pytest.mark.kernel, pytest.mark.usefixtures("no_leaks")]


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
            assert isinstance(proc.store, EventStore) and proc.store.latest is not None
            assert app.current == proc.number
            await wait_for(lambda: len(proc.store.latest) > 0, 10, "procstat's first processes")

            # Both run at once; switch back and forth, then stop both with keys.
            await pilot.press("1")
            assert app.current == sig.number
            await pilot.press("x")
            await wait_for(lambda: sig.state == "stopped", 5, "sigsnoop to stop")
            await pilot.press("2", "x")
            await wait_for(lambda: proc.state == "stopped", 5, "procstat to stop")
            assert sig.session.program.attached == 0 == proc.session.program.attached
    finally:
        sleeper.kill()
        sleeper.wait()


STEPS = textwrap.dedent(
    """
    import select, sys, time
    # procstat reports a task when it is switched out, at most every 100 ms per thread: short
    # sleeps make sure it is seen before, during and after the allocation.
    for _ in range(20):
        time.sleep(0.05)
    chunks = []
    for _ in range(8):  # 64 MiB in steps of 8, every page touched
        chunk = bytearray(8 << 20)
        chunk[::4096] = b"\\x01" * len(chunk[::4096])
        chunks.append(chunk)
        time.sleep(0.3)
    print("allocated", flush=True)
    while not select.select([sys.stdin], [], [], 0.1)[0]:  # until the test closes stdin
        pass
    """
)


def footer_keys(app: LmpApp) -> dict[str, str]:
    """What the footer offers now: description -> key."""
    return {
        active.binding.description: key
        for key, active in app.active_bindings.items()
        if active.binding.show and active.enabled
    }


async def test_procstat_watch_a_process_by_the_footer_keys() -> None:
    """A child allocating 64 MiB in steps is found with the keys the footer shows (/ to
    filter by its pid, Enter to watch it); the detail panel's RSS rises by >= 60 MiB in bytes;
    once it exits its row and the panel say so. At 80x24, where the panel replaces the table."""
    config = Config(tui=TuiSettings(theme="dark", refresh_rate=10))
    app = LmpApp(config, programs=[hub.find_builtin("procstat")])
    child: subprocess.Popen[str] | None = None
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            proc = await start(pilot, "procstat")
            store = proc.store
            assert isinstance(store, EventStore) and store.latest is not None
            view = app.views[proc.number]
            table = view.table
            await wait_for(lambda: table.row_count > 0, 10, "procstat's process table")
            keys = footer_keys(app)
            assert keys.get("Filter") == "slash" and keys.get("Watch") == "enter", keys

            child = subprocess.Popen(
                [sys.executable, "-c", STEPS],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            await wait_for(lambda: child.pid in store.latest, 10, "the child's row")
            await pilot.press(keys["Filter"], *f"pid={child.pid}", "enter")
            await wait_for(lambda: table.row_count == 1, 5, "the table filtered to the child")
            assert table.row_values(0)["pid"] == str(child.pid)
            await pilot.press(keys["Watch"])
            panel = view.query_one(SparklinePanel)
            await wait_for(lambda: view.has_class("-show-panels"), 5, "the detail panel")
            assert panel.title.startswith(f"pid {child.pid} ")

            def rss_bytes() -> np.ndarray:
                size = next(s for s in panel.series if s.name == "size")
                values = to_base(series_meaning(size, panel.meanings), size.values)
                return values[~np.isnan(values)]

            def risen() -> bool:
                # From the lowest value: between fork and exec the child reports pytest's memory.
                rss = rss_bytes()
                return len(rss) >= 2 and rss[-1] - rss.min() >= 60 << 20

            await wait_for(risen, 20, "the child's RSS in the detail panel")
            size = next(s for s in panel.series if s.name == "size")
            shown = format_value(series_meaning(size, panel.meanings), size.latest)
            assert shown.endswith(" MiB") and float(shown.split()[0]) >= 64, shown

            assert child.stdin is not None
            child.stdin.close()
            assert child.wait(10) == 0
            await wait_for(lambda: "exited" in panel.title, 10, "the panel to say it exited")
            await pilot.press(keys.get("Back", "escape"))  # the panel gives way to the table
            await wait_for(lambda: table.row_count == 1, 5, "the child's row")
            assert table.model.values(0)["state"] == "exited"

            await pilot.press("x")
            await wait_for(lambda: proc.state == "stopped", 5, "procstat to stop")
            assert proc.session.program.attached == 0
    finally:
        if child is not None and child.poll() is None:
            child.kill()
            child.wait()
