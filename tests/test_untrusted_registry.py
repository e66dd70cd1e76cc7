"""Issue 11, distribution: what a registry, token server or web server sends is untrusted. It
never gets credentials meant for another origin, never makes us read without limit, never
serves a package over plain http from off this machine, and never holds us past the deadline.

Every server here is a fake on 127.0.0.1 (``registry.fake_server``) recording what it was sent.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

# Fixtures come from registry.py (imported, then injected by name as parameters).
# ruff: noqa: F811
from registry import (  # noqa: F401
    LMP,
    PASSWORD,
    ROOT,
    USER,
    FakeHandler,
    FakeServer,
    fake_server,
    lmp,
    lmp_dirs,
    make_tls,
    one_line_error,
)

from lmp_tui.runtime.distribution import fetch, http, oci
from lmp_tui.runtime.distribution.credentials import Credentials
from lmp_tui.runtime.distribution.fetch import FetchError
from lmp_tui.runtime.distribution.oci import RegistryClient, RegistryError, parse_reference
from lmp_tui.runtime.distribution.transport import TransportOptions
from lmp_tui.runtime.errors import LmpError, NotFoundError

DATA = Path(__file__).parent / "data/untrusted/oci"
CREDS = Credentials(USER, PASSWORD)
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
WASM = b"\0asm\x01\0\0\0"
INSECURE = TransportOptions(insecure=True)


def insecure(**kw: object) -> TransportOptions:
    return TransportOptions(insecure=True, credentials=CREDS, **kw)  # type: ignore[arg-type]


def wants_basic(h: FakeHandler) -> bool:
    """Answer a 401 Basic challenge unless the request carries our credentials."""
    if h.headers.get("Authorization") == BASIC:
        return False
    h.reply(401, {"errors": [{"code": "UNAUTHORIZED"}]}, {"WWW-Authenticate": 'Basic realm="x"'})
    return True


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory):
    return make_tls(tmp_path_factory.mktemp("untrusted-tls"))


# -- 1. credentials only to their origin -----------------------------------------------------------


def test_credentials_stay_with_their_origin_catalog_next_page():
    with fake_server(lambda h: h.reply(200, {"repositories": ["elsewhere"]})) as foreign:

        def registry(h: FakeHandler) -> None:
            if wants_basic(h):
                return
            link = f'<{foreign.url}/v2/_catalog?n=1&last=x>; rel="next"'
            h.reply(200, {"repositories": ["here"]}, {"Link": link})

        with fake_server(registry) as reg, RegistryClient(reg.host, insecure()) as client:
            assert client.catalog() == ["here", "elsewhere"]
        assert BASIC in reg.authorizations()
    assert [s.path for s in foreign.seen] == ["/v2/_catalog?n=1&last=x"]
    assert foreign.authorizations() == []


def test_credentials_stay_with_their_origin_upload_location():
    with fake_server(lambda h: h.reply(201)) as foreign:

        def registry(h: FakeHandler) -> None:
            if wants_basic(h):
                return
            if h.command == "HEAD":
                return h.reply(404)
            h.reply(202, headers={"Location": f"{foreign.url}/upload/1?_state=s"})

        with fake_server(registry) as reg, RegistryClient(reg.host, insecure()) as client:
            digest = client.push_blob("lmp/x", b"layer")
        assert [s.method for s in reg.seen if s.headers.get("authorization") == BASIC] == [
            "HEAD",
            "POST",
        ]
    assert [(s.method, s.path) for s in foreign.seen] == [
        ("PUT", f"/upload/1?_state=s&digest={digest.replace(':', '%3A')}")
    ]
    assert foreign.authorizations() == []


def test_credentials_stay_with_their_origin_foreign_401_is_not_answered():
    def challenge(h: FakeHandler) -> None:
        h.reply(401, headers={"WWW-Authenticate": 'Basic realm="give me yours"'})

    with fake_server(challenge) as foreign:

        def registry(h: FakeHandler) -> None:
            if not wants_basic(h):
                h.reply(307, headers={"Location": f"{foreign.url}/blob"})

        layer = oci.Descriptor.for_data(oci.LMP_LAYER, b"{}")
        with (
            fake_server(registry) as reg,
            RegistryClient(reg.host, insecure()) as client,
            pytest.raises(RegistryError, match="asks for credentials; refused") as exc,
        ):
            client.get_blob("lmp/x", layer)
    assert "\n" not in str(exc.value)
    assert foreign.authorizations() == []


def test_credentials_stay_with_their_origin_redirect():
    layer = b"the layer"
    with fake_server(lambda h: h.reply(200, layer)) as foreign:

        def registry(h: FakeHandler) -> None:
            if not wants_basic(h):
                h.reply(307, headers={"Location": f"{foreign.url}/storage/blob"})

        desc = oci.Descriptor.for_data(oci.LMP_LAYER, layer)
        with fake_server(registry) as reg, RegistryClient(reg.host, insecure()) as client:
            assert client.get_blob("lmp/x", desc) == layer
    assert [s.path for s in foreign.seen] == ["/storage/blob"]
    assert foreign.authorizations() == []


def token_server(h: FakeHandler) -> None:
    if h.headers.get("Authorization") != BASIC:
        return h.reply(401)
    h.reply(200, {"token": "tok"})


def bearer_registry(realm: str):
    def respond(h: FakeHandler) -> None:
        if h.headers.get("Authorization") == "Bearer tok":
            return h.reply(200, {"name": "demo", "tags": ["v1"]})
        challenge = f'Bearer realm="{realm}",service="fake",scope="repository:demo:pull"'
        h.reply(401, {"errors": []}, {"WWW-Authenticate": challenge})

    return respond


def test_credentials_stay_with_their_origin_token_realm_http_from_https_refused(tls):
    with fake_server(token_server) as realm:
        options = TransportOptions(ca_file=str(tls.ca), credentials=CREDS)
        with (
            fake_server(bearer_registry(f"{realm.url}/token"), tls) as reg,
            RegistryClient(reg.host, options) as client,
            pytest.raises(RegistryError, match="plain http, named by an https server") as exc,
        ):
            client.tags("demo")
    assert "\n" not in str(exc.value)
    assert realm.seen == []  # not asked at all, so it never saw the credentials


def test_credentials_stay_with_their_origin_token_realm_off_machine_http_refused():
    with (
        fake_server(bearer_registry("http://example.com/token")) as reg,
        RegistryClient(reg.host, insecure()) as client,
        pytest.raises(RegistryError, match="plain http is allowed only to this machine"),
    ):
        client.tags("demo")


def test_credentials_stay_with_their_origin_token_realm_https_accepted(tls):
    options = TransportOptions(ca_file=str(tls.ca), credentials=CREDS)
    with fake_server(token_server, tls) as realm:
        with (
            fake_server(bearer_registry(f"{realm.url}/token"), tls) as reg,
            RegistryClient(reg.host, options) as client,
        ):
            assert client.tags("demo") == ["v1"]
        assert reg.authorizations() == ["Bearer tok"]  # never the password
    assert realm.authorizations() == [BASIC]  # how token auth works: the realm checks them


def test_credentials_stay_with_their_origin_token_realm_loopback_http_with_insecure():
    with fake_server(token_server) as realm:
        with (
            fake_server(bearer_registry(f"{realm.url}/token")) as reg,
            RegistryClient(reg.host, insecure()) as client,
        ):
            assert client.tags("demo") == ["v1"]
        assert reg.authorizations() == ["Bearer tok"]
    assert realm.authorizations() == [BASIC]


# -- 3. bounded bodies -----------------------------------------------------------------------------

_MEASURE = """
import json, resource, subprocess, sys
p = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=60)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
print(json.dumps({"rc": p.returncode, "stderr": p.stderr, "peak": peak}))
"""


def lmp_measured(*args: str) -> tuple[subprocess.CompletedProcess[str], int]:
    """``lmp args`` in a process of its own, with the peak RSS of that process alone."""
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, *LMP, *args],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=ROOT,
    )
    got = json.loads(out.stdout)
    return subprocess.CompletedProcess(args, got["rc"], "", got["stderr"]), got["peak"]


def endless_registry(what: str):
    def respond(h: FakeHandler) -> None:
        if h.path.startswith("/token"):
            return h.endless(200, {"Content-Type": "application/json"})
        if what == "token" and h.headers.get("Authorization") is None:
            host = h.headers["Host"]
            challenge = f'Bearer realm="http://{host}/token",service="fake"'
            return h.reply(401, headers={"WWW-Authenticate": challenge})
        if what == "redirect":
            return h.endless(307, {"Location": "/v2/elsewhere"})
        h.endless(int(what) if what.isdigit() else 404, {"Content-Type": "application/json"})

    return respond


@pytest.mark.parametrize("what", ["404", "500", "token", "redirect"])
def test_endless_bodies_are_read_through_a_limit(lmp_dirs, what):
    with fake_server(endless_registry(what)) as reg:
        started = time.monotonic()
        proc, peak = lmp_measured("pull", f"{reg.host}/lmp/x:v1", "--insecure", "-o", "/dev/null")
        elapsed = time.monotonic() - started
    line = one_line_error(proc)
    assert peak < 100 << 20, f"peak RSS {peak >> 20} MB"
    assert elapsed < 30
    expected = {
        "404": "not found",
        "500": "registry answered 500",
        "token": "more than the expected 65536 bytes; refused",
        "redirect": "more than 10 redirects",
    }[what]
    assert expected in line, line


def test_a_compressed_body_is_refused():
    def respond(h: FakeHandler) -> None:
        h.reply(200, b"\x1f\x8b" + b"\0" * 30, {"Content-Encoding": "gzip"})

    with fake_server(respond) as web, pytest.raises(FetchError, match="compressed reply"):
        fetch.fetch_url(f"{web.url}/x.json", no_cache=True)


# -- 8. plain http only to this machine ------------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "pull"])
def test_plain_http_url_off_machine_is_refused_in_one_line(lmp_dirs, command):
    started = time.monotonic()
    line = one_line_error(lmp(command, "http://example.com/x.json"))
    assert time.monotonic() - started < 10
    assert "plain http is allowed only to this machine" in line and "example.com" in line


def test_plain_http_url_is_refused_before_any_request(lmp_dirs, monkeypatch):
    def no_network(*args: object, **kw: object) -> None:
        raise AssertionError("a request was made")

    monkeypatch.setattr(fetch, "http_client", no_network)
    monkeypatch.setattr(oci, "http_client", no_network)
    for url in ("http://example.com/x.json", "http://10.0.0.1:8000/x.json", "http://[::2]/x"):
        with pytest.raises(FetchError, match="plain http is allowed only to this machine"):
            fetch.resolve(url)
    hubs: list[fetch.Hub] = [fetch.UrlHub("http://hub.example.com/")]
    with pytest.raises(NotFoundError, match="plain http is allowed only to this machine"):
        fetch.resolve("sigsnoop2", hubs=hubs)


@pytest.mark.parametrize(
    "host, loopback",
    [("127.0.0.1", True), ("127.9.9.9", True), ("::1", True), ("[::1]", True)]
    + [("localhost", True), ("LOCALHOST", True), ("10.0.0.1", False), ("example.com", False)]
    + [("localhost.example.com", False), ("::ffff:8.8.8.8", False)],
)
def test_plain_http_loopback_hosts(host, loopback):
    assert http.host_is_loopback(host) is loopback


def test_plain_http_to_loopback_is_allowed(lmp_dirs):
    with fake_server(lambda h: h.reply(200, WASM)) as web:
        got = fetch.fetch_url(f"http://localhost:{web.port}/app/app.wasm", no_cache=True)
    assert (got.data, got.kind, got.name) == (WASM, "wasm", "app")


def test_plain_http_redirect_from_https_is_refused(lmp_dirs, tls):
    with fake_server(lambda h: h.reply(200, WASM)) as plain:
        target = f"{plain.url}/app.wasm"
        with fake_server(lambda h: h.reply(302, headers={"Location": target}), tls) as web:
            options = TransportOptions(ca_file=str(tls.ca))
            with pytest.raises(FetchError, match="plain http, named by an https server") as exc:
                fetch.fetch_url(f"{web.url}/app.wasm", no_cache=True, options=options)
    assert "\n" not in str(exc.value) and plain.seen == []


def test_plain_http_redirect_off_machine_is_refused(lmp_dirs):
    elsewhere = "http://example.com/app.wasm"
    with fake_server(lambda h: h.reply(301, headers={"Location": elsewhere})) as web:
        with pytest.raises(FetchError, match="only to this machine.*example.com"):
            fetch.fetch_url(f"{web.url}/app.wasm", no_cache=True)
        options = TransportOptions(insecure=True)
        with (
            RegistryClient(web.host, options) as client,
            pytest.raises(RegistryError, match="only to this machine.*example.com"),
        ):
            client.get_manifest("lmp/x", "v1")


def test_plain_http_next_page_from_https_is_refused(tls):
    def respond(h: FakeHandler) -> None:
        link = '<http://127.0.0.1:1/v2/_catalog?last=a>; rel="next"'
        h.reply(200, {"repositories": ["a"]}, {"Link": link})

    options = TransportOptions(ca_file=str(tls.ca))
    with (
        fake_server(respond, tls) as reg,
        RegistryClient(reg.host, options) as client,
        pytest.raises(RegistryError, match="plain http, named by an https server"),
    ):
        client.catalog()


# -- 12. an overall deadline -----------------------------------------------------------------------

HEAD_200 = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"


@pytest.mark.parametrize("where", ["body", "headers"])
def test_a_dripping_server_is_given_up_on_by_the_deadline(lmp_dirs, where):
    def respond(h: FakeHandler) -> None:
        h.drip(0.1, HEAD_200 + b"Content-Length: 100000\r\n\r\n" if where == "body" else HEAD_200)

    options = TransportOptions(insecure=True, timeout=5.0, deadline=1.5)
    with fake_server(respond) as reg:
        started = time.monotonic()
        with pytest.raises(RegistryError, match="not done after 1.5 s; gave up") as exc:
            fetch.pull(parse_reference(f"{reg.host}/lmp/x:v1"), options=options)
        assert time.monotonic() - started < 1.5 + 1.0
        assert "\n" not in str(exc.value)

        started = time.monotonic()
        with pytest.raises(FetchError, match="not done after 1.5 s; gave up"):
            fetch.fetch_url(f"{reg.url}/x.json", no_cache=True, options=options)
        assert time.monotonic() - started < 1.5 + 1.0


def test_the_deadline_spans_all_pages_of_a_listing():
    def respond(h: FakeHandler) -> None:
        time.sleep(0.2)
        n = int(h.path.rsplit("=", 1)[-1]) if "last=" in h.path else 0
        link = f'</v2/_catalog?n=1&last={n + 1}>; rel="next"'
        h.reply(200, {"repositories": [f"r{n}"]}, {"Link": link})

    with (
        fake_server(respond) as reg,
        RegistryClient(reg.host, TransportOptions(insecure=True, deadline=1.0)) as client,
    ):
        started = time.monotonic()
        with pytest.raises(RegistryError, match="not done after 1 s"):
            client.catalog()
        assert time.monotonic() - started < 2.0


def test_an_endless_next_page_chain_stops_in_one_line():
    def respond(h: FakeHandler) -> None:
        n = int(h.path.rsplit("=", 1)[-1]) if "last=" in h.path else 0
        link = f'</v2/_catalog?n=1&last={n + 1}>; rel="next"'
        h.reply(200, {"repositories": [f"r{n}"]}, {"Link": link})

    with fake_server(respond) as reg, RegistryClient(reg.host, INSECURE) as client:
        with pytest.raises(RegistryError, match="more than 1000 pages; stopped") as exc:
            client.catalog()
        assert "\n" not in str(exc.value)
        assert len(reg.seen) == oci.MAX_PAGES


def test_a_repeating_next_page_link_stops_in_one_line():
    def respond(h: FakeHandler) -> None:
        h.reply(200, {"tags": ["a"]}, {"Link": '</v2/x/tags/list?last=a>; rel="next"'})

    with fake_server(respond) as reg, RegistryClient(reg.host, INSECURE) as client:
        with pytest.raises(RegistryError, match="next page link repeats"):
            client.tags("x")
        assert len(reg.seen) == 2


def test_remote_listing_of_an_endless_hub_is_a_problem_line(lmp_dirs):
    def respond(h: FakeHandler) -> None:
        n = int(h.path.rsplit("=", 1)[-1]) if "last=" in h.path else 0
        h.reply(200, {"repositories": []}, {"Link": f'</v2/_catalog?last={n + 1}>; rel="next"'})

    with fake_server(respond) as reg:
        hub = fetch.RegistryHub(reg.host, "lmp", insecure=True)
        listing = fetch.remote_programs(hubs=[hub])
    assert listing.programs == [] and len(listing.problems) == 1
    assert "more than 1000 pages" in listing.problems[0]


# -- typed manifests and hostile listings ----------------------------------------------------------


@pytest.mark.parametrize(
    "name, expected",
    [
        ("wrong_types.json", "Expected `int`, got `str` - at `$.layers[0].size`"),
        ("bool_size.json", "Expected `int`, got `bool` - at `$.layers[0].size`"),
        ("negative_size.json", "Expected `int` >= 0 - at `$.config.size`"),
        ("deep.json", "Expected `object`, got `array` - at `$.layers[0]`"),
        ("deep_unknown_key.json", "JSON nested too deeply; refused"),
        ("bad_digest.json", "$.layers[0]: unsupported or malformed digest"),
        ("control_media_type.json", "at `$.layers[0].mediaType`"),
        ("annotation_not_string.json", "Expected `str`, got `int` - at `$.annotations"),
        ("index.json", "is an image index"),
        ("not_json.json", "JSON is malformed"),
        ("no_layers.json", "the manifest has no layers"),
        ("array.json", "Expected `object`, got `array`"),
    ],
)
def test_untrusted_manifest_regressions(name, expected):
    raw = (DATA / name).read_bytes()
    with pytest.raises(RegistryError) as exc:
        oci.parse_manifest(raw, oci.digest_of(raw), "", "h.io/x:v1")
    message = str(exc.value)
    assert expected in message, message
    assert len(message.splitlines()) == 1 and len(message) < 500


def test_untrusted_manifest_unknown_keys_are_ignored():
    raw = (DATA / "unknown_keys.json").read_bytes()
    manifest = oci.parse_manifest(raw, oci.digest_of(raw), "", "h.io/x:v1")
    assert oci.artifact_layer(manifest, "x")[1] == "wasm"


def test_untrusted_manifest_in_a_pull_is_one_line(lmp_dirs):
    raw = (DATA / "wrong_types.json").read_bytes()

    def respond(h: FakeHandler) -> None:
        h.reply(200, raw, {"Content-Type": oci.OCI_MANIFEST})

    with fake_server(respond) as reg:
        line = one_line_error(lmp("pull", f"{reg.host}/lmp/x:v1", "--insecure"))
    assert f"manifest from {reg.host}/lmp/x:v1: Expected `int`, got `str`" in line


def test_untrusted_listing_names_are_checked():
    def respond(h: FakeHandler) -> None:
        if "_catalog" in h.path:
            names = ["ok/name", "../../etc", "UPPER", "x?y=1", "a\nb", "fine"]
            return h.reply(200, {"repositories": names})
        h.reply(200, {"tags": ["v1", "../x", "-bad", "ok_2"]})

    with fake_server(respond) as reg, RegistryClient(reg.host, INSECURE) as client:
        assert client.catalog() == ["ok/name", "fine"]
        assert client.tags("fine") == ["v1", "ok_2"]


def test_untrusted_listing_with_wrong_types_is_one_line():
    with (
        fake_server(lambda h: h.reply(200, {"repositories": [1, 2]})) as reg,
        RegistryClient(reg.host, INSECURE) as client,
        pytest.raises(
            RegistryError, match=r"Expected `str`, got `int` - at `\$.repositories\[0\]`"
        ),
    ):
        client.catalog()


def test_untrusted_error_messages_are_one_line():
    message = "line one\nline two \x1b[31mred" + "x" * 10_000

    def respond(h: FakeHandler) -> None:
        h.reply(500, {"errors": [{"code": "DENIED\r\nX", "message": message}]})

    with (
        fake_server(respond) as reg,
        RegistryClient(reg.host, INSECURE) as client,
        pytest.raises(RegistryError) as exc,
    ):
        client.get_manifest("lmp/x", "v1")
    text = str(exc.value)
    assert len(text.splitlines()) == 1 and "\x1b" not in text and len(text) < 500
    assert "registry answered 500: DENIED\\r\\nX: line one\\nline two" in text


def test_untrusted_token_replies():
    def respond(h: FakeHandler) -> None:
        if h.path.startswith("/token"):
            return h.reply(200, {"token": "a b\nc"})
        challenge = f'Bearer realm="http://{h.headers["Host"]}/token"'
        h.reply(401, headers={"WWW-Authenticate": challenge})

    with (
        fake_server(respond) as reg,
        RegistryClient(reg.host, INSECURE) as client,
        pytest.raises(RegistryError, match="malformed token; refused"),
    ):
        client.tags("x")


def test_untrusted_annotations_are_shown_escaped(lmp_dirs):
    layer = oci.Descriptor.for_data(oci.WASM_LAYER, WASM).to_json()
    config = oci.Descriptor.for_data(oci.WASM_CONFIG, b"{}").to_json()
    doc = {"schemaVersion": 2, "mediaType": oci.OCI_MANIFEST, "config": config}
    doc |= {"layers": [layer], "annotations": {oci.ANN_DESCRIPTION: "evil\x1b[2J\nnext"}}
    raw = json.dumps(doc).encode()

    def respond(h: FakeHandler) -> None:
        if "_catalog" in h.path:
            return h.reply(200, {"repositories": ["lmp/evil"]})
        if "/tags/" in h.path:
            return h.reply(200, {"tags": ["latest"]})
        h.reply(200, raw, {"Content-Type": oci.OCI_MANIFEST})

    with fake_server(respond) as reg:
        listing = fetch.remote_programs(hubs=[fetch.RegistryHub(reg.host, "lmp", insecure=True)])
    assert listing.problems == []
    assert listing.programs[0].description == "evil\\x1b[2J\\nnext"


def test_lmp_errors_are_the_only_exceptions_for_odd_registry_names():
    for name in ("[::1", "h:99999999", "a..b:1", "[zz]:1", "h/x", "h?x", ""):
        for options in (INSECURE, TransportOptions()):
            with pytest.raises(LmpError):
                RegistryClient(name, options).close()


def test_an_oversized_listing_stops_in_one_line():
    names = ["a" * 200] * 19_000  # about 4 MB a page

    def respond(h: FakeHandler) -> None:
        n = int(h.path.rsplit("=", 1)[-1]) if "last=" in h.path else 0
        link = f'</v2/_catalog?last={n + 1}>; rel="next"'
        h.reply(200, {"repositories": names}, {"Link": link})

    with (
        fake_server(respond) as reg,
        RegistryClient(reg.host, INSECURE) as client,
        pytest.raises(RegistryError, match="more than 16 MiB in all; stopped"),
    ):
        client.catalog()
