"""The command line of ``lmp``: every command, option and help text, and nothing else.

Kept apart from what the commands do so that ``lmp`` starts fast: a command's module, and what
it imports (httpx, numpy, wasmtime...), is loaded only when that command runs (``func`` names
it as ``"module:function"`` under ``lmp_tui.cli``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from ..runtime.author.templates import DEFAULT_TEMPLATE, TEMPLATES

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lmp", description="Run, build and share eBPF programs (LMP / eunomia-bpf compatible)."
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for commands in (
        _run_commands,
        _recording_commands,
        _export_commands,
        _distribution_commands,
        _author_commands,
    ):
        commands(sub)
    return p


# -- options shared by several commands -------------------------------------------------------


def add_transport_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--insecure",
        action="store_true",
        help="plain http instead of TLS (only for a registry on this machine)",
    )
    p.add_argument("--ca-file", metavar="PEM", help="trust this CA for the registry's certificate")


def add_ring_size_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--ring-size",
        metavar="SIZE",
        help="size of the program's ring buffer (perf buffer: per CPU) before load, e.g. 4M; "
        "a power of 2 of pages, rounded up",
    )


def add_interface_options(p: argparse.ArgumentParser) -> None:
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--ifname",
        metavar="NAME",
        help="attach XDP and TC programs to this interface instead of the package's",
    )
    where.add_argument("--ifindex", type=int, metavar="N", help="the same, by interface index")


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


def _annotation(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r}: expected key=value")
    return key, value


# -- the commands ------------------------------------------------------------------------------


def _run_commands(sub: Subparsers) -> None:
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
    add_interface_options(run)
    add_transport_args(run)
    add_record_options(run)
    run.add_argument(
        "--metrics",
        metavar="ADDR",
        help="also serve the run's data as Prometheus metrics on HOST:PORT (as lmp export)",
    )
    run.set_defaults(func="run:cmd_run")

    ls = sub.add_parser("list", help="list the built-in Hub programs and whether they run here")
    ls.add_argument("--json", action="store_true", help="one JSON object per program")
    ls.add_argument("--remote", action="store_true", help="list the configured remote Hubs")
    add_transport_args(ls)
    ls.set_defaults(func="run:cmd_list")

    b = sub.add_parser("build", help="compile a .bpf.c into an eunomia package.json")
    b.add_argument("source", nargs="?", default=".", help="project dir or .bpf.c (default .)")
    b.add_argument("header", nargs="?", help="header with the exported struct(s)")
    b.add_argument("-o", "--output", help="output directory (default: the source's)")
    b.add_argument("--vmlinux", help="directory with vmlinux.h (default: from this kernel)")
    b.add_argument("-a", "--cflags", action="append", default=[], help="extra clang flag")
    b.set_defaults(func="run:cmd_build")


def _export_commands(sub: Subparsers) -> None:
    ex = sub.add_parser(
        "export",
        help="serve programs' data as Prometheus metrics (one port for all)",
        description="Run programs headless and serve what they see on /metrics, in the "
        "Prometheus text format (OpenMetrics when asked): metrics named from each program's "
        "layout, no configuration needed ([[export]] tables in the config file add more; SIGHUP "
        "reads it again). Program options after `--` (one program only).",
    )
    ex.add_argument("programs", nargs="+", metavar="program", help="built-in names or packages")
    ex.add_argument(
        "--listen",
        default="127.0.0.1:9435",
        metavar="ADDR",
        help="where to serve /metrics: HOST:PORT, [IPv6]:PORT or :PORT for every address "
        "(default 127.0.0.1:9435)",
    )
    ex.add_argument(
        "--max-series",
        type=int,
        default=500,
        metavar="N",
        help="series per metric at most; the rest add up under label value 'other' (default 500)",
    )
    ex.add_argument(
        "--grafana-dashboard",
        action="store_true",
        help="print a Grafana dashboard (JSON) for these programs' metrics, and exit",
    )
    ex.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="the config file whose [[export]] tables add metrics (default: lmp's config.toml); "
        "SIGHUP reads it again",
    )
    ex.add_argument("--verbose", action="store_true", help="include libbpf debug output")
    ex.add_argument("--no-cache", action="store_true", help="fetch again even if cached")
    add_transport_args(ex)
    ex.set_defaults(func="export:cmd_export")


def _recording_commands(sub: Subparsers) -> None:
    rec = sub.add_parser(
        "record",
        help="run a program and record what it sees to a .lmprec file",
        description="Run a program and record its events (program options after `--`).",
    )
    rec.add_argument("program", help="built-in name, or path to package.json / .bpf.o")
    rec.add_argument("--duration", type=float, default=None, metavar="S", help="stop after S s")
    rec.add_argument("--verbose", action="store_true", help="include libbpf debug output")
    rec.add_argument("--no-cache", action="store_true", help="fetch again even if cached")
    add_ring_size_option(rec)
    add_interface_options(rec)
    add_transport_args(rec)
    rec.set_defaults(func="recording:cmd_record", json=False)
    add_record_options(rec, required=True)

    rep = sub.add_parser("replay", help="print a recording exactly as `lmp run` printed it")
    rep.add_argument(
        "file",
        help="a .lmprec recording, or - for one arriving on standard input as it is written "
        "(lmp record PROGRAM -o - | lmp replay -)",
    )
    rep.add_argument("-j", "--json", action="store_true", help="print JSON lines")
    pace = rep.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=float, default=1.0, metavar="X", help="replay speed factor")
    pace.add_argument("--max-speed", action="store_true", help="replay as fast as possible")
    rep.set_defaults(func="recording:cmd_replay")


def _distribution_commands(sub: Subparsers) -> None:
    push = sub.add_parser(
        "push",
        help="push a package.json or .wasm to an OCI registry",
        description="Push a package.json (lmp media types) or a .wasm (ecli's media types) as "
        "an OCI artifact. Prints the pushed reference pinned by digest.",
    )
    push.add_argument("file", help="package.json, .bpf.o (packed into a package.json) or .wasm")
    push.add_argument("reference", help="host[:port]/repository[:tag] (default tag latest)")
    push.add_argument(
        "-a",
        "--annotation",
        type=_annotation,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="manifest annotation (as ecli push -a); overrides the derived ones",
    )
    push.add_argument("--version", help="version annotation (default: the tag, unless latest)")
    add_transport_args(push)
    push.set_defaults(func="distribution:cmd_push")

    pull = sub.add_parser(
        "pull",
        help="download a program by OCI reference, URL or remote Hub name",
        description="Download and verify a program; it is cached by digest.",
    )
    pull.add_argument("reference", help="host[:port]/repo[:tag|@sha256:...], URL or Hub name")
    pull.add_argument(
        "-o", "--output", help="file to write, - for stdout (default package.json or app.wasm)"
    )
    pull.add_argument("--no-cache", action="store_true", help="download even if cached")
    add_transport_args(pull)
    pull.set_defaults(func="distribution:cmd_pull")

    login = sub.add_parser("login", help="check and store credentials for a registry")
    login.add_argument("registry", help="host[:port]")
    login.add_argument("-u", "--username", required=True)
    secret = login.add_mutually_exclusive_group()
    secret.add_argument("-p", "--password", help="password (visible in the process list)")
    secret.add_argument("--password-stdin", action="store_true", help="read the password")
    add_transport_args(login)
    login.set_defaults(func="distribution:cmd_login")

    logout = sub.add_parser("logout", help="forget the stored credentials for a registry")
    logout.add_argument("registry", help="host[:port]")
    logout.set_defaults(func="distribution:cmd_logout")

    cache = sub.add_parser("cache", help="the download cache: ls, clear")
    cache_sub = cache.add_subparsers(dest="cache_command", required=True, metavar="ACTION")
    ls = cache_sub.add_parser("ls", help="list what is cached")
    ls.add_argument("--json", action="store_true", help="one JSON object per entry")
    ls.set_defaults(func="distribution:cmd_cache_ls")
    clear = cache_sub.add_parser("clear", help="remove everything cached")
    clear.set_defaults(func="distribution:cmd_cache_clear")


def _author_commands(sub: Subparsers) -> None:
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
    init.set_defaults(func="author:cmd_init")

    gen = sub.add_parser(
        "gen-wasm-skel",
        help="generate app.c and the wasm skeleton of a built project",
        description="Write <name>.skel.h (the BPF object embedded), <name>.wasm.h (the event "
        "struct), wasm-include/ and app.c (kept if it exists) for the wasm-bpf ABI.",
    )
    gen.add_argument("project", nargs="?", default=".", help="project directory (default .)")
    gen.add_argument("--force", action="store_true", help="overwrite an existing app.c")
    gen.set_defaults(func="author:cmd_gen_wasm_skel")

    bw = sub.add_parser(
        "build-wasm",
        help="compile app.c to app.wasm (clang --target=wasm32-wasi)",
        description="Compile the project's app.c with clang for wasm32-wasi against wasi-libc.",
    )
    bw.add_argument("project", nargs="?", default=".", help="project directory (default .)")
    bw.add_argument("-o", "--output", help="output file (default: app.wasm in the project)")
    bw.add_argument("-a", "--cflags", action="append", default=[], help="extra clang flag")
    bw.set_defaults(func="author:cmd_build_wasm")
