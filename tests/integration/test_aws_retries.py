"""botocore's standard retries carry a retry quota per client (500 tokens, 14 per retry of an error, 5 per
retry of a throttle, 1 back per first-try success): once it is empty, a client stops retrying at all. The
operator's clients are shared by every reconcile of an account, region and service for months, so a long
brown-out would leave them retrying nothing; ours keep their retries (aws/clients.py)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from sreops.operator.aws.clients import botocore_config, retries_without_quota
from tests.integration.conftest import Aws

pytestmark = [pytest.mark.integration]
CALLS = 60  # each retry of a 500 costs 14: a fresh quota pays for 35 of them


def _client(aws: Aws, quota: bool) -> Any:
    client = boto3.client(
        "ssm",
        region_name="us-west-2",
        endpoint_url=aws.endpoint,
        aws_access_key_id=aws.env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=aws.env["AWS_SECRET_ACCESS_KEY"],
        config=botocore_config(max_attempts=1),  # two attempts per call
    )
    if not quota:
        retries_without_quota(client)
    return client


def _attempts(aws: Aws, client: Any) -> int:
    aws.admin("DELETE", "calls")
    for _ in range(CALLS):
        with pytest.raises(ClientError):
            client.describe_patch_baselines(MaxResults=1)
    calls: dict[str, Any] = aws.admin("GET", "calls?service=ssm")
    return int(calls["total"])


def test_a_failing_service_is_retried_on_every_call_not_only_until_botocores_quota_is_spent(aws: Aws) -> None:
    aws.admin("PUT", "faults", {"spec": "ssm:*=error500:1.0"})
    plain = _attempts(aws, _client(aws, quota=True))
    ours = _attempts(aws, _client(aws, quota=False))
    assert plain < 2 * CALLS - 10  # botocore alone: its quota ran dry after about 35 retries
    assert ours == 2 * CALLS
