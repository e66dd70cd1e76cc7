"""OCI distribution against a real registry (Debian's docker-registry on 127.0.0.1): push, pull by
tag and digest, tags, auth, TLS, tampering, a dead registry, and ecli's wasm artifacts."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import stat
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

# Fixtures come from registry.py (imported, then injected by name as parameters).
# ruff: noqa: F811
from registry import (  # noqa: F401
    PASSWORD,
    SIGSNOOP,
    USER,
    Registry,
    auth_registry,
    lmp,
    lmp_dirs,
    one_line_error,
    registry,
    start_registry,
    tls_registry,
)

from lmp_tui.runtime.distribution import credentials, fetch, oci
from lmp_tui.runtime.distribution.credentials import Credentials
from lmp_tui.runtime.distribution.oci import (
    RegistryClient,
    RegistryError,
    RegistryNotFoundError,
    TransportOptions,
    parse_reference,
)
from lmp_tui.runtime.format.package import parse_package

INSECURE = TransportOptions(insecure=True)
WASM = b"\0asm\x01\0\0\0"  # the smallest valid module


def unique_package(tag: str) -> bytes:
    """sigsnoop with its own digest, so tampering with it cannot touch another test's blob."""
    doc = json.loads(SIGSNOOP.read_bytes())
    doc["lmp_test"] = tag
    return json.dumps(doc).encode()


def push(
    reg: Registry,
    repo_tag: str,
    data: bytes | None = None,
    filename: str = "package.json",
    options: TransportOptions = INSECURE,
) -> tuple[oci.Reference, str]:
    ref = parse_reference(f"{reg.host}/{repo_tag}")
    artifact = oci.make_artifact(data or SIGSNOOP.read_bytes(), filename, ref.tag)
    with RegistryClient(reg.host, options) as client:
        return ref, oci.push_artifact(client, ref, artifact)


def raw_push(reg: Registry, repo: str, tag: str, blobs: list[bytes], manifest: bytes) -> None:
    """Upload as another tool would, with plain HTTP calls and none of our client code."""
    with httpx.Client(base_url=reg.url) as c:
        for blob in blobs:
            r = c.post(f"/v2/{repo}/blobs/uploads/")
            assert r.status_code == 202, r.text
            digest = "sha256:" + hashlib.sha256(blob).hexdigest()
            # Keep the upload's own query (_state) and add the digest to it.
            url = httpx.URL(r.headers["location"]).copy_merge_params({"digest": digest})
            r = c.put(url, content=blob)
            assert r.status_code == 201, r.text
        r = c.put(
            f"/v2/{repo}/manifests/{tag}",
            content=manifest,
            headers={"Content-Type": oci.OCI_MANIFEST},
        )
        assert r.status_code == 201, r.text


def ecli_manifest(wasm: bytes, title: str) -> bytes:
    """What `ecli push` (bpf-oci on oci-distribution 0.9, serde_json) writes, byte for byte."""
    cfg = hashlib.sha256(b"{}").hexdigest()
    layer = hashlib.sha256(wasm).hexdigest()
    return (
        '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
        '"config":{"mediaType":"application/vnd.wasm.config.v1+json",'
        f'"digest":"sha256:{cfg}","size":2}},'
        '"layers":[{"mediaType":"application/vnd.wasm.content.layer.v1+wasm",'
        f'"digest":"sha256:{layer}","size":{len(wasm)}}}],'
        f'"annotations":{{"org.opencontainers.image.title":"{title}"}}}}'
    ).encode()


def cache_is_empty(env: dict[str, str]) -> bool:
    root = Path(env["LMP_CACHE_DIR"])
    return not any(p.is_file() for p in root.rglob("*")) if root.exists() else True


