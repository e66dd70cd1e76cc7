"""How the app makes sessions for Hub programs: the real thing, or a stand-in (``--demo``,
tests) with the same ``SessionFactory`` signature."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..runtime.distribution.hub import HubProgram
from ..runtime.kernel.attachments import Interface
from ..runtime.runs.session import LiveSession, Session


@dataclass(frozen=True, slots=True)
class RunSettings:
    """What a run is started with: the program's parameter values, its export buffer's size in
    bytes and the interface its XDP/TC programs attach to (None: as the package ships them)."""

    values: dict[str, Any] = field(default_factory=dict)
    ring_size: int | None = None
    interface: Interface | None = None


SessionFactory = Callable[[HubProgram, RunSettings], Session]


def live_session(program: HubProgram, settings: RunSettings) -> Session:
    """The real thing: load and attach ``program`` on this kernel (when started)."""
    return LiveSession(
        program.package,
        settings.values,
        ring_size=settings.ring_size,
        interface=settings.interface,
    )


def remote_sessions(hosts: list[str], lmp: str = "lmp", ssh: str = "ssh") -> SessionFactory:
    """Programs run by ``lmp`` on ``hosts`` over ssh, one view merging them (a ``host``
    column), with the values the form gave as the program's options there."""
    from ..runtime.format.params import command_line
    from ..runtime.runs.fleet import fleet_factory

    make = fleet_factory(hosts, lmp, ssh)

    def factory(program: HubProgram, settings: RunSettings) -> Session:
        return make(program.name, command_line(program.package, settings.values))

    return factory
