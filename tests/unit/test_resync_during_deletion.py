"""A timer's reconcile that fails because the object's cleanup is deleting what it checks is not an error. kopf
stops an object's timers when its deletion starts, but a call already running goes on; in the soak test such a
resync failed on the maintenance window the cleanup had just deleted, and kopf logged it as a failed timer."""

from __future__ import annotations

import logging
from typing import Any

import kopf
import pytest
from kubernetes import client

from sreops.operator.api import KINDS, PatchPolicySpec
from sreops.operator.aws.clients import ClientFactory
from sreops.operator.controllers.base import Context, register_reconcile
from sreops.operator.metrics import OperatorMetrics
from sreops.operator.services import Services
from sreops.operator.settings import Settings

TIMERS = ("resync", "wait-retry")


def _timers(deleting: list[dict[str, Any]]) -> dict[str, Any]:
    """The kind's timers around a reconcile that fails as the AWS call did; a body listed in `deleting` gets its
    deletionTimestamp meanwhile (kopf's live body, updated by the deletion event)."""

    def reconcile(spec: PatchPolicySpec, ctx: Context) -> None:
        for item in deleting:
            item["metadata"]["deletionTimestamp"] = "2026-12-02T11:11:26Z"
        raise kopf.TemporaryError("DoesNotExistException: Maintenance window mw-1 does not exist")

    registry = kopf.OperatorRegistry()
    register_reconcile(registry, Settings(), KINDS["PatchPolicy"], PatchPolicySpec, reconcile)
    return {h.id: h.fn for h in registry._spawning.get_all_handlers() if h.id in TIMERS}


def _call(timer: Any, body: dict[str, Any]) -> None:
    services = Services(
        settings=Settings(),
        metrics=OperatorMetrics(),
        aws=ClientFactory(sts_region="us-west-2"),
        kube=client.ApiClient(),
    )
    timer(body=body, patch=kopf.Patch(), memo={"services": services}, logger=logging.getLogger("test"))


def _body(waiting: bool) -> dict[str, Any]:
    conditions = [{"type": "Ready", "status": "False", "reason": "AccountNotFound"}] if waiting else []
    return {
        "kind": "PatchPolicy",
        "metadata": {"name": "p", "namespace": "ns", "uid": "u1", "generation": 1},
        "spec": {
            "targets": {"tags": {"Role": "web"}},
            "operatingSystem": "AMAZON_LINUX_2023",
            "schedule": {"cron": "0 3 * * 0"},
        },
        "status": {"conditions": conditions},
    }


@pytest.mark.parametrize("timer", TIMERS)
def test_a_timer_call_failing_while_its_object_is_deleted_ends_quietly(timer: str) -> None:
    body = _body(waiting=timer == "wait-retry")
    _call(_timers([body])[timer], body)  # no TemporaryError: kopf logs no failed timer


@pytest.mark.parametrize("timer", TIMERS)
def test_a_timer_call_failing_otherwise_is_retried(timer: str) -> None:
    with pytest.raises(kopf.TemporaryError):
        _call(_timers([])[timer], _body(waiting=timer == "wait-retry"))
