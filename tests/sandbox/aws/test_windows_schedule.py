"""Maintenance windows fire on their schedule (simulated clock): executions, tasks and task
invocations appear and finish like AWS's, and a disabled window does not run."""

from __future__ import annotations

import uuid
from typing import Any

from sreops.sandbox.aws.server import AwsSandbox

from .conftest import LAB, ClientFactory


def _window(ssm: Any, schedule: str, role: str) -> str:
    wid: str = ssm.create_maintenance_window(
        Name=f"w-{uuid.uuid4().hex[:6]}", Schedule=schedule, Duration=2, Cutoff=1, AllowUnassociatedTargets=False
    )["WindowId"]
    tid = ssm.register_target_with_maintenance_window(
        WindowId=wid, ResourceType="INSTANCE", Targets=[{"Key": "tag:Role", "Values": [role]}]
    )["WindowTargetId"]
    ssm.register_task_with_maintenance_window(
        WindowId=wid,
        TaskArn="AWS-RunPatchBaseline",
        TaskType="RUN_COMMAND",
        MaxConcurrency="2",
        MaxErrors="0",
        Targets=[{"Key": "WindowTargetIds", "Values": [tid]}],
        TaskInvocationParameters={"RunCommand": {"Parameters": {"Operation": ["Scan"]}}},
    )
    return wid


def test_window_fires_and_runs_its_task(client: ClientFactory, sandbox: AwsSandbox) -> None:
    """When `rate(30 minutes)` comes due an execution starts (IN_PROGRESS), its RUN_COMMAND task sends
    AWS-RunPatchBaseline to the window target (the invocation's ExecutionId is the command id), and the
    execution ends SUCCESS when the command does."""
    ssm = client("ssm", account=LAB)
    wid = _window(ssm, "rate(30 minutes)", "web")
    assert ssm.describe_maintenance_window_executions(WindowId=wid)["WindowExecutions"] == []
    sandbox.advance(30 * 60 + 1)
    (ex,) = ssm.describe_maintenance_window_executions(WindowId=wid)["WindowExecutions"]
    assert ex["Status"] == "IN_PROGRESS"
    (task,) = ssm.describe_maintenance_window_execution_tasks(WindowExecutionId=ex["WindowExecutionId"])[
        "WindowExecutionTaskIdentities"
    ]
    assert task["TaskArn"] == "AWS-RunPatchBaseline"
    (inv,) = ssm.describe_maintenance_window_execution_task_invocations(
        WindowExecutionId=ex["WindowExecutionId"], TaskId=task["TaskExecutionId"]
    )["WindowExecutionTaskInvocationIdentities"]
    cmd = ssm.list_commands(CommandId=inv["ExecutionId"])["Commands"][0]
    assert cmd["DocumentName"] == "AWS-RunPatchBaseline" and cmd["TargetCount"] == 6
    sandbox.advance(60)
    (ex,) = ssm.describe_maintenance_window_executions(WindowId=wid)["WindowExecutions"]
    assert ex["Status"] == "SUCCESS" and ex["EndTime"] > ex["StartTime"]
    got = ssm.get_maintenance_window_execution(WindowExecutionId=ex["WindowExecutionId"])
    assert got["Status"] == "SUCCESS" and got["TaskIds"] == [task["TaskExecutionId"]]
    sandbox.advance(30 * 60)
    assert len(ssm.describe_maintenance_window_executions(WindowId=wid)["WindowExecutions"]) == 2
    ssm.delete_maintenance_window(WindowId=wid)


def test_disabled_window_does_not_fire(client: ClientFactory, sandbox: AwsSandbox) -> None:
    """Enabled=False (the operator's `suspend`) stops new executions; re-enabling does not replay."""
    ssm = client("ssm", account=LAB)
    wid = _window(ssm, "rate(1 hour)", "db")
    ssm.update_maintenance_window(WindowId=wid, Enabled=False)
    sandbox.advance(3 * 3600)
    assert ssm.describe_maintenance_window_executions(WindowId=wid)["WindowExecutions"] == []
    ssm.update_maintenance_window(WindowId=wid, Enabled=True)
    sandbox.advance(60)
    assert ssm.describe_maintenance_window_executions(WindowId=wid)["WindowExecutions"] == []
    ssm.delete_maintenance_window(WindowId=wid)


def test_cron_window_in_a_time_zone(client: ClientFactory, sandbox: AwsSandbox) -> None:
    """cron(...) with ScheduleTimezone fires at that local time; NextExecutionTime says when."""
    ssm = client("ssm", account=LAB)
    wid = _window(ssm, "cron(0 3 ? * * *)", "db")
    ssm.update_maintenance_window(WindowId=wid, ScheduleTimezone="America/Los_Angeles")
    nxt = ssm.get_maintenance_window(WindowId=wid)["NextExecutionTime"]
    assert nxt.endswith("T03:00-08:00")
    sandbox.advance(24 * 3600)
    (ex,) = ssm.describe_maintenance_window_executions(WindowId=wid)["WindowExecutions"]
    assert ex["StartTime"].astimezone().utctimetuple().tm_hour == 11  # 03:00 PST
    ssm.delete_maintenance_window(WindowId=wid)
