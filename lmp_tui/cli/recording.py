"""``lmp record`` and ``lmp replay``: sessions to and from ``.lmprec`` files."""

from __future__ import annotations

import argparse
import asyncio
import os
import stat
import sys
from pathlib import Path

from ..runtime.runs.pipeline import Pipeline
from ..runtime.runs.replay import ReplaySession
from ..runtime.runs.sinks import TextSink
from ..runtime.runs.stream import StreamSession
from . import run
from .common import err


def cmd_record(args: argparse.Namespace) -> int:
    return run.run(run.RunRequest.from_args(args, quiet=True))


def cmd_replay(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if args.file == "-":
        if not stat.S_ISREG(os.fstat(sys.stdin.fileno()).st_mode):
            # a live stream: printed as it comes (no pacing: the program itself paces it)
            stream = StreamSession(os.dup(sys.stdin.fileno()), "standard input").start()
            return asyncio.run(_replay(stream, args.json))
        path = Path("/dev/stdin")  # a file given on stdin (< FILE) replays as that file
    session = ReplaySession(path, None if args.max_speed else args.speed)
    return asyncio.run(_replay(session, args.json))


async def _replay(session: ReplaySession | StreamSession, json_mode: bool) -> int:
    stop = asyncio.Event()  # the reader went away (| head): no need to read the rest
    text = TextSink(session.spec, sys.stdout.fileno(), json_mode, on_failed=stop.set)
    pipeline = Pipeline(session, [text])
    try:
        await pipeline.run(until=stop)
    finally:
        session.close()
        pipeline.close()
    if text.error:
        return run.output_failed(text)
    if session.problem:
        err(session.problem)
        if isinstance(session, StreamSession):
            return 1
        return 1 if session.source.reader.report.corrupt else 0
    return 0
