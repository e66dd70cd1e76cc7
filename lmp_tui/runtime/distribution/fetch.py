"""Resolving what ``lmp run`` and ``lmp pull`` are given, and the download cache.

A target is a local file, an ``http(s)://`` URL, an OCI reference ``host[:port]/repo[:tag|@digest]``,
or a short name looked up in the remote Hubs of ``config.toml`` (the built-in Hub is the caller's
business and comes first). Downloads are verified, then cached by digest under the user cache dir:
an OCI reference by digest, a URL or a Hub name is served from the cache without any request; a tag
is always asked of its registry (tags move) but its blobs come from the cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path, PurePath, PurePosixPath

import httpx

from ..cache import cache_dir
from ..config import Config, HubEntry, config_path, load_config
from ..errors import LmpError, NotFoundError
from ..untrusted import shown
from . import credentials, oci
from .http import (
    Deadline,
    RegistryError,
    check_url,
    describe_http_error,
    http_client,
    parse_url,
    read_limited,
    send,
)
from .oci import Reference, RegistryClient, digest_of
from .transport import Progress, Resolved, TransportOptions

URL_MAX_AGE = 24 * 3600.0  # a URL or Hub name is re-fetched after a day; digests never expire
MAX_DOWNLOAD = oci.MAX_BLOB
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$")


class FetchError(LmpError):
    """A URL or Hub could not be fetched, or the configuration naming them is wrong."""


def kind_of(data: bytes) -> str:
    return "wasm" if data[:4] == b"\0asm" else "package"


# -- cache -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """Where a download came from and which blob holds it."""

    key: str  # "url:<url>", "hub:<hub>#<name>" or "oci:<registry>/<repo>@<manifest digest>"
    digest: str
    kind: str
    name: str
    source: str
    size: int
    fetched: float


class Cache:
    """Content-addressed blobs (``blobs/sha256/<hex>``) and small JSON entries naming them
    (``refs/``). Blobs are re-hashed on read, so a damaged file is a miss, never a wrong program."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or cache_dir()

    def blob_path(self, digest: str) -> Path:
        algorithm, _, hexdigest = oci.check_digest(digest).partition(":")
        return self.root / "blobs" / algorithm / hexdigest

    def get(self, digest: str) -> bytes | None:
        try:
            data = self.blob_path(digest).read_bytes()
        except OSError:
            return None
        if oci.digest_of(data, digest.split(":", 1)[0]) != digest:
            with contextlib.suppress(OSError):
                self.blob_path(digest).unlink()
            return None
        return data

    def put(self, data: bytes) -> str:
        digest = oci.digest_of(data)
        path = self.blob_path(digest)
        if not path.is_file():
            _write_atomic(path, data)
        return digest

    def entry(self, key: str, max_age: float | None = None) -> CacheEntry | None:
        try:
            entry = CacheEntry(**json.loads(self._ref_path(key).read_text()))
        except (OSError, ValueError, TypeError):
            return None
        if entry.key != key or (max_age is not None and time.time() - entry.fetched > max_age):
            return None
        return entry

    def put_entry(self, entry: CacheEntry) -> None:
        _write_atomic(self._ref_path(entry.key), json.dumps(asdict(entry), indent=1).encode())

    def load(self, key: str, max_age: float | None = None) -> Resolved | None:
        entry = self.entry(key, max_age)
        if entry is None or (data := self.get(entry.digest)) is None:
            return None
        return Resolved(data, entry.kind, entry.source, entry.name, entry.digest, cached=True)

    def store(self, key: str, data: bytes, kind: str, name: str, source: str) -> Resolved:
        digest = self.put(data)
        self.put_entry(CacheEntry(key, digest, kind, name, source, len(data), time.time()))
        return Resolved(data, kind, source, name, digest)

    def entries(self) -> list[CacheEntry]:
        out = []
        for path in sorted((self.root / "refs").glob("*.json")):
            with contextlib.suppress(OSError, ValueError, TypeError):
                out.append(CacheEntry(**json.loads(path.read_text())))
        return sorted(out, key=lambda e: e.fetched, reverse=True)

    def size(self) -> int:
        return sum(p.stat().st_size for p in (self.root / "blobs").rglob("*") if p.is_file())

    def clear(self) -> tuple[int, int]:
        """Remove our two subdirectories only (the cache dir may be shared); (entries, bytes)."""
        count, size = len(self.entries()), self.size()
        for sub in ("blobs", "refs"):
            shutil.rmtree(self.root / sub, ignore_errors=True)
        return count, size

    def _ref_path(self, key: str) -> Path:
        return self.root / "refs" / f"{hashlib.sha256(key.encode()).hexdigest()[:40]}.json"


