"""The fleet kit: the Grafana dashboard ``lmp export --grafana-dashboard`` prints, and the files
in ``deploy/`` (a systemd unit, a Prometheus scrape config).

The dashboard of each Hub program is checked for what Grafana needs to import it (a uid in
its pattern, panels with unique ids, a place in the 24-column grid, a Prometheus data source and
queries), and every metric its queries name is one ``families`` defines: a metric renamed on one
side and not the other fails here, not on a user's empty panel. The queries are PromQL that
``promtool`` parses; ``deploy/prometheus.yml`` is a config ``promtool`` accepts (its commented
``file_sd_configs`` alternative too), and the unit is one ``systemd-analyze verify`` accepts.
"""

from __future__ import annotations

import configparser
import copy
import json
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lmp_tui.runtime.cache import cache_dir
from lmp_tui.runtime.config import CONFIG_DIR_ENV
from lmp_tui.runtime.distribution.hub import builtin_programs
from lmp_tui.runtime.export.families import COMMON, families
from lmp_tui.runtime.export.grafana import dashboard, dashboard_json, dashboard_uid
from lmp_tui.runtime.format.package import ExportSpec
from lmp_tui.stops import exit_status

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
UNIT = DEPLOY / "lmp-export.service"
PROMETHEUS_YML = DEPLOY / "prometheus.yml"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"  # Debian's prometheus (setup.sh)

PANEL_TYPES = {"timeseries", "heatmap", "stat"}
UID = re.compile(r"[a-zA-Z0-9_-]{1,40}")
METRIC = re.compile(r"(?<![A-Za-z0-9_$])lmp_[a-zA-Z0-9_]+")
HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")


@pytest.fixture(scope="module")
def hub() -> dict[str, ExportSpec]:
    return {p.name: p.package.export() for p in builtin_programs()}


HUB_NAMES = [p.name for p in builtin_programs()]


# -- what Grafana requires ------------------------------------------------------------------


def grafana_errors(model: dict[str, Any]) -> list[str]:
    """What a dashboard JSON model lacks of the fields Grafana's import requires; [] if none."""
    errors: list[str] = []
    uid = model.get("uid")
    if not isinstance(uid, str) or not UID.fullmatch(uid):
        errors.append(f"uid {uid!r}: not 1-40 characters of [a-zA-Z0-9_-]")
    if not isinstance(model.get("title"), str) or not model["title"]:
        errors.append("no title")
    if type(model.get("schemaVersion")) is not int:
        errors.append(f"schemaVersion {model.get('schemaVersion')!r}: not an int")
    panels = model.get("panels")
    if not isinstance(panels, list) or not panels:
        return [*errors, "no panels"]
    ids: set[int] = set()
    cells: dict[tuple[int, int], int] = {}
    for i, panel in enumerate(panels):
        where = f"panel {i} ({panel.get('title')!r})"
        pid = panel.get("id")
        if type(pid) is not int or pid in ids:
            errors.append(f"{where}: id {pid!r} not a unique int")
        else:
            ids.add(pid)
        if panel.get("type") not in PANEL_TYPES:
            errors.append(f"{where}: type {panel.get('type')!r}")
        if not isinstance(panel.get("title"), str):
            errors.append(f"{where}: no title")
        pos = panel.get("gridPos", {})
        if not all(type(pos.get(k)) is int for k in "xywh"):
            errors.append(f"{where}: gridPos {pos!r}")
        elif not (pos["x"] >= 0 and pos["y"] >= 0 and pos["w"] > 0 and pos["h"] > 0):
            errors.append(f"{where}: gridPos {pos!r} not positive")
        elif pos["x"] + pos["w"] > 24:
            errors.append(f"{where}: gridPos {pos!r} wider than the 24-column grid")
        else:
            for x in range(pos["x"], pos["x"] + pos["w"]):
                for y in range(pos["y"], pos["y"] + pos["h"]):
                    if (x, y) in cells:
                        errors.append(f"{where}: overlaps panel {cells[x, y]}")
                        break
                    cells[x, y] = pid
                else:
                    continue
                break
        ds = panel.get("datasource")
        if not isinstance(ds, dict) or ds.get("type") != "prometheus" or not ds.get("uid"):
            errors.append(f"{where}: datasource {ds!r}")
        targets = panel.get("targets")
        if not isinstance(targets, list) or not targets:
            errors.append(f"{where}: no targets")
            continue
        refs = [t.get("refId") for t in targets]
        if len(set(refs)) != len(refs) or not all(isinstance(r, str) and r for r in refs):
            errors.append(f"{where}: refIds {refs!r}")
        for t in targets:
            if not isinstance(t.get("expr"), str) or not t["expr"]:
                errors.append(f"{where}: target {t!r} without expr")
    return errors


