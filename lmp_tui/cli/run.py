"""``lmp run``, ``lmp list``, ``lmp build``.

Ctrl-C, SIGTERM and SIGHUP detach everything, print a one-line summary on stderr and exit with
128 + the signal's number (``lmp_tui.stops`` says why), whatever ran: a package or a wasm app.
"""

from __future__ import annotations

import argparse
import difflib
import json
import select
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..runtime import units
from ..runtime.distribution import hub
from ..runtime.distribution.transport import Resolved, TransportOptions
from ..runtime.errors import NotFoundError
from ..runtime.format import params
from ..runtime.format.package import ExportSpec, Package, parse_package
from ..runtime.kernel import probe
from ..runtime.kernel.attachments import Interface
from ..runtime.runs.pipeline import Pipeline
from ..runtime.runs.session import LiveSession
from ..runtime.runs.sinks import RecorderSink, TextSink
from ..runtime.untrusted import shown
from ..stops import exit_status, take_signals
from .common import err, progress_printer, transport_options


@dataclass(frozen=True, slots=True)
class RunRequest:
    """``lmp run`` and ``lmp record``, parsed once from the command line."""

    target: str
    program_args: tuple[str, ...] = ()
    json: bool = False
    quiet: bool = False
    """No text output (``lmp record``)."""
    duration: float | None = None
    verbose: bool = False
    no_cache: bool = False
    ring_size: int | None = None
    interface: Interface | None = None
    transport: TransportOptions = field(default_factory=TransportOptions)
    record: Path | None = None
    max_bytes: int = 1 << 30
    metrics: str | None = None
    """Where to serve the run's Prometheus metrics (``--metrics HOST:PORT``), if anywhere."""

    @classmethod
    def from_args(cls, args: argparse.Namespace, quiet: bool = False) -> RunRequest:
        # -o -: standard output is the recording's; a stream has no disk to fill, no size limit
        streams = args.record == "-"
        return cls(
            target=args.program,
            program_args=tuple(args.program_args),
            json=bool(getattr(args, "json", False)),
            quiet=quiet or streams,
            duration=args.duration,
            verbose=args.verbose,
            no_cache=args.no_cache,
            ring_size=ring_size_option(args.ring_size),
            interface=interface_option(args.ifname, args.ifindex),
            transport=transport_options(args),
            record=Path(args.record) if args.record else None,
            max_bytes=UNLIMITED if streams else args.max_size << 20,
            metrics=getattr(args, "metrics", None),
        )


def resolve(target: str, transport: TransportOptions, no_cache: bool = False) -> Resolved:
    """A local file, a built-in Hub name, then a URL, OCI reference or remote-Hub name."""
    if not Path(target).exists():
        try:
            builtin = hub.find_builtin(target)
        except NotFoundError:
            pass
        else:
            data = builtin.package_path.read_bytes()
            return Resolved(data, "package", str(builtin.package_path), target, "", shipped=True)
    from ..runtime.distribution import fetch  # httpx: only for what is not here already

    try:
        return fetch.resolve(
            target,
            no_cache=no_cache,
            options=transport,
            progress=progress_printer(f"fetching {target}"),
        )
    except NotFoundError as exc:
        if guess := close_names(target):
            raise NotFoundError(
                f"no program {shown(target, 80)!r}: did you mean {' or '.join(guess)}? "
                "(lmp list shows them all)"
            ) from exc
        raise


def close_names(target: str) -> list[str]:
    """Built-in programs named like ``target`` (a typo: ``sigsnop``), closest first; none for
    what is a path or a reference rather than a name."""
    if not target or any(c in target for c in "/:@"):
        return []
    names = [p.name for p in hub.builtin_programs()]
    return difflib.get_close_matches(target.lower(), names, n=3, cutoff=0.75)


# -- run -------------------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    return run(RunRequest.from_args(args))


def run(request: RunRequest) -> int:
    found = resolve(request.target, request.transport, request.no_cache)
    if found.kind == "wasm":
        return run_wasm_app(found, request)
    package = parse_package(found.data, found.source, found.name, shipped=found.shipped)
    values, verbose = params.parse_args(package, list(request.program_args))
    session = LiveSession(
        package,
        values,
        verbose=verbose or request.verbose,
        ring_size=request.ring_size,
        interface=request.interface,
    )
    return _run(session, request)


