"""The config file (``config.toml``): whatever it holds, ``load_config`` gives a config and says
what it ignored in one line each; it never raises."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from limits import bounded

from lmp_tui.runtime.config import Config, load_config

KEYS = st.sampled_from(
    ["tui", "keymap", "hub", "theme", "row_limit", "recordings_dir", "url", "registry", "x"]
)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=20,
)


def load(path: Path, text: bytes) -> Config:
    path.write_bytes(text)
    config = bounded(load_config, path)
    assert isinstance(config, Config)
    for problem in config.problems:
        assert "\n" not in problem.strip()
    return config


def toml_value(value: object) -> str:
    if value is None:
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if value == value and abs(value) != float("inf") else "nan"
    if isinstance(value, str):
        return '"' + value.encode("unicode_escape").decode().replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f'"{k}" = {toml_value(v)}' for k, v in value.items()) + "}"


@given(st.binary(max_size=2000))
def test_fuzz_config_random_bytes(tmp_path_factory, data: bytes) -> None:
    load(tmp_path_factory.mktemp("c") / "config.toml", data)


@given(st.dictionaries(KEYS, VALUES, max_size=6))
def test_fuzz_config_shapes(tmp_path_factory, doc: dict[str, object]) -> None:
    text = "\n".join(f'"{k}" = {toml_value(v)}' for k, v in doc.items())
    # what is not valid TOML (a NaN as a key's value...) is a case too: said in one line
    load(tmp_path_factory.mktemp("c") / "config.toml", text.encode())


def test_config_nested_too_deeply_is_one_problem(tmp_path: Path) -> None:
    config = load(tmp_path / "config.toml", b"x = " + b"[" * 5000 + b"]" * 5000)
    assert [p for p in config.problems if "nested too deeply" in p] == list(config.problems)
    assert len(config.problems) == 1
