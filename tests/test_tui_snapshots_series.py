"""SVG snapshots of procstat's panels drawn by meaning: memory in bytes with its scale, switches
as rates, no pid drawn, top keys by events or by a gauge with pids in full; and the details
panel's field meanings. Fed by the deterministic demo sessions (never the live kernel).

Update them with ``pytest tests/test_tui_snapshots_series.py --snapshot-update`` and look at
the report before committing. They are stored under tests/snapshots/.
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
from lmp_tui.tui.demo import demo_session
from lmp_tui.tui.themes import discover_themes
from lmp_tui.widgets import SparklinePanel

THEMES = Path(__file__).resolve().parent.parent / "themes"
PROGRAMS = ("procstat", "tcpstates")
SIZE = (160, 45)


class SnapshotsDir(pytest_textual_snapshot.SVGImageExtension):
    """Keep SVGs in tests/snapshots/<test module>/ as the project layout asks."""

    @classmethod
    def dirname(cls, *, test_location) -> str:  # noqa: ANN001
        return str(Path(test_location.filepath).parent / "snapshots" / test_location.basename)


@pytest.fixture(autouse=True)
def _snapshots_in_tests_snapshots(monkeypatch: pytest.MonkeyPatch) -> None:
    # Autouse, so it is in place before ``snap_compare`` picks the extension.
    monkeypatch.setattr(pytest_textual_snapshot, "SVGImageExtension", SnapshotsDir)


def make_app() -> LmpApp:
    return LmpApp(
        Config(tui=TuiSettings(theme="dark")),
        programs=[hub.find_builtin(name) for name in PROGRAMS],
        session_factory=demo_session,
        availability=lambda _: None,
        probe_bpf=False,
        themes=discover_themes([THEMES]),
    )


async def start(pilot: Pilot, name: str) -> None:
    """Search for ``name``, Enter to run it, Enter to accept the parameter form; wait until
    the demo has played and the view has drawn all of it."""
    app = pilot.app
    assert isinstance(app, LmpApp)
    await pilot.press("0", "slash", *name, "enter", "enter")
    await pilot.pause()
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
    for _ in range(200):
        if settled(app, run):
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError(f"{name}'s view did not settle")
    await pilot.pause(0.2)


def settled(app: LmpApp, run: SessionRun) -> bool:
    table = app.views[run.number].table
    return (
        isinstance(run.store, EventStore)
        and table.up_to_date
        and table.row_count > 0
        and (not table.following or table.scroll_y == table.max_scroll_y)
    )


def test_procstat_all_events_panels(snap_compare) -> None:  # noqa: ANN001
    async def run_procstat(pilot: Pilot) -> None:
        await start(pilot, "procstat")

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_procstat)


def test_procstat_top_keys_by_rss_and_one_pid(snap_compare) -> None:  # noqa: ANN001
    async def pick_by_rss(pilot: Pilot) -> None:
        await start(pilot, "procstat")
        pilot.app.query_one(SparklinePanel).highlight("rssanon")
        await pilot.pause()
        await pilot.press("k", "down", "enter")  # the top key by rssanon
        await pilot.pause(0.2)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=pick_by_rss)


def test_procstat_details_show_meanings(snap_compare) -> None:  # noqa: ANN001
    async def select_procstat(pilot: Pilot) -> None:
        await pilot.press("slash", *"procstat", "enter")

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=select_procstat)
