"""Notifier controller: checks the destinations (Slack: the token's Secret, `auth.test`, the channel found and
the bot in it; Teams: the webhook's Secret holds an http(s) URL) and runs one delivery loop per Notifier that
sends the selected resources' events once (operator/notify/).

Ready=True (`Connected`) when every destination passed; Ready=False with `SecretNotFound` (a wait),
`SlackRejected` / `TeamsRejected` (with Slack's error code or the webhook's problem) or `ChatUnavailable`.
Secrets are read when needed and never logged; status carries `sent`, `failed` and `lastSentTime`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

import kopf
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from sreops.bots.notify.slack_sender import SlackError, SlackSender, SlackUnavailableError
from sreops.bots.notify.teams_sender import TeamsError, WorkflowWebhook
from sreops.operator.api import GROUP, KINDS, VERSION, NotifierSpec, SpecError, parse_spec
from sreops.operator.api.common import SecretKeyRef
from sreops.operator.api.conditions import READY, is_true_for_generation
from sreops.operator.api.reasons import CHAT_UNAVAILABLE, CONNECTED, SECRET_NOT_FOUND, SLACK_REJECTED, TEAMS_REJECTED
from sreops.operator.controllers.base import Context, register_reconcile
from sreops.operator.kube import SecretMissingError, read_secret_value
from sreops.operator.notify.delivery import Delivery, Destinations
from sreops.operator.notify.ledger import LedgerStore
from sreops.operator.services import Services
from sreops.operator.settings import Settings
from sreops.operator.waiting import WaitingError

KIND = KINDS["Notifier"]
SOURCE_KINDS = ("AWSAccount", "PatchPolicy", "PatchRun", "ScanSchedule")
Logger = logging.Logger | logging.LoggerAdapter[Any]


def secret_refs(spec: NotifierSpec) -> list[tuple[str, SecretKeyRef]]:
    """(field path, reference) of every Secret the Notifier reads."""
    refs = []
    if spec.slack is not None:
        refs.append(("spec.slack.tokenSecretRef", spec.slack.token_secret_ref))
    if spec.teams is not None:
        refs.append(("spec.teams.webhookSecretRef", spec.teams.webhook_secret_ref))
    return refs


def _secret(services: Services, namespace: str, field: str, ref: SecretKeyRef) -> str:
    try:
        return read_secret_value(services.kube, namespace, ref.name, ref.key)
    except SecretMissingError as exc:
        raise WaitingError(SECRET_NOT_FOUND, f"{field}: {exc}") from None


def destinations(services: Services, namespace: str, spec: NotifierSpec) -> tuple[Destinations, list[str]]:
    """The Notifier's destinations, checked; returns them with a line per destination that is fine."""
    out = Destinations(guard=services.fence.check)
    ok: list[str] = []
    if spec.slack is not None:
        token = _secret(services, namespace, "spec.slack.tokenSecretRef", spec.slack.token_secret_ref)
        sender = SlackSender(token, base_url=services.settings.slack_api_url)
        check = sender.check(spec.slack.channel)
        out.slack, out.slack_channel = sender, check.channel.id
        ok.append(f"Slack: bot in {spec.slack.channel} ({check.channel.id})")
    if spec.teams is not None:
        url = _secret(services, namespace, "spec.teams.webhookSecretRef", spec.teams.webhook_secret_ref)
        out.teams = WorkflowWebhook(url)
        ok.append(out.teams.description)
    return out, ok


def reconcile(spec: NotifierSpec, ctx: Context) -> None:
    try:
        _, ok = destinations(ctx.services, ctx.namespace, spec)
    # Not kopf retries: the answer is on Ready, and the resync checks again (a token or channel is fixed in
    # Slack, not in the spec).
    except SlackUnavailableError as exc:
        ctx.set_condition(READY, "False", CHAT_UNAVAILABLE, f"Slack: {exc}")
        return
    except SlackError as exc:
        ctx.set_condition(READY, "False", SLACK_REJECTED, f"Slack: {exc}")
        return
    except TeamsError as exc:
        ctx.set_condition(READY, "False", TEAMS_REJECTED, f"Teams: {exc}")
        return
    ctx.set_condition(READY, "True", CONNECTED, "; ".join(ok))


