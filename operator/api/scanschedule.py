"""ScanSchedule: vulnerability scanning through Amazon Inspector (inspector2)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from sreops.operator.api.common import Model, ObjectRef, Regions, Schedule, Targets
from sreops.operator.api.status import BaseStatus

ResourceType = Literal["EC2", "ECR", "LAMBDA", "LAMBDA_CODE"]
SeverityLevel = Literal["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL"]
# Most severe first; the index orders findings and compares them with a threshold.
SEVERITY_ORDER: tuple[SeverityLevel, ...] = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL")
MAX_TOP_FINDINGS = 10


def _unique_types(values: list[ResourceType]) -> list[ResourceType]:
    if len(set(values)) != len(values):
        raise ValueError("duplicate resource type")
    return values


def _default_resource_types() -> list[ResourceType]:
    return ["EC2"]


class Suppression(Model):
    vulnerability_id: Annotated[str, Field(min_length=3, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]+$")]
    resource: Annotated[str, Field(max_length=2048)] | None = None
    reason: Annotated[str, Field(min_length=1, max_length=1024)]
    expires: dt.date | None = None


class ScanScheduleSpec(Model):
    account_ref: ObjectRef | None = None
    regions: Regions = Field(default_factory=list)
    resource_types: Annotated[list[ResourceType], Field(min_length=1), AfterValidator(_unique_types)] = Field(
        default_factory=_default_resource_types
    )
    schedule: Schedule
    targets: Targets | None = None
    severity_threshold: SeverityLevel = "HIGH"
    suppressions: Annotated[list[Suppression], Field(max_length=500)] = Field(default_factory=list)
    suspend: bool = False


class FindingCounts(Model):
    critical: int = 0
    high: int = 0
    medium: int = 0
    low: int = 0
    informational: int = 0
    suppressed: int = 0


class TopFinding(Model):
    vulnerability_id: str
    severity: str
    resource: str
    title: str = ""
    first_observed: str | None = None


class NotScanned(Model):
    resource: str
    reason: str


class Coverage(Model):
    resources: int = 0
    scanned: int = 0
    not_scanned: Annotated[list[NotScanned], Field(max_length=20)] = Field(default_factory=list)


class ScanScheduleStatus(BaseStatus):
    last_scan_time: str | None = None
    next_scan_time: str | None = None
    findings: FindingCounts | None = None
    new_since_last_scan: int | None = None
    resolved_since_last_scan: int | None = None
    top_findings: Annotated[list[TopFinding], Field(max_length=MAX_TOP_FINDINGS)] = Field(default_factory=list)
    coverage: Coverage | None = None
