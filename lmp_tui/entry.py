"""The console scripts ``lmp`` and ``lmp-tui``: stop signals are taken first (``stops``),
then the command is imported and run."""

from __future__ import annotations

from .stops import quit_while_importing, take_signals


def lmp() -> int:
    take_signals(quit_while_importing("lmp"))
    from .cli import main

    return main()


def lmp_tui() -> int:
    take_signals(quit_while_importing("lmp-tui"))
    from .app import main

    return main()
