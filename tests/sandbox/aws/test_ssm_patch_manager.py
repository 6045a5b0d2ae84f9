"""Patch baselines, patch groups and maintenance windows (with targets and tasks), as the operator
creates, reads, updates, tags and deletes them."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError

from .conftest import STAGING, ClientFactory

TAGS = [{"Key": "sreops.io/owner", "Value": "ns/web"}, {"Key": "sreops.io/uid", "Value": "u-1"}]
RULES = {
    "PatchRules": [
        {
            "PatchFilterGroup": {"PatchFilters": [{"Key": "CLASSIFICATION", "Values": ["Security"]}]},
            "ApproveAfterDays": 7,
            "ComplianceLevel": "CRITICAL",
        }
    ]
}


def _code(e: pytest.ExceptionInfo[ClientError]) -> str:
    return str(e.value.response["Error"]["Code"])


def test_baseline_lifecycle_with_tags(client: ClientFactory) -> None:
    """CreatePatchBaseline with Tags, Get/Update (partial and Replace), tags listed/added/removed,
    DescribePatchBaselines by NAME_PREFIX and OWNER, delete; unknown ids → DoesNotExistException."""
    ssm = client("ssm", account=STAGING)
    name = f"sreops-{uuid.uuid4().hex[:8]}"
    bid = ssm.create_patch_baseline(Name=name, OperatingSystem="AMAZON_LINUX_2023", ApprovalRules=RULES, Tags=TAGS)[
        "BaselineId"
    ]
    assert bid.startswith("pb-") and len(bid) == 20
    got = ssm.get_patch_baseline(BaselineId=bid)
    assert got["Name"] == name and got["ApprovalRules"]["PatchRules"][0]["ApproveAfterDays"] == 7
    assert got["PatchGroups"] == []
    tags = ssm.list_tags_for_resource(ResourceType="PatchBaseline", ResourceId=bid)["TagList"]
    assert {t["Key"]: t["Value"] for t in tags} == {"sreops.io/owner": "ns/web", "sreops.io/uid": "u-1"}
    ssm.add_tags_to_resource(ResourceType="PatchBaseline", ResourceId=bid, Tags=[{"Key": "x", "Value": "1"}])
    ssm.remove_tags_from_resource(ResourceType="PatchBaseline", ResourceId=bid, TagKeys=["sreops.io/uid"])
    tags = ssm.list_tags_for_resource(ResourceType="PatchBaseline", ResourceId=bid)["TagList"]
    assert {t["Key"] for t in tags} == {"sreops.io/owner", "x"}

    upd = ssm.update_patch_baseline(BaselineId=bid, RejectedPatches=["ALAS-1"], Description="d")
    assert upd["RejectedPatches"] == ["ALAS-1"] and upd["ApprovalRules"] == got["ApprovalRules"]
    upd = ssm.update_patch_baseline(BaselineId=bid, Replace=True, Name=name)
    assert upd["RejectedPatches"] == [] and upd["ApprovalRules"] == {"PatchRules": []}

    mine = ssm.describe_patch_baselines(Filters=[{"Key": "NAME_PREFIX", "Values": [name]}])["BaselineIdentities"]
    assert [b["BaselineId"] for b in mine] == [bid]
    owners = ssm.describe_patch_baselines(Filters=[{"Key": "OWNER", "Values": ["AWS"]}])["BaselineIdentities"]
    assert owners and all(b["DefaultBaseline"] for b in owners)

    ssm.delete_patch_baseline(BaselineId=bid)
    with pytest.raises(ClientError) as e:
        ssm.get_patch_baseline(BaselineId=bid)
    assert _code(e) == "DoesNotExistException"
    with pytest.raises(ClientError) as e:
        ssm.list_tags_for_resource(ResourceType="PatchBaseline", ResourceId=bid)
    assert _code(e) == "InvalidResourceId"


def test_baseline_validation(client: ClientFactory) -> None:
    """Out-of-range ApproveAfterDays and unknown enum values are 400 ValidationException."""
    ssm = client("ssm", account=STAGING)
    bad = {"PatchRules": [{"PatchFilterGroup": {"PatchFilters": []}, "ApproveAfterDays": 400}]}
    with pytest.raises(ClientError) as e:
        ssm.create_patch_baseline(Name="bad-days", ApprovalRules=bad)
    assert _code(e) == "ValidationException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_patch_group_registration(client: ClientFactory) -> None:
    """One baseline per patch group and OS (AlreadyExistsException otherwise); unregistered groups get
    the AWS default baseline; a registered baseline cannot be deleted until deregistered."""
    ssm = client("ssm", account=STAGING)
    group = f"pg-{uuid.uuid4().hex[:6]}"
    a = ssm.create_patch_baseline(Name="pg-a", OperatingSystem="UBUNTU")["BaselineId"]
    b = ssm.create_patch_baseline(Name="pg-b", OperatingSystem="UBUNTU")["BaselineId"]
    default = ssm.get_patch_baseline_for_patch_group(PatchGroup=group, OperatingSystem="UBUNTU")["BaselineId"]
    assert default.startswith("arn:aws:ssm:")
    ssm.register_patch_baseline_for_patch_group(BaselineId=a, PatchGroup=group)
    ssm.register_patch_baseline_for_patch_group(BaselineId=a, PatchGroup=group)  # idempotent
    with pytest.raises(ClientError) as e:
        ssm.register_patch_baseline_for_patch_group(BaselineId=b, PatchGroup=group)
    assert _code(e) == "AlreadyExistsException"
    got = ssm.get_patch_baseline_for_patch_group(PatchGroup=group, OperatingSystem="UBUNTU")
    assert got["BaselineId"] == a
    assert ssm.get_patch_baseline(BaselineId=a)["PatchGroups"] == [group]
    with pytest.raises(ClientError) as e:
        ssm.delete_patch_baseline(BaselineId=a)
    assert _code(e) == "ResourceInUseException"
    ssm.deregister_patch_baseline_for_patch_group(BaselineId=a, PatchGroup=group)
    assert ssm.get_patch_baseline_for_patch_group(PatchGroup=group, OperatingSystem="UBUNTU")["BaselineId"] == default
    ssm.delete_patch_baseline(BaselineId=a)


def test_maintenance_window_lifecycle(client: ClientFactory) -> None:
    """Create (with tags, cron + time zone), Get (Enabled, NextExecutionTime), Update in place,
    Describe with Name/Enabled filters, targets and tasks registered, updated and removed, delete."""
    ssm = client("ssm", account=STAGING)
    name = f"mw-{uuid.uuid4().hex[:8]}"
    wid = ssm.create_maintenance_window(
        Name=name,
        Schedule="cron(0 3 ? * SUN *)",
        ScheduleTimezone="America/Los_Angeles",
        Duration=3,
        Cutoff=1,
        AllowUnassociatedTargets=False,
        Tags=TAGS,
    )["WindowId"]
    got = ssm.get_maintenance_window(WindowId=wid)
    assert got["Enabled"] is True and got["NextExecutionTime"].endswith("-08:00")
    tags = ssm.list_tags_for_resource(ResourceType="MaintenanceWindow", ResourceId=wid)["TagList"]
    assert len(tags) == 2
    ssm.update_maintenance_window(WindowId=wid, Enabled=False, Duration=4)
    got = ssm.get_maintenance_window(WindowId=wid)
    assert (got["Enabled"], got["Duration"], got["Cutoff"], got["Name"]) == (False, 4, 1, name)
    found = ssm.describe_maintenance_windows(
        Filters=[{"Key": "Name", "Values": [name]}, {"Key": "Enabled", "Values": ["false"]}]
    )
    assert [w["WindowId"] for w in found["WindowIdentities"]] == [wid]

    tid = ssm.register_target_with_maintenance_window(
        WindowId=wid, ResourceType="INSTANCE", Targets=[{"Key": "tag:Role", "Values": ["web"]}]
    )["WindowTargetId"]
    ssm.update_maintenance_window_target(
        WindowId=wid, WindowTargetId=tid, Targets=[{"Key": "tag:Role", "Values": ["api"]}]
    )
    targets = ssm.describe_maintenance_window_targets(WindowId=wid)["Targets"]
    assert targets[0]["Targets"] == [{"Key": "tag:Role", "Values": ["api"]}]

    task = ssm.register_task_with_maintenance_window(
        WindowId=wid,
        TaskArn="AWS-RunPatchBaseline",
        TaskType="RUN_COMMAND",
        Targets=[{"Key": "WindowTargetIds", "Values": [tid]}],
        MaxConcurrency="10%",
        MaxErrors="1",
        TaskInvocationParameters={"RunCommand": {"Parameters": {"Operation": ["Scan"]}}},
    )["WindowTaskId"]
    ssm.update_maintenance_window_task(WindowId=wid, WindowTaskId=task, MaxConcurrency="2")
    got_task = ssm.get_maintenance_window_task(WindowId=wid, WindowTaskId=task)
    assert got_task["MaxConcurrency"] == "2" and got_task["MaxErrors"] == "1"
    listed = ssm.describe_maintenance_window_tasks(WindowId=wid)["Tasks"]
    assert listed[0]["Type"] == "RUN_COMMAND" and listed[0]["TaskArn"] == "AWS-RunPatchBaseline"

    with pytest.raises(ClientError) as e:
        ssm.deregister_target_from_maintenance_window(WindowId=wid, WindowTargetId=tid, Safe=True)
    assert _code(e) == "TargetInUseException"
    ssm.deregister_task_from_maintenance_window(WindowId=wid, WindowTaskId=task)
    ssm.deregister_target_from_maintenance_window(WindowId=wid, WindowTargetId=tid, Safe=True)
    ssm.delete_maintenance_window(WindowId=wid)
    with pytest.raises(ClientError) as e:
        ssm.get_maintenance_window(WindowId=wid)
    assert _code(e) == "DoesNotExistException"


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"Duration": 3, "Cutoff": 3}, "cutoff"),
        ({"Duration": 25, "Cutoff": 1}, "duration"),
        ({"Duration": 3, "Cutoff": 1, "Schedule": "cron(0 3 * * SUN *)"}, "schedule"),
        ({"Duration": 3, "Cutoff": 1, "ScheduleTimezone": "Mars/Olympus"}, "ScheduleTimezone"),
    ],
)
def test_window_validation(client: ClientFactory, kwargs: dict[str, object], needle: str) -> None:
    """Duration 1-24, Cutoff < Duration, a valid schedule expression and IANA zone, or ValidationException."""
    args: dict[str, object] = {
        "Name": "bad-window",
        "Schedule": "rate(1 day)",
        "AllowUnassociatedTargets": False,
        **kwargs,
    }
    with pytest.raises(ClientError) as e:
        client("ssm", account=STAGING).create_maintenance_window(**args)
    assert _code(e) == "ValidationException"
    assert needle.lower() in e.value.response["Error"]["Message"].lower()
