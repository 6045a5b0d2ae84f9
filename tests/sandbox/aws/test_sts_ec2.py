"""STS AssumeRole into scenario accounts and EC2 as moto serves it for the fleet."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from sreops.sandbox.aws.server import AwsSandbox

from .conftest import LAB, LAB_EXTERNAL_ID, LAB_ROLE, PROD, STAGING, ClientFactory


def test_caller_identity_of_sandbox_credentials(client: ClientFactory, sandbox: AwsSandbox) -> None:
    """GetCallerIdentity with the sandbox's own keys names the home account's IAM user."""
    ident = client("sts").get_caller_identity()
    assert ident["Account"] == sandbox.scenario.home_account
    assert ident["Arn"].endswith(":user/sreops-sandbox")


def test_assume_role_acts_as_that_account(client: ClientFactory) -> None:
    """AssumeRole returns temporary credentials; calls made with them act as the role's account
    (GetCallerIdentity answers the assumed-role ARN)."""
    ident = client("sts", account=PROD).get_caller_identity()
    assert ident["Account"] == PROD
    assert ident["Arn"] == f"arn:aws:sts::{PROD}:assumed-role/sreops/tests"


def test_assume_role_with_external_id(client: ClientFactory, sandbox: AwsSandbox) -> None:
    """A trust policy with sts:ExternalId: the right id works, a missing or wrong one is AccessDenied (403)."""
    sts = client("sts")
    ok = sts.assume_role(RoleArn=LAB_ROLE, RoleSessionName="s1", ExternalId=LAB_EXTERNAL_ID)
    assert ok["AssumedRoleUser"]["Arn"].startswith(f"arn:aws:sts::{LAB}:assumed-role/sreops-lab/")
    for extra in ({}, {"ExternalId": "wrong"}):
        with pytest.raises(ClientError) as e:
            sts.assume_role(RoleArn=LAB_ROLE, RoleSessionName="s1", **extra)
        err = e.value.response
        assert err["Error"]["Code"] == "AccessDenied"
        assert err["ResponseMetadata"]["HTTPStatusCode"] == 403
        assert err["Error"]["Message"] == (
            f"User: arn:aws:iam::{sandbox.scenario.home_account}:user/sreops-sandbox is not authorized to "
            f"perform: sts:AssumeRole on resource: {LAB_ROLE}"
        )


def test_assume_unknown_role_is_access_denied(client: ClientFactory) -> None:
    """AWS answers AccessDenied (not NoSuchEntity) for a role that does not exist or does not trust you."""
    with pytest.raises(ClientError) as e:
        client("sts").assume_role(RoleArn=f"arn:aws:iam::{PROD}:role/other", RoleSessionName="s1")
    assert e.value.response["Error"]["Code"] == "AccessDenied"


def test_describe_instances_by_tag_per_account_and_region(client: ClientFactory, sandbox: AwsSandbox) -> None:
    """EC2 DescribeInstances with tag filters sees only the calling account's instances in that region."""
    expected = {
        i.id
        for i in sandbox.scenario.instances
        if i.account == PROD and i.region == "us-west-2" and i.tags.get("Role") == "web"
    }
    ec2 = client("ec2", account=PROD)
    res = ec2.describe_instances(Filters=[{"Name": "tag:Role", "Values": ["web"]}])
    got = {i["InstanceId"] for r in res["Reservations"] for i in r["Instances"]}
    assert got == expected and got
    other = client("ec2", account=STAGING).describe_instances(
        InstanceIds=[], Filters=[{"Name": "tag:Role", "Values": ["web"]}]
    )
    assert not got & {i["InstanceId"] for r in other["Reservations"] for i in r["Instances"]}


def test_plain_boto3_with_env_endpoint(sandbox: AwsSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """Code written for real AWS works unchanged once AWS_ENDPOINT_URL and the keys are in the environment."""
    for k, v in sandbox.env().items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    session = boto3.session.Session()
    assert session.client("sts").get_caller_identity()["Account"] == sandbox.scenario.home_account
