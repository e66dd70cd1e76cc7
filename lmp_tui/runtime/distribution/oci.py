"""OCI distribution client and the artifact format lmp pushes and pulls.

The client speaks the distribution API v2 over httpx: blobs, manifests, tags, catalog, delete, with
Basic or Bearer auth as the registry asks. Everything it hands back has been checked against its
digest and size, so callers may cache it by digest. Artifacts are ORAS-style: one config, one layer.
A ``.wasm`` uses exactly ecli's (``bpf-oci``) media types and manifest shape so ecli and lmp can pull
each other's; a ``package.json`` uses lmp's own media types, with metadata in the annotations so a
remote listing needs only the manifests.

What a registry sends is untrusted: replies are typed (msgspec) and every body is read through a
limit (``read_limited``); credentials go only to the registry's own origin (and Basic ones to the
token server it names, over https); plain http only to this machine and never after https; and
each operation ends by ``TransportOptions.deadline`` however slowly the server drips.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypeVar

import httpx
import msgspec

from ..errors import NotFoundError, PackageError
from ..format.package import Package, pack_package, parse_package
from ..untrusted import shown
from . import hub
from .credentials import Credentials
from .http import (
    Deadline,
    RegistryError,
    check_url,
    describe_http_error,
    host_is_loopback,
    http_client,
    origin,
    parse_url,
    read_limited,
    send,
)
from .transport import Progress, TransportOptions


class RegistryNotFoundError(RegistryError, NotFoundError):
    """No such repository, tag, manifest or blob: a Hub may try the next place."""


# -- media types and annotations -------------------------------------------------------------------

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_ACCEPT = ", ".join((OCI_MANIFEST, DOCKER_MANIFEST, OCI_INDEX, DOCKER_MANIFEST_LIST))

LMP_ARTIFACT = "application/vnd.lmp.package.v1+json"
LMP_CONFIG = "application/vnd.lmp.package.config.v1+json"
LMP_LAYER = "application/vnd.lmp.package.layer.v1+json"
WASM_CONFIG = "application/vnd.wasm.config.v1+json"  # ecli / oci-distribution
WASM_LAYER = "application/vnd.wasm.content.layer.v1+wasm"

ANN_TITLE = "org.opencontainers.image.title"
ANN_VERSION = "org.opencontainers.image.version"
ANN_DESCRIPTION = "org.opencontainers.image.description"
ANN_CATEGORY = "io.lmp.category"
ANN_FIELDS = "io.lmp.fields"

KIND_BY_LAYER = {LMP_LAYER: "package", WASM_LAYER: "wasm"}

MAX_MANIFEST = 4 << 20  # the distribution spec's own limit
MAX_BLOB = 256 << 20  # far above any eBPF package; stops a hostile registry filling the disk
MAX_ERROR_BODY = 64 << 10  # of an error reply we only want its first message
MAX_TOKEN = 64 << 10  # a token server's reply (a JWT is a few KiB)
MAX_LISTING = 16 << 20  # all pages of one catalog or tags listing together (each: MAX_MANIFEST)
MAX_PAGES = 1000  # of one listing: a `next` chain never ends otherwise


# -- digests ---------------------------------------------------------------------------------------

_DIGEST_RE = re.compile(r"^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$")


def digest_of(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


def check_digest(digest: str) -> str:
    if not _DIGEST_RE.match(digest):
        raise RegistryError(
            f"unsupported or malformed digest {shown(repr(digest))} (sha256 or sha512)"
        )
    return digest


def verify(data: bytes, digest: str, size: int | None, what: str) -> None:
    """Refuse ``data`` unless it is exactly what its descriptor promised."""
    if size is not None and len(data) != size:
        raise RegistryError(
            f"{what}: size mismatch: got {len(data)} bytes, expected {size}; refused"
        )
    algorithm = check_digest(digest).split(":", 1)[0]
    if (actual := digest_of(data, algorithm)) != digest:
        raise RegistryError(f"{what}: digest mismatch: got {actual}, expected {digest}; refused")


# -- references ------------------------------------------------------------------------------------

_HOST_RE = re.compile(
    r"^(localhost|\[[0-9a-fA-F:.]+\]|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*)(:[0-9]{1,5})?$"
)
_REPO_RE = re.compile(r"^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$")
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
FILE_SUFFIXES = (".json", ".wasm", ".o", ".tar")


@dataclass(frozen=True, slots=True)
class Reference:
    """``host[:port]/repo[:tag|@digest]``; a digest, when given, is what gets pulled."""

    registry: str
    repository: str
    tag: str = "latest"
    digest: str | None = None

    @property
    def reference(self) -> str:
        """What goes after ``/manifests/``."""
        return self.digest or self.tag

    @property
    def name(self) -> str:
        return self.repository.rsplit("/", 1)[-1]

    def with_digest(self, digest: str) -> Reference:
        return Reference(self.registry, self.repository, self.tag, digest)

    def __str__(self) -> str:
        base = f"{self.registry}/{self.repository}"
        return f"{base}@{self.digest}" if self.digest else f"{base}:{self.tag}"


def _is_host(text: str) -> bool:
    # A first component is a host only with a dot, a port or "localhost", as docker decides.
    return bool(_HOST_RE.match(text)) and ("." in text or ":" in text or text == "localhost")


def looks_like_reference(text: str) -> bool:
    """True for ``host[:port]/repo...``; a path-like string ending in a file suffix is not one."""
    if "://" in text or "/" not in text:
        return False
    name = text.split("@", 1)[0]
    if name.endswith(FILE_SUFFIXES) and ":" not in name.rsplit("/", 1)[-1]:
        return False
    return _is_host(text.split("/", 1)[0])


def parse_reference(text: str) -> Reference:
    usage = "expected host[:port]/repository[:tag|@sha256:...]"
    name, _, digest = text.partition("@")
    host, slash, rest = name.partition("/")
    if not slash or not _is_host(host):
        raise RegistryError(f"{shown(repr(text))}: not an OCI reference ({usage})")
    repo, tag = rest, "latest"
    last = rest.rsplit("/", 1)[-1]
    if ":" in last:
        repo, tag = rest.rsplit(":", 1)
        if not _TAG_RE.match(tag):
            raise RegistryError(f"{shown(repr(text))}: invalid tag {shown(repr(tag))}")
    if not _REPO_RE.match(repo):
        raise RegistryError(
            f"{shown(repr(text))}: invalid repository {shown(repr(repo))} "
            "(lowercase letters, digits, . _ - and /)"
        )
    if host == "docker.io" and "/" not in repo:
        repo = f"library/{repo}"  # as docker and ecli expand `docker.io/x`
    return Reference(host, repo, tag, check_digest(digest) if digest else None)


def api_host(registry: str) -> str:
    """Docker Hub's API is not served at the name people write."""
    return "registry-1.docker.io" if registry in ("docker.io", "index.docker.io") else registry


