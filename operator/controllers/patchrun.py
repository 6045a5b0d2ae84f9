"""PatchRun controller. Today: validation and the InvalidSpec contract.

Seam for the AWS work: `reconcile` is where SendCommand runs AWS-RunPatchBaseline and the run's progress is tracked.
"""

from __future__ import annotations

import kopf

from sreops.operator.api import KINDS, PatchRunSpec
from sreops.operator.api.conditions import READY
from sreops.operator.controllers.base import Context, register_reconcile
from sreops.operator.settings import Settings

KIND = KINDS["PatchRun"]


def reconcile(spec: PatchRunSpec, ctx: Context) -> None:
    ctx.set_condition(READY, "Unknown", "SpecAccepted", "spec is valid; the PatchRun controller is not active yet")


def register(registry: kopf.OperatorRegistry, settings: Settings) -> None:
    register_reconcile(registry, settings, KIND, PatchRunSpec, reconcile)
