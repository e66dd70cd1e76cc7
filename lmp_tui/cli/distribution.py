"""``lmp push``, ``lmp pull``, ``lmp login``, ``lmp logout``, ``lmp cache ls|clear``.

Results go to stdout (the pinned reference, the cache listing); what happened goes to stderr.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

from ..runtime.distribution import credentials, fetch, oci
from ..runtime.distribution.credentials import Credentials
from ..runtime.distribution.oci import Progress, RegistryClient, TransportOptions
from ..runtime.errors import LmpError
from .common import err

PROGRESS_MIN = 1 << 20  # smaller transfers finish before a progress line would help
DEFAULT_OUTPUT = {"package": "package.json", "wasm": "app.wasm"}  # app.wasm as ecli pull


# -- shared options (also for `lmp run`, which the lead wires) -------------------------------------


def add_transport_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--insecure",
        action="store_true",
        help="plain http instead of TLS (only for a registry on this machine)",
    )
    p.add_argument("--ca-file", metavar="PEM", help="trust this CA for the registry's certificate")


def transport_options(args: argparse.Namespace) -> TransportOptions:
    return TransportOptions(insecure=bool(args.insecure), ca_file=args.ca_file)


def progress_printer(label: str) -> Progress | None:
    """A one-line ``\\r`` progress on stderr for big transfers, only when someone is watching."""
    if not sys.stderr.isatty():
        return None
    last = 0.0

    def show(done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if total < PROGRESS_MIN or (done < total and now - last < 0.1):
            return
        last = now
        pct = 100 * done // total if total else 100
        end = "\n" if done >= total else ""
        sys.stderr.write(f"\r{label}: {done / 2**20:.1f}/{total / 2**20:.1f} MiB {pct:3d}%{end}")
        sys.stderr.flush()

    return show


# -- push / pull -----------------------------------------------------------------------------------


def _annotation(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r}: expected key=value")
    return key, value


def cmd_push(args: argparse.Namespace) -> int:
    ref = oci.parse_reference(args.reference)
    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LmpError(f"{path}: cannot read: {exc.strerror}") from None
    # A tag such as 1.2.0 is the natural version; "latest" says nothing.
    version = args.version or ("" if ref.digest or ref.tag == "latest" else ref.tag)
    artifact = oci.make_artifact(data, path.name, version, dict(args.annotation))
    with fetch.client_for(ref.registry, transport_options(args)) as client:
        digest = oci.push_artifact(client, ref, artifact, progress_printer(f"pushing {path.name}"))
    err(f"pushed {path.name} ({artifact.kind}, {len(data)} bytes) to {ref}")
    print(f"{ref.registry}/{ref.repository}@{digest}")
    return 0


def cmd_pull(args: argparse.Namespace) -> int:
    got = fetch.resolve(
        args.reference,
        no_cache=args.no_cache,
        options=transport_options(args),
        progress=progress_printer(f"pulling {args.reference}"),
    )
    out = args.output or DEFAULT_OUTPUT[got.kind]
    if out == "-":
        sys.stdout.buffer.write(got.data)
        sys.stdout.flush()
    else:
        try:
            Path(out).write_bytes(got.data)
        except OSError as exc:
            raise LmpError(f"{out}: cannot write: {exc.strerror}") from None
    how = " (from the cache)" if got.cached else ""
    err(f"pulled {got.source}{how}: {got.kind}, {len(got.data)} bytes -> {out}")
    return 0


# -- login / logout --------------------------------------------------------------------------------


def _password(args: argparse.Namespace) -> str:
    if args.password is not None:
        return args.password
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if sys.stdin.isatty():
        return getpass.getpass(f"password for {args.username}: ")
    raise LmpError("no password: give -p PASS or --password-stdin")


def cmd_login(args: argparse.Namespace) -> int:
    registry = credentials.registry_key(args.registry)
    creds = Credentials(args.username, _password(args))
    # Check before saving, as docker login does: a typo should fail now, not at the next push.
    options = replace(transport_options(args), credentials=creds)
    with RegistryClient(registry, options) as client:
        client.ping()
        checked = client.authenticated
    path = credentials.save(registry, creds)
    note = "" if checked else " (the registry did not ask for credentials; saved anyway)"
    err(f"logged in to {registry} as {creds.username}; saved in {path}{note}")
    return 0


def cmd_logout(args: argparse.Namespace) -> int:
    registry = credentials.registry_key(args.registry)
    if credentials.remove(registry):
        err(f"logged out of {registry}")
    elif credentials.in_docker_config(registry):
        err(f"{registry}: credentials are in Docker's config.json; `docker logout` removes them")
    else:
        err(f"not logged in to {registry}")
    return 0


# -- cache -----------------------------------------------------------------------------------------


def cmd_cache_ls(args: argparse.Namespace) -> int:
    cache = fetch.Cache()
    entries = cache.entries()
    if args.json:
        for e in entries:
            print(json.dumps(asdict(e), sort_keys=True))
        return 0
    if not entries:
        err(f"the cache is empty ({cache.root})")
        return 0
    width = max(len(e.source) for e in entries)
    print(f"{'SOURCE':<{width}}  {'KIND':<7}  {'SIZE':>9}  {'DIGEST':<19}  FETCHED")
    for e in entries:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(e.fetched))
        print(f"{e.source:<{width}}  {e.kind:<7}  {e.size:>9}  {e.digest[:19]}  {when}")
    err(f"{len(entries)} entries, {cache.size()} bytes in {cache.root}")
    return 0


def cmd_cache_clear(args: argparse.Namespace) -> int:
    cache = fetch.Cache()
    count, size = cache.clear()
    err(f"removed {count} entries, {size} bytes from {cache.root}")
    return 0


# -- registration ----------------------------------------------------------------------------------


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    push.set_defaults(func=cmd_push)

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
    pull.set_defaults(func=cmd_pull)

    login = sub.add_parser("login", help="check and store credentials for a registry")
    login.add_argument("registry", help="host[:port]")
    login.add_argument("-u", "--username", required=True)
    secret = login.add_mutually_exclusive_group()
    secret.add_argument("-p", "--password", help="password (visible in the process list)")
    secret.add_argument("--password-stdin", action="store_true", help="read the password")
    add_transport_args(login)
    login.set_defaults(func=cmd_login)

    logout = sub.add_parser("logout", help="forget the stored credentials for a registry")
    logout.add_argument("registry", help="host[:port]")
    logout.set_defaults(func=cmd_logout)

    cache = sub.add_parser("cache", help="the download cache: ls, clear")
    cache_sub = cache.add_subparsers(dest="cache_command", required=True, metavar="ACTION")
    ls = cache_sub.add_parser("ls", help="list what is cached")
    ls.add_argument("--json", action="store_true", help="one JSON object per entry")
    ls.set_defaults(func=cmd_cache_ls)
    clear = cache_sub.add_parser("clear", help="remove everything cached")
    clear.set_defaults(func=cmd_cache_clear)
