"""Driving the TUI with keys (Pilot), on scripted sessions: start, switch, sort, filter, pause,
stop; config, keymap, themes; and what happens without BPF."""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Input

from lmp_tui.app import LmpApp
from lmp_tui.runtime.config import Config, TuiSettings, load_config, parse_config
from lmp_tui.runtime.distribution import hub
from lmp_tui.runtime.distribution.hub import HubProgram
from lmp_tui.runtime.kernel import probe
from lmp_tui.runtime.kernel.attachments import Interface
from lmp_tui.runtime.runs.manager import SessionRun
from lmp_tui.runtime.runs.scripted import ScriptedSession, ScriptedSource, event_batch
from lmp_tui.runtime.stream.decode import Decoder
from lmp_tui.runtime.stream.query import Sort
from lmp_tui.runtime.stream.store import parse_signal
from lmp_tui.tui.demo import START, demo_session
from lmp_tui.tui.runner import RunSettings
from lmp_tui.tui.screens import KeysScreen, OpenScreen, ParameterForm
from lmp_tui.tui.themes import discover_themes, parse_theme
from lmp_tui.widgets import EventTable, ProgramView, StatusBar

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ("bootstrap", "procstat", "runqlat", "sigsnoop")
SIZE = (120, 40)


def make_app(
    factory: Callable[[HubProgram, RunSettings], Any] = demo_session,
    programs: tuple[str, ...] = PROGRAMS,
    **kw: Any,
) -> LmpApp:
    kw.setdefault("availability", lambda _: None)
    kw.setdefault("probe_bpf", False)
    return LmpApp(
        kw.pop("config", Config(tui=TuiSettings(theme="dark"))),
        programs=[hub.find_builtin(n) for n in programs],
        session_factory=factory,
        themes=discover_themes([ROOT / "themes"]),
        **kw,
    )


async def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("timed out waiting for the app")
        await asyncio.sleep(0.02)


def loaded(run: SessionRun | None) -> bool:
    source = run.session.source if run is not None else None
    return isinstance(source, ScriptedSource) and source.done and not run.queued


async def start(pilot: Pilot, name: str, form: bool = True) -> SessionRun:
    app = pilot.app
    assert isinstance(app, LmpApp)
    before = set(app.runs)
    await pilot.press("0", "slash", *name, "enter", "enter")
    await pilot.pause()
    if form:
        assert isinstance(app.screen, ParameterForm)
        await pilot.press("enter")
    await wait_for(lambda: set(app.runs) - before != set())
    run = app.runs[(set(app.runs) - before).pop()]
    await wait_for(lambda: loaded(run))
    await pilot.pause(0.25)
    return run


def text_of(renderable: Any) -> str:
    console = Console(record=True, width=120, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def view(app: LmpApp, run: SessionRun) -> ProgramView:
    return app.query_one(f"#view-{run.number}", ProgramView)


async def test_enter_starts_the_selected_program_after_its_form() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        run = await start(pilot, "sigsnoop")
        assert run.state == "running" and run.session.started
        assert app.current == run.number and run.values == {
            "filtered_pid": 0,
            "target_signal": 0,
            "failed_only": False,
            "kill_only": False,
        }
        table = view(app, run).table
        assert table.row_count == run.store.total > 0
        assert app.focused is table
        rows = table.visible_values()
        assert rows and set(rows[0]) == {"time", "pid", "tpid", "sig", "ret", "comm"}
        assert all(r["sig"].startswith("SIG") for r in rows)


async def test_parameter_form_coerces_and_refuses_bad_values() -> None:
    seen: list[RunSettings] = []

    def factory(program: HubProgram, settings: RunSettings) -> ScriptedSession:
        seen.append(settings)
        return demo_session(program, settings)

    app = make_app(factory)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"sigsnoop", "enter", "enter")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, ParameterForm)
        await pilot.press("ctrl+a", "ctrl+k", *"12x")  # refused in words, not dropped unsaid
        await pilot.pause()
        assert "--pid" in str(form.query_one("#form-error").render())  # the option, named
        await pilot.press("backspace", "tab", "ctrl+a", "ctrl+k", *"10", "tab", "space")
        await pilot.press("tab", "tab", *"3Q", "ctrl+s")  # the ring size: not a size
        await pilot.pause()
        assert "not a size" in str(form.query_one("#form-error").render())
        await pilot.press("backspace", "backspace", *"3M", "ctrl+s")
        await wait_for(lambda: bool(app.runs))
    assert seen == [
        RunSettings(
            {"filtered_pid": 12, "target_signal": 10, "failed_only": True, "kill_only": False},
            ring_size=4 << 20,  # rounded up to a power of 2
        )
    ]


