"""ScanSchedule controller. Today: validation, the InvalidSpec contract, and the wait for its AWSAccount.

Seam for the AWS work: `reconcile` is where Inspector scanning is kept enabled and findings are swept on the schedule.
"""

from __future__ import annotations

import kopf

from sreops.operator.accounts import usable_account
from sreops.operator.api import KINDS, ScanScheduleSpec
from sreops.operator.api.conditions import READY
from sreops.operator.api.reasons import SPEC_ACCEPTED
from sreops.operator.controllers.base import Context, register_reconcile
from sreops.operator.settings import Settings

KIND = KINDS["ScanSchedule"]


def reconcile(spec: ScanScheduleSpec, ctx: Context) -> None:
    if spec.account_ref is not None:
        usable_account(ctx.services.kube, ctx.namespace, spec.account_ref)
    ctx.set_condition(READY, "Unknown", SPEC_ACCEPTED, "spec is valid; the ScanSchedule controller is not active yet")


def register(registry: kopf.OperatorRegistry, settings: Settings) -> None:
    register_reconcile(registry, settings, KIND, ScanScheduleSpec, reconcile)
