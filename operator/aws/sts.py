"""STS: who we are in an account."""

from __future__ import annotations

from sreops.operator.aws.clients import Access, ClientFactory
from sreops.operator.aws.permissions import requires


@requires("sts:GetCallerIdentity", "sts:AssumeRole")
def account_id(factory: ClientFactory, access: Access, region: str) -> str:
    """The account the access acts in (assuming its role first, if it has one)."""
    identity = factory.client("sts", region, access).get_caller_identity()
    return str(identity["Account"])
