"""ScanSchedule's pure parts: scope → filterCriteria, suppressions at a time, the streamed tally, enablement plans,
and when a sweep is due."""

from __future__ import annotations

import itertools
import json
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sreops.operator.api import ScanScheduleSpec, parse_spec
from sreops.operator.api.scanschedule import (
    MAX_EXPIRED_SUPPRESSIONS,
    MAX_NOT_SCANNED,
    MAX_STATUS_BYTES,
    MAX_STATUS_MEMBERS,
    Suppression,
)
from sreops.operator.controllers.scanschedule import SCAN_NOW_KEPT, scan_now_request, sweep_due
from sreops.operator.scanning import enablement, suppressions
from sreops.operator.scanning.coverage import CoverageTally
from sreops.operator.scanning.enablement import Peer
from sreops.operator.scanning.scope import Scope
from sreops.operator.scanning.sweep import RANK, Tally, Window, tally_active, tally_resolved

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def _spec(**extra: Any) -> ScanScheduleSpec:
    return parse_spec(ScanScheduleSpec, {"schedule": {"cron": "0 * * * *"}, **extra})


def _finding(n: int, severity: str = "HIGH", first: datetime = T0, **kw: Any) -> dict[str, Any]:
    return {
        "findingArn": f"arn:aws:inspector2:us-west-2:111122223333:finding/{n:06d}",
        "awsAccountId": kw.get("account", "111122223333"),
        "severity": severity,
        "title": kw.get("title", f"CVE-2025-{n} - openssl"),
        "firstObservedAt": first,
        "updatedAt": kw.get("updated", first),
        "resources": [{"id": kw.get("resource", f"i-{n:017x}"), "tags": kw.get("tags", {"Env": "prod"})}],
        "packageVulnerabilityDetails": {"vulnerabilityId": kw.get("cve", f"CVE-2025-{n}")},
    }


# -- scope ----------------------------------------------------------------------------------------------


def test_criteria_cut_accounts_and_instances_into_chunks_of_ten() -> None:
    """Inspector takes at most 10 filters per field: 25 members x 12 ids make 3 x 2 disjoint listings."""
    members = [f"{100000000000 + n}" for n in range(25)]
    ids = [f"i-{n:017x}" for n in range(12)]
    spec = _spec(memberAccounts=members, targets={"instanceIds": ids, "tags": {"Env": "prod", "Role": "web"}})
    criteria = list(Scope.of(spec, "999988887777").finding_criteria("ACTIVE"))
    assert len(criteria) == 6
    seen = set()
    for c in criteria:
        assert len(c["awsAccountId"]) <= 10 and len(c["resourceId"]) <= 10
        assert c["findingStatus"] == [{"comparison": "EQUALS", "value": "ACTIVE"}]
        assert c["resourceTags"] == [{"comparison": "EQUALS", "key": "Env", "value": "prod"}]  # first tag only
        seen |= {(a["value"], i["value"]) for a in c["awsAccountId"] for i in c["resourceId"]}
    assert seen == {(a, i) for a in members for i in ids}


def test_scope_without_members_is_the_account_itself_and_types_map_to_finding_types() -> None:
    spec = _spec(resourceTypes=["EC2", "LAMBDA", "LAMBDA_CODE", "ECR"])
    (c,) = Scope.of(spec, "111122223333").finding_criteria("CLOSED", "updatedAt", T0, T0 + timedelta(hours=1))
    assert c["awsAccountId"] == [{"comparison": "EQUALS", "value": "111122223333"}]
    assert [f["value"] for f in c["resourceType"]] == [
        "AWS_EC2_INSTANCE",
        "AWS_LAMBDA_FUNCTION",
        "AWS_ECR_CONTAINER_IMAGE",
    ]
    assert c["updatedAt"] == [{"startInclusive": T0, "endInclusive": T0 + timedelta(hours=1)}]
    assert "resourceTags" not in c and "resourceId" not in c


