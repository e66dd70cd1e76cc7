"""SVG snapshots of sampled maps, fed by the deterministic demo sessions: syscount as a table
with syscall names, runqlat as interval histograms with percentiles; each at 80x24 (the narrow
layout) and 160x45 (the names without a size are the first ones made, kept so their files are).

Update them with ``pytest tests/test_tui_snapshots_maps.py --snapshot-update`` and look at the
report before committing. They are stored under tests/snapshots/.
"""

from __future__ import annotations

from test_tui_snapshots import _snapshots_in_tests_snapshots  # noqa: F401 - autouse
from test_tui_snapshots import make_app as make_snapshot_app
from test_tui_snapshots import start as start_program
from textual.pilot import Pilot

from lmp_tui.app import LmpApp
from lmp_tui.widgets.map_table import MapTable

# A fixed list: snapshots must not change when the Hub grows.
PROGRAMS = ("runqlat", "syscount")


def make_app() -> LmpApp:
    return make_snapshot_app(PROGRAMS)


async def start(pilot: Pilot, name: str) -> None:
    await start_program(pilot, name)
    for table in pilot.app.query(MapTable):
        # The cursor keeps the key it was on while the demo's rounds reorder the rows, so
        # where it ends depends on which round drew first: Ctrl+Home puts it on the top row.
        assert pilot.app.focused is table.table
        await pilot.press("ctrl+home")
        assert table.table.cursor_row == 0
    # A DataTable lays out its columns and cursor after its rows change: let it finish.
    for _ in range(5):
        await pilot.pause(0.05)
    await pilot.wait_for_scheduled_animations()


async def run_syscount(pilot: Pilot) -> None:
    await start(pilot, "syscount")


async def run_runqlat(pilot: Pilot) -> None:
    await start(pilot, "runqlat")


def test_syscount_table(snap_compare) -> None:  # noqa: ANN001
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_syscount)


def test_syscount_table_160x45(snap_compare) -> None:  # noqa: ANN001
    assert snap_compare(make_app(), terminal_size=(160, 45), run_before=run_syscount)


def test_runqlat_interval_histograms(snap_compare) -> None:  # noqa: ANN001
    assert snap_compare(make_app(), terminal_size=(160, 45), run_before=run_runqlat)


def test_runqlat_interval_histograms_80x24(snap_compare) -> None:  # noqa: ANN001
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_runqlat)
