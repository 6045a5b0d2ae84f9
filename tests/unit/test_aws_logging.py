"""AWS calls in the operator's JSON logs: an answer other than OK is one line naming the resource being
reconciled, the account, the region and AWS's request id (the fields an SRE greps for, and what AWS support
asks for); the call is counted with its account."""

from __future__ import annotations

import contextvars
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import kopf
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from sreops.operator.aws.clients import OWN_CREDENTIALS, UNKNOWN_ACCOUNT, Access, ClientFactory
from sreops.operator.logcontext import acting_on, current_resource

POLICY = {"kind": "PatchPolicy", "metadata": {"namespace": "default", "name": "web-fleet"}}


@pytest.fixture
def json_logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """What the operator's log set-up (`--log-format json`: kopf's JSON formatter on the root logger) writes."""
    for key, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    kopf.configure(log_format=kopf.LogFormat.JSON)
    kopf_handler = next(h for h in root.handlers if h not in handlers)
    out = io.StringIO()
    ours = logging.StreamHandler(out)
    ours.setFormatter(kopf_handler.formatter)
    root.handlers[:] = [*handlers, ours]
    try:
        yield out
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def test_an_aws_error_is_logged_with_resource_account_region_and_request_id(
    json_logs: io.StringIO,
) -> None:
    calls: list[tuple[str, ...]] = []
    factory = ClientFactory(sts_region="us-east-1", on_call=lambda *a: calls.append(a))
    factory.account_ids.get(OWN_CREDENTIALS, lambda: "123456789012")
    sts = factory.client("sts", "us-east-1")
    ec2 = factory.client("ec2", "eu-west-1")

    def reconcile() -> None:
        acting_on(POLICY)
        with Stubber(sts) as stub, Stubber(ec2) as ec2_stub:
            stub.add_client_error(
                "assume_role", "AccessDenied", "not authorized to assume", 403, response_meta={"RequestId": "req-42"}
            )
            ec2_stub.add_response("describe_tags", {"Tags": [], "ResponseMetadata": {"RequestId": "req-43"}})
            with pytest.raises(ClientError):
                sts.assume_role(RoleArn="arn:aws:iam::444455556666:role/sreops", RoleSessionName="sreops")
            ec2.describe_tags()

    contextvars.copy_context().run(reconcile)
    assert current_resource() == ""  # the handler's resource does not leak out of its context

    lines = [line for line in _lines(json_logs.getvalue()) if "aws_code" in line]
    assert len(lines) == 1  # the OK answer is logged at debug level only
    line = lines[0]
    assert line["severity"] == "info"
    assert {k: line[k] for k in ("resource", "account", "region", "aws_request_id", "aws_service", "aws_code")} == {
        "resource": "PatchPolicy/default/web-fleet",
        "account": "444455556666",  # AssumeRole is about the role's account, though made with our own keys
        "region": "us-east-1",
        "aws_request_id": "req-42",
        "aws_service": "sts",
        "aws_code": "AccessDenied",
    }
    assert "444455556666/us-east-1" in line["message"] and "req-42" in line["message"]
    assert calls == [
        ("sts", "AssumeRole", "AccessDenied", "444455556666"),
        ("ec2", "DescribeTags", "OK", "123456789012"),  # own credentials: the account sts answered
    ]


def test_the_account_label_is_known_without_a_call() -> None:
    factory = ClientFactory(sts_region="us-east-1")
    assert factory.account_label(Access(role_arn="arn:aws-us-gov:iam::111122223333:role/x")) == "111122223333"
    assert factory.account_label(OWN_CREDENTIALS) == UNKNOWN_ACCOUNT
    factory.account_ids.get(OWN_CREDENTIALS, lambda: "123456789012")
    assert factory.account_label(OWN_CREDENTIALS) == "123456789012"
