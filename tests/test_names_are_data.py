"""Names are data, never paths; text is data, never terminal commands (item 10 of the
untrusted-input issue): a project's config.json, a package's names and the strings events
carry cannot make lmp write outside the directory the user named or drive the terminal."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT
from hypothesis import given
from hypothesis import strategies as st
from test_author import lmp, one_line_error

from lmp_tui.runtime.untrusted import file_stem, printable

SIGSNOOP = ROOT / "lmp_tui" / "hub" / "sigsnoop" / "package.json"


def project_with(tmp_path: Path, config: dict[str, object]) -> Path:
    project = tmp_path / "outer" / "proj"
    project.mkdir(parents=True)
    shutil.copy(SIGSNOOP, project / "package.json")
    (project / "config.json").write_text(json.dumps(config))
    return project


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    "config",
    [
        {"wasm": {"app": "../ESCAPED_app.c"}},
        {"wasm": {"app": "/tmp/ESCAPED_app.c"}},
        {"wasm": {"output": "../../ESCAPED.wasm"}},
        {"package": "../../../etc/ESCAPED.json"},
        {"wasm": {"app": ["not", "a", "name"]}},
    ],
)
def test_path_escape_config_json_paths_stay_in_the_project(
    tmp_path: Path, config: dict[str, object]
) -> None:
    project = project_with(tmp_path, config)
    before = files_under(tmp_path)
    for command in ("gen-wasm-skel", "build-wasm"):
        line = one_line_error(lmp(command, str(project), cwd=tmp_path))
        assert "config.json" in line
    assert files_under(tmp_path) == before
    assert not list(Path("/tmp").glob("ESCAPED*"))


def test_path_escape_crafted_obj_name_never_writes_outside(tmp_path: Path) -> None:
    project = project_with(tmp_path, {})
    doc = json.loads((project / "package.json").read_text())
    doc["meta"]["bpf_skel"]["obj_name"] = "../../ESCAPED"
    (project / "package.json").write_text(json.dumps(doc))
    outside = files_under(tmp_path / "outer") - files_under(project)
    done = lmp("gen-wasm-skel", str(project), cwd=tmp_path)
    assert "Traceback" not in done.stderr
    assert files_under(tmp_path / "outer") - files_under(project) == outside
    assert not list(tmp_path.rglob("ESCAPED*"))


@given(st.text())
def test_file_stem_is_one_harmless_component(name: str) -> None:
    stem = file_stem(name)
    assert stem and "/" not in stem and "\0" not in stem
    assert not stem.startswith(".") and len(stem) <= 64
    assert (Path("/x") / f"{stem}-1.lmprec").parent == Path("/x")


@given(st.text())
def test_printable_leaves_no_control_character(text: str) -> None:
    shown = printable(text)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in shown)
    if text.isprintable():
        assert shown == text


def test_tui_recording_name_from_a_crafted_program_stays_in_the_folder(tmp_path: Path) -> None:
    from lmp_tui.app import LmpApp
    from lmp_tui.runtime.config import Config, TuiSettings

    folder = tmp_path / "recordings"
    app = LmpApp(Config(tui=TuiSettings(recordings_dir=str(folder))), probe_bpf=False)
    path = app.recording_path("../../../tmp/x")
    assert path.parent == folder and path.name.startswith("tmp_x-")


@pytest.mark.kernel
def test_terminal_control_chars_from_events_are_escaped_in_plain_output(
    tmp_path: Path,
) -> None:
    """A traced process picks its file names: a name carrying ESC [2J must not clear the
    screen of whoever watches ``lmp run opensnoop``."""
    hostile = tmp_path / "clear\x1b[2J\x07screen"
    hostile.write_text("")
    run = subprocess.Popen(
        [sys.executable, "-m", "lmp_tui.cli", "run", "opensnoop", "--duration", "3"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    time.sleep(1.5)
    for _ in range(20):
        hostile.read_text()
    out, _ = run.communicate(timeout=30)
    assert b"clear\\x1b[2J\\x07screen" in out
    assert b"\x1b" not in out and b"\x07" not in out
