"""Recordings and wasm apps in the TUI (Pilot): replay with pause, speed and seek; recording the
shown program with ``r``; a wasm app's JSON lines as a sortable table; the command line."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import test_tui_pilot as pilot
import wasmtime
from test_tui_pilot import wait_for

from lmp_tui import app as app_module
from lmp_tui.app import LmpApp
from lmp_tui.runtime.config import Config, TuiSettings
from lmp_tui.runtime.distribution import hub
from lmp_tui.runtime.distribution.hub import HubProgram
from lmp_tui.runtime.runs.manager import SessionRun
from lmp_tui.runtime.runs.scripted import FeedSource, ScriptedSession, event_batch
from lmp_tui.runtime.stream.batch import Batch
from lmp_tui.runtime.stream.decode import Decoder
from lmp_tui.runtime.stream.recording import RecordingReader
from lmp_tui.runtime.stream.store import EventStore, SnapshotStore
from lmp_tui.runtime.wasm.run import WasmRun
from lmp_tui.tui.commands import commands as palette_commands
from lmp_tui.tui.demo import START, demo_recording, demo_session
from lmp_tui.tui.runner import RunSettings
from lmp_tui.widgets import ProgramView, StatusBar
from lmp_tui.widgets.wasm_view import WasmView

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ("procstat", "runqlat", "sigsnoop")
SIZE = (120, 40)


def make_app(
    factory: Callable[[HubProgram, dict[str, Any]], Any] = demo_session, **kw: Any
) -> LmpApp:
    return pilot.make_app(factory, PROGRAMS, **kw)


async def opened(app: LmpApp, number: int = 1) -> SessionRun:
    await wait_for(lambda: number in app.views and app.current == number)
    run = app.runs[number]
    assert isinstance(run, SessionRun)
    return run


def program_view(app: LmpApp, run: SessionRun) -> ProgramView:
    view = app.views[run.number]
    assert isinstance(view, ProgramView)
    return view


def commands(app: LmpApp) -> set[str]:
    """The command palette's entries (of lmp's provider)."""
    return {c.title for c in palette_commands(app)}


def recorded(path: Path) -> list[Batch]:
    with RecordingReader(path) as reader:
        return [f.batch for f in reader.frames()]


def rows_before(batches: list[Batch], decoder: Decoder, seconds: float) -> np.ndarray:
    arrays = [decoder.array(b.records, b.count) for b in batches if b.time < START + seconds]
    return np.concatenate(arrays) if arrays else np.zeros(0, decoder.dtype)


def shown(store: EventStore) -> np.ndarray:
    return store.rows[store.arrival()]


@pytest.fixture(scope="module")
def sigsnoop_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo minute of sigsnoop: 60 batches, at START + 0.5, 1.5, ... 59.5."""
    return demo_recording(
        hub.find_builtin("sigsnoop"), tmp_path_factory.mktemp("rec") / "sigsnoop.lmprec"
    )


# -- replay --------------------------------------------------------------------------------------


async def test_replay_seeks_pauses_and_changes_speed(sigsnoop_recording: Path) -> None:
    batches = recorded(sigsnoop_recording)
    decoder = Decoder(hub.find_builtin("sigsnoop").package.export_layout())
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.open_recording(sigsnoop_recording, paused=True)
        run = await opened(app)
        replay, store, view = run.replay, run.store, program_view(app, run)
        assert replay is not None and isinstance(store, EventStore)
        assert run.kind == "replay" and run.name == "sigsnoop" and replay.duration == 59.5
        await wait_for(lambda: app.focused is view.table)
        await pilot.pause(0.2)
        assert store.total == 0  # opened paused: nothing delivered

        # Seek forward: the store holds exactly what the recording had by then.
        await pilot.press(*["full_stop"] * 6)
        assert replay.position == 30.0
        expected = rows_before(batches, decoder, 30)
        assert store.total == view.table.row_count == len(expected) > 0
        assert shown(store).tobytes() == expected.tobytes()
        timeline = view.timeline
        assert timeline is not None
        assert "0:30.0 / 0:59.5" in timeline.render().plain
        assert timeline.render().plain.startswith("❚❚")

        # Seek back: the store is rebuilt, not appended to.
        await pilot.press("comma", "shift+left")
        assert replay.position == 20.0
        expected = rows_before(batches, decoder, 20)
        assert store.total == view.table.row_count == len(expected)
        assert shown(store).tobytes() == expected.tobytes()
        await pilot.press("b")
        assert replay.position == 0.0 and store.total == view.table.row_count == 0

        # Speed: < and > step through 0.5x 1x 2x 4x max.
        await pilot.press("less_than_sign", "less_than_sign")
        assert replay.speed == 0.5
        await pilot.press(*["greater_than_sign"] * 3)
        assert replay.speed == 4.0
        await pilot.pause(0.1)
        assert "(paused)" in app.query_one(StatusBar).status.recording
        assert {"Replay: pause or resume", "Replay speed 2×", "Replay speed max"} <= commands(app)

        # Resume at 4x: three seconds of recording in well under three seconds.
        began = asyncio.get_running_loop().time()
        await pilot.press("P")
        assert not replay.paused
        await wait_for(lambda: replay.position >= 2.5)
        assert asyncio.get_running_loop().time() - began < 1.9
        assert timeline.render().plain.startswith("▶")

        # Pause: nothing more arrives.
        await pilot.press("P")
        await pilot.pause(0.15)
        held = (replay.position, store.total)
        await pilot.pause(0.6)
        assert (replay.position, store.total) == held
        assert held[1] == len(rows_before(batches, decoder, held[0] + 0.01))

        # Max speed to the end; the replay holds there and can still seek back.
        await pilot.press("greater_than_sign", "P")
        assert replay.speed is None
        await wait_for(lambda: replay.finished and store.total == sum(b.count for b in batches))
        await pilot.pause(0.2)
        assert run.state == "running" and timeline.render().plain.startswith("■")
        await pilot.press("P", "comma")
        assert replay.position == 54.5
        assert store.total == len(rows_before(batches, decoder, 54.5))


