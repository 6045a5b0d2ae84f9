"""Notifier controller. Today: validation, the InvalidSpec contract, and the wait for its Secrets.

Seam for the delivery work: `reconcile` is where status changes are delivered to Slack and Teams.
"""

from __future__ import annotations

import kopf

from sreops.operator.api import KINDS, NotifierSpec
from sreops.operator.api.common import SecretKeyRef
from sreops.operator.api.conditions import READY
from sreops.operator.api.reasons import SECRET_NOT_FOUND, SPEC_ACCEPTED
from sreops.operator.controllers.base import Context, register_reconcile
from sreops.operator.kube import SecretMissingError, read_secret_value
from sreops.operator.settings import Settings
from sreops.operator.waiting import WaitingError

KIND = KINDS["Notifier"]


def secret_refs(spec: NotifierSpec) -> list[tuple[str, SecretKeyRef]]:
    """(field path, reference) of every Secret the Notifier reads."""
    refs = []
    if spec.slack is not None:
        refs.append(("spec.slack.tokenSecretRef", spec.slack.token_secret_ref))
    if spec.teams is not None:
        refs.append(("spec.teams.webhookSecretRef", spec.teams.webhook_secret_ref))
    return refs


def reconcile(spec: NotifierSpec, ctx: Context) -> None:
    for field, ref in secret_refs(spec):
        try:
            read_secret_value(ctx.services.kube, ctx.namespace, ref.name, ref.key)  # the value is not kept
        except SecretMissingError as exc:
            raise WaitingError(SECRET_NOT_FOUND, f"{field}: {exc}") from None
    ctx.set_condition(READY, "Unknown", SPEC_ACCEPTED, "spec is valid; the Notifier controller is not active yet")


def register(registry: kopf.OperatorRegistry, settings: Settings) -> None:
    register_reconcile(registry, settings, KIND, NotifierSpec, reconcile)