# -- references ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, registry_, repo, tag, digest",
    [
        ("127.0.0.1:5000/lmp/sigsnoop", "127.0.0.1:5000", "lmp/sigsnoop", "latest", None),
        ("localhost:5000/x:v1.2", "localhost:5000", "x", "v1.2", None),
        ("ghcr.io/eunomia-bpf/sigsnoop:latest", "ghcr.io", "eunomia-bpf/sigsnoop", "latest", None),
        ("docker.io/sigsnoop", "docker.io", "library/sigsnoop", "latest", None),
        ("h.io/a/b@sha256:" + "ab" * 32, "h.io", "a/b", "latest", "sha256:" + "ab" * 32),
        ("h.io/a:t@sha256:" + "cd" * 32, "h.io", "a", "t", "sha256:" + "cd" * 32),
    ],
)
def test_parse_reference(text, registry_, repo, tag, digest):
    ref = parse_reference(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (registry_, repo, tag, digest)


@pytest.mark.parametrize(
    "text", ["sigsnoop", "lmp/sigsnoop", "h.io/UPPER", "h.io/a:b:c", "h.io/a@sha256:12", "h.io"]
)
def test_bad_reference_is_one_line(text):
    with pytest.raises(RegistryError) as exc:
        parse_reference(text)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("127.0.0.1:5000/x", True),
        ("localhost/x", True),
        ("ghcr.io/eunomia-bpf/sigsnoop:latest", True),
        ("sigsnoop", False),
        ("sigsnoop:latest", False),
        ("./build/package.json", False),
        ("out.d/package.json", False),
        ("https://example.com/x/package.json", False),
    ],
)
def test_looks_like_reference(text, expected):
    assert oci.looks_like_reference(text) is expected


def test_plain_http_is_refused_for_a_remote_host_even_with_insecure():
    with pytest.raises(RegistryError, match="only for registries on this machine"):
        RegistryClient("registry.example.com:5000", TransportOptions(insecure=True))


# -- push and pull ---------------------------------------------------------------------------------


def test_push_then_pull_by_reference(registry, lmp_dirs, tmp_path):
    ref = f"{registry.host}/lmp/sigsnoop:v1"
    proc = lmp("push", str(SIGSNOOP), ref, "--insecure")
    assert proc.returncode == 0, proc.stderr
    pinned = proc.stdout.strip()
    assert pinned.startswith(f"{registry.host}/lmp/sigsnoop@sha256:")

    out = tmp_path / "pulled.json"
    proc = lmp("pull", ref, "-o", str(out), "--insecure")
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == SIGSNOOP.read_bytes()
    assert parse_package(out.read_bytes()).name == "sigsnoop"

    # The manifest says what a listing needs, without the package.
    r = httpx.get(
        f"{registry.url}/v2/lmp/sigsnoop/manifests/v1", headers={"Accept": oci.OCI_MANIFEST}
    )
    assert r.headers["docker-content-digest"] == pinned.split("@")[1]
    manifest = r.json()
    assert manifest["artifactType"] == "application/vnd.lmp.package.v1+json"
    assert manifest["config"]["mediaType"] == "application/vnd.lmp.package.config.v1+json"
    assert [layer["mediaType"] for layer in manifest["layers"]] == [
        "application/vnd.lmp.package.layer.v1+json"
    ]
    assert manifest["annotations"] == {
        "org.opencontainers.image.title": "sigsnoop",
        "org.opencontainers.image.version": "v1",
        "org.opencontainers.image.description": "Trace signals issued in the system",
        "io.lmp.category": "signals",
        "io.lmp.fields": "pid,tpid,sig,ret,comm",
    }
    config = httpx.get(
        f"{registry.url}/v2/lmp/sigsnoop/blobs/{manifest['config']['digest']}"
    ).json()
    assert config == {
        "name": "sigsnoop",
        "version": "v1",
        "description": "Trace signals issued in the system",
        "category": "signals",
        "fields": ["pid", "tpid", "sig", "ret", "comm"],
    }


