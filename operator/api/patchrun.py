"""PatchRun: one AWS-RunPatchBaseline execution of a PatchPolicy."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from sreops.operator.api.common import Model, ObjectRef
from sreops.operator.api.patchpolicy import Operation
from sreops.operator.api.status import BaseStatus

Trigger = Literal["Manual", "Schedule", "Chat"]
MAX_FAILED_INSTANCES = 20


class PatchRunSpec(Model):
    policy_ref: ObjectRef
    operation: Operation | None = None
    trigger: Trigger = "Manual"


class CommandRef(Model):
    account: str
    region: str
    command_id: str


class InstanceCounts(Model):
    total: int = 0
    succeeded: int = 0
    failed: int = 0
    in_progress: int = 0
    timed_out: int = 0


class FailedInstance(Model):
    instance_id: str
    account: str
    region: str
    status: str
    detail: str = ""


class PatchRunStatus(BaseStatus):
    command_ids: list[CommandRef] = Field(default_factory=list)
    instances: InstanceCounts | None = None
    failed_instances: Annotated[list[FailedInstance], Field(max_length=MAX_FAILED_INSTANCES)] = Field(
        default_factory=list
    )
    started_at: str | None = None
    finished_at: str | None = None