async def test_the_form_of_an_xdp_program_takes_the_interface() -> None:
    """xdpstat has no parameters, but attaches to an interface: the form asks for it (the
    package's own, lo, as the placeholder), refuses one that does not exist, and passes the
    chosen one on."""
    seen: list[RunSettings] = []

    def factory(program: HubProgram, settings: RunSettings) -> ScriptedSession:
        seen.append(settings)
        return demo_session(program, settings)

    app = make_app(factory, programs=("xdpstat",))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"xdpstat", "enter", "enter")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, ParameterForm)
        field = form.query_one("#ifname", Input)
        assert field.placeholder == "lo" and app.focused is field
        await pilot.press(*"nosuchif0", "ctrl+s")
        await pilot.pause()
        assert "no network interface named 'nosuchif0'" in str(
            form.query_one("#form-error").render()
        )
        await pilot.press("ctrl+a", "ctrl+k", "1", "ctrl+s")  # an index does too
        await wait_for(lambda: bool(app.runs))
    assert seen == [RunSettings({}, interface=Interface(1, "lo"))]


async def test_escape_cancels_the_form() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"sigsnoop", "enter", "enter")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert not app.runs and not isinstance(app.screen, ParameterForm)


async def test_sort_filter_pause_and_stop_keys() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        run = await start(pilot, "sigsnoop")
        table = view(app, run).table
        await pilot.press("right", "right", "right", "s")  # time pid tpid sig
        assert table.sort == Sort("sig", False)
        sigs = [parse_signal(table.row_values(i)["sig"]) for i in range(table.row_count)]
        assert sigs == sorted(sigs)
        await pilot.press("s")
        assert table.sort == Sort("sig", True)
        assert table.header_text.split().count("sig") == 1
        assert "sig ▼" in table.header_text
        status = app.query_one(StatusBar).status
        assert "sort sig ▼" in status.view and status.program == "sigsnoop"

        await pilot.press("slash", *"comm~bash pid>1000", "enter")
        assert app.focused is table
        values = [table.row_values(i) for i in range(table.row_count)]
        assert values and all("bash" in v["comm"] and int(v["pid"]) > 1000 for v in values)
        assert table.row_count < run.store.total

        await pilot.press("slash", "ctrl+a", "ctrl+k", *"sig=SIGUSR1")
        await pilot.pause()
        assert {table.row_values(i)["sig"] for i in range(table.row_count)} == {"SIGUSR1"}
        await pilot.press("ctrl+a", "ctrl+k", *"pid~12")
        await pilot.pause()
        error = view(app, run).query_one("#filter-error")
        assert error.has_class("-shown") and "is a number" in str(error.render())
        await pilot.press("ctrl+a", "ctrl+k", "escape")
        await pilot.pause()
        assert table.row_count == run.store.total and app.focused is table

        await pilot.press("space")
        assert table.paused and "PAUSED" in app.query_one(StatusBar).status.view
        await pilot.press("space")
        assert not table.paused

        await pilot.press("x")
        await wait_for(lambda: run.state == "stopped")
        assert run.session.closed
        await pilot.pause()
        assert "stopped" in app.query_one(StatusBar).status.state


async def test_clicking_a_header_sorts_and_clicking_again_reverses() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        run = await start(pilot, "sigsnoop")
        table = view(app, run).table
        x = 1 + table.widths[0] + 2 + table.widths[1] + 2 + 1  # in tpid's header (the third)
        await pilot.click(EventTable, offset=(x, 0))
        assert table.sort == Sort("tpid", False)
        tpids = [int(table.row_values(i)["tpid"]) for i in range(table.row_count)]
        assert tpids == sorted(tpids) and table.cursor_row == 0
        await pilot.click(EventTable, offset=(x, 0))
        assert table.sort == Sort("tpid", True)
        await pilot.click(EventTable, offset=(x, 3))  # a row: moves the cursor, no sort change
        assert table.cursor_row == 2 and table.sort == Sort("tpid", True)


