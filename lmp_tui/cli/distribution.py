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
from ..runtime.distribution.oci import RegistryClient
from ..runtime.errors import LmpError
from .common import err, progress_printer, transport_options

DEFAULT_OUTPUT = {"package": "package.json", "wasm": "app.wasm"}  # app.wasm as ecli pull


# -- shared options (also for `lmp run`, which the lead wires) -------------------------------------


# -- push / pull -----------------------------------------------------------------------------------


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
