"""OCI distribution client and the artifact format lmp pushes and pulls.

The client speaks the distribution API v2 over httpx: blobs, manifests, tags, catalog, delete, with
Basic or Bearer auth as the registry asks. Everything it hands back has been checked against its
digest and size, so callers may cache it by digest. Artifacts are ORAS-style: one config, one layer.
A ``.wasm`` uses exactly ecli's (``bpf-oci``) media types and manifest shape so ecli and lmp can pull
each other's; a ``package.json`` uses lmp's own media types, with metadata in the annotations so a
remote listing needs only the manifests.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import ipaddress
import json
import re
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ..errors import LmpError, NotFoundError, PackageError
from ..format.package import Package, pack_package, parse_package
from . import hub
from .credentials import Credentials
from .transport import Progress, TransportOptions


class RegistryError(LmpError):
    """The registry is unreachable, refused us, or sent something that fails verification."""


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


# -- digests ---------------------------------------------------------------------------------------

_DIGEST_RE = re.compile(r"^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$")


def digest_of(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


def check_digest(digest: str) -> str:
    if not _DIGEST_RE.match(digest):
        raise RegistryError(f"unsupported or malformed digest {digest!r} (sha256 or sha512)")
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
        raise RegistryError(f"{text!r}: not an OCI reference ({usage})")
    repo, tag = rest, "latest"
    last = rest.rsplit("/", 1)[-1]
    if ":" in last:
        repo, tag = rest.rsplit(":", 1)
        if not _TAG_RE.match(tag):
            raise RegistryError(f"{text!r}: invalid tag {tag!r}")
    if not _REPO_RE.match(repo):
        raise RegistryError(
            f"{text!r}: invalid repository {repo!r} (lowercase letters, digits, . _ - and /)"
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
        host = registry[1:].partition("]")[0]
    else:
        host = registry.partition(":")[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- manifests -------------------------------------------------------------------------------------


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
    def parse(cls, d: Any, where: str) -> Descriptor:
        if not isinstance(d, dict):
            raise RegistryError(f"{where}: a descriptor is not an object")
        media, digest, size = d.get("mediaType"), d.get("digest"), d.get("size")
        if not isinstance(media, str) or not isinstance(digest, str):
            raise RegistryError(f"{where}: a descriptor lacks mediaType or digest")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise RegistryError(f"{where}: a descriptor has no valid size")
        ann = d.get("annotations")
        return cls(media, check_digest(digest), size, ann if isinstance(ann, dict) else None)

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
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RegistryError(f"{where}: the manifest is not valid JSON") from None
    if not isinstance(doc, dict):
        raise RegistryError(f"{where}: the manifest is not a JSON object")
    media = doc.get("mediaType") or content_type.split(";", 1)[0].strip() or OCI_MANIFEST
    if media in (OCI_INDEX, DOCKER_MANIFEST_LIST) or "manifests" in doc:
        raise RegistryError(
            f"{where}: is an image index (several platforms), not an lmp or ecli artifact"
        )
    if media not in (OCI_MANIFEST, DOCKER_MANIFEST) or doc.get("schemaVersion") != 2:
        raise RegistryError(f"{where}: unsupported manifest type {media!r}")
    layers = doc.get("layers")
    if not isinstance(layers, list):
        raise RegistryError(f"{where}: the manifest has no layers")
    ann = doc.get("annotations")
    return Manifest(
        raw,
        digest,
        media,
        Descriptor.parse(doc.get("config"), where),
        [Descriptor.parse(layer, where) for layer in layers],
        {k: v for k, v in ann.items() if isinstance(v, str)} if isinstance(ann, dict) else {},
        doc.get("artifactType") if isinstance(doc.get("artifactType"), str) else None,
    )


def artifact_layer(manifest: Manifest, where: str) -> tuple[Descriptor, str]:
    """The layer to run and its kind ("package" or "wasm"); other artifacts are refused."""
    for layer in manifest.layers:
        if layer.media_type in KIND_BY_LAYER:
            return layer, KIND_BY_LAYER[layer.media_type]
    found = ", ".join(sorted({layer.media_type for layer in manifest.layers})) or "no layers"
    raise RegistryError(
        f"{where}: not an lmp package or wasm module (layer types: {found}; "
        f"expected {LMP_LAYER} or {WASM_LAYER})"
    )


# -- transport -------------------------------------------------------------------------------------


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """System trust store (falling back to certifi), or only the given CA when ``--ca-file``."""
    if ca_file:
        path = Path(ca_file)
        if not path.is_file():
            raise RegistryError(f"--ca-file {ca_file}: no such file")
        try:
            return ssl.create_default_context(cafile=str(path))
        except ssl.SSLError as exc:
            raise RegistryError(f"--ca-file {ca_file}: not a PEM certificate ({exc})") from None
    ctx = ssl.create_default_context()
    if not ctx.cert_store_stats().get("x509_ca"):
        import certifi  # httpx's own dependency

        ctx.load_verify_locations(certifi.where())
    return ctx


def http_client(options: TransportOptions) -> httpx.Client:
    timeout = httpx.Timeout(
        options.timeout, connect=options.connect_timeout, pool=options.connect_timeout
    )
    return httpx.Client(
        verify=tls_context(options.ca_file),
        timeout=timeout,
        follow_redirects=True,  # httpx drops Authorization when a redirect leaves the host
        headers={"User-Agent": "lmp-tui"},
    )


def describe_http_error(exc: httpx.HTTPError, where: str, timeout: float) -> str:
    """One line for a network failure, with the fix when there is an obvious one."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectTimeout):
        return f"{where}: no answer within the connect timeout (host down or unreachable)"
    if isinstance(exc, httpx.TimeoutException):
        return f"{where}: no data for {timeout:g} s; gave up"
    if "CERTIFICATE_VERIFY_FAILED" in text:
        reason = text.split("certificate verify failed:", 1)[-1].split("(_ssl", 1)[0].strip()
        return (
            f"{where}: TLS certificate not trusted ({reason}); "
            "pass --ca-file with the CA that signed it"
        )
    if "SSL" in text or "TLS" in text or "WRONG_VERSION" in text:
        return (
            f"{where}: TLS handshake failed ({text.strip()}); if it serves plain http on "
            "this machine, pass --insecure"
        )
    if isinstance(exc, httpx.ConnectError):
        reason = text.split("]", 1)[-1].strip() if text.startswith("[Errno") else text
        return f"{where}: cannot connect ({reason.lower()})"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"{where}: not an HTTP answer ({text}); is it TLS? then drop --insecure"
    return f"{where}: {text}"