def test_all_target_tags_must_match() -> None:
    scope = Scope.of(_spec(targets={"tags": {"Env": "prod", "Role": "web"}}), "111122223333")
    assert scope.tags_match({"Env": "prod", "Role": "web", "Name": "x"})
    assert not scope.tags_match({"Env": "prod"})
    assert not scope.tags_match(None)


def test_instance_ids_need_ec2() -> None:
    spec = {
        "schedule": {"cron": "0 * * * *"},
        "resourceTypes": ["ECR"],
        "targets": {"instanceIds": ["i-0123456789abcdef0"]},
    }
    try:
        parse_spec(ScanScheduleSpec, spec)
    except ValueError as exc:
        assert "instanceIds needs EC2" in str(exc)
    else:
        raise AssertionError("accepted instanceIds without EC2")


# -- suppressions ---------------------------------------------------------------------------------------


def test_suppression_hides_until_midnight_utc_of_its_expiry() -> None:
    s = [
        Suppression(vulnerability_id="CVE-1", reason="r", expires=date(2026, 1, 7)),
        Suppression(vulnerability_id="CVE-2", resource="i-a", reason="r"),
    ]
    active, expired = suppressions.at(s, datetime(2026, 1, 6, 23, 59, 59, tzinfo=UTC))
    assert active.hides("CVE-1", "i-anything") and not expired
    assert active.hides("CVE-2", "i-a") and not active.hides("CVE-2", "i-b")
    active, expired = suppressions.at(s, datetime(2026, 1, 7, tzinfo=UTC))
    assert not active.hides("CVE-1", "i-anything")
    assert [e.vulnerability_id for e in expired] == ["CVE-1"]


def test_an_expiry_is_reported_by_the_one_sweep_whose_window_contains_it() -> None:
    s = [Suppression(vulnerability_id="CVE-1", reason="r", expires=date(2026, 1, 7))]
    times = [T0 + timedelta(hours=h) for h in range(0, 24 * 4, 7)]
    reports = [len(suppressions.newly_expired(s, prev, now)) for prev, now in itertools.pairwise(times)]
    assert sum(reports) == 1


# -- tally ----------------------------------------------------------------------------------------------


def test_counts_top_ten_and_new_against_a_plain_recount() -> None:
    """10,000 random findings streamed: counts, top 10 (severity, then oldest, then arn) and new equal a
    sort of the whole list, with suppressed ones left out of everything but `suppressed`."""
    rng = random.Random(7)
    severities = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNTRIAGED"]
    previous, now = T0, T0 + timedelta(hours=1)
    findings = [
        _finding(
            n,
            rng.choice(severities),
            T0 + timedelta(minutes=rng.randint(-600, 59)),
            cve=f"CVE-{rng.randint(1, 300)}",
        )
        for n in range(10_000)
    ]
    spec = _spec(suppressions=[{"vulnerabilityId": "CVE-7", "reason": "accepted"}])
    active, _ = suppressions.at(spec.suppressions, now)
    tally = Tally()
    tally_active(tally, iter(findings), Scope.of(spec, "111122223333"), active, Window(previous, now), False)

    visible = [f for f in findings if f["packageVulnerabilityDetails"]["vulnerabilityId"] != "CVE-7"]
    expected = {s.lower(): sum(1 for f in visible if f["severity"] == s) for s in severities[:5]}
    expected["informational"] += sum(1 for f in visible if f["severity"] == "UNTRIAGED")
    expected["suppressed"] = len(findings) - len(visible)
    assert tally.counts == expected
    best = sorted(visible, key=lambda f: (RANK[f["severity"]], f["firstObservedAt"], f["findingArn"]))[:10]
    assert [t.resource for t in tally.top()] == [f["resources"][0]["id"] for f in best]
    assert tally.new_total == sum(1 for f in visible if previous < f["firstObservedAt"] <= now)
    assert tally.listed == len(findings)