async def test_replaying_a_sampled_map_rebuilds_its_histograms(tmp_path: Path) -> None:
    path = demo_recording(hub.find_builtin("runqlat"), tmp_path / "runqlat.lmprec")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.open_recording(path, paused=True)
        run = await opened(app)
        store = run.store
        assert isinstance(store, SnapshotStore) and program_view(app, run).histogram is not None
        await pilot.press("full_stop", "full_stop", "full_stop")  # 15 s: snapshots at 0, 5, 10
        assert store.snapshots == 3 and store.entries
        last = [e.total for e in store.entries]
        await pilot.press("b", "full_stop")  # 5 s: snapshot 0 only
        assert store.snapshots == 1 and [e.total for e in store.entries] < last


# -- recording -----------------------------------------------------------------------------------


async def test_r_records_the_batches_the_view_gets_and_the_file_replays_them(
    tmp_path: Path,
) -> None:
    program = hub.find_builtin("sigsnoop")
    decoder = Decoder(program.package.export_layout())
    source = FeedSource()

    def factory(p: HubProgram, settings: RunSettings) -> ScriptedSession:
        session = ScriptedSession(p.package, source, p.package.export())
        session.values = dict(settings.values)
        return session

    def batch(i: int, n: int = 3) -> Batch:
        rows = [{"pid": 100 + i, "tpid": j, "sig": 10 + j, "comm": f"c{i}"} for j in range(n)]
        return event_batch(decoder, rows, START + i)

    folder = tmp_path / "recordings"
    app = make_app(
        factory, config=Config(tui=TuiSettings(theme="dark", recordings_dir=str(folder)))
    )
    async with app.run_test(size=SIZE) as pilot:
        source.feed(batch(0, 1))
        await pilot.press("slash", *"sigsnoop", "enter", "enter")
        await pilot.pause()
        await pilot.press("enter")  # the parameter form
        run = await opened(app)
        await wait_for(lambda: run.store.total == 1)
        assert app.query_one(StatusBar).status.recording == "not recording"
        assert "Record sigsnoop" in commands(app)

        await pilot.press("r")
        recorder = run.recorder
        assert recorder is not None and recorder.active
        path = recorder.path
        assert path.parent == folder and re.fullmatch(r"sigsnoop-\d{8}-\d{6}\.lmprec", path.name)
        source.feed(*(batch(i) for i in range(1, 6)))
        await wait_for(lambda: run.store.total == 16)
        await pilot.pause(0.2)
        status = app.query_one(StatusBar).status
        assert status.recording_active and status.recording.startswith(f"● REC {path.name} ")
        assert re.search(r" \d+(\.\d+)? (B|KB) 0:0\d$", status.recording), status.recording
        assert "Stop recording sigsnoop" in commands(app)

        await pilot.press("r")
        assert run.recorder is None and not recorder.active
        source.feed(batch(6))  # after the recording: not in it
        await wait_for(lambda: run.store.total == 19)
        await pilot.pause(0.2)
        assert app.query_one(StatusBar).status.recording == "not recording"
        assert any(str(path) in n.message for n in app._notifications)

        # The file: the header of the run, then exactly the batches the view got meanwhile.
        with RecordingReader(path) as reader:
            assert reader.header.program == "sigsnoop" and reader.header.params == run.values
            assert reader.header.start == START  # the scripted session's clock
            frames = [f.batch for f in reader.frames()]
        assert [b.time for b in frames] == [START + i for i in range(1, 6)]
        replayed = np.concatenate([decoder.array(b.records, b.count) for b in frames])
        assert replayed.tobytes() == shown(run.store)[1:16].tobytes()

        # Replayed in the app, it shows the same rows.
        app.open_recording(path)
        copy = await opened(app, 2)
        copy.replay.speed = None
        await wait_for(lambda: copy.replay.finished and copy.store.total == 15)
        await wait_for(lambda: program_view(app, copy).table.row_count == 15)
        table = program_view(app, copy).table
        original = program_view(app, run).table
        assert [table.row_values(i) for i in range(15)] == [
            original.row_values(i) for i in range(1, 16)
        ]


