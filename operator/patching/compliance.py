"""Patch compliance of a policy's targeted instances, from SSM's managed-instance information and patch states.

The managed instances of an account x region, with their tags and patch states, are read once (`read_fleet`)
and shared by every policy there; each policy picks its targeted instances from that locally: all of its
tags, and the listed ids if any, as SSM's own tag and id filters would. An instance is non-compliant when its
last patch state reports missing, failed or installed-but-pending-reboot patches (Patch Manager counts all
three as non-compliant); an instance that never reported a patch state is `unreported`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sreops.operator.api.common import Targets
from sreops.operator.api.conditions import ConditionStatus
from sreops.operator.api.patchpolicy import Compliance
from sreops.operator.aws import ec2 as ec2_api
from sreops.operator.aws import ssm_patching as ssm_api
from sreops.operator.aws.ec2 import Ec2Client
from sreops.operator.aws.ssm_patching import SsmClient

COMPLIANT = "Compliant"
_NON_COMPLIANT_COUNTS = ("MissingCount", "FailedCount", "InstalledPendingRebootCount")
# DescribeInstanceInformation's ResourceType of on-premises (hybrid) nodes; their tags are SSM's, not EC2's.
HYBRID = "ManagedInstance"


@dataclass(frozen=True)
class ManagedInstance:
    instance_id: str
    tags: Mapping[str, str]
    patch_state: Mapping[str, Any] | None  # None: it never reported one


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


def read_fleet(ssm: SsmClient, ec2: Ec2Client) -> tuple[ManagedInstance, ...]:
    """Every managed instance of one account x region with its tags and patch state: about one call per 50
    instances for each of the information and the patch states, one per 1,000 EC2 instances for the tags,
    and one per hybrid node (rare) for its SSM tags."""
    infos = {i["InstanceId"]: i for i in ssm_api.managed_instances(ssm)}
    ids = sorted(infos)
    ec2_tags = ec2_api.instance_tags(ec2) if any(i.get("ResourceType") != HYBRID for i in infos.values()) else {}
    states = {s["InstanceId"]: s for s in ssm_api.patch_states(ssm, ids)} if ids else {}
    fleet = []
    for instance_id in ids:
        if infos[instance_id].get("ResourceType") == HYBRID:
            tags = ssm_api.list_tags(ssm, HYBRID, instance_id) or {}
        else:
            tags = ec2_tags.get(instance_id, {})
        fleet.append(ManagedInstance(instance_id, tags, states.get(instance_id)))
    return tuple(fleet)


def targeted(fleet: Iterable[ManagedInstance], targets: Targets) -> list[ManagedInstance]:
    """The instances carrying every tag of `targets` (and among its instance ids, if it lists any)."""
    ids = set(targets.instance_ids)
    return [
        m
        for m in fleet
        if all(m.tags.get(k) == v for k, v in targets.tags.items()) and (not ids or m.instance_id in ids)
    ]


def fleet_compliance(fleet: Iterable[ManagedInstance], targets: Targets) -> ComplianceCounts:
    """The compliance of the policy's targeted instances, from the region's shared fleet read."""
    chosen = targeted(fleet, targets)
    return count_compliance([m.instance_id for m in chosen], [m.patch_state for m in chosen if m.patch_state])


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
