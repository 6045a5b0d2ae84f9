"""A tiny kopf operator against the stand-in: finalizers, status patches, events, restarts."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import kopf
import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from sreops.sandbox.kube import ThreadHandle
from tests.sandbox.kube.helpers import GROUP, PLURAL, VERSION, eventually, widget

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.usefixtures("widget_crd")]

FINALIZER = "test.sreops.io/kopf"


class Operator:
    """kopf.operator() in its own thread and loop (it cancels every task of the loop it runs in)."""

    def __init__(self, kube: ThreadHandle, calls: dict[str, list[str]]) -> None:
        self.registry = kopf.OperatorRegistry()
        self.stop_flag = threading.Event()
        self.ready_flag = threading.Event()
        self.calls = calls
        ca_path = str(kube.server.state_dir / "ca.crt")

        @kopf.on.login(registry=self.registry)
        def login(**_: Any) -> kopf.ConnectionInfo:
            return kopf.ConnectionInfo(server=kube.url, ca_path=ca_path, token=kube.token, default_namespace="default")

        @kopf.on.create(GROUP, VERSION, PLURAL, registry=self.registry)
        def created(body: Any, patch: Any, **_: Any) -> None:
            calls["create"].append(body["metadata"]["name"])
            patch.status["conditions"] = [{"type": "Ready", "status": "True", "reason": "Created", "message": "ok"}]
            kopf.info(body, reason="Created", message="handled by the test operator")

        @kopf.on.update(GROUP, VERSION, PLURAL, field="spec", registry=self.registry)
        def updated(body: Any, patch: Any, **_: Any) -> None:
            calls["update"].append(f"{body['metadata']['name']}:{body['spec']['size']}")
            patch.status["observedGeneration"] = body["metadata"]["generation"]

        @kopf.on.delete(GROUP, VERSION, PLURAL, registry=self.registry)
        def deleted(body: Any, **_: Any) -> None:
            calls["delete"].append(body["metadata"]["name"])

        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        settings = kopf.OperatorSettings()
        settings.persistence.finalizer = FINALIZER
        settings.watching.server_timeout = 5
        settings.watching.client_timeout = 10
        settings.posting.level = 20
        asyncio.run(
            kopf.operator(
                registry=self.registry,
                settings=settings,
                clusterwide=True,
                standalone=True,
                stop_flag=self.stop_flag,
                ready_flag=self.ready_flag,
            )
        )

    def __enter__(self) -> Operator:
        self.thread.start()
        assert self.ready_flag.wait(timeout=20)
        return self

    def __exit__(self, *_: object) -> None:
        self.stop_flag.set()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive()


def _eventually(check: Callable[[], bool]) -> None:
    eventually(check, timeout=15.0, interval=0.1)  # kopf reacts in its own time


@pytest.fixture
def calls() -> Iterator[dict[str, list[str]]]:
    yield {"create": [], "update": [], "delete": []}


def test_kopf_operator_finalizer_status_events_and_restart(
    kube: ThreadHandle, custom: k8s.CustomObjectsApi, core: k8s.CoreV1Api, calls: dict[str, list[str]]
) -> None:
    """Real: kopf adds its finalizer (JSON patch with a resourceVersion test), patches status through
    the status subresource, posts core/v1 Events; after a restart it resumes from its annotations
    without handling anything twice and catches up on changes made while it was down; deletion runs the
    delete handler, then kopf removes its finalizer and the object disappears."""
    with Operator(kube, calls):
        custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, widget("op"))

        def handled() -> bool:
            obj = custom.get_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "op")
            conditions = (obj.get("status") or {}).get("conditions") or []
            return FINALIZER in (obj["metadata"].get("finalizers") or []) and bool(conditions)

        _eventually(handled)
        _eventually(
            lambda: any(
                e.reason == "Created"
                for e in core.list_namespaced_event("default", field_selector="involvedObject.name=op").items
            )
        )
        custom.patch_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "op", {"spec": {"size": 4}})
        _eventually(lambda: calls["update"] == ["op:4"])

    assert calls["create"] == ["op"]
    custom.patch_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "op", {"spec": {"size": 5}})

    with Operator(kube, calls):
        _eventually(lambda: calls["update"] == ["op:4", "op:5"])
        time.sleep(1.0)  # a window in which repeated handling would show up
        assert calls["create"] == ["op"]
        custom.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "op")

        def gone() -> bool:
            try:
                custom.get_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "op")
            except ApiException as exc:
                return exc.status == 404
            return False

        _eventually(gone)
    assert calls["delete"] == ["op"]
    assert calls["update"] == ["op:4", "op:5"]


def test_kopf_survives_watch_restarts_while_other_kinds_change(
    kube: ThreadHandle, custom: k8s.CustomObjectsApi, core: k8s.CoreV1Api, calls: dict[str, list[str]]
) -> None:
    """Real: kopf resumes each ended watch (server timeout) from the last resourceVersion it saw; the
    resumed widget and CRD watches replay only widgets and CRDs, whatever else changed meanwhile, so
    the operator keeps running and handling."""
    with Operator(kube, calls) as operator:
        for i in range(3):
            core.create_namespaced_config_map("default", {"metadata": {"name": f"restart-cm{i}"}})
            core.create_namespaced_secret("default", {"metadata": {"name": f"restart-s{i}"}})
            core.delete_namespaced_config_map(f"restart-cm{i}", "default")
        # Past the server-side watch timeout (5 s): every watch has ended and resumed from its last version.
        time.sleep(7)
        custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, widget("after-restart"))
        _eventually(lambda: "after-restart" in calls["create"])
        assert operator.thread.is_alive()


def test_kopf_delete_handlers_run_when_the_namespace_is_deleted(
    kube: ThreadHandle, custom: k8s.CustomObjectsApi, core: k8s.CoreV1Api, calls: dict[str, list[str]]
) -> None:
    """Real: deleting a namespace deletes its objects; kopf's finalizer holds each one until its delete
    handler has run (patches in a terminating namespace work; new Events there are refused), and then
    the namespace goes."""
    core.create_namespace({"metadata": {"name": "kopf-ns-gone"}})
    with Operator(kube, calls):
        custom.create_namespaced_custom_object(GROUP, VERSION, "kopf-ns-gone", PLURAL, widget("inside", "kopf-ns-gone"))

        def adopted() -> bool:
            obj = custom.get_namespaced_custom_object(GROUP, VERSION, "kopf-ns-gone", PLURAL, "inside")
            return FINALIZER in (obj["metadata"].get("finalizers") or [])

        _eventually(adopted)
        core.delete_namespace("kopf-ns-gone")

        def namespace_gone() -> bool:
            try:
                core.read_namespace("kopf-ns-gone")
            except ApiException as exc:
                return exc.status == 404
            return False

        _eventually(namespace_gone)
    assert calls["delete"] == ["inside"]