def test_pull_by_digest_and_the_cache(registry, lmp_dirs):
    data = unique_package("by-digest")
    ref, digest = push(registry, "lmp/bydigest:v1", data)
    pinned = parse_reference(f"{registry.host}/lmp/bydigest@{digest}")

    first = fetch.pull(pinned, options=INSECURE)
    assert (first.data, first.kind, first.name, first.cached) == (
        data,
        "package",
        "bydigest",
        False,
    )
    assert first.source == str(pinned)
    again = fetch.pull(pinned, options=INSECURE)
    assert again.cached and again.data == data
    by_tag = fetch.pull(ref, options=INSECURE)  # asks for the manifest, blob from the cache
    assert by_tag.cached and by_tag.digest == first.digest
    fresh = fetch.pull(pinned, options=INSECURE, no_cache=True)
    assert not fresh.cached and fresh.data == data


def test_tags_are_listed_across_pages_and_catalog(registry, lmp_dirs):
    tags = ["1.0", "1.1", "2.0", "dev", "latest"]
    for tag in tags:
        push(registry, f"lmp/tagged:{tag}")
    with RegistryClient(registry.host, INSECURE) as client:
        assert sorted(client.tags("lmp/tagged", page_size=2)) == tags
        assert "lmp/tagged" in client.catalog(page_size=1)


def test_delete_then_the_tag_is_gone(registry, lmp_dirs):
    ref, digest = push(registry, "lmp/deleted:v1", unique_package("delete"))
    with RegistryClient(registry.host, INSECURE) as client:
        client.delete_manifest("lmp/deleted", digest)
        with pytest.raises(RegistryNotFoundError):
            client.get_manifest("lmp/deleted", "v1")


def test_unknown_tag_and_repository_are_one_line(registry, lmp_dirs):
    push(registry, "lmp/sigsnoop:v1")
    line = one_line_error(lmp("pull", f"{registry.host}/lmp/sigsnoop:nope", "--insecure"))
    assert "lmp/sigsnoop:nope" in line and "not found" in line
    line = one_line_error(lmp("pull", f"{registry.host}/lmp/nothing-here", "--insecure"))
    assert "not found" in line or "no such repository" in line


