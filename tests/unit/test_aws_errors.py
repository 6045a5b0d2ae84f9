"""AWS errors are classified in one place, the way each service reports them."""

from __future__ import annotations

import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)

from sreops.operator.aws.errors import ErrorKind, classify, error_message


def _client_error(code: str, status: int = 400, message: str = "msg") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op"
    )


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("ThrottlingException", 400, ErrorKind.THROTTLED),  # SSM, Inspector (JSON protocol)
        ("Throttling", 400, ErrorKind.THROTTLED),  # STS (query protocol)
        ("TooManyRequestsException", 429, ErrorKind.THROTTLED),
        ("InternalServerError", 500, ErrorKind.TRANSIENT),
        ("ServiceUnavailable", 503, ErrorKind.TRANSIENT),
        ("SomethingNew", 502, ErrorKind.TRANSIENT),  # any 5xx is worth a retry
        ("AccessDenied", 403, ErrorKind.ACCESS_DENIED),  # STS AssumeRole
        ("AccessDeniedException", 400, ErrorKind.ACCESS_DENIED),  # SSM, Inspector
        ("DoesNotExistException", 400, ErrorKind.NOT_FOUND),  # SSM baselines, windows
        ("ResourceNotFoundException", 404, ErrorKind.NOT_FOUND),
        ("InvalidInstanceId", 400, ErrorKind.NOT_FOUND),
        ("ValidationException", 400, ErrorKind.INVALID),
        ("InvalidDocument", 400, ErrorKind.INVALID),
        ("ResourceLimitExceededException", 400, ErrorKind.OTHER),
    ],
)
def test_client_errors(code: str, status: int, kind: ErrorKind) -> None:
    assert classify(_client_error(code, status)) is kind


def test_transport_errors_are_unreachable_and_retryable() -> None:
    for exc in (
        EndpointConnectionError(endpoint_url="https://ssm.us-west-2.amazonaws.com"),
        ReadTimeoutError(endpoint_url="https://ssm.us-west-2.amazonaws.com"),
    ):
        assert classify(exc) is ErrorKind.UNREACHABLE
        assert classify(exc).retryable


def test_missing_credentials_is_access_denied_and_not_retried_fast() -> None:
    assert classify(NoCredentialsError()) is ErrorKind.ACCESS_DENIED
    assert not ErrorKind.ACCESS_DENIED.retryable


def test_a_request_botocore_refuses_to_send_is_invalid_not_retried() -> None:
    """E.g. an external id of one character (AssumeRole wants 2..1224): retrying sends nothing better."""
    exc = ParamValidationError(report="Invalid length for parameter ExternalId, value: 1, valid min length: 2")
    assert classify(exc) is ErrorKind.INVALID
    assert not classify(exc).retryable


def test_message_is_awss_own_words() -> None:
    exc = _client_error("AccessDenied", 403, "User: arn:aws:sts::1:assumed-role/x is not authorized")
    assert error_message(exc) == "AccessDenied: User: arn:aws:sts::1:assumed-role/x is not authorized"
