"""One config file for both front ends: the README's example is read cleanly by each."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ROOT

from lmp_tui.app import LmpApp
from lmp_tui.runtime.config import Config, HubEntry, load_config, parse_config, save_columns
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
