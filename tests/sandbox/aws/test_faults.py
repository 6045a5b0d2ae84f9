"""Fault injection: errors that botocore sees exactly like the real ones (and retries like them),
added latency, unreachable regions/accounts, and the admin API that changes faults and the clock."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

from sreops.sandbox.aws.faults import Faults, FaultSpecError, parse
from sreops.sandbox.aws.server import AwsSandbox

from .conftest import LAB, PROD, STAGING, ClientFactory

pytestmark = pytest.mark.usefixtures("clean_faults")


def _admin(sandbox: AwsSandbox, path: str, method: str = "GET", body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(sandbox.endpoint_url + path, data=data, method=method)
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


def test_spec_syntax() -> None:
    rules = parse(
        "ssm:SendCommand=throttle:0.3,inspector2:*=latency:200ms,region:us-east-1=down,"
        "account:111111111111=error503:2x+latency:1s"
    )
    assert [(r.kind, r.probability, r.remaining, r.latency_s) for r in rules] == [
        ("throttle", 0.3, None, 0.0),
        ("latency", 1.0, None, 0.2),
        ("down", 1.0, None, 0.0),
        ("error503", 1.0, 2, 0.0),
        ("latency", 1.0, None, 1.0),
    ]
    for bad in (
        "ssm=throttle",
        "ssm:X=explode",
        "ssm:X=throttle:2",
        "ssm:X=latency",
        "ssm:X=latency:fast",
        "region:us-east-1=down:0.5",
    ):
        with pytest.raises(FaultSpecError):
            parse(bad)
    with pytest.raises(FaultSpecError):
        AwsSandbox(faults="nonsense")


def test_ssm_throttling_is_retried_by_botocore(client: ClientFactory, sandbox: AwsSandbox) -> None:
    """SSM throttles with 400 ThrottlingException ("Rate exceeded"); standard retry mode retries it."""
    sandbox.set_faults("ssm:DescribeInstanceInformation=throttle:1x")
    ssm = client("ssm", account=LAB, attempts=3)
    out = ssm.describe_instance_information(MaxResults=5)
    assert out["ResponseMetadata"]["RetryAttempts"] == 1
    sandbox.set_faults("ssm:DescribeInstanceInformation=throttle")
    with pytest.raises(ClientError) as e:
        client("ssm", account=LAB, attempts=2).describe_instance_information(MaxResults=5)
    err = e.value.response
    assert err["Error"]["Code"] == "ThrottlingException" and err["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert err["ResponseMetadata"]["RetryAttempts"] == 1


def test_inspector_throttling_is_429(client: ClientFactory, sandbox: AwsSandbox) -> None:
    """inspector2 (rest-json) throttles with HTTP 429 ThrottlingException."""
    sandbox.set_faults("inspector2:ListFindings=throttle")
    with pytest.raises(ClientError) as e:
        client("inspector2", account=PROD, attempts=1).list_findings(maxResults=1)
    assert e.value.response["Error"]["Code"] == "ThrottlingException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429


def test_sts_and_ec2_throttling_codes(client: ClientFactory, sandbox: AwsSandbox) -> None:
    """Query-protocol services use their own codes: STS Throttling (400), EC2 RequestLimitExceeded (503)."""
    sandbox.set_faults("sts:*=throttle,ec2:*=throttle")
    with pytest.raises(ClientError) as e:
        client("sts", attempts=1).get_caller_identity()
    assert (e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]) == (
        "Throttling",
        400,
    )
    with pytest.raises(ClientError) as e:
        client("ec2", account=PROD, attempts=1).describe_instances()
    assert e.value.response["Error"]["Code"] == "RequestLimitExceeded"


@pytest.mark.parametrize(
    ("kind", "code", "status"), [("error500", "InternalServerError", 500), ("error503", "ServiceUnavailable", 503)]
)
def test_server_errors(client: ClientFactory, sandbox: AwsSandbox, kind: str, code: str, status: int) -> None:
    """5xx answers are retried by botocore and surface with the service's error code."""
    sandbox.set_faults(f"ssm:GetPatchBaseline={kind}")
    with pytest.raises(ClientError) as e:
        client("ssm", account=LAB, attempts=2).get_patch_baseline(BaselineId="pb-0123456789abcdef0")
    assert e.value.response["Error"]["Code"] == code
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert e.value.response["ResponseMetadata"]["RetryAttempts"] == 1


def test_latency(client: ClientFactory, sandbox: AwsSandbox) -> None:
    """latency:DUR delays the answer by that much real time."""
    sandbox.set_faults("ssm:DescribeInstanceInformation=latency:300ms")
    ssm = client("ssm", account=LAB)
    t0 = time.monotonic()
    ssm.describe_instance_information(MaxResults=5)
    assert time.monotonic() - t0 >= 0.3


