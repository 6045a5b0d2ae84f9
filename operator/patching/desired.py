"""What a PatchPolicy wants in SSM, as request parameters, and how that differs from what AWS reports.

Pure functions (no AWS calls): `desired_state` builds the parameters of the baseline, window, target and task
from the spec; the `*_changes` functions compare them with the matching Get/Describe answers and name the
fields that differ. Comparing first is what lets a resync that finds nothing changed make no write call.
Both sides are normalised (sorted lists, AWS's defaults filled in) so that AWS's own ordering or defaults
never look like drift.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sreops.operator.api.patchpolicy import ApprovalRule, PatchPolicySpec
from sreops.operator.api.schedule import to_aws_cron

OWNER_TAG = "sreops.io/owner"
UID_TAG = "sreops.io/uid"
RUN_PATCH_BASELINE = "AWS-RunPatchBaseline"
# SSM names (baselines, windows, targets, tasks) allow at most 128 characters of [a-zA-Z0-9_.-].
MAX_NAME = 128
# Windows classifies by MSRC severity; the Linux distributions by the vendor's severity.
_SEVERITY_KEY = {"WINDOWS": "MSRC_SEVERITY"}
Params = dict[str, Any]


@dataclass(frozen=True)
class Identity:
    """Which policy an AWS resource belongs to: its name in AWS and its ownership tags."""

    namespace: str
    name: str
    uid: str

    @property
    def resource_name(self) -> str:
        name = f"sreops-{self.namespace}-{self.name}"
        if len(name) <= MAX_NAME:
            return name
        # Long Kubernetes names: keep a readable prefix and make it unique with a hash of the whole.
        digest = hashlib.sha256(name.encode()).hexdigest()[:10]
        return f"{name[: MAX_NAME - 11]}-{digest}"

    @property
    def tags(self) -> dict[str, str]:
        return {OWNER_TAG: f"{self.namespace}/{self.name}", UID_TAG: self.uid}

    @property
    def owner_information(self) -> str:
        """Window targets and tasks cannot be tagged in SSM; their OwnerInformation/Name carries the owner."""
        return f"{UID_TAG}={self.uid}"

    def owns(self, tags: Mapping[str, str] | None) -> bool:
        return tags is not None and tags.get(UID_TAG) == self.uid


@dataclass(frozen=True)
class DesiredState:
    operating_system: str
    patch_group: str
    baseline: Params  # CreatePatchBaseline parameters, without Tags
    window: Params  # CreateMaintenanceWindow parameters, without Tags, plus Enabled
    target: Params  # RegisterTargetWithMaintenanceWindow parameters, without WindowId
    task: Params  # RegisterTaskWithMaintenanceWindow parameters, without WindowId and Targets

    def task_targets(self, window_target_id: str) -> list[dict[str, Any]]:
        return [{"Key": "WindowTargetIds", "Values": [window_target_id]}]


def _rule(rule: ApprovalRule, operating_system: str) -> Params:
    filters = [{"Key": "CLASSIFICATION", "Values": list(rule.classifications)}]
    if rule.severities:  # absent means every severity: no filter at all
        filters.append({"Key": _SEVERITY_KEY.get(operating_system, "SEVERITY"), "Values": list(rule.severities)})
    return {
        "PatchFilterGroup": {"PatchFilters": filters},
        "ComplianceLevel": rule.compliance_level,
        "ApproveAfterDays": rule.approve_after_days,
    }


def window_targets(spec: PatchPolicySpec) -> list[dict[str, Any]]:
    """Tags become `tag:K` targets; instance ids an InstanceIds target. Every key must match (as in SSM)."""
    targets: list[dict[str, Any]] = [{"Key": f"tag:{k}", "Values": [v]} for k, v in sorted(spec.targets.tags.items())]
    if spec.targets.instance_ids:
        targets.append({"Key": "InstanceIds", "Values": list(spec.targets.instance_ids)})
    return targets


def desired_state(spec: PatchPolicySpec, identity: Identity) -> DesiredState:
    name = identity.resource_name
    owner = f"{identity.namespace}/{identity.name}"
    os = spec.operating_system
    return DesiredState(
        operating_system=os,
        patch_group=spec.patch_group or f"{identity.namespace}-{identity.name}",
        baseline={
            "Name": name,
            "OperatingSystem": os,
            "Description": f"Managed by sreops for PatchPolicy {owner}",
            "ApprovalRules": {"PatchRules": [_rule(r, os) for r in spec.baseline.approval_rules]},
            "ApprovedPatches": list(spec.baseline.approved_patches),
            "RejectedPatches": list(spec.baseline.rejected_patches),
        },
        window={
            "Name": name,
            "Description": f"Managed by sreops for PatchPolicy {owner}",
            "Schedule": to_aws_cron(spec.schedule.cron),
            "ScheduleTimezone": spec.schedule.timezone,
            "Duration": spec.window.duration_hours,
            "Cutoff": spec.window.cutoff_hours,
            "AllowUnassociatedTargets": False,
            "Enabled": not spec.suspend,
        },
        target={
            "ResourceType": "INSTANCE",
            "Targets": window_targets(spec),
            "Name": name,
            "OwnerInformation": identity.owner_information,
        },
        task={
            "TaskArn": RUN_PATCH_BASELINE,
            "TaskType": "RUN_COMMAND",
            "Priority": 1,
            "MaxConcurrency": spec.rollout.max_concurrency,
            "MaxErrors": spec.rollout.max_errors,
            "Name": name,
            "Description": f"Managed by sreops for PatchPolicy {owner}",
            "TaskInvocationParameters": {
                "RunCommand": {
                    "Parameters": {"Operation": [spec.operation], "RebootOption": [spec.reboot_option]},
                }
            },
        },
    )


def create_window_params(desired: DesiredState) -> Params:
    """CreateMaintenanceWindow has no Enabled: a window starts enabled and is disabled by an update."""
    return {k: v for k, v in desired.window.items() if k != "Enabled"}


# -- comparison -------------------------------------------------------------------------------------------


def _filters(group: Mapping[str, Any] | None) -> list[tuple[str, tuple[str, ...]]]:
    return sorted((f["Key"], tuple(sorted(f.get("Values") or []))) for f in (group or {}).get("PatchFilters") or [])


def _rules(rules: Mapping[str, Any] | None) -> list[tuple[Any, ...]]:
    return [
        (
            _filters(r.get("PatchFilterGroup")),
            r.get("ComplianceLevel") or "UNSPECIFIED",
            r.get("ApproveAfterDays"),
            r.get("ApproveUntilDate"),
            bool(r.get("EnableNonSecurity", False)),
        )
        for r in (rules or {}).get("PatchRules") or []
    ]


def _targets(targets: Sequence[Mapping[str, Any]] | None) -> list[tuple[str, tuple[str, ...]]]:
    return sorted((t["Key"], tuple(sorted(t.get("Values") or []))) for t in targets or [])


def baseline_changes(desired: DesiredState, actual: Mapping[str, Any]) -> list[str]:
    """Fields of the baseline that differ (OperatingSystem is separate: it cannot be changed in place)."""
    want = desired.baseline
    changed = []
    if actual.get("Name") != want["Name"]:
        changed.append("Name")
    if (actual.get("Description") or "") != want["Description"]:
        changed.append("Description")
    if _rules(actual.get("ApprovalRules")) != _rules(want["ApprovalRules"]):
        changed.append("ApprovalRules")
    for field in ("ApprovedPatches", "RejectedPatches"):
        if sorted(actual.get(field) or []) != sorted(want[field]):
            changed.append(field)
    return changed


def baseline_update_params(desired: DesiredState) -> Params:
    return {k: v for k, v in desired.baseline.items() if k != "OperatingSystem"}


def window_changes(desired: DesiredState, actual: Mapping[str, Any]) -> list[str]:
    return [field for field, value in desired.window.items() if actual.get(field) != value]


# DescribeMaintenanceWindows lists every window setting we set but this one (GetMaintenanceWindow has it).
UNLISTED_WINDOW_FIELD = "AllowUnassociatedTargets"


def listed_window_changes(desired: DesiredState, listed: Mapping[str, Any]) -> list[str]:
    """Fields that differ between the desired window and its DescribeMaintenanceWindows entry."""
    return [f for f, value in desired.window.items() if f != UNLISTED_WINDOW_FIELD and listed.get(f) != value]


def target_changes(desired: DesiredState, actual: Mapping[str, Any]) -> list[str]:
    want = desired.target
    changed = []
    if _targets(actual.get("Targets")) != _targets(want["Targets"]):
        changed.append("Targets")
    for field in ("Name", "OwnerInformation"):
        if actual.get(field) != want[field]:
            changed.append(field)
    return changed


def _run_command_parameters(task: Mapping[str, Any]) -> dict[str, list[str]]:
    run = ((task.get("TaskInvocationParameters") or {}).get("RunCommand") or {}).get("Parameters") or {}
    return {k: list(v) for k, v in run.items()}


def task_changes(desired: DesiredState, actual: Mapping[str, Any], window_target_id: str) -> list[str]:
    want = desired.task
    changed = []
    if _targets(actual.get("Targets")) != _targets(desired.task_targets(window_target_id)):
        changed.append("Targets")
    for field in ("TaskArn", "Priority", "MaxConcurrency", "MaxErrors", "Name", "Description"):
        if actual.get(field) != want[field]:
            changed.append(field)
    if _run_command_parameters(actual) != _run_command_parameters(want):
        changed.append("Parameters")
    return changed


def task_type_differs(desired: DesiredState, actual: Mapping[str, Any]) -> bool:
    kind = actual.get("TaskType") or actual.get("Type")
    return kind is not None and kind != desired.task["TaskType"]
