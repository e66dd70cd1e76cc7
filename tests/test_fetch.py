"""Resolving targets: URLs, remote Hubs (a web directory, an OCI registry), the digest-keyed cache,
the remote listing, the config file and `lmp cache`."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest

# Fixtures come from registry.py (imported, then injected by name as parameters).
# ruff: noqa: F811
from registry import (  # noqa: F401
    SIGSNOOP,
    free_port,
    http_server,
    lmp,
    lmp_dirs,
    one_line_error,
    registry,
)

from lmp_tui.runtime.distribution import credentials, fetch, oci
from lmp_tui.runtime.distribution.credentials import Credentials
from lmp_tui.runtime.distribution.oci import RegistryClient, parse_reference
from lmp_tui.runtime.distribution.transport import TransportOptions
from lmp_tui.runtime.errors import LmpError, NotFoundError

WASM = b"\0asm\x01\0\0\0"
INSECURE = TransportOptions(insecure=True)


@pytest.fixture
def web_hub(tmp_path):
    """LMP's site layout: <name>/package.json, or only <name>/app.wasm."""
    site = tmp_path / "site"
    (site / "sigsnoop2").mkdir(parents=True)
    shutil.copy(SIGSNOOP, site / "sigsnoop2/package.json")
    (site / "wasmonly").mkdir()
    (site / "wasmonly/app.wasm").write_bytes(WASM)
    with http_server(site) as (url, requests):
        yield url, requests, site


def write_config(env: dict[str, str], text: str) -> None:
    path = Path(env["LMP_CONFIG_DIR"]) / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_hub_name_is_fetched_then_served_from_the_cache(web_hub, lmp_dirs):
    url, requests, _ = web_hub
    write_config(lmp_dirs, f'[[hub]]\nurl = "{url}"\n')

    got = fetch.resolve("sigsnoop2")
    assert (got.data, got.kind, got.name, got.cached) == (
        SIGSNOOP.read_bytes(),
        "package",
        "sigsnoop2",
        False,
    )
    assert got.source == f"{url}sigsnoop2/package.json"
    assert requests == ["/sigsnoop2/package.json"]

    again = fetch.resolve("sigsnoop2")
    assert again.cached and again.data == got.data and again.digest == got.digest
    assert requests == ["/sigsnoop2/package.json"]  # no second request

    fetch.resolve("sigsnoop2", no_cache=True)
    assert len(requests) == 2


def test_hub_tries_package_json_then_app_wasm(web_hub, lmp_dirs):
    url, requests, _ = web_hub
    got = fetch.resolve("wasmonly", hubs=[fetch.UrlHub(url)])
    assert (got.data, got.kind, got.name) == (WASM, "wasm", "wasmonly")
    assert requests == ["/wasmonly/package.json", "/wasmonly/app.wasm"]
    assert fetch.resolve("wasmonly", hubs=[fetch.UrlHub(url)]).cached
    assert len(requests) == 2


def test_unknown_name_is_one_line_naming_the_hubs(web_hub, lmp_dirs):
    url, _, _ = web_hub
    dead = f"http://127.0.0.1:{free_port()}/"
    hubs = [fetch.UrlHub(dead), fetch.UrlHub(url)]
    assert fetch.resolve("sigsnoop2", hubs=hubs).kind == "package"  # a dead Hub is skipped
    with pytest.raises(NotFoundError) as exc:
        fetch.resolve("nope", hubs=hubs)
    message = str(exc.value)
    assert "\n" not in message and url in message and "cannot connect" in message


def test_no_hub_configured_says_where_to_configure_one(lmp_dirs):
    with pytest.raises(NotFoundError, match=r"\[\[hub\]\] in .*config.toml"):
        fetch.resolve("nothing")


def test_url_target_is_cached(web_hub, lmp_dirs):
    url, requests, _ = web_hub
    first = fetch.resolve(f"{url}sigsnoop2/package.json")
    assert (first.name, first.kind, first.cached) == ("sigsnoop2", "package", False)
    assert fetch.resolve(f"{url}sigsnoop2/package.json").cached
    assert requests == ["/sigsnoop2/package.json"]
    with pytest.raises(NotFoundError, match="404"):
        fetch.resolve(f"{url}missing/package.json")


def test_a_damaged_cache_file_is_fetched_again(web_hub, lmp_dirs):
    url, requests, _ = web_hub
    got = fetch.resolve(f"{url}sigsnoop2/package.json")
    blob = fetch.Cache().blob_path(got.digest)
    blob.write_bytes(b"garbage")
    again = fetch.resolve(f"{url}sigsnoop2/package.json")
    assert not again.cached and again.data == SIGSNOOP.read_bytes()
    assert len(requests) == 2


def test_local_files_and_bad_targets(lmp_dirs, tmp_path):
    got = fetch.resolve(str(SIGSNOOP))
    assert (got.kind, got.name, got.data) == ("package", "sigsnoop", SIGSNOOP.read_bytes())
    with pytest.raises(NotFoundError, match="no such file"):
        fetch.resolve("no/such/file.json")


