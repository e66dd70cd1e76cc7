"""``lmp run``, ``lmp list``, ``lmp build``.

Ctrl-C and SIGTERM detach everything and print a one-line summary on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

from ..runtime import hub, params
from ..runtime.build import build
from ..runtime.errors import NotFoundError
from ..runtime.output import BatchPrinter
from ..runtime.package import Package, load_package
from ..runtime.recording import Recorder, header_for
from ..runtime.session import LiveSession
from .common import err, write_lines


def resolve(target: str) -> Package:
    """A local path (package.json, .bpf.o), else a built-in Hub name."""
    path = Path(target)
    if path.exists():
        return load_package(path)
    if "/" in target or target.endswith((".json", ".o", ".wasm")):
        raise NotFoundError(f"{target}: no such file")
    return hub.find_builtin(target).package


# -- run -------------------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    package = resolve(args.program)
    values, verbose = params.parse_args(package, args.program_args)
    session = LiveSession(package, values, verbose=verbose or args.verbose)
    return asyncio.run(_run(session, args, quiet=getattr(args, "quiet", False)))


async def _run(session: LiveSession, args: argparse.Namespace, quiet: bool = False) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    started = time.monotonic()
    events = drops = 0
    recorder: Recorder | None = None
    try:
        session.start()
        if args.record:
            recorder = Recorder(Path(args.record), header_for(session), args.max_size << 20)
        source = session.source
        sample = session.choice.sample
        printer = BatchPrinter(
            session.decoder,
            session.snapshot_decoder,
            args.json,
            sample.type if sample else "default_kv",
            sample.unit if sample else "(unit)",
        )
        kind = {
            "ringbuf": "ring buffer",
            "perf": "perf event",
            "sample": "map sampling",
            "none": "nothing (no export map)",
        }[session.choice.kind]
        err(f"running {session.package.name}: waiting for events from {kind}... (Ctrl-C to stop)")
        if not quiet and (header := printer.header()) is not None:
            write_lines([header])

        async def pump() -> None:
            nonlocal events, drops
            if source is None:
                await stop.wait()
                return
            async for batch in source:
                events += batch.count
                drops += batch.drops
                if recorder is not None:
                    recorder.write(batch)
                if not quiet:
                    write_lines(printer.lines(batch))

        task = asyncio.ensure_future(pump())
        waiter = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait(
            {task, waiter}, timeout=args.duration, return_when=asyncio.FIRST_COMPLETED
        )
        if source is not None:
            source.close()
        for t in (task, waiter):
            t.cancel()
        if task in done and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
        with contextlib.suppress(asyncio.CancelledError):
            await task
    finally:
        session.close()
        if recorder is not None:
            recorder.close()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    err(
        f"{session.package.name}: {events} events, {drops} dropped in "
        f"{time.monotonic() - started:.1f} s; detached"
    )
    if recorder is not None:
        note = f" ({recorder.stopped_reason})" if recorder.stopped_reason else ""
        err(f"recorded {recorder.frames} frames, {recorder.bytes} bytes to {recorder.path}{note}")
    return 0


# -- list ------------------------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    rows: list[dict[str, Any]] = []
    for prog in hub.builtin_programs():
        why = prog.unavailable()
        rows.append(
            {
                "name": prog.name,
                "category": prog.category,
                "summary": prog.summary or prog.package.description,
                "runnable": why is None,
                "reason": why or "",
            }
        )
    if args.json:
        for r in rows:
            print(json.dumps(r, sort_keys=True))
        return 0
    width = max((len(r["name"]) for r in rows), default=4)
    cat_w = max((len(r["category"]) for r in rows), default=8)
    print(f"{'NAME':<{width}}  {'CATEGORY':<{cat_w}}  {'RUNS HERE':<9}  SUMMARY")
    for r in rows:
        status = "yes" if r["runnable"] else "no"
        line = f"{r['name']:<{width}}  {r['category']:<{cat_w}}  {status:<9}  {r['summary']}"
        print(line + (f" ({r['reason']})" if r["reason"] else ""))
    return 0


# -- build -----------------------------------------------------------------------------------------


def cmd_build(args: argparse.Namespace) -> int:
    result = build(
        Path(args.source),
        Path(args.header) if args.header else None,
        Path(args.output) if args.output else None,
        Path(args.vmlinux) if args.vmlinux else None,
        args.cflags,
        log=lambda line: print(line, file=sys.stderr),
    )
    print(result.package_json)
    return 0


def add_record_options(p: argparse.ArgumentParser, required: bool = False) -> None:
    p.add_argument(
        "--record",
        "-o",
        dest="record",
        metavar="FILE",
        required=required,
        help="also record the session to FILE (.lmprec)",
    )
    p.add_argument(
        "--max-size",
        type=int,
        default=1024,
        metavar="MB",
        help="stop recording when the file reaches MB megabytes (default 1024)",
    )


def register(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser(
        "run",
        help="run a program: Hub name, package.json or .bpf.o",
        description="Run a program on this kernel and print its events. "
        "Program options go after `--` (see `lmp run NAME -- --help`).",
    )
    run.add_argument("program", help="built-in name, or path to package.json / .bpf.o")
    run.add_argument("-j", "--json", action="store_true", help="print JSON lines (as ecli -j)")
    run.add_argument(
        "--duration", type=float, default=None, metavar="S", help="stop by itself after S seconds"
    )
    run.add_argument("--verbose", action="store_true", help="include libbpf debug output")
    add_record_options(run)
    run.set_defaults(func=cmd_run)

    ls = sub.add_parser("list", help="list the built-in Hub programs and whether they run here")
    ls.add_argument("--json", action="store_true", help="one JSON object per program")
    ls.set_defaults(func=cmd_list)

    b = sub.add_parser("build", help="compile a .bpf.c into an eunomia package.json")
    b.add_argument("source", nargs="?", default=".", help="project dir or .bpf.c (default .)")
    b.add_argument("header", nargs="?", help="header with the exported struct(s)")
    b.add_argument("-o", "--output", help="output directory (default: the source's)")
    b.add_argument("--vmlinux", help="directory with vmlinux.h (default: from this kernel)")
    b.add_argument("-a", "--cflags", action="append", default=[], help="extra clang flag")
    b.set_defaults(func=cmd_build)
