"""A run's progress from its commands' invocations, and which finished runs are pruned."""

from __future__ import annotations

from typing import Any

import pytest

from sreops.operator.runs.history import runs_to_prune
from sreops.operator.runs.progress import CommandProgress, Invocation, failure_detail, outcome, summarize


def _command(status: str, *invocations: Invocation, target_count: int | None = None, region: str = "us-west-2") -> Any:
    count = len(invocations) if target_count is None else target_count
    return CommandProgress("111122223333", region, f"cmd-{region}", status, count, tuple(invocations))


@pytest.mark.parametrize(
    ("status", "details", "expected"),
    [
        ("Success", "Success", "succeeded"),
        ("Failed", "Failed", "failed"),
        ("Failed", "Undeliverable", "failed"),
        ("Cancelled", "Cancelled", "failed"),
        ("TimedOut", "ExecutionTimedOut", "timed_out"),
        ("TimedOut", "DeliveryTimedOut", "timed_out"),
        ("Pending", "Pending", "in_progress"),
        ("InProgress", "InProgress", "in_progress"),
        ("Delayed", "Delayed", "in_progress"),
        ("Cancelling", "Cancelling", "in_progress"),
    ],
)
def test_invocation_outcomes(status: str, details: str, expected: str) -> None:
    assert outcome(status, details) == expected


def test_a_run_in_progress_counts_what_is_not_invoked_yet() -> None:
    progress = summarize([_command("InProgress", Invocation("i-1", "Success", "Success"), target_count=3)])
    assert progress.counts.model_dump() == {
        "total": 3,
        "succeeded": 1,
        "failed": 0,
        "in_progress": 2,
        "timed_out": 0,
    }
    assert not progress.finished


def test_a_finished_run_with_a_failed_instance_failed_and_lists_it() -> None:
    progress = summarize(
        [
            _command("Success", Invocation("i-1", "Success", "Success")),
            _command(
                "Failed",
                Invocation("i-3", "Failed", "Failed", "Patch operation Install on i-3\nFailed to install: KB1"),
                Invocation("i-2", "TimedOut", "DeliveryTimedOut"),
                region="us-east-1",
            ),
        ]
    )
    assert progress.finished and not progress.succeeded
    assert (progress.counts.failed, progress.counts.timed_out, progress.counts.total) == (1, 1, 3)
    assert [(f.instance_id, f.region, f.status) for f in progress.failed_instances] == [
        ("i-2", "us-east-1", "TimedOut"),
        ("i-3", "us-east-1", "Failed"),
    ]
    assert progress.failed_instances[1].detail == "Failed: Failed to install: KB1"
    assert "1 failed, 1 timed out" in progress.summary()


def test_at_most_twenty_failed_instances_are_listed() -> None:
    failures = [Invocation(f"i-{n:02d}", "Failed", "Failed") for n in range(30)]
    progress = summarize([_command("Failed", *failures)])
    assert progress.counts.failed == 30
    assert [f.instance_id for f in progress.failed_instances] == [f"i-{n:02d}" for n in range(20)]


def test_success_needs_every_command_and_the_window_execution_to_succeed() -> None:
    ok = [_command("Success", Invocation("i-1", "Success", "Success"))]
    assert summarize(ok).succeeded
    assert summarize([_command("Success")]).succeeded  # no instance matched: nothing failed
    assert not summarize([_command("Cancelled")]).succeeded
    assert not summarize(ok, execution_status="IN_PROGRESS").finished
    assert not summarize(ok, execution_status="FAILED").succeeded
    assert summarize(ok, execution_status="SUCCESS").succeeded
    failed_before_sending = summarize([], execution_status="FAILED")
    assert failed_before_sending.finished and not failed_before_sending.succeeded
    assert not summarize([_command("", target_count=0)]).finished  # SSM does not know it yet


def test_failure_detail_is_short() -> None:
    detail = failure_detail(Invocation("i-1", "Failed", "Failed", "x" * 1000))
    assert len(detail) == 300


def _run(name: str, finished: str | None, created: str = "2026-01-01T00:00:00Z", **meta: Any) -> dict[str, Any]:
    status = {"finishedAt": finished} if finished else {}
    return {"metadata": {"name": name, "creationTimestamp": created, **meta}, "status": status}


def test_pruning_keeps_the_limit_and_removes_the_oldest_finished_first() -> None:
    runs = [
        _run("running-old", None, "2025-01-01T00:00:00Z"),
        _run("b", "2026-01-02T00:00:00Z"),
        _run("a", "2026-01-01T00:00:00Z"),
        _run("c", "2026-01-03T00:00:00Z"),
        _run("gone", "2020-01-01T00:00:00Z", deletionTimestamp="2026-01-04T00:00:00Z"),
    ]
    assert [r["metadata"]["name"] for r in runs_to_prune(runs, 2)] == ["a", "b"]
    assert runs_to_prune(runs, 4) == []
    assert [r["metadata"]["name"] for r in runs_to_prune(runs, 0)] == ["a", "b", "c"]  # never one in progress