def _write_atomic(path: Path, data: bytes) -> None:
    """Readers never see half a file, even with two lmp processes filling the cache at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


# -- remote Hubs -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UrlHub:
    """A web directory as LMP's site: ``<url><name>/package.json`` or ``<url><name>/app.wasm``."""

    url: str

    def __str__(self) -> str:
        return self.url


@dataclass(frozen=True, slots=True)
class RegistryHub:
    """An OCI registry whose repositories under ``prefix`` are programs."""

    registry: str
    prefix: str = ""
    insecure: bool = False
    ca_file: str | None = None

    def __str__(self) -> str:
        return f"{self.registry}/{self.prefix}" if self.prefix else self.registry

    def repository(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def options(self, base: TransportOptions) -> TransportOptions:
        return replace(
            base, insecure=base.insecure or self.insecure, ca_file=self.ca_file or base.ca_file
        )


Hub = UrlHub | RegistryHub


def configured_hubs(config: Config | None = None) -> list[Hub]:
    """The ``[[hub]]`` tables of the config file, in order; none when there is no file.

    A config file with problems is refused here, in its one line: resolving a name through
    Hubs the user meant to configure otherwise would fetch from the wrong place.
    """
    config = config or load_config()
    if config.problem:
        raise FetchError(config.problem)
    return [_hub(entry) for entry in config.hubs]


def _hub(entry: HubEntry) -> Hub:
    if entry.url is not None:
        return UrlHub(entry.url if entry.url.endswith("/") else entry.url + "/")
    host, _, prefix = str(entry.registry).strip("/").partition("/")
    return RegistryHub(host, prefix, entry.insecure, entry.ca_file)


# -- resolving -------------------------------------------------------------------------------------


def resolve(
    target: str,
    *,
    no_cache: bool = False,
    options: TransportOptions | None = None,
    progress: Progress | None = None,
    hubs: list[Hub] | None = None,
) -> Resolved:
    """A local file, URL, OCI reference or remote-Hub name, in that order.

    ``no_cache`` skips reading the cache (what is fetched still refreshes it).
    """
    options = options or TransportOptions()
    path = Path(target)
    if path.is_file():
        data = _read_local(path)
        return Resolved(
            data, kind_of(data), str(path), _name_from_path(path.resolve()), digest_of(data)
        )
    if target.startswith(("http://", "https://")):
        return fetch_url(target, no_cache=no_cache, options=options, progress=progress)
    if oci.looks_like_reference(target):
        return pull(
            oci.parse_reference(target), no_cache=no_cache, options=options, progress=progress
        )
    if _NAME_RE.match(target) and not target.endswith(oci.FILE_SUFFIXES):
        hubs = configured_hubs() if hubs is None else hubs
        return from_hubs(target, hubs, no_cache=no_cache, options=options, progress=progress)
    raise NotFoundError(
        f"{target}: no such file, and not a URL, an OCI reference (host[:port]/repo[:tag]) "
        "or a program name"
    )


def _read_local(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise FetchError(f"{path}: cannot read: {exc.strerror}") from None


def client_for(registry: str, options: TransportOptions) -> RegistryClient:
    """A client with the stored credentials for ``registry`` unless some were given."""
    if options.credentials is None:
        options = replace(options, credentials=credentials.lookup(registry))
    return RegistryClient(registry, options)


def pull(
    ref: Reference,
    *,
    no_cache: bool = False,
    options: TransportOptions | None = None,
    progress: Progress | None = None,
) -> Resolved:
    """An artifact from a registry: verified, cached, and by digest served offline next time."""
    cache = Cache()
    repo_key = f"oci:{ref.registry}/{ref.repository}@"
    if ref.digest and not no_cache and (hit := cache.load(repo_key + ref.digest)):
        return hit
    # One operation: manifest and layer together end by the deadline.
    with client_for(ref.registry, options or TransportOptions()) as client, client.operation():
        manifest = client.get_manifest(ref.repository, ref.reference)
        pinned = str(ref.with_digest(manifest.digest))
        layer, kind = oci.artifact_layer(manifest, str(ref))
        if not no_cache and (data := cache.get(layer.digest)) is not None:
            cached = True
        else:
            data, cached = client.get_blob(ref.repository, layer, progress), False
    # Only now, with manifest and layer both verified, does anything reach the disk.
    cache.put(manifest.raw)
    resolved = cache.store(repo_key + manifest.digest, data, kind, ref.name, pinned)
    return replace(resolved, cached=cached)


def fetch_url(
    url: str,
    *,
    no_cache: bool = False,
    options: TransportOptions | None = None,
    progress: Progress | None = None,
    key: str | None = None,
) -> Resolved:
    """GET a package.json or .wasm; cached under ``key`` (default the URL) for a day.

    Plain http only to this machine: refused before any cache lookup or request otherwise.
    """
    target = _checked_url(url)
    cache = Cache()
    key = key or f"url:{url}"
    if not no_cache and (hit := cache.load(key, URL_MAX_AGE)):
        return hit
    data = _download(target, url, options or TransportOptions(), progress)
    name = _name_from_path(PurePosixPath(target.path))
    return cache.store(key, data, kind_of(data), name, url)


def _checked_url(url: str) -> httpx.URL:
    """An http(s) URL lmp may fetch: https anywhere, plain http only to this machine (a package
    runs as root, so it never travels in clear over a network)."""
    try:
        target = parse_url(url, url)
        check_url(target, url)
    except RegistryError as exc:
        raise FetchError(str(exc)) from None
    return target


def _download(
    target: httpx.URL, url: str, options: TransportOptions, progress: Progress | None
) -> bytes:
    """The body, by lmp's redirect rules (``send``), within ``MAX_DOWNLOAD`` bytes and the
    overall deadline."""
    deadline = Deadline(options.deadline)
    with http_client(options, deadline) as http, deadline.running():
        try:
            r = send(http, "GET", target, where=url, options=options, deadline=deadline)
            with contextlib.closing(r):
                if r.status_code in (404, 410):
                    raise NotFoundError(f"{url}: not found ({r.status_code})")
                if r.status_code >= 300:
                    raise FetchError(f"{url}: server answered {r.status_code}")
                return read_limited(r, MAX_DOWNLOAD, url, progress, deadline=deadline)
        except RegistryError as exc:
            raise FetchError(str(exc)) from None
        except httpx.HTTPError as exc:
            raise FetchError(describe_http_error(exc, url, options.timeout, deadline)) from None


def _name_from_path(path: PurePath) -> str:
    """``.../sigsnoop/package.json`` is sigsnoop; ``x/opensnoop.wasm`` is opensnoop."""
    if path.name in ("package.json", "app.wasm"):
        return path.parent.name
    return path.name.split(".", 1)[0]


def from_hubs(
    target: str,
    hubs: list[Hub],
    *,
    no_cache: bool = False,
    options: TransportOptions | None = None,
    progress: Progress | None = None,
) -> Resolved:
    """The first configured Hub that has ``name[:tag]``; unreachable Hubs are skipped but named
    in the error if no Hub has it."""
    options = options or TransportOptions()
    name, _, tag = target.partition(":")
    if not hubs:
        raise NotFoundError(
            f"unknown program {name!r}: not a file, not built in, and no remote Hub is "
            f"configured ([[hub]] in {config_path()})"
        )
    problems: list[str] = []
    for hub in hubs:
        try:
            if isinstance(hub, RegistryHub):
                ref = oci.parse_reference(
                    f"{hub.registry}/{hub.repository(name)}:{tag or 'latest'}"
                )
                return pull(ref, no_cache=no_cache, options=hub.options(options), progress=progress)
            if tag in ("", "latest"):  # a web directory holds one version of each program
                return _from_url_hub(hub, name, no_cache, options, progress)
        except NotFoundError:
            continue
        except LmpError as exc:
            problems.append(str(exc))
    tried = ", ".join(str(h) for h in hubs)
    extra = f" ({'; '.join(problems)})" if problems else ""
    raise NotFoundError(f"unknown program {target!r}: not found in the remote Hubs {tried}{extra}")


def _from_url_hub(
    hub: UrlHub, name: str, no_cache: bool, options: TransportOptions, progress: Progress | None
) -> Resolved:
    """``package.json`` first: it carries the layout lmp shows as columns, and it is what lmp
    builds; LMP's C++ ecli tried app.wasm first because it ran wasm by preference."""
    key = f"hub:{hub.url}#{name}"
    if not no_cache and (hit := Cache().load(key, URL_MAX_AGE)):
        return hit
    for filename in ("package.json", "app.wasm"):
        url = f"{hub.url}{name}/{filename}"
        with contextlib.suppress(NotFoundError):
            got = fetch_url(url, no_cache=True, options=options, progress=progress, key=key)
            return replace(got, name=name)
    raise NotFoundError(f"{name}: not in {hub.url}")


# -- remote listing --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RemoteProgram:
    """One program of a registry Hub, as its manifest annotations describe it."""

    name: str
    tag: str
    kind: str  # "package" or "wasm"
    description: str
    category: str
    version: str
    fields: list[str]
    reference: str  # pinned: host/repo@sha256:...
    hub: str
    tags: list[str] = field(default_factory=list)


@dataclass(slots=True)
class RemoteListing:
    programs: list[RemoteProgram] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # one line per Hub that could not be listed


def remote_programs(
    options: TransportOptions | None = None, hubs: list[Hub] | None = None
) -> RemoteListing:
    """Programs of the registry Hubs from catalog, tags and manifests only (no package is
    downloaded). A URL Hub has no index (neither LMP's site nor ecli defined one), so it is named
    in ``problems`` instead."""
    options = options or TransportOptions()
    listing = RemoteListing()
    for hub in configured_hubs() if hubs is None else hubs:
        if isinstance(hub, UrlHub):
            listing.problems.append(f"{hub}: a web Hub has no index; run its programs by name")
            continue
        try:
            # Listing one Hub is one operation: it ends by the deadline, however many pages.
            with client_for(hub.registry, hub.options(options)) as client, client.operation():
                listing.programs.extend(_list_registry_hub(client, hub))
        except LmpError as exc:
            listing.problems.append(str(exc))
    return listing


def _list_registry_hub(client: RegistryClient, hub: RegistryHub) -> list[RemoteProgram]:
    prefix = f"{hub.prefix}/" if hub.prefix else ""
    out = []
    for repo in client.catalog():
        name = repo[len(prefix) :]
        if not repo.startswith(prefix) or "/" in name:
            continue
        tags = sorted(client.tags(repo))
        if not tags:
            continue
        tag = "latest" if "latest" in tags else tags[-1]
        manifest = client.get_manifest(repo, tag)
        try:
            _, kind = oci.artifact_layer(manifest, repo)
        except RegistryError:
            continue  # some other image living in the same registry
        # Annotations are the registry's words: shown escaped and cut, never as terminal codes.
        ann = {k: shown(v, 300) for k, v in manifest.annotations.items()}
        fields = [shown(f, 64) for f in manifest.annotations.get(oci.ANN_FIELDS, "").split(",")]
        out.append(
            RemoteProgram(
                name,
                tag,
                kind,
                ann.get(oci.ANN_DESCRIPTION, ""),
                ann.get(oci.ANN_CATEGORY, "other"),
                ann.get(oci.ANN_VERSION, ""),
                [f for f in fields if f][:256],
                f"{hub.registry}/{repo}@{manifest.digest}",
                str(hub),
                tags,
            )
        )
    return out
