"""``lmp record`` and ``lmp replay``: sessions to and from ``.lmprec`` files."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from ..runtime.runs.pipeline import Pipeline
from ..runtime.runs.replay import ReplaySession
from ..runtime.runs.sinks import TextSink
from . import run
from .common import err
from .distribution import add_transport_args


def cmd_record(args: argparse.Namespace) -> int:
    return run.run(run.RunRequest.from_args(args, quiet=True))


def cmd_replay(args: argparse.Namespace) -> int:
    session = ReplaySession(Path(args.file), None if args.max_speed else args.speed)
    return asyncio.run(_replay(session, args.json))


async def _replay(session: ReplaySession, json_mode: bool) -> int:
    stop = asyncio.Event()  # the reader went away (| head): no need to read the rest
    text = TextSink(session.spec, sys.stdout.fileno(), json_mode, on_failed=stop.set)
    pipeline = Pipeline(session, [text])
    try:
        await pipeline.run(until=stop)
    finally:
        session.close()
        pipeline.close()
    if text.error and not text.broken_pipe:
        err(f"cannot write the output: {text.error}")
        return 1
    if session.problem:
        err(session.problem)
        return 1 if session.source.reader.report.corrupt else 0
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rec = sub.add_parser(
        "record",
        help="run a program and record what it sees to a .lmprec file",
        description="Run a program and record its events (program options after `--`).",
    )
    rec.add_argument("program", help="built-in name, or path to package.json / .bpf.o")
    rec.add_argument("--duration", type=float, default=None, metavar="S", help="stop after S s")
    rec.add_argument("--verbose", action="store_true", help="include libbpf debug output")
    rec.add_argument("--no-cache", action="store_true", help="fetch again even if cached")
    run.add_ring_size_option(rec)
    add_transport_args(rec)
    rec.set_defaults(func=cmd_record, json=False)
    run.add_record_options(rec, required=True)

    rep = sub.add_parser("replay", help="print a recording exactly as `lmp run` printed it")
    rep.add_argument("file", help="a .lmprec recording")
    rep.add_argument("-j", "--json", action="store_true", help="print JSON lines")
    pace = rep.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=float, default=1.0, metavar="X", help="replay speed factor")
    pace.add_argument("--max-speed", action="store_true", help="replay as fast as possible")
    rep.set_defaults(func=cmd_replay)
