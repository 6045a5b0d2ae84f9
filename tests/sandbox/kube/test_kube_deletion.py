"""Deletion: finalizers, deletionTimestamp, ownerReference garbage collection, namespaces."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from tests.sandbox.kube.helpers import GROUP, PLURAL, VERSION, eventually, widget

pytestmark = pytest.mark.usefixtures("widget_crd")


def _gone(custom: k8s.CustomObjectsApi, namespace: str, name: str) -> bool:
    try:
        custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    except ApiException as exc:
        return exc.status == 404
    return False


def _owned(name: str, namespace: str, owner: dict[str, Any]) -> dict[str, Any]:
    body = widget(name, namespace)
    body["metadata"]["ownerReferences"] = [
        {
            "apiVersion": owner["apiVersion"],
            "kind": owner["kind"],
            "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"],
            "blockOwnerDeletion": True,
            "controller": True,
        }
    ]
    return body


def test_finalizers_hold_the_object_until_removed(custom: k8s.CustomObjectsApi, namespace: str) -> None:
    """Real: DELETE on an object with finalizers sets deletionTimestamp (and deletionGracePeriodSeconds)
    and keeps it; removing the last finalizer deletes it."""
    body = widget("fin", namespace)
    body["metadata"]["finalizers"] = ["test.sreops.io/hold"]
    created = custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
    deleting = custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "fin")
    assert deleting["metadata"]["deletionTimestamp"]
    assert deleting["metadata"]["deletionGracePeriodSeconds"] == 0
    # Real (markAsDeleting): the first deletion bumps the generation; later ones do not.
    assert deleting["metadata"]["generation"] == created["metadata"]["generation"] + 1
    again = custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "fin")
    assert again["metadata"]["deletionTimestamp"] == deleting["metadata"]["deletionTimestamp"]
    assert again["metadata"]["generation"] == deleting["metadata"]["generation"]
    with pytest.raises(ApiException) as err:
        custom.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, "fin", {"metadata": {"finalizers": ["test.sreops.io/hold", "new/one"]}}
        )
    assert err.value.status == 422  # no new finalizers once deletion started
    current = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "fin")
    assert current["metadata"]["finalizers"] == ["test.sreops.io/hold"]
    custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "fin", {"metadata": {"finalizers": None}})
    assert _gone(custom, namespace, "fin")


def test_delete_without_finalizers_is_immediate(custom: k8s.CustomObjectsApi, namespace: str) -> None:
    """Real: without finalizers the object is removed at once; a second DELETE is 404."""
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, widget("now", namespace))
    custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "now")
    assert _gone(custom, namespace, "now")
    with pytest.raises(ApiException) as err:
        custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "now")
    assert err.value.status == 404


def test_delete_preconditions(custom: k8s.CustomObjectsApi, namespace: str) -> None:
    """Real: DeleteOptions.preconditions.uid / resourceVersion that do not match give 409 Conflict."""
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, widget("pre", namespace))
    with pytest.raises(ApiException) as err:
        custom.delete_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, "pre", body={"preconditions": {"uid": "other"}}
        )
    assert err.value.status == 409


def test_owner_deletion_collects_dependents_in_background(custom: k8s.CustomObjectsApi, namespace: str) -> None:
    """Real: the garbage collector deletes dependents whose owners are all gone (background
    propagation: the owner goes first, dependents shortly after)."""
    owner = custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, widget("owner", namespace))
    for i in range(3):
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, _owned(f"dep{i}", namespace, owner))
    custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "owner")
    eventually(lambda: all(_gone(custom, namespace, f"dep{i}") for i in range(3)))


def test_foreground_deletion_waits_for_dependents(custom: k8s.CustomObjectsApi, namespace: str) -> None:
    """Real: propagationPolicy=Foreground puts the `foregroundDeletion` finalizer on the owner, deletes
    the dependents, then the owner; a dependent's own finalizer keeps the owner around."""
    owner = custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, widget("fg", namespace))
    dep = _owned("fg-dep", namespace, owner)
    dep["metadata"]["finalizers"] = ["test.sreops.io/hold"]
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, dep)
    result = custom.delete_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, "fg", body={"propagationPolicy": "Foreground"}
    )
    assert "foregroundDeletion" in result["metadata"]["finalizers"]
    eventually(
        lambda: bool(
            custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "fg-dep")["metadata"].get(
                "deletionTimestamp"
            )
        )
    )
    assert not _gone(custom, namespace, "fg")
    custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, "fg-dep", {"metadata": {"finalizers": None}}
    )
    eventually(lambda: _gone(custom, namespace, "fg") and _gone(custom, namespace, "fg-dep"))


def test_orphan_deletion_keeps_dependents(custom: k8s.CustomObjectsApi, namespace: str) -> None:
    """Real: propagationPolicy=Orphan removes the owner's reference from dependents and keeps them."""
    owner = custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, widget("orph", namespace))
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, _owned("orph-dep", namespace, owner))
    custom.delete_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, "orph", body={"propagationPolicy": "Orphan"}
    )
    eventually(lambda: _gone(custom, namespace, "orph"))
    dep = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "orph-dep")
    assert not dep["metadata"].get("ownerReferences")
