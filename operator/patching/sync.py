"""Converging one account x region of a PatchPolicy: baseline, patch-group registration, window, target, task.

Find-or-create by ownership: an id from `status.targets` is used when the resource still exists and is ours
(its `sreops.io/uid` tag matches, or it lost its tags and gets them back); otherwise the resource is looked
up by name and uid tag, so a restart or a lost status write never creates a duplicate. Each resource is
compared with the desired state first and written only when it differs, and every write is recorded as a
human-readable change (the controller turns those into a DriftRepaired event when the spec had not changed).

A resync of a placement whose ids are all known first checks cheap signals, one call per resource that has
its own Get or Describe: GetPatchBaseline (settings, operating system and patch groups), the region's window
listing that policies share (`windows`, see `sreops.operator.patching.shared`), DescribeMaintenanceWindowTargets
(the target's definition, and any other target in the window) and GetMaintenanceWindowTask (the task with its
parameters). When every signal matches, nothing else is read; when one differs, or says a resource is gone,
the full find-or-create and comparison below runs, tags included. What the signals cannot see is listed in
docs/design.md ("Cheap steady state").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from sreops.operator.api.patchpolicy import PolicyTarget
from sreops.operator.aws import ssm_patching as ssm_api
from sreops.operator.aws.errors import error_code
from sreops.operator.aws.ssm_patching import BASELINE, WINDOW, SsmClient
from sreops.operator.patching.desired import (
    UID_TAG,
    DesiredState,
    Identity,
    baseline_changes,
    baseline_update_params,
    create_window_params,
    listed_window_changes,
    target_changes,
    task_changes,
    task_type_differs,
    window_changes,
)


class PatchGroupConflictError(Exception):
    """Another baseline (not this policy's) is registered for the patch group and operating system."""

    def __init__(self, patch_group: str, baseline_id: str) -> None:
        super().__init__(
            f"patch group {patch_group!r} is already registered to baseline {baseline_id}, which this policy does "
            "not own; deregister it or set spec.patchGroup"
        )


Windows = Mapping[str, Mapping[str, Any]]  # window id -> its DescribeMaintenanceWindows entry


@dataclass
class PlacementResult:
    target: PolicyTarget
    changes: list[str] = field(default_factory=list)


def _owned(
    ssm: SsmClient,
    identity: Identity,
    resource_type: str,
    known_id: str | None,
    changes: list[str] | None,
) -> dict[str, Any] | None:
    """The policy's baseline or window in this region (full Get answer), or None if it has none."""
    get = ssm_api.get_baseline if resource_type == BASELINE else ssm_api.get_window
    if known_id:
        actual = get(ssm, known_id)
        tags = ssm_api.list_tags(ssm, resource_type, known_id) if actual is not None else None
        # Untagged (someone removed the tags) still counts as ours: status says we created it.
        if actual is not None and tags is not None and tags.get(UID_TAG) in (None, identity.uid):
            missing = {k: v for k, v in identity.tags.items() if tags.get(k) != v}
            if missing and changes is not None:
                ssm_api.add_tags(ssm, resource_type, known_id, missing)
                changes.append(f"{_label(resource_type)} {known_id} tags restored")
            return actual
    if resource_type == BASELINE:
        candidates = [b["BaselineId"] for b in ssm_api.find_baselines(ssm, identity.resource_name)]
    else:
        candidates = [w["WindowId"] for w in ssm_api.find_windows(ssm, identity.resource_name)]
    for resource_id in candidates:
        if identity.owns(ssm_api.list_tags(ssm, resource_type, resource_id)):
            return get(ssm, resource_id)
    return None


def _label(resource_type: str) -> str:
    return "baseline" if resource_type == BASELINE else "window"


def _gone_note(kind: str, known_id: str | None, new_id: str) -> str:
    return f"{kind} {known_id} was gone; created {new_id}" if known_id else f"{kind} {new_id} created"


def _delete_baseline(ssm: SsmClient, baseline: dict[str, Any]) -> None:
    for group in baseline.get("PatchGroups") or []:
        ssm_api.deregister_patch_group(ssm, baseline["BaselineId"], group)
    ssm_api.delete_baseline(ssm, baseline["BaselineId"])


def _sync_baseline(
    ssm: SsmClient, desired: DesiredState, identity: Identity, known: PolicyTarget | None, changes: list[str]
) -> str:
    known_id = known.baseline_id if known else None
    actual = _owned(ssm, identity, BASELINE, known_id, changes)
    if actual is not None and actual.get("OperatingSystem") != desired.operating_system:
        # AWS cannot change a baseline's operating system: replace it.
        _delete_baseline(ssm, actual)
        changes.append(
            f"baseline {actual['BaselineId']} deleted: OperatingSystem {actual.get('OperatingSystem')} cannot "
            f"change to {desired.operating_system} in place"
        )
        known_id, actual = None, None
    if actual is None:
        baseline_id = ssm_api.create_baseline(ssm, desired.baseline, identity.tags)
        changes.append(_gone_note("baseline", known_id, baseline_id))
        groups: list[str] = []
    else:
        baseline_id = str(actual["BaselineId"])
        groups = list(actual.get("PatchGroups") or [])
        differing = baseline_changes(desired, actual)
        if differing:
            ssm_api.update_baseline(ssm, baseline_id, baseline_update_params(desired))
            changes.append(f"baseline {baseline_id} updated ({', '.join(differing)})")
    for group in groups:
        if group != desired.patch_group:
            ssm_api.deregister_patch_group(ssm, baseline_id, group)
            changes.append(f"patch group {group!r} deregistered from baseline {baseline_id}")
    if desired.patch_group not in groups:
        _register_patch_group(ssm, desired, identity, baseline_id)
        changes.append(f"patch group {desired.patch_group!r} registered to baseline {baseline_id}")
    return baseline_id


def _register_patch_group(ssm: SsmClient, desired: DesiredState, identity: Identity, baseline_id: str) -> None:
    try:
        ssm_api.register_patch_group(ssm, baseline_id, desired.patch_group)
        return
    except ClientError as exc:
        if error_code(exc) != "AlreadyExistsException":
            raise
    # The group already has a baseline for this OS. If it is an older one of ours (a replaced or duplicate
    # baseline), take the group over; anyone else's is a conflict for a human to settle.
    other = ssm_api.baseline_for_patch_group(ssm, desired.patch_group, desired.operating_system)
    if other == baseline_id:
        return
    if not identity.owns(ssm_api.list_tags(ssm, BASELINE, other)):
        raise PatchGroupConflictError(desired.patch_group, other)
    ssm_api.deregister_patch_group(ssm, other, desired.patch_group)
    ssm_api.register_patch_group(ssm, baseline_id, desired.patch_group)


def _sync_window(
    ssm: SsmClient, desired: DesiredState, identity: Identity, known: PolicyTarget | None, changes: list[str]
) -> tuple[str, bool]:
    """The window id, and whether it was created just now (then it has no targets or tasks yet)."""
    known_id = known.window_id if known else None
    actual = _owned(ssm, identity, WINDOW, known_id, changes)
    if actual is None:
        window_id = ssm_api.create_window(ssm, create_window_params(desired), identity.tags)
        if not desired.window["Enabled"]:
            ssm_api.update_window(ssm, window_id, {"Enabled": False})
        changes.append(_gone_note("window", known_id, window_id))
        return window_id, True
    window_id = str(actual["WindowId"])
    differing = window_changes(desired, actual)
    if differing:
        ssm_api.update_window(ssm, window_id, desired.window)
        changes.append(f"window {window_id} updated ({', '.join(differing)})")
    return window_id, False


def _sync_target(
    ssm: SsmClient,
    desired: DesiredState,
    identity: Identity,
    window_id: str,
    window_is_new: bool,
    known_id: str | None,
    changes: list[str],
) -> str:
    existing = [] if window_is_new else ssm_api.list_window_targets(ssm, window_id)
    ours = [
        t
        for t in existing
        if t["WindowTargetId"] == known_id or t.get("OwnerInformation") == identity.owner_information
    ]
    # The window is the policy's: a target someone else added (or a duplicate of ours) goes.
    for extra in [t for t in existing if t not in ours[:1]]:
        ssm_api.deregister_window_target(ssm, window_id, extra["WindowTargetId"])
        changes.append(f"unexpected target {extra['WindowTargetId']} removed from window {window_id}")
    if not ours:
        target_id = ssm_api.register_window_target(ssm, window_id, desired.target)
        if not window_is_new:
            changes.append(_gone_note("window target", known_id, target_id))
        return target_id
    target_id = str(ours[0]["WindowTargetId"])
    differing = target_changes(desired, ours[0])
    if differing:
        ssm_api.update_window_target(ssm, window_id, target_id, desired.target)
        changes.append(f"window target {target_id} updated ({', '.join(differing)})")
    return target_id


def _sync_task(
    ssm: SsmClient,
    desired: DesiredState,
    window_id: str,
    window_is_new: bool,
    target_id: str,
    known_id: str | None,
    changes: list[str],
) -> str:
    summaries = [] if window_is_new else ssm_api.list_window_tasks(ssm, window_id)
    ours = [t for t in summaries if t["WindowTaskId"] == known_id or t.get("Name") == desired.task["Name"]]
    for extra in [t for t in summaries if t not in ours[:1]]:
        ssm_api.deregister_window_task(ssm, window_id, extra["WindowTaskId"])
        changes.append(f"unexpected task {extra['WindowTaskId']} removed from window {window_id}")
    actual = ssm_api.get_window_task(ssm, window_id, ours[0]["WindowTaskId"]) if ours else None
    if actual is not None and task_type_differs(desired, actual):
        ssm_api.deregister_window_task(ssm, window_id, str(actual["WindowTaskId"]))
        changes.append(f"task {actual['WindowTaskId']} of the wrong type removed")
        actual = None
    params = {**desired.task, "Targets": desired.task_targets(target_id)}
    if actual is None:
        task_id = ssm_api.register_window_task(ssm, window_id, params)
        if not window_is_new:
            changes.append(_gone_note("task", known_id, task_id))
        return task_id
    task_id = str(actual["WindowTaskId"])
    differing = task_changes(desired, actual, target_id)
    if differing:
        ssm_api.update_window_task(ssm, window_id, task_id, params)
        changes.append(f"task {task_id} updated ({', '.join(differing)})")
    return task_id


def _unchanged(ssm: SsmClient, desired: DesiredState, known: PolicyTarget, windows: Callable[[], Windows]) -> bool:
    """Whether the cheap signals say the placement in `known` still matches `desired` (see the module's doc).

    Reads stop at the first difference: the full sync reads again anyway."""
    baseline_id, window_id = known.baseline_id, known.window_id
    target_id, task_id = known.window_target_id, known.window_task_id
    if not (baseline_id and window_id and target_id and task_id) or known.patch_group != desired.patch_group:
        return False
    baseline = ssm_api.get_baseline(ssm, baseline_id)
    if (
        baseline is None
        or baseline.get("OperatingSystem") != desired.operating_system
        or list(baseline.get("PatchGroups") or []) != [desired.patch_group]
        or baseline_changes(desired, baseline)
    ):
        return False
    listed = windows().get(window_id)
    if listed is None or listed_window_changes(desired, listed):
        return False  # changed, deleted, or created after the listing was read
    try:
        targets = ssm_api.list_window_targets(ssm, window_id)
    except ClientError as exc:
        if ssm_api.is_gone(exc):
            return False  # the window went since the listing was read
        raise
    if [t["WindowTargetId"] for t in targets] != [target_id] or target_changes(desired, targets[0]):
        return False
    task = ssm_api.get_window_task(ssm, window_id, task_id)
    return task is not None and not task_type_differs(desired, task) and not task_changes(desired, task, target_id)


def sync_placement(
    ssm: SsmClient,
    desired: DesiredState,
    identity: Identity,
    account: str,
    region: str,
    known: PolicyTarget | None,
    windows: Callable[[], Windows] | None = None,
) -> PlacementResult:
    """Makes this account x region match `desired`; returns the AWS ids and what had to change.

    `windows` reads the region's maintenance windows by id (a listing shared between policies); with it, a
    placement whose ids are known is checked by cheap signals first and left alone when they all match."""
    if known is not None and windows is not None and _unchanged(ssm, desired, known, windows):
        return PlacementResult(known)
    changes: list[str] = []
    baseline_id = _sync_baseline(ssm, desired, identity, known, changes)
    window_id, window_is_new = _sync_window(ssm, desired, identity, known, changes)
    # A new window means its old target and task went with the old one: never reuse their ids.
    known_target = None if window_is_new or known is None else known.window_target_id
    known_task = None if window_is_new or known is None else known.window_task_id
    target_id = _sync_target(ssm, desired, identity, window_id, window_is_new, known_target, changes)
    task_id = _sync_task(ssm, desired, window_id, window_is_new, target_id, known_task, changes)
    target = PolicyTarget(
        account=account,
        region=region,
        baseline_id=baseline_id,
        patch_group=desired.patch_group,
        window_id=window_id,
        window_target_id=target_id,
        window_task_id=task_id,
    )
    return PlacementResult(target, changes)


def remove_placement(ssm: SsmClient, identity: Identity, known: PolicyTarget | None) -> list[str]:
    """Deletes what the policy owns in this account x region: task, target, window, registration, baseline."""
    removed: list[str] = []
    window = _owned(ssm, identity, WINDOW, known.window_id if known else None, None)
    if window is not None:
        window_id = str(window["WindowId"])
        for task in ssm_api.list_window_tasks(ssm, window_id):
            ssm_api.deregister_window_task(ssm, window_id, task["WindowTaskId"])
        for target in ssm_api.list_window_targets(ssm, window_id):
            ssm_api.deregister_window_target(ssm, window_id, target["WindowTargetId"])
        ssm_api.delete_window(ssm, window_id)
        removed.append(f"window {window_id}")
    baseline = _owned(ssm, identity, BASELINE, known.baseline_id if known else None, None)
    if baseline is not None:
        _delete_baseline(ssm, baseline)
        removed.append(f"baseline {baseline['BaselineId']}")
    return removed