async def test_pause_freezes_the_table_while_events_keep_arriving() -> None:
    package = hub.find_builtin("sigsnoop").package
    decoder = Decoder(package.export_layout())
    batches = [
        event_batch(decoder, [{"pid": i, "sig": 10, "comm": "slow"}], START + i / 10)
        for i in range(40)
    ]

    def slow(program: HubProgram, settings: RunSettings) -> ScriptedSession:
        return ScriptedSession.of(program.package, batches, interval=0.05)

    app = make_app(slow)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"sigsnoop", "enter", "enter")
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(lambda: bool(app.runs) and app.runs[1].store.total >= 5)
        run = app.runs[1]
        table = view(app, run).table
        await pilot.press("space")
        frozen = table.row_count
        await wait_for(lambda: run.store.total >= frozen + 10)
        await pilot.pause(0.2)
        assert table.row_count == frozen and table.paused
        await pilot.press("f")  # follow: unpause and stick to the newest row
        await pilot.pause(0.2)
        assert not table.paused and table.following
        # Events still arrive every 50 ms and the table catches up on its redraw tick: compare
        # once the script has delivered everything.
        await wait_for(lambda: run.store.total == len(batches))
        await wait_for(lambda: table.row_count == len(batches))
        assert table.row_count > frozen and table.following
        assert table.cursor_row == table.row_count - 1


async def test_switching_views_keeps_each_tables_sort_and_scroll() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        sig = await start(pilot, "sigsnoop")
        await pilot.press("right", "right", "right", "s")
        for _ in range(5):
            await pilot.press("pagedown")
        sig_table = view(app, sig).table
        sig_state = (sig_table.sort, sig_table.scroll_offset.y, sig_table.cursor_row)
        assert sig_state[1] > 0

        proc = await start(pilot, "procstat")
        assert app.current == proc.number == 2
        proc_table = view(app, proc).table
        # pid comm state size vsize vswap rssanon: sort by rssanon, again for largest first
        await pilot.press(*["right"] * 6, "s", "s")
        await pilot.press("pagedown", "down", "down")
        proc_state = (proc_table.sort, proc_table.scroll_offset.y, proc_table.cursor_row)
        assert proc_state[0] == Sort("rssanon", True)

        for key, number, table, state in [
            ("1", 1, sig_table, sig_state),
            ("2", 2, proc_table, proc_state),
            ("left_square_bracket", 1, sig_table, sig_state),
            ("right_square_bracket", 2, proc_table, proc_state),
        ]:
            await pilot.press(key)
            await pilot.pause()
            assert app.current == number and app.focused is table
            assert (table.sort, table.scroll_offset.y, table.cursor_row) == state
            assert view(app, app.runs[number]).display

        # The command palette switches too.
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"View 1: sigsnoop")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(lambda: app.current == 1)
        assert (sig_table.sort, sig_table.scroll_offset.y) == sig_state[:2]


async def test_several_programs_run_at_once_and_stop_on_quit() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        runs = [await start(pilot, name) for name in ("sigsnoop", "procstat", "runqlat")]
        assert [r.number for r in runs] == [1, 2, 3]
        assert all(r.state == "running" for r in runs)
        assert "1 sigsnoop" in str(app.query_one("#tabs").render())
        await pilot.press("q")
        await pilot.pause()
    assert all(r.state == "stopped" and r.session.closed for r in runs)


async def test_ctrl_w_closes_a_view() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        first = await start(pilot, "sigsnoop")
        second = await start(pilot, "bootstrap")
        await pilot.press("ctrl+w")
        await wait_for(lambda: app.current == first.number)
        assert second.session.closed and app.current == first.number
        assert not app.query(f"#view-{second.number}")


async def test_procstat_key_picks_per_pid_sparklines() -> None:
    app = make_app()
    async with app.run_test(size=(130, 40)) as pilot:
        run = await start(pilot, "procstat")
        program_view = view(app, run)
        await pilot.press("k", "down", "enter")
        assert program_view.key is not None
        from lmp_tui.widgets import SparklinePanel

        panel = program_view.query_one(SparklinePanel)
        assert panel.title.startswith(f"pid {program_view.key}")
        names = [s.name for s in panel.series]
        assert names[:1] == ["events/s"] and {"rssanon", "rssfile", "rssshmem", "vsize"} <= set(
            names
        )
        assert "pid" not in names  # an id has no series
        # Top keys rank by events until a gauge is highlighted; pids are never abbreviated.
        top = program_view.top_keys
        assert top is not None and top.rank_field == ""
        assert str(program_view.key) in [str(top.get_row_at(i)[0]) for i in range(top.row_count)]
        # Enter on an events row picks that row's pid.
        program_view.table.focus()
        await pilot.press("home", "enter")
        first_pid = int(program_view.table.row_values(0)["pid"])
        assert program_view.key == first_pid


