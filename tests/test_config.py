"""One config file for both front ends: the README's example is read cleanly by each."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ROOT
from textual.dom import DOMNode

import lmp_tui.app
from lmp_tui.app import LmpApp
from lmp_tui.runtime.config import (
    Config,
    HubEntry,
    check_keymap,
    declared_binding_ids,
    load_config,
    parse_config,
    save_columns,
)
from lmp_tui.runtime.distribution import fetch


def readme_example(tmp_path: Path) -> Path:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("Configuration: one file for `lmp` and `lmp-tui`") :]
    block = re.search(r"```toml\n(.*?)```", section, re.S)
    assert block, "the README's configuration example"
    path = tmp_path / "config.toml"
    path.write_text(block.group(1))
    return path


async def test_the_readmes_example_gives_no_warning_in_lmp_tui(tmp_path: Path) -> None:
    config = load_config(readme_example(tmp_path))
    assert config.problem is None
    assert config.tui.theme == "dark" and config.keymap == {"program.stop": "ctrl+x"}
    app = LmpApp(config, programs=[], probe_bpf=False)
    said: list[str] = []
    app.notify = lambda message, **kw: said.append(message)  # type: ignore[method-assign]
    async with app.run_test() as pilot:
        await pilot.pause()
        assert said == []
        assert set(config.keymap) <= {info.id for info in app.key_infos()}


def test_the_readmes_example_gives_the_cli_its_hubs(tmp_path: Path) -> None:
    config = load_config(readme_example(tmp_path))
    assert config.hubs == (HubEntry(url="https://linuxkerneltravel.github.io/lmp/"),)
    assert fetch.configured_hubs(config) == [
        fetch.UrlHub("https://linuxkerneltravel.github.io/lmp/")
    ]


def test_lmp_config_dir_names_the_folder_of_both(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "config.toml").write_text('[tui]\nrow_limit = 77\n[[hub]]\nurl = "http://h/"\n')
    monkeypatch.setenv("LMP_CONFIG_DIR", str(tmp_path))
    config = load_config()
    assert config.tui.row_limit == 77 and fetch.configured_hubs() == [fetch.UrlHub("http://h/")]


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ({"tui": {"row_limit": 0}}, "row_limit = 0 is not valid"),
        ({"tui": {"colour": "red"}}, "unknown setting [tui] 'colour'"),
        ({"colour": "red"}, "unknown setting 'colour'"),
        ({"hub": [{"url": "ftp://x/"}]}, "url must start with http:// or https://"),
        ({"keymap": {"a": 1}}, "[keymap] must map binding ids to key strings"),
    ],
)
def test_problems_are_one_line_and_leave_defaults(data, said) -> None:
    config = parse_config(data, Path("c.toml"))
    assert config.problem is not None and "\n" not in config.problem
    assert config.problem.startswith("c.toml: ") and said in config.problem
    assert config.tui.row_limit == 10_000 and config.hubs == ()


def test_top_level_tui_settings_of_lmp_tui_0_1_still_count() -> None:
    config = parse_config({"theme": "light", "tui": {"row_limit": 5}})
    assert config.problem is None and (config.tui.theme, config.tui.row_limit) == ("light", 5)
    assert Config().tui.theme is None


# -- [tui.columns]: the column chooser's choice, per program ------------------------------------


def test_columns_setting_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('# mine\n[tui]\nrow_limit = 77\n\n[[hub]]\nurl = "http://h/"\n')
    chosen = {"procstat": ["time", "pid"], 'od"d': ["a b"]}
    save_columns(path, chosen)
    config = load_config(path)
    assert config.problem is None and config.tui.columns == chosen
    assert config.tui.row_limit == 77 and len(config.hubs) == 1
    assert path.read_text().startswith("# mine\n")  # the rest of the file as written
    save_columns(path, {"procstat": ["comm"]})  # replaced, not added again
    assert load_config(path).tui.columns == {"procstat": ["comm"]}
    assert path.read_text().count("[tui.columns]") == 1


def test_columns_set_another_way_are_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[tui]\ncolumns = { x = ["a"] }\n')
    with pytest.raises(ValueError):
        save_columns(path, {"x": ["b"]})
    assert load_config(path).tui.columns == {"x": ["a"]}


def test_bad_columns_setting_is_a_problem() -> None:
    config = parse_config({"tui": {"columns": {"procstat": "pid"}}})
    assert config.problem is not None and config.tui.columns == {}


# -- [keymap]: ids checked against the bindings the app declares --------------------------------


def binding_ids() -> set[str]:
    return declared_binding_ids(DOMNode)


def test_every_binding_id_in_the_source_is_found() -> None:
    """The ids ``[keymap]`` is checked against are every ``Binding(..., id="...")`` in the
    package: a module of bindings that lmp-tui does not import would make its ids "unknown"."""
    written = set()
    for path in (ROOT / "lmp_tui").rglob("*.py"):
        # Binding("x", "action(arg)", ..., id="where.what"): one level of parentheses inside
        found = re.findall(r'Binding\((?:[^()]|\([^()]*\))*?\bid="([^"{}]+)"', path.read_text())
        written |= set(found)
    assert written and written <= binding_ids(), written - binding_ids()


def test_the_readmes_keymap_example_uses_real_binding_ids(tmp_path: Path) -> None:
    config = load_config(readme_example(tmp_path))
    assert config.keymap, "the README's example sets at least one key"
    assert set(config.keymap) <= binding_ids(), set(config.keymap) - binding_ids()
    assert check_keymap(config, binding_ids()) == config


def test_an_unknown_keymap_id_is_said_with_the_ids_meant() -> None:
    config = parse_config({"keymap": {"sort": "o", "program.stop": "ctrl+x"}}, Path("c.toml"))
    checked = check_keymap(config, binding_ids())
    assert checked.keymap == {"program.stop": "ctrl+x"}
    assert checked.problem is not None and "\n" not in checked.problem
    assert checked.problem.startswith("c.toml: unknown [keymap] id 'sort': did you mean ")
    assert "'events.sort'" in checked.problem and checked.problem.endswith("? (ignored)")
    unlike = check_keymap(parse_config({"keymap": {"zzzz": "o"}}), binding_ids())
    assert unlike.problem == "unknown [keymap] id 'zzzz': `?` in lmp-tui lists the ids (ignored)"


@pytest.mark.parametrize("keys", ["", " ", "ctrl+x,", "a b"])
def test_a_keymap_entry_without_keys_is_a_problem(keys: str) -> None:
    config = parse_config({"keymap": {"program.stop": keys}})
    assert config.keymap == {} and config.problem is not None and "program.stop" in config.problem


async def test_lmp_tui_says_an_unknown_keymap_id_once_as_it_starts(
    tmp_path: Path, monkeypatch
) -> None:
    """``lmp-tui --config FILE``: main drops what no binding has, and the app says it once."""
    path = tmp_path / "config.toml"
    path.write_text('[keymap]\nsort = "o"\n"program.stop" = "ctrl+x"\n[tui]\nrow_limit = 0\n')
    apps: list[LmpApp] = []
    monkeypatch.setattr(LmpApp, "run", lambda self, *a, **kw: apps.append(self))
    assert lmp_tui.app.main(["--config", str(path), "--demo", "--rows", "50"]) == 0
    [app] = apps
    assert app.config.keymap == {"program.stop": "ctrl+x"} and app.config.tui.row_limit == 50
    said: list[str] = []
    app.notify = lambda message, **kw: said.append(message)  # type: ignore[method-assign]
    async with app.run_test() as pilot:
        await pilot.pause()
    problems = [m for m in said if "unknown [keymap] id 'sort'" in m]
    assert len(problems) == 1 and "row_limit = 0 is not valid" in problems[0], said