def ring_size_option(text: str | None) -> int | None:
    """``--ring-size``, rounded up to a power of 2 of pages (saying so when it was)."""
    if not text:
        return None
    size, note = units.ring_size(text)
    if note:
        err(note)
    return size


def interface_option(ifname: str | None, ifindex: int | None) -> Interface | None:
    """``--ifname``/``--ifindex``: the interface XDP and TC programs attach to."""
    if ifname is not None:
        return Interface.named(ifname)
    if ifindex is not None:
        return Interface.numbered(ifindex)
    return None


EXPORT_KINDS = {
    "ringbuf": "ring buffer",
    "perf": "perf event",
    "sample": "map sampling",
    "none": "nothing (no export map)",
}


def _run(session: LiveSession, request: RunRequest) -> int:
    stop = threading.Event()
    signals: list[int] = []  # the stop signals that came, in order

    def on_signal(signum: int, _frame: object) -> None:
        signals.append(signum)
        stop.set()

    # SIGHUP (the terminal went away) ends a run like Ctrl-C: the recording gets every frame.
    # One the parent ignores (nohup) stays ignored.
    previous = take_signals(on_signal)
    started = time.monotonic()
    pipeline = Pipeline(session)
    text: TextSink | None = None
    recorder: RecorderSink | None = None
    server = None
    if request.metrics is not None:
        # here, not at the top: prometheus-client loads only for a run that serves metrics
        from ..runtime.config import load_config
        from ..runtime.export.exporter import ProgramMetrics
        from ..runtime.export.server import MetricsServer, parse_listen

        exports = load_config().exports  # [[export]] tables; the file's problems are not ours
        exported = ProgramMetrics(session.name, session.spec, exports=exports)
        server = MetricsServer(parse_listen(request.metrics), [exported])  # before loading
        pipeline.attach(exported)
    try:
        session.start()
        if server is not None:
            exported.up = True
            err(f"serving metrics on http://{server.address}/metrics")
        if request.record is not None:
            # here, not at the top: msgpack and the format cost `lmp run` ~8 ms of start-up
            from ..runtime.stream.recording import Recorder, header_for

            recorder = RecorderSink(
                Recorder(request.record, header_for(session), request.max_bytes)
            )
            pipeline.attach(recorder)
        for note in session.notes:
            err(f"{session.name}: {note}")
        kind = EXPORT_KINDS[session.spec.kind]
        err(f"running {session.name}: waiting for events from {kind}... (Ctrl-C to stop)")
        if not request.quiet:
            # stdout is written by a thread of its own: a slow or stuck reader sheds lines,
            # counted, instead of stalling the drain (and Ctrl-C); a failed one ends the run.
            text = TextSink(session.spec, sys.stdout.fileno(), request.json, on_failed=stop.set)
            pipeline.attach(text)
        streaming = recorder is not None and recorder.recorder.streams

        def stopped() -> bool:
            # a stream (-o -) ends when its reader goes away: ssh closed, | head done
            return stop.is_set() or (
                streaming and (recorder is None or not recorder.recorder.active or reader_gone(1))
            )

        tally = pipeline.run_blocking(stopped, request.duration)
    finally:
        session.close()
        pipeline.close()
        if server is not None:
            server.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    shed = tally.shed + (text.shed if text is not None else 0)
    lost = f"{tally.drops} dropped" + (f", {shed} shed (lmp fell behind)" if shed else "")
    err(
        f"{session.name}: {tally.events} events, {lost} in "
        f"{time.monotonic() - started:.1f} s; detached"
    )
    if text is not None and text.error:
        return output_failed(text)
    if recorder is not None:
        rec = recorder.recorder
        note = f" ({rec.stopped_reason})" if rec.stopped_reason else ""
        if rec.streams and (rec.failed or reader_gone(1)):
            err(f"streamed {rec.frames} frames, {rec.bytes} bytes; the reader went away")
            return exit_status(signals[0]) if signals else 128 + signal.SIGPIPE
        err(f"recorded {rec.frames} frames, {rec.bytes} bytes to {rec.where}{note}")
        if rec.failed:
            return 1
    return exit_status(signals[0]) if signals else 0


