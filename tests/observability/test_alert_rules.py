"""The alert rules: generated files up to date, valid for promtool, every alert unit-tested firing and not
firing (promtool test rules), documented in docs/runbook.md, its data queries part of its expression."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from sreops.observability import alerts
from sreops.observability.render import PROMETHEUS_RULE_PATH, RULES_PATH, generated_files

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PROMTOOL_TESTS = sorted(HERE.glob("*.promtool.yaml"))


def _promtool() -> str:
    path = shutil.which("promtool")
    assert path, "promtool is missing: scripts/setup-env.sh installs the Debian prometheus package"
    return path


def test_the_committed_files_are_what_the_code_generates() -> None:
    stale = [path for path, text in generated_files().items() if (ROOT / path).read_text() != text]
    assert stale == [], f"run `python -P -m sreops.observability` to regenerate {stale}"


def test_the_prometheus_rule_holds_the_same_rules_as_the_plain_file() -> None:
    plain = yaml.safe_load((ROOT / RULES_PATH).read_text())
    manifest = yaml.safe_load((ROOT / PROMETHEUS_RULE_PATH).read_text())
    assert (manifest["apiVersion"], manifest["kind"]) == ("monitoring.coreos.com/v1", "PrometheusRule")
    assert manifest["spec"] == plain


def test_promtool_accepts_both_renderings(tmp_path: Path) -> None:
    spec = tmp_path / "prometheusrule-spec.yaml"
    spec.write_text(yaml.safe_dump(yaml.safe_load((ROOT / PROMETHEUS_RULE_PATH).read_text())["spec"]))
    for path in (ROOT / RULES_PATH, spec):
        done = subprocess.run([_promtool(), "check", "rules", str(path)], check=False, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"SUCCESS: {len(alerts.ALERTS)} rules found" in done.stdout


def test_promtool_unit_tests_pass() -> None:
    done = subprocess.run(
        [_promtool(), "test", "rules", *(p.name for p in PROMTOOL_TESTS)],
        check=False,
        capture_output=True,
        text=True,
        cwd=HERE,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _cases() -> list[dict[str, Any]]:
    cases = []
    for path in PROMTOOL_TESTS:
        for group in yaml.safe_load(path.read_text())["tests"]:
            cases.extend(group["alert_rule_test"])
    return cases


def test_every_alert_is_unit_tested_firing_and_not_firing() -> None:
    cases = _cases()
    for alert in alerts.ALERTS:
        mine = [c for c in cases if c["alertname"] == alert.name]
        assert any(c["exp_alerts"] for c in mine), f"{alert.name}: no promtool case where it fires"
        assert any(not c["exp_alerts"] for c in mine), f"{alert.name}: no promtool case where it stays silent"
        for case in mine:
            for expected in case["exp_alerts"]:
                assert expected["exp_annotations"]["runbook_url"] == alert.runbook_url


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+\s+(.+?)\s*$", markdown, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-") for h in headings}


def test_every_alert_has_a_summary_a_description_and_a_runbook_section() -> None:
    runbook = (ROOT / "docs" / "runbook.md").read_text()
    anchors = _anchors(runbook)
    for alert in alerts.ALERTS:
        assert alert.summary and alert.description, alert.name
        assert alert.runbook_url == f"docs/runbook.md#{alert.anchor}"
        assert alert.anchor in anchors, f"{alert.name}: docs/runbook.md has no section #{alert.anchor}"
        assert alert.name in runbook, f"{alert.name} is not named in its runbook section"


def test_each_data_query_is_what_the_expression_compares() -> None:
    for alert in alerts.ALERTS:
        assert alert.data, alert.name
        for query in alert.data:
            assert query in alert.expr, f"{alert.name}: {query!r} is not part of {alert.expr!r}"
        assert len({a.name for a in alerts.ALERTS}) == len(alerts.ALERTS)
