"""SSM Run Command and maintenance-window executions: what a PatchRun sends and what it tracks.

Typed wrappers over boto3, each declaring the IAM action it calls, every listing paginated. Errors are
botocore's own; callers classify them with `sreops.operator.aws.errors`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sreops.operator.aws.clients import Access, ClientFactory
from sreops.operator.aws.errors import error_code
from sreops.operator.aws.permissions import requires

# An invocation's plugin output is kept short: it only feeds a one-line failure detail.
OUTPUT_TAIL_CHARS = 500


@dataclass(frozen=True)
class CommandInfo:
    command_id: str
    comment: str
    status: str  # Pending | InProgress | Success | Failed | TimedOut | Cancelled | Cancelling | Delayed
    status_details: str
    target_count: int
    requested_at: datetime | None


@dataclass(frozen=True)
class InvocationInfo:
    instance_id: str
    status: str
    status_details: str
    output: str  # the tail of the plugin output (stdout then stderr), empty until the invocation ends


@dataclass(frozen=True)
class WindowExecutionInfo:
    window_id: str
    execution_id: str
    status: str  # PENDING | IN_PROGRESS | SUCCESS | FAILED | TIMED_OUT | CANCELLING | CANCELLED | SKIPPED_OVERLAPPING
    status_details: str
    start_time: datetime | None


def _ssm(factory: ClientFactory, access: Access, region: str) -> Any:
    return factory.client("ssm", region, access)


def _pages(client: Any, operation: str, key: str, max_pages: int | None = None, **params: Any) -> Iterator[Any]:
    """Items under `key` from every page (or the first `max_pages`) of a paginated operation."""
    for n, page in enumerate(client.get_paginator(operation).paginate(**params)):
        if max_pages is not None and n >= max_pages:
            return
        yield from page.get(key) or []


def _command(raw: Mapping[str, Any]) -> CommandInfo:
    requested = raw.get("RequestedDateTime")
    return CommandInfo(
        command_id=str(raw["CommandId"]),
        comment=str(raw.get("Comment") or ""),
        status=str(raw.get("Status") or "Pending"),
        status_details=str(raw.get("StatusDetails") or ""),
        target_count=int(raw.get("TargetCount") or 0),
        requested_at=requested if isinstance(requested, datetime) else None,
    )


@requires("ssm:SendCommand")
def send_command(
    factory: ClientFactory,
    access: Access,
    region: str,
    *,
    document: str,
    parameters: Mapping[str, list[str]],
    targets: list[dict[str, Any]],
    max_concurrency: str,
    max_errors: str,
    comment: str,
) -> CommandInfo:
    """One SendCommand. SendCommand has no idempotency token: callers must record the id at once and
    look a lost one up by its comment (`find_commands`) before sending again."""
    answer = _ssm(factory, access, region).send_command(
        DocumentName=document,
        Parameters=dict(parameters),
        Targets=targets,
        MaxConcurrency=max_concurrency,
        MaxErrors=max_errors,
        Comment=comment,
    )
    return _command(answer["Command"])


@requires("ssm:ListCommands")
def find_commands(
    factory: ClientFactory, access: Access, region: str, *, document: str, comment_contains: str, max_pages: int
) -> list[CommandInfo]:
    """Commands of `document` whose comment contains the marker, newest first, among the newest
    `max_pages` pages (50 commands a page): a bounded look-up for crash recovery, not a scan of history."""
    found = []
    for raw in _pages(
        _ssm(factory, access, region),
        "list_commands",
        "Commands",
        max_pages=max_pages,
        Filters=[{"key": "DocumentName", "value": document}],
    ):
        if comment_contains in str(raw.get("Comment") or ""):
            found.append(_command(raw))
    return found


@requires("ssm:ListCommands")
def get_command(factory: ClientFactory, access: Access, region: str, command_id: str) -> CommandInfo | None:
    """The command's overall status, or None when SSM no longer knows it (commands expire after 30 days)."""
    try:
        answer = _ssm(factory, access, region).list_commands(CommandId=command_id)
    except Exception as exc:
        if error_code(exc) == "InvalidCommandId":
            return None
        raise
    commands = answer.get("Commands") or []
    return _command(commands[0]) if commands else None


