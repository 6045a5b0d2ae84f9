"""SSM Patch Manager: patch baselines, patch groups, maintenance windows with their targets and tasks, tags,
managed-instance information and patch states.

Thin, typed wrappers over the boto3 SSM client: one AWS operation each (plus its paginator), no policy logic.
Each declares the IAM actions it calls. "Not found" answers that callers expect (drift, deletion) come back as
`None` or are ignored where AWS itself treats the call as idempotent; every other error is raised unchanged
for `sreops.operator.aws.errors` to classify.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from sreops.operator.aws.errors import error_code
from sreops.operator.aws.permissions import requires

SsmClient = Any  # a boto3 "ssm" client (boto3 has no static types here)
Params = dict[str, Any]
BASELINE = "PatchBaseline"
WINDOW = "MaintenanceWindow"
# DescribeInstancePatchStates takes at most 50 instance ids a call; InstanceInformation filter values likewise.
INSTANCE_IDS_PER_CALL = 50
_GONE = frozenset({"DoesNotExistException", "InvalidResourceId", "ResourceNotFoundException"})


def is_gone(exc: BaseException) -> bool:
    """The resource named in the call does not exist (any more)."""
    return isinstance(exc, ClientError) and error_code(exc) in _GONE


def _pages(
    ssm: SsmClient, operation: str, key: str, page_size: int | None = None, **params: Any
) -> Iterator[dict[str, Any]]:
    if page_size is not None:
        params["PaginationConfig"] = {"PageSize": page_size}
    for page in ssm.get_paginator(operation).paginate(**params):
        yield from page.get(key) or []


def _chunks(values: Sequence[str], size: int = INSTANCE_IDS_PER_CALL) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


def _tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


# -- tags -----------------------------------------------------------------------------------------------


@requires("ssm:ListTagsForResource")
def list_tags(ssm: SsmClient, resource_type: str, resource_id: str) -> dict[str, str] | None:
    """The resource's tags, or None if it does not exist."""
    try:
        answer = ssm.list_tags_for_resource(ResourceType=resource_type, ResourceId=resource_id)
    except ClientError as exc:
        if is_gone(exc):
            return None
        raise
    return {t["Key"]: t["Value"] for t in answer.get("TagList") or []}


@requires("ssm:AddTagsToResource")
def add_tags(ssm: SsmClient, resource_type: str, resource_id: str, tags: Mapping[str, str]) -> None:
    ssm.add_tags_to_resource(ResourceType=resource_type, ResourceId=resource_id, Tags=_tag_list(tags))


# -- patch baselines and patch groups -------------------------------------------------------------------


@requires("ssm:DescribePatchBaselines")
def find_baselines(ssm: SsmClient, name: str) -> list[dict[str, Any]]:
    """Our own (not AWS-provided) baselines called exactly `name`: identities with BaselineId."""
    filters = [{"Key": "NAME_PREFIX", "Values": [name]}, {"Key": "OWNER", "Values": ["Self"]}]
    return [
        b
        for b in _pages(ssm, "describe_patch_baselines", "BaselineIdentities", Filters=filters)
        if b.get("BaselineName") == name
    ]


@requires("ssm:GetPatchBaseline")
def get_baseline(ssm: SsmClient, baseline_id: str) -> dict[str, Any] | None:
    """The baseline with its PatchGroups, or None if it does not exist."""
    try:
        answer: dict[str, Any] = ssm.get_patch_baseline(BaselineId=baseline_id)
    except ClientError as exc:
        if is_gone(exc):
            return None
        raise
    return answer


@requires("ssm:CreatePatchBaseline", "ssm:AddTagsToResource")
def create_baseline(ssm: SsmClient, params: Params, tags: Mapping[str, str]) -> str:
    return str(ssm.create_patch_baseline(**params, Tags=_tag_list(tags))["BaselineId"])


@requires("ssm:UpdatePatchBaseline")
def update_baseline(ssm: SsmClient, baseline_id: str, params: Params) -> None:
    ssm.update_patch_baseline(BaselineId=baseline_id, **params)


@requires("ssm:DeletePatchBaseline")
def delete_baseline(ssm: SsmClient, baseline_id: str) -> None:
    """Deletes a baseline; AWS answers success for an id that is already gone."""
    try:
        ssm.delete_patch_baseline(BaselineId=baseline_id)
    except ClientError as exc:
        if not is_gone(exc):
            raise


@requires("ssm:RegisterPatchBaselineForPatchGroup")
def register_patch_group(ssm: SsmClient, baseline_id: str, patch_group: str) -> None:
    ssm.register_patch_baseline_for_patch_group(BaselineId=baseline_id, PatchGroup=patch_group)


@requires("ssm:DeregisterPatchBaselineForPatchGroup")
def deregister_patch_group(ssm: SsmClient, baseline_id: str, patch_group: str) -> None:
    """Removes a registration; one that does not exist is already what we want."""
    try:
        ssm.deregister_patch_baseline_for_patch_group(BaselineId=baseline_id, PatchGroup=patch_group)
    except ClientError as exc:
        if not is_gone(exc):
            raise


@requires("ssm:GetPatchBaselineForPatchGroup")
def baseline_for_patch_group(ssm: SsmClient, patch_group: str, operating_system: str) -> str:
    answer = ssm.get_patch_baseline_for_patch_group(PatchGroup=patch_group, OperatingSystem=operating_system)
    return str(answer["BaselineId"])


# -- maintenance windows ----------------------------------------------------------------------------------


@requires("ssm:DescribeMaintenanceWindows")
def find_windows(ssm: SsmClient, name: str) -> list[dict[str, Any]]:
    """Windows called exactly `name`: identities with WindowId."""
    filters = [{"Key": "Name", "Values": [name]}]
    return [
        w for w in _pages(ssm, "describe_maintenance_windows", "WindowIdentities", Filters=filters) if w["Name"] == name
    ]


