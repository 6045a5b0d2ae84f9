"""Desired SSM state of a PatchPolicy, its comparison with AWS's answers, and compliance counting."""

from __future__ import annotations

import copy
from typing import Any

from sreops.operator.api import PatchPolicySpec
from sreops.operator.patching.compliance import ComplianceCounts, compliant_condition, count_compliance
from sreops.operator.patching.desired import (
    MAX_NAME,
    Identity,
    baseline_changes,
    create_window_params,
    desired_state,
    target_changes,
    task_changes,
    window_changes,
)

IDENTITY = Identity("default", "web-fleet", "uid-1")


def _spec(**overrides: Any) -> PatchPolicySpec:
    raw: dict[str, Any] = {
        "targets": {"tags": {"Role": "web", "Env": "prod"}},
        "operatingSystem": "AMAZON_LINUX_2023",
        "baseline": {
            "approvalRules": [
                {"classifications": ["Security", "Bugfix"], "severities": ["Critical"], "complianceLevel": "HIGH"}
            ]
        },
        "schedule": {"cron": "0 3 * * 0", "timezone": "America/Los_Angeles"},
    }
    raw.update(overrides)
    return PatchPolicySpec.model_validate(raw)


def _as_aws_reports_it(params: dict[str, Any]) -> dict[str, Any]:
    """What a Get answer looks like: AWS's extra fields and defaults, lists in another order."""
    actual = copy.deepcopy(params)
    for rule in (actual.get("ApprovalRules") or {}).get("PatchRules") or []:
        rule["EnableNonSecurity"] = False
        for f in rule["PatchFilterGroup"]["PatchFilters"]:
            f["Values"].reverse()
        rule["PatchFilterGroup"]["PatchFilters"].reverse()
    actual.update(BaselineId="pb-1", CreatedDate=1.0, PatchGroups=["web"], GlobalFilters={"PatchFilters": []})
    return actual


def test_desired_state_follows_the_spec() -> None:
    desired = desired_state(_spec(), IDENTITY)
    assert desired.patch_group == "default-web-fleet"
    assert desired.baseline["Name"] == desired.window["Name"] == "sreops-default-web-fleet"
    (rule,) = desired.baseline["ApprovalRules"]["PatchRules"]
    assert rule["PatchFilterGroup"]["PatchFilters"] == [
        {"Key": "CLASSIFICATION", "Values": ["Security", "Bugfix"]},
        {"Key": "SEVERITY", "Values": ["Critical"]},
    ]
    assert (rule["ApproveAfterDays"], rule["ComplianceLevel"]) == (7, "HIGH")
    assert desired.window["Schedule"] == "cron(0 3 ? * SUN *)"
    assert desired.window["Enabled"] is True
    assert "Enabled" not in create_window_params(desired)
    assert desired.target["Targets"] == [{"Key": "tag:Env", "Values": ["prod"]}, {"Key": "tag:Role", "Values": ["web"]}]
    assert desired.task["TaskInvocationParameters"]["RunCommand"]["Parameters"] == {
        "Operation": ["Scan"],
        "RebootOption": ["RebootIfNeeded"],
    }


def test_windows_severities_use_msrc_and_absent_severities_mean_no_filter() -> None:
    windows = desired_state(_spec(operatingSystem="WINDOWS"), IDENTITY)
    keys = [f["Key"] for f in windows.baseline["ApprovalRules"]["PatchRules"][0]["PatchFilterGroup"]["PatchFilters"]]
    assert keys == ["CLASSIFICATION", "MSRC_SEVERITY"]
    every = desired_state(_spec(baseline={"approvalRules": [{"classifications": ["Security"]}]}), IDENTITY)
    filters = every.baseline["ApprovalRules"]["PatchRules"][0]["PatchFilterGroup"]["PatchFilters"]
    assert filters == [{"Key": "CLASSIFICATION", "Values": ["Security"]}]


def test_patch_group_and_suspend() -> None:
    desired = desired_state(_spec(patchGroup="web", suspend=True), IDENTITY)
    assert desired.patch_group == "web"
    assert desired.window["Enabled"] is False


