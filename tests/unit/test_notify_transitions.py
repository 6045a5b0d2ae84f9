"""Which states are notification events, and their keys: the same status always gives the same keys (so the
delivery ledger sends each once), a new transition a new key."""

from __future__ import annotations

from typing import Any

from sreops.operator.api import NotifierSpec, parse_spec
from sreops.operator.notify.transitions import occurrences, selects, wanted


def _cond(
    type_: str, status: str, reason: str, when: str = "2026-01-05T12:00:00Z", generation: int = 1
) -> dict[str, Any]:
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": "m",
        "lastTransitionTime": when,
        "observedGeneration": generation,
    }


def _body(kind: str, status: dict[str, Any], labels: dict[str, str] | None = None) -> dict[str, Any]:
    meta = {"name": "x", "namespace": "prod", "uid": "u-1", "generation": 3, "labels": labels or {}}
    return {"kind": kind, "metadata": meta, "status": status}


def _types(body: dict[str, Any]) -> list[str]:
    return [o.type for o in occurrences(body)]


def _notifier(**spec: Any) -> NotifierSpec:
    return parse_spec(NotifierSpec, {"slack": {"channel": "#sre", "tokenSecretRef": {"name": "s", "key": "t"}}, **spec})


def test_a_run_from_start_to_failure() -> None:
    started = {"startedAt": "t0", "instances": {"total": 4, "inProgress": 4}}
    running = {"startedAt": "t0", "instances": {"total": 4, "succeeded": 1, "inProgress": 3}}
    failed = {
        "startedAt": "t0",
        "finishedAt": "t1",
        "instances": {"total": 4, "succeeded": 3, "failed": 1},
        "conditions": [_cond("Failed", "True", "Failed"), _cond("Complete", "False", "Failed")],
    }
    assert _types(_body("PatchRun", started)) == ["RunStarted", "RunProgress"]
    assert _types(_body("PatchRun", failed)) == ["RunStarted", "RunFailed"]
    ended = {**failed, "conditions": [*failed["conditions"], _cond("Ready", "False", "Failed")]}
    assert _types(_body("PatchRun", ended)) == ["RunStarted", "RunFailed"]  # not NotReady as well
    keys = [{o.key for o in occurrences(_body("PatchRun", s))} for s in (started, running, failed)]
    assert "u-1/RunStarted/start" in keys[0] & keys[1] & keys[2]  # one parent message for the whole run
    assert len(keys[0] | keys[1] | keys[2]) == 4  # started, two progress states, failed
    assert {o.thread for o in occurrences(_body("PatchRun", failed))} == {"u-1"}


def test_a_run_that_never_started_still_reports_its_end() -> None:
    status = {"finishedAt": "t1", "conditions": [_cond("Failed", "True", "PolicySuspended")]}
    assert _types(_body("PatchRun", status)) == ["RunFailed"]


def test_compliance_changes_key_on_each_transition() -> None:
    a = _body("PatchPolicy", {"conditions": [_cond("Compliant", "False", "NonCompliant", "t1")]})
    b = _body("PatchPolicy", {"conditions": [_cond("Compliant", "True", "Compliant", "t2")]})
    (ka,), (kb,) = ([o.key for o in occurrences(x)] for x in (a, b))
    assert ka != kb and ka.startswith("u-1/ComplianceChanged/")


def test_scan_events_per_sweep_and_min_severity() -> None:
    status = {
        "lastScanTime": "2026-01-05T13:00:00Z",
        "newSinceLastScan": 2,
        "newBySeverity": {"critical": 0, "high": 0, "medium": 2, "suppressed": 0},
        "resolvedSinceLastScan": 1,
        "findings": {"critical": 1, "high": 0, "medium": 5},
        "conditions": [_cond("ThresholdExceeded", "True", "AboveThreshold", "t3")],
        "expiredSuppressions": [{"vulnerabilityId": "CVE-1", "expires": "2026-01-05"}],
    }
    found = {o.type: o for o in occurrences(_body("ScanSchedule", status))}
    assert set(found) == {"NewFindings", "FindingsResolved", "ThresholdExceeded", "SuppressionExpired"}
    assert found["NewFindings"].key == "u-1/NewFindings/2026-01-05T13:00:00Z"
    high = _notifier(minSeverity="HIGH")
    assert not wanted(high, found["NewFindings"])  # two new MEDIUM findings only
    assert wanted(_notifier(minSeverity="MEDIUM"), found["NewFindings"])
    assert wanted(high, found["ThresholdExceeded"])  # one CRITICAL active
    assert not wanted(_notifier(events=["RunFailed"]), found["FindingsResolved"])


def test_ready_false_events_and_waits_are_not_events() -> None:
    invalid = _body("PatchPolicy", {"conditions": [_cond("Ready", "False", "InvalidSpec", generation=3)]})
    assert [o.key for o in occurrences(invalid)] == ["u-1/InvalidSpec/generation-3"]
    denied = _body("AWSAccount", {"conditions": [_cond("Ready", "False", "AssumeRoleFailed")]})
    assert _types(denied) == ["AccountAccessLost"]
    waiting = _body("ScanSchedule", {"conditions": [_cond("Ready", "False", "AccountNotFound")]})
    assert _types(waiting) == []
    other = _body("PatchPolicy", {"conditions": [_cond("Ready", "False", "PatchGroupConflict")]})
    assert _types(other) == ["NotReady"]


def test_selector_kinds_and_labels() -> None:
    spec = _notifier(selector={"kinds": ["PatchRun"], "matchLabels": {"team": "web"}})
    assert selects(spec, _body("PatchRun", {}, {"team": "web", "x": "y"}))
    assert not selects(spec, _body("PatchRun", {}, {"team": "db"}))
    assert not selects(spec, _body("PatchPolicy", {}, {"team": "web"}))


def test_same_status_same_keys() -> None:
    status = {"startedAt": "t0", "finishedAt": "t1", "conditions": [_cond("Complete", "True", "Succeeded")]}
    assert [o.key for o in occurrences(_body("PatchRun", status))] == [
        o.key for o in occurrences(_body("PatchRun", dict(status)))
    ]
