"""One sweep of a ScanSchedule's findings, streamed: counts by severity, the top 10, what is new and what was
resolved since the previous sweep. Memory holds one page of findings, the top 10 and a counter per member
account, however many findings there are; nothing but those figures leaves this module.

What changed comes from Inspector's own timestamps, so nothing is stored between sweeps but the previous
sweep's time (status.lastScanTime):
- new: ACTIVE, not suppressed, and `firstObservedAt` in (previous sweep, this sweep];
- resolved: CLOSED, not suppressed, and `updatedAt` in (previous sweep, this sweep].
Each finding's first observation falls in exactly one such window, so it is counted new once, also across
restarts. Cases this misses are listed in docs/api.md (ScanSchedule: what changed).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sreops.operator.api.scanschedule import (
    MAX_RESOURCE,
    MAX_STATUS_MEMBERS,
    MAX_TITLE,
    MAX_TOP_FINDINGS,
    SEVERITY_ORDER,
    FindingCounts,
    MemberFindings,
    TopFinding,
    clip,
)
from sreops.operator.scanning.scope import Scope, finding_tags
from sreops.operator.scanning.suppressions import ActiveSuppressions

# Inspector's severities → status.findings keys; UNTRIAGED (no score yet) counts as informational.
SEVERITY_KEY = {s: s.lower() for s in SEVERITY_ORDER} | {"UNTRIAGED": "informational"}
RANK = {s: n for n, s in enumerate(SEVERITY_ORDER)} | {"UNTRIAGED": len(SEVERITY_ORDER)}
MAX_VULNERABILITY_ID = 64
COUNT_KEYS = ("critical", "high", "medium", "low", "informational", "suppressed")


def vulnerability_id(finding: Mapping[str, Any]) -> str:
    details = finding.get("packageVulnerabilityDetails") or {}
    if details.get("vulnerabilityId"):
        return str(details["vulnerabilityId"])
    code = finding.get("codeVulnerabilityDetails") or {}
    if code.get("detectorId"):
        return str(code["detectorId"])
    return str(finding.get("title") or finding.get("findingArn") or "")


def resource_id(finding: Mapping[str, Any]) -> str:
    resources = finding.get("resources") or [{}]
    return str(resources[0].get("id", ""))


def _timestamp(value: object) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    return 0.0


def _rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Tally:
    """What one sweep found, accumulated finding by finding."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNT_KEYS, 0))
    new: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNT_KEYS, 0))
    resolved: int = 0
    listed: int = 0
    members: dict[str, dict[str, int]] = field(default_factory=dict)
    # The best MAX_TOP_FINDINGS so far as a heap whose first item is the worst kept: keys are negated
    # (rank, first observed, arn), so heapq's smallest is the least severe, newest one; then a serial number,
    # so two equal keys never compare the summaries.
    _top: list[tuple[int, float, tuple[int, ...], int, dict[str, Any]]] = field(default_factory=list)

    @staticmethod
    def _count(counts: dict[str, int], severity: str, suppressed: bool) -> None:
        counts["suppressed" if suppressed else SEVERITY_KEY.get(severity, "informational")] += 1

    def add_active(self, finding: Mapping[str, Any], suppressed: bool, is_new: bool, track_members: bool) -> None:
        severity = str(finding.get("severity", "INFORMATIONAL"))
        self._count(self.counts, severity, suppressed)
        if track_members:
            account = str(finding.get("awsAccountId", ""))
            member = self.members.get(account)
            if member is None:
                member = self.members[account] = dict.fromkeys(COUNT_KEYS, 0)
            self._count(member, severity, suppressed)
        if suppressed:
            return
        if is_new:
            self._count(self.new, severity, False)
        rank = RANK.get(severity, len(RANK))
        first = _timestamp(finding.get("firstObservedAt"))
        arn = str(finding.get("findingArn", ""))
        head = (-rank, -first)
        if len(self._top) >= MAX_TOP_FINDINGS:
            worst = self._top[0]
            # Most findings lose on severity or age alone; the arn (a tie-break) is only built for a tie.
            if head < worst[:2] or (head == worst[:2] and _invert(arn) <= worst[2]):
                return
            heapq.heapreplace(self._top, (*head, _invert(arn), self.listed, _summary(finding)))
        else:
            heapq.heappush(self._top, (*head, _invert(arn), self.listed, _summary(finding)))

    def top(self) -> list[TopFinding]:
        ordered = sorted(self._top, key=lambda item: item[:4], reverse=True)
        return [TopFinding.model_validate(item[4]) for item in ordered]

    def findings(self) -> FindingCounts:
        return FindingCounts(**self.counts)

    def new_by_severity(self) -> FindingCounts:
        return FindingCounts(**self.new)

    def member_counts(self) -> list[MemberFindings]:
        """The MAX_STATUS_MEMBERS members with the most severe findings, most affected first."""

        def weight(item: tuple[str, dict[str, int]]) -> tuple[int, ...]:
            account, c = item
            return (*(-c[k] for k in COUNT_KEYS[:5]), int(account) if account.isdigit() else 0)

        ranked = sorted(self.members.items(), key=weight)[:MAX_STATUS_MEMBERS]
        return [MemberFindings(account=a, **c) for a, c in ranked]

    @property
    def new_total(self) -> int:
        return sum(v for k, v in self.new.items() if k != "suppressed")

    def at_or_above(self, threshold: str) -> dict[str, int]:
        """Unsuppressed counts at or above `threshold`, by severity key (only those > 0)."""
        limit = RANK[threshold]
        out = {}
        for severity in SEVERITY_ORDER[: limit + 1]:
            value = self.counts[SEVERITY_KEY[severity]]
            if value:
                out[SEVERITY_KEY[severity]] = value
        return out


