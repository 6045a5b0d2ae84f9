"""PatchPolicy controller. Today: validation and the InvalidSpec contract.

Seam for the AWS work: `reconcile` is where the baseline, patch group, maintenance window, target and task
are kept in SSM.
"""

from __future__ import annotations

import kopf

from sreops.operator.api import KINDS, PatchPolicySpec
from sreops.operator.api.conditions import READY
from sreops.operator.controllers.base import Context, register_reconcile
from sreops.operator.settings import Settings

KIND = KINDS["PatchPolicy"]


def reconcile(spec: PatchPolicySpec, ctx: Context) -> None:
    ctx.set_condition(READY, "Unknown", "SpecAccepted", "spec is valid; the PatchPolicy controller is not active yet")


def register(registry: kopf.OperatorRegistry, settings: Settings) -> None:
    register_reconcile(registry, settings, KIND, PatchPolicySpec, reconcile)
