"""``lmp``: the command line of lmp-tui.

The commands are defined in ``parser``; what each does lives in a module of its group (``run``,
``recording``, ``distribution``, ``author``), imported only when that command runs. Every
``LmpError`` becomes one line on stderr and a non-zero exit; there are no tracebacks for bad input.
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
    except KeyboardInterrupt:
        return 130
    except RuntimeError as exc:
        # Python 3.11 wraps what interrupts a class body's __set_name__ (an import) this way
        if isinstance(exc.__cause__, KeyboardInterrupt):
            return 130
        raise


def _main(argv: list[str]) -> int:
    # Everything after the first `--` belongs to the program, not to lmp.
    program_args: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, program_args = argv[:i], argv[i + 1 :]
    args = parser().parse_args(argv)
    args.program_args = program_args
    func = command(args.func)
    # The command is imported: Ctrl-C is now answered (a summary, everything detached) rather
    # than ending the process as it does while nothing is loaded yet (``lmp_tui.entry``).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    return int(func(args) or 0)


def describe_os_error(exc: OSError) -> str:
    """``cannot write /x: No space left on device`` from any OSError, in one line."""
    what = exc.strerror or str(exc) or type(exc).__name__
    return f"{exc.filename}: {what}" if exc.filename else what
