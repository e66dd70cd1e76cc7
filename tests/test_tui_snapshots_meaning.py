"""SVG snapshots of event tables whose cells show what the fields mean: procstat's pages as
bytes with units, tcpstates' addresses joined with their ports and its states as one
``OLD → NEW`` column without prefix, durations with units (ms), opensnoop's errno and flag
names, and a time column first. Each at 80x24 (the narrow layout: no side panels) and 160x45.
Fed by the deterministic demo sessions; stored under tests/snapshots/.

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

# A fixed list: snapshots must not change when the Hub grows.
PROGRAMS = ("opensnoop", "procstat", "tcpstates")


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


# open(2) flags as x86_64 defines them (asm-generic/fcntl.h): fixed numbers, not this host's os.O_*
O_RDONLY, O_WRONLY, O_CREAT, O_TRUNC, O_DIRECTORY, O_CLOEXEC = (
    0,
    0o1,
    0o100,
    0o1000,
    0o200000,
    0o2000000,
)
ENOENT, EACCES = 2, 13
# (comm, path, flags, -errno or 0 for a file descriptor): what a few programs open, and fail to
OPENS = [
    ("bash", "/etc/passwd", O_RDONLY | O_CLOEXEC, 0),
    ("bash", "/home/me/.bash_history", O_WRONLY | O_CREAT | O_TRUNC, 0),
    ("python3", "/usr/lib/python3.11/__pycache__", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0),
    ("python3", "/usr/lib/python3.11/site.pyc", O_RDONLY | O_CLOEXEC, -ENOENT),
    ("nginx", "/var/log/nginx/access.log", O_WRONLY | O_CREAT | O_TRUNC, -EACCES),
    ("sshd", "/etc/ssh/sshd_config", O_RDONLY, 0),
    ("cron", "/etc/shadow", O_RDONLY | O_CLOEXEC, -EACCES),
    ("node", "/srv/app/missing.json", O_RDONLY | O_CLOEXEC, -ENOENT),
]


def _opensnoop(rng: random.Random) -> Iterator[list[dict[str, Any]]]:
    """An opensnoop script for the demo (it has none of its own): a few opens a second, some
    failing, with the flags programs pass; a success returns the next free descriptor."""
    for second in range(demo.SECONDS):
        rows = []
        for _ in range(2 + second % 3):
            comm, path, flags, error = rng.choice(OPENS)
            pid = 4000 + demo.COMMS.index(comm)
            rows.append(
                {
                    "pid": pid,
                    "tid": pid,
                    "uid": 0 if comm in ("sshd", "cron") else 1000,
                    "ret": error or rng.randint(3, 12),
                    "flags": flags,
                    "comm": comm,
                    "fname": path,
                }
            )
        yield rows


@pytest.fixture(autouse=True)
def _event_scripts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(demo.EVENT_SCRIPTS, "tcpstates", _tcpstates)
    monkeypatch.setitem(demo.EVENT_SCRIPTS, "opensnoop", _opensnoop)


def make_app() -> LmpApp:
    return make_snapshot_app(PROGRAMS)


def test_procstat_bytes_with_units_80x24(snap_compare) -> None:  # noqa: ANN001
    async def run_procstat(pilot: Pilot) -> None:
        await start(pilot, "procstat")

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_procstat)


def test_procstat_grouped_by_process_160x45(snap_compare) -> None:  # noqa: ANN001
    """One row per process (python3's three threads once), largest RSS first, cron exited."""

    async def run_procstat(pilot: Pilot) -> None:
        await start(pilot, "procstat")
        await pilot.press("p")  # the panels aside: every memory column in view

    assert snap_compare(make_app(), terminal_size=(160, 45), run_before=run_procstat)


def test_procstat_threads_on_demand_80x24(snap_compare) -> None:  # noqa: ANN001
    async def run_procstat(pilot: Pilot) -> None:
        await start(pilot, "procstat")
        await pilot.press("H")

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_procstat)


async def run_tcpstates(pilot: Pilot) -> None:
    await start(pilot, "tcpstates")


async def run_opensnoop(pilot: Pilot) -> None:
    await start(pilot, "opensnoop")


def test_tcpstates_endpoints_joined_160x45(snap_compare) -> None:  # noqa: ANN001
    async def without_panels(pilot: Pilot) -> None:
        await run_tcpstates(pilot)
        # bcc's columns take 122 cells, more than the table has beside the panels: p hides them
        await pilot.press("p")
        await pilot.pause(0.2)

    # time comm saddr:sport daddr:dport oldstate→newstate delta_us, every one whole
    assert snap_compare(make_app(), terminal_size=(160, 45), run_before=without_panels)


def test_tcpstates_endpoints_joined_80x24(snap_compare) -> None:  # noqa: ANN001
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_tcpstates)


def test_tcpstates_transition_and_ms_80x24(snap_compare) -> None:  # noqa: ANN001
    async def to_the_last_column(pilot: Pilot) -> None:
        await run_tcpstates(pilot)
        await pilot.press(*["right"] * 5)  # the table scrolls to the cursor's column: delta_us
        await pilot.pause(0.2)

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=to_the_last_column)


def test_opensnoop_errno_and_flag_names_160x45(snap_compare) -> None:  # noqa: ANN001
    assert snap_compare(make_app(), terminal_size=(160, 45), run_before=run_opensnoop)


def test_opensnoop_errno_and_flag_names_80x24(snap_compare) -> None:  # noqa: ANN001
    # time first, ENOENT/EACCES in ret, O_RDONLY|O_CLOEXEC and O_WRONLY|O_CREAT|O_TRUNC whole
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_opensnoop)