async def test_procstat_is_a_process_table_with_htop_keys() -> None:
    """One row per process sorted by RSS; H lists threads; M, N and I sort as in htop; Enter
    watches a process (panels and table follow it), Esc goes back to all of them."""
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        run = await start(pilot, "procstat")
        program_view = view(app, run)
        table = program_view.table
        assert table.sort == Sort("size", reverse=True)
        rows = [table.row_values(i) for i in range(table.row_count)]
        pids = [r["pid"] for r in rows]
        assert len(pids) == len(set(pids)) == 8  # the demo's processes, each once
        assert pids[0] == "1337" and rows[0]["comm"] == "python3"  # the largest RSS first
        assert [r["state"] for r in rows if r["comm"] == "cron"] == ["exited"]
        assert "tid" not in table.column_names

        await pilot.press("H")  # threads on demand: python3 has three
        assert table.column_names[:2] == ["pid", "tid"]
        threads = [table.row_values(i) for i in range(table.row_count)]
        assert [t["tid"] for t in threads if t["pid"] == "1337"] == ["1337", "1338", "1339"]
        await pilot.press("H")
        assert "tid" not in table.column_names and table.row_count == 8

        await pilot.press("N")
        assert table.sort == Sort("pid") and table.row_values(0)["pid"] == "101"
        await pilot.press("I")
        assert table.sort == Sort("pid", reverse=True)
        await pilot.press("M")
        assert table.sort == Sort("size", reverse=True)

        await pilot.press("down", "enter")  # watch the second largest
        watched = int(rows[1]["pid"])
        assert program_view.key == watched
        assert program_view.filter_box.value == f"pid={watched}" and table.row_count == 1
        panel = program_view.sparklines
        assert panel.title.startswith(f"pid {watched} ")
        await pilot.press("escape")
        assert program_view.key is None and program_view.filter_box.value == ""
        assert table.row_count == 8 and panel.title == "all events"


async def test_no_bpf_opens_says_so_in_one_line_and_offers_the_demo_recordings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reason = "loading BPF programs needs root (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN): run it with sudo"
    monkeypatch.setattr(probe, "can_use_bpf", lambda: reason)
    app = make_app(probe_bpf=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        notice = app.query_one("#notice")
        assert notice.display and str(notice.render()) == f"⚠ BPF unavailable: {reason}"
        assert len(notice.render().plain.splitlines()) == 1
        # The demos are offered at once, first in the list.
        picker = app.screen
        assert isinstance(picker, OpenScreen)
        demos = [c.path.name for c in picker.choices if c.origin == "demo"]
        assert demos == ["procstat.lmprec", "runqlat.lmprec", "sigsnoop.lmprec"]
        assert picker.choices[: len(demos)] == [c for c in picker.choices if c.origin == "demo"]
        assert reason in str(picker.query_one("#open-problem").render())
        await pilot.press("escape")
        await pilot.pause()
        # The programs themselves refuse to run, and say why.
        await pilot.press("enter")
        await pilot.pause()
        assert not app.runs and not isinstance(app.screen, ParameterForm)
        # The reason is said once, at the top; the status bar points to what can be done.
        assert "o opens a recording" in app.query_one(StatusBar).status.notice
        assert "the line at the top says why" in text_of(app.details.describe(app.details.entry))
        # o offers them again; Enter replays the highlighted one (no root, no BPF).
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, OpenScreen)
        await pilot.press("down", "down", "enter")  # sigsnoop
        await wait_for(lambda: 1 in app.runs and app.runs[1].store.total > 0)
        run = app.runs[1]
        assert run.kind == "replay" and run.name == "sigsnoop" and app.current == 1
        await wait_for(lambda: view(app, run).table.row_count > 0)
        assert app.query_one(StatusBar).status.recording.startswith("replay sigsnoop.lmprec")


async def test_a_failing_start_is_one_notification() -> None:
    from lmp_tui.runtime.errors import KernelError

    class Refuses(ScriptedSession):
        def start(self) -> ScriptedSession:
            raise KernelError("tracepoint signal/signal_generate does not exist on this kernel")

    def factory(program: HubProgram, settings: RunSettings) -> ScriptedSession:
        return Refuses(program.package, None)

    app = make_app(factory)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"sigsnoop", "enter", "enter")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert not app.runs
        messages = [n.message for n in app._notifications]
        assert any("does not exist on this kernel" in m for m in messages)


