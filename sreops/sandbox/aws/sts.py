"""STS in front of moto: AssumeRole succeeds only for a scenario account's role (and external id),
otherwise AccessDenied exactly as AWS words it; moto then issues the credentials and maps them to
the role's account, which is how every later call acts as that account."""

from __future__ import annotations

from moto.iam.models import get_account_id_from, iam_backends
from moto.sts.models import sts_backends

from .errors import AwsError
from .scenario import Scenario

SANDBOX_USER = "sreops-sandbox"


def register_home_credentials(scenario: Scenario, access_key_id: str, secret: str) -> None:
    """Make the sandbox's own key a real IAM user's key in the home account, so moto maps it there
    and GetCallerIdentity answers that user's ARN."""
    iam = iam_backends[scenario.home_account]["aws"]
    if SANDBOX_USER not in iam.users:
        iam.create_user(region_name="us-east-1", user_name=SANDBOX_USER)
    key = iam.create_access_key(SANDBOX_USER)
    iam.access_keys.pop(key.physical_resource_id, None)
    key.access_key_id = access_key_id
    key.secret_access_key = secret
    iam.access_keys[access_key_id] = key


def caller_arn(access_key_id: str) -> str:
    account = get_account_id_from(access_key_id)
    role = sts_backends[account]["aws"].get_assumed_role_from_access_key(access_key_id)
    if role is not None:
        return str(role.arn)
    user = iam_backends[account]["aws"].get_user_from_access_key_id(access_key_id)
    return str(user.arn) if user is not None else f"arn:aws:iam::{account}:user/{SANDBOX_USER}"


def check_assume_role(scenario: Scenario, access_key_id: str, params: dict[str, str]) -> None:
    """Raise AccessDenied unless RoleArn is a scenario account's role and the external id matches."""
    role_arn = params.get("RoleArn", "")
    external_id = params.get("ExternalId")
    account = next((a for a in scenario.accounts if a.role_arn == role_arn), None)
    if account is None or (account.external_id is not None and account.external_id != external_id):
        raise AwsError(
            "AccessDenied",
            f"User: {caller_arn(access_key_id)} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
            403,
        )
