"""SVG snapshots of procstat's panels drawn by meaning: memory in bytes with its scale, switches
as rates, no pid drawn, top keys by events or by a gauge with pids in full; and the details
panel's field meanings. Fed by the deterministic demo sessions (never the live kernel).

Update them with ``pytest tests/test_tui_snapshots_series.py --snapshot-update`` and look at
the report before committing. They are stored under tests/snapshots/.
"""

from __future__ import annotations

from test_tui_snapshots import (
    _snapshots_in_tests_snapshots,  # noqa: F401 - autouse
    start,
)
from test_tui_snapshots import make_app as make_snapshot_app
from textual.pilot import Pilot

from lmp_tui.app import LmpApp
from lmp_tui.widgets import SparklinePanel

PROGRAMS = ("procstat", "tcpstates")
SIZE = (160, 45)


def make_app() -> LmpApp:
    return make_snapshot_app(PROGRAMS)


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
