"""The audit trail: a Kubernetes Event on the object acted on, naming who did what through which channel.

Written with the caller's own identity (the gateway's or the CLI user's), not impersonated: chat users need
no right to write Events. `kubectl describe` and `kubectl get events` show it (involvedObject has the uid).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

from kubernetes.client import ApiClient, CoreV1Api

from sreops.bots.actions.errors import ActionError, calling, one_line
from sreops.bots.actions.identity import Actor
from sreops.bots.actions.kinds import BY_NAME
from sreops.bots.actions.names import namespace_name, object_name
from sreops.bots.actions.reads import get_object
from sreops.operator.api import API_VERSION

REASON = "ChatOpsAction"
MAX_MESSAGE = 1024  # events.k8s.io's limit on a note; kept for core Events too


def component(actor: Actor) -> str:
    return "sreops-cli" if actor.via == "cli" else "sreops-gateway"


def audit_message(actor: Actor, action: str, message: str) -> str:
    text = one_line(f"{action} by {actor.describe()}" + (f": {message}" if message else ""))
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def _involved(api: ApiClient, namespace: str, involved: Mapping[str, Any]) -> dict[str, Any]:
    kind = str(involved.get("kind") or "")
    name = object_name(involved.get("name"), "involved.name")
    ref = {
        "apiVersion": str(involved.get("apiVersion") or API_VERSION),
        "kind": kind,
        "name": name,
        "namespace": namespace,
    }
    uid = involved.get("uid")
    view = BY_NAME.get(kind.lower())
    if not uid and view is not None:  # kubectl describe finds events by uid too
        try:
            uid = (get_object(api, view, namespace, name).get("metadata") or {}).get("uid")
        except ActionError as exc:
            if exc.status != 404:
                raise
    if view is not None:
        ref["kind"] = view.kind
    if uid:
        ref["uid"] = str(uid)
    return ref


def audit(api: ApiClient, namespace: str, involved: dict[str, Any], actor: Actor, action: str, message: str) -> None:
    """A Normal Event, reason ChatOpsAction, source sreops-gateway (sreops-cli for the CLI), on `involved`
    (``{"kind": "PatchPolicy", "name": "web-fleet"}``; apiVersion and uid are filled in)."""
    namespace_name(namespace)
    if not str(involved.get("kind") or ""):
        raise ActionError(400, "BadRequest", "involved.kind is required", "involved.kind")
    ref = _involved(api, namespace, involved)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    source = component(actor)
    body = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{ref['name'][:230]}.{secrets.token_hex(8)}", "namespace": namespace},
        "involvedObject": ref,
        "type": "Normal",
        "reason": REASON,
        "message": audit_message(actor, action, message),
        "source": {"component": source},
        "reportingComponent": source,
        "reportingInstance": source,
        "action": action[:128],
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }
    calling(lambda: CoreV1Api(api).create_namespaced_event(namespace, cast(Any, body)))  # sent as it is
