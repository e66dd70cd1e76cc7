"""SVG snapshots of event tables whose cells show what the fields mean: procstat's pages as
bytes with units, tcpstates' addresses joined with their ports and states without prefix, and
a time column first. Fed by the deterministic demo sessions; stored under tests/snapshots/.

Update them with ``pytest tests/test_tui_snapshots_meaning.py --snapshot-update`` and look at
the report before committing.
"""

from __future__ import annotations

import ipaddress
import random
import time
from collections.abc import Iterator
from typing import Any

import pytest
from test_tui_snapshots import (
    _snapshots_in_tests_snapshots,  # noqa: F401 - autouse
    start,
)
from test_tui_snapshots import make_app as make_snapshot_app
from textual.pilot import Pilot

from lmp_tui.app import LmpApp
from lmp_tui.tui import demo

PROGRAMS = ("procstat", "tcpstates")


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # The time column shows local wall-clock time: the same on every machine only in one zone.
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


# A connection's way through TCP's states (include/net/tcp_states.h numbers), as a client
# that connects, talks and closes first would go.
CLIENT_STATES = [(7, 2), (2, 1), (1, 4), (4, 5), (5, 6), (6, 7)]
PEERS = [
    ("127.0.0.1", "127.0.0.1", 8080),
    ("10.0.2.15", "93.184.216.34", 443),
    ("::1", "::1", 80),
    ("fe80::1", "2606:4700::6810:84e5", 443),
]


def _tcpstates(rng: random.Random) -> Iterator[list[dict[str, Any]]]:
    """A tcpstates script for the demo (it has none of its own): a few connections a second,
    IPv4 and IPv6, each through the states of a client's connection."""
    skaddr = 0xFFFF_8881_0A2B_0000
    for second in range(demo.SECONDS):
        rows = []
        for _ in range(1 + second % 3):
            local, remote, port = rng.choice(PEERS)
            family = 10 if ":" in local else 2
            sport = rng.randint(32768, 60999)
            skaddr += 0x800
            comm = rng.choice(demo.COMMS)
            for old, new in CLIENT_STATES[: rng.randint(2, len(CLIENT_STATES))]:
                rows.append(
                    {
                        "skaddr": skaddr,
                        "ts_us": (second * 1_000_000) + rng.randint(0, 999_999),
                        "delta_us": 0 if old == 7 else rng.randint(20, 2_500_000),
                        "pid": 4000 + demo.COMMS.index(comm),
                        "oldstate": old,
                        "newstate": new,
                        "family": family,
                        "sport": sport,
                        "dport": port,
                        "saddr": _address(local),
                        "daddr": _address(remote),
                        "comm": comm,
                    }
                )
        yield rows


def _address(text: str) -> list[int]:
    """16 bytes in network order, as the kernel fills ``__u8 saddr[16]`` (IPv4 in the first 4)."""
    return list(ipaddress.ip_address(text).packed.ljust(16, b"\0"))


@pytest.fixture(autouse=True)
def _tcpstates_script(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(demo.EVENT_SCRIPTS, "tcpstates", _tcpstates)


def make_app() -> LmpApp:
    return make_snapshot_app(PROGRAMS)


def test_procstat_bytes_with_units_80x24(snap_compare) -> None:  # noqa: ANN001
    async def run_procstat(pilot: Pilot) -> None:
        await start(pilot, "procstat")

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_procstat)


def test_tcpstates_endpoints_joined_160x45(snap_compare) -> None:  # noqa: ANN001
    async def run_tcpstates(pilot: Pilot) -> None:
        await start(pilot, "tcpstates")

    assert snap_compare(make_app(), terminal_size=(160, 45), run_before=run_tcpstates)
