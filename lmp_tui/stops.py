"""What a stop signal does to an ``lmp`` or ``lmp-tui`` command, from its first line on.

Exit statuses after a signal: Ctrl-C (SIGINT), SIGTERM and SIGHUP end an ``lmp`` command with
status 128 + the signal's number (130, 143, 129), the number a shell reports for a command a
signal ended, once whatever was running is detached and written out. So ``lmp run x && next``
does not go on to ``next`` after a Ctrl-C, and a script can tell a run that was cut short from
one that ran its course (``--duration`` ends a run with status 0). It holds for every kind of
run: a wasm app that leaves its loop when asked gets it too, not the 0 of an app that ended by
itself. It is an exit status, not death by the signal re-raised: the same number for the shell,
and the summary, the recording's last frames and stdout are all written out before it.

While the commands are being imported (numpy, wasmtime, textual: 50 to 300 ms) nothing is
loaded or written yet: a signal then ends ``lmp`` or ``lmp-tui`` at once, with one line on
stderr and that status, instead of Python's KeyboardInterrupt traceback from the middle of an
import. Each ``main`` takes the signals over as soon as its command is imported. A SIGHUP the
parent set to be ignored (``nohup``) stays ignored throughout.

What runs before this module (the interpreter's start-up and the console script's own
``import re``: 20 to 40 ms) is Python's, and still answers Ctrl-C with a traceback, or, when the
KeyboardInterrupt lands in a finalizer, ignores it (a second Ctrl-C then stops the run).
"""

from __future__ import annotations

# Only what the interpreter has loaded by now (os; signal's enum is re's, which the console
# script imports): each millisecond spent importing here is one more in which Ctrl-C still
# gets Python's traceback. typing alone would be 10 ms.
import os
import signal

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import FrameType
    from typing import Any

    Handler = Callable[[int, FrameType | None], Any]

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""The signals that end a run cleanly (``lmp run`` detaches, a recording is closed)."""

_SAID: dict[int, str] = {
    signal.SIGINT: "interrupted",
    signal.SIGTERM: "terminated (SIGTERM)",
    signal.SIGHUP: "hung up (SIGHUP)",
}


def exit_status(signum: int) -> int:
    """The status for a command a signal ended: 128 + its number, as a shell reports it."""
    return 128 + signum


def said(signum: int) -> str:
    """How the one line on stderr names a stop by ``signum``: ``interrupted`` for Ctrl-C."""
    return _SAID.get(signum) or signal.Signals(signum).name


class Stopped(KeyboardInterrupt):
    """A stop signal while a command gets ready (resolving, downloading, parsing).

    A ``KeyboardInterrupt`` so that it unwinds as Ctrl-C does, through every ``finally``, and
    what stops on Ctrl-C (the wasm host's second-signal stop) stops on SIGTERM and SIGHUP too.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(said(signum))
        self.signum = signum


def raise_stopped(signum: int, _frame: FrameType | None) -> None:
    """What SIGTERM and SIGHUP do once a command is imported (SIGINT: Python's own
    ``KeyboardInterrupt``, which asyncio recognises)."""
    raise Stopped(signum)


def take_signals(handler: Handler, sigint: Handler | None = None) -> dict[int, Any]:
    """Install ``handler`` (``sigint`` for SIGINT, when given) for each stop signal; the
    handlers it replaced, to put back. SIGHUP stays ignored when the parent ignores it (what
    ``nohup`` asks); SIGINT and SIGTERM are always taken: a run started with ``&`` from a script
    inherits an ignored SIGINT, and ``kill -INT`` must still detach its programs."""
    return {
        sig: signal.signal(sig, sigint if sigint is not None and sig == signal.SIGINT else handler)
        for sig in STOP_SIGNALS
        if sig != signal.SIGHUP or signal.getsignal(sig) is not signal.SIG_IGN
    }


def quit_while_importing(prog: str) -> Handler:
    def handler(signum: int, _frame: FrameType | None) -> None:
        # Nothing to unwind or flush yet: one line, then go (os._exit, since an exception
        # raised inside an import can come out as a RuntimeError or a half-initialised module).
        try:
            os.write(2, f"{prog}: {said(signum)}\n".encode())
        finally:  # also when stderr is gone (a hung-up terminal): the status still tells
            os._exit(exit_status(signum))

    return handler