def read_limited(
    response: httpx.Response, limit: int, where: str, progress: Progress | None
) -> bytes:
    """The body, refusing anything past ``limit`` bytes before it is all in memory."""
    total = int(response.headers.get("content-length") or 0)
    if total > limit:
        raise RegistryError(f"{where}: {total} bytes, expected at most {limit}; refused")
    chunks, done = [], 0
    for chunk in response.iter_bytes():
        done += len(chunk)
        if done > limit:
            raise RegistryError(f"{where}: more than the expected {limit} bytes; refused")
        chunks.append(chunk)
        if progress is not None:
            progress(done, max(total, done))
    return b"".join(chunks)


@dataclass(frozen=True, slots=True)
class Challenge:
    scheme: str  # "basic" or "bearer"
    params: dict[str, str]


_PARAM_RE = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


def parse_challenge(header: str) -> Challenge | None:
    scheme, _, rest = header.strip().partition(" ")
    if not scheme:
        return None
    params = {m[1].lower(): m[2] if m[2] is not None else m[3] for m in _PARAM_RE.finditer(rest)}
    return Challenge(scheme.lower(), params)


class RegistryClient:
    """One registry; reuse it for several calls so auth tokens are fetched once."""

    def __init__(self, registry: str, options: TransportOptions | None = None) -> None:
        self.registry = registry
        self.options = options or TransportOptions()
        self.base = f"{self._scheme()}://{api_host(registry)}"
        self._http = http_client(self.options)
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

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- API -----------------------------------------------------------------------------------

    def ping(self) -> None:
        """GET /v2/: reachable, speaks the API, and accepts our credentials."""
        with self._send("GET", "/v2/", scope="") as r:
            self._check(r, "registry API (/v2/)")

    def blob_exists(self, repo: str, digest: str) -> bool:
        with self._send("HEAD", f"/v2/{repo}/blobs/{digest}", scope=_pull(repo)) as r:
            if r.status_code == 404:
                return False
            self._check(r, f"{repo}@{digest}")
            return True

    def get_blob(self, repo: str, desc: Descriptor, progress: Progress | None = None) -> bytes:
        where = f"{self.registry}/{repo}@{desc.digest}"
        if desc.size > MAX_BLOB:
            raise RegistryError(f"{where}: {desc.size} bytes is more than the {MAX_BLOB} allowed")
        with self._send("GET", f"/v2/{repo}/blobs/{desc.digest}", scope=_pull(repo)) as r:
            self._check(r, where)
            data = read_limited(r, desc.size, where, progress)
        verify(data, desc.digest, desc.size, where)
        return data

    def push_blob(self, repo: str, data: bytes, progress: Progress | None = None) -> str:
        """Upload ``data`` (monolithic POST then PUT) unless the registry already has it."""
        digest = digest_of(data)
        if self.blob_exists(repo, digest):
            return digest
        scope = _push(repo)
        with self._send("POST", f"/v2/{repo}/blobs/uploads/", scope=scope) as r:
            self._check(r, f"{repo}: starting an upload")
            location = r.headers.get("location")
        if not location:
            raise RegistryError(f"{self.registry}: upload started without a Location header")
        url = httpx.URL(self.base).join(location).copy_merge_params({"digest": digest})
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
        with self._send("GET", f"/v2/{repo}/manifests/{reference}", _pull(repo), headers) as r:
            self._check(r, where)
            raw = read_limited(r, MAX_MANIFEST, where, None)
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
        with self._send("PUT", path, _push(repo), headers, body=raw) as r:
            self._check(r, where)
            claimed = r.headers.get("docker-content-digest")
        digest = digest_of(raw)
        if claimed and claimed != digest:
            raise RegistryError(f"{where}: registry stored {claimed}, we sent {digest}")
        return digest

    def delete_manifest(self, repo: str, digest: str) -> None:
        path = f"/v2/{repo}/manifests/{check_digest(digest)}"
        with self._send("DELETE", path, scope=f"repository:{repo}:delete") as r:
            if r.status_code == 405:
                raise RegistryError(f"{self.registry}: deleting is disabled on this registry")
            self._check(r, f"{self.registry}/{repo}@{digest}")

    def tags(self, repo: str, page_size: int = 100) -> list[str]:
        return self._paged(f"/v2/{repo}/tags/list?n={page_size}", "tags", _pull(repo), repo)

    def catalog(self, page_size: int = 100) -> list[str]:
        return self._paged(
            f"/v2/_catalog?n={page_size}", "repositories", "registry:catalog:*", "catalog"
        )

    # -- plumbing ------------------------------------------------------------------------------

    def _paged(self, path: str, key: str, scope: str, what: str) -> list[str]:
        """Follow ``Link: <...>; rel="next"`` until the last page."""
        out: list[str] = []
        url: str | httpx.URL | None = path
        seen: set[str] = set()
        while url is not None and str(url) not in seen:
            seen.add(str(url))
            with self._send("GET", url, scope=scope) as r:
                self._check(r, f"{self.registry}: {what}")
                try:
                    doc = json.loads(read_limited(r, MAX_MANIFEST, what, None))
                except (UnicodeDecodeError, json.JSONDecodeError):
                    raise RegistryError(f"{self.registry}: {what}: not JSON") from None
                items = doc.get(key) if isinstance(doc, dict) else None
                out.extend(str(i) for i in items or [])
                nxt = r.links.get("next", {}).get("url")
            url = httpx.URL(self.base).join(nxt) if nxt else None
        return out

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
        response = self._authorized(method, url, scope, headers or {}, body, progress)
        try:
            yield response
        except httpx.HTTPError as exc:
            where = f"registry {self.registry}"
            raise RegistryError(describe_http_error(exc, where, self.options.timeout)) from None
        finally:
            response.close()

    def _authorized(
        self,
        method: str,
        url: str | httpx.URL,
        scope: str,
        headers: dict[str, str],
        body: bytes | None,
        progress: Progress | None,
    ) -> httpx.Response:
        """Send; on a 401, answer the challenge (Basic or Bearer) and send once more."""
        target = httpx.URL(self.base).join(url) if isinstance(url, str) else url
        for attempt in range(2):
            hdrs = dict(headers)
            if (auth := self._auth_for(scope)) is not None:
                hdrs["Authorization"] = auth
            if body is not None:
                # Explicit length, so a progress-reporting body is not sent chunked.
                hdrs["Content-Length"] = str(len(body))
            request = self._http.build_request(
                method, target, headers=hdrs, content=_body(body, progress)
            )
            response = self._transport(request)
            if response.status_code != 401 or attempt == 1:
                return response
            challenge = parse_challenge(response.headers.get("www-authenticate", ""))
            response.close()
            self._authenticate(challenge, scope)
        raise AssertionError("unreachable")

    def _transport(self, request: httpx.Request) -> httpx.Response:
        try:
            return self._http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise RegistryError(
                describe_http_error(exc, f"registry {self.registry}", self.options.timeout)
            ) from None

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
        """The token server named by a Bearer challenge; credentials, if any, go as Basic."""
        realm = challenge.params.get("realm")
        if not realm:
            raise RegistryError(f"{self.registry}: Bearer challenge without a realm")
        params = {"service": challenge.params.get("service", "")}
        wanted = challenge.params.get("scope") or scope
        if wanted:
            params["scope"] = wanted
        headers = {}
        if self.options.credentials is not None:
            headers["Authorization"] = _basic_header(self.options.credentials)
        try:
            r = self._http.get(realm, params=params, headers=headers)
        except httpx.HTTPError as exc:
            where = f"token server {httpx.URL(realm).host}"
            raise RegistryError(describe_http_error(exc, where, self.options.timeout)) from None
        if r.status_code in (401, 403):
            raise self._login_failed() if self.options.credentials else self._login_needed()
        if r.status_code != 200:
            raise RegistryError(f"{self.registry}: token server answered {r.status_code}")
        try:
            doc = r.json()
            token = doc.get("token") or doc.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise RegistryError(f"{self.registry}: token server sent no token")
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
        r.read()
        if r.status_code == 400 and b"HTTPS server" in r.content:  # Go's answer to plain http
            raise RegistryError(
                f"{self.registry}: it speaks TLS, not plain http: drop --insecure "
                "(and pass --ca-file if its CA is private)"
            )
        codes, message = _registry_errors(r)
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


def _body(body: bytes | None, progress: Progress | None) -> bytes | Iterator[bytes] | None:
    """Bytes as they are, or in chunks reporting progress (a fresh iterator per attempt)."""
    if body is None or progress is None:
        return body

    def chunks() -> Iterator[bytes]:
        step = 256 << 10
        for i in range(0, len(body), step):
            yield body[i : i + step]
            progress(min(i + step, len(body)), len(body))

    return chunks()


def _registry_errors(r: httpx.Response) -> tuple[set[str], str]:
    """The distribution API's ``{"errors": [{"code", "message"}]}``, as codes and one clause."""
    try:
        errors = r.json().get("errors") or []
    except (ValueError, AttributeError):
        return set(), ""
    codes = {str(e.get("code")) for e in errors if isinstance(e, dict)}
    first = next((e for e in errors if isinstance(e, dict)), None)
    return codes, f": {first.get('code')}: {first.get('message')}" if first else ""


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
