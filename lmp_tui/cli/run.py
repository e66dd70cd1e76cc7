"""``lmp run``, ``lmp list``, ``lmp build``.

Ctrl-C and SIGTERM detach everything and print a one-line summary on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

from ..runtime import units
from ..runtime.author.build import build
from ..runtime.distribution import fetch, hub
from ..runtime.distribution.fetch import Resolved
from ..runtime.errors import NotFoundError, PackageError
from ..runtime.format import params
from ..runtime.format.package import ExportChoice, Package, parse_package
from ..runtime.runs.session import LiveSession
from ..runtime.stream.output import BatchPrinter
from ..runtime.stream.recording import Recorder, header_for
from ..runtime.stream.writer import ChunkWriter
from .common import err
from .distribution import add_transport_args, progress_printer, transport_options


def resolve(target: str, args: argparse.Namespace | None = None) -> Resolved:
    """A local file, a built-in Hub name, then a URL, OCI reference or remote-Hub name."""
    if not Path(target).exists():
        try:
            builtin = hub.find_builtin(target)
        except NotFoundError:
            pass
        else:
            data = builtin.package_path.read_bytes()
            return Resolved(data, "package", str(builtin.package_path), target, "")
    return fetch.resolve(
        target,
        no_cache=bool(getattr(args, "no_cache", False)),
        options=transport_options(args) if args is not None else None,
        progress=progress_printer(f"fetching {target}"),
    )


def resolve_package(target: str, args: argparse.Namespace | None = None) -> Package:
    found = resolve(target, args)
    if found.kind == "wasm":
        raise PackageError(f"{found.source}: is a WebAssembly app; `lmp run` runs it, not this")
    return parse_package(found.data, found.source, found.name)


# -- run -------------------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    found = resolve(args.program, args)
    if found.kind == "wasm":
        return run_wasm_app(found, args)
    package = parse_package(found.data, found.source, found.name)
    values, verbose = params.parse_args(package, args.program_args)
    session = LiveSession(
        package, values, verbose=verbose or args.verbose, ring_size=ring_size_option(args)
    )
    return asyncio.run(_run(session, args, quiet=getattr(args, "quiet", False)))


def ring_size_option(args: argparse.Namespace) -> int | None:
    """``--ring-size``, rounded up to a power of 2 of pages (saying so when it was)."""
    text = getattr(args, "ring_size", None)
    if not text:
        return None
    size, note = units.ring_size(text)
    if note:
        err(note)
    return size


async def _run(session: LiveSession, args: argparse.Namespace, quiet: bool = False) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    started = time.monotonic()
    events = drops = shed = 0
    recorder: Recorder | None = None
    # stdout is written by a thread of its own: a slow or stuck reader sheds lines, counted,
    # instead of stalling the drain (and Ctrl-C).
    out = None if quiet else ChunkWriter(sys.stdout.fileno())
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
        if out is not None and (header := printer.header()) is not None:
            out.write(header + "\n", 0)

        async def pump() -> None:
            nonlocal events, drops, shed
            if source is None:
                await stop.wait()
                return
            async for batch in source:
                events += batch.count
                drops += batch.drops
                shed += batch.shed
                if recorder is not None:
                    recorder.write(batch)
                if out is not None:
                    out.write(printer.text(batch), batch.count)
                    if out.failed:  # the reader went away (| head) or the disk is full
                        stop.set()

        task = asyncio.ensure_future(pump())
        waiter = asyncio.ensure_future(stop.wait())
        await asyncio.wait(
            {task, waiter}, timeout=args.duration, return_when=asyncio.FIRST_COMPLETED
        )
        waiter.cancel()
        # Detach, then let the source hand over what the kernel still holds: nothing is lost.
        session.stop()
        stop.set()
        await task
    finally:
        session.close()
        if recorder is not None:
            recorder.close()
        if out is not None:
            out.close()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    shed += out.shed_lines if out is not None else 0
    lost = f"{drops} dropped" + (f", {shed} shed (lmp fell behind)" if shed else "")
    err(
        f"{session.package.name}: {events} events, {lost} in "
        f"{time.monotonic() - started:.1f} s; detached"
    )
    if out is not None and out.error and not out.broken_pipe:
        err(f"cannot write the output: {out.error}")
        return 1
    if recorder is not None:
        note = f" ({recorder.stopped_reason})" if recorder.stopped_reason else ""
        err(f"recorded {recorder.frames} frames, {recorder.bytes} bytes to {recorder.path}{note}")
    return 0


def run_wasm_app(found: Resolved, args: argparse.Namespace) -> int:
    """A wasm-bpf or legacy ewasm app: the guest runs, its stdout is the output."""
    from ..runtime.wasm.host import run_wasm

    return run_wasm(
        found.data,
        args.program_args,
        sys.stdout,
        sys.stderr,
        name=Path(found.source).name or "app.wasm",
        duration=args.duration,
    )


# -- list ------------------------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    rows = remote_rows(args) if args.remote else builtin_rows()
    if args.json:
        for r in rows:
            print(json.dumps(r, sort_keys=True))
        return 0
    if args.remote:
        table = [
            (r["name"], r["tag"], r["category"], r["description"], r["reference"]) for r in rows
        ]
        print_table(("NAME", "TAG", "CATEGORY", "DESCRIPTION", "REFERENCE"), table)
    else:
        table = [
            (
                r["name"],
                r["category"],
                "yes" if r["runnable"] else "no",
                r["output"],
                r["summary"] + (f" ({r['reason']})" if r["reason"] else ""),
            )
            for r in rows
        ]
        print_table(("NAME", "CATEGORY", "RUNS HERE", "OUTPUT", "SUMMARY"), table)
    return 0


def builtin_rows() -> list[dict[str, Any]]:
    rows = []
    for prog in hub.builtin_programs():
        why = prog.unavailable()
        choice = prog.package.export()
        rows.append(
            {
                "name": prog.name,
                "category": prog.category,
                "summary": prog.summary or prog.package.description,
                "runnable": why is None,
                "reason": why or "",
                "output": output_summary(prog.package, choice),
                "export": choice.kind,
                "buffer_bytes": prog.package.buffer_bytes(choice),
            }
        )
    return rows


def output_summary(package: Package, choice: ExportChoice) -> str:
    """``ring 4 MiB``, ``perf 256 KiB/CPU``, ``sampled 1 s``: how events leave the kernel."""
    size = units.format_bytes(package.buffer_bytes(choice))
    if choice.kind == "ringbuf":
        return f"ring {size}"
    if choice.kind == "perf":
        return f"perf {size}/CPU"
    if choice.kind == "sample" and choice.sample is not None:
        return f"sampled {choice.sample.interval_ms / 1000:g} s"
    return "-"


def remote_rows(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Programs of the configured remote Hubs, from annotations only (nothing is downloaded)."""
    listing = fetch.remote_programs(options=transport_options(args))
    for problem in listing.problems:
        err(problem)
    return [
        {
            "name": p.name,
            "tag": p.tag,
            "kind": p.kind,
            "category": p.category,
            "description": p.description,
            "fields": list(p.fields),
            "reference": p.reference,
            "hub": str(p.hub),
        }
        for p in listing.programs
    ]