@pytest.mark.parametrize("what", ["layer", "layer-size", "manifest"])
def test_tampered_content_is_refused_and_nothing_cached(registry, lmp_dirs, what):
    data = unique_package(f"tamper-{what}")
    ref, digest = push(registry, f"lmp/tamper-{what}:v1", data)
    layer = "sha256:" + hashlib.sha256(data).hexdigest()
    blob = registry.blob_file(digest if what == "manifest" else layer)
    content = bytearray(blob.read_bytes())
    if what == "layer-size":
        content += b" "
    else:
        content[len(content) // 2] ^= 0x01  # same size, different bytes
    blob.write_bytes(bytes(content))

    target = f"{registry.host}/lmp/tamper-{what}@{digest}" if what == "manifest" else str(ref)
    line = one_line_error(lmp("pull", target, "--insecure", "-o", os.devnull))
    assert "refused" in line and ("mismatch" in line or "expected" in line), line
    assert cache_is_empty(lmp_dirs)


def test_stopped_registry_is_one_line_within_5_s_but_digests_still_resolve(tmp_path, lmp_dirs):
    reg = start_registry(tmp_path / "short-lived")
    try:
        ref, digest = push(reg, "lmp/sigsnoop:v1")
        pinned = parse_reference(f"{reg.host}/lmp/sigsnoop@{digest}")
        fetch.pull(pinned, options=INSECURE)
    finally:
        reg.stop()

    assert fetch.pull(pinned, options=INSECURE).cached  # immutable: no registry needed

    started = time.monotonic()
    with pytest.raises(RegistryError) as exc:
        fetch.pull(ref, options=INSECURE)
    assert time.monotonic() - started < 5
    assert "cannot connect" in str(exc.value) and "\n" not in str(exc.value)

    started = time.monotonic()
    line = one_line_error(lmp("pull", str(ref), "--insecure", "-o", os.devnull))
    assert time.monotonic() - started < 5
    assert f"registry {reg.host}: cannot connect" in line


def test_a_registry_that_never_answers_times_out_in_one_line(lmp_dirs):
    with socket.socket() as silent:  # accepts connections (backlog) and says nothing
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        host = f"127.0.0.1:{silent.getsockname()[1]}"
        options = TransportOptions(insecure=True, timeout=1.0)
        started = time.monotonic()
        with pytest.raises(RegistryError, match="no data for 1 s") as exc:
            fetch.pull(parse_reference(f"{host}/lmp/x:v1"), options=options)
        assert time.monotonic() - started < 3 and "\n" not in str(exc.value)


def test_plain_http_registry_without_insecure_says_so(registry, lmp_dirs):
    line = one_line_error(lmp("pull", f"{registry.host}/lmp/sigsnoop:v1"))
    assert "TLS" in line and "--insecure" in line


# -- auth ------------------------------------------------------------------------------------------


def test_basic_auth_login_right_and_wrong(auth_registry, lmp_dirs, tmp_path):
    host = auth_registry.host
    ref = f"{host}/lmp/sigsnoop:v1"
    line = one_line_error(lmp("push", str(SIGSNOOP), ref, "--insecure"))
    assert "authentication required" in line and f"lmp login {host}" in line

    store = Path(lmp_dirs["LMP_CONFIG_DIR"]) / "credentials.json"
    line = one_line_error(lmp("login", host, "-u", USER, "-p", "wrong", "--insecure"))
    assert "authentication failed" in line
    assert not store.exists()

    proc = lmp("login", host, "-u", USER, "--password-stdin", "--insecure", input=PASSWORD + "\n")
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    assert credentials.lookup(host) == Credentials(USER, PASSWORD)

    assert lmp("push", str(SIGSNOOP), ref, "--insecure").returncode == 0
    out = tmp_path / "p.json"
    proc = lmp("pull", ref, "--insecure", "-o", str(out), "--no-cache")
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == SIGSNOOP.read_bytes()

    assert lmp("logout", host).returncode == 0
    assert credentials.lookup(host) is None
    line = one_line_error(lmp("pull", ref, "--insecure", "--no-cache"))
    assert "authentication required" in line


def test_wrong_stored_password_is_one_line(auth_registry, lmp_dirs):
    credentials.save(auth_registry.host, Credentials(USER, "not-it"))
    line = one_line_error(lmp("pull", f"{auth_registry.host}/lmp/sigsnoop:v1", "--insecure"))
    assert "authentication failed" in line


def test_docker_config_credentials_are_used(auth_registry, lmp_dirs):
    docker = Path(lmp_dirs["DOCKER_CONFIG"])
    docker.mkdir()
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    (docker / "config.json").write_text(
        json.dumps({"auths": {auth_registry.host: {"auth": token}}})
    )
    explicit = TransportOptions(insecure=True, credentials=Credentials(USER, PASSWORD))
    ref, _ = push(auth_registry, "lmp/docker-creds:v1", options=explicit)
    assert fetch.pull(ref, options=INSECURE).data == SIGSNOOP.read_bytes()  # found by itself


class _TokenRegistry(BaseHTTPRequestHandler):
    """A registry that wants Bearer tokens from its own token server (as ghcr.io, Docker Hub)."""

    token_requests: list[dict[str, list[str]]] = []

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        basic = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if url.path == "/token":
            if self.headers.get("Authorization") != basic:
                return self._reply(401, {"details": "bad credentials"})
            query = parse_qs(url.query)
            self.token_requests.append(query)
            return self._reply(200, {"token": "tok:" + query.get("scope", [""])[0]})
        if self.headers.get("Authorization") != "Bearer tok:repository:demo:pull":
            host = self.headers["Host"]
            challenge = (
                f'Bearer realm="http://{host}/token",service="fake",scope="repository:demo:pull"'
            )
            return self._reply(401, {"errors": [{"code": "UNAUTHORIZED"}]}, challenge)
        return self._reply(200, {"name": "demo", "tags": ["b", "a"]})

    def _reply(self, status: int, doc: dict, challenge: str | None = None) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if challenge:
            self.send_header("WWW-Authenticate", challenge)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def token_registry():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TokenRegistry)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    _TokenRegistry.token_requests = []
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_bearer_token_auth(token_registry):
    options = TransportOptions(insecure=True, credentials=Credentials(USER, PASSWORD))
    with RegistryClient(token_registry, options) as client:
        assert client.tags("demo") == ["b", "a"]
        assert client.tags("demo") == ["b", "a"]  # the token is reused
    assert _TokenRegistry.token_requests == [
        {"service": ["fake"], "scope": ["repository:demo:pull"]}
    ]
    wrong = TransportOptions(insecure=True, credentials=Credentials(USER, "nope"))
    with (
        RegistryClient(token_registry, wrong) as client,
        pytest.raises(RegistryError, match="authentication failed"),
    ):
        client.tags("demo")
    with (
        RegistryClient(token_registry, INSECURE) as client,
        pytest.raises(RegistryError, match="authentication required"),
    ):
        client.tags("demo")