def test_registry_hub_resolves_names_and_lists_programs(registry, lmp_dirs, tmp_path):
    wasm = tmp_path / "app.wasm"
    wasm.write_bytes(WASM)
    with RegistryClient(registry.host, INSECURE) as client:
        for file, ref in ((SIGSNOOP, "hub/sigsnoop:latest"), (wasm, "hub/wasmprog:0.1")):
            artifact = oci.make_artifact(file.read_bytes(), file.name)
            oci.push_artifact(client, parse_reference(f"{registry.host}/{ref}"), artifact)
    write_config(lmp_dirs, f'[[hub]]\nregistry = "{registry.host}/hub"\ninsecure = true\n')

    got = fetch.resolve("sigsnoop")
    assert (got.kind, got.name, got.data) == ("package", "sigsnoop", SIGSNOOP.read_bytes())
    assert fetch.resolve("wasmprog:0.1").data == WASM
    with pytest.raises(NotFoundError):
        fetch.resolve("wasmprog")  # no latest tag

    listing = fetch.remote_programs()
    assert listing.problems == []
    by_name = {p.name: p for p in listing.programs}
    assert set(by_name) == {"sigsnoop", "wasmprog"}
    sig = by_name["sigsnoop"]
    assert (sig.tag, sig.kind, sig.category, sig.description) == (
        "latest",
        "package",
        "signals",
        "Trace signals issued in the system",
    )
    assert sig.fields == ["pid", "tpid", "sig", "ret", "comm"]
    assert sig.reference.startswith(f"{registry.host}/hub/sigsnoop@sha256:")
    assert (by_name["wasmprog"].tag, by_name["wasmprog"].kind) == ("0.1", "wasm")


def test_remote_listing_reports_unlistable_hubs(lmp_dirs):
    dead = fetch.RegistryHub(f"127.0.0.1:{free_port()}", "lmp", insecure=True)
    listing = fetch.remote_programs(hubs=[fetch.UrlHub("http://127.0.0.1:1/"), dead])
    assert listing.programs == []
    assert len(listing.problems) == 2 and "cannot connect" in listing.problems[1]


@pytest.mark.parametrize(
    "text, message",
    [
        ('[[hub]]\nurl = "http://x/"\nregistry = "h:1/p"\n', "exactly one of"),
        ('[[hub]]\nurl = "ftp://x/"\n', "http:// or https://"),
        ('[[hub]]\nurl = "http://x/"\ncolour = 1\n', "unknown key"),
        ("[[hub]\n", "config.toml"),
    ],
)
def test_bad_config_is_one_line(lmp_dirs, text, message):
    write_config(lmp_dirs, text)
    with pytest.raises(LmpError, match=message) as exc:
        fetch.configured_hubs()
    assert "\n" not in str(exc.value)


def test_configured_hubs(lmp_dirs):
    write_config(
        lmp_dirs,
        '[[hub]]\nurl = "http://127.0.0.1:8000"\n'
        '[[hub]]\nregistry = "127.0.0.1:5000/lmp"\ninsecure = true\n'
        '[[hub]]\nregistry = "ghcr.io"\nca_file = "/ca.pem"\n',
    )
    assert fetch.configured_hubs() == [
        fetch.UrlHub("http://127.0.0.1:8000/"),
        fetch.RegistryHub("127.0.0.1:5000", "lmp", True, None),
        fetch.RegistryHub("ghcr.io", "", False, "/ca.pem"),
    ]


def test_credentials_store_is_private_and_round_trips(lmp_dirs):
    path = credentials.save("https://Reg.example:5000/", Credentials("me", "pw:with:colons"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert credentials.lookup("reg.example:5000") == Credentials("me", "pw:with:colons")
    assert "pw:with" not in repr(credentials.lookup("reg.example:5000"))
    assert credentials.remove("reg.example:5000") and not credentials.remove("reg.example:5000")
    assert credentials.lookup("reg.example:5000") is None


def test_docker_hub_credentials_under_the_v1_index_key(lmp_dirs):
    docker = Path(lmp_dirs["DOCKER_CONFIG"])
    docker.mkdir()
    auth = {"https://index.docker.io/v1/": {"auth": "dTpw"}}  # base64("u:p")
    (docker / "config.json").write_text(json.dumps({"auths": auth}))
    assert credentials.lookup("docker.io") == Credentials("u", "p")


def test_cache_ls_and_clear(web_hub, lmp_dirs):
    url, _, _ = web_hub
    fetch.resolve(f"{url}sigsnoop2/package.json")

    proc = lmp("cache", "ls")
    assert proc.returncode == 0, proc.stderr
    header, row = proc.stdout.splitlines()
    assert header.split() == ["SOURCE", "KIND", "SIZE", "DIGEST", "FETCHED"]
    assert row.startswith(f"{url}sigsnoop2/package.json") and " package " in row
    entry = json.loads(lmp("cache", "ls", "--json").stdout)
    assert entry["size"] == SIGSNOOP.stat().st_size and entry["kind"] == "package"

    proc = lmp("cache", "clear")
    assert proc.returncode == 0 and "removed 1 entries" in proc.stderr
    assert fetch.Cache().entries() == []
    assert "empty" in lmp("cache", "ls").stderr


def test_pull_cli_from_a_url_hub_and_errors(web_hub, lmp_dirs, tmp_path):
    url, _, _ = web_hub
    write_config(lmp_dirs, f'[[hub]]\nurl = "{url}"\n')
    out = tmp_path / "got.wasm"
    proc = lmp("pull", "wasmonly", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == WASM
    line = one_line_error(lmp("pull", "nowhere"))
    assert "nowhere" in line and url in line
