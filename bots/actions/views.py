"""What actions answer: frozen dataclasses, JSON-serialisable with dataclasses.asdict.

Data copied from an object's status keeps the status' own keys (``inProgress``, ``vulnerabilityId``: what
`kubectl get -o yaml` shows); the summaries made here use snake_case keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ConditionView:
    type: str
    status: str  # True | False | Unknown
    reason: str
    message: str


@dataclass(frozen=True)
class ResourceStatus:
    kind: str
    namespace: str
    name: str
    ready: ConditionView | None
    summary: dict[str, str | int | None] = field(default_factory=dict)


@dataclass(frozen=True)
class RunRequested:
    namespace: str
    policy: str
    value: str  # the sreops.io/run-now value set
    run: str  # the PatchRun the operator creates for it


@dataclass(frozen=True)
class ScanRequested:
    namespace: str
    schedule: str
    value: str  # the sreops.io/scan-now value set; status.scanNowHandled holds it once swept


@dataclass(frozen=True)
class SuspendChanged:
    namespace: str
    policy: str
    suspend: bool
    changed: bool  # False: spec.suspend had that value already


@dataclass(frozen=True)
class FindingsView:
    namespace: str
    schedule: str
    ready: ConditionView | None
    counts: dict[str, int]  # status.findings (critical..informational, suppressed), plus new and resolved
    top: list[dict[str, Any]]  # status.topFindings, most severe first
    last_scan_time: str | None


@dataclass(frozen=True)
class RunProgress:
    namespace: str
    name: str
    done: bool
    result: str | None  # Succeeded | Failed once done
    instances: dict[str, int]  # status.instances: total, succeeded, failed, inProgress, timedOut
    failed_instances: list[dict[str, Any]]  # status.failedInstances (at most 20)
