"""Exactly-once sending: every part once per account x region, ids recorded one by one, lost ones found."""

from __future__ import annotations

from typing import Any

import pytest

from sreops.operator.accounts import Placement
from sreops.operator.api import PatchPolicySpec
from sreops.operator.api.patchrun import CommandRef
from sreops.operator.aws import ssm_commands
from sreops.operator.aws.clients import OWN_CREDENTIALS, ClientFactory
from sreops.operator.aws.ssm_commands import CommandInfo
from sreops.operator.runs.commands import ScheduledExecution, send_once

UID = "3c0d8d68-648a-4b68-887b-eb0e72d25330"
CELLS = [
    Placement(OWN_CREDENTIALS, "111122223333", "us-west-2"),
    Placement(OWN_CREDENTIALS, "111122223333", "us-east-1"),
]


def _policy(ids: int = 0) -> PatchPolicySpec:
    return PatchPolicySpec.model_validate(
        {
            "targets": {"tags": {"Role": "db"}, "instanceIds": [f"i-{n:017x}" for n in range(ids)]},
            "operatingSystem": "AMAZON_LINUX_2023",
            "schedule": {"cron": "0 3 * * 0"},
            "rollout": {"maxConcurrency": "5", "maxErrors": "0"},
        }
    )


class FakeSsm:
    """SendCommand and ListCommands of one fake account, per region."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.lookups: list[str] = []
        self.existing: dict[str, list[CommandInfo]] = {}
        monkeypatch.setattr(ssm_commands, "send_command", self.send_command)
        monkeypatch.setattr(ssm_commands, "find_commands", self.find_commands)
        monkeypatch.setattr(ssm_commands, "get_command", self.get_command)

    def send_command(self, factory: Any, access: Any, region: str, **kw: Any) -> CommandInfo:
        self.sent.append((region, kw))
        info = CommandInfo(f"cmd-{len(self.sent)}", kw["comment"], "Pending", "", 0, None)
        self.existing.setdefault(region, []).append(info)
        return info

    def find_commands(self, factory: Any, access: Any, region: str, **kw: Any) -> list[CommandInfo]:
        self.lookups.append(region)
        return [c for c in self.existing.get(region, []) if kw["comment_contains"] in c.comment]

    def get_command(self, factory: Any, access: Any, region: str, command_id: str) -> CommandInfo | None:
        return next((c for c in self.existing.get(region, []) if c.command_id == command_id), None)


def test_each_part_is_sent_once_per_cell_and_recorded_before_the_next(monkeypatch: pytest.MonkeyPatch) -> None:
    ssm = FakeSsm(monkeypatch)
    recorded: list[list[str]] = []

    def record(refs: list[CommandRef]) -> None:
        assert len(ssm.sent) == len(refs)  # nothing was sent that is not recorded
        recorded.append([r.command_id for r in refs])

    refs = send_once(ClientFactory("us-west-2"), UID, _policy(ids=60), "Install", CELLS, [], False, record)
    assert [r.region for r in refs] == ["us-west-2", "us-west-2", "us-east-1", "us-east-1"]
    assert recorded == [
        ["cmd-1"],
        ["cmd-1", "cmd-2"],
        ["cmd-1", "cmd-2", "cmd-3"],
        ["cmd-1", "cmd-2", "cmd-3", "cmd-4"],
    ]
    assert ssm.lookups == []  # a run that never sent needs no look-up
    assert ssm.sent[0][0] == "us-west-2"
    first = ssm.sent[0][1]
    assert first["document"] == "AWS-RunPatchBaseline"
    assert first["parameters"] == {"Operation": ["Install"], "RebootOption": ["RebootIfNeeded"]}
    assert (first["max_concurrency"], first["max_errors"]) == ("5", "0")
    assert first["comment"] == f"sreops run {UID} part 1/2"

    # Everything recorded: a second pass sends nothing.
    again = send_once(ClientFactory("us-west-2"), UID, _policy(ids=60), "Install", CELLS, refs, True, record)
    assert again == refs
    assert len(ssm.sent) == 4


def test_a_command_sent_but_not_recorded_is_found_by_its_comment(monkeypatch: pytest.MonkeyPatch) -> None:
    ssm = FakeSsm(monkeypatch)
    lost = CommandInfo("lost-1", f"sreops run {UID} part 1/1", "Success", "", 2, None)
    other_run = CommandInfo("other", "sreops run another-uid part 1/1", "Success", "", 2, None)
    ssm.existing["us-west-2"] = [other_run, lost]
    refs = send_once(ClientFactory("us-west-2"), UID, _policy(), "Scan", CELLS, [], True, lambda refs: None)
    assert [(r.region, r.command_id) for r in refs] == [("us-west-2", "lost-1"), ("us-east-1", "cmd-1")]
    assert [region for region, _ in ssm.sent] == ["us-east-1"]


def test_scheduled_execution_annotation_round_trip() -> None:
    where = ScheduledExecution("111122223333", "us-west-2", "mw-0123456789abcdef0", "e-1")
    run = {"metadata": {"annotations": {"sreops.io/window-execution": where.annotation()}}}
    assert ScheduledExecution.of(run) == where
    assert ScheduledExecution.of({"metadata": {}}) is None
    assert ScheduledExecution.of({"metadata": {"annotations": {"sreops.io/window-execution": "a/b"}}}) is None
