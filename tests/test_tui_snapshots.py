"""SVG snapshots of the TUI, fed by the deterministic demo sessions (never the live kernel).

Update them with ``pytest tests/test_tui_snapshots.py --snapshot-update`` and look at the
report before committing. They are stored under tests/snapshots/.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import pytest_textual_snapshot
from textual.pilot import Pilot

from lmp_tui.app import LmpApp
from lmp_tui.runtime.config import Config, TuiSettings
from lmp_tui.runtime.distribution import hub
from lmp_tui.runtime.runs.manager import SessionRun
from lmp_tui.runtime.runs.scripted import ScriptedSource
from lmp_tui.runtime.stream.store import EventStore
from lmp_tui.tui.demo import demo_recording, demo_session
from lmp_tui.tui.screens import ParameterForm
from lmp_tui.tui.themes import discover_themes
from lmp_tui.widgets import SparklinePanel

THEMES = Path(__file__).resolve().parent.parent / "themes"
# A fixed list: snapshots must not change when the Hub grows.
PROGRAMS = ("bootstrap", "procstat", "runqlat", "sigsnoop")


class SnapshotsDir(pytest_textual_snapshot.SVGImageExtension):
    """Keep SVGs in tests/snapshots/<test module>/ as the project layout asks."""

    @classmethod
    def dirname(cls, *, test_location) -> str:  # noqa: ANN001
        return str(Path(test_location.filepath).parent / "snapshots" / test_location.basename)


@pytest.fixture(autouse=True)
def _snapshots_in_tests_snapshots(monkeypatch: pytest.MonkeyPatch) -> None:
    # Autouse, so it is in place before ``snap_compare`` picks the extension.
    monkeypatch.setattr(pytest_textual_snapshot, "SVGImageExtension", SnapshotsDir)


def make_app(programs: tuple[str, ...] = PROGRAMS) -> LmpApp:
    """The app on the demo sessions of ``programs`` (other snapshot modules use it too)."""
    return LmpApp(
        Config(tui=TuiSettings(theme="dark")),
        programs=[hub.find_builtin(name) for name in programs],
        session_factory=demo_session,
        availability=lambda _: None,
        probe_bpf=False,
        themes=discover_themes([THEMES]),
    )


async def start(pilot: Pilot, name: str) -> None:
    """Search for ``name``, Enter to run it, Enter to accept the parameter form; wait for data."""
    app = pilot.app
    assert isinstance(app, LmpApp)
    await pilot.press("0", "slash", *name, "enter", "enter")
    await pilot.pause()
    if isinstance(app.screen, ParameterForm):
        await pilot.press("enter")
    for _ in range(200):
        run = app.current_run
        source = run.session.source if run is not None else None
        if (
            run is not None
            and run.name == name
            and isinstance(source, ScriptedSource)
            and source.done
            and not run.queued
        ):
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError(f"{name} did not start")
    for _ in range(200):  # ...and until its view has drawn all of it (even on a busy machine)
        if settled(app, run):
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError(f"{name}'s view did not settle")
    await pilot.pause(0.2)


def settled(app: LmpApp, run: SessionRun) -> bool:
    view = app.views[run.number]
    store = run.store
    if isinstance(store, EventStore):
        table = view.table
        return (
            table.up_to_date
            and table.row_count > 0
            and (not table.following or table.scroll_y == table.max_scroll_y)
        )
    widget = view.main_widget  # a histogram panel or a sampled map's table
    return widget is not None and widget.up_to_date


def test_start_screen(snap_compare) -> None:  # noqa: ANN001
    assert snap_compare(make_app(), terminal_size=(120, 40))


def test_program_selected_shows_fields_and_parameters(snap_compare) -> None:  # noqa: ANN001
    async def select_sigsnoop(pilot: Pilot) -> None:
        await pilot.press("slash", *"sigsnoop", "enter")

    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=select_sigsnoop)


def test_sigsnoop_sorted_by_signal(snap_compare) -> None:  # noqa: ANN001
    async def run_and_sort(pilot: Pilot) -> None:
        await start(pilot, "sigsnoop")
        await pilot.press("right", "right", "s", "s")  # sig column, then reversed

    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=run_and_sort)


def test_procstat_panels_with_sparklines(snap_compare) -> None:  # noqa: ANN001
    async def pick_python(pilot: Pilot) -> None:
        await start(pilot, "procstat")
        pilot.app.query_one(SparklinePanel).highlight("rssanon")
        await pilot.pause()
        await pilot.press("k", "down", "enter")  # the top key by rssanon: python3

    assert snap_compare(make_app(), terminal_size=(130, 40), run_before=pick_python)


def test_runqlat_histogram(snap_compare) -> None:  # noqa: ANN001
    async def run_runqlat(pilot: Pilot) -> None:
        await start(pilot, "runqlat")

    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=run_runqlat)


def test_narrow_terminal(snap_compare) -> None:  # noqa: ANN001
    async def run_sigsnoop(pilot: Pilot) -> None:
        await start(pilot, "sigsnoop")

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_sigsnoop)


def test_replay_timeline_paused_half_way(snap_compare, tmp_path: Path) -> None:  # noqa: ANN001
    # The demo minute of sigsnoop as a recording (fixed bytes), opened paused and sought to 0:30.
    path = demo_recording(hub.find_builtin("sigsnoop"), tmp_path / "sigsnoop.lmprec")

    async def replay_to_half_way(pilot: Pilot) -> None:
        app = pilot.app
        assert isinstance(app, LmpApp)
        app.open_recording(path, paused=True)
        for _ in range(200):
            if app.current == 1 and app.focused is app.views[1].main_widget:
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("the replay did not open")
        await pilot.press(*["full_stop"] * 6)
        run = app.runs[1]
        assert run.replay is not None and run.replay.position == 30.0
        for _ in range(200):
            if settled(app, run):
                break
            await asyncio.sleep(0.02)
        await pilot.pause(0.2)

    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=replay_to_half_way)


def test_without_bpf_the_hub_is_compact_and_says_why_once_80x24(snap_compare) -> None:  # noqa: ANN001
    """One line per program (✗), the reason once at the top, the status bar saying what to do."""
    reason = "loading BPF programs needs root (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN)"
    app = LmpApp(
        Config(tui=TuiSettings(theme="dark")),
        programs=[hub.find_builtin(name) for name in PROGRAMS],
        session_factory=demo_session,
        bpf_problem=reason,
        themes=discover_themes([THEMES]),
    )

    async def close_the_offer(pilot: Pilot) -> None:
        await pilot.pause()
        await pilot.press("escape")  # the recordings offered at start

    assert snap_compare(app, terminal_size=(80, 24), run_before=close_the_offer)


def test_a_paused_filtered_view_at_80x24(snap_compare) -> None:  # noqa: ANN001
    """The view's state first in the status bar, help and quit first in the footer, no
    sidebar beside a program below 120 columns, DEMO said."""

    async def pause_and_filter(pilot: Pilot) -> None:
        await start(pilot, "sigsnoop")
        await pilot.press("slash", *"comm~BASH", "enter", "space")

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=pause_and_filter)
