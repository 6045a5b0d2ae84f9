"""Patch compliance of a policy's targeted instances, from SSM's managed-instance information and patch states.

The targeted instances are the managed instances matching the policy's targets (all tags, and the listed ids
if any). An instance is non-compliant when its last patch state reports missing, failed or installed-but-
pending-reboot patches (Patch Manager counts all three as non-compliant); an instance that never reported a
patch state is `unreported`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sreops.operator.api.common import Targets
from sreops.operator.api.conditions import ConditionStatus
from sreops.operator.api.patchpolicy import Compliance
from sreops.operator.aws import ssm_patching as ssm_api
from sreops.operator.aws.ssm_patching import SsmClient

COMPLIANT = "Compliant"
_NON_COMPLIANT_COUNTS = ("MissingCount", "FailedCount", "InstalledPendingRebootCount")


@dataclass(frozen=True)
class ComplianceCounts:
    instances: int = 0
    compliant: int = 0
    non_compliant: int = 0
    unreported: int = 0
    missing_patches: int = 0
    failed_patches: int = 0

    def __add__(self, other: ComplianceCounts) -> ComplianceCounts:
        return ComplianceCounts(
            self.instances + other.instances,
            self.compliant + other.compliant,
            self.non_compliant + other.non_compliant,
            self.unreported + other.unreported,
            self.missing_patches + other.missing_patches,
            self.failed_patches + other.failed_patches,
        )

    @property
    def summary(self) -> str:
        return f"{self.compliant}/{self.instances}"

    def to_status(self, checked_at: str) -> Compliance:
        return Compliance(
            summary=self.summary,
            instances=self.instances,
            compliant=self.compliant,
            non_compliant=self.non_compliant,
            unreported=self.unreported,
            missing_patches=self.missing_patches,
            failed_patches=self.failed_patches,
            last_check_time=checked_at,
        )


def count_compliance(instance_ids: Iterable[str], states: Iterable[Mapping[str, Any]]) -> ComplianceCounts:
    """Counts over the targeted instances; states of instances not targeted are ignored."""
    targeted = set(instance_ids)
    by_instance = {s["InstanceId"]: s for s in states if s.get("InstanceId") in targeted}
    non_compliant = sum(1 for s in by_instance.values() if any(int(s.get(k) or 0) for k in _NON_COMPLIANT_COUNTS))
    return ComplianceCounts(
        instances=len(targeted),
        compliant=len(by_instance) - non_compliant,
        non_compliant=non_compliant,
        unreported=len(targeted) - len(by_instance),
        missing_patches=sum(int(s.get("MissingCount") or 0) for s in by_instance.values()),
        failed_patches=sum(int(s.get("FailedCount") or 0) for s in by_instance.values()),
    )


def read_compliance(ssm: SsmClient, targets: Targets) -> ComplianceCounts:
    """Reads the targeted managed instances and their patch states in one account x region."""
    instances = ssm_api.managed_instances(ssm, targets.tags, targets.instance_ids)
    ids = sorted({i["InstanceId"] for i in instances})
    return count_compliance(ids, ssm_api.patch_states(ssm, ids) if ids else [])


def compliant_condition(counts: ComplianceCounts) -> tuple[ConditionStatus, str, str]:
    """The Compliant condition's status, reason and message."""
    if counts.instances == 0:
        return "Unknown", "NoInstances", "no managed instance matches spec.targets"
    if counts.non_compliant:
        return (
            "False",
            "NonCompliant",
            f"{counts.non_compliant} of {counts.instances} instances are non-compliant "
            f"({counts.missing_patches} missing, {counts.failed_patches} failed patches)",
        )
    if counts.unreported:
        return (
            "Unknown",
            "Unreported",
            f"{counts.unreported} of {counts.instances} instances have never reported a patch state",
        )
    return "True", COMPLIANT, f"all {counts.instances} instances are compliant"
