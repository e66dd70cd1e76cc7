"""The console scripts ``lmp`` and ``lmp-tui``.

A Ctrl-C while the commands are still being imported ends the process the way a shell expects
(killed by SIGINT, status 130) instead of with a KeyboardInterrupt traceback; each ``main``
takes Ctrl-C over, and answers it in one line, as soon as it can.
"""

from __future__ import annotations

import signal


def lmp() -> int:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    from .cli import main

    return main()


def lmp_tui() -> int:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    from .app import main

    return main()
