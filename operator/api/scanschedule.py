"""ScanSchedule: vulnerability scanning through Amazon Inspector (inspector2)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, TypeVar

from pydantic import AfterValidator, Field, model_validator

from sreops.operator.api.common import Model, ObjectRef, Regions, Schedule, Targets
from sreops.operator.api.status import BaseStatus

ResourceType = Literal["EC2", "ECR", "LAMBDA", "LAMBDA_CODE"]
SeverityLevel = Literal["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL"]
# Most severe first; the index orders findings and compares them with a threshold.
SEVERITY_ORDER: tuple[SeverityLevel, ...] = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL")
MAX_TOP_FINDINGS = 10
MAX_MEMBER_ACCOUNTS = 100  # inspector2 Enable takes 100 account ids per call
# What status holds is capped so that, at every limit at once, it stays under 16 KiB (tests/unit/test_scanning.py).
MAX_NOT_SCANNED = 10
MAX_STATUS_MEMBERS = 20  # the members with the most severe findings
MAX_EXPIRED_SUPPRESSIONS = 5
MAX_TITLE = 120
MAX_RESOURCE = 200  # longer resource ids (rare: ECR images of long repository names) are cut with "…"
MAX_STATUS_BYTES = 16 * 1024


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


ACCOUNT_ID_PATTERN = r"^\d{12}$"


T = TypeVar("T")


def _unique_values(values: list[T]) -> list[T]:
    if len(set(values)) != len(values):
        raise ValueError("duplicate value")
    return values


def _default_resource_types() -> list[ResourceType]:
    return ["EC2"]


class Suppression(Model):
    vulnerability_id: Annotated[str, Field(min_length=3, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]+$")]
    resource: Annotated[str, Field(max_length=2048)] | None = None
    reason: Annotated[str, Field(min_length=1, max_length=1024)]
    # Suppressed until 00:00 UTC of this date; from then on the finding counts again.
    expires: dt.date | None = None


AccountId = Annotated[str, Field(pattern=ACCOUNT_ID_PATTERN)]


class ScanScheduleSpec(Model):
    account_ref: ObjectRef | None = None
    regions: Regions = Field(default_factory=list)
    resource_types: Annotated[list[ResourceType], Field(min_length=1), AfterValidator(_unique_values)] = Field(
        default_factory=_default_resource_types
    )
    schedule: Schedule
    targets: Targets | None = None
    severity_threshold: SeverityLevel = "HIGH"
    suppressions: Annotated[list[Suppression], Field(max_length=500)] = Field(default_factory=list)
    # With a delegated administrator account: the member accounts whose findings the sweep includes.
    member_accounts: Annotated[
        list[AccountId], Field(max_length=MAX_MEMBER_ACCOUNTS), AfterValidator(_unique_values)
    ] = Field(default_factory=list)
    suspend: bool = False

    @model_validator(mode="after")
    def _instances_need_ec2(self) -> ScanScheduleSpec:
        if self.targets is not None and self.targets.instance_ids and "EC2" not in self.resource_types:
            raise ValueError("targets.instanceIds needs EC2 in resourceTypes")
        return self


class FindingCounts(Model):
    model_config = Model.model_config | {"frozen": False}

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
    account: str | None = None


class NotScanned(Model):
    resource: str
    reason: str


class Coverage(Model):
    resources: int = 0
    scanned: int = 0
    not_scanned: Annotated[list[NotScanned], Field(max_length=MAX_NOT_SCANNED)] = Field(default_factory=list)


class ScanTarget(Model):
    """One account x region the schedule keeps scanning enabled in, and which types sreops turned on there."""

    account: str
    region: str
    resource_types: list[str] = Field(default_factory=list)  # wanted
    enabled_by_sreops: list[str] = Field(default_factory=list)
    already_enabled: list[str] = Field(default_factory=list)


class MemberFindings(Model):
    account: str
    critical: int = 0
    high: int = 0
    medium: int = 0
    low: int = 0
    informational: int = 0
    suppressed: int = 0


class ExpiredSuppression(Model):
    vulnerability_id: str
    resource: str | None = None
    expires: str


class ScanScheduleStatus(BaseStatus):
    last_scan_time: str | None = None
    next_scan_time: str | None = None
    findings: FindingCounts | None = None
    new_since_last_scan: int | None = None
    resolved_since_last_scan: int | None = None
    new_by_severity: FindingCounts | None = None
    top_findings: Annotated[list[TopFinding], Field(max_length=MAX_TOP_FINDINGS)] = Field(default_factory=list)
    coverage: Coverage | None = None
    targets: list[ScanTarget] = Field(default_factory=list)
    member_accounts: Annotated[list[MemberFindings], Field(max_length=MAX_STATUS_MEMBERS)] = Field(default_factory=list)
    expired_suppressions: Annotated[list[ExpiredSuppression], Field(max_length=MAX_EXPIRED_SUPPRESSIONS)] = Field(
        default_factory=list
    )
    scan_now_handled: list[str] = Field(default_factory=list)
