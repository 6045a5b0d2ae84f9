"""PATCH flavours: merge, JSON patch (with kopf's `test` op), strategic merge, server-side apply."""

from __future__ import annotations

import json

import pytest
from kubernetes import client as k8s

from tests.sandbox.kube.helpers import GROUP, PLURAL, VERSION, Http, widget

pytestmark = pytest.mark.usefixtures("widget_crd")


def _url(namespace: str, name: str = "", sub: str = "") -> str:
    path = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}"
    return path + (f"/{name}" if name else "") + (f"/{sub}" if sub else "")


def test_merge_patch_null_deletes_and_maps_merge(http: Http, custom: k8s.CustomObjectsApi, namespace: str) -> None:
    """Real: application/merge-patch+json (RFC 7386): maps merge, null removes, lists are replaced."""
    custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, widget("m", namespace, tags=["a"], code="x")
    )
    resp = http.request(
        "PATCH",
        _url(namespace, "m"),
        {"spec": {"code": None, "tags": ["b", "c"]}},
        content_type="application/merge-patch+json",
    )
    assert resp.status == 200
    assert "code" not in resp.body["spec"] and resp.body["spec"]["tags"] == ["b", "c"]


def test_json_patch_with_test_op_as_kopf_sends_for_finalizers(
    http: Http, custom: k8s.CustomObjectsApi, namespace: str
) -> None:
    """Real: application/json-patch+json (RFC 6902); kopf prefixes its finalizer patches with
    `test /metadata/resourceVersion`, and a failed test answers 422 (kopf retries on that)."""
    obj = custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, widget("j", namespace))
    rv = obj["metadata"]["resourceVersion"]
    ops = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": rv},
        {"op": "add", "path": "/metadata/finalizers", "value": ["x.io/f"]},
    ]
    resp = http.request("PATCH", _url(namespace, "j"), ops, content_type="application/json-patch+json")
    assert resp.status == 200 and resp.body["metadata"]["finalizers"] == ["x.io/f"]
    stale = http.request("PATCH", _url(namespace, "j"), ops, content_type="application/json-patch+json")
    assert stale.status == 422 and stale.body["kind"] == "Status"
    more = [
        {"op": "add", "path": "/metadata/finalizers/-", "value": "y.io/g"},
        {"op": "remove", "path": "/metadata/finalizers/0"},
        {"op": "replace", "path": "/spec/size", "value": 2},
        {"op": "copy", "from": "/spec/size", "path": "/spec/window"},
    ]
    bad = http.request("PATCH", _url(namespace, "j"), more, content_type="application/json-patch+json")
    assert bad.status == 422  # spec.window must be an object: the patched object is validated
    resp = http.request("PATCH", _url(namespace, "j"), more[:3], content_type="application/json-patch+json")
    assert resp.body["metadata"]["finalizers"] == ["y.io/g"] and resp.body["spec"]["size"] == 2
    missing = http.request(
        "PATCH",
        _url(namespace, "j"),
        [{"op": "remove", "path": "/spec/nothing"}],
        content_type="application/json-patch+json",
    )
    assert missing.status == 422


def test_strategic_merge_for_builtins_and_415_for_custom_resources(
    http: Http, core: k8s.CoreV1Api, custom: k8s.CustomObjectsApi, namespace: str
) -> None:
    """Real: strategic merge patch works on built-ins (kubectl apply/annotate/label use it there):
    ownerReferences merge by uid, `$patch: delete`, `$retainKeys`; custom resources reject it with 415."""
    # Owners must exist, or the garbage collector would (rightly) remove the dangling references.
    uid1 = core.create_namespaced_config_map(namespace, {"metadata": {"name": "o1"}}).metadata.uid
    uid2 = core.create_namespaced_config_map(namespace, {"metadata": {"name": "o2"}}).metadata.uid
    core.create_namespaced_config_map(
        namespace,
        {
            "metadata": {
                "name": "cm",
                "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "o1", "uid": uid1}],
            },
            "data": {"a": "1", "b": "2"},
        },
    )
    patch = {
        "metadata": {"ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "o2", "uid": uid2}]},
        "data": {"b": None, "c": "3"},
    }
    resp = http.request(
        "PATCH",
        f"/api/v1/namespaces/{namespace}/configmaps/cm",
        patch,
        content_type="application/strategic-merge-patch+json",
    )
    assert resp.status == 200
    assert resp.body["data"] == {"a": "1", "c": "3"}
    assert [r["uid"] for r in resp.body["metadata"]["ownerReferences"]] == [uid1, uid2]
    drop = {
        "metadata": {"ownerReferences": [{"uid": uid1, "$patch": "delete"}]},
        "data": {"$patch": "replace", "z": "9"},
    }
    resp = http.request(
        "PATCH",
        f"/api/v1/namespaces/{namespace}/configmaps/cm",
        drop,
        content_type="application/strategic-merge-patch+json",
    )
    assert [r["uid"] for r in resp.body["metadata"]["ownerReferences"]] == [uid2]
    assert resp.body["data"] == {"z": "9"}
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, widget("smp", namespace))
    resp = http.request(
        "PATCH", _url(namespace, "smp"), {"spec": {"size": 2}}, content_type="application/strategic-merge-patch+json"
    )
    assert resp.status == 415 and resp.body["reason"] == "UnsupportedMediaType"


def test_server_side_apply_creates_updates_and_drops_fields(http: Http, namespace: str) -> None:
    """Real: application/apply-patch+yaml with fieldManager creates the object if missing (201), merges
    into it otherwise (200), and fields the same manager stops applying are removed."""
    first = "apiVersion: test.sreops.io/v1\nkind: Widget\nmetadata: {name: ssa}\nspec: {size: 2, code: abc}\n"
    resp = http.request(
        "PATCH",
        _url(namespace, "ssa") + "?fieldManager=kubectl",
        raw=first.encode(),
        content_type="application/apply-patch+yaml",
    )
    assert resp.status == 201 and resp.body["spec"] == {"size": 2, "code": "abc", "mode": "Slow"}
    second = "apiVersion: test.sreops.io/v1\nkind: Widget\nmetadata: {name: ssa}\nspec: {size: 5}\n"
    resp = http.request(
        "PATCH",
        _url(namespace, "ssa") + "?fieldManager=kubectl",
        raw=second.encode(),
        content_type="application/apply-patch+yaml",
    )
    assert resp.status == 200 and resp.body["spec"] == {"size": 5, "mode": "Slow"}
    assert resp.body["metadata"]["generation"] == 2
    nomanager = http.request(
        "PATCH", _url(namespace, "ssa"), raw=second.encode(), content_type="application/apply-patch+yaml"
    )
    assert nomanager.status == 400


def test_apply_merges_map_lists_by_key_in_status(http: Http, custom: k8s.CustomObjectsApi, namespace: str) -> None:
    """Real: server-side apply merges `x-kubernetes-list-type: map` lists by their keys (conditions by type)."""
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, widget("ssa2", namespace))
    custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, PLURAL, "ssa2", {"status": {"conditions": [{"type": "A", "status": "True"}]}}
    )
    doc = {
        "apiVersion": "test.sreops.io/v1",
        "kind": "Widget",
        "metadata": {"name": "ssa2"},
        "status": {"conditions": [{"type": "B", "status": "False"}]},
    }
    resp = http.request(
        "PATCH",
        _url(namespace, "ssa2", "status") + "?fieldManager=ctl&force=true",
        raw=json.dumps(doc).encode(),
        content_type="application/apply-patch+yaml",
    )
    assert resp.status == 200
    assert [c["type"] for c in resp.body["status"]["conditions"]] == ["A", "B"]
