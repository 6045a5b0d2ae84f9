"""PatchRun objects through the Kubernetes API: create (idempotently), status writes, pruning, and the
two things a run writes on its policy (`status.lastRun` and the scheduled-execution watermark).

Writes here go straight to the API server instead of through kopf's end-of-handler patch, because the
exactly-once guarantees depend on their order: a command id is stored before the next command is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from sreops.operator.api import API_VERSION, GROUP, KINDS, VERSION
from sreops.operator.kube import NOT_FOUND, get_object

CONFLICT = 409
RUNS = KINDS["PatchRun"].plural
POLICIES = KINDS["PatchPolicy"].plural


def _api(api: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api)


def owner_reference(policy: Mapping[str, Any]) -> dict[str, Any]:
    meta = policy["metadata"]
    return {
        "apiVersion": API_VERSION,
        "kind": "PatchPolicy",
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def new_run(
    policy: Mapping[str, Any],
    name: str,
    spec: Mapping[str, Any],
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    meta = policy["metadata"]
    labels = {k: v for k, v in (meta.get("labels") or {}).items()}  # notifiers select runs like their policy
    return {
        "apiVersion": API_VERSION,
        "kind": "PatchRun",
        "metadata": {
            "name": name,
            "namespace": meta["namespace"],
            "labels": labels,
            "annotations": dict(annotations or {}),
            "ownerReferences": [owner_reference(policy)],
        },
        "spec": dict(spec),
    }


def create_run(api: client.ApiClient, body: Mapping[str, Any]) -> bool:
    """True if created, False if a run of that name exists already (the deterministic name did its job)."""
    meta = body["metadata"]
    try:
        _api(api).create_namespaced_custom_object(GROUP, VERSION, meta["namespace"], RUNS, dict(body))
    except ApiException as exc:
        if exc.status == CONFLICT:
            return False
        raise
    return True


def get_run(api: client.ApiClient, namespace: str, name: str) -> dict[str, Any] | None:
    return get_object(api, "PatchRun", namespace, name)


def list_runs(api: client.ApiClient, namespace: str) -> list[dict[str, Any]]:
    listing = _api(api).list_namespaced_custom_object(GROUP, VERSION, namespace, RUNS)
    return cast(list[dict[str, Any]], cast(dict[str, Any], listing).get("items", []))


def patch_run_status(api: client.ApiClient, namespace: str, name: str, status: Mapping[str, Any]) -> None:
    """A merge patch of the run's status subresource (lists in it are replaced whole)."""
    _api(api).patch_namespaced_custom_object_status(GROUP, VERSION, namespace, RUNS, name, {"status": dict(status)})


def set_owner(api: client.ApiClient, run: Mapping[str, Any], policy: Mapping[str, Any]) -> None:
    """Makes a user-created run owned by its policy (garbage-collected with it), keeping other owners."""
    meta = run["metadata"]
    owners = [o for o in meta.get("ownerReferences") or [] if not o.get("controller")]
    body = {"metadata": {"ownerReferences": [*owners, owner_reference(policy)]}}
    _api(api).patch_namespaced_custom_object(GROUP, VERSION, meta["namespace"], RUNS, meta["name"], body)


def delete_run(api: client.ApiClient, run: Mapping[str, Any]) -> bool:
    """False if the run was gone already (or replaced by another of the same name)."""
    meta = run["metadata"]
    # The uid precondition makes sure a run re-created under the same name is not the one deleted.
    options = client.V1DeleteOptions(preconditions=client.V1Preconditions(uid=meta["uid"]))
    try:
        _api(api).delete_namespaced_custom_object(
            GROUP, VERSION, meta["namespace"], RUNS, meta["name"], body=options, propagation_policy="Background"
        )
    except ApiException as exc:
        if exc.status not in (NOT_FOUND, CONFLICT):
            raise
        return False
    return True


def set_last_run(api: client.ApiClient, namespace: str, policy: str, last_run: Mapping[str, Any]) -> None:
    """Only `status.lastRun` of the policy (a merge patch of its status subresource)."""
    body = {"status": {"lastRun": dict(last_run)}}
    try:
        _api(api).patch_namespaced_custom_object_status(GROUP, VERSION, namespace, POLICIES, policy, body)
    except ApiException as exc:
        if exc.status != NOT_FOUND:  # the policy is gone: nothing to report on
            raise


def annotate_policy(api: client.ApiClient, namespace: str, policy: str, key: str, value: str) -> None:
    body = {"metadata": {"annotations": {key: value}}}
    try:
        _api(api).patch_namespaced_custom_object(GROUP, VERSION, namespace, POLICIES, policy, body)
    except ApiException as exc:
        if exc.status != NOT_FOUND:  # the policy is gone (deleted while a timer ran): nothing to remember
            raise
