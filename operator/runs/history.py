"""Which of a policy's PatchRuns to keep: pure functions over the objects, no I/O.

A policy keeps `historyLimit` runs. Runs still in progress are never pruned (they hold the only record of
commands SSM is executing); among finished runs the oldest go first, by when they finished.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def is_finished(status: Mapping[str, Any] | None) -> bool:
    return bool((status or {}).get("finishedAt"))


def is_started(status: Mapping[str, Any] | None) -> bool:
    return bool((status or {}).get("startedAt"))


def phase(status: Mapping[str, Any] | None) -> int:
    """How far a run has got: 0 not started, 1 sent (or adopted), 2 finished. It only ever moves forward."""
    return 2 if is_finished(status) else 1 if is_started(status) else 0


def runs_of_policy(runs: Iterable[Mapping[str, Any]], policy_name: str) -> list[Mapping[str, Any]]:
    return [r for r in runs if ((r.get("spec") or {}).get("policyRef") or {}).get("name") == policy_name]


def _age_key(run: Mapping[str, Any]) -> tuple[str, str, str]:
    meta = run.get("metadata") or {}
    finished = str((run.get("status") or {}).get("finishedAt") or "")
    return finished, str(meta.get("creationTimestamp") or ""), str(meta.get("name") or "")


def runs_to_prune(runs: Iterable[Mapping[str, Any]], history_limit: int) -> list[Mapping[str, Any]]:
    """The runs to delete so that at most `history_limit` remain, oldest finished first.

    Timestamps are RFC 3339 in UTC with a `Z` suffix, so they sort as strings.
    """
    runs = [r for r in runs if not (r.get("metadata") or {}).get("deletionTimestamp")]
    excess = len(runs) - max(history_limit, 0)
    if excess <= 0:
        return []
    finished = sorted((r for r in runs if is_finished(r.get("status"))), key=_age_key)
    return finished[:excess]
