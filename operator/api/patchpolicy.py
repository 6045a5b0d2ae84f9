"""PatchPolicy: OS patching of an EC2 fleet through SSM Patch Manager."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator

from sreops.operator.api.common import Model, ObjectRef, Regions, Schedule, Targets
from sreops.operator.api.status import BaseStatus

OperatingSystem = Literal[
    "WINDOWS",
    "AMAZON_LINUX",
    "AMAZON_LINUX_2",
    "AMAZON_LINUX_2022",
    "AMAZON_LINUX_2023",
    "UBUNTU",
    "REDHAT_ENTERPRISE_LINUX",
    "SUSE",
    "CENTOS",
    "ORACLE_LINUX",
    "DEBIAN",
    "MACOS",
    "RASPBIAN",
    "ROCKY_LINUX",
    "ALMA_LINUX",
]
Severity = Literal["Critical", "Important", "Moderate", "Medium", "Low", "Unspecified"]
ComplianceLevel = Literal["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNSPECIFIED"]
Operation = Literal["Scan", "Install"]
PatchId = Annotated[str, Field(min_length=1, max_length=100)]
MAX_CONCURRENCY_PATTERN = r"^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$"
PATCH_GROUP_PATTERN = r"^[A-Za-z0-9 _.:/=+@-]+$"
MAX_ERRORS_PATTERN = r"^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$"


class ApprovalRule(Model):
    classifications: Annotated[
        list[Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9]*$")]],
        Field(min_length=1, max_length=20),
    ]
    severities: Annotated[list[Severity], Field(max_length=20)] = Field(default_factory=list)
    approve_after_days: Annotated[int, Field(ge=0, le=360)] = 7
    compliance_level: ComplianceLevel = "UNSPECIFIED"


class Baseline(Model):
    approval_rules: Annotated[list[ApprovalRule], Field(max_length=10)] = Field(default_factory=list)
    approved_patches: Annotated[list[PatchId], Field(max_length=50)] = Field(default_factory=list)
    rejected_patches: Annotated[list[PatchId], Field(max_length=50)] = Field(default_factory=list)


class Window(Model):
    duration_hours: Annotated[int, Field(ge=1, le=24)] = 3
    cutoff_hours: Annotated[int, Field(ge=0, le=23)] = 1

    @field_validator("cutoff_hours")
    @classmethod
    def _cutoff_before_end(cls, value: int, info: ValidationInfo) -> int:
        duration = info.data.get("duration_hours")
        if duration is not None and value >= duration:
            raise ValueError("cutoffHours must be less than durationHours")
        return value


class Rollout(Model):
    max_concurrency: Annotated[str, Field(max_length=7, pattern=MAX_CONCURRENCY_PATTERN)] = "10%"
    max_errors: Annotated[str, Field(max_length=7, pattern=MAX_ERRORS_PATTERN)] = "1"


class PatchPolicySpec(Model):
    account_ref: ObjectRef | None = None
    regions: Regions = Field(default_factory=list)
    targets: Targets
    operating_system: OperatingSystem
    patch_group: Annotated[str, Field(min_length=1, max_length=256, pattern=PATCH_GROUP_PATTERN)] | None = None
    baseline: Baseline = Field(default_factory=Baseline)
    schedule: Schedule
    window: Window = Field(default_factory=Window)
    operation: Operation = "Scan"
    reboot_option: Literal["RebootIfNeeded", "NoReboot"] = "RebootIfNeeded"
    rollout: Rollout = Field(default_factory=Rollout)
    suspend: bool = False
    history_limit: Annotated[int, Field(ge=0, le=100)] = 10
    deletion_policy: Literal["Delete", "Retain"] = "Delete"


class PolicyTarget(Model):
    account: str
    region: str
    baseline_id: str | None = None
    patch_group: str | None = None
    window_id: str | None = None
    window_target_id: str | None = None
    window_task_id: str | None = None


class Compliance(Model):
    summary: str | None = None
    instances: int = 0
    compliant: int = 0
    non_compliant: int = 0
    unreported: int = 0
    missing_patches: int = 0
    failed_patches: int = 0
    last_check_time: str | None = None


class LastRun(Model):
    name: str
    result: Literal["Succeeded", "Failed"]
    finished_at: str | None = None


class PatchPolicyStatus(BaseStatus):
    targets: list[PolicyTarget] = Field(default_factory=list)
    compliance: Compliance | None = None
    last_run: LastRun | None = None
    next_run_time: str | None = None