def test_region_and_account_down(client: ClientFactory, sandbox: AwsSandbox) -> None:
    """A down region or account resets the connection: botocore raises ConnectionClosedError (after its
    retries); other regions and accounts keep working; AssumeRole into a down account fails too."""
    sandbox.set_faults("region:us-east-1=down")
    with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
        client("ssm", account=LAB, region="us-east-1", attempts=1).describe_instance_information()
    assert client("ssm", account=LAB).describe_instance_information(MaxResults=5)["InstanceInformationList"]
    sandbox.set_faults(f"account:{STAGING}=down")
    with pytest.raises(ConnectionClosedError):
        client("sts", account=STAGING, attempts=1).get_caller_identity()
    with pytest.raises(ConnectionClosedError):
        client("sts", attempts=1).assume_role(RoleArn=f"arn:aws:iam::{STAGING}:role/sreops", RoleSessionName="x1")
    assert client("sts", account=PROD).get_caller_identity()["Account"] == PROD


def test_admin_api(client: ClientFactory, sandbox: AwsSandbox) -> None:
    """/_sandbox/faults sets faults at run time, /_sandbox/clock reads and advances simulated time,
    /_sandbox/calls counts calls by service/operation and writes (DELETE resets)."""
    out = _admin(sandbox, "/_sandbox/faults", "PUT", {"spec": "ssm:SendCommand=throttle:0.5"})
    assert out["spec"] == "ssm:SendCommand=throttle:0.5"
    with pytest.raises(urllib.error.HTTPError) as e:
        _admin(sandbox, "/_sandbox/faults", "PUT", {"spec": "ssm=boom"})
    assert e.value.code == 400
    assert _admin(sandbox, "/_sandbox/faults", "DELETE")["spec"] == ""

    before = _admin(sandbox, "/_sandbox/clock")
    after = _admin(sandbox, "/_sandbox/clock", "POST", {"advance": "5m"})
    assert after["epoch"] - before["epoch"] == pytest.approx(300, abs=0.01)
    assert after["now"].endswith("Z") and after["speed"] == 0

    _admin(sandbox, "/_sandbox/calls", "DELETE")
    ssm = client("ssm", account=LAB)
    ssm.describe_instance_information(MaxResults=5)
    ssm.create_patch_baseline(Name="counted-baseline")
    calls = _admin(sandbox, "/_sandbox/calls?service=ssm")
    assert calls["calls"]["ssm"] == {"DescribeInstanceInformation": 1, "CreatePatchBaseline": 1}
    assert (calls["total"], calls["writes"]) == (2, 1)
    with pytest.raises(urllib.error.HTTPError) as e:
        _admin(sandbox, "/_sandbox/nothing")
    assert e.value.code == 404


def test_bad_input_is_a_4xx_never_a_traceback(sandbox: AwsSandbox) -> None:
    """Malformed JSON bodies get a 400 SerializationException like AWS, not a 500."""
    req = urllib.request.Request(
        sandbox.endpoint_url + "/",
        data=b"{not json",
        method="POST",
        headers={
            "X-Amz-Target": "AmazonSSM.DescribeInstanceInformation",
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAX/20260101/us-west-2/ssm/aws4_request, "
            "SignedHeaders=host, Signature=x",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=5)
    assert e.value.code == 400
    assert json.loads(e.value.read())["__type"] == "SerializationException"


def test_a_rate_quota_throttles_once_over_the_rate_per_account_and_region() -> None:
    """AWS meters API rate limits as token buckets per account and region (EC2's documented "bucket size" and
    "refill rate"; SSM and the others answer ThrottlingException "Rate exceeded" once over): a burst of one
    second's worth passes, the next call is throttled, and tokens come back at the rate."""
    now = [0.0]
    faults = Faults("*:*=quota:20", clock=lambda: now[0])
    assert faults.spec == "*:*=quota:20"
    decide = lambda account="111111111111", region="us-west-2": faults.decide("ssm", "X", region, (account,)).error  # noqa: E731
    assert [decide() for _ in range(20)] == [None] * 20
    assert decide() == "throttle"
    # Another account, another region: buckets of their own.
    assert decide(account="222222222222") is None and decide(region="us-east-1") is None
    now[0] += 0.1  # two tokens back
    assert [decide() for _ in range(3)] == [None, None, "throttle"]
    now[0] += 10  # refilled, never beyond one second's worth
    assert sum(decide() is None for _ in range(30)) == 20
    for bad in ("*:*=quota", "*:*=quota:0", "*:*=quota:x", "*:*=quota:1:2"):
        with pytest.raises(FaultSpecError):
            parse(bad)


def test_a_rate_quota_answers_the_services_throttling_error(client: ClientFactory, sandbox: AwsSandbox) -> None:
    sandbox.set_faults("ssm:*=quota:5")
    ssm = client("ssm", account=LAB, attempts=1)
    codes = []
    for _ in range(8):  # back to back, well over 5/s
        try:
            ssm.describe_patch_baselines(MaxResults=5)
            codes.append("ok")
        except ClientError as exc:
            codes.append(exc.response["Error"]["Code"])
    assert codes.count("ok") >= 5 and "ThrottlingException" in codes
    assert set(codes) <= {"ok", "ThrottlingException"}