def defined_names(program: str, spec: ExportSpec) -> set[str]:
    """Every series name the exporter exposes for ``program``: COMMON's, its families', and a
    histogram's ``_bucket``, ``_sum`` and ``_count``."""
    names = {name for name, *_ in COMMON}
    for family in families(program, spec):
        if family.kind == "histogram":
            names.update(family.name + suffix for suffix in HISTOGRAM_SERIES)
        else:
            names.add(family.name)
    return names


def exprs(model: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in model["panels"] for t in p["targets"]]


def unknown_metrics(model: dict[str, Any], defined: set[str]) -> set[str]:
    return {m for e in exprs(model) for m in METRIC.findall(e)} - defined


@pytest.mark.parametrize("name", HUB_NAMES)
def test_each_hub_programs_dashboard_has_what_grafana_requires(
    name: str, hub: dict[str, ExportSpec]
) -> None:
    model = dashboard([(name, hub[name])])
    assert grafana_errors(model) == []
    assert model["schemaVersion"] == 39
    assert json.loads(json.dumps(model)) == model


@pytest.mark.parametrize("name", HUB_NAMES)
def test_each_metric_a_query_names_is_one_the_exporter_defines(
    name: str, hub: dict[str, ExportSpec]
) -> None:
    model = dashboard([(name, hub[name])])
    used = {m for e in exprs(model) for m in METRIC.findall(e)}
    assert used, "no lmp_ metric found in the queries: the pattern no longer reads them"
    assert unknown_metrics(model, defined_names(name, hub[name])) == set()


@pytest.mark.parametrize("name", HUB_NAMES)
def test_each_family_has_its_panels(name: str, hub: dict[str, ExportSpec]) -> None:
    model = dashboard([(name, hub[name])])
    for family in families(name, hub[name]):
        using = [p for p in model["panels"] if any(family.name in e for e in _exprs_of(p))]
        kinds = sorted(p["type"] for p in using)
        if family.kind == "histogram":
            assert kinds == ["heatmap", "timeseries"], family.name
            heatmap = next(p for p in using if p["type"] == "heatmap")
            (target,) = heatmap["targets"]
            assert target["format"] == "heatmap"
            assert target["expr"].startswith(f"sum by (le) (rate({family.name}_bucket{{")
            quantiles = next(p for p in using if p["type"] == "timeseries")
            assert [t["expr"].split(",")[0] for t in quantiles["targets"]] == [
                "histogram_quantile(0.5",
                "histogram_quantile(0.95",
                "histogram_quantile(0.99",
            ]
        else:
            assert kinds == ["timeseries"], family.name
            (target,) = using[0]["targets"]
            assert target["expr"].startswith("topk(10, ") or not family.labels
            if family.kind == "counter":
                assert f"rate({family.name}{{" in target["expr"]
            for label in family.labels:
                assert "{{" + label + "}}" in target["legendFormat"]


def _exprs_of(panel: dict[str, Any]) -> list[str]:
    return [t["expr"] for t in panel["targets"]]


def test_common_panels_are_per_program_and_filtered_by_instance(
    hub: dict[str, ExportSpec],
) -> None:
    model = dashboard([("sigsnoop", hub["sigsnoop"]), ("runqlat", hub["runqlat"])])
    first = exprs(model)[:4]
    for (name, _kind, _help), expr in zip(COMMON, first, strict=True):
        assert name in expr
        assert expr.startswith("sum by (program) (")
        assert 'program=~"sigsnoop|runqlat"' in expr
    assert [p["type"] for p in model["panels"][:4]] == ["timeseries"] * 3 + ["stat"]
    assert all('instance=~"$instance"' in e for e in exprs(model))


