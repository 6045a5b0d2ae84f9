"""A resync of an unchanged placement costs three calls of its own (GetPatchBaseline,
DescribeMaintenanceWindowTargets, GetMaintenanceWindowTask) plus the shared window listing, makes no write,
and still finds and repairs a change in each resource that someone else made in AWS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sreops.operator.api import PatchPolicySpec
from sreops.operator.api.patchpolicy import PolicyTarget
from sreops.operator.aws import ssm_patching as ssm_api
from sreops.operator.patching.desired import Identity, desired_state
from sreops.operator.patching.sync import PlacementResult, sync_placement
from tests.unit.fake_ssm import FakeSsm

IDENTITY = Identity("default", "web-fleet", "uid-1")
SPEC = PatchPolicySpec.model_validate(
    {
        "targets": {"tags": {"Role": "web", "Env": "prod"}},
        "operatingSystem": "AMAZON_LINUX_2023",
        "baseline": {"approvalRules": [{"classifications": ["Security"], "complianceLevel": "HIGH"}]},
        "schedule": {"cron": "0 3 * * 0", "timezone": "UTC"},
    }
)
DESIRED = desired_state(SPEC, IDENTITY)
OWN_CALLS = {"GetPatchBaseline": 1, "DescribeMaintenanceWindowTargets": 1, "GetMaintenanceWindowTask": 1}
WRITE_PREFIXES = ("Create", "Update", "Delete", "Register", "Deregister", "Add")


def _listing(ssm: FakeSsm) -> Callable[[], dict[str, dict[str, Any]]]:
    """The shared listing as the next interval reads it (its call is not the policy's own)."""
    listing = ssm_api.list_windows(ssm)
    ssm.calls.clear()
    return lambda: listing


def _resync(ssm: FakeSsm, known: PolicyTarget | None, listing: Callable[[], Any] | None = None) -> PlacementResult:
    return sync_placement(ssm, DESIRED, IDENTITY, "111122223333", "us-west-2", known, listing or _listing(ssm))


def _writes(ssm: FakeSsm) -> dict[str, int]:
    return {op: n for op, n in ssm.calls.items() if op.startswith(WRITE_PREFIXES)}


@pytest.fixture
def placed() -> tuple[FakeSsm, PolicyTarget]:
    ssm = FakeSsm()
    created = sync_placement(ssm, DESIRED, IDENTITY, "111122223333", "us-west-2", None)
    assert created.changes and all(created.target.to_wire().values())
    return ssm, created.target


def _assert_steady(ssm: FakeSsm, known: PolicyTarget) -> None:
    listing = _listing(ssm)
    result = _resync(ssm, known, listing)
    assert (result.target, result.changes) == (known, [])
    assert dict(ssm.calls) == OWN_CALLS


def test_an_unchanged_placement_costs_three_reads_and_no_write(placed: tuple[FakeSsm, PolicyTarget]) -> None:
    ssm, known = placed
    _assert_steady(ssm, known)


def test_without_known_ids_or_a_listing_the_full_comparison_runs(placed: tuple[FakeSsm, PolicyTarget]) -> None:
    ssm, known = placed
    ssm.calls.clear()
    assert sync_placement(ssm, DESIRED, IDENTITY, "111122223333", "us-west-2", known).changes == []
    assert ssm.calls["ListTagsForResource"] == 2 and not _writes(ssm)  # the old path: tags checked too
    ssm.calls.clear()
    found = _resync(ssm, None)  # a lost status write: found again by name and uid tag
    assert (found.target, found.changes, _writes(ssm)) == (known, [], {})


Drift = Callable[[FakeSsm, PolicyTarget], None]


def _baseline_patches(ssm: FakeSsm, t: PolicyTarget) -> None:
    ssm.update_patch_baseline(BaselineId=t.baseline_id, ApprovedPatches=["KB999"])


def _baseline_deleted(ssm: FakeSsm, t: PolicyTarget) -> None:
    ssm.deregister_patch_baseline_for_patch_group(BaselineId=t.baseline_id, PatchGroup=t.patch_group)
    ssm.delete_patch_baseline(BaselineId=t.baseline_id)


def _patch_group_deregistered(ssm: FakeSsm, t: PolicyTarget) -> None:
    ssm.deregister_patch_baseline_for_patch_group(BaselineId=t.baseline_id, PatchGroup=t.patch_group)


def _window_settings(ssm: FakeSsm, t: PolicyTarget) -> None:
    ssm.update_maintenance_window(WindowId=t.window_id, Duration=6, Enabled=False)


def _window_deleted(ssm: FakeSsm, t: PolicyTarget) -> None:
    ssm.delete_maintenance_window(WindowId=t.window_id)


def _target_changed(ssm: FakeSsm, t: PolicyTarget) -> None:
    ssm.update_maintenance_window_target(
        WindowId=t.window_id, WindowTargetId=t.window_target_id, Targets=[{"Key": "tag:Role", "Values": ["db"]}]
    )


def _target_deleted(ssm: FakeSsm, t: PolicyTarget) -> None:
    ssm.deregister_target_from_maintenance_window(WindowId=t.window_id, WindowTargetId=t.window_target_id, Safe=False)


def _target_added(ssm: FakeSsm, t: PolicyTarget) -> None:
    ssm.register_target_with_maintenance_window(
        WindowId=t.window_id, ResourceType="INSTANCE", Targets=[{"Key": "InstanceIds", "Values": ["i-1"]}]
    )


def _task_rollout(ssm: FakeSsm, t: PolicyTarget) -> None:
    ssm.update_maintenance_window_task(WindowId=t.window_id, WindowTaskId=t.window_task_id, MaxConcurrency="100%")


def _task_operation(ssm: FakeSsm, t: PolicyTarget) -> None:
    params = {"RunCommand": {"Parameters": {"Operation": ["Scan"], "RebootOption": ["NoReboot"]}}}
    ssm.update_maintenance_window_task(
        WindowId=t.window_id, WindowTaskId=t.window_task_id, TaskInvocationParameters=params
    )


def _task_deleted(ssm: FakeSsm, t: PolicyTarget) -> None:
    ssm.deregister_task_from_maintenance_window(WindowId=t.window_id, WindowTaskId=t.window_task_id)


@pytest.mark.parametrize(
    ("drift", "detected_by", "change"),
    [
        (_baseline_patches, "GetPatchBaseline", "updated (ApprovedPatches)"),
        (_baseline_deleted, "GetPatchBaseline", "was gone; created"),
        (_patch_group_deregistered, "GetPatchBaseline", "registered to baseline"),
        (_window_settings, "DescribeMaintenanceWindows", "updated (Duration, Enabled)"),
        (_window_deleted, "DescribeMaintenanceWindows", "was gone; created"),
        (_target_changed, "DescribeMaintenanceWindowTargets", "updated (Targets)"),
        (_target_deleted, "DescribeMaintenanceWindowTargets", "window target"),
        (_target_added, "DescribeMaintenanceWindowTargets", "unexpected target"),
        (_task_rollout, "GetMaintenanceWindowTask", "updated (MaxConcurrency)"),
        (_task_operation, "GetMaintenanceWindowTask", "updated (Parameters)"),
        (_task_deleted, "GetMaintenanceWindowTask", "task"),
    ],
)
def test_a_change_in_each_resource_is_found_by_its_signal_and_repaired(
    placed: tuple[FakeSsm, PolicyTarget], drift: Drift, detected_by: str, change: str
) -> None:
    ssm, known = placed
    drift(ssm, known)
    listing = _listing(ssm)
    repaired = _resync(ssm, known, listing)
    assert any(change in c for c in repaired.changes), repaired.changes
    assert _writes(ssm), "a repair writes"
    if detected_by != "DescribeMaintenanceWindows":
        assert ssm.calls[detected_by] >= 1
    # Repaired means the next resync is back to three reads and no change.
    _assert_steady(ssm, repaired.target)


def test_a_window_deleted_after_the_listing_was_read_is_found_by_its_targets(
    placed: tuple[FakeSsm, PolicyTarget],
) -> None:
    ssm, known = placed
    stale = _listing(ssm)
    ssm.delete_maintenance_window(WindowId=known.window_id)
    ssm.calls.clear()
    repaired = _resync(ssm, known, stale)
    assert repaired.target.window_id != known.window_id
    assert any("was gone; created" in c for c in repaired.changes)


def test_the_signals_do_not_see_tags_or_extra_tasks_or_unassociated_targets(
    placed: tuple[FakeSsm, PolicyTarget],
) -> None:
    """The documented trade-off (docs/design.md): these are repaired on the next resync that runs the full
    comparison, i.e. once another signal differs."""
    ssm, known = placed
    ssm.tags[("PatchBaseline", str(known.baseline_id))].clear()
    ssm.update_maintenance_window(WindowId=known.window_id, AllowUnassociatedTargets=True)
    ssm.register_task_with_maintenance_window(
        WindowId=known.window_id, TaskArn="AWS-RunShellScript", TaskType="RUN_COMMAND"
    )
    _assert_steady(ssm, known)

    _baseline_patches(ssm, known)  # another signal differs: the full comparison puts everything back
    repaired = _resync(ssm, known)
    assert any("tags restored" in c for c in repaired.changes)
    assert any("unexpected task" in c for c in repaired.changes)
    assert any("AllowUnassociatedTargets" in c for c in repaired.changes)
