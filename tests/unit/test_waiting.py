"""Waits for references: which objects a change re-triggers, and the backoff of the safety-net retry."""

from __future__ import annotations

import itertools
import json

import kopf

from sreops.operator.controllers.base import WAIT_RETRY_FIRST, WaitBackoff, is_waiting
from sreops.operator.controllers.references import (
    DEPENDENCIES,
    RECONCILE_REQUESTED,
    USABLE,
    request_pending,
    to_request,
    waiting_reason,
)
from sreops.operator.kopf_storage import DIFFBASE_KEY, PREFIX

DIFFBASE = f"{PREFIX}/{DIFFBASE_KEY}"


def _status(status: str, reason: str) -> dict[str, object]:
    return {"conditions": [{"type": "Ready", "status": status, "reason": reason}]}


def test_only_waiting_reasons_count_as_waiting() -> None:
    assert waiting_reason(_status("False", "AccountNotFound")) == "AccountNotFound"
    assert is_waiting(_status("False", "WaitingForPolicy"))
    assert not is_waiting(_status("False", "InvalidSpec"))
    assert not is_waiting(_status("True", "Synced"))
    assert not is_waiting(None)
    assert waiting_reason({"conditions": []}) == ""  # not reconciled yet: indexed too
    assert waiting_reason(_status("True", "Synced")) is None


def test_a_new_target_ends_not_found_waits_and_a_usable_one_ends_every_wait() -> None:
    waiting = [
        ("a", "AccountNotFound", False),
        ("b", "AccountNotReady", False),
        ("c", "AccountNotFound", False),
        ("d", "", False),
        ("e", "AccountNotFound", True),  # its request is pending: that reconcile reads the target fresh
        ("f", "", True),
    ]
    assert to_request(waiting, target_usable=False) == ["a", "c", "d"]
    assert to_request(waiting, target_usable=True) == ["a", "b", "c", "d"]


def _body(annotations: dict[str, str]) -> kopf.Body:
    return kopf.Body({"metadata": {"name": "r", "annotations": annotations}})


def test_a_request_is_pending_until_kopf_has_handled_its_value() -> None:
    assert not request_pending(_body({}))
    assert request_pending(_body({RECONCILE_REQUESTED: "t1"}))  # never handled yet
    handled = json.dumps({"metadata": {"annotations": {RECONCILE_REQUESTED: "t1"}}})
    assert not request_pending(_body({RECONCILE_REQUESTED: "t1", DIFFBASE: handled}))
    assert request_pending(_body({RECONCILE_REQUESTED: "t2", DIFFBASE: handled}))  # a newer one


def test_usable_means_ready_or_synced_for_the_current_generation() -> None:
    ready = {"metadata": {"generation": 2}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    ready["status"]["conditions"][0]["observedGeneration"] = 2  # type: ignore[index]
    assert USABLE["AWSAccount"](ready)
    stale = {**ready, "metadata": {"generation": 3}}
    assert not USABLE["AWSAccount"](stale)
    synced = {"metadata": {"generation": 1}, "status": {"conditions": [{"type": "Synced", "status": "True"}]}}
    assert not USABLE["PatchPolicy"](synced)  # no observedGeneration: not known to be this spec's
    synced["status"]["conditions"][0]["observedGeneration"] = 1  # type: ignore[index]
    assert USABLE["PatchPolicy"](synced)


def test_dependencies_read_every_reference_in_the_spec() -> None:
    notifier = next(d for d in DEPENDENCIES if d.kind == "Notifier")
    spec = {"slack": {"tokenSecretRef": {"name": "bot"}}, "teams": {"webhookSecretRef": {"name": "hook"}}}
    assert notifier.names(spec) == {"bot", "hook"}
    assert notifier.names({"slack": {"tokenSecretRef": {}}}) == set()
    assert len({d.index_id for d in DEPENDENCIES}) == len(DEPENDENCIES)


def test_retries_back_off_from_the_first_delay_to_the_cap() -> None:
    backoff = WaitBackoff(cap=40.0)
    now, attempts = 0.0, []
    while now <= 200:
        if backoff.due("uid", now):
            attempts.append(now)
        now += 1.0
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert attempts[0] == 0.0
    assert gaps[:3] == [2 * WAIT_RETRY_FIRST, 4 * WAIT_RETRY_FIRST, 8 * WAIT_RETRY_FIRST]
    assert set(gaps[3:]) == {40.0}


def test_forgetting_restarts_the_backoff() -> None:
    backoff = WaitBackoff(cap=300.0)
    assert backoff.due("uid", 0.0)
    assert not backoff.due("uid", 5.0)
    backoff.forget("uid")
    assert backoff.due("uid", 5.0)
