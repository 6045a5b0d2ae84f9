"""A PatchRun's commands in AWS: sent exactly once, or adopted from a maintenance-window execution, and
their progress read back.

Exactly once, in this order:
1. `status.startedAt` is written before the first SendCommand: it marks that commands may exist.
2. After every SendCommand its id is written to `status.commandIds` before the next one is sent.
3. A run that was started but misses command ids for an account x region (the operator stopped between
   a SendCommand and its status write) first looks its commands up by the run's uid in their comment
   (ListCommands, newest first) and sends only the parts it does not find.
Handlers of one run never interleave these steps: they hold the run's lock and re-read the run first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sreops.operator.accounts import Placement
from sreops.operator.api import PatchPolicySpec
from sreops.operator.api.patchrun import CommandRef
from sreops.operator.aws import ssm_commands
from sreops.operator.aws.clients import Access, ClientFactory
from sreops.operator.runs.plan import (
    COMMENT_PREFIX,
    DOCUMENT,
    command_parameters,
    command_parts,
    part_number,
)
from sreops.operator.runs.progress import CommandProgress, Invocation

# Crash recovery looks through the newest 10 pages (500 commands) of AWS-RunPatchBaseline per region.
LOOKUP_PAGES = 10
WINDOW_EXECUTION_ANNOTATION = "sreops.io/window-execution"

RecordCommands = Callable[[list[CommandRef]], None]


class KeyedLocks:
    """One lock per run uid, so a timer and a change handler of the same run never send concurrently."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            yield

    def forget(self, key: str) -> None:
        """Drops a finished run's lock; a later holder gets a new one, which is safe once nothing is sent."""
        with self._guard:
            self._locks.pop(key, None)


@dataclass(frozen=True)
class ScheduledExecution:
    """The maintenance-window execution a Schedule run shows (kept in an annotation of the run)."""

    account: str
    region: str
    window_id: str
    execution_id: str

    def annotation(self) -> str:
        return f"{self.account}/{self.region}/{self.window_id}/{self.execution_id}"

    @classmethod
    def of(cls, run: Mapping[str, Any]) -> ScheduledExecution | None:
        value = ((run.get("metadata") or {}).get("annotations") or {}).get(WINDOW_EXECUTION_ANNOTATION)
        parts = str(value or "").split("/")
        return cls(*parts) if len(parts) == 4 and all(parts) else None


def recorded_commands(status: Mapping[str, Any] | None) -> list[CommandRef]:
    return [CommandRef.model_validate(c) for c in (status or {}).get("commandIds") or []]


def send_once(
    factory: ClientFactory,
    run_uid: str,
    policy: PatchPolicySpec,
    operation: str,
    cells: list[Placement],
    recorded: list[CommandRef],
    may_have_sent: bool,
    record: RecordCommands,
) -> list[CommandRef]:
    """Every part of the run sent once per account x region; returns all command refs, recorded ones first.

    `may_have_sent`: an earlier attempt got as far as sending (status.startedAt was set), so commands
    missing from `recorded` are looked up before any is sent.
    """
    refs = list(recorded)
    parts = command_parts(policy.targets)
    parameters = command_parameters(operation, policy.reboot_option)
    for cell in cells:
        mine = [r for r in refs if (r.account, r.region) == (cell.account_id, cell.region)]
        if len(mine) >= len(parts):
            continue
        found = _parts_in_aws(factory, cell, run_uid, mine) if may_have_sent else {}
        known_ids = {r.command_id for r in mine}
        for part in parts:
            command_id = found.get(part.number)
            if command_id is None:
                command_id = ssm_commands.send_command(
                    factory,
                    cell.access,
                    cell.region,
                    document=DOCUMENT,
                    parameters=parameters,
                    targets=part.wire_targets(),
                    max_concurrency=policy.rollout.max_concurrency,
                    max_errors=policy.rollout.max_errors,
                    comment=part.comment(run_uid),
                ).command_id
            if command_id not in known_ids:
                refs.append(CommandRef(account=cell.account_id, region=cell.region, command_id=command_id))
                known_ids.add(command_id)
                record(refs)  # before the next SendCommand
    return refs


def _parts_in_aws(factory: ClientFactory, cell: Placement, run_uid: str, recorded: list[CommandRef]) -> dict[int, str]:
    """Part number -> command id of this run's commands in one account x region, as far as AWS knows."""
    found: dict[int, str] = {}
    marker = f"{COMMENT_PREFIX} {run_uid} "
    for command in ssm_commands.find_commands(
        factory, cell.access, cell.region, document=DOCUMENT, comment_contains=marker, max_pages=LOOKUP_PAGES
    ):
        number = part_number(command.comment, run_uid)
        if number is not None:
            found.setdefault(number, command.command_id)
    # A recorded command older than the look-up reaches is still this run's: ask for it by id.
    for ref in recorded:
        if ref.command_id not in found.values():
            by_id = ssm_commands.get_command(factory, cell.access, cell.region, ref.command_id)
            number = part_number(by_id.comment, run_uid) if by_id else None
            if number is not None:
                found[number] = ref.command_id
    return found


def execution_commands(
    factory: ClientFactory, access: Access, execution: ScheduledExecution, recorded: list[CommandRef]
) -> tuple[list[CommandRef], str]:
    """The commands a window execution's tasks started (recorded ones first) and the execution's status."""
    info, task_ids = ssm_commands.get_maintenance_window_execution(
        factory, access, execution.region, execution.window_id, execution.execution_id
    )
    refs = list(recorded)
    known = {r.command_id for r in refs}
    for task_id in task_ids:
        for command_id in ssm_commands.describe_maintenance_window_execution_task_invocations(
            factory, access, execution.region, execution.execution_id, task_id
        ):
            if command_id not in known:
                refs.append(CommandRef(account=execution.account, region=execution.region, command_id=command_id))
                known.add(command_id)
    status = info.status
    if info.status_details.startswith("SKIPPED"):
        status = "SKIPPED_OVERLAPPING"
    return refs, status


def command_progress(factory: ClientFactory, access: Access | None, ref: CommandRef) -> CommandProgress:
    """One command's status and invocations. Unknown while the account cannot be reached or SSM does not
    know the command yet (it is eventually consistent right after SendCommand)."""
    if access is None:
        return CommandProgress(ref.account, ref.region, ref.command_id, status="", target_count=0)
    command = ssm_commands.get_command(factory, access, ref.region, ref.command_id)
    if command is None:
        return CommandProgress(ref.account, ref.region, ref.command_id, status="", target_count=0)
    invocations = ssm_commands.list_command_invocations(factory, access, ref.region, ref.command_id)
    return CommandProgress(
        account=ref.account,
        region=ref.region,
        command_id=ref.command_id,
        status=command.status,
        target_count=command.target_count,
        invocations=tuple(Invocation(i.instance_id, i.status, i.status_details, i.output) for i in invocations),
    )