UNLIMITED = 1 << 62


def reader_gone(fd: int) -> bool:
    """The pipe or socket ``fd`` writes to has no reader any more (POLLERR on a pipe whose
    reading end closed, POLLHUP on a socket): what stops a stream even when nothing is
    written to notice it."""
    poller = select.poll()
    poller.register(fd, 0)
    return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))


def output_failed(text: TextSink) -> int:
    """The exit status (and line) of a run whose standard output failed.

    A reader that went away (``| head``) is not an error to report: quiet, with the status a
    tool killed by SIGPIPE has, as the shell expects. A full disk or an I/O error is.
    """
    if text.broken_pipe:
        return 128 + signal.SIGPIPE
    err(f"cannot write the output ({text.unwritten} lines not written): {text.error}")
    return 1


def run_wasm_app(found: Resolved, request: RunRequest) -> int:
    """A wasm-bpf or legacy ewasm app: the guest runs, its stdout is the output.

    Its status is the guest's own when it ends by itself; after a stop signal it is 128 + the
    signal's number as for any run, also when the app honoured the stop (the host reports 0
    then, or 130/143/129 when it had to end an app that went on).
    """
    from ..runtime.wasm.guest import FORCED_EXIT, RunOptions
    from ..runtime.wasm.host import create_app

    options = RunOptions(name=Path(found.source).name or "app.wasm", duration=request.duration)
    app = create_app(found.data, list(request.program_args), sys.stdout, sys.stderr, options)
    status = app.run()
    # A stop by a signal ends with its status even when the app honoured it; one by
    # --duration keeps the app's 0, as a package's run does.
    reason = app.stop_reason
    if status == 0 and app.stop_requested and reason in ("interrupt", "terminate", "hangup"):
        return FORCED_EXIT[reason]
    return status


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
        return 0
    # Without the privileges to load BPF nothing runs: said once, not on every row.
    shared = probe.can_use_bpf()
    if shared:
        err(f"no program can run as this user: {shared}")
    table = [
        (
            r["name"],
            r["category"],
            "yes" if r["runnable"] else "no",
            r["output"],
            r["summary"] + (f" ({r['reason']})" if r["reason"] not in ("", shared) else ""),
        )
        for r in rows
    ]
    print_table(("NAME", "CATEGORY", "RUNS HERE", "OUTPUT", "SUMMARY"), table)
    return 0


def builtin_rows() -> list[dict[str, Any]]:
    rows = []
    for prog in hub.builtin_programs():
        why = prog.unavailable()
        spec = prog.package.export()
        rows.append(
            {
                "name": prog.name,
                "category": prog.category,
                "summary": prog.summary or prog.package.description,
                "runnable": why is None,
                "reason": why or "",
                "output": output_summary(prog.package, spec),
                "export": spec.kind,
                "buffer_bytes": prog.package.buffer_bytes(spec),
            }
        )
    return rows


def output_summary(package: Package, spec: ExportSpec) -> str:
    """``ring 4 MiB``, ``perf 256 KiB/CPU``, ``sampled 1 s``: how events leave the kernel."""
    size = units.format_bytes(package.buffer_bytes(spec))
    if spec.kind == "ringbuf":
        return f"ring {size}"
    if spec.kind == "perf":
        return f"perf {size}/CPU"
    if spec.kind == "sample" and spec.sample is not None:
        return f"sampled {spec.sample.interval_ms / 1000:g} s"
    return "-"


def remote_rows(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Programs of the configured remote Hubs, from annotations only (nothing is downloaded)."""
    from ..runtime.distribution import fetch

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


def print_table(header: tuple[str, ...], rows: Sequence[Sequence[object]]) -> None:
    widths = [max([len(h)] + [len(str(r[i])) for r in rows]) for i, h in enumerate(header)]
    for line in [header, *rows]:
        cells = [str(c).ljust(w) for c, w in zip(line[:-1], widths, strict=False)]
        print("  ".join([*cells, str(line[-1])]))


# -- build -----------------------------------------------------------------------------------------


def cmd_build(args: argparse.Namespace) -> int:
    from ..runtime.author.build import build

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
