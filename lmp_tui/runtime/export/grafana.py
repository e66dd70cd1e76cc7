"""A Grafana dashboard for ``lmp export``'s metrics, made from the same ``families`` the exporter
serves (``lmp export --grafana-dashboard PROGRAM...``): one source for both, so a metric renamed
in ``families`` is renamed on the dashboard too, and a fleet gets a dashboard with no hand edits.

Panels, in a 24-column grid:

- every program (``COMMON``): events, kernel drops and shed events per second, by program, and a
  stat of the instances each program is up on;
- a counter family: its rate, summed by its labels, the 10 highest (``topk``: a label such as comm
  has as many series as the exporter's cap, too many lines to read);
- a gauge family: its 10 highest series, in bytes or seconds when it is one;
- a histogram family: a heatmap of its buckets' rates and a timeseries of its 50th, 95th and 99th
  percentiles (``histogram_quantile``).

Every query is filtered by the ``instance`` variable (the hosts Prometheus scrapes), and the data
source is a variable too, so the same JSON imports into any Grafana. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any

from ..config import ExportEntry
from ..format.package import ExportSpec
from .families import COMMON, Family, families, unit_suffix

SCHEMA_VERSION = 39
"""Grafana 10.4's dashboard schema: the version its JSON model is written in."""
DATASOURCE_VARIABLE = "DS_PROMETHEUS"
"""The data source variable's name: ``${DS_PROMETHEUS}``, the default uid every panel uses, is
then that variable (picked in the dashboard), and the placeholder Grafana's import asks about."""
TOP = 10
"""Series a panel shows at most: a label with hundreds of values is unreadable as lines."""
QUANTILES = (0.5, 0.95, 0.99)
WIDTH = 24
"""Grafana's grid is 24 columns wide."""
UID_MAX = 40
"""Grafana refuses a dashboard uid longer than 40 characters."""
_RATE = "[$__rate_interval]"
_INSTANCE = 'instance=~"$instance"'
_UNITS = {"bytes": "bytes", "seconds": "s"}
"""A value's base unit (``families.unit_suffix``) as Grafana's unit id."""
_RATE_UNITS = {"bytes": "binBps", "seconds": "s", "": "cps"}
"""The same for a counter's rate: bytes per second, seconds per second (time spent), counts
per second."""
_COMMON_TITLES = {
    "lmp_events_total": "Events delivered /s",
    "lmp_kernel_drops_total": "Kernel drops /s (ring buffer full)",
    "lmp_shed_total": "Events shed by lmp /s",
    "lmp_program_up": "Instances up, by program",
}

Panel = dict[str, Any]