async def test_keymap_from_config_remaps_bindings_and_question_mark_lists_them() -> None:
    app = make_app(config=Config(keymap={"program.stop": "ctrl+x", "view.next": "tab"}))
    async with app.run_test(size=SIZE) as pilot:
        run = await start(pilot, "sigsnoop")
        await pilot.press("x")
        await pilot.pause()
        assert run.state == "running"
        await pilot.press("ctrl+x")
        await wait_for(lambda: run.state == "stopped")
        await pilot.press("question_mark")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, KeysScreen)
        keys = {k.id: k.keys for k in screen.keys}
        assert keys["program.stop"] == "^x" and keys["events.sort"] == "s"
        assert {
            "view.1",
            "view.next",
            "events.filter",
            "events.pause",
            "app.keys",
            "program.run",
            "program.record",
            "app.open",
            "replay.pause",
            "replay.forward",
            "replay.back",
            "replay.start",
            "replay.faster",
            "replay.slower",
        } <= set(keys)
        assert keys["program.record"] == "r" and keys["replay.pause"] == "P"
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, KeysScreen)


async def test_sidebar_search_groups_and_marks_programs() -> None:
    app = make_app(availability=lambda p: "no BTF here" if p.name == "runqlat" else None)
    async with app.run_test(size=SIZE) as pilot:
        from lmp_tui.widgets import ProgramList

        options = app.query_one(ProgramList).options
        ids = [o.id for o in options]
        assert ids == [
            "category-memory",
            "procstat",
            "category-process",
            "bootstrap",
            "category-scheduler",
            "runqlat",
            "category-signals",
            "sigsnoop",
        ]
        # One line each: the mark says it cannot run, its details say why.
        assert str(options[ids.index("runqlat")].prompt) == " ✗ runqlat"
        await pilot.press("slash", *"sched", "enter")  # a search lists what it finds, flat
        assert [o.id for o in app.query_one(ProgramList).options] == ["runqlat"]
        assert "cannot run here: no BTF here" in text_of(app.details.describe(app.details.entry))
        await pilot.press("enter")
        await pilot.pause()
        assert not app.runs


async def test_themes_switch_without_css_errors() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, "procstat")
        for name in ("light", "mono", "dark"):
            app.theme = name
            await pilot.pause()
            assert app.has_class(f"-theme-{name}")
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert app.theme in {"dark", "light", "mono"}


def test_theme_files_parse_to_palettes_and_scoped_rules() -> None:
    themes = discover_themes([ROOT / "themes"])
    assert {"dark", "light", "mono"} <= set(themes)
    assert themes["light"].theme.dark is False and themes["mono"].theme.ansi is True
    assert themes["dark"].theme.variables["spark"]
    parsed = parse_theme("x", "$primary: #123456;\n$spark: red;\nEventTable { color: red; }\n")
    assert parsed.theme.primary == "#123456" and parsed.theme.variables == {"spark": "red"}
    assert parsed.css.startswith("App.-theme-x {") and "EventTable" in parsed.css
    assert discover_themes([ROOT / "nowhere"]).keys() == {"dark"}  # the built-in fallback


def test_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    path = tmp_path / "config.toml"
    assert load_config(path) == Config(path=path)
    path.write_text(
        'theme = "light"\nrow_limit = 500\nrefresh_rate = 4\n[keymap]\n"program.stop" = "ctrl+x"\n'
    )
    config = load_config(path)
    tui = config.tui
    assert (tui.theme, tui.row_limit, tui.refresh_rate, config.keymap) == (
        "light",
        500,
        4.0,
        {"program.stop": "ctrl+x"},
    )
    assert config.problem is None
    path.write_text("theme = [\n")
    assert load_config(path).problem and load_config(path).tui.theme is None
    bad = parse_config({"row_limit": -1, "colour": "red"})
    assert bad.tui.row_limit == 10_000 and "row_limit" in bad.problem and "colour" in bad.problem
    monkeypatch.setenv("NO_COLOR", "1")
    app = LmpApp(load_config(tmp_path / "missing.toml"), programs=[], probe_bpf=False)
    assert app.theme == "mono"


async def test_row_limit_bounds_the_table() -> None:
    app = make_app(config=Config(tui=TuiSettings(row_limit=50)))
    async with app.run_test(size=SIZE) as pilot:
        run = await start(pilot, "sigsnoop")
        assert run.store.total > 50 and len(run.store) == 50
        assert view(app, run).table.row_count == 50


def test_no_color_is_respected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = LmpApp(
        load_config(Path(os.devnull) / "none.toml"),
        programs=[],
        themes=discover_themes([ROOT / "themes"]),
        probe_bpf=False,
    )
    assert app.no_color and app.theme == "mono"


async def test_the_command_palette_runs_a_program_found_by_name() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p", *"run sigsnoop")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, ParameterForm))
        await pilot.press("enter")
        await wait_for(lambda: bool(app.runs) and app.runs[1].name == "sigsnoop")
