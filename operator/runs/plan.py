"""What a PatchRun sends, and what its name is: pure functions, no I/O.

- Run names are deterministic, so creating the same run twice (a repeated `run-now` value, two handlers
  racing, an operator restart) is a 409 AlreadyExists instead of a second run.
- A run sends one `AWS-RunPatchBaseline` command per account x region, or with instance ids one per chunk of
  at most 50 (SSM's limit per target), each with a comment naming the run's uid and the part, so a command
  whose id was lost (crash between SendCommand and the status write) can be found again before anything is
  sent twice.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from sreops.operator.api.common import Targets
from sreops.operator.api.patchrun import Trigger

DOCUMENT = "AWS-RunPatchBaseline"
MAX_IDS_PER_COMMAND = 50
MAX_NAME_LENGTH = 253
RUN_NOW_ANNOTATION = "sreops.io/run-now"
RUN_NOW_BY_ANNOTATION = "sreops.io/run-now-by"
# run-now-by values meaning a chat user asked (the bots gateway writes e.g. "chat:slack:U123").
CHAT_REQUESTERS = ("chat", "slack", "teams")
COMMENT_PREFIX = "sreops run"
_PART = re.compile(r" part (\d+)/(\d+)$")


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:10]


def _name(policy_name: str, kind: str, digest: str) -> str:
    suffix = f"-{kind}-{digest}"
    base = policy_name[: MAX_NAME_LENGTH - len(suffix)].rstrip("-.")
    return base + suffix


def run_now_name(policy_name: str, policy_uid: str, value: str) -> str:
    """The one PatchRun a `run-now` value starts. The policy's uid is in the hash so a policy deleted and
    created again under the same name (its old runs may not be garbage-collected yet) starts afresh."""
    return _name(policy_name, "now", _digest(policy_uid, value))


def schedule_run_name(policy_name: str, execution_id: str) -> str:
    """The one PatchRun that shows a maintenance-window execution."""
    return _name(policy_name, "sched", _digest(execution_id))


def trigger_for(requested_by: str | None) -> Trigger:
    who = (requested_by or "").strip().lower()
    return "Chat" if who.split(":", 1)[0] in CHAT_REQUESTERS else "Manual"


@dataclass(frozen=True)
class CommandPart:
    """One SendCommand of a run in one account x region: `number` of `count`, with its targets."""

    number: int
    count: int
    targets: tuple[tuple[str, tuple[str, ...]], ...]

    def wire_targets(self) -> list[dict[str, Any]]:
        return [{"Key": key, "Values": list(values)} for key, values in self.targets]

    def comment(self, run_uid: str) -> str:
        # SSM comments hold 100 characters; this is at most 58.
        return f"{COMMENT_PREFIX} {run_uid} part {self.number}/{self.count}"


def command_parts(targets: Targets) -> list[CommandPart]:
    """One command for a fleet chosen by tags; with instance ids, one per chunk of 50, each keeping the tags.
    Every key must match, as in SSM targets (and as in the policy's maintenance-window target)."""
    tags = tuple((f"tag:{key}", (value,)) for key, value in sorted(targets.tags.items()))
    ids = targets.instance_ids
    chunks = [tuple(ids[start : start + MAX_IDS_PER_COMMAND]) for start in range(0, len(ids), MAX_IDS_PER_COMMAND)]
    groups = [(*tags, ("InstanceIds", chunk)) for chunk in chunks] if chunks else [tags]
    return [CommandPart(n + 1, len(groups), group) for n, group in enumerate(groups)]


def part_number(comment: str, run_uid: str) -> int | None:
    """Which part of the run a command is, from its comment; None if it is not this run's."""
    if not comment.startswith(f"{COMMENT_PREFIX} {run_uid} "):
        return None
    match = _PART.search(comment)
    return int(match.group(1)) if match else None


def command_parameters(operation: str, reboot_option: str) -> dict[str, list[str]]:
    return {"Operation": [operation], "RebootOption": [reboot_option]}
