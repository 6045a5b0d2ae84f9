"""A resync that fails because the object's cleanup is deleting what it checks is not an error. kopf stops an
object's timers when its deletion starts, but a call already running goes on; in the soak test such a resync
failed on the maintenance window the cleanup had just deleted, and kopf logged it as a failed timer."""

from __future__ import annotations

import logging
from typing import Any

import kopf
import pytest

from sreops.operator.api import KINDS, PatchPolicySpec
from sreops.operator.controllers import base
from sreops.operator.settings import Settings


def _resync() -> Any:
    registry = kopf.OperatorRegistry()
    base.register_reconcile(registry, Settings(), KINDS["PatchPolicy"], PatchPolicySpec, lambda spec, ctx: None)
    (timer,) = [h for h in registry._spawning.get_all_handlers() if h.id == "resync"]
    return timer.fn


def _call(resync: Any, body: dict[str, Any]) -> None:
    resync(body=body, patch=kopf.Patch(), memo={}, logger=logging.getLogger("test"))


def _body() -> dict[str, Any]:
    return {"kind": "PatchPolicy", "metadata": {"name": "p", "namespace": "ns", "uid": "u1", "generation": 1}}


@pytest.fixture
def failing(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The reconcile fails as the AWS call did; a body listed here gets its deletionTimestamp meanwhile."""
    deleting: list[dict[str, Any]] = []

    def handle(*, body: dict[str, Any], **_: Any) -> None:
        for item in deleting:
            item["metadata"]["deletionTimestamp"] = "2026-12-02T11:11:26Z"
        raise kopf.TemporaryError("DoesNotExistException: Maintenance window mw-1 does not exist")

    monkeypatch.setattr(base, "make_handler", lambda *a, **k: handle)
    return deleting


def test_a_resync_failing_while_its_object_is_deleted_ends_quietly(failing: list[dict[str, Any]]) -> None:
    body = _body()
    failing.append(body)
    _call(_resync(), body)  # no TemporaryError: kopf logs no failed timer


def test_a_resync_failing_otherwise_is_retried(failing: list[dict[str, Any]]) -> None:
    with pytest.raises(kopf.TemporaryError):
        _call(_resync(), _body())
