"""Fuzzing what registries, token servers and web servers send, and the references users type:
manifests (as bytes and as JSON shaped like one), references, challenges, ``Link`` headers,
URLs a server names, error and listing bodies, and the body reader. Only ``LmpError`` may come
out, within 2 s and 256 MB a case (``limits.bounded``)."""

from __future__ import annotations

import json
from typing import Any

import httpx
from hypothesis import given
from hypothesis import strategies as st
from limits import bounded

from lmp_tui.runtime.distribution import http, oci
from lmp_tui.runtime.errors import LmpError
from lmp_tui.runtime.untrusted import shown

DIGEST = "sha256:" + "ab" * 32

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)


def maybe(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The right kind of value, or anything JSON can hold."""
    return st.one_of(value, json_values)


descriptors = st.fixed_dictionaries(
    {},
    optional={
        "mediaType": maybe(st.sampled_from([oci.LMP_LAYER, oci.WASM_LAYER, oci.WASM_CONFIG])),
        "digest": maybe(st.sampled_from([DIGEST, "sha256:12", "md5:x"])),
        "size": maybe(st.integers(min_value=-2, max_value=1 << 70)),
        "annotations": maybe(st.dictionaries(st.text(max_size=10), st.text(max_size=10))),
    },
)
manifests = st.fixed_dictionaries(
    {},
    optional={
        "schemaVersion": maybe(st.just(2)),
        "mediaType": maybe(st.sampled_from([oci.OCI_MANIFEST, oci.OCI_INDEX, "x/y"])),
        "config": maybe(descriptors),
        "layers": maybe(st.lists(descriptors, max_size=3)),
        "annotations": maybe(st.dictionaries(st.text(max_size=10), st.text(max_size=10))),
        "manifests": json_values,
        "artifactType": maybe(st.text(max_size=20)),
    },
)


def _one_line(result: object) -> None:
    if isinstance(result, LmpError):
        assert len(str(result).splitlines()) == 1 and len(str(result)) < 2000


@given(st.binary(max_size=2000), st.text(max_size=60))
def test_fuzz_parse_manifest_bytes(raw: bytes, content_type: str) -> None:
    _one_line(bounded(oci.parse_manifest, raw, DIGEST, content_type, "h.io/x:v1"))


@given(manifests, st.sampled_from(["", oci.OCI_MANIFEST, oci.DOCKER_MANIFEST_LIST]))
def test_fuzz_parse_manifest_shaped(doc: dict[str, Any], content_type: str) -> None:
    raw = json.dumps(doc).encode()
    result = bounded(oci.parse_manifest, raw, DIGEST, content_type, "h.io/x:v1")
    _one_line(result)
    if isinstance(result, oci.Manifest):
        _one_line(bounded(oci.artifact_layer, result, "h.io/x:v1"))


@given(st.text(max_size=200))
def test_fuzz_parse_reference(text: str) -> None:
    result = bounded(oci.parse_reference, text)
    _one_line(result)
    bounded(oci.looks_like_reference, text)
    if isinstance(result, oci.Reference):
        assert oci.parse_reference(str(result)) == result


@given(st.text(max_size=300))
def test_fuzz_parse_challenge(header: str) -> None:
    result = bounded(oci.parse_challenge, header)
    assert result is None or isinstance(result, oci.Challenge)


@given(st.text(alphabet=st.sampled_from('<>;,=" relnxt/?&:ab\\\t'), max_size=300) | st.text())
def test_fuzz_next_link(header: str) -> None:
    result = bounded(oci.next_link, header)
    assert result is None or isinstance(result, str)


BASES = [httpx.URL("https://reg.example:5000/v2/_catalog"), httpx.URL("http://127.0.0.1:5000/")]


@given(st.text(max_size=120), st.sampled_from([None, *BASES]))
def test_fuzz_urls_servers_name(text: str, base: httpx.URL | None) -> None:
    def resolve() -> httpx.URL:
        url = http.parse_url(text, "where", base)
        http.check_url(url, "where", previous=base)
        http.origin(url)
        return url

    _one_line(bounded(resolve))


@given(st.binary(max_size=1000) | json_values.map(lambda v: json.dumps(v).encode()))
def test_fuzz_registry_bodies(raw: bytes) -> None:
    bounded(oci._registry_errors, raw)
    for schema in (oci._Catalog, oci._Tags, oci._Token):
        _one_line(bounded(oci.decode_json, raw, schema, "registry"))


@given(
    st.binary(max_size=300),
    st.dictionaries(
        st.sampled_from(["content-length", "content-encoding", "content-type"]),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=12),
    ),
    st.integers(min_value=0, max_value=400),
    st.booleans(),
)
def test_fuzz_read_limited(
    body: bytes, headers: dict[str, str], limit: int, truncate: bool
) -> None:
    response = httpx.Response(200, headers=headers, stream=httpx.ByteStream(body))
    result = bounded(http.read_limited, response, limit, "where", None, truncate=truncate)
    _one_line(result)
    if isinstance(result, bytes):
        assert len(result) <= limit


@given(st.text())
def test_fuzz_shown_is_one_line(text: str) -> None:
    assert len(shown(text).splitlines()) <= 1
