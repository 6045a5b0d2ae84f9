"""Where a resource acts: its AWSAccount (or the operator's own credentials) and its regions.

`placements()` turns `spec.accountRef` + `spec.regions` into (access, account id, region) triples. A
missing AWSAccount is the referencing resource's InvalidSpec; an AWSAccount that exists but is not Ready
(its role cannot be assumed) makes the referencing resource not Ready with the account's own reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubernetes import client

from sreops.operator.api import AWSAccountSpec, SpecError
from sreops.operator.api.common import ObjectRef
from sreops.operator.api.conditions import READY, get_condition
from sreops.operator.aws import sts
from sreops.operator.aws.clients import OWN_CREDENTIALS, Access, ClientFactory
from sreops.operator.kube import SecretMissingError, get_object, read_secret_value


class AccountNotReadyError(Exception):
    """The referenced AWSAccount exists but cannot be used yet."""

    def __init__(self, account: str, reason: str, message: str) -> None:
        super().__init__(f"AWSAccount {account}: {message}")
        self.reason = reason
        self.message = f"AWSAccount {account}: {message}"


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
            raise SpecError("spec.externalIdSecretRef", str(exc)) from None
    return Access(role_arn=spec.role_arn, external_id=external_id, session_seconds=spec.session_duration_seconds)


def _account(api: client.ApiClient, namespace: str, ref: ObjectRef) -> tuple[dict[str, Any], AWSAccountSpec]:
    obj = get_object(api, "AWSAccount", namespace, ref.name)
    if obj is None:
        raise SpecError("spec.accountRef.name", f"AWSAccount {ref.name!r} not found in namespace {namespace!r}")
    try:
        spec = AWSAccountSpec.model_validate(obj.get("spec") or {})
    except ValueError:
        raise AccountNotReadyError(ref.name, "InvalidSpec", "its spec is invalid") from None
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
    obj, spec = _account(api, namespace, account_ref)
    status = obj.get("status") or {}
    ready = get_condition(status, READY) or {}
    generation = (obj.get("metadata") or {}).get("generation")
    if ready.get("status") != "True" or status.get("observedGeneration") != generation:
        raise AccountNotReadyError(
            account_ref.name,
            str(ready.get("reason") or "AccountNotReadyError"),
            str(ready.get("message") or "not verified yet"),
        )
    try:
        access = access_for(api, namespace, spec)
    except SpecError as exc:
        raise AccountNotReadyError(account_ref.name, "InvalidSpec", exc.message) from None
    chosen = regions or spec.regions or [default_region]
    return [Placement(access, str(status["accountId"]), r) for r in chosen]
