"""``lmp init``, ``lmp gen-wasm-skel``, ``lmp build-wasm``: the author workflow.

    lmp init hello && cd hello
    sudo lmp build            # package.json (lmp run.py)
    lmp gen-wasm-skel         # app.c + headers embedding the BPF object
    lmp build-wasm            # app.wasm
    sudo lmp run app.wasm

Progress goes to stderr; the path of what was made goes to stdout.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..runtime.author.templates import init_project
from ..runtime.author.wasm_build import build_wasm, gen_wasm_skel


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def cmd_init(args: argparse.Namespace) -> int:
    project = init_project(args.name, args.template, Path(args.directory), log=_log)
    print(project.path)
    return 0


def cmd_gen_wasm_skel(args: argparse.Namespace) -> int:
    result = gen_wasm_skel(Path(args.project), force=args.force, log=_log)
    for path in result.written:
        print(path)
    return 0


def cmd_build_wasm(args: argparse.Namespace) -> int:
    out = build_wasm(
        Path(args.project),
        Path(args.output) if args.output else None,
        args.cflags,
        log=_log,
    )
    print(out)
    return 0