@requires("ssm:DescribeMaintenanceWindows")
def list_windows(ssm: SsmClient) -> dict[str, dict[str, Any]]:
    """Every window in the region by id, as DescribeMaintenanceWindows lists it (all of GetMaintenanceWindow's
    settings but AllowUnassociatedTargets, plus NextExecutionTime), in pages of 100, AWS's largest."""
    return {w["WindowId"]: w for w in _pages(ssm, "describe_maintenance_windows", "WindowIdentities", page_size=100)}


@requires("ssm:GetMaintenanceWindow")
def get_window(ssm: SsmClient, window_id: str) -> dict[str, Any] | None:
    try:
        answer: dict[str, Any] = ssm.get_maintenance_window(WindowId=window_id)
    except ClientError as exc:
        if is_gone(exc):
            return None
        raise
    return answer


@requires("ssm:CreateMaintenanceWindow", "ssm:AddTagsToResource")
def create_window(ssm: SsmClient, params: Params, tags: Mapping[str, str]) -> str:
    return str(ssm.create_maintenance_window(**params, Tags=_tag_list(tags))["WindowId"])


@requires("ssm:UpdateMaintenanceWindow")
def update_window(ssm: SsmClient, window_id: str, params: Params) -> None:
    ssm.update_maintenance_window(WindowId=window_id, **params)


@requires("ssm:DeleteMaintenanceWindow")
def delete_window(ssm: SsmClient, window_id: str) -> None:
    """Deletes a window (and with it its targets and tasks); AWS answers success for an unknown id."""
    try:
        ssm.delete_maintenance_window(WindowId=window_id)
    except ClientError as exc:
        if not is_gone(exc):
            raise


@requires("ssm:DescribeMaintenanceWindowTargets")
def list_window_targets(ssm: SsmClient, window_id: str) -> list[dict[str, Any]]:
    return list(_pages(ssm, "describe_maintenance_window_targets", "Targets", WindowId=window_id))


@requires("ssm:RegisterTargetWithMaintenanceWindow")
def register_window_target(ssm: SsmClient, window_id: str, params: Params) -> str:
    return str(ssm.register_target_with_maintenance_window(WindowId=window_id, **params)["WindowTargetId"])


@requires("ssm:UpdateMaintenanceWindowTarget")
def update_window_target(ssm: SsmClient, window_id: str, target_id: str, params: Params) -> None:
    # ResourceType cannot be updated (AWS has no such parameter here).
    changes = {k: v for k, v in params.items() if k != "ResourceType"}
    ssm.update_maintenance_window_target(WindowId=window_id, WindowTargetId=target_id, **changes)


@requires("ssm:DeregisterTargetFromMaintenanceWindow")
def deregister_window_target(ssm: SsmClient, window_id: str, target_id: str) -> None:
    try:
        ssm.deregister_target_from_maintenance_window(WindowId=window_id, WindowTargetId=target_id, Safe=False)
    except ClientError as exc:
        if not is_gone(exc):
            raise


@requires("ssm:DescribeMaintenanceWindowTasks")
def list_window_tasks(ssm: SsmClient, window_id: str) -> list[dict[str, Any]]:
    """Task summaries; they lack TaskInvocationParameters (use get_window_task for those)."""
    return list(_pages(ssm, "describe_maintenance_window_tasks", "Tasks", WindowId=window_id))


@requires("ssm:GetMaintenanceWindowTask")
def get_window_task(ssm: SsmClient, window_id: str, task_id: str) -> dict[str, Any] | None:
    try:
        answer: dict[str, Any] = ssm.get_maintenance_window_task(WindowId=window_id, WindowTaskId=task_id)
    except ClientError as exc:
        if is_gone(exc):
            return None
        raise
    return answer


@requires("ssm:RegisterTaskWithMaintenanceWindow")
def register_window_task(ssm: SsmClient, window_id: str, params: Params) -> str:
    return str(ssm.register_task_with_maintenance_window(WindowId=window_id, **params)["WindowTaskId"])


@requires("ssm:UpdateMaintenanceWindowTask")
def update_window_task(ssm: SsmClient, window_id: str, task_id: str, params: Params) -> None:
    # TaskType cannot change in place; callers re-register a task whose type differs.
    changes = {k: v for k, v in params.items() if k != "TaskType"}
    ssm.update_maintenance_window_task(WindowId=window_id, WindowTaskId=task_id, **changes)


@requires("ssm:DeregisterTaskFromMaintenanceWindow")
def deregister_window_task(ssm: SsmClient, window_id: str, task_id: str) -> None:
    try:
        ssm.deregister_task_from_maintenance_window(WindowId=window_id, WindowTaskId=task_id)
    except ClientError as exc:
        if not is_gone(exc):
            raise


# -- managed instances and their patch state --------------------------------------------------------------


@requires("ssm:DescribeInstanceInformation")
def managed_instances(ssm: SsmClient) -> list[dict[str, Any]]:
    """Every managed instance in the region, in pages of 50 (AWS's largest)."""
    return list(_pages(ssm, "describe_instance_information", "InstanceInformationList", page_size=50))


@requires("ssm:DescribeInstancePatchStates")
def patch_states(ssm: SsmClient, instance_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The patch state of each instance that has reported one (instances that never did are absent)."""
    states: list[dict[str, Any]] = []
    for chunk in _chunks(instance_ids):
        # Pages of 50 (AWS allows 10 to 100): one call per chunk of 50 ids.
        states += _pages(
            ssm,
            "describe_instance_patch_states",
            "InstancePatchStates",
            page_size=INSTANCE_IDS_PER_CALL,
            InstanceIds=chunk,
        )
    return states
