"""Sample notification events (one per type, as the operator fills them from status), the longest ones the
builders must handle, and the snapshot helper of the message tests.

Snapshots live in tests/unit/snapshots/notify/ (slack/<Type>.json, teams/<Type>.json). After a deliberate
change to a message, refresh them and review the diff:

    SREOPS_UPDATE_SNAPSHOTS=1 .venv/bin/python -P -m pytest -q -p no:cacheprovider \
        tests/unit/test_notify_slack_blocks.py tests/unit/test_notify_teams_cards.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sreops.bots.notify.events import EVENT_TYPES, Action, Event, Item, digest_event, kubectl_get

SNAPSHOTS = Path(__file__).parent / "snapshots" / "notify"
UPDATE = os.environ.get("SREOPS_UPDATE_SNAPSHOTS") == "1"

UID_RUN = "5d1f0c9e-8a3b-4c61-9f0e-2b7a1d3c4e5f"
UID_POLICY = "0b6e2f4a-1c3d-4e5f-8a9b-7c6d5e4f3a2b"
UID_SCAN = "9e8d7c6b-5a4f-4e3d-2c1b-0a9f8e7d6c5b"
UID_ACCOUNT = "3c2b1a0f-9e8d-4c7b-6a5f-4e3d2c1b0a9f"
UID_NOTIFIER = "6f5e4d3c-2b1a-4f0e-9d8c-7b6a5f4e3d2c"

RUN_FACTS = [
    ("Policy", "web-fleet"),
    ("Operation", "Install"),
    ("Trigger", "Schedule"),
    ("Account", "111122223333"),
    ("Region", "us-west-2"),
]
RUN_KUBECTL = kubectl_get("PatchRun", "prod", "web-fleet-x7k2")
POLICY_ACTIONS = [Action("pause", "web-fleet"), Action("run-now", "web-fleet")]


def _run(type_: str, discriminator: str, title: str, summary: str, time: str, **kw: Any) -> Event:
    return Event(
        type=type_,  # type: ignore[arg-type]
        key=f"{UID_RUN}/{type_}/{discriminator}",
        kind="PatchRun",
        namespace="prod",
        name="web-fleet-x7k2",
        title=title,
        summary=summary,
        time=time,
        facts=RUN_FACTS,
        kubectl=RUN_KUBECTL,
        **kw,
    )


FAILED = [
    Item("i-0a1b2c3d4e5f60718", "111122223333/us-west-2 · Failed: yum exited 1: package conflict openssl-libs"),
    Item("i-0f9e8d7c6b5a40312", "111122223333/us-west-2 · TimedOut: no response within the 1 h cutoff"),
    Item("i-05a4b3c2d1e0f9876", "111122223333/us-west-2 · Failed: reboot did not complete"),
]
FINDINGS = [
    Item("CVE-2024-3094 · CRITICAL", "xz-utils 5.6.0 backdoor on i-0a1b2c3d4e5f60718 (first seen 2026-11-28)"),
    Item("CVE-2024-6387 · CRITICAL", "openssh regreSSHion on i-0f9e8d7c6b5a40312 (first seen 2026-11-28)"),
    Item("CVE-2023-44487 · HIGH", "HTTP/2 rapid reset in nginx 1.24 on i-05a4b3c2d1e0f9876"),
]

SAMPLES: dict[str, Event] = {
    "RunStarted": _run(
        "RunStarted",
        "start",
        "Patch run web-fleet-x7k2 started",
        "Installing approved patches on 20 instances of PatchPolicy web-fleet (maxConcurrency 10%, maxErrors 1).",
        "2026-11-29T11:00:04Z",
        counts=[("Instances", 20)],
        actions=[Action("pause", "web-fleet")],
    ),
    "RunProgress": _run(
        "RunProgress",
        "12-1-7-0",
        "Patch run web-fleet-x7k2: 13 of 20 instances done",
        "12 patched, 1 failed, 7 in progress.",
        "2026-11-29T11:06:40Z",
        counts=[("Total", 20), ("Succeeded", 12), ("Failed", 1), ("In progress", 7)],
        items=FAILED[:1],
        actions=[Action("pause", "web-fleet")],
    ),
    "RunSucceeded": _run(
        "RunSucceeded",
        "end",
        "Patch run web-fleet-x7k2 succeeded",
        "All 20 instances patched in 14 minutes.",
        "2026-11-29T11:14:02Z",
        counts=[("Total", 20), ("Succeeded", 20), ("Failed", 0)],
    ),
    "RunFailed": _run(
        "RunFailed",
        "end",
        "Patch run web-fleet-x7k2 failed",
        "3 of 20 instances failed; maxErrors 1 was exceeded, so the rollout stopped.",
        "2026-11-29T11:09:31Z",
        counts=[("Total", 20), ("Succeeded", 14), ("Failed", 2), ("Timed out", 1), ("Not started", 3)],
        items=FAILED,
        actions=POLICY_ACTIONS,
    ),
    "ComplianceChanged": Event(
        type="ComplianceChanged",
        key=f"{UID_POLICY}/ComplianceChanged/2026-11-29T12:00:00Z/False",
        kind="PatchPolicy",
        namespace="prod",
        name="web-fleet",
        title="web-fleet is not compliant: 18/20 instances",
        summary="2 instances miss approved patches (5 missing, 1 failed to install).",
        time="2026-11-29T12:00:00Z",
        facts=[("Operating system", "AMAZON_LINUX_2023"), ("Account", "111122223333"), ("Region", "us-west-2")],
        counts=[("Instances", 20), ("Compliant", 18), ("Non-compliant", 2), ("Missing patches", 5), ("Failed", 1)],
        items=[Item("i-0a1b2c3d4e5f60718", "4 missing, 1 failed"), Item("i-05a4b3c2d1e0f9876", "1 missing")],
        kubectl=kubectl_get("PatchPolicy", "prod", "web-fleet"),
        actions=[Action("run-now", "web-fleet"), Action("pause", "web-fleet")],
    ),
    "NewFindings": Event(
        type="NewFindings",
        key=f"{UID_SCAN}/NewFindings/2026-11-29T13:00:12Z",
        kind="ScanSchedule",
        namespace="prod",
        name="prod-hourly",
        title="prod-hourly: 3 new findings",
        summary="The 13:00 sweep found 3 new findings at or above HIGH.",
        time="2026-11-29T13:00:12Z",
        severity="CRITICAL",
        facts=[("Account", "111122223333"), ("Regions", "us-west-2, us-east-1"), ("Resource types", "EC2, ECR")],
        counts=[("Critical", 2), ("High", 1)],
        items=FINDINGS,
        kubectl=kubectl_get("ScanSchedule", "prod", "prod-hourly"),
    ),
    "ThresholdExceeded": Event(
        type="ThresholdExceeded",
        key=f"{UID_SCAN}/ThresholdExceeded/2026-11-29T13:00:12Z",
        kind="ScanSchedule",
        namespace="prod",
        name="prod-hourly",
        title="prod-hourly: 7 findings at or above HIGH",
        summary="Active, unsuppressed findings at or above the threshold HIGH: 2 critical, 5 high.",
        time="2026-11-29T13:00:12Z",
        severity="HIGH",
        facts=[("Threshold", "HIGH"), ("Account", "111122223333"), ("Regions", "us-west-2, us-east-1")],
        counts=[("Critical", 2), ("High", 5), ("Medium", 10), ("Low", 3), ("Suppressed", 1)],
        items=FINDINGS,
        kubectl=kubectl_get("ScanSchedule", "prod", "prod-hourly"),
    ),
    "FindingsResolved": Event(
        type="FindingsResolved",
        key=f"{UID_SCAN}/FindingsResolved/2026-11-29T14:00:09Z",
        kind="ScanSchedule",
        namespace="prod",
        name="prod-hourly",
        title="prod-hourly: 4 findings resolved",
        summary="4 findings were closed by Inspector since the previous sweep.",
        time="2026-11-29T14:00:09Z",
        facts=[("Account", "111122223333")],
        counts=[("Resolved", 4), ("Still active", 16)],
        kubectl=kubectl_get("ScanSchedule", "prod", "prod-hourly"),
    ),
    "SuppressionExpired": Event(
        type="SuppressionExpired",
        key=f"{UID_SCAN}/SuppressionExpired/CVE-2024-3094/i-0a1b2c3d4e5f60718/2026-11-28",
        kind="ScanSchedule",
        namespace="prod",
        name="prod-hourly",
        title="Suppression of CVE-2024-3094 expired",
        summary="The suppression on i-0a1b2c3d4e5f60718 expired on 2026-11-28; the finding counts again.",
        time="2026-11-29T00:00:00Z",
        severity="CRITICAL",
        facts=[("Vulnerability", "CVE-2024-3094"), ("Resource", "i-0a1b2c3d4e5f60718"), ("Expired", "2026-11-28")],
        items=[Item("CVE-2024-3094", "reason was: not reachable from the internet")],
        kubectl=kubectl_get("ScanSchedule", "prod", "prod-hourly"),
    ),
    "InvalidSpec": Event(
        type="InvalidSpec",
        key=f"{UID_POLICY}/InvalidSpec/generation-4",
        kind="PatchPolicy",
        namespace="prod",
        name="web-fleet",
        title="web-fleet: invalid spec (generation 4)",
        summary="spec.schedule.cron: '0 3 * *' has 4 fields; a cron expression has 5 (minute hour day month weekday).",
        time="2026-11-29T09:12:45Z",
        facts=[("Reason", "InvalidSpec"), ("Generation", "4")],
        items=[Item("spec.schedule.cron", "'0 3 * *' has 4 fields, 5 expected")],
        kubectl=kubectl_get("PatchPolicy", "prod", "web-fleet"),
    ),
    "AccountAccessLost": Event(
        type="AccountAccessLost",
        key=f"{UID_ACCOUNT}/AccountAccessLost/2026-11-29T10:30:00Z",
        kind="AWSAccount",
        namespace="prod",
        name="prod",
        title="AWSAccount prod: access lost",
        summary=(
            "AssumeRoleFailed: User: arn:aws:sts::999988887777:assumed-role/sreops-operator/i-0123 is not "
            "authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111122223333:role/sreops"
        ),
        time="2026-11-29T10:30:00Z",
        facts=[("Role", "arn:aws:iam::111122223333:role/sreops"), ("Reason", "AssumeRoleFailed")],
        kubectl=kubectl_get("AWSAccount", "prod", "prod"),
    ),
    "NotReady": Event(
        type="NotReady",
        key=f"{UID_SCAN}/NotReady/2026-11-29T10:45:00Z/EnableFailed",
        kind="ScanSchedule",
        namespace="prod",
        name="prod-hourly",
        title="prod-hourly is not ready",
        summary="EnableFailed: Inspector could not enable ECR scanning in us-east-1 (ValidationException).",
        time="2026-11-29T10:45:00Z",
        facts=[("Reason", "EnableFailed")],
        kubectl=kubectl_get("ScanSchedule", "prod", "prod-hourly"),
    ),
    "Test": Event(
        type="Test",
        key=f"{UID_NOTIFIER}/Test/2026-11-29T08:00:00Z",
        kind="Notifier",
        namespace="ops",
        name="sre-alerts",
        title="sreops test notification",
        summary="If you can read this, Notifier ops/sre-alerts can post here.",
        time="2026-11-29T08:00:00Z",
        kubectl=kubectl_get("Notifier", "ops", "sre-alerts"),
    ),
}
SAMPLES["Digest"] = digest_event(
    [SAMPLES[t] for t in ("RunFailed", "NewFindings", "ThresholdExceeded", "ComplianceChanged", "RunSucceeded")],
    total_dropped=2,
)


# --- the longest events the builders get -------------------------------------------------------------

LONG_NAMESPACE = "n" * 63  # a namespace is a DNS label
LONG_NAME = "r" * 253  # most names are DNS subdomains
LONG_POLICY = "p" * 253


def longest(type_: str, *, text: str = "x", n_items: int = 1000) -> Event:
    """An event of ``type_`` with every field at (or far beyond) what status can hold.

    ``text`` is repeated to fill the free texts: use ``"&<>"`` (escaping grows it 4-5 times) or an emoji
    outside the BMP (two UTF-16 units each) to test how length is measured.
    """
    long = (text * 10_000)[:10_000]
    return Event(
        type=type_,  # type: ignore[arg-type]
        key=f"{UID_RUN}/{type_}/" + "k" * 200,
        kind="PatchRun",
        namespace=LONG_NAMESPACE,
        name=LONG_NAME,
        title=long[:1000],
        summary=long,
        time="2026-11-29T11:09:31.123456+00:00",
        severity="INFORMATIONAL",
        facts=[(f"Fact {i} " + long[:200], long[:2000]) for i in range(40)],
        counts=[(f"Count {i} " + long[:100], 10**12 + i) for i in range(40)],
        items=[Item(f"i-{i:017x} " + long[:300], long[:2000]) for i in range(n_items)],
        kubectl=kubectl_get("PatchRun", LONG_NAMESPACE, LONG_NAME) + " " + long[:3000],
        actions=[Action(a, f"{LONG_POLICY[:-2]}{i:02d}") for i in range(6) for a in ("pause", "resume", "run-now")],
        url="https://console.example.com/" + "u" * 900,
    )


LONGEST: dict[str, Event] = {
    **{f"{t}-ascii": longest(t) for t in EVENT_TYPES},
    "RunFailed-escaped": longest("RunFailed", text="&<>"),
    "RunFailed-emoji": longest("RunFailed", text="\U0001f525"),
    "NewFindings-mixed": longest("NewFindings", text="é&\U0001f6a8<x>"),
    "Digest-of-500": digest_event([longest(t, n_items=3) for t in EVENT_TYPES for _ in range(36)], total_dropped=999),
}


# --- snapshots ---------------------------------------------------------------------------------------


def assert_snapshot(relative: str, data: Any) -> None:
    """``data`` equals the committed JSON snapshot (written instead with SREOPS_UPDATE_SNAPSHOTS=1)."""
    path = SNAPSHOTS / relative
    rendered = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered, encoding="utf-8")
        return
    assert path.exists(), f"no snapshot {path}: run with SREOPS_UPDATE_SNAPSHOTS=1 to write it, then review it"
    expected = path.read_text(encoding="utf-8")
    assert rendered == expected, (
        f"{relative} differs from its snapshot; if the change is meant, refresh with SREOPS_UPDATE_SNAPSHOTS=1"
    )


# --- tests of the samples themselves -----------------------------------------------------------------


def test_there_is_a_sample_of_every_event_type() -> None:
    assert set(SAMPLES) == set(EVENT_TYPES)
    for type_, event in SAMPLES.items():
        assert event.type == type_


def test_sample_keys_are_distinct() -> None:
    keys = [e.key for e in SAMPLES.values()]
    assert len(set(keys)) == len(keys)


def test_every_type_has_its_longest_event() -> None:
    assert {e.type for e in LONGEST.values()} == set(EVENT_TYPES)
