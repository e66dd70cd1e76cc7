"""SVG snapshots of sampled maps, fed by the deterministic demo sessions: syscount as a table
with syscall names, runqlat as interval histograms with percentiles.

Update them with ``pytest tests/test_tui_snapshots_maps.py --snapshot-update`` and look at the
report before committing. They are stored under tests/snapshots/.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import pytest_textual_snapshot
from textual.pilot import Pilot

from lmp_tui.app import LmpApp
from lmp_tui.runtime.config import Config, TuiSettings
from lmp_tui.runtime.distribution import hub
from lmp_tui.runtime.runs.scripted import ScriptedSource
from lmp_tui.tui.demo import demo_session
from lmp_tui.tui.screens import ParameterForm
from lmp_tui.tui.themes import discover_themes

THEMES = Path(__file__).resolve().parent.parent / "themes"
# A fixed list: snapshots must not change when the Hub grows.
PROGRAMS = ("runqlat", "syscount")


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
    """Search for ``name``, Enter to run it (and to accept a parameter form); wait until its
    whole demo minute has arrived and its view has drawn it."""
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
    main: Any = app.views[run.number].main_widget
    for _ in range(200):
        if main is not None and main.up_to_date:
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError(f"{name}'s view did not settle")
    # A DataTable lays out its columns and cursor after its rows change: let it finish.
    for _ in range(5):
        await pilot.pause(0.05)
    await pilot.wait_for_scheduled_animations()
    await pilot.pause(0.2)


def test_syscount_table(snap_compare) -> None:  # noqa: ANN001
    async def run_syscount(pilot: Pilot) -> None:
        await start(pilot, "syscount")

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_syscount)


def test_runqlat_interval_histograms(snap_compare) -> None:  # noqa: ANN001
    async def run_runqlat(pilot: Pilot) -> None:
        await start(pilot, "runqlat")

    assert snap_compare(make_app(), terminal_size=(160, 45), run_before=run_runqlat)
