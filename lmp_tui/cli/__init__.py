"""``lmp``: the command line of lmp-tui.

Each command group lives in its own module with a ``register(subparsers)`` function. Every
``LmpError`` becomes one line on stderr and a non-zero exit; there are no tracebacks for bad input.
"""

from __future__ import annotations

import argparse
import contextlib
import sys

from ..runtime.errors import LmpError
from . import author, distribution, recording, run
from .common import err

COMMAND_MODULES = (run, recording, distribution, author)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lmp", description="Run, build and share eBPF programs (LMP / eunomia-bpf compatible)."
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return p


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
        return int(args.func(args) or 0)
    except LmpError as exc:
        err(str(exc))
        return exc.exit_code
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            sys.stdout.close()
        return 0
    except KeyboardInterrupt:
        return 130