def test_units_come_from_the_families(hub: dict[str, ExportSpec]) -> None:
    model = dashboard([(n, hub[n]) for n in ("procstat", "runqlat", "syscount", "xdpstat")])
    unit_of = {
        _exprs_of(p)[0]: p.get("fieldConfig", {}).get("defaults", {}).get("unit")
        for p in model["panels"]
    }

    def unit(fragment: str) -> str | None:
        (found,) = [u for e, u in unit_of.items() if fragment in e and "quantile" not in e]
        return found

    assert unit("topk(10, lmp_procstat_size_bytes{") == "bytes"
    assert unit("topk(10, lmp_syscount_max_seconds{") == "s"
    assert unit("rate(lmp_syscount_count_total{") == "cps"
    assert unit("rate(lmp_xdpstat_bytes_total{") == "binBps"
    heatmap = next(p for p in model["panels"] if p["type"] == "heatmap")
    assert heatmap["options"]["yAxis"]["unit"] == "s"
    percentiles = next(p for p in model["panels"] if "histogram_quantile" in _exprs_of(p)[0])
    assert percentiles["fieldConfig"]["defaults"]["unit"] == "s"


def test_all_hub_programs_on_one_dashboard(hub: dict[str, ExportSpec]) -> None:
    programs = list(hub.items())
    model = dashboard(programs)
    assert grafana_errors(model) == []
    defined = set().union(*(defined_names(n, s) for n, s in programs))
    assert unknown_metrics(model, defined) == set()
    n_families = sum(2 if f.kind == "histogram" else 1 for n, s in programs for f in families(n, s))
    assert len(model["panels"]) == len(COMMON) + n_families


def test_variables_pick_the_data_source_and_the_instances(hub: dict[str, ExportSpec]) -> None:
    model = dashboard([("sigsnoop", hub["sigsnoop"])])
    variables = {v["name"]: v for v in model["templating"]["list"]}
    ds = variables["DS_PROMETHEUS"]
    assert (ds["type"], ds["query"]) == ("datasource", "prometheus")
    instance = variables["instance"]
    assert instance["query"]["query"] == "label_values(lmp_program_up, instance)"
    assert instance["multi"] is True and instance["includeAll"] is True
    # every panel reads the variable's data source, or the one asked for
    assert {p["datasource"]["uid"] for p in model["panels"]} == {"${DS_PROMETHEUS}"}
    bound = dashboard([("sigsnoop", hub["sigsnoop"])], datasource_uid="prom-1")
    assert {p["datasource"]["uid"] for p in bound["panels"]} == {"prom-1"}
    assert bound["templating"]["list"][1]["datasource"]["uid"] == "prom-1"


def test_dashboard_json_is_the_model_and_the_same_every_time(hub: dict[str, ExportSpec]) -> None:
    programs = [(n, hub[n]) for n in ("sigsnoop", "procstat", "runqlat")]
    text = dashboard_json(programs)
    assert json.loads(text) == dashboard(programs)
    assert text == dashboard_json(programs)
    assert text.startswith('{\n  "annotations"')  # indented, keys sorted


def test_uid_is_stable_bounded_and_distinct() -> None:
    assert dashboard_uid(["sigsnoop"]) == "lmp-sigsnoop"
    assert dashboard_uid(["runqlat", "sigsnoop"]) == dashboard_uid(["sigsnoop", "runqlat"])
    many = [f"program_number_{i}" for i in range(20)]
    uid = dashboard_uid(many)
    assert UID.fullmatch(uid), uid
    assert dashboard_uid(many[:-1]) != uid  # cut the same, told apart by the hash
    assert UID.fullmatch(dashboard_uid(["my prog/v2.0", "x" * 80]))
    assert dashboard_uid(["a b"]) != dashboard_uid(["a_b"])  # replaced characters, hashed