def test_first_sweep_counts_nothing_new_and_members_are_counted_apart() -> None:
    tally = Tally()
    spec = _spec(memberAccounts=["111122223333", "444455556666"])
    findings = [_finding(1, account="111122223333"), _finding(2, "CRITICAL", account="444455556666")]
    active, _ = suppressions.at([], T0)
    tally_active(tally, findings, Scope.of(spec, "999988887777"), active, Window(None, T0), True)
    assert tally.new_total == 0
    # Most affected first (by critical, then high, ...).
    assert [(m.account, m.high, m.critical) for m in tally.member_counts()] == [
        ("444455556666", 0, 1),
        ("111122223333", 1, 0),
    ]
    assert tally.at_or_above("HIGH") == {"critical": 1, "high": 1}
    assert tally.at_or_above("CRITICAL") == {"critical": 1}


def test_resolved_counts_closed_within_the_window_and_not_suppressed() -> None:
    previous, now = T0, T0 + timedelta(hours=1)
    closed = [
        _finding(1, updated=T0 + timedelta(minutes=5)),
        _finding(2, updated=T0),  # closed at the previous sweep's instant: that sweep already saw it gone
        _finding(3, updated=T0 + timedelta(minutes=30), cve="CVE-S"),
        _finding(4, updated=now),
    ]
    active, _ = suppressions.at([Suppression(vulnerability_id="CVE-S", reason="r")], now)
    tally = Tally()
    tally_resolved(tally, closed, Scope.of(_spec(), "111122223333"), active, Window(previous, now))
    assert tally.resolved == 2


# -- enablement -----------------------------------------------------------------------------------------


def test_enable_what_is_off_and_record_what_was_on() -> None:
    plan = enablement.plan(
        ["EC2", "ECR", "LAMBDA"], {"EC2": "ENABLED", "ECR": "DISABLED", "LAMBDA": "DISABLING"}, [], []
    )
    assert plan.enable == ["ECR", "LAMBDA"]
    assert plan.enabled_by_sreops == ["ECR", "LAMBDA"]
    assert plan.already_enabled == ["EC2"]
    assert plan.pending == ["ECR", "LAMBDA"] and plan.disable == []


def test_a_type_another_schedule_enabled_is_shared_and_goes_with_the_last_one() -> None:
    states = {"EC2": "ENABLED", "ECR": "ENABLED"}
    peer = Peer("a", frozenset({"ECR"}), frozenset({"ECR"}))
    plan = enablement.plan(["ECR"], states, [], [peer])
    assert plan.enabled_by_sreops == ["ECR"] and plan.enable == []
    # The peer still wants it: not released; once it is gone, released.
    assert enablement.to_release(["ECR"], states, [peer]) == []
    assert enablement.to_release(["ECR"], states, []) == ["ECR"]
    # Never a type sreops did not enable.
    assert enablement.to_release([], states, []) == []


def test_dropping_a_type_disables_it_only_if_sreops_enabled_it_and_nobody_wants_it() -> None:
    states = {"EC2": "ENABLED", "ECR": "ENABLED", "LAMBDA": "ENABLED"}
    plan = enablement.plan(["EC2"], states, ["ECR", "LAMBDA"], [Peer("b", frozenset({"LAMBDA"}), frozenset())])
    assert plan.disable == ["ECR"]
    assert plan.already_enabled == ["EC2"]


# -- when a sweep is due --------------------------------------------------------------------------------


def _body(status: dict[str, Any] | None = None, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"annotations": annotations or {}}, "status": status or {}}


