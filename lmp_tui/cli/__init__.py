"""``lmp``: the command line of lmp-tui.

The commands are defined in ``parser``; what each does lives in a module of its group (``run``,
``recording``, ``distribution``, ``author``), imported only when that command runs. Every
``LmpError`` becomes one line on stderr and a non-zero exit; there are no tracebacks for bad input.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
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
    argv = list(sys.argv[1:] if argv is None else argv)
    # Everything after the first `--` belongs to the program, not to lmp.
    program_args: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, program_args = argv[:i], argv[i + 1 :]
    args = parser().parse_args(argv)
    args.program_args = program_args
    try:
        return int(command(args.func)(args) or 0)
    except LmpError as exc:
        err(str(exc))
        return exc.exit_code
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            sys.stdout.close()
        return 0
    except KeyboardInterrupt:
        return 130
