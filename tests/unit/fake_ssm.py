"""An in-memory SSM client for unit tests: the Patch Manager and maintenance-window operations the operator
calls, answering like AWS (fields, DoesNotExist errors, listings without the fields AWS leaves out), and
counting every call by its AWS operation name. Also a fake EC2 client for instance tags."""

from __future__ import annotations

import copy
import itertools
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

Params = dict[str, Any]
_ids = itertools.count(1)


def _error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code} (fake)"}}, operation)


def _camel(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


class _Paginator:
    def __init__(self, client: Any, operation: str) -> None:
        self._client, self._operation = client, operation

    def paginate(self, PaginationConfig: Params | None = None, **params: Any) -> Iterator[Params]:  # noqa: N803
        yield getattr(self._client, self._operation)(**params)  # one page, counted as one call


class FakeSsm:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.baselines: dict[str, Params] = {}
        self.patch_groups: dict[tuple[str, str], str] = {}  # (group, operating system) -> baseline id
        self.windows: dict[str, Params] = {}
        self.targets: dict[str, dict[str, Params]] = {}  # window id -> target id -> target
        self.tasks: dict[str, dict[str, Params]] = {}
        self.tags: dict[tuple[str, str], dict[str, str]] = {}
        self.instances: list[Params] = []  # DescribeInstanceInformation entries
        self.patch_state_of: dict[str, Params] = {}

    def get_paginator(self, operation: str) -> _Paginator:
        return _Paginator(self, operation)

    def _call(self, operation: str) -> None:
        self.calls[_camel(operation)] += 1

    # -- tags

    def _tag(self, resource_type: str, resource_id: str, tags: list[dict[str, str]]) -> None:
        self.tags.setdefault((resource_type, resource_id), {}).update({t["Key"]: t["Value"] for t in tags})

    def list_tags_for_resource(self, ResourceType: str, ResourceId: str) -> Params:  # noqa: N803
        self._call("list_tags_for_resource")
        exists = ResourceId in (self.baselines if ResourceType == "PatchBaseline" else self.windows)
        if ResourceType in ("PatchBaseline", "MaintenanceWindow") and not exists:
            raise _error("InvalidResourceId", "ListTagsForResource")
        tags = self.tags.get((ResourceType, ResourceId), {})
        return {"TagList": [{"Key": k, "Value": v} for k, v in tags.items()]}

    def add_tags_to_resource(self, ResourceType: str, ResourceId: str, Tags: list[dict[str, str]]) -> Params:  # noqa: N803
        self._call("add_tags_to_resource")
        self._tag(ResourceType, ResourceId, Tags)
        return {}

    # -- baselines

    def _baseline(self, baseline_id: str, operation: str) -> Params:
        if baseline_id not in self.baselines:
            raise _error("DoesNotExistException", operation)
        return self.baselines[baseline_id]

    def create_patch_baseline(self, Tags: list[dict[str, str]], **params: Any) -> Params:  # noqa: N803
        self._call("create_patch_baseline")
        baseline_id = f"pb-{next(_ids):017x}"
        self.baselines[baseline_id] = {"BaselineId": baseline_id, **copy.deepcopy(params)}
        self._tag("PatchBaseline", baseline_id, Tags)
        return {"BaselineId": baseline_id}

    def get_patch_baseline(self, BaselineId: str) -> Params:  # noqa: N803
        self._call("get_patch_baseline")
        answer = copy.deepcopy(self._baseline(BaselineId, "GetPatchBaseline"))
        answer["PatchGroups"] = sorted(g for (g, _), b in self.patch_groups.items() if b == BaselineId)
        return answer

    def update_patch_baseline(self, BaselineId: str, **params: Any) -> Params:  # noqa: N803
        self._call("update_patch_baseline")
        self._baseline(BaselineId, "UpdatePatchBaseline").update(copy.deepcopy(params))
        return {}

    def delete_patch_baseline(self, BaselineId: str) -> Params:  # noqa: N803
        self._call("delete_patch_baseline")
        self.baselines.pop(BaselineId, None)
        return {"BaselineId": BaselineId}

    def describe_patch_baselines(self, Filters: list[Params]) -> Params:  # noqa: N803
        self._call("describe_patch_baselines")
        prefix = next(f["Values"][0] for f in Filters if f["Key"] == "NAME_PREFIX")
        return {
            "BaselineIdentities": [
                {"BaselineId": b["BaselineId"], "BaselineName": b["Name"]}
                for b in self.baselines.values()
                if b["Name"].startswith(prefix)
            ]
        }

    def register_patch_baseline_for_patch_group(self, BaselineId: str, PatchGroup: str) -> Params:  # noqa: N803
        self._call("register_patch_baseline_for_patch_group")
        key = (PatchGroup, self._baseline(BaselineId, "RegisterPatchBaselineForPatchGroup")["OperatingSystem"])
        if self.patch_groups.get(key, BaselineId) != BaselineId:
            raise _error("AlreadyExistsException", "RegisterPatchBaselineForPatchGroup")
        self.patch_groups[key] = BaselineId
        return {}

    def deregister_patch_baseline_for_patch_group(self, BaselineId: str, PatchGroup: str) -> Params:  # noqa: N803
        self._call("deregister_patch_baseline_for_patch_group")
        key = next((k for k, b in self.patch_groups.items() if k[0] == PatchGroup and b == BaselineId), None)
        if key is None:
            raise _error("DoesNotExistException", "DeregisterPatchBaselineForPatchGroup")
        del self.patch_groups[key]
        return {}

    # -- windows

    def _window(self, window_id: str, operation: str) -> Params:
        if window_id not in self.windows:
            raise _error("DoesNotExistException", operation)
        return self.windows[window_id]

    def create_maintenance_window(self, Tags: list[dict[str, str]], **params: Any) -> Params:  # noqa: N803
        self._call("create_maintenance_window")
        window_id = f"mw-{next(_ids):017x}"
        self.windows[window_id] = {"WindowId": window_id, "Enabled": True, **copy.deepcopy(params)}
        self.targets[window_id], self.tasks[window_id] = {}, {}
        self._tag("MaintenanceWindow", window_id, Tags)
        return {"WindowId": window_id}

    def get_maintenance_window(self, WindowId: str) -> Params:  # noqa: N803
        self._call("get_maintenance_window")
        return copy.deepcopy(self._window(WindowId, "GetMaintenanceWindow"))

    def update_maintenance_window(self, WindowId: str, **params: Any) -> Params:  # noqa: N803
        self._call("update_maintenance_window")
        self._window(WindowId, "UpdateMaintenanceWindow").update(copy.deepcopy(params))
        return {}

    def delete_maintenance_window(self, WindowId: str) -> Params:  # noqa: N803
        self._call("delete_maintenance_window")
        for table in (self.windows, self.targets, self.tasks):
            table.pop(WindowId, None)
        return {"WindowId": WindowId}

    def describe_maintenance_windows(self, Filters: list[Params] | None = None) -> Params:  # noqa: N803
        self._call("describe_maintenance_windows")
        names = next((f["Values"] for f in Filters or [] if f["Key"] == "Name"), None)
        listed = []
        for window in self.windows.values():
            if names is None or window["Name"] in names:
                entry = {k: v for k, v in window.items() if k != "AllowUnassociatedTargets"}  # as AWS lists it
                listed.append(copy.deepcopy(entry))
        return {"WindowIdentities": listed}

    # -- targets and tasks

    def register_target_with_maintenance_window(self, WindowId: str, **params: Any) -> Params:  # noqa: N803
        self._call("register_target_with_maintenance_window")
        self._window(WindowId, "RegisterTargetWithMaintenanceWindow")
        target_id = str(uuid.uuid4())
        self.targets[WindowId][target_id] = {"WindowId": WindowId, "WindowTargetId": target_id, **copy.deepcopy(params)}
        return {"WindowTargetId": target_id}

    def describe_maintenance_window_targets(self, WindowId: str) -> Params:  # noqa: N803
        self._call("describe_maintenance_window_targets")
        self._window(WindowId, "DescribeMaintenanceWindowTargets")
        return {"Targets": copy.deepcopy(list(self.targets[WindowId].values()))}

    def update_maintenance_window_target(self, WindowId: str, WindowTargetId: str, **params: Any) -> Params:  # noqa: N803
        self._call("update_maintenance_window_target")
        self.targets[WindowId][WindowTargetId].update(copy.deepcopy(params))
        return {}

    def deregister_target_from_maintenance_window(self, WindowId: str, WindowTargetId: str, Safe: bool) -> Params:  # noqa: N803
        self._call("deregister_target_from_maintenance_window")
        if self.targets.get(WindowId, {}).pop(WindowTargetId, None) is None:
            raise _error("DoesNotExistException", "DeregisterTargetFromMaintenanceWindow")
        return {}

    def register_task_with_maintenance_window(self, WindowId: str, **params: Any) -> Params:  # noqa: N803
        self._call("register_task_with_maintenance_window")
        self._window(WindowId, "RegisterTaskWithMaintenanceWindow")
        task_id = str(uuid.uuid4())
        self.tasks[WindowId][task_id] = {"WindowId": WindowId, "WindowTaskId": task_id, **copy.deepcopy(params)}
        return {"WindowTaskId": task_id}

    def get_maintenance_window_task(self, WindowId: str, WindowTaskId: str) -> Params:  # noqa: N803
        self._call("get_maintenance_window_task")
        task = self.tasks.get(WindowId, {}).get(WindowTaskId)
        if task is None:
            raise _error("DoesNotExistException", "GetMaintenanceWindowTask")
        return copy.deepcopy(task)

    def describe_maintenance_window_tasks(self, WindowId: str) -> Params:  # noqa: N803
        self._call("describe_maintenance_window_tasks")
        self._window(WindowId, "DescribeMaintenanceWindowTasks")
        summaries = []
        for task in self.tasks[WindowId].values():  # as AWS lists them: Type, no invocation parameters
            summary = {k: v for k, v in task.items() if k not in ("TaskType", "TaskInvocationParameters")}
            summaries.append({**copy.deepcopy(summary), "Type": task["TaskType"]})
        return {"Tasks": summaries}

    def update_maintenance_window_task(self, WindowId: str, WindowTaskId: str, **params: Any) -> Params:  # noqa: N803
        self._call("update_maintenance_window_task")
        self.tasks[WindowId][WindowTaskId].update(copy.deepcopy(params))
        return {}

    def deregister_task_from_maintenance_window(self, WindowId: str, WindowTaskId: str) -> Params:  # noqa: N803
        self._call("deregister_task_from_maintenance_window")
        if self.tasks.get(WindowId, {}).pop(WindowTaskId, None) is None:
            raise _error("DoesNotExistException", "DeregisterTaskFromMaintenanceWindow")
        return {}

    # -- managed instances

    def describe_instance_information(self) -> Params:
        self._call("describe_instance_information")
        return {"InstanceInformationList": copy.deepcopy(self.instances)}

    def describe_instance_patch_states(self, InstanceIds: list[str]) -> Params:  # noqa: N803
        self._call("describe_instance_patch_states")
        assert len(InstanceIds) <= 50, "AWS takes at most 50 ids a call"
        return {
            "InstancePatchStates": [
                copy.deepcopy(self.patch_state_of[i]) for i in InstanceIds if i in self.patch_state_of
            ]
        }


class FakeEc2:
    def __init__(self, tags: dict[str, dict[str, str]] | None = None) -> None:
        self.calls: Counter[str] = Counter()
        self.tags = tags or {}

    def get_paginator(self, operation: str) -> _Paginator:
        return _Paginator(self, operation)

    def describe_tags(self, Filters: list[Params]) -> Params:  # noqa: N803
        self.calls["DescribeTags"] += 1
        assert Filters == [{"Name": "resource-type", "Values": ["instance"]}]
        return {
            "Tags": [
                {"ResourceId": rid, "ResourceType": "instance", "Key": k, "Value": v}
                for rid, tags in self.tags.items()
                for k, v in tags.items()
            ]
        }
