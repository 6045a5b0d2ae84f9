"""How far a PatchRun is, from its commands' invocations: pure functions, no I/O.

SSM reports per instance an invocation Status (Pending, InProgress, Delayed, Success, Failed, TimedOut,
Cancelled, Cancelling) and StatusDetails (e.g. Undeliverable, DeliveryTimedOut, ExecutionTimedOut). They are
folded into the run's counts; a run is over when every command has a terminal status (and, for a scheduled
run, its window execution too).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from sreops.operator.api.patchrun import MAX_FAILED_INSTANCES, FailedInstance, InstanceCounts

Outcome = Literal["succeeded", "failed", "timed_out", "in_progress"]
TERMINAL_COMMAND_STATUSES = frozenset({"Success", "Failed", "TimedOut", "Cancelled"})
TERMINAL_EXECUTION_STATUSES = frozenset({"SUCCESS", "FAILED", "TIMED_OUT", "CANCELLED", "SKIPPED_OVERLAPPING"})
DETAIL_CHARS = 300


def outcome(status: str, details: str) -> Outcome:
    if status == "Success":
        return "succeeded"
    if status == "TimedOut" or details in ("DeliveryTimedOut", "ExecutionTimedOut"):
        return "timed_out"
    if status in ("Failed", "Cancelled"):  # Failed includes Undeliverable; Cancelled: stopped by MaxErrors
        return "failed"
    return "in_progress"


@dataclass(frozen=True)
class Invocation:
    instance_id: str
    status: str
    details: str
    output: str = ""


@dataclass(frozen=True)
class CommandProgress:
    account: str
    region: str
    command_id: str
    status: str  # the command's own status; "" when SSM does not know it (yet)
    target_count: int
    invocations: tuple[Invocation, ...] = ()

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_COMMAND_STATUSES


@dataclass(frozen=True)
class RunProgress:
    counts: InstanceCounts
    failed_instances: list[FailedInstance] = field(default_factory=list)
    finished: bool = False
    succeeded: bool = False

    def summary(self) -> str:
        c = self.counts
        return (
            f"{c.succeeded} succeeded, {c.failed} failed, {c.timed_out} timed out, "
            f"{c.in_progress} in progress of {c.total} instances"
        )


def failure_detail(invocation: Invocation) -> str:
    """StatusDetails, plus the last line of the plugin's output when it says more."""
    detail = invocation.details or invocation.status
    last_line = next((line.strip() for line in reversed(invocation.output.splitlines()) if line.strip()), "")
    if last_line and last_line != detail:
        detail = f"{detail}: {last_line}"
    return detail[:DETAIL_CHARS]


def summarize(commands: Iterable[CommandProgress], execution_status: str | None = None) -> RunProgress:
    """Counts over every command; `execution_status` is the window execution's (scheduled runs only)."""
    commands = list(commands)
    succeeded = failed = timed_out = in_progress = 0
    failures: list[FailedInstance] = []
    for command in commands:
        for inv in command.invocations:
            result = outcome(inv.status, inv.details)
            if result == "succeeded":
                succeeded += 1
            elif result == "in_progress":
                in_progress += 1
            else:
                if result == "failed":
                    failed += 1
                else:
                    timed_out += 1
                failures.append(
                    FailedInstance(
                        instance_id=inv.instance_id,
                        account=command.account,
                        region=command.region,
                        status=inv.status,
                        detail=failure_detail(inv),
                    )
                )
        if not command.finished:  # targets SSM has resolved but not invoked yet are still to come
            in_progress += max(0, command.target_count - len(command.invocations))
    total = succeeded + failed + timed_out + in_progress
    execution_done = execution_status is None or execution_status in TERMINAL_EXECUTION_STATUSES
    finished = execution_done and all(c.finished for c in commands)
    ok = (
        finished
        and failed == timed_out == 0
        and all(c.status == "Success" for c in commands)
        and execution_status in (None, "SUCCESS")
    )
    failures.sort(key=lambda f: (f.account, f.region, f.instance_id))
    return RunProgress(
        counts=InstanceCounts(
            total=total, succeeded=succeeded, failed=failed, in_progress=in_progress, timed_out=timed_out
        ),
        failed_instances=failures[:MAX_FAILED_INSTANCES],
        finished=finished,
        succeeded=ok,
    )
