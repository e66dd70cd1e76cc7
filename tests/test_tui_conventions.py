"""What htop, btop, k9s and bpftop users' fingers expect (issue 14), driven with keys: Ctrl-C
and q quit (asking only when a recording would be cut), Esc clears a filter, text filters ignore
case and take regular expressions, j/k move, one pause in replays, the Hub's search, the status
bar and footer at 80 columns, the sidebar giving way to a view, DEMO data said so."""

from __future__ import annotations

from pathlib import Path

from test_tui_pilot import make_app, start, view, wait_for
from textual.widgets import Input
from textual.widgets._footer import FooterKey
from textual.widgets._toast import Toast

from lmp_tui.runtime.config import Config, TuiSettings
from lmp_tui.runtime.distribution import hub
from lmp_tui.tui.demo import demo_recording
from lmp_tui.tui.screens import KeysScreen, QuitScreen
from lmp_tui.widgets import EventTable, ProgramList, StatusBar, ViewTabs

NARROW = (80, 24)


async def test_ctrl_c_quits_at_once_like_q() -> None:
    app = make_app()
    async with app.run_test(size=NARROW) as pilot:
        run = await start(pilot, "sigsnoop")
        await pilot.press("slash")  # even from the filter box, where Ctrl-C would copy
        await pilot.press("ctrl+c")
        await wait_for(lambda: app._exit)
        assert run.state == "stopped"


async def test_quitting_while_recording_asks_first(tmp_path: Path) -> None:
    config = Config(tui=TuiSettings(theme="dark", recordings_dir=str(tmp_path)))
    app = make_app(config=config)
    async with app.run_test(size=NARROW) as pilot:
        run = await start(pilot, "sigsnoop")
        await pilot.press("r")
        assert run.recorder is not None and run.recorder.active
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, QuitScreen) and not app._exit
        assert run.recorder.path.name in "".join(app.screen.recordings)
        await pilot.press("n")  # stay: still recording
        await pilot.pause()
        assert not isinstance(app.screen, QuitScreen) and run.recorder.active
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert isinstance(app.screen, QuitScreen)
        await pilot.press("ctrl+c")  # twice means it, as in a shell
        await wait_for(lambda: app._exit)
    saved = list(tmp_path.glob("*.lmprec"))
    assert len(saved) == 1 and saved[0].stat().st_size > 0


async def test_at_80_columns_the_view_state_comes_first_and_help_and_quit_lead_the_footer() -> None:
    app = make_app()
    async with app.run_test(size=NARROW) as pilot:
        await start(pilot, "sigsnoop")
        await pilot.press("space")
        bar = app.query_one(StatusBar)
        line = bar.render_status(bar.status, bar.cost).plain
        # What fits in 78 cells (80 less the padding) says PAUSED and the rate.
        assert "PAUSED" in line[:78] and "ev/s" in line[:78], line
        keys = [k for k in app.query(FooterKey) if not k.has_class("-command-palette")]
        assert [k.key for k in keys[:2]] == ["question_mark", "q"]
        assert all(k.region.right <= 80 for k in keys[:2])


async def test_the_sidebar_gives_way_to_a_program_view_below_120_columns() -> None:
    app = make_app()
    async with app.run_test(size=(110, 30)) as pilot:
        assert app.sidebar.display and app.sidebar.region.width > 0
        await start(pilot, "sigsnoop")
        assert app.sidebar.region.width == 0
        await pilot.press("ctrl+b")  # asked for: shown
        await pilot.pause()
        assert app.sidebar.region.width > 0
        await pilot.press("0")  # the Hub always has it
        await pilot.pause()
        assert app.sidebar.region.width > 0
    app = make_app()
    async with app.run_test(size=(130, 30)) as pilot:
        await start(pilot, "sigsnoop")
        assert app.sidebar.region.width > 0