def test_queries_are_promql_promtool_parses(hub: dict[str, ExportSpec], tmp_path: Path) -> None:
    """Grafana's variables stand for what Grafana puts there; the rest must parse as PromQL."""
    every = exprs(dashboard(list(hub.items())))
    rules = tmp_path / "rules.yml"
    rules.write_text(_rules(every))
    res = subprocess.run([PROMTOOL, "check", "rules", str(rules)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"SUCCESS: {len(every)} rules found" in res.stdout
    # and a query that is not PromQL fails the same check
    rules.write_text(_rules(["sum by (le (rate(lmp_runqlat_seconds_bucket[5m]))"]))
    res = subprocess.run([PROMTOOL, "check", "rules", str(rules)], capture_output=True, text=True)
    assert res.returncode != 0


def _rules(queries: list[str]) -> str:
    lines = ["groups:", "  - name: dashboard", "    rules:"]
    for i, q in enumerate(queries):
        q = q.replace("$__rate_interval", "1m").replace("$instance", ".*")
        lines += [f"      - record: dashboard:query{i}", f"        expr: {json.dumps(q)}"]
    return "\n".join(lines) + "\n"


def test_the_checks_fail_on_a_broken_dashboard(hub: dict[str, ExportSpec]) -> None:
    """The checks above can fail: each breakage is found."""
    good = dashboard([("runqlat", hub["runqlat"])])
    defined = defined_names("runqlat", hub["runqlat"])

    def broken(change: Any) -> dict[str, Any]:
        model = copy.deepcopy(good)
        change(model)
        return model

    renamed = broken(
        lambda m: m["panels"][-1]["targets"][0].update(
            expr=m["panels"][-1]["targets"][0]["expr"].replace("lmp_runqlat_", "lmp_runqlat_us_")
        )
    )
    assert unknown_metrics(renamed, defined) == {"lmp_runqlat_us_seconds_bucket"}
    assert grafana_errors(broken(lambda m: m.update(uid="x" * 41)))
    assert grafana_errors(broken(lambda m: m.update(schemaVersion="39")))
    assert grafana_errors(broken(lambda m: m["panels"][1].update(id=1)))
    assert grafana_errors(broken(lambda m: m["panels"][0].update(type="graph")))
    assert grafana_errors(broken(lambda m: m["panels"][0]["gridPos"].update(x=20)))
    assert grafana_errors(
        broken(lambda m: m["panels"][1].update(gridPos=m["panels"][0]["gridPos"]))
    )
    assert grafana_errors(broken(lambda m: m["panels"][0].pop("datasource")))
    assert grafana_errors(broken(lambda m: m["panels"][0].update(targets=[])))
    assert grafana_errors(broken(lambda m: m["panels"][0]["targets"][0].pop("expr")))


# -- deploy/: the systemd unit ------------------------------------------------------------


def read_unit() -> configparser.ConfigParser:
    """The unit as INI: no interpolation (``%`` is systemd's), keys as written, and a key said
    twice is an error (the unit says each once, so that this reads all of it)."""
    parser = configparser.ConfigParser(interpolation=None, strict=True, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text())
    return parser


def test_unit_runs_lmp_export_as_the_fleet_needs() -> None:
    unit = read_unit()
    service = unit["Service"]
    assert service["ExecStart"].split() == [
        "/usr/local/bin/lmp",
        "export",
        "sigsnoop",
        "procstat",
        "runqlat",
        "--listen",
        "0.0.0.0:9435",
    ]
    assert service["Restart"] == "on-failure"
    assert service["KillSignal"] == "SIGTERM"
    # lmp detaches on SIGTERM and exits 128 + 15: a clean stop, not a failure to restart after
    assert str(exit_status(signal.SIGTERM)) in service["SuccessExitStatus"].split()
    assert service["ProtectSystem"] == "strict"
    caps = set(service.get("AmbientCapabilities", "").split())
    if service.get("User", "root") == "root":
        caps = set(service["CapabilityBoundingSet"].split())
    assert {"CAP_BPF", "CAP_PERFMON"} <= caps
    env = dict(kv.split("=", 1) for kv in service["Environment"].split())
    assert set(env) == {"LMP_CACHE_DIR", CONFIG_DIR_ENV}
    # the cache lmp writes is where the unit lets it write
    assert env["LMP_CACHE_DIR"] in service["ReadWritePaths"].split()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LMP_CACHE_DIR", env["LMP_CACHE_DIR"])
        assert str(cache_dir()) == env["LMP_CACHE_DIR"]
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    assert "# " in UNIT.read_text().split("KillSignal")[0].rsplit("\n\n", 1)[-1], (
        "KillSignal= has no comment saying why"
    )


def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    """``systemd-analyze verify``, when the machine has it (the INI checks above run anyway).
    It wants ExecStart's binary to exist: the copy runs this checkout's ``lmp``."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        read_unit()  # still a well-formed unit, as test_unit_runs_lmp_export_as_the_fleet_needs
        return
    lmp = Path(sys.executable).parent / "lmp"
    assert lmp.is_file(), lmp

    def verify(text: str) -> subprocess.CompletedProcess[str]:
        copy_ = tmp_path / UNIT.name
        copy_.write_text(text.replace("/usr/local/bin/lmp", str(lmp)))
        return subprocess.run(
            [analyze, "verify", "--man=no", str(copy_)], capture_output=True, text=True
        )

    res = verify(UNIT.read_text())
    assert (res.returncode, res.stderr) == (0, ""), res.stderr
    # a mistake is said: verify is no rubber stamp
    res = verify(UNIT.read_text().replace("Restart=on-failure", "Restart=sometimes"))
    assert "sometimes" in res.stderr


# -- deploy/: the Prometheus config -------------------------------------------------------


def promtool_check_config(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PROMTOOL, "check", "config", str(path)], capture_output=True, text=True, timeout=60
    )


def test_prometheus_config_passes_promtool() -> None:
    res = promtool_check_config(PROMETHEUS_YML)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS" in res.stdout


def test_prometheus_config_scrapes_the_units_port_on_many_hosts() -> None:
    text = PROMETHEUS_YML.read_text()
    assert re.search(r"^\s*- job_name: lmp$", text, re.M)
    assert re.search(r"^\s*scrape_interval: 15s$", text, re.M)
    port = read_unit()["Service"]["ExecStart"].rsplit(":", 1)[1]
    targets = re.findall(r"^\s*- (\S+):(\d+)$", text, re.M)
    assert len(targets) >= 2, targets
    assert {p for _, p in targets} == {port}


def test_file_sd_alternative_passes_promtool(tmp_path: Path) -> None:
    """The commented ``file_sd_configs`` block, put in place of ``static_configs``, with its
    example targets file, is a config promtool accepts (it reads the targets files too)."""
    lines = PROMETHEUS_YML.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "# file_sd_configs:")
    indent = lines[start].index("#")
    end = next(i for i in range(start, len(lines)) if lines[i].strip() == "#")
    sd = [line[:indent] + line[indent + 2 :] for line in lines[start:end]]
    example = next(i for i in range(end, len(lines)) if "such as" in lines[i])
    targets_file = lines[example].split("such as ", 1)[1].rstrip(":")
    body = [line[indent + 2 :] for line in lines[example + 2 :] if line.strip().startswith("#")]
    static = next(i for i, line in enumerate(lines) if line.strip() == "static_configs:")
    static_end = next(i for i in range(static + 1, len(lines)) if not lines[i].strip())
    targets_dir = Path(targets_file).parent
    alternative = lines[:static] + sd + lines[static_end:]
    config = tmp_path / "prometheus.yml"
    here = tmp_path / "targets"  # not beside the config: the glob would match it too
    here.mkdir()
    config.write_text("\n".join(alternative).replace(str(targets_dir), str(here)) + "\n")
    (here / Path(targets_file).name).write_text("\n".join(body) + "\n")
    res = promtool_check_config(config)
    assert res.returncode == 0, res.stdout + res.stderr
    used = config.read_text()
    assert not re.search(r"^\s*static_configs:", used, re.M)
    assert re.search(r"^\s*file_sd_configs:", used, re.M)
    # promtool reads the targets file: a broken one fails
    (here / Path(targets_file).name).write_text("- targets: [web1:9435\n")
    assert promtool_check_config(config).returncode != 0
