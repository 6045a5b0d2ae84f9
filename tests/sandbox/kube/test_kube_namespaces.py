"""Namespaces: the NamespaceLifecycle admission plugin and the namespace controller's termination."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client as k8s

from tests.sandbox.kube.helpers import GROUP, PLURAL, VERSION, Http, eventually, widget

pytestmark = pytest.mark.usefixtures("widget_crd")

Obj = dict[str, Any]
WIDGETS = f"/apis/{GROUP}/{VERSION}"
# One namespaced kind of each sort: core, core with conversion, another group, custom.
COLLECTIONS = {
    "configmaps": ("/api/v1", {"data": {"k": "v"}}),
    "secrets": ("/api/v1", {"stringData": {"k": "v"}}),
    "events": ("/apis/events.k8s.io/v1", {"reason": "R", "note": "n", "type": "Normal", "action": "A"}),
    "leases": ("/apis/coordination.k8s.io/v1", {"spec": {"holderIdentity": "me"}}),
    "widgets": (WIDGETS, {"spec": {"size": 3}}),
}


def _missing(http: Http, path: str) -> bool:
    return http.request("GET", path).status == 404


def test_a_new_server_has_the_system_namespaces(http: Http) -> None:
    """Real: a cluster starts with default, kube-system, kube-public and kube-node-lease, all Active."""
    items = http.request("GET", "/api/v1/namespaces").body["items"]
    phases = {ns["metadata"]["name"]: ns["status"]["phase"] for ns in items}
    for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
        assert phases[name] == "Active"


@pytest.mark.parametrize("plural", list(COLLECTIONS))
def test_create_in_a_missing_namespace_is_404_namespace_not_found(http: Http, plural: str) -> None:
    """Real (NamespaceLifecycle): creating any namespaced object, also by server-side apply, in a
    namespace that does not exist is 404 with a Status naming the namespace, not the object."""
    base, body = COLLECTIONS[plural]
    expected = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'namespaces "no-such-ns" not found',
        "reason": "NotFound",
        "details": {"name": "no-such-ns", "kind": "namespaces"},
        "code": 404,
    }
    path = f"{base}/namespaces/no-such-ns/{plural}"
    created = http.request("POST", path, {"metadata": {"name": "x"}, **body})
    assert (created.status, created.body) == (404, expected)
    applied = http.request(
        "PATCH",
        f"{path}/x?fieldManager=test",
        {"metadata": {"name": "x"}, **body},
        content_type="application/apply-patch+yaml",
    )
    assert (applied.status, applied.body) == (404, expected)


def test_namespace_deletion_terminates_then_removes_it(
    http: Http, custom: k8s.CustomObjectsApi, core: k8s.CoreV1Api, namespace: str
) -> None:
    """Real: DELETE of a namespace returns it with a deletionTimestamp, spec.finalizers [kubernetes] and
    phase Terminating; creating in it is then 403 Forbidden (cause NamespaceTerminating) while updates
    still work; the namespace controller deletes its contents (objects with finalizers get a
    deletionTimestamp and stay until released), and only the empty namespace goes (DELETED event)."""
    held = widget("held", namespace)
    held["metadata"]["finalizers"] = ["test.sreops.io/hold"]
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, held)
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, widget("free", namespace))
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "cm"}})
    rv = http.request("GET", "/api/v1/namespaces").body["metadata"]["resourceVersion"]

    deleting = http.request("DELETE", f"/api/v1/namespaces/{namespace}")
    assert deleting.status == 200
    assert deleting.body["metadata"]["deletionTimestamp"]
    assert deleting.body["spec"] == {"finalizers": ["kubernetes"]}
    assert deleting.body["status"]["phase"] == "Terminating"

    late = http.request("POST", f"/api/v1/namespaces/{namespace}/configmaps", {"metadata": {"name": "late"}})
    assert late.status == 403
    why = f"unable to create new content in namespace {namespace} because it is being terminated"
    assert late.body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f'configmaps "late" is forbidden: {why}',
        "reason": "Forbidden",
        "details": {
            "name": "late",
            "kind": "configmaps",
            "causes": [
                {
                    "reason": "NamespaceTerminating",
                    "message": f"namespace {namespace} is being terminated",
                    "field": "metadata.namespace",
                }
            ],
        },
        "code": 403,
    }
    late_widget = http.request("POST", f"{WIDGETS}/namespaces/{namespace}/{PLURAL}", widget("late", namespace))
    assert late_widget.status == 403
    assert late_widget.body["message"] == f'widgets.test.sreops.io "late" is forbidden: {why}'
    assert late_widget.body["details"]["group"] == GROUP

    widgets = f"{WIDGETS}/namespaces/{namespace}/{PLURAL}"
    eventually(
        lambda: _missing(http, f"{widgets}/free") and _missing(http, f"/api/v1/namespaces/{namespace}/configmaps/cm")
    )
    current = http.request("GET", f"{widgets}/held").body
    assert current["metadata"]["deletionTimestamp"]
    ns = http.request("GET", f"/api/v1/namespaces/{namespace}").body
    assert ns["status"]["phase"] == "Terminating" and ns["spec"]["finalizers"] == ["kubernetes"]
    # An update in a terminating namespace is allowed: a controller releases its finalizer so.
    custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "held", {"metadata": {"finalizers": None}})
    eventually(lambda: _missing(http, f"/api/v1/namespaces/{namespace}"))

    events = []
    with http.stream(
        f"/api/v1/namespaces?watch=true&resourceVersion={rv}&fieldSelector=metadata.name%3D{namespace}"
    ) as resp:
        for line in resp:
            events.append(json.loads(line))
            if events[-1]["type"] == "DELETED":
                break
    assert events[0]["type"] == "MODIFIED" and events[0]["object"]["status"]["phase"] == "Terminating"
    assert {e["type"] for e in events[1:-1]} <= {"MODIFIED"}
    assert events[-1]["object"]["kind"] == "Namespace"


@pytest.mark.parametrize("name", ["default", "kube-system", "kube-public"])
def test_system_namespaces_may_not_be_deleted(http: Http, name: str) -> None:
    """Real (NamespaceLifecycle): default, kube-system and kube-public are immortal: DELETE is 403."""
    resp = http.request("DELETE", f"/api/v1/namespaces/{name}")
    assert resp.status == 403
    assert resp.body["reason"] == "Forbidden"
    assert resp.body["message"] == f'namespaces "{name}" is forbidden: this namespace may not be deleted'
    assert http.request("GET", f"/api/v1/namespaces/{name}").body["status"]["phase"] == "Active"


def test_spec_finalizers_change_only_through_finalize(http: Http, namespace: str) -> None:
    """Real: a namespace is created with the `kubernetes` finalizer whatever the body says; updates of
    the namespace itself keep spec.finalizers; PUT namespaces/<name>/finalize sets them, and
    finalizing a terminating namespace removes it at once (its remaining content is left behind)."""
    created = http.request(
        "POST", "/api/v1/namespaces", {"metadata": {"name": namespace + "-f"}, "spec": {"finalizers": []}}
    )
    assert created.body["spec"]["finalizers"] == ["kubernetes"]
    path = f"/api/v1/namespaces/{namespace}"
    patched = http.request(
        "PATCH",
        path,
        {"metadata": {"labels": {"a": "b"}}, "spec": {"finalizers": []}},
        content_type="application/merge-patch+json",
    )
    assert patched.body["spec"]["finalizers"] == ["kubernetes"] and patched.body["metadata"]["labels"]["a"] == "b"
    finalized = http.request("PUT", f"{path}/finalize", {**patched.body, "spec": {"finalizers": ["example.com/x"]}})
    assert finalized.status == 200 and finalized.body["spec"]["finalizers"] == ["example.com/x"]

    held = widget("held", namespace)
    held["metadata"]["finalizers"] = ["test.sreops.io/hold"]
    assert http.request("POST", f"{WIDGETS}/namespaces/{namespace}/{PLURAL}", held).status == 201
    assert http.request("DELETE", path).body["status"]["phase"] == "Terminating"
    current = http.request("GET", path).body
    done = http.request("PUT", f"{path}/finalize", {**current, "spec": {"finalizers": []}})
    assert done.status == 200
    assert _missing(http, path)