def _invert(text: str) -> tuple[int, ...]:
    # Orders strings in reverse inside a tuple compared element-wise (ties on severity and age: by arn).
    return tuple(-ord(c) for c in text)


def _summary(finding: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "vulnerabilityId": clip(vulnerability_id(finding), MAX_VULNERABILITY_ID),
        "severity": str(finding.get("severity", "")),
        "resource": clip(resource_id(finding), MAX_RESOURCE),
        "title": clip(str(finding.get("title") or ""), MAX_TITLE),
    }
    first = finding.get("firstObservedAt")
    if first is not None:
        out["firstObserved"] = _rfc3339(_timestamp(first))
    if finding.get("awsAccountId"):
        out["account"] = str(finding["awsAccountId"])
    return out


@dataclass(frozen=True)
class Window:
    """(previous sweep, this sweep] in AWS's clock; `previous` None on the first sweep (nothing is new)."""

    previous: datetime | None
    now: datetime

    def contains(self, value: object) -> bool:
        if self.previous is None:
            return False
        ts = _timestamp(value)
        return self.previous.timestamp() < ts <= self.now.timestamp()


def tally_active(
    tally: Tally,
    findings: Iterable[Mapping[str, Any]],
    scope: Scope,
    suppressions: ActiveSuppressions,
    window: Window,
    track_members: bool,
) -> None:
    for finding in findings:
        tally.listed += 1
        if not scope.tags_match(finding_tags(finding)):
            continue
        hidden = suppressions.hides(vulnerability_id(finding), resource_id(finding))
        tally.add_active(finding, hidden, window.contains(finding.get("firstObservedAt")), track_members)


def tally_resolved(
    tally: Tally, findings: Iterable[Mapping[str, Any]], scope: Scope, suppressions: ActiveSuppressions, window: Window
) -> None:
    for finding in findings:
        tally.listed += 1
        if not scope.tags_match(finding_tags(finding)) or not window.contains(finding.get("updatedAt")):
            continue
        if not suppressions.hides(vulnerability_id(finding), resource_id(finding)):
            tally.resolved += 1