def is_loopback(registry: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ``[::1]``, with or without a port."""
    if registry.startswith("["):
        return host_is_loopback(registry[1:].partition("]")[0])
    return host_is_loopback(registry.partition(":")[0])


# -- manifests -------------------------------------------------------------------------------------

# The typed schema of what a registry sends: msgspec checks every field's type (unknown keys are
# ignored) and names the path of a bad one, e.g. ``Expected `int`, got `str` - at `$.layers[0].size```.
MediaType = Annotated[str, msgspec.Meta(max_length=255, pattern=r"^[!-~](?:[ -~]*[!-~])?$")]


class _DescriptorDoc(msgspec.Struct, frozen=True, rename="camel"):
    media_type: MediaType
    digest: Annotated[str, msgspec.Meta(max_length=200)]
    size: Annotated[int, msgspec.Meta(ge=0)]
    annotations: dict[str, str] | None = None


class _ManifestDoc(msgspec.Struct, frozen=True, rename="camel"):
    """An image manifest; ``manifests`` only to recognise an index, which lmp does not run."""

    schema_version: int | None = None
    media_type: MediaType | None = None
    artifact_type: MediaType | None = None
    config: _DescriptorDoc | None = None
    layers: list[_DescriptorDoc] | None = None
    annotations: dict[str, str] | None = None
    manifests: msgspec.Raw = msgspec.Raw()  # left undecoded: present means an index


_Doc = TypeVar("_Doc")


def decode_json(raw: bytes, schema: type[_Doc], what: str) -> _Doc:
    """``raw`` as ``schema``, or a one-line ``RegistryError`` naming the bad field's path."""
    try:
        return msgspec.json.decode(raw, type=schema)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise RegistryError(f"{what}: {shown(str(exc), 200)}") from None
    except RecursionError:
        raise RegistryError(f"{what}: JSON nested too deeply; refused") from None


@dataclass(frozen=True, slots=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    annotations: dict[str, str] | None = None

    @classmethod
    def for_data(cls, media_type: str, data: bytes) -> Descriptor:
        return cls(media_type, digest_of(data), len(data))

    @classmethod
    def _from_doc(cls, d: _DescriptorDoc, where: str) -> Descriptor:
        try:
            digest = check_digest(d.digest)
        except RegistryError as exc:
            raise RegistryError(f"{where}: {exc}") from None
        return cls(d.media_type, digest, d.size, d.annotations)

    def to_json(self) -> dict[str, Any]:
        # Key order as oci-distribution (ecli) serialises: mediaType, digest, size, annotations.
        out: dict[str, Any] = {
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": self.size,
        }
        if self.annotations is not None:
            out["annotations"] = self.annotations
        return out


@dataclass(frozen=True, slots=True)
class Manifest:
    raw: bytes
    digest: str
    media_type: str
    config: Descriptor
    layers: list[Descriptor]
    annotations: dict[str, str] = field(default_factory=dict)
    artifact_type: str | None = None


def parse_manifest(raw: bytes, digest: str, content_type: str, where: str) -> Manifest:
    """A manifest as received: typed, and an image manifest (not an index), or a one-line
    ``RegistryError``."""
    doc = decode_json(raw, _ManifestDoc, f"manifest from {where}")
    media = doc.media_type or content_type.split(";", 1)[0].strip() or OCI_MANIFEST
    if media in (OCI_INDEX, DOCKER_MANIFEST_LIST) or doc.manifests:
        raise RegistryError(
            f"{where}: is an image index (several platforms), not an lmp or ecli artifact"
        )
    if media not in (OCI_MANIFEST, DOCKER_MANIFEST) or doc.schema_version != 2:
        raise RegistryError(f"{where}: unsupported manifest type {shown(repr(media))}")
    if doc.config is None:
        raise RegistryError(f"{where}: the manifest has no config")
    if doc.layers is None:
        raise RegistryError(f"{where}: the manifest has no layers")
    return Manifest(
        raw,
        digest,
        media,
        Descriptor._from_doc(doc.config, f"manifest from {where}: $.config"),
        [
            Descriptor._from_doc(layer, f"manifest from {where}: $.layers[{i}]")
            for i, layer in enumerate(doc.layers)
        ],
        dict(doc.annotations or {}),
        doc.artifact_type,
    )


def artifact_layer(manifest: Manifest, where: str) -> tuple[Descriptor, str]:
    """The layer to run and its kind ("package" or "wasm"); other artifacts are refused."""
    for layer in manifest.layers:
        if layer.media_type in KIND_BY_LAYER:
            return layer, KIND_BY_LAYER[layer.media_type]
    found = (
        shown(", ".join(sorted({layer.media_type for layer in manifest.layers})), 300)
        or "no layers"
    )
    raise RegistryError(
        f"{where}: not an lmp package or wasm module (layer types: {found}; "
        f"expected {LMP_LAYER} or {WASM_LAYER})"
    )


@dataclass(frozen=True, slots=True)
class Challenge:
    scheme: str  # "basic" or "bearer"
    params: dict[str, str]


_PARAM_RE = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')
_QUOTED_PAIR_RE = re.compile(r"\\(.)")


def parse_challenge(header: str) -> Challenge | None:
    """A ``WWW-Authenticate`` value: scheme and parameters (quoted strings unescaped)."""
    scheme, _, rest = header.strip().partition(" ")
    if not scheme:
        return None
    params = {
        m[1].lower(): _QUOTED_PAIR_RE.sub(r"\1", m[2]) if m[2] is not None else m[3]
        for m in _PARAM_RE.finditer(rest)
    }
    return Challenge(scheme.lower(), params)


_LINK_RE = re.compile(r"<([^<>]*)>([^<]*)")


def next_link(header: str) -> str | None:
    """The target of ``rel="next"`` in a ``Link`` header (RFC 8288), if there is one."""
    for m in _LINK_RE.finditer(header):
        for param in m[2].split(";")[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "rel" and "next" in value.strip().strip('"').lower().split():
                return m[1].strip()
    return None


class _Catalog(msgspec.Struct, frozen=True):
    repositories: list[str] | None = None


class _Tags(msgspec.Struct, frozen=True):
    tags: list[str] | None = None


class _Token(msgspec.Struct, frozen=True):
    token: str = ""
    access_token: str = ""


class _ErrorEntry(msgspec.Struct, frozen=True):
    code: str = ""
    message: str = ""


class _Errors(msgspec.Struct, frozen=True):
    errors: list[_ErrorEntry] | None = None


_TOKEN_RE = re.compile(r"^[!-~]{1,65536}$")


class RegistryClient:
    """One registry; reuse it for several calls so auth tokens are fetched once.

    Each API call is one operation under ``options.deadline``; wrap several in ``operation()``
    to put them all under one. Credentials (Basic, and Bearer tokens) are sent only to the
    registry's own scheme, host and port, and Basic ones also to the token server it names
    (which must be https, or plain http on this machine with ``--insecure``).
    """

    def __init__(self, registry: str, options: TransportOptions | None = None) -> None:
        host = _HOST_RE.match(registry)
        if host is None or int((host[3] or ":0")[1:]) > 65535:
            raise RegistryError(f"{shown(repr(registry))}: not a registry host[:port]")
        self.registry = registry
        self.options = options or TransportOptions()
        self._base = parse_url(f"{self._scheme()}://{api_host(registry)}", registry)
        self.base = str(self._base)
        self._origin = origin(self._base)
        self._where = f"registry {registry}"
        self.deadline = Deadline(self.options.deadline)
        self._http = http_client(self.options, self.deadline)
        self._basic: str | None = None  # header value once the registry asked for Basic
        self._tokens: dict[str, str] = {}  # Bearer header value per scope
        self._bearer = False

    def _scheme(self) -> str:
        if not self.options.insecure:
            return "https"
        if not is_loopback(self.registry):
            # A package runs as root in the kernel: never fetch one in clear over a network.
            raise RegistryError(
                f"{self.registry}: --insecure (plain http) is allowed only for registries on "
                "this machine (localhost, 127.0.0.1, ::1); use TLS, with --ca-file for a private CA"
            )
        return "http"

    @property
    def authenticated(self) -> bool:
        """Whether the registry asked for credentials and accepted what we answered."""
        return self._basic is not None or bool(self._tokens)

    def operation(self) -> contextlib.AbstractContextManager[None]:
        """Everything inside is one operation: all of it ends by ``options.deadline``."""
        return self.deadline.running()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- API -----------------------------------------------------------------------------------

    def ping(self) -> None:
        """GET /v2/: reachable, speaks the API, and accepts our credentials."""
        with self.operation(), self._send("GET", "/v2/", scope="") as r:
            self._check(r, "registry API (/v2/)")

    def blob_exists(self, repo: str, digest: str) -> bool:
        path = f"/v2/{repo}/blobs/{digest}"
        with self.operation(), self._send("HEAD", path, scope=_pull(repo)) as r:
            if r.status_code == 404:
                return False
            self._check(r, f"{repo}@{digest}")
            return True

    def get_blob(self, repo: str, desc: Descriptor, progress: Progress | None = None) -> bytes:
        where = f"{self.registry}/{repo}@{desc.digest}"
        if desc.size > MAX_BLOB:
            raise RegistryError(f"{where}: {desc.size} bytes is more than the {MAX_BLOB} allowed")
        path = f"/v2/{repo}/blobs/{desc.digest}"
        with self.operation(), self._send("GET", path, scope=_pull(repo)) as r:
            self._check(r, where)
            data = read_limited(r, desc.size, where, progress, deadline=self.deadline)
        verify(data, desc.digest, desc.size, where)
        return data

    def push_blob(self, repo: str, data: bytes, progress: Progress | None = None) -> str:
        """Upload ``data`` (monolithic POST then PUT) unless the registry already has it."""
        digest = digest_of(data)
        with self.operation():
            if self.blob_exists(repo, digest):
                return digest
            scope = _push(repo)
            with self._send("POST", f"/v2/{repo}/blobs/uploads/", scope=scope) as r:
                self._check(r, f"{repo}: starting an upload")
                location, started = r.headers.get("location"), r.url
            if not location:
                raise RegistryError(f"{self.registry}: upload started without a Location header")
            where = f"{self.registry}: upload location"
            url = parse_url(location, where, started)
            check_url(url, where, previous=started)
            url = url.copy_merge_params({"digest": digest})
            headers = {"Content-Type": "application/octet-stream"}
            with self._send(
                "PUT", url, scope=scope, headers=headers, body=data, progress=progress
            ) as r:
                self._check(r, f"{repo}: uploading {digest}")
        return digest

    def get_manifest(
        self, repo: str, reference: str, expected: Descriptor | None = None
    ) -> Manifest:
        """Fetch and verify: by digest against the digest, by tag against the registry's
        ``Docker-Content-Digest`` (which is what a tag currently points at)."""
        where = f"{self.registry}/{repo}{'@' if ':' in reference else ':'}{reference}"
        headers = {"Accept": MANIFEST_ACCEPT}
        path = f"/v2/{repo}/manifests/{reference}"
        with self.operation(), self._send("GET", path, _pull(repo), headers) as r:
            self._check(r, where)
            raw = read_limited(r, MAX_MANIFEST, where, deadline=self.deadline)
            claimed = r.headers.get("docker-content-digest")
            content_type = r.headers.get("content-type", "")
        if ":" in reference:
            digest = reference
        elif claimed:
            digest = claimed
        else:
            digest = digest_of(raw)  # nothing to check against: name it by its content
        verify(raw, digest, expected.size if expected else None, f"{where} manifest")
        return parse_manifest(raw, digest, content_type, where)

    def put_manifest(self, repo: str, reference: str, raw: bytes, media_type: str) -> str:
        where = f"{self.registry}/{repo}:{reference}"
        headers = {"Content-Type": media_type}
        path = f"/v2/{repo}/manifests/{reference}"
        with self.operation(), self._send("PUT", path, _push(repo), headers, body=raw) as r:
            self._check(r, where)
            claimed = r.headers.get("docker-content-digest")
        digest = digest_of(raw)
        if claimed and claimed != digest:
            raise RegistryError(f"{where}: registry stored {shown(claimed)}, we sent {digest}")
        return digest

    def delete_manifest(self, repo: str, digest: str) -> None:
        path = f"/v2/{repo}/manifests/{check_digest(digest)}"
        scope = f"repository:{repo}:delete"
        with self.operation(), self._send("DELETE", path, scope=scope) as r:
            if r.status_code == 405:
                raise RegistryError(f"{self.registry}: deleting is disabled on this registry")
            self._check(r, f"{self.registry}/{repo}@{digest}")

    def tags(self, repo: str, page_size: int = 100) -> list[str]:
        path = f"/v2/{repo}/tags/list?n={page_size}"
        with self.operation():
            return self._paged(path, _Tags, _pull(repo), repo, _TAG_RE)

    def catalog(self, page_size: int = 100) -> list[str]:
        path = f"/v2/_catalog?n={page_size}"
        with self.operation():
            return self._paged(path, _Catalog, "registry:catalog:*", "catalog", _REPO_RE)

    # -- plumbing ------------------------------------------------------------------------------

    def _paged(
        self,
        path: str,
        schema: type[_Catalog] | type[_Tags],
        scope: str,
        what: str,
        valid: re.Pattern[str],
    ) -> list[str]:
        """Follow ``Link: <...>; rel="next"``: at most ``MAX_PAGES`` pages and ``MAX_LISTING``
        bytes, never the same page twice; names that are not valid are left out (they would
        go into our request paths)."""
        where = f"{self.registry}: {what}"
        out: list[str] = []
        url = self._base.join(path)
        seen = {str(url)}
        total = 0
        for _ in range(MAX_PAGES):
            with self._send("GET", url, scope=scope) as r:
                self._check(r, where)
                raw = read_limited(r, MAX_MANIFEST, where, deadline=self.deadline)
                link = next_link(r.headers.get("link", ""))
                page_url = r.url
            total += len(raw)
            if total > MAX_LISTING:
                raise RegistryError(f"{where}: more than {MAX_LISTING >> 20} MiB in all; stopped")
            page = decode_json(raw, schema, where)
            items = page.repositories if isinstance(page, _Catalog) else page.tags
            out.extend(item for item in items or [] if valid.match(item))
            if link is None:
                return out
            url = parse_url(link, f"{where}: next page", page_url)
            check_url(url, f"{where}: next page", previous=page_url)
            if str(url) in seen:
                raise RegistryError(f"{where}: the next page link repeats a page; stopped")
            seen.add(str(url))
        raise RegistryError(f"{where}: more than {MAX_PAGES} pages; stopped")

    @contextlib.contextmanager
    def _send(
        self,
        method: str,
        url: str | httpx.URL,
        scope: str,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        progress: Progress | None = None,
    ) -> Iterator[httpx.Response]:
        """A streamed response, closed on leaving the ``with``; network errors while reading the
        body become one-line ``RegistryError``s too."""
        target = self._base.join(url) if isinstance(url, str) else url
        response = self._authorized(method, target, scope, headers or {}, body, progress)
        try:
            yield response
        except httpx.HTTPError as exc:
            raise RegistryError(
                describe_http_error(exc, self._where, self.options.timeout, self.deadline)
            ) from None
        finally:
            response.close()

    def _authorized(
        self,
        method: str,
        target: httpx.URL,
        scope: str,
        headers: dict[str, str],
        body: bytes | None,
        progress: Progress | None,
    ) -> httpx.Response:
        """Send; on a 401 from the registry itself, answer its challenge (Basic or Bearer) and
        send once more. Credentials go only to the registry's origin: a page, upload location
        or redirect elsewhere gets none, and its 401 is not answered."""
        for attempt in range(2):
            auth = self._auth_for(scope)

            def hop_headers(url: httpx.URL, auth: str | None = auth) -> dict[str, str]:
                if auth is None or origin(url) != self._origin:
                    return dict(headers)
                return {**headers, "Authorization": auth}

            response = send(
                self._http,
                method,
                target,
                where=self._where,
                options=self.options,
                deadline=self.deadline,
                headers=hop_headers,
                body=body,
                progress=progress,
            )
            if response.status_code != 401:
                return response
            if origin(response.url) != self._origin:
                response.close()
                other = shown(str(response.url.copy_with(query=None)))
                raise RegistryError(
                    f"{self._where}: {other} asks for credentials; refused "
                    f"(those for {self.registry} are sent to it alone)"
                )
            if attempt == 1:
                return response
            response.close()
            challenge = parse_challenge(response.headers.get("www-authenticate", ""))
            self._authenticate(challenge, scope)
        raise AssertionError("unreachable")

    def _auth_for(self, scope: str) -> str | None:
        if self._bearer:
            return self._tokens.get(scope)
        return self._basic

    def _authenticate(self, challenge: Challenge | None, scope: str) -> None:
        creds = self.options.credentials
        if challenge is None or challenge.scheme not in ("basic", "bearer"):
            raise RegistryError(f"{self.registry}: refused (401) without a usable auth challenge")
        if challenge.scheme == "basic":
            if creds is None:
                raise self._login_needed()
            if self._basic is not None:  # we already sent these and they were refused
                raise self._login_failed()
            self._basic = _basic_header(creds)
            return
        self._bearer = True
        if scope in self._tokens:  # a token we already used was refused
            raise self._login_failed() if creds else self._login_needed()
        self._tokens[scope] = self._fetch_token(challenge, scope)

    def _fetch_token(self, challenge: Challenge, scope: str) -> str:
        """The token server named by a Bearer challenge; credentials, if any, go as Basic, and
        only to it: its URL must be https (or plain http on this machine with --insecure)."""
        where = f"{self.registry}: token server"
        realm_text = challenge.params.get("realm")
        if not realm_text:
            raise RegistryError(f"{self.registry}: Bearer challenge without a realm")
        realm = parse_url(realm_text, where)
        check_url(realm, where, previous=self._base)
        params = {"service": challenge.params.get("service", "")}
        wanted = challenge.params.get("scope") or scope
        if wanted:
            params["scope"] = wanted
        creds = self.options.credentials
        basic = _basic_header(creds) if creds is not None else None
        realm_origin = origin(realm)

        def hop_headers(url: httpx.URL) -> dict[str, str]:
            if basic is None or origin(url) != realm_origin:
                return {}
            return {"Authorization": basic}

        url = realm.copy_merge_params(params)
        options, deadline = self.options, self.deadline
        r = send(
            self._http,
            "GET",
            url,
            where=where,
            options=options,
            deadline=deadline,
            headers=hop_headers,
        )
        with contextlib.closing(r):
            if r.status_code in (401, 403):
                raise self._login_failed() if creds else self._login_needed()
            if r.status_code != 200:
                raise RegistryError(f"{where}: answered {r.status_code}")
            try:
                raw = read_limited(r, MAX_TOKEN, where, deadline=deadline)
            except httpx.HTTPError as exc:
                raise RegistryError(
                    describe_http_error(exc, where, options.timeout, deadline)
                ) from None
        doc = decode_json(raw, _Token, where)
        token = doc.token or doc.access_token
        if not token:
            raise RegistryError(f"{self.registry}: token server sent no token")
        if not _TOKEN_RE.match(token):
            raise RegistryError(f"{self.registry}: token server sent a malformed token; refused")
        return f"Bearer {token}"

    def _login_needed(self) -> RegistryError:
        return RegistryError(
            f"{self.registry}: authentication required; run `lmp login {self.registry} -u USER`"
        )

    def _login_failed(self) -> RegistryError:
        return RegistryError(
            f"{self.registry}: authentication failed (wrong user or password, or no access); "
            f"run `lmp login {self.registry} -u USER`"
        )

    def _check(self, r: httpx.Response, where: str) -> None:
        if r.status_code < 300:
            return
        if r.status_code == 401:
            raise self._login_failed() if self.options.credentials else self._login_needed()
        body = read_limited(r, MAX_ERROR_BODY, where, deadline=self.deadline, truncate=True)
        if r.status_code == 400 and b"HTTPS server" in body:  # Go's answer to plain http
            raise RegistryError(
                f"{self.registry}: it speaks TLS, not plain http: drop --insecure "
                "(and pass --ca-file if its CA is private)"
            )
        codes, message = _registry_errors(body)
        if r.status_code == 404 or {"MANIFEST_UNKNOWN", "NAME_UNKNOWN", "BLOB_UNKNOWN"} & codes:
            what = "no such repository" if "NAME_UNKNOWN" in codes else "not found"
            raise RegistryNotFoundError(f"{where}: {what} on the registry")
        if r.status_code == 403:
            raise RegistryError(f"{where}: access denied (403){message}")
        raise RegistryError(f"{where}: registry answered {r.status_code}{message}")


def _pull(repo: str) -> str:
    return f"repository:{repo}:pull"


def _push(repo: str) -> str:
    return f"repository:{repo}:pull,push"


def _basic_header(creds: Credentials) -> str:
    token = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
    return f"Basic {token}"


def _registry_errors(body: bytes) -> tuple[set[str], str]:
    """The distribution API's ``{"errors": [{"code", "message"}]}``, as codes and one clause."""
    try:
        errors = msgspec.json.decode(body, type=_Errors).errors or []
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        return set(), ""
    codes = {e.code for e in errors}
    if not errors:
        return codes, ""
    return codes, f": {shown(errors[0].code, 60)}: {shown(errors[0].message, 200)}"


# -- artifacts -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Artifact:
    """What one push uploads: a config blob, a single layer, and the manifest's annotations."""

    kind: str  # "package" or "wasm"
    config_media_type: str
    config: bytes
    layer_media_type: str
    layer: bytes
    annotations: dict[str, str]
    artifact_type: str | None = None

    def manifest(self) -> bytes:
        """The manifest JSON; for wasm byte-for-byte what ecli's oci-distribution writes."""
        doc: dict[str, Any] = {"schemaVersion": 2, "mediaType": OCI_MANIFEST}
        if self.artifact_type:
            doc["artifactType"] = self.artifact_type
        doc["config"] = Descriptor.for_data(self.config_media_type, self.config).to_json()
        doc["layers"] = [Descriptor.for_data(self.layer_media_type, self.layer).to_json()]
        if self.annotations:
            doc["annotations"] = self.annotations
        return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def wasm_artifact(data: bytes, title: str, extra: dict[str, str] | None = None) -> Artifact:
    """As ``ecli push``: config ``{}``, one raw wasm layer, title annotation added if missing."""
    if data[:4] != b"\0asm":
        raise PackageError(f"{title}: not a WebAssembly module")
    annotations = dict(extra or {})
    annotations.setdefault(ANN_TITLE, title)
    return Artifact("wasm", WASM_CONFIG, b"{}", WASM_LAYER, data, annotations)


@dataclass(frozen=True, slots=True)
class PackageInfo:
    """What a listing shows without downloading the package."""

    name: str
    version: str
    description: str
    category: str
    fields: list[str]

    def config(self) -> bytes:
        doc = {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "category": self.category,
            "fields": self.fields,
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()

    def annotations(self) -> dict[str, str]:
        out = {ANN_TITLE: self.name, ANN_VERSION: self.version, ANN_DESCRIPTION: self.description}
        out.update({ANN_CATEGORY: self.category, ANN_FIELDS: ",".join(self.fields)})
        return {k: v for k, v in out.items() if v}


def package_info(pkg: Package, version: str = "") -> PackageInfo:
    """Listing metadata: the package's own doc, else the built-in Hub's catalog entry (so the
    Hub's programs pushed as they are carry their category)."""
    entry = hub.catalog().get(pkg.name, {})
    fields = [str(f) for f in pkg.sample_value_member_names() or [] if f]
    description = pkg.description or entry.get("summary", "")
    return PackageInfo(pkg.name, version, description, entry.get("category", "other"), fields)


def make_artifact(
    data: bytes, filename: str, version: str = "", extra: dict[str, str] | None = None
) -> Artifact:
    """The artifact for a file: wasm as ecli pushes it; a package.json (or a bare .bpf.o,
    packed into one, since the layer is always a package.json) with lmp's media types."""
    if data[:4] == b"\0asm":
        return wasm_artifact(data, filename, extra)
    base = Path(filename).name
    pkg = parse_package(data, filename, "" if base == "package.json" else base.split(".", 1)[0])
    if data[:4] == b"\x7fELF":
        data = pack_package(pkg.obj, pkg.meta)
    return package_artifact(package_info(pkg, version), data, extra)


def package_artifact(
    info: PackageInfo, data: bytes, extra: dict[str, str] | None = None
) -> Artifact:
    """A ``package.json``; ``extra`` annotations (``push -a``) win over the derived ones."""
    annotations = info.annotations() | dict(extra or {})
    return Artifact(
        "package", LMP_CONFIG, info.config(), LMP_LAYER, data, annotations, LMP_ARTIFACT
    )


def push_artifact(
    client: RegistryClient, ref: Reference, artifact: Artifact, progress: Progress | None = None
) -> str:
    """Upload config and layer, then the manifest under the tag; returns the manifest digest."""
    client.push_blob(ref.repository, artifact.config)
    client.push_blob(ref.repository, artifact.layer, progress)
    target = ref.digest or ref.tag
    raw = artifact.manifest()
    if ref.digest:
        verify(raw, ref.digest, None, f"{ref}: pushing by digest")
    return client.put_manifest(ref.repository, target, raw, OCI_MANIFEST)
