"""Objects waiting for a reference are reconciled as soon as it appears.

Each kind that names another object (PatchPolicy and ScanSchedule an AWSAccount, PatchRun a PatchPolicy,
AWSAccount and Notifier a Secret) has a kopf index of its objects that are waiting (`Ready=False` with a
waiting reason), keyed by what they wait for. A watch on each referenced kind looks its objects up there
when they change, and requests a reconcile of the waiting ones by setting the annotation
`sreops.io/reconcile-requested` (an update the reconcile handler reacts to; users may set it too, like
Flux's `reconcile.fluxcd.io/requestedAt`). A missed request is caught by the backoff retry in base.py.

An object whose request is still pending (kopf has not handled the annotation's current value yet) gets no
second one: that reconcile reads the reference fresh anyway. Without this, a busy referenced object (a
policy whose status changes at every resync) re-requested every waiting run at every change, and under
load those writes crowded out the reconciles they were asking for.

An object waiting because the reference does not exist is re-triggered when it appears; one waiting for the
reference to become usable (an AWSAccount Ready, a PatchPolicy in sync) when it is.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import kopf
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from sreops.operator.api import GROUP, KINDS, VERSION
from sreops.operator.api.conditions import READY, get_condition, is_true_for_generation, now_rfc3339
from sreops.operator.api.reasons import ACCOUNT_NOT_FOUND, POLICY_NOT_FOUND, SECRET_NOT_FOUND
from sreops.operator.controllers.base import is_waiting
from sreops.operator.controllers.patchpolicy import SYNCED
from sreops.operator.kopf_storage import handled_annotation
from sreops.operator.services import Services
from sreops.operator.settings import Settings

RECONCILE_REQUESTED = "sreops.io/reconcile-requested"
NOT_FOUND_REASONS = frozenset({ACCOUNT_NOT_FOUND, POLICY_NOT_FOUND, SECRET_NOT_FOUND})
Spec = Mapping[str, Any]
Logger = logging.Logger | logging.LoggerAdapter[Any]


def _name_at(spec: Spec, *path: str) -> str | None:
    value: Any = spec
    for part in path:
        value = value.get(part) if isinstance(value, Mapping) else None
    return str(value) if value else None


@dataclass(frozen=True)
class Dependency:
    """`kind` objects name a `target` object (kind `target`) in their spec at `paths`."""

    kind: str
    target: str
    paths: tuple[tuple[str, ...], ...]

    @property
    def index_id(self) -> str:
        return f"waiting_{KINDS[self.kind].plural}_on_{self.target.lower()}s"

    def names(self, spec: Spec) -> set[str]:
        return {n for p in self.paths if (n := _name_at(spec, *p))}


DEPENDENCIES = (
    Dependency("PatchPolicy", "AWSAccount", (("accountRef", "name"),)),
    Dependency("ScanSchedule", "AWSAccount", (("accountRef", "name"),)),
    Dependency("PatchRun", "PatchPolicy", (("policyRef", "name"),)),
    Dependency("AWSAccount", "Secret", (("externalIdSecretRef", "name"),)),
    Dependency("Notifier", "Secret", (("slack", "tokenSecretRef", "name"), ("teams", "webhookSecretRef", "name"))),
)


# When a referenced object is usable: what ends a wait that is not a NotFound.
USABLE: dict[str, Callable[[Mapping[str, Any]], bool]] = {
    "AWSAccount": lambda body: is_true_for_generation(body, READY),
    "PatchPolicy": lambda body: is_true_for_generation(body, SYNCED),
    "Secret": lambda body: True,
}


NOT_RECONCILED = ""  # no Ready condition yet: its first reconcile may be reading the reference right now


def waiting_reason(status: Mapping[str, Any] | None) -> str | None:
    """The wait of an object, NOT_RECONCILED if it has no Ready condition yet, None if it is not waiting.

    Objects not reconciled yet are indexed too: their first reconcile may have found the reference missing
    and written that, while the index (fed by another watch than the reference's) has not seen it yet."""
    ready = get_condition(status, READY)
    if ready is None:
        return NOT_RECONCILED
    return str(ready["reason"]) if is_waiting(status) else None


def to_request(waiting: Iterable[tuple[str, str, bool]], target_usable: bool) -> list[str]:
    """Names of the waiting (name, reason, request pending) entries a change of their target should re-trigger."""
    return sorted(
        {
            name
            for name, reason, pending in waiting
            if not pending and (target_usable or reason in NOT_FOUND_REASONS or reason == NOT_RECONCILED)
        }
    )


def request_pending(body: kopf.Body) -> bool:
    """A reconcile was requested and kopf has not handled that request yet."""
    requested = body.get("metadata", {}).get("annotations", {}).get(RECONCILE_REQUESTED)
    return requested is not None and requested != handled_annotation(body, RECONCILE_REQUESTED)


def request_reconcile(api: client.ApiClient, kind: str, namespace: str, name: str, why: str) -> None:
    body = {"metadata": {"annotations": {RECONCILE_REQUESTED: why}}}
    client.CustomObjectsApi(api).patch_namespaced_custom_object(
        GROUP, VERSION, namespace, KINDS[kind].plural, name, body
    )


def _register_index(registry: kopf.OperatorRegistry, dep: Dependency) -> None:
    # async (pure, brief): kopf runs it on its loop for every watch event, not through its thread pool.
    async def index(
        *, namespace: str | None, name: str, spec: kopf.Spec, status: kopf.Status, body: kopf.Body, **_: Any
    ) -> Any:
        reason = waiting_reason(status)
        if reason is None:
            return None
        pending = request_pending(body)
        return {(namespace, target): (name, reason, pending) for target in dep.names(dict(spec))}

    kopf.index(GROUP, VERSION, KINDS[dep.kind].plural, registry=registry, id=dep.index_id)(index)


def _register_watch(registry: kopf.OperatorRegistry, target: str, deps: list[Dependency]) -> None:
    # async: it runs for every event of the referenced kinds and usually finds nobody waiting; only the requests
    # (blocking API calls) go to a thread.
    async def on_change(*, type: str | None, body: kopf.Body, memo: Any, logger: Logger, **kwargs: Any) -> None:
        if type == "DELETED" or body.get("metadata", {}).get("deletionTimestamp"):
            return
        meta = body["metadata"]
        key = (meta["namespace"], meta["name"])
        usable = USABLE[target](body)
        services: Services = memo["services"]
        for dep in deps:
            names = to_request(kwargs[dep.index_id].get(key, []), usable)
            why = f"{now_rfc3339()} {target}/{meta['name']}@{meta.get('resourceVersion', '')}"
            for name in names:
                try:
                    await asyncio.to_thread(request_reconcile, services.kube, dep.kind, key[0], name, why)
                    logger.info("%s %s changed: reconciling %s %s, which waits for it", target, key[1], dep.kind, name)
                except ApiException as exc:  # gone meanwhile, or the API is busy: the retry timer catches it
                    logger.warning("cannot re-trigger %s %s: %s %s", dep.kind, name, exc.status, exc.reason)

    on_change.__name__ = f"reconcile_waiting_on_{target.lower()}"
    if target == "Secret":
        kopf.on.event("", "v1", "secrets", registry=registry, id="secret-references")(on_change)
    else:
        kopf.on.event(GROUP, VERSION, KINDS[target].plural, registry=registry, id="references")(on_change)


def register(registry: kopf.OperatorRegistry, settings: Settings) -> None:
    for dep in DEPENDENCIES:
        _register_index(registry, dep)
    for target in sorted({d.target for d in DEPENDENCIES}):
        _register_watch(registry, target, [d for d in DEPENDENCIES if d.target == target])
