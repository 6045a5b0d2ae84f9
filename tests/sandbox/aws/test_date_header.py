"""The stand-in's HTTP `Date` is the simulated clock, as AWS's Date is the service's clock: every answer
(the sandbox's own operations, moto's, errors, the admin API) carries exactly one."""

from __future__ import annotations

import http.client
from email.utils import formatdate, parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from sreops.sandbox.aws.server import AwsSandbox

from .conftest import LAB, ClientFactory


def _date(resp: dict[str, Any]) -> float:
    return parsedate_to_datetime(resp["ResponseMetadata"]["HTTPHeaders"]["date"]).timestamp()


def _raw_dates(sandbox: AwsSandbox, path: str) -> list[str]:
    url = urlsplit(sandbox.endpoint_url)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return [v for k, v in resp.getheaders() if k.lower() == "date"]
    finally:
        conn.close()


def test_date_is_simulated_time_and_moves_with_the_clock(client: ClientFactory, sandbox: AwsSandbox) -> None:
    """With the clock frozen (speed 0), the Date of an inspector2 call (served by the sandbox), of an SSM call
    and of an EC2 call (moto's) is the simulated now in RFC 7231 form, and advance(3600) moves each by an hour.
    Real AWS: the Date response header is the service's clock (what SigV4 clock-skew checks compare with)."""
    insp = client("inspector2", account=LAB)
    ssm = client("ssm", account=LAB)
    ec2 = client("ec2", account=LAB)

    def dates() -> list[float]:
        return [
            _date(insp.list_findings(maxResults=1)),
            _date(ssm.describe_instance_information(MaxResults=5)),
            _date(ec2.describe_regions()),
        ]

    now = sandbox.now()
    before = dates()
    assert before == [float(int(now))] * 3
    raw = insp.list_findings(maxResults=1)["ResponseMetadata"]["HTTPHeaders"]["date"]
    assert raw == formatdate(now, usegmt=True)
    sandbox.advance(3600)
    after = dates()
    assert [a - b for a, b in zip(after, before, strict=True)] == [3600.0] * 3


def test_errors_and_admin_answers_carry_the_simulated_date(client: ClientFactory, sandbox: AwsSandbox) -> None:
    """A ValidationException, an admin path and an unknown admin path (404) are dated too, with one Date
    header each (http.server's own real-time Date is not sent as well)."""
    insp = client("inspector2", account=LAB)
    with pytest.raises(ClientError) as e:
        insp.list_findings(maxResults=101)
    assert _date(e.value.response) == float(int(sandbox.now()))
    expected = [formatdate(sandbox.now(), usegmt=True)]
    assert _raw_dates(sandbox, "/_sandbox/health") == expected
    assert _raw_dates(sandbox, "/_sandbox/nope") == expected
