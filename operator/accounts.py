"""Where a resource acts: its AWSAccount (or the operator's own credentials) and its regions.

`placements()` turns `spec.accountRef` + `spec.regions` into (access, account id, region) triples. A
missing AWSAccount is a wait (`AccountNotFound`), and so is one that exists but is not Ready yet
(`AccountNotReady`, with the account's own reason in the message): the referencing resource is reconciled
again when the account appears or becomes Ready.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubernetes import client

from sreops.operator.api import AWSAccountSpec
from sreops.operator.api.common import ObjectRef
from sreops.operator.api.conditions import READY, get_condition
from sreops.operator.api.reasons import ACCOUNT_NOT_FOUND, ACCOUNT_NOT_READY, SECRET_NOT_FOUND
from sreops.operator.aws import sts
from sreops.operator.aws.clients import OWN_CREDENTIALS, Access, ClientFactory
from sreops.operator.kube import SecretMissingError, get_object, read_secret_value
from sreops.operator.waiting import WaitingError


class AccountNotReadyError(WaitingError):
    """The referenced AWSAccount does not exist (AccountNotFound) or cannot be used yet (AccountNotReady)."""

    def __init__(self, account: str, reason: str, message: str) -> None:
        super().__init__(reason, f"AWSAccount {account}: {message}")


@dataclass(frozen=True)
class Placement:
    access: Access
    account_id: str
    region: str


def access_for(api: client.ApiClient, namespace: str, spec: AWSAccountSpec) -> Access:
    """The Access an AWSAccount spec describes; reads the external id from its Secret if it names one."""
    external_id = spec.external_id
    if spec.external_id_secret_ref is not None:
        ref = spec.external_id_secret_ref
        try:
            external_id = read_secret_value(api, namespace, ref.name, ref.key)
        except SecretMissingError as exc:
            raise WaitingError(SECRET_NOT_FOUND, f"spec.externalIdSecretRef: {exc}") from None
    return Access(role_arn=spec.role_arn, external_id=external_id, session_seconds=spec.session_duration_seconds)


def _account(api: client.ApiClient, namespace: str, ref: ObjectRef) -> tuple[dict[str, Any], AWSAccountSpec]:
    obj = get_object(api, "AWSAccount", namespace, ref.name)
    if obj is None:
        raise AccountNotReadyError(
            ref.name, ACCOUNT_NOT_FOUND, f"not found in namespace {namespace!r}; waiting for it (spec.accountRef.name)"
        )
    try:
        spec = AWSAccountSpec.model_validate(obj.get("spec") or {})
    except ValueError:
        raise AccountNotReadyError(ref.name, ACCOUNT_NOT_READY, "its spec is invalid") from None
    return obj, spec


def usable_account(api: client.ApiClient, namespace: str, ref: ObjectRef) -> tuple[dict[str, Any], AWSAccountSpec]:
    """The referenced AWSAccount if it exists and is Ready for its current spec; a wait otherwise."""
    obj, spec = _account(api, namespace, ref)
    status = obj.get("status") or {}
    ready = get_condition(status, READY) or {}
    meta = obj.get("metadata") or {}
    verified = status.get("observedGeneration") == meta.get("generation")
    if meta.get("deletionTimestamp"):
        # Marking it deleted bumped its generation, and a deleting account is not verified again: the last
        # verification stands while the objects that name it clean up (its deletion waits for them).
        verified = status.get("observedGeneration") is not None
    if ready.get("status") != "True" or not verified:
        if ready.get("status") == "False" and ready.get("reason"):
            why = f"not Ready ({ready['reason']}: {ready.get('message', '')})"
        else:
            why = "not verified yet"  # new, or its spec changed since it was last verified
        raise AccountNotReadyError(ref.name, ACCOUNT_NOT_READY, why)
    return obj, spec


def placements(
    api: client.ApiClient,
    factory: ClientFactory,
    default_region: str,
    namespace: str,
    account_ref: ObjectRef | None,
    regions: list[str],
) -> list[Placement]:
    if account_ref is None:
        chosen = regions or [default_region]
        account_id = sts.account_id(factory, OWN_CREDENTIALS, chosen[0])
        return [Placement(OWN_CREDENTIALS, account_id, r) for r in chosen]
    obj, spec = usable_account(api, namespace, account_ref)
    status = obj["status"]
    uid = str(obj["metadata"].get("uid", ""))
    try:
        access = access_for(api, namespace, spec)
    except WaitingError as exc:
        if not obj["metadata"].get("deletionTimestamp"):
            raise AccountNotReadyError(account_ref.name, ACCOUNT_NOT_READY, exc.message) from None
        remembered = factory.remembered_access(uid)
        if remembered is None:  # e.g. the operator restarted during a namespace deletion
            raise AccountNotReadyError(
                account_ref.name, ACCOUNT_NOT_FOUND, f"is being deleted and its credentials are gone ({exc.message})"
            ) from None
        access = remembered
    factory.remember_access(uid, access)
    chosen = regions or spec.regions or [default_region]
    return [Placement(access, str(status["accountId"]), r) for r in chosen]