# -- delivery ---------------------------------------------------------------------------------------------


def _source_index_id(kind: str) -> str:
    return f"notify_sources_{KINDS[kind].plural}"


def _register_source_index(registry: kopf.OperatorRegistry, kind: str) -> None:
    # async: kopf runs it on its loop for every watch event, without a round trip through its thread pool.
    async def index(*, namespace: str | None, body: kopf.Body, **_: Any) -> Any:
        meta = body.get("metadata") or {}
        small = {
            "kind": kind,
            "metadata": {
                "name": meta.get("name"),
                "namespace": namespace,
                "uid": meta.get("uid"),
                "generation": meta.get("generation"),
                "labels": dict(meta.get("labels") or {}),
            },
            "spec": dict(body.get("spec") or {}),
            "status": dict(body.get("status") or {}),
        }
        return {namespace: small}

    kopf.index(GROUP, VERSION, KINDS[kind].plural, registry=registry, id=_source_index_id(kind))(index)


def _sources(kwargs: Mapping[str, Any], namespace: str) -> Iterator[Mapping[str, Any]]:
    for kind in SOURCE_KINDS:
        yield from (kwargs.get(_source_index_id(kind)) or {}).get(namespace, [])


def _write_status(api: client.ApiClient, namespace: str, name: str, delivery: Delivery) -> None:
    sent, failed = delivery.totals
    body = {"status": {"sent": sent, "failed": failed, "lastSentTime": delivery.last_sent}}
    client.CustomObjectsApi(api).patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, KIND.plural, name, body
    )


def deliver(*, stopped: kopf.DaemonStopped, body: kopf.Body, memo: Any, logger: Logger, **kwargs: Any) -> None:
    """One Notifier's delivery loop (a kopf daemon: a thread per Notifier, stopped when it is deleted)."""
    services: Services = memo["services"]
    meta = body["metadata"]
    namespace, name, uid = str(meta["namespace"]), str(meta["name"]), str(meta["uid"])
    delivery: Delivery | None = None
    generation = None
    status = body.get("status") or {}
    # The ledger keeps the totals with the entries they count; status only shows them (and seeds a ledger
    # written before totals were kept).
    shown = int(status.get("sent") or 0), int(status.get("failed") or 0)
    while not stopped:
        if services.departures.gone(body):
            return  # relabelled to another shard: its new shard delivers (shards.py)
        wait = services.settings.notify_poll_seconds
        try:
            if not is_true_for_generation(body, READY):
                delivery, generation = None, None
            else:
                if delivery is None or generation != meta.get("generation"):
                    spec = parse_spec(NotifierSpec, body.get("spec"))
                    to, _ = destinations(services, namespace, spec)
                    store = LedgerStore(services.kube, namespace, name, uid)
                    delivery = Delivery(store, spec, to, logger, services.metrics, carried=shown)
                    generation = meta.get("generation")
                result = delivery.step(_sources(kwargs, namespace))
                for line in result.failed:
                    kopf.warn(body, reason="NotificationFailed", message=line[:1000])
                if delivery.totals != shown:
                    _write_status(services.kube, namespace, name, delivery)
                    shown = delivery.totals
                wait = max(wait, result.wait)
        except (SpecError, WaitingError, SlackError, TeamsError, ApiException) as exc:
            # The reconcile reports these on Ready; the loop tries again after a pause.
            logger.warning("notifications paused: %s", exc)
            delivery = None
            wait = max(wait, 10.0)
        stopped.wait(wait)
    services.metrics.forget_notifier(namespace, name)


def register(registry: kopf.OperatorRegistry, settings: Settings) -> None:
    register_reconcile(registry, settings, KIND, NotifierSpec, reconcile)
    for kind in SOURCE_KINDS:
        _register_source_index(registry, kind)
    kopf.daemon(GROUP, VERSION, KIND.plural, registry=registry, id="deliver", cancellation_timeout=10.0)(deliver)