# -- TLS -------------------------------------------------------------------------------------------


def test_tls_with_a_private_ca(tls_registry, lmp_dirs, tmp_path):
    ca = str(tls_registry.tls.ca)
    ref = f"{tls_registry.host}/lmp/sigsnoop:tls"
    proc = lmp("push", str(SIGSNOOP), ref, "--ca-file", ca)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "p.json"
    proc = lmp("pull", ref, "--ca-file", ca, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == SIGSNOOP.read_bytes()

    line = one_line_error(lmp("pull", ref, "--no-cache"))
    assert "not trusted" in line and "--ca-file" in line
    line = one_line_error(lmp("pull", ref, "--insecure", "--no-cache"))
    assert "TLS" in line
    line = one_line_error(lmp("pull", ref, "--ca-file", str(tmp_path / "missing.pem")))
    assert "no such file" in line


# -- ecli compatibility ----------------------------------------------------------------------------


def test_we_pull_what_ecli_pushes(registry, lmp_dirs, tmp_path):
    raw_push(registry, "ecli/app", "latest", [b"{}", WASM], ecli_manifest(WASM, "app.wasm"))
    out = tmp_path / "app.wasm"
    proc = lmp("pull", f"{registry.host}/ecli/app", "--insecure", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == WASM
    got = fetch.pull(parse_reference(f"{registry.host}/ecli/app"), options=INSECURE)
    assert (got.kind, got.name) == ("wasm", "app")


def test_our_wasm_push_has_ecli_manifest_shape(registry, lmp_dirs, tmp_path):
    wasm = tmp_path / "app.wasm"
    wasm.write_bytes(WASM)
    proc = lmp("push", str(wasm), f"{registry.host}/lmp/wasm:v1", "--insecure")
    assert proc.returncode == 0, proc.stderr
    r = httpx.get(f"{registry.url}/v2/lmp/wasm/manifests/v1", headers={"Accept": oci.OCI_MANIFEST})
    assert r.content == ecli_manifest(WASM, "app.wasm")
    config = json.loads(r.content)["config"]["digest"]
    assert httpx.get(f"{registry.url}/v2/lmp/wasm/blobs/{config}").content == b"{}"


def test_other_artifact_types_are_refused_in_one_line(registry, lmp_dirs):
    layer = b"not a tarball"
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": oci.OCI_MANIFEST,
            "config": oci.Descriptor.for_data(
                "application/vnd.oci.image.config.v1+json", b"{}"
            ).to_json(),
            "layers": [
                oci.Descriptor.for_data(
                    "application/vnd.oci.image.layer.v1.tar+gzip", layer
                ).to_json()
            ],
        }
    ).encode()
    raw_push(registry, "other/image", "latest", [b"{}", layer], manifest)
    line = one_line_error(lmp("pull", f"{registry.host}/other/image", "--insecure"))
    assert "not an lmp package or wasm module" in line and "tar+gzip" in line
