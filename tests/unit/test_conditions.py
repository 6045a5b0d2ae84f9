"""Conditions follow the Kubernetes API conventions."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sreops.operator.api.conditions import condition_patch_fn, get_condition, is_true, set_condition
from sreops.operator.controllers.patchrun import _decided_at


def test_adds_a_condition_with_a_transition_time() -> None:
    result = set_condition(None, "Ready", "False", "InvalidSpec", "spec.x: bad", 2, now="2026-01-01T00:00:00Z")
    assert result == [
        {
            "type": "Ready",
            "status": "False",
            "reason": "InvalidSpec",
            "message": "spec.x: bad",
            "observedGeneration": 2,
            "lastTransitionTime": "2026-01-01T00:00:00Z",
        }
    ]


def test_transition_time_changes_only_when_status_flips() -> None:
    first = set_condition(None, "Ready", "False", "InvalidSpec", "a", 1, now="2026-01-01T00:00:00Z")
    same = set_condition(first, "Ready", "False", "AccessDenied", "b", 2, now="2026-01-02T00:00:00Z")
    assert same[0]["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    assert (same[0]["reason"], same[0]["message"], same[0]["observedGeneration"]) == ("AccessDenied", "b", 2)
    flipped = set_condition(same, "Ready", "True", "Reconciled", "ok", 2, now="2026-01-03T00:00:00Z")
    assert flipped[0]["lastTransitionTime"] == "2026-01-03T00:00:00Z"


def test_other_conditions_are_kept_in_order_and_input_is_not_mutated() -> None:
    original = set_condition(None, "Ready", "True", "Reconciled", "", 1, now="t0")
    original = set_condition(original, "Synced", "True", "Synced", "", 1, now="t0")
    snapshot = [dict(c) for c in original]
    updated = set_condition(original, "Ready", "False", "AccessDenied", "no", 1, now="t1")
    assert [c["type"] for c in updated] == ["Ready", "Synced"]
    assert updated[1] == original[1]
    assert original == snapshot


def test_readers() -> None:
    status = {"conditions": set_condition(None, "Ready", "True", "Reconciled", "", 1)}
    assert is_true(status)
    assert not is_true(status, "Compliant")
    assert not is_true(None)
    assert get_condition(status, "Ready") is not None
    assert get_condition(status, "Synced") is None


def test_patch_fn_sets_the_condition_on_the_freshest_body() -> None:
    body: dict[str, Any] = {"status": {"conditions": [{"type": "Synced", "status": "True"}]}}
    condition_patch_fn("Ready", "False", "InvalidSpec", "m", 3)(body)
    assert [c["type"] for c in body["status"]["conditions"]] == ["Synced", "Ready"]
    empty: dict[str, Any] = {}
    condition_patch_fn("Ready", "True", "Reconciled", "", None)(empty)
    assert "observedGeneration" not in empty["status"]["conditions"][0]


def test_a_deferred_condition_is_left_alone_once_the_status_moved_past_the_decision() -> None:
    """kopf applies a patch function whose JSON patch lost a race at a later cycle, on a newer body."""
    body: dict[str, Any] = {"status": {"phase": "later", "conditions": []}}
    condition_patch_fn("Ready", "False", "Waiting", "m", 1, lambda status: (status or {}).get("phase") is None)(body)
    assert body["status"]["conditions"] == []
    fresh: dict[str, Any] = {}
    condition_patch_fn("Ready", "False", "Waiting", "m", 1, lambda status: (status or {}).get("phase") is None)(fresh)
    assert get_condition(fresh["status"], "Ready") is not None


def test_a_runs_wait_never_lands_on_the_run_once_another_handler_sent_or_finished_it() -> None:
    """The CI failure this fixes: a WaitingForPolicy decided on an unsent run, applied by kopf after the run had
    finished, left it Ready=False and waiting for good."""
    ctx = SimpleNamespace(still_applies=None)
    _decided_at(ctx, {"status": {}})  # type: ignore[arg-type]
    wait = condition_patch_fn("Ready", "False", "WaitingForPolicy", "m", 1, ctx.still_applies)
    done = [{"type": "Ready", "status": "True", "reason": "Succeeded", "message": "", "lastTransitionTime": "t"}]
    for status in (
        {"startedAt": "2026-01-01T00:00:00Z"},
        {"startedAt": "2026-01-01T00:00:00Z", "finishedAt": "2026-01-01T00:10:00Z", "conditions": done},
    ):
        body: dict[str, Any] = {"status": dict(status)}
        wait(body)
        assert body["status"] == status
    unsent: dict[str, Any] = {"status": {}}
    wait(unsent)
    assert (get_condition(unsent["status"], "Ready") or {}).get("reason") == "WaitingForPolicy"
    # An AWS error while polling a sent run still lands on it while it runs, not once it finished.
    _decided_at(ctx, {"status": {"startedAt": "2026-01-01T00:00:00Z"}})  # type: ignore[arg-type]
    error = condition_patch_fn("Ready", "False", "AwsUnavailable", "m", 1, ctx.still_applies)
    running: dict[str, Any] = {"status": {"startedAt": "2026-01-01T00:00:00Z"}}
    error(running)
    assert (get_condition(running["status"], "Ready") or {}).get("reason") == "AwsUnavailable"
    finished: dict[str, Any] = {"status": {"startedAt": "x", "finishedAt": "y", "conditions": done}}
    error(finished)
    assert finished["status"]["conditions"] == done
