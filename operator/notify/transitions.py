"""Which states of the selected resources are events, each with a deterministic key.

Level-based, not edge-based: an event is read off the resource's current status (a condition, a timestamp,
a count), and its key names the transition it records (resource uid + event + the run, sweep, condition
transition or generation it belongs to). The same status always gives the same keys, so a restarted
operator, a resync or a second replica finds the same events and the delivery ledger (keyed by them) sends
each once. Nothing is derived from log lines.

| Event | Kind | When | Key discriminator |
|---|---|---|---|
| RunStarted | PatchRun | `startedAt` is set | the run |
| RunProgress | PatchRun | instance counts changed while it runs | the counts |
| RunSucceeded | PatchRun | `Complete=True` | the run |
| RunFailed | PatchRun | `Failed=True` | the run |
| ComplianceChanged | PatchPolicy | the `Compliant` condition changed status | its lastTransitionTime |
| NewFindings | ScanSchedule | a sweep found new findings at or above `minSeverity` | the sweep (`lastScanTime`) |
| ThresholdExceeded | ScanSchedule | `ThresholdExceeded` became True | its lastTransitionTime |
| FindingsResolved | ScanSchedule | a sweep found findings closed | the sweep |
| SuppressionExpired | ScanSchedule | an entry in `expiredSuppressions` | the suppression |
| InvalidSpec | any | `Ready=False/InvalidSpec` | the generation |
| AccountAccessLost | any | `Ready=False/AccessDenied` or `AssumeRoleFailed` | Ready's lastTransitionTime |
| NotReady | not PatchRun | `Ready=False` for another reason that is not a wait | Ready's lastTransitionTime |
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sreops.operator.api.notifier import EventType, NotifierSpec
from sreops.operator.api.reasons import ACCESS_DENIED, ASSUME_ROLE_FAILED, INVALID_SPEC, WAITING
from sreops.operator.api.scanschedule import SEVERITY_ORDER

FINDING_EVENTS = frozenset({"NewFindings", "ThresholdExceeded"})
ACCESS_LOST = frozenset({ACCESS_DENIED, ASSUME_ROLE_FAILED})


@dataclass(frozen=True)
class Occurrence:
    type: EventType
    key: str
    kind: str
    namespace: str
    name: str
    uid: str
    # Findings by severity key (critical, high, ...) that the event is about, for `minSeverity`.
    severities: Mapping[str, int] = field(default_factory=dict)
    # The PatchRun whose Slack thread the event belongs to.
    thread: str | None = None
    time: str | None = None  # when it happened, from status (RFC 3339)
    detail: Mapping[str, Any] = field(default_factory=dict)


def _conditions(status: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {str(c.get("type")): c for c in status.get("conditions") or [] if isinstance(c, Mapping)}


class _Builder:
    def __init__(self, body: Mapping[str, Any]) -> None:
        meta = body.get("metadata") or {}
        self.kind = str(body.get("kind", ""))
        self.namespace = str(meta.get("namespace", ""))
        self.name = str(meta.get("name", ""))
        self.uid = str(meta.get("uid", ""))
        self.generation = meta.get("generation")
        status = body.get("status")
        self.status: Mapping[str, Any] = status if isinstance(status, Mapping) else {}
        self.conditions = _conditions(self.status)
        self.found: list[Occurrence] = []

    def add(self, type_: EventType, discriminator: object, **kw: Any) -> None:
        key = f"{self.uid}/{type_}/{discriminator}"
        self.found.append(Occurrence(type_, key, self.kind, self.namespace, self.name, self.uid, **kw))

    def is_true(self, type_: str) -> bool:
        return self.conditions.get(type_, {}).get("status") == "True"


def _ready_events(b: _Builder) -> None:
    ready = b.conditions.get("Ready") or {}
    if ready.get("status") != "False":
        return
    reason = str(ready.get("reason") or "")
    detail = {"reason": reason, "message": str(ready.get("message") or "")}
    when = ready.get("lastTransitionTime")
    if reason == INVALID_SPEC:
        b.add("InvalidSpec", f"generation-{ready.get('observedGeneration', b.generation)}", detail=detail, time=when)
    elif reason in ACCESS_LOST:
        b.add("AccountAccessLost", when or "", detail=detail, time=when)
    elif reason not in WAITING and b.kind != "PatchRun":  # a run's Ready=False is its end: RunFailed says it
        b.add("NotReady", f"{when or ''}/{reason}", detail=detail, time=when)


def _run_events(b: _Builder) -> None:
    s = b.status
    counts = s.get("instances") or {}
    detail = {"instances": dict(counts), "failedInstances": list(s.get("failedInstances") or [])}
    if s.get("startedAt"):
        b.add("RunStarted", "start", thread=b.uid, detail=detail, time=s.get("startedAt"))
    finished = bool(s.get("finishedAt"))
    if s.get("startedAt") and not finished and counts:
        progress = "-".join(str(counts.get(k, 0)) for k in ("succeeded", "failed", "inProgress", "timedOut"))
        b.add("RunProgress", progress, thread=b.uid, detail=detail, time=s.get("startedAt"))
    # A run that never started (its policy suspended, the command refused) still ends, and says so.
    if b.is_true("Failed"):
        b.add("RunFailed", "end", thread=b.uid, detail=detail, time=s.get("finishedAt"))
    elif b.is_true("Complete"):
        b.add("RunSucceeded", "end", thread=b.uid, detail=detail, time=s.get("finishedAt"))


def _policy_events(b: _Builder) -> None:
    compliant = b.conditions.get("Compliant")
    if compliant and compliant.get("lastTransitionTime"):
        detail = {
            "status": compliant.get("status"),
            "reason": compliant.get("reason"),
            "message": compliant.get("message"),
            "compliance": dict(b.status.get("compliance") or {}),
        }
        when = compliant["lastTransitionTime"]
        b.add("ComplianceChanged", f"{when}/{compliant.get('status')}", detail=detail, time=when)


def _at_or_above(counts: Mapping[str, Any], severity: str) -> dict[str, int]:
    keys = [s.lower() for s in SEVERITY_ORDER[: SEVERITY_ORDER.index(severity) + 1]]
    return {k: int(counts.get(k) or 0) for k in keys if counts.get(k)}


def _scan_events(b: _Builder) -> None:
    s = b.status
    sweep = s.get("lastScanTime")
    top = list(s.get("topFindings") or [])
    if sweep and int(s.get("newSinceLastScan") or 0) > 0:
        by_severity = {k: int(v) for k, v in (s.get("newBySeverity") or {}).items() if k != "suppressed"}
        detail = {"new": int(s["newSinceLastScan"]), "topFindings": top, "findings": dict(s.get("findings") or {})}
        b.add("NewFindings", sweep, severities=by_severity, detail=detail, time=sweep)
    if sweep and int(s.get("resolvedSinceLastScan") or 0) > 0:
        b.add(
            "FindingsResolved",
            sweep,
            detail={"resolved": int(s["resolvedSinceLastScan"]), "findings": dict(s.get("findings") or {})},
        )
    threshold = b.conditions.get("ThresholdExceeded") or {}
    if threshold.get("status") == "True":
        counts = {k: int(v) for k, v in (s.get("findings") or {}).items() if k != "suppressed"}
        detail = {"message": threshold.get("message"), "topFindings": top, "findings": dict(s.get("findings") or {})}
        when = threshold.get("lastTransitionTime")
        b.add("ThresholdExceeded", when or "", severities=counts, detail=detail, time=when)
    for gone in s.get("expiredSuppressions") or []:
        which = f"{gone.get('vulnerabilityId')}/{gone.get('resource') or '*'}/{gone.get('expires')}"
        b.add("SuppressionExpired", which, detail=dict(gone), time=sweep)


_BY_KIND = {"PatchRun": _run_events, "PatchPolicy": _policy_events, "ScanSchedule": _scan_events}


def occurrences(body: Mapping[str, Any]) -> list[Occurrence]:
    """The events a resource's current status holds (for every kind: InvalidSpec, AccountAccessLost, NotReady)."""
    b = _Builder(body)
    if not b.uid:
        return []
    step = _BY_KIND.get(b.kind)
    if step is not None:
        step(b)
    _ready_events(b)
    return b.found


def selects(spec: NotifierSpec, body: Mapping[str, Any]) -> bool:
    """Whether the Notifier reports on this resource (selector kinds and labels)."""
    if body.get("kind") not in spec.selector.kinds:
        return False
    labels = (body.get("metadata") or {}).get("labels") or {}
    return all(labels.get(k) == v for k, v in spec.selector.match_labels.items())


def wanted(spec: NotifierSpec, occurrence: Occurrence) -> bool:
    """Whether the Notifier sends this event: its `events` list (absent: all) and `minSeverity`."""
    if spec.events is not None and occurrence.type not in spec.events:
        return False
    if occurrence.type in FINDING_EVENTS:
        return bool(_at_or_above(occurrence.severities, spec.min_severity))
    return True