def test_sweep_due_first_schedule_scan_now_and_suspend() -> None:
    spec = _spec()
    assert sweep_due(spec, _body(), T0) == "first"
    swept = {"lastScanTime": "2026-01-05T12:00:00Z"}
    assert sweep_due(spec, _body(swept), T0 + timedelta(minutes=59)) is None
    assert sweep_due(spec, _body(swept), T0 + timedelta(hours=1)) == "schedule"
    asked = _body(swept, {"sreops.io/scan-now": "x1"})
    assert sweep_due(spec, asked, T0) == "scan-now" and scan_now_request(asked) == "x1"
    handled = _body({**swept, "scanNowHandled": ["x1"]}, {"sreops.io/scan-now": "x1"})
    long_value = "y" * 100  # remembered by its digest
    digest = scan_now_request(_body(swept, {"sreops.io/scan-now": long_value}))
    assert digest is not None and digest.startswith("sha256:") and len(digest) == 23
    assert scan_now_request(_body({"scanNowHandled": [digest]}, {"sreops.io/scan-now": long_value})) is None
    assert sweep_due(spec, handled, T0) is None and scan_now_request(handled) is None
    suspended = _spec(suspend=True)
    assert sweep_due(suspended, _body(swept), T0 + timedelta(days=1)) is None
    assert sweep_due(suspended, _body(swept, {"sreops.io/scan-now": "x2"}), T0) == "scan-now"


def test_status_stays_under_16_kib_at_every_limit_at_once() -> None:
    """The largest status a sweep can write: 6-digit counts, 10 top findings and 10 coverage gaps on resources
    cut to MAX_RESOURCE, 20 members, 5 expired suppressions on 2,048-character resources, 20 scan-now values."""
    long_id = "arn:aws:ecr:us-west-2:111122223333:repository/" + "r" * 2048
    tally = Tally()
    members = [f"{100000000000 + n}" for n in range(100)]
    for n in range(2_000):
        f = _finding(n, "CRITICAL", resource=long_id + str(n), title="t" * 5000, account=members[n % 100])
        f["packageVulnerabilityDetails"]["vulnerabilityId"] = "CVE-2025-" + "9" * 119
        tally.add_active(f, suppressed=False, is_new=True, track_members=True)
    for key in tally.counts:
        tally.counts[key] = tally.new[key] = 999_999
    covered = CoverageTally()
    gap = {"resourceId": long_id, "scanStatus": {"statusCode": "INACTIVE", "reason": "R" * 300}}
    covered.add([gap] * 50, Scope.of(_spec(), "111122223333"))
    spec = [Suppression(vulnerability_id="CVE-" + "1" * 124, resource="x" * 2048, reason="r", expires=date(2026, 1, 1))]
    _, expired = suppressions.at(spec * 50, T0)
    status = {
        "observedGeneration": 999_999,
        "conditions": [
            {
                "type": t,
                "status": "False",
                "reason": "EnablementFailed",
                "message": "m" * 500,
                "observedGeneration": 1,
                "lastTransitionTime": "2026-01-05T12:00:00Z",
            }
            for t in ("Ready", "ScanningEnabled", "ThresholdExceeded")
        ],
        "lastScanTime": "2026-01-05T12:00:00Z",
        "nextScanTime": "2026-01-05T13:00:00Z",
        "findings": tally.findings().to_wire(),
        "newSinceLastScan": 999_999,
        "resolvedSinceLastScan": 999_999,
        "newBySeverity": tally.new_by_severity().to_wire(),
        "topFindings": [t.to_wire() for t in tally.top()],
        "coverage": covered.to_status().to_wire(),
        "memberAccounts": [m.to_wire() for m in tally.member_counts()],
        "expiredSuppressions": [e.to_wire() for e in expired[:MAX_EXPIRED_SUPPRESSIONS]],
        "scanNowHandled": [scan_now_request(_body(annotations={"sreops.io/scan-now": "v" * 300}))] * SCAN_NOW_KEPT,
    }
    assert len(status["memberAccounts"]) == MAX_STATUS_MEMBERS
    assert len(status["coverage"]["notScanned"]) == MAX_NOT_SCANNED
    parts = {k: len(json.dumps(v, separators=(",", ":"))) for k, v in status.items()}
    size = len(json.dumps(status, separators=(",", ":")).encode())
    assert size < MAX_STATUS_BYTES, parts