def dashboard(
    programs: Sequence[tuple[str, ExportSpec]],
    *,
    datasource_uid: str = "${DS_PROMETHEUS}",
    exports: Sequence[ExportEntry] = (),
) -> dict[str, Any]:
    """The dashboard JSON model (as Grafana's import and provisioning read it) for ``programs``,
    each a name and the spec ``families`` reads, with the ``[[export]]`` metrics of ``exports``.
    ``datasource_uid``: a data source's uid, for a dashboard bound to one; by default the
    dashboard's own data source variable."""
    names = [name for name, _ in programs]
    datasource = {"type": "prometheus", "uid": datasource_uid}
    layout = _Grid()
    panels: list[Panel] = []

    def add(panel: Panel, w: int, h: int) -> None:
        panel["id"] = len(panels) + 1
        panel["gridPos"] = layout.place(w, h)
        panel["datasource"] = dict(datasource)
        panels.append(panel)

    program_matcher = f'program=~"{_alternatives(names)}"'
    for name, kind, help_ in COMMON:  # one line of them, above every program's own
        selector = f"{name}{{{_INSTANCE}, {program_matcher}}}"
        title = _COMMON_TITLES.get(name, help_)
        if kind == "counter":
            expr = f"sum by (program) (rate({selector}{_RATE}))"
            add(_timeseries(title, help_, [(expr, "{{program}}")], "cps"), WIDTH // len(COMMON), 6)
        else:
            add(_stat(title, help_, f"sum by (program) ({selector})"), WIDTH // len(COMMON), 6)
    layout.newline()
    for program, spec in programs:
        for family in families(program, spec, exports):
            for panel, w in _family_panels(program, family):
                add(panel, w, 8)
        layout.newline()
    return {
        "uid": dashboard_uid(names),
        "title": ("lmp: " + ", ".join(names)) if names else "lmp",
        "description": "eBPF programs' metrics from lmp export, made by "
        "`lmp export --grafana-dashboard`",
        "tags": ["lmp", "ebpf"],
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"},
        "templating": {"list": _variables(datasource)},
        "annotations": {"list": []},
        "links": [],
        "panels": panels,
    }


def dashboard_json(
    programs: Sequence[tuple[str, ExportSpec]],
    *,
    datasource_uid: str = "${DS_PROMETHEUS}",
    exports: Sequence[ExportEntry] = (),
) -> str:
    """``dashboard`` as the text ``lmp export --grafana-dashboard`` prints: sorted keys and an
    indent, so two runs give the same bytes and a diff of two versions reads."""
    model = dashboard(programs, datasource_uid=datasource_uid, exports=exports)
    return json.dumps(model, indent=2, sort_keys=True)


def dashboard_uid(names: Sequence[str]) -> str:
    """A uid from the program names alone, the same on every run and host: importing the
    dashboard again replaces it instead of adding a copy. The order the programs were named in
    does not count. Within Grafana's 40 characters of ``[a-zA-Z0-9-_]``: a longer list is cut,
    other characters replaced, and a hash of the names added, so two lists that read the same
    once cut (``a b``, ``a_b``) still differ."""
    unique = sorted(set(names))
    safe = [re.sub(r"[^a-zA-Z0-9_-]", "_", n) for n in unique]
    uid = "lmp-" + "-".join(safe)
    if len(uid) <= UID_MAX and safe == unique:
        return uid
    digest = hashlib.sha256("\0".join(unique).encode()).hexdigest()[:10]
    return uid[: UID_MAX - len(digest) - 1].rstrip("-_") + "-" + digest


def _family_panels(program: str, family: Family) -> list[tuple[Panel, int]]:
    """A family's panels and their widths."""
    unit = unit_suffix(family.meaning) if family.meaning is not None else ""
    selector = f"{family.name}{{{_INSTANCE}}}"
    # "sigsnoop: events, by sig, comm", not "sigsnoop: sigsnoop events, by sig, comm"
    what = f"{program}: {family.help.removeprefix(program + ' ')}"
    description = f"{family.name}: {family.help}"
    if family.kind == "counter":
        rate = f"rate({selector}{_RATE})"
        by = f"sum by ({', '.join(family.labels)}) ({rate})" if family.labels else f"sum({rate})"
        expr = f"topk({TOP}, {by})" if family.labels else by
        legend = _legend(family.labels) or program
        title = f"{what} /s" + (f" (top {TOP})" if family.labels else "")
        return [(_timeseries(title, description, [(expr, legend)], _RATE_UNITS[unit]), 12)]
    if family.kind == "gauge":
        legend = " ".join([_legend(family.labels), "{{instance}}"]).strip()
        title = f"{what} (top {TOP})"
        expr = f"topk({TOP}, {selector})"
        return [(_timeseries(title, description, [(expr, legend)], _UNITS.get(unit, "")), 12)]
    buckets = f"sum by (le) (rate({family.name}_bucket{{{_INSTANCE}}}{_RATE}))"
    grafana_unit = _UNITS.get(unit, "")
    heatmap = _heatmap(f"{program}: {family.name}", description, buckets, grafana_unit)
    quantiles = [(f"histogram_quantile({q}, {buckets})", f"p{q * 100:g}") for q in QUANTILES]
    named = ", ".join(legend for _, legend in quantiles)
    title = f"{program}: {family.name} {named}"
    percentiles = _timeseries(title, description, quantiles, grafana_unit)
    return [(heatmap, 12), (percentiles, 12)]


def _timeseries(title: str, description: str, queries: list[tuple[str, str]], unit: str) -> Panel:
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "targets": _targets(queries),
        "fieldConfig": {
            "defaults": {"unit": unit or "short", "custom": {"fillOpacity": 10}},
            "overrides": [],
        },
        "options": {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
    }


def _stat(title: str, description: str, expr: str) -> Panel:
    return {
        "type": "stat",
        "title": title,
        "description": description,
        "targets": _targets([(expr, "{{program}}")]),
        "fieldConfig": {"defaults": {"unit": "short", "decimals": 0}, "overrides": []},
        "options": {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value",
            "graphMode": "none",
            "textMode": "value_and_name",
        },
    }


def _heatmap(title: str, description: str, expr: str, unit: str) -> Panel:
    """Buckets as Prometheus keeps them (``format: heatmap``: Grafana takes the cumulative
    ``le`` buckets apart itself), so nothing is re-bucketed (``calculate: false``)."""
    return {
        "type": "heatmap",
        "title": title,
        "description": description,
        "targets": [{"refId": "A", "expr": expr, "legendFormat": "{{le}}", "format": "heatmap"}],
        "fieldConfig": {"defaults": {}, "overrides": []},
        "options": {
            "calculate": False,
            "cellGap": 1,
            "color": {
                "mode": "scheme",
                "scheme": "Oranges",
                "exponent": 0.5,
                "fill": "dark-orange",
                "reverse": False,
                "steps": 64,
            },
            "filterValues": {"le": 1e-9},
            "legend": {"show": True},
            "rowsFrame": {"layout": "auto"},
            "tooltip": {"show": True, "yHistogram": False},
            "yAxis": {"axisPlacement": "left", "reverse": False, "unit": unit or "short"},
        },
    }


def _targets(queries: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [
        {"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend, "range": True}
        for i, (expr, legend) in enumerate(queries)
    ]


def _variables(datasource: dict[str, str]) -> list[dict[str, Any]]:
    """The data source to read (any Prometheus) and the hosts to show (any of those up)."""
    query = "label_values(lmp_program_up, instance)"
    return [
        {
            "name": DATASOURCE_VARIABLE,
            "label": "Data source",
            "type": "datasource",
            "query": "prometheus",
            "current": {},
            "hide": 0,
            "refresh": 1,
            "regex": "",
            "options": [],
        },
        {
            "name": "instance",
            "label": "Instance",
            "type": "query",
            "datasource": datasource,
            "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
            "definition": query,
            "multi": True,
            "includeAll": True,
            "allValue": ".*",
            "current": {},
            "refresh": 2,
            "sort": 1,
            "hide": 0,
            "regex": "",
            "options": [],
        },
    ]


def _legend(labels: Sequence[str]) -> str:
    return " ".join("{{" + label + "}}" for label in labels)


def _alternatives(names: Sequence[str]) -> str:
    """A regex matching exactly these label values, written as a PromQL string's content."""
    if not names:
        return ".*"
    pattern = "|".join(re.escape(n) for n in names)
    return pattern.replace("\\", "\\\\").replace('"', '\\"')


class _Grid:
    """Panels placed left to right, a new line when one does not fit: Grafana does not place
    panels itself and overlapping ``gridPos`` values make a mess."""

    def __init__(self) -> None:
        self.x = 0
        self.y = 0
        self.line_height = 0

    def place(self, w: int, h: int) -> dict[str, int]:
        if self.x + w > WIDTH:
            self.newline()
        pos = {"x": self.x, "y": self.y, "w": w, "h": h}
        self.x += w
        self.line_height = max(self.line_height, h)
        return pos

    def newline(self) -> None:
        self.y += self.line_height
        self.x = 0
        self.line_height = 0
