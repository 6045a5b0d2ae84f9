"""AWSAccount controller: assume the account's role with STS and record who we are there.

Ready=True with `status.accountId` once sts:GetCallerIdentity answers through the assumed role;
Ready=False with AssumeRoleFailed (or AccessDenied for the operator's own credentials) and AWS's message
otherwise, retried slowly. The external id is read from its Secret on every reconcile and never logged.
"""

from __future__ import annotations

import kopf

from sreops.operator.accounts import access_for
from sreops.operator.api import KINDS, AWSAccountSpec
from sreops.operator.api.conditions import READY
from sreops.operator.aws import sts
from sreops.operator.aws.errors import ErrorKind, classify, error_message, is_aws_error
from sreops.operator.controllers.base import Context, raise_for_aws_error, register_reconcile
from sreops.operator.settings import Settings

KIND = KINDS["AWSAccount"]


def reconcile(spec: AWSAccountSpec, ctx: Context) -> None:
    access = access_for(ctx.services.kube, ctx.namespace, spec)
    region = (spec.regions or [ctx.settings.default_region])[0]
    try:
        account = sts.account_id(ctx.services.aws, access, region, fresh=True)  # verifies: not the cached id
    except Exception as exc:
        if not is_aws_error(exc):
            raise
        ctx.services.aws.forget(access)  # a later attempt assumes the role afresh
        if classify(exc) is ErrorKind.ACCESS_DENIED and spec.role_arn:
            message = f"cannot assume {spec.role_arn}: {error_message(exc)}"
            ctx.set_condition(READY, "False", "AssumeRoleFailed", message)
            raise kopf.TemporaryError(message, delay=ctx.settings.resync_seconds) from exc
        raise_for_aws_error(exc, ctx, "verifying the account's credentials")
    ctx.patch.status["accountId"] = account
    ctx.set_condition(READY, "True", "Verified", f"acting in account {account} as {access.describe()}")


def register(registry: kopf.OperatorRegistry, settings: Settings) -> None:
    register_reconcile(registry, settings, KIND, AWSAccountSpec, reconcile)