def _output_tail(raw: Mapping[str, Any]) -> str:
    outputs = [str(p.get("Output") or "") for p in raw.get("CommandPlugins") or []]
    text = "\n".join(o for o in outputs if o).strip()
    return text[-OUTPUT_TAIL_CHARS:]


@requires("ssm:ListCommandInvocations")
def list_command_invocations(
    factory: ClientFactory, access: Access, region: str, command_id: str
) -> list[InvocationInfo]:
    """Every instance's invocation of one command, with the plugin output (Details=True)."""
    return [
        InvocationInfo(
            instance_id=str(raw["InstanceId"]),
            status=str(raw.get("Status") or "Pending"),
            status_details=str(raw.get("StatusDetails") or ""),
            output=_output_tail(raw),
        )
        for raw in _pages(
            _ssm(factory, access, region),
            "list_command_invocations",
            "CommandInvocations",
            CommandId=command_id,
            Details=True,
        )
    ]


def _execution(raw: Mapping[str, Any], window_id: str) -> WindowExecutionInfo:
    start = raw.get("StartTime")
    return WindowExecutionInfo(
        window_id=str(raw.get("WindowId") or window_id),
        execution_id=str(raw["WindowExecutionId"]),
        status=str(raw.get("Status") or "PENDING"),
        status_details=str(raw.get("StatusDetails") or ""),
        start_time=start if isinstance(start, datetime) else None,
    )


@requires("ssm:DescribeMaintenanceWindowExecutions")
def describe_maintenance_window_executions(
    factory: ClientFactory,
    access: Access,
    region: str,
    window_id: str,
    *,
    started_after: datetime | None = None,
    max_pages: int = 5,
) -> list[WindowExecutionInfo]:
    """The window's executions (those starting at or after `started_after` if given), newest first."""
    params: dict[str, Any] = {"WindowId": window_id}
    if started_after is not None:
        # AWS takes "2021-11-04T05:00:00Z"; whole seconds, so the execution at the mark itself comes back too.
        when = started_after.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        params["Filters"] = [{"Key": "ExecutionStartsAfter", "Values": [when]}]
    executions = [
        _execution(raw, window_id)
        for raw in _pages(
            _ssm(factory, access, region),
            "describe_maintenance_window_executions",
            "WindowExecutions",
            max_pages,
            **params,
        )
    ]
    return sorted(executions, key=lambda e: e.start_time.timestamp() if e.start_time else 0.0, reverse=True)


@requires("ssm:GetMaintenanceWindowExecution")
def get_maintenance_window_execution(
    factory: ClientFactory, access: Access, region: str, window_id: str, execution_id: str
) -> tuple[WindowExecutionInfo, list[str]]:
    """One execution's status and the ids of its task executions."""
    raw = _ssm(factory, access, region).get_maintenance_window_execution(WindowExecutionId=execution_id)
    return _execution(raw, window_id), [str(t) for t in raw.get("TaskIds") or []]


@requires("ssm:DescribeMaintenanceWindowExecutionTaskInvocations")
def describe_maintenance_window_execution_task_invocations(
    factory: ClientFactory, access: Access, region: str, execution_id: str, task_id: str
) -> list[str]:
    """The Run Command ids a window task execution started (its invocations' ExecutionId)."""
    return [
        str(raw["ExecutionId"])
        for raw in _pages(
            _ssm(factory, access, region),
            "describe_maintenance_window_execution_task_invocations",
            "WindowExecutionTaskInvocationIdentities",
            WindowExecutionId=execution_id,
            TaskId=task_id,
        )
        if raw.get("ExecutionId") and raw.get("TaskType", "RUN_COMMAND") == "RUN_COMMAND"
    ]
