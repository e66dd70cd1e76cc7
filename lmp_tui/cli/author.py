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

from ..runtime.author.templates import DEFAULT_TEMPLATE, TEMPLATES, init_project
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


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    init = sub.add_parser(
        "init",
        help="create an eBPF project from a template",
        description="Create NAME/ with a BPF program, its event header, config.json and a "
        "README, from templates shipped with lmp (no network).",
    )
    init.add_argument("name", help="project name: letters, digits, '_' or '-'")
    init.add_argument(
        "-t",
        "--template",
        choices=TEMPLATES,
        default=DEFAULT_TEMPLATE,
        help="bootstrap: exec/exit tracepoints (default); minimal: one tracepoint",
    )
    init.add_argument("-C", "--directory", default=".", help="create the project in DIR")
    init.set_defaults(func=cmd_init)

    gen = sub.add_parser(
        "gen-wasm-skel",
        help="generate app.c and the wasm skeleton of a built project",
        description="Write <name>.skel.h (the BPF object embedded), <name>.wasm.h (the event "
        "struct), wasm-include/ and app.c (kept if it exists) for the wasm-bpf ABI.",
    )
    gen.add_argument("project", nargs="?", default=".", help="project directory (default .)")
    gen.add_argument("--force", action="store_true", help="overwrite an existing app.c")
    gen.set_defaults(func=cmd_gen_wasm_skel)

    bw = sub.add_parser(
        "build-wasm",
        help="compile app.c to app.wasm (clang --target=wasm32-wasi)",
        description="Compile the project's app.c with clang for wasm32-wasi against wasi-libc.",
    )
    bw.add_argument("project", nargs="?", default=".", help="project directory (default .)")
    bw.add_argument("-o", "--output", help="output file (default: app.wasm in the project)")
    bw.add_argument("-a", "--cflags", action="append", default=[], help="extra clang flag")
    bw.set_defaults(func=cmd_build_wasm)
