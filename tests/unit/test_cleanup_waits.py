"""An object's cleanup never runs next to a reconcile or resync of the same object. kopf stops an object's timers
when its deletion starts, but a timer call already running goes on; in the soak test such a resync failed on the
maintenance window the cleanup had just deleted."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import kopf
import pytest
from kubernetes import client

from sreops.operator.api import KINDS, PatchPolicySpec
from sreops.operator.aws.clients import ClientFactory
from sreops.operator.controllers import base
from sreops.operator.controllers.base import Context, one_at_a_time, register_reconcile
from sreops.operator.metrics import OperatorMetrics
from sreops.operator.services import Services
from sreops.operator.settings import Settings

SPEC = {
    "targets": {"tags": {"Role": "web"}},
    "operatingSystem": "AMAZON_LINUX_2023",
    "schedule": {"cron": "0 3 * * 0"},
}
WAIT = 10.0  # seconds: only reached when the behaviour under test is broken


def _services() -> Services:
    return Services(
        settings=Settings(),
        metrics=OperatorMetrics(),
        aws=ClientFactory(sts_region="us-west-2"),
        kube=client.ApiClient(),
    )


def _resync(reconcile: Any) -> Any:
    registry = kopf.OperatorRegistry()
    register_reconcile(registry, Settings(), KINDS["PatchPolicy"], PatchPolicySpec, reconcile)
    (timer,) = [h for h in registry._spawning.get_all_handlers() if h.id == "resync"]
    return timer.fn


def _live_body() -> dict[str, Any]:
    """What kopf hands a timer: one body, updated in place as watch events arrive."""
    return {
        "kind": "PatchPolicy",
        "metadata": {"name": "p", "namespace": "ns", "uid": "u-cleanup", "generation": 1},
        "spec": SPEC,
        "status": {},
    }


def _call(fn: Any, body: dict[str, Any], services: Services) -> None:
    fn(body=body, patch=kopf.Patch(), memo={"services": services}, logger=logging.getLogger("test"), retry=0)


def test_a_cleanup_waits_for_the_resync_in_flight_and_a_resync_after_it_does_nothing() -> None:
    services = _services()
    order: list[str] = []
    in_reconcile, release = threading.Event(), threading.Event()

    def reconcile(spec: PatchPolicySpec, ctx: Context) -> None:
        order.append("resync started")
        in_reconcile.set()
        assert release.wait(WAIT)
        order.append("resync ended")

    def cleanup(*, body: kopf.Body, **_: Any) -> None:
        order.append("cleanup")

    resync, delete = _resync(reconcile), one_at_a_time(cleanup)
    body = _live_body()
    resync_thread = threading.Thread(target=_call, args=(resync, body, services))
    resync_thread.start()
    assert in_reconcile.wait(WAIT)
    body["metadata"]["deletionTimestamp"] = "2026-12-02T11:11:26Z"  # the deletion event reaches the live body
    cleanup_thread = threading.Thread(target=_call, args=(delete, body, services))
    cleanup_thread.start()
    time.sleep(0.3)  # time for the cleanup to run, were it not waiting
    assert order == ["resync started"]
    release.set()
    for thread in (resync_thread, cleanup_thread):
        thread.join(WAIT)
    assert order == ["resync started", "resync ended", "cleanup"]


class _Announcing:
    """The object's lock, saying when a thread starts to wait for it."""

    def __init__(self, lock: threading.Lock) -> None:
        self.lock, self.waiting = lock, threading.Event()

    def __enter__(self) -> None:
        self.waiting.set()
        self.lock.acquire()

    def __exit__(self, *_: object) -> None:
        self.lock.release()


def test_a_resync_that_waited_for_the_cleanup_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    services = _services()
    calls: list[str] = []
    resync = _resync(lambda spec, ctx: calls.append("reconciled"))
    body = _live_body()
    lock = _Announcing(threading.Lock())
    in_cleanup, release = threading.Event(), threading.Event()

    def cleanup(*, body: kopf.Body, **_: Any) -> None:
        in_cleanup.set()
        assert release.wait(WAIT)

    monkeypatch.setattr(base.OBJECT_LOCKS, "of", lambda uid: lock)
    body["metadata"]["deletionTimestamp"] = "2026-12-02T11:11:26Z"
    cleanup_thread = threading.Thread(target=_call, args=(one_at_a_time(cleanup), body, services))
    cleanup_thread.start()
    assert in_cleanup.wait(WAIT)
    # The resync kopf started before the deletion: it had seen no deletionTimestamp when it reached the lock.
    del body["metadata"]["deletionTimestamp"]
    lock.waiting.clear()
    resync_thread = threading.Thread(target=_call, args=(resync, body, services))
    resync_thread.start()
    assert lock.waiting.wait(WAIT)
    body["metadata"]["deletionTimestamp"] = "2026-12-02T11:11:26Z"
    release.set()
    for thread in (cleanup_thread, resync_thread):
        thread.join(WAIT)
    assert calls == []
