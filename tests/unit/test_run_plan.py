"""What a PatchRun sends and how it is named: deterministic names, SendCommand parts and comments."""

from __future__ import annotations

import re

import pytest

from sreops.operator.api.common import NAME_PATTERN, Targets
from sreops.operator.runs.plan import (
    command_parameters,
    command_parts,
    part_number,
    run_now_name,
    schedule_run_name,
    trigger_for,
)

UID = "3c0d8d68-648a-4b68-887b-eb0e72d25330"


def test_run_now_names_are_deterministic_per_policy_object_and_value() -> None:
    name = run_now_name("web-fleet", UID, "2026-11-25T10:00")
    assert name == run_now_name("web-fleet", UID, "2026-11-25T10:00")
    assert re.fullmatch(r"web-fleet-now-[0-9a-f]{10}", name)
    assert name != run_now_name("web-fleet", UID, "2026-11-25T10:01")
    assert name != run_now_name("web-fleet", "another-uid", "2026-11-25T10:00")  # the policy was re-created
    assert schedule_run_name("web-fleet", "exec-1") != schedule_run_name("web-fleet", "exec-2")
    assert schedule_run_name("web-fleet", "exec-1").startswith("web-fleet-sched-")


def test_names_of_long_policies_stay_valid_object_names() -> None:
    policy = "a" * 250 + "-b"
    for name in (run_now_name(policy, UID, "x"), schedule_run_name("x." + "y" * 251, "e")):
        assert len(name) <= 253
        assert re.fullmatch(NAME_PATTERN, name)


@pytest.mark.parametrize(
    ("requested_by", "trigger"),
    [(None, "Manual"), ("", "Manual"), ("alice", "Manual"), ("chat", "Chat"), ("chat:slack:U123", "Chat"),
     ("Slack:U1", "Chat"), ("teams:29:abc", "Chat"), ("chatterbox", "Manual")],
)  # fmt: skip
def test_chat_requests_are_recognised(requested_by: str | None, trigger: str) -> None:
    assert trigger_for(requested_by) == trigger


def test_instance_ids_go_in_chunks_of_fifty_each_keeping_the_tags() -> None:
    ids = [f"i-{n:017x}" for n in range(120)]
    parts = command_parts(Targets(tags={"Role": "web", "Env": "prod"}, instance_ids=ids))
    assert [(p.number, p.count) for p in parts] == [(1, 3), (2, 3), (3, 3)]
    tags = [{"Key": "tag:Env", "Values": ["prod"]}, {"Key": "tag:Role", "Values": ["web"]}]
    assert all(p.wire_targets()[:2] == tags for p in parts)
    chunks = [p.wire_targets()[2] for p in parts]
    assert {c["Key"] for c in chunks} == {"InstanceIds"}
    assert [len(c["Values"]) for c in chunks] == [50, 50, 20]
    assert [i for c in chunks for i in c["Values"]] == ids


def test_a_fleet_by_tags_only_is_one_command() -> None:
    parts = command_parts(Targets(tags={"Role": "db"}))
    assert len(parts) == 1
    assert parts[0].wire_targets() == [{"Key": "tag:Role", "Values": ["db"]}]


def test_comments_name_the_run_and_the_part_and_are_read_back() -> None:
    part = command_parts(Targets(instance_ids=[f"i-{n:017x}" for n in range(60)]))[1]
    assert part.wire_targets()[0]["Values"] == [f"i-{n:017x}" for n in range(50, 60)]
    comment = part.comment(UID)
    assert len(comment) <= 100  # SSM's limit
    assert part_number(comment, UID) == 2
    assert part_number(comment, "another-uid") is None
    assert part_number("Maintenance Window Execution: mw-123", UID) is None


def test_parameters_of_aws_run_patch_baseline() -> None:
    assert command_parameters("Install", "NoReboot") == {"Operation": ["Install"], "RebootOption": ["NoReboot"]}
