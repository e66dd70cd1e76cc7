"""What fields mean for the views: which one keys an event (a pid) and which labels it (a comm),
guessed from names and types; which make time series, by their meaning (``format.roles``); which
hold signal numbers."""

from __future__ import annotations

import re
import signal
from collections.abc import Mapping

from ...format.layout import Field, FieldKind, StructLayout
from ...format.roles import Meaning, Role, meanings

KEY_FIELD_NAMES = ("pid", "tgid", "tid")
THREAD_FIELD_NAMES = {"pid": "tid", "tgid": "pid"}
"""The field that names a thread of the key's process: bcc's ``pid``/``tid`` (the kernel's
``tgid``/``pid``)."""
EXIT_FIELD_NAMES = ("exited",)
LABEL_FIELD_NAMES = ("comm", "task", "name")
SIGNAL_FIELD_NAMES = frozenset({"sig", "signal", "signo", "signum"})
SERIES_KINDS = frozenset({FieldKind.INT, FieldKind.FLOAT, FieldKind.BOOL})
SERIES_ROLES = frozenset({Role.GAUGE, Role.DURATION, Role.COUNTER})
"""What a time series says something about: a level, a time taken, a running total's rate. An
id's, a port's, a timestamp's or a flag word's mean over a second is a number of no use."""


def is_signal_field(f: Field) -> bool:
    """An integer field that holds a signal number (shown and filtered by signal name)."""
    return f.kind == FieldKind.INT and f.name.lower() in SIGNAL_FIELD_NAMES


def signal_name(number: int) -> str:
    """``SIGUSR1`` for 10; real-time signals as ``SIGRTMIN+n``; unknown numbers as digits."""
    try:
        return signal.Signals(number).name
    except ValueError:
        rtmin, rtmax = int(signal.SIGRTMIN), int(signal.SIGRTMAX)
        if rtmin < number <= rtmax:
            return f"SIGRTMIN+{number - rtmin}"
        return str(number)


def parse_signal(text: str) -> int:
    """A signal number from ``10``, ``SIGUSR1``, ``usr1`` or ``SIGRTMIN+2``."""
    t = text.strip().upper()
    if re.fullmatch(r"[+-]?\d+", t):
        return int(t)
    name = t if t.startswith("SIG") else "SIG" + t
    if m := re.fullmatch(r"SIGRTMIN\+(\d+)", name):
        return int(signal.SIGRTMIN) + int(m.group(1))
    try:
        return int(signal.Signals[name])
    except KeyError:
        raise ValueError(f"{text!r} is not a signal name or number") from None


def series_fields(
    layout: StructLayout, meaning: Mapping[str, Meaning] | None = None
) -> list[Field]:
    """Fields that make a time series: scalar gauges, durations and counters (as ``meaning``
    says, inferred from the layout alone when not given)."""
    meaning = meanings(layout) if meaning is None else meaning
    return [
        f
        for f in layout.fields
        if f.kind in SERIES_KINDS
        and not is_signal_field(f)
        and f.name in meaning
        and meaning[f.name].role in SERIES_ROLES
    ]


def key_field(layout: StructLayout) -> Field | None:
    """The field that names what an event describes (a pid), or None."""
    for name in KEY_FIELD_NAMES:
        for f in layout.fields:
            if f.name == name and f.kind == FieldKind.INT:
                return f
    return None


def thread_field(layout: StructLayout, key: Field | None) -> Field | None:
    """The integer field naming the thread within ``key``'s process, or None."""
    name = THREAD_FIELD_NAMES.get(key.name) if key is not None else None
    for f in layout.fields:
        if f.name == name and f.kind == FieldKind.INT:
            return f
    return None


def exit_field(layout: StructLayout) -> Field | None:
    """A field that marks an event as its key's last report (procstat's ``exited``)."""
    for f in layout.fields:
        if f.name in EXIT_FIELD_NAMES and f.kind in (FieldKind.BOOL, FieldKind.INT):
            return f
    return None


def describes_state(layout: StructLayout, meaning: Mapping[str, Meaning]) -> bool:
    """Events that report a key's state (a gauge, as procstat's memory) rather than something
    that happened: their table lists each key's latest, as top does."""
    return key_field(layout) is not None and any(
        meaning[f.name].role == Role.GAUGE for f in series_fields(layout, meaning)
    )


def label_field(layout: StructLayout) -> Field | None:
    """A text field that labels a key (``comm``), or None."""
    for name in LABEL_FIELD_NAMES:
        for f in layout.fields:
            if f.name == name and f.kind == FieldKind.STRING:
                return f
    return None


def c_string(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")
