"""Writes: run now, scan now, pause and resume, each made as the actor (impersonated) with a JSON merge patch.

- run_now / scan_now set a new unique value of `sreops.io/run-now` / `sreops.io/scan-now` per call (UTC time
  plus a random suffix), so each call starts exactly one run or sweep: the operator acts once per value.
  The run's name is computed from the uid of the object the patch answered with, so it is the policy the
  operator sees even if it was deleted and created again meanwhile.
- set_suspend reads spec.suspend and writes it with the resourceVersion it read (a 409 is re-read and tried
  once more), so `changed` is exact when two people pause at once.
- None of them writes the audit Event: the caller calls `audit()` after a write succeeds (with its own
  identity and its component name).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any, cast

from kubernetes.client import ApiClient, CustomObjectsApi

from sreops.bots.actions.errors import ActionError, calling, conflict_retried
from sreops.bots.actions.identity import Actor, impersonating
from sreops.bots.actions.kinds import kind_view
from sreops.bots.actions.names import namespace_name, object_name
from sreops.bots.actions.reads import get_object, not_found
from sreops.bots.actions.views import RunRequested, ScanRequested, SuspendChanged
from sreops.operator.api import GROUP, VERSION
from sreops.operator.runs.plan import RUN_NOW_ANNOTATION, RUN_NOW_BY_ANNOTATION, run_now_name

# The operator's controllers.scanschedule.SCAN_NOW_ANNOTATION (bots do not import the controllers).
SCAN_NOW_ANNOTATION = "sreops.io/scan-now"


def request_value(now: datetime | None = None) -> str:
    """A new request value: ``20260105T142501Z-3f9a1c`` (23 characters: under the operator's 64 for scan-now,
    so status.scanNowHandled holds it as written)."""
    when = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{when:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def _patch(api: ApiClient, kind: str, namespace: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
    plural = kind_view(kind).plural
    try:
        patched = calling(
            lambda: CustomObjectsApi(api).patch_namespaced_custom_object(GROUP, VERSION, namespace, plural, name, body)
        )
    except ActionError as exc:
        if exc.status == 404:
            raise not_found(kind, namespace, name) from None
        raise
    return cast(dict[str, Any], patched)


def run_now(api: ApiClient, namespace: str, policy: str, actor: Actor) -> RunRequested:
    """Starts one run of a PatchPolicy; `run` is the PatchRun the operator will create for it."""
    namespace_name(namespace)
    object_name(policy, "policy")
    value = request_value()
    annotations = {RUN_NOW_ANNOTATION: value, RUN_NOW_BY_ANNOTATION: actor.requested_by()}
    patched = _patch(
        impersonating(api, actor), "PatchPolicy", namespace, policy, {"metadata": {"annotations": annotations}}
    )
    uid = str((patched.get("metadata") or {}).get("uid") or "")
    return RunRequested(namespace, policy, value, run_now_name(policy, uid, value))


def scan_now(api: ApiClient, namespace: str, schedule: str, actor: Actor) -> ScanRequested:
    """Starts one sweep of a ScanSchedule (also while it is suspended: it is an explicit request)."""
    namespace_name(namespace)
    object_name(schedule, "schedule")
    value = request_value()
    body = {"metadata": {"annotations": {SCAN_NOW_ANNOTATION: value}}}
    _patch(impersonating(api, actor), "ScanSchedule", namespace, schedule, body)
    return ScanRequested(namespace, schedule, value)


def set_suspend(api: ApiClient, namespace: str, policy: str, suspend: bool, actor: Actor) -> SuspendChanged:
    """Pauses (suspend=True) or resumes a PatchPolicy through spec.suspend."""
    namespace_name(namespace)
    object_name(policy, "policy")
    if not isinstance(suspend, bool):
        raise ActionError(400, "BadRequest", "suspend must be true or false", "suspend")
    client = impersonating(api, actor)
    view = kind_view("PatchPolicy")

    def attempt() -> SuspendChanged:
        current = get_object(client, view, namespace, policy)
        if bool((current.get("spec") or {}).get("suspend", False)) == suspend:
            return SuspendChanged(namespace, policy, suspend, changed=False)
        version = (current.get("metadata") or {}).get("resourceVersion")
        body = {"metadata": {"resourceVersion": version}, "spec": {"suspend": suspend}}
        _patch(client, "PatchPolicy", namespace, policy, body)
        return SuspendChanged(namespace, policy, suspend, changed=True)

    return conflict_retried(attempt)
