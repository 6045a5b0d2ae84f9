"""Notifier controller. Today: validation and the InvalidSpec contract.

Seam for the AWS work: `reconcile` is where status changes are delivered to Slack and Teams.
"""

from __future__ import annotations

import kopf

from sreops.operator.api import KINDS, NotifierSpec
from sreops.operator.api.conditions import READY
from sreops.operator.controllers.base import Context, register_reconcile
from sreops.operator.settings import Settings

KIND = KINDS["Notifier"]


def reconcile(spec: NotifierSpec, ctx: Context) -> None:
    ctx.set_condition(READY, "Unknown", "SpecAccepted", "spec is valid; the Notifier controller is not active yet")


def register(registry: kopf.OperatorRegistry, settings: Settings) -> None:
    register_reconcile(registry, settings, KIND, NotifierSpec, reconcile)
