"""STS: who we are in an account."""

from __future__ import annotations

from sreops.operator.aws.clients import Access, ClientFactory
from sreops.operator.aws.permissions import requires


@requires("sts:GetCallerIdentity", "sts:AssumeRole")
def account_id(factory: ClientFactory, access: Access, region: str, *, fresh: bool = False) -> str:
    """The account the access acts in (assuming its role first, if it has one).

    Asked once per access and then kept by the factory (an access's account never changes); `fresh=True`
    asks again, for a caller whose job is to verify that the credentials still work.
    """

    def ask() -> str:
        identity = factory.client("sts", region, access).get_caller_identity()
        return str(identity["Account"])

    if fresh:
        factory.account_ids.forget(access)
    return factory.account_ids.get(access, ask)