async def test_filters_ignore_case_take_regexes_count_and_esc_clears_them() -> None:
    app = make_app()
    async with app.run_test(size=NARROW) as pilot:
        run = await start(pilot, "sigsnoop")
        program = view(app, run)
        table = program.table
        total = table.row_count
        await pilot.press("slash", *"comm~BASH", "enter")
        await pilot.pause()
        bash = table.row_count
        assert 0 < bash < total
        assert {table.row_values(i)["comm"] for i in range(bash)} == {"bash"}
        assert f"{bash} of {total:,}" in app.query_one(StatusBar).status.view
        await pilot.press("slash", "ctrl+a", "ctrl+k", *"comm~^(ba|ss)", "enter")
        await pilot.pause()
        assert {table.row_values(i)["comm"] for i in range(table.row_count)} == {"bash", "sshd"}
        await pilot.press("slash", "ctrl+a", "ctrl+k", *"SSHD", "enter")  # a bare word
        await pilot.pause()
        assert {table.row_values(i)["comm"] for i in range(table.row_count)} == {"sshd"}
        await pilot.press("up", "up")  # moving up stops following...
        assert not table.following
        await pilot.press("escape")  # ...Esc clears the filter and follows the newest again
        await pilot.pause()
        assert program.filter_box.value == "" and table.row_count == total
        assert table.following and table.cursor_row == total - 1
        await pilot.press("slash", *"comm~(", "enter")
        await pilot.pause()
        assert "not a regular expression" in str(program.filter_error.render())
        await pilot.press("escape")  # from the box too
        await pilot.pause()
        assert program.filter_box.value == "" and app.focused is table


async def test_j_and_k_move_and_t_opens_top_keys() -> None:
    app = make_app()
    async with app.run_test(size=(130, 40)) as pilot:
        run = await start(pilot, "sigsnoop")
        table = view(app, run).table
        last = table.cursor_row
        await pilot.press("k", "k", "j")
        assert table.cursor_row == last - 1
        await pilot.press("t")
        assert app.focused is view(app, run).top_keys


async def test_one_pause_in_a_replay(tmp_path: Path) -> None:
    path = demo_recording(hub.find_builtin("sigsnoop"), tmp_path / "sigsnoop.lmprec")
    app = make_app(replays=[path])
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(lambda: bool(app.runs))
        run = next(iter(app.runs.values()))
        replay = run.replay
        assert replay is not None
        table = view(app, run).query_one(EventTable)
        table.focus()
        await pilot.press("space")  # pauses the playback, not the table alone
        assert replay.paused and not table.paused
        await pilot.press("space")
        assert not replay.paused


async def test_hub_search_ranks_names_first_and_running_clears_it() -> None:
    app = make_app(programs=("exitsnoop", "opensnoop", "sigsnoop"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("slash", *"sig")
        listed = [o.id for o in app.query_one(ProgramList).options]
        assert listed[0] == "sigsnoop" and "exitsnoop" in listed  # its summary says signals
        await pilot.press("down")  # from the search box into the list
        assert isinstance(app.focused, ProgramList)
        assert app.query_one(ProgramList).highlighted_option.id == "sigsnoop"
        await pilot.press("enter", "enter")
        await wait_for(lambda: bool(app.runs))
        assert app.query_one("#search", Input).value == ""
        assert len(app.query_one(ProgramList).options) == 6  # three categories, three programs


async def test_demo_data_is_labelled_in_the_tab_and_the_status_bar() -> None:
    app = make_app()
    async with app.run_test(size=NARROW) as pilot:
        await start(pilot, "sigsnoop")
        assert "DEMO" in app.query_one(ViewTabs).render_tabs()
        bar = app.query_one(StatusBar)
        assert bar.status.made_up and "DEMO" in bar.render_status(bar.status).plain[:20]


async def test_toasts_sit_above_the_status_bar() -> None:
    app = make_app()
    async with app.run_test(size=NARROW, notifications=True) as pilot:
        await start(pilot, "sigsnoop")
        app.notify("hello")
        await pilot.pause(0.3)
        toast = app.screen.query_one(Toast)
        assert toast.region.bottom <= app.query_one(StatusBar).region.y


async def test_the_keys_screen_shows_keys_as_people_write_them() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, KeysScreen)
        keys = {k.id: k.keys for k in screen.keys}
        assert keys["app.keys"] == "?" and keys["view.next"] == "]"
        assert keys["replay.forward"] == ". or shift+→"
        assert not any("_" in k.keys for k in screen.keys), [k.keys for k in screen.keys]
