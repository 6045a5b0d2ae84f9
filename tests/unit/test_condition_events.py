"""Ready and Compliant changes are announced with one Event each, even while kopf's body lags our writes."""

from __future__ import annotations

import logging
from typing import Any

import kopf
import pytest
from kubernetes import client

from sreops.operator.aws.clients import ClientFactory
from sreops.operator.controllers.base import Context
from sreops.operator.metrics import OperatorMetrics
from sreops.operator.services import Services
from sreops.operator.settings import Settings


def _body(ready: tuple[str, str] | None) -> kopf.Body:
    conditions = [] if ready is None else [{"type": "Ready", "status": ready[0], "reason": ready[1]}]
    return kopf.Body(
        {
            "kind": "PatchPolicy",
            "metadata": {"name": "p", "namespace": "ns", "uid": "u1", "generation": 1},
            "status": {"conditions": conditions},
        }
    )


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    monkeypatch.setattr(kopf, "event", lambda body, *, type, reason, message: seen.append(reason))
    return seen


def test_a_change_seen_from_the_same_lagging_body_is_announced_once(events: list[str]) -> None:
    services = Services(
        settings=Settings(),
        metrics=OperatorMetrics(),
        aws=ClientFactory(sts_region="us-west-2"),
        kube=client.ApiClient(),
    )

    def reconcile(body: kopf.Body, status: Any, reason: str) -> None:
        ctx = Context(body=body, patch=kopf.Patch(), services=services, logger=logging.getLogger("test"))
        ctx.set_condition("Ready", status, reason, "m")

    stale = _body(None)
    for _ in range(3):  # three resyncs handed the body from before the first write
        reconcile(stale, "True", "Synced")
    assert events == ["Synced"]
    reconcile(_body(("True", "Synced")), "True", "Synced")  # caught up: no change
    reconcile(_body(("True", "Synced")), "False", "AwsRequestFailed")
    reconcile(_body(("True", "Synced")), "False", "AwsRequestFailed")  # lagging again
    assert events == ["Synced", "AwsRequestFailed"]
    # Back to where it was: a change from another state than the one announced before, so announced again.
    reconcile(_body(("False", "AwsRequestFailed")), "True", "Synced")
    assert events == ["Synced", "AwsRequestFailed", "Synced"]