def print_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max([len(h)] + [len(str(r[i])) for r in rows]) for i, h in enumerate(header)]
    for line in [header, *rows]:
        cells = [str(c).ljust(w) for c, w in zip(line[:-1], widths, strict=False)]
        print("  ".join([*cells, str(line[-1])]))


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


def add_ring_size_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--ring-size",
        metavar="SIZE",
        help="size of the program's ring buffer (perf buffer: per CPU) before load, e.g. 4M; "
        "a power of 2 of pages, rounded up",
    )


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
    run.add_argument("--no-cache", action="store_true", help="fetch again even if cached")
    add_ring_size_option(run)
    add_transport_args(run)
    add_record_options(run)
    run.set_defaults(func=cmd_run)

    ls = sub.add_parser("list", help="list the built-in Hub programs and whether they run here")
    ls.add_argument("--json", action="store_true", help="one JSON object per program")
    ls.add_argument("--remote", action="store_true", help="list the configured remote Hubs")
    add_transport_args(ls)
    ls.set_defaults(func=cmd_list)

    b = sub.add_parser("build", help="compile a .bpf.c into an eunomia package.json")
    b.add_argument("source", nargs="?", default=".", help="project dir or .bpf.c (default .)")
    b.add_argument("header", nargs="?", help="header with the exported struct(s)")
    b.add_argument("-o", "--output", help="output directory (default: the source's)")
    b.add_argument("--vmlinux", help="directory with vmlinux.h (default: from this kernel)")
    b.add_argument("-a", "--cflags", action="append", default=[], help="extra clang flag")
    b.set_defaults(func=cmd_build)
