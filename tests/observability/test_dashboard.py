"""The Grafana dashboard: the committed JSON is what the code builds, and it is a valid dashboard for the SDK's
model (every field known, every panel a known panel plugin, every target a Prometheus query), with the rows,
variables, units and thresholds the issue asks for."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.cog import plugins
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.runtime import panelcfg_config
from grafana_foundation_sdk.models import prometheus
from grafana_foundation_sdk.models.dashboard import Dashboard, Panel, RowPanel

from sreops.observability import dashboard
from sreops.observability.render import DASHBOARD_PATH

ROOT = Path(__file__).resolve().parents[2]
ROWS = [
    "Fleet compliance",
    "Patch runs",
    "Vulnerability findings",
    "Scan coverage",
    "Notifications",
    "AWS",
    "Reconciles",
    "Gateway",
    "Processes",
]


def _committed() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / DASHBOARD_PATH).read_text())
    return data


def test_the_committed_json_is_what_the_code_builds() -> None:
    assert (ROOT / DASHBOARD_PATH).read_text() == dashboard.render(), "run `python -P -m sreops.observability`"


def test_the_json_is_a_dashboard_of_the_sdks_model() -> None:
    plugins.register_default_plugins()
    data = _committed()
    model = Dashboard.from_json(data)
    # Decoding and encoding again loses whatever the model does not know: nothing may be lost or changed (the
    # model may add its empty defaults, e.g. a stat panel's `custom: {}`).
    again = json.loads(json.dumps(model, cls=JSONEncoder))
    assert _lost(data, again) == []
    assert model.panels
    for panel in model.panels:
        if isinstance(panel, RowPanel):
            continue
        assert isinstance(panel, Panel)
        assert panelcfg_config(panel.type_val) is not None, f"{panel.title}: unknown panel type {panel.type_val}"
        assert panel.targets, panel.title
        for target in panel.targets:
            assert isinstance(target, prometheus.Dataquery), f"{panel.title}: not a Prometheus query"


def _lost(original: Any, again: Any, path: str = "") -> list[str]:
    """Paths of what `original` has and `again` lacks or holds differently."""
    if isinstance(original, dict) and isinstance(again, dict):
        return [p for k, v in original.items() for p in _lost(v, again.get(k, _MISSING), f"{path}/{k}")]
    if isinstance(original, list) and isinstance(again, list) and len(original) == len(again):
        return [p for n, (a, b) in enumerate(zip(original, again, strict=True)) for p in _lost(a, b, f"{path}[{n}]")]
    return [] if original == again else [path]


_MISSING = object()


def _panels(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in data["panels"] if p["type"] != "row"]


def test_rows_variables_units_and_thresholds() -> None:
    data = _committed()
    assert [p["title"] for p in data["panels"] if p["type"] == "row"] == ROWS
    variables = {v["name"]: v for v in data["templating"]["list"]}
    assert variables["datasource"]["query"] == "prometheus"
    for name in ("namespace", "policy", "schedule"):
        assert variables[name]["type"] == "query" and variables[name]["includeAll"] and variables[name]["multi"]
        assert variables[name]["allValue"] == ".*"
    ids = [p["id"] for p in data["panels"]]
    assert len(set(ids)) == len(ids)
    for panel in _panels(data):
        defaults = panel["fieldConfig"]["defaults"]
        assert defaults.get("unit"), f"{panel['title']}: no unit"
        assert defaults["thresholds"]["steps"], f"{panel['title']}: no thresholds"
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}


def test_queries_of_namespaced_series_follow_the_variables() -> None:
    for panel in _panels(_committed()):
        for target in panel["targets"]:
            expr = target["expr"]
            for metric, variable in (
                ("sreops_policy_", "$policy"),
                ("sreops_patch_run", "$policy"),
                ("sreops_scan_findings{", "$schedule"),
                ("sreops_scan_coverage", "$schedule"),
            ):
                if metric in expr:
                    assert variable in expr and "$namespace" in expr, f"{panel['title']}: {expr}"
