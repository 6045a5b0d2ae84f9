"""AWSAccount controller: assume the account's role with STS and record who we are there.

Ready=True with `status.accountId` once sts:GetCallerIdentity answers through the assumed role;
Ready=False with AssumeRoleFailed (or AccessDenied for the operator's own credentials) and AWS's message
otherwise, retried slowly; SecretNotFound while the external id's Secret does not exist (a wait). The external
id is read from its Secret on every reconcile and never logged.

Deleting an account that PatchPolicies or ScanSchedules still name waits for them to go (condition
Terminating=True, reason InUse; Ready is left as it is), like
Kubernetes' PVC protection: they need its credentials to delete what they created in AWS. Deleting the
namespace deletes them all, and the account goes last.
"""

from __future__ import annotations

import logging
from typing import Any

import kopf

from sreops.operator.accounts import access_for
from sreops.operator.api import GROUP, KINDS, VERSION, AWSAccountSpec
from sreops.operator.api.conditions import READY
from sreops.operator.api.reasons import ASSUME_ROLE_FAILED, IN_USE, VERIFIED
from sreops.operator.aws import sts
from sreops.operator.aws.errors import ErrorKind, classify, error_message, is_aws_error
from sreops.operator.controllers.base import Context, raise_for_aws_error, register_reconcile
from sreops.operator.kube import list_objects
from sreops.operator.services import Services
from sreops.operator.settings import Settings

KIND = KINDS["AWSAccount"]
USERS = ("PatchPolicy", "ScanSchedule")  # the kinds whose spec.accountRef names an account
IN_USE_RECHECK_SECONDS = 5.0
# Not Ready=False: the objects that name the account need it usable to delete what they created in AWS.
TERMINATING = "Terminating"


def reconcile(spec: AWSAccountSpec, ctx: Context) -> None:
    access = access_for(ctx.services.kube, ctx.namespace, spec)
    region = (spec.regions or [ctx.settings.default_region])[0]
    try:
        account = sts.account_id(ctx.services.aws, access, region, fresh=True)  # verifies: not the cached id
    except Exception as exc:
        if not is_aws_error(exc):
            raise
        ctx.services.aws.forget(access)  # a later attempt assumes the role afresh
        # Refused, or an external id AWS cannot take (read from a Secret, so fixing it needs no spec change).
        if classify(exc) in (ErrorKind.ACCESS_DENIED, ErrorKind.INVALID) and spec.role_arn:
            message = f"cannot assume {spec.role_arn}: {error_message(exc)}"
            ctx.set_condition(READY, "False", ASSUME_ROLE_FAILED, message)
            raise kopf.TemporaryError(message, delay=ctx.settings.resync_seconds) from exc
        raise_for_aws_error(exc, ctx, "verifying the account's credentials")
    ctx.set_status("accountId", account)
    ctx.set_condition(READY, "True", VERIFIED, f"acting in account {account} as {access.describe()}")


def users(services: Services, namespace: str, name: str) -> list[str]:
    """`Kind/name` of every object in the namespace whose spec.accountRef names this account."""
    found = []
    for kind in USERS:
        for obj in list_objects(services.kube, kind, namespace):
            if ((obj.get("spec") or {}).get("accountRef") or {}).get("name") == name:
                found.append(f"{kind}/{obj['metadata']['name']}")
    return found


def delete(
    *, body: kopf.Body, patch: kopf.Patch, memo: Any, logger: logging.Logger | logging.LoggerAdapter[Any], **_: Any
) -> None:
    ctx = Context(body=body, patch=patch, services=memo["services"], logger=logger)
    still = users(ctx.services, ctx.namespace, ctx.name)
    if still:
        message = f"still used by {', '.join(still[:10])}{' and more' if len(still) > 10 else ''}; deleted after them"
        ctx.set_condition(TERMINATING, "True", IN_USE, message)
        raise kopf.TemporaryError(message, delay=IN_USE_RECHECK_SECONDS)


def register(registry: kopf.OperatorRegistry, settings: Settings) -> None:
    register_reconcile(registry, settings, KIND, AWSAccountSpec, reconcile)
    kopf.on.delete(GROUP, VERSION, KIND.plural, registry=registry, id="in-use")(delete)
