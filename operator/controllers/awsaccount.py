"""AWSAccount controller. Today: validation and the InvalidSpec contract.

Seam for the AWS work: `reconcile` is where the account's role is assumed with STS and status.accountId filled.
"""

from __future__ import annotations

import kopf

from sreops.operator.api import KINDS, AWSAccountSpec
from sreops.operator.api.conditions import READY
from sreops.operator.controllers.base import Context, register_reconcile

KIND = KINDS["AWSAccount"]


def reconcile(spec: AWSAccountSpec, ctx: Context) -> None:
    ctx.set_condition(READY, "Unknown", "SpecAccepted", "spec is valid; the AWSAccount controller is not active yet")


def register(registry: kopf.OperatorRegistry) -> None:
    register_reconcile(registry, KIND, AWSAccountSpec, reconcile)
