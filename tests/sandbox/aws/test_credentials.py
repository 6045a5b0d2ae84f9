"""Credential faults: assumed-role sessions that expire mid-run and roles revoked then restored, answered with
the codes AWS uses for each protocol."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sreops.sandbox.aws.server import AwsSandbox

from .conftest import LAB, LAB_EXTERNAL_ID, LAB_ROLE, REGION

CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 1})


def _admin(sandbox: AwsSandbox, method: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(sandbox.endpoint_url + "/_sandbox/credentials", data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.fixture
def credentials(sandbox: AwsSandbox) -> Iterator[AwsSandbox]:
    yield sandbox
    assert _admin(sandbox, "DELETE")[0] == 200  # other tests' cached sessions work again


def _sts(sandbox: AwsSandbox) -> Any:
    return boto3.client(
        "sts", endpoint_url=sandbox.endpoint_url, region_name=REGION, config=CONFIG, **sandbox.credentials
    )


def _session(sandbox: AwsSandbox) -> dict[str, str]:
    c = _sts(sandbox).assume_role(RoleArn=LAB_ROLE, RoleSessionName="creds", ExternalId=LAB_EXTERNAL_ID)["Credentials"]
    return {
        "aws_access_key_id": c["AccessKeyId"],
        "aws_secret_access_key": c["SecretAccessKey"],
        "aws_session_token": c["SessionToken"],
    }


def _client(sandbox: AwsSandbox, service: str, session: dict[str, str]) -> Any:
    return boto3.client(service, endpoint_url=sandbox.endpoint_url, region_name=REGION, config=CONFIG, **session)


def _code(call: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        call()
    err = caught.value.response
    return err["Error"]["Code"], err["Error"].get("Message", ""), err["ResponseMetadata"]["HTTPStatusCode"]


def test_expired_session_mid_run_then_refresh(credentials: AwsSandbox) -> None:
    session = _session(credentials)
    ssm = _client(credentials, "ssm", session)
    assert ssm.describe_patch_baselines(MaxResults=1)["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert _admin(credentials, "POST", {"expire": LAB})[1]["expiredSessions"] >= 1
    # Each protocol's answer to an expired session token, as AWS gives it.
    code, message, status = _code(lambda: ssm.describe_patch_baselines(MaxResults=1))
    assert (code, message, status) == (
        "ExpiredTokenException",
        "The security token included in the request is expired",
        400,
    )
    assert _code(lambda: _client(credentials, "sts", session).get_caller_identity())[0] == "ExpiredToken"
    assert _code(lambda: _client(credentials, "ec2", session).describe_instances())[0] == "RequestExpired"
    # A refresh (a new AssumeRole) gets credentials that work; the old ones stay expired.
    fresh = _session(credentials)
    assert _client(credentials, "sts", fresh).get_caller_identity()["Account"] == LAB
    assert _code(lambda: ssm.describe_patch_baselines(MaxResults=1))[0] == "ExpiredTokenException"
    # The sandbox's own long-term keys never expire.
    assert _sts(credentials).get_caller_identity()["Account"]


def test_role_revoked_then_restored(credentials: AwsSandbox) -> None:
    before = _session(credentials)
    assert _admin(credentials, "POST", {"revoke": LAB})[1]["revoked"] == [LAB]
    code, message, status = _code(lambda: _session(credentials))
    assert (code, status) == ("AccessDenied", 403)
    assert message.endswith(f"is not authorized to perform: sts:AssumeRole on resource: {LAB_ROLE}")
    code, message, _ = _code(lambda: _client(credentials, "ssm", before).describe_patch_baselines(MaxResults=1))
    assert code == "AccessDeniedException"
    assert "ssm:DescribePatchBaselines with an explicit deny" in message
    assert _code(lambda: _client(credentials, "ec2", before).describe_instances())[0] == "UnauthorizedOperation"
    assert _admin(credentials, "POST", {"restore": LAB})[1]["revoked"] == []
    after = _session(credentials)
    assert _client(credentials, "ssm", after).describe_patch_baselines(MaxResults=1)
    # Sessions issued before the revocation stay denied, as AWS's revoke-sessions policy keeps them.
    assert _code(lambda: _client(credentials, "sts", before).get_caller_identity())[0] == "AccessDenied"
    refused = _admin(credentials, "GET")[1]["refused"]
    assert refused["assume_role"] == 1 and refused["denied"] == 3


def test_control_input(credentials: AwsSandbox) -> None:
    for bad in ({}, {"expire": 1}, {"expire": "000000000000"}, {"expire": "all", "revoke": LAB}):
        status, body = _admin(credentials, "POST", bad)
        assert status == 400 and body["error"], bad
    assert _admin(credentials, "PUT", {})[0] == 405
    assert _admin(credentials, "POST", {"expire": "all"})[0] == 200