def test_instance_ids_and_tags_both_restrict_the_target() -> None:
    desired = desired_state(_spec(targets={"tags": {"Role": "web"}, "instanceIds": ["i-0123456789abcdef0"]}), IDENTITY)
    assert desired.target["Targets"] == [
        {"Key": "tag:Role", "Values": ["web"]},
        {"Key": "InstanceIds", "Values": ["i-0123456789abcdef0"]},
    ]


def test_long_names_are_cut_to_what_ssm_accepts_and_stay_unique() -> None:
    a = Identity("team-" + "a" * 60, "p" * 200, "u")
    b = Identity("team-" + "a" * 60, "p" * 199 + "q", "u")
    assert len(a.resource_name) <= MAX_NAME
    assert a.resource_name != b.resource_name


def test_what_aws_reports_for_the_desired_state_is_no_change() -> None:
    desired = desired_state(_spec(), IDENTITY)
    assert baseline_changes(desired, _as_aws_reports_it(desired.baseline)) == []
    window = {**desired.window, "WindowId": "mw-1", "CreatedDate": 1.0, "NextExecutionTime": "x"}
    assert window_changes(desired, window) == []
    target = {**desired.target, "WindowId": "mw-1", "WindowTargetId": "t-1"}
    target["Targets"] = list(reversed(target["Targets"]))
    assert target_changes(desired, target) == []
    task = {**desired.task, "WindowTaskId": "k-1", "Targets": desired.task_targets("t-1"), "CutoffBehavior": "X"}
    assert task_changes(desired, task, "t-1") == []


def test_each_difference_is_named() -> None:
    desired = desired_state(_spec(), IDENTITY)
    baseline = _as_aws_reports_it(desired.baseline)
    baseline["ApprovedPatches"] = ["KB1"]
    baseline["ApprovalRules"]["PatchRules"][0]["ApproveAfterDays"] = 0
    assert baseline_changes(desired, baseline) == ["ApprovalRules", "ApprovedPatches"]
    assert window_changes(desired, {**desired.window, "Enabled": False, "Duration": 5}) == ["Duration", "Enabled"]
    assert target_changes(desired, {**desired.target, "Targets": [{"Key": "tag:Role", "Values": ["db"]}]}) == [
        "Targets"
    ]
    task = {**desired.task, "Targets": desired.task_targets("t-1"), "MaxErrors": "5"}
    task["TaskInvocationParameters"] = {"RunCommand": {"Parameters": {"Operation": ["Install"]}}}
    assert task_changes(desired, task, "t-2") == ["Targets", "MaxErrors", "Parameters"]


def test_compliance_counts_every_targeted_instance_once() -> None:
    states = [
        {"InstanceId": "i-1", "MissingCount": 0, "FailedCount": 0, "InstalledPendingRebootCount": 0},
        {"InstanceId": "i-2", "MissingCount": 3, "FailedCount": 1},
        {"InstanceId": "i-3", "MissingCount": 0, "FailedCount": 0, "InstalledPendingRebootCount": 2},
        {"InstanceId": "i-9", "MissingCount": 9},  # not targeted
    ]
    counts = count_compliance(["i-1", "i-2", "i-3", "i-4"], states)
    assert counts == ComplianceCounts(
        instances=4, compliant=1, non_compliant=2, unreported=1, missing_patches=3, failed_patches=1
    )
    assert counts.summary == "1/4"
    assert (counts + counts).instances == 8
    assert compliant_condition(counts)[:2] == ("False", "NonCompliant")


def test_compliant_condition() -> None:
    assert compliant_condition(ComplianceCounts())[:2] == ("Unknown", "NoInstances")
    assert compliant_condition(ComplianceCounts(instances=2, compliant=1, unreported=1))[:2] == (
        "Unknown",
        "Unreported",
    )
    assert compliant_condition(ComplianceCounts(instances=2, compliant=2))[:2] == ("True", "Compliant")
