"""``lmp``: the command line of lmp-tui.

The commands are defined in ``parser``; what each does lives in a module of its group (``run``,
``recording``, ``distribution``, ``author``), imported only when that command runs. Every
``LmpError`` becomes one line on stderr and a non-zero exit; there are no tracebacks for bad input.
Ctrl-C, SIGTERM and SIGHUP before a run starts are one line too (``lmp: interrupted``), with the
status ``lmp_tui.stops`` explains (128 + the signal's number).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
from collections.abc import Callable

from ..runtime.errors import LmpError
from ..stops import Stopped, exit_status, raise_stopped, said, take_signals
from .common import err
from .parser import parser


def command(name: str) -> Callable[[argparse.Namespace], int]:
    """The function a command runs: ``"module:function"`` under ``lmp_tui.cli``."""
    module, _, function = name.partition(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), function)


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except LmpError as exc:
        err(str(exc))
        return exc.exit_code
    except BrokenPipeError:
        # `lmp ... | head`: quiet, with the status of a tool killed by SIGPIPE
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except OSError as exc:
        # disk full, I/O error, permission denied on a file lmp writes (an unwritable home...)
        err(describe_os_error(exc))
        return 1
    except KeyboardInterrupt as exc:
        return interrupted(exc)
    except RuntimeError as exc:
        # Python 3.11 wraps what interrupts a class body's __set_name__ (an import) this way
        if isinstance(exc.__cause__, KeyboardInterrupt):
            return interrupted(exc.__cause__)
        raise


def interrupted(exc: KeyboardInterrupt) -> int:
    """A signal that came before the command had anything to detach: one line, 128 + n."""
    signum = exc.signum if isinstance(exc, Stopped) else signal.SIGINT
    err(said(signum))
    return exit_status(signum)


def _main(argv: list[str]) -> int:
    # Everything after the first `--` belongs to the program, not to lmp.
    program_args: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, program_args = argv[:i], argv[i + 1 :]
    args = parser().parse_args(argv)
    args.program_args = program_args
    func = command(args.func)
    # The command is imported: a stop signal now unwinds (``Stopped``) and is answered in one
    # line by ``main``, rather than ending the process as it does while nothing is loaded yet
    # (``lmp_tui.stops``); ``lmp run`` takes the signals over again while it runs.
    previous = take_signals(raise_stopped, sigint=signal.default_int_handler)
    try:
        return int(func(args) or 0)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def describe_os_error(exc: OSError) -> str:
    """``cannot write /x: No space left on device`` from any OSError, in one line."""
    what = exc.strerror or str(exc) or type(exc).__name__
    return f"{exc.filename}: {what}" if exc.filename else what
