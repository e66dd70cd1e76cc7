"""Which columns an event table shows first, per program, and in what order.

One table for every program whose struct has more than a screen can show: the rest show every
field in struct order, with an address and its port as one column. ``time`` stands for the
table's arrival-time column, which leads every table. Names a layout does not have are skipped
(a package may change), and every column stays available in the chooser (``c``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    # bcc's tcpstates: COMM LADDR:LPORT RADDR:RPORT OLDSTATE -> NEWSTATE MS. delta_us keeps
    # its field's name (sorting and the chooser go by it); its cells carry their unit (1.2 ms).
    "tcpstates": ("comm", "saddr:sport", "daddr:dport", "oldstate→newstate", "delta_us"),
    # procstat's memory fields are page counts shown as bytes: ``size`` is the whole RSS, as
    # top's RES beside VIRT and SWAP; its parts after them.
    "procstat": ("pid", "comm", "size", "vsize", "vswap", "rssanon", "rssfile", "rssshmem"),
    "bootstrap": (
        "time",
        "exit_event",
        "comm",
        "pid",
        "ppid",
        "exit_code",
        "duration_ns",
        "filename",
    ),
}


def default_columns(
    program: str, available: Sequence[str], joined: Mapping[str, str], time: str
) -> list[str]:
    """The columns a table of ``program`` shows before the user picks: its row of
    ``DEFAULT_COLUMNS``, else every column but the fields a joined column already shows
    (``joined``: field name -> joined column's name). ``time`` (the time column's name)
    always comes first."""
    wanted = DEFAULT_COLUMNS.get(program)
    if wanted is None:
        names = [n for n in available if n not in joined]
    else:
        names = [time if n == "time" else n for n in wanted]
    return usable([time, *names], available)


def usable(names: Sequence[str], available: Sequence[str]) -> list[str]:
    """``names`` that ``available`` has, each once, in the order given."""
    have = set(available)
    seen: set[str] = set()
    out = []
    for n in names:
        if n in have and n not in seen:
            seen.add(n)
            out.append(n)
    return out


def with_choice(
    shown: Sequence[str], checked: Sequence[str], available: Sequence[str]
) -> list[str]:
    """The columns to show after the chooser: ``shown`` (in its order) less what was unchecked;
    a newly checked column goes after the shown column that precedes it in ``available``."""
    keep = set(checked)
    out = [n for n in shown if n in keep]
    for n in available:
        if n not in keep or n in out:
            continue
        before = available[: available.index(n)]
        at = max((out.index(b) + 1 for b in before if b in out), default=0)
        out.insert(at, n)
    return out