# -- wasm apps -----------------------------------------------------------------------------------

LINES = [
    '{"pid": 3, "comm": "bash", "lat": 1.5}',
    '{"pid": 1, "comm": "sshd", "lat": 0.25, "extra": true}',
    '{"pid": 2, "comm": "cron", "lat": 7, "args": [1, 2]}',
    "not json",
]


def wat_string(text: str) -> str:
    return "".join(f"\\{b:02x}" for b in text.encode())


def json_lines_app() -> bytes:
    """A WASI command that prints LINES to stdout (the second write cuts a line in two)."""
    text = "\n".join(LINES) + "\n"
    cut = len(LINES[0]) + 10
    first, second = text[:cut], text[cut:]

    def write(at: int, length: int) -> str:
        return (
            f"    (i32.store (i32.const 0) (i32.const {at}))\n"
            f"    (i32.store (i32.const 4) (i32.const {length}))\n"
            "    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))\n"
        )

    return wasmtime.wat2wasm(
        f"""(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "{wat_string(text)}")
  (func (export "_start")
{write(64, len(first.encode()))}{write(64 + len(first.encode()), len(second.encode()))}  )
)"""
    )


async def test_a_wasm_apps_json_lines_become_a_sortable_table(tmp_path: Path) -> None:
    path = tmp_path / "rows.wasm"
    path.write_bytes(json_lines_app())
    app = make_app(wasm=(path, []))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: 1 in app.runs and app.runs[1].state != "running")
        await wait_for(lambda: app.current == 1)
        run = app.runs[1]
        assert isinstance(run, WasmRun)
        await pilot.pause(0.2)
        assert run.state == "stopped" and run.exit_code == 0 and run.store.total == 4
        view = app.views[1]
        assert isinstance(view, WasmView) and app.focused is view.table
        table = view.table
        assert table.column_names == ["pid", "comm", "lat", "extra", "args", "output"]
        rows = table.visible_values()
        assert [r["pid"] for r in rows] == ["3", "1", "2", ""]
        assert rows[2]["args"] == "[1,2]" and rows[1]["extra"] == "true"
        assert rows[3]["output"] == "not json"
        assert "ended (exit status 0)" in str(view.info.render())
        assert "1 wasm rows.wasm" in str(app.query_one("#tabs").render())

        await pilot.press("s")  # by pid; rows without one last
        assert [table.row_values(i)["pid"] for i in range(4)] == ["1", "2", "3", ""]
        assert "sort pid ▲" in app.query_one(StatusBar).status.view
        await pilot.press("right", "right", "s", "s")  # by lat, largest first
        assert [table.row_values(i)["lat"] for i in range(4)] == ["", "7", "1.5", "0.25"]
        await pilot.press("S")
        assert [table.row_values(i)["pid"] for i in range(4)] == ["3", "1", "2", ""]


# -- the command line ----------------------------------------------------------------------------


def test_command_line_opens_replays_and_wasm_apps(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: list[LmpApp] = []
    monkeypatch.setattr(LmpApp, "run", lambda self: seen.append(self))
    monkeypatch.setattr(
        app_module, "load_config", lambda path=None: Config(tui=TuiSettings(theme="dark"))
    )
    monkeypatch.setattr(app_module.probe, "can_use_bpf", lambda: "no BPF in this test")
    monkeypatch.setattr(app_module.hub, "builtin_programs", lambda: [])
    a, b = tmp_path / "a.lmprec", tmp_path / "b.lmprec"
    assert app_module.main(["--replay", str(a), "--replay", str(b)]) == 0
    assert seen[-1].initial_replays == [a, b] and seen[-1].initial_wasm is None
    assert app_module.main(["--run", "x.wasm", "--", "-v", "--pid", "3"]) == 0
    assert seen[-1].initial_wasm == (Path("x.wasm"), ["-v", "--pid", "3"])
    assert seen[-1].bpf_problem == "no BPF in this test"
    with pytest.raises(SystemExit):
        app_module.main(["--", "-v"])  # app arguments without an app
