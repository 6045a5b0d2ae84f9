"""AWS errors classified in one place, so every controller reacts to them the same way.

- throttling and 5xx: retry later with backoff (`kopf.TemporaryError`);
- unreachable endpoint (connection refused, timeouts): retry later, longer;
- access denied: a condition with AWS's message, and a slow retry (someone must fix IAM);
- validation: the spec asked AWS for something it refuses: InvalidSpec;
- not found: callers that expect it (drift, deletion) handle it; elsewhere it is retried.
"""

from __future__ import annotations

import enum

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "ProvisionedThroughputExceededException",
    }
)
TRANSIENT_CODES = frozenset(
    {"InternalServerError", "InternalError", "InternalFailure", "InternalServerException", "ServiceUnavailable"}
)
ACCESS_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "AuthFailure",
        "SignatureDoesNotMatch",
    }
)
NOT_FOUND_CODES = frozenset(
    {"DoesNotExistException", "ResourceNotFoundException", "InvalidInstanceId", "InvalidCommandId", "NotFound"}
)
INVALID_CODES = frozenset(
    {
        "ValidationException",
        "InvalidParameterValue",
        "InvalidParameters",
        "InvalidDocument",
        "InvalidDocumentVersion",
        "InvalidTarget",
        "InvalidSchedule",
        "UnsupportedOperatingSystem",
        "FeatureNotAvailableException",
    }
)
HTTP_SERVER_ERROR = 500


class ErrorKind(enum.Enum):
    THROTTLED = "throttled"
    TRANSIENT = "transient"
    UNREACHABLE = "unreachable"
    ACCESS_DENIED = "access_denied"
    NOT_FOUND = "not_found"
    INVALID = "invalid"
    OTHER = "other"

    @property
    def retryable(self) -> bool:
        return self in (ErrorKind.THROTTLED, ErrorKind.TRANSIENT, ErrorKind.UNREACHABLE)


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "Unknown"))
    return type(exc).__name__


def error_message(exc: BaseException) -> str:
    """AWS's own message, without request ids; never includes credentials (botocore never puts them there)."""
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return f"{err.get('Code', 'Unknown')}: {err.get('Message', '')}".rstrip(": ")
    return str(exc)


def classify(exc: BaseException) -> ErrorKind:
    if isinstance(exc, ClientError):
        code = error_code(exc)
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in THROTTLING_CODES:
            return ErrorKind.THROTTLED
        if code in ACCESS_DENIED_CODES:
            return ErrorKind.ACCESS_DENIED
        if code in NOT_FOUND_CODES or code.endswith("NotFound") or code.endswith("NotFoundException"):
            return ErrorKind.NOT_FOUND
        if code in TRANSIENT_CODES or status >= HTTP_SERVER_ERROR:
            return ErrorKind.TRANSIENT
        if code in INVALID_CODES or code.startswith("Invalid"):
            return ErrorKind.INVALID
        return ErrorKind.OTHER
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError | ConnectionClosedError):
        return ErrorKind.UNREACHABLE
    if isinstance(exc, NoCredentialsError):
        return ErrorKind.ACCESS_DENIED
    if isinstance(exc, ParamValidationError):
        return ErrorKind.INVALID  # botocore refused to send it: the same request fails the same way again
    if isinstance(exc, BotoCoreError):
        return ErrorKind.TRANSIENT
    return ErrorKind.OTHER


def is_aws_error(exc: BaseException) -> bool:
    return isinstance(exc, ClientError | BotoCoreError)
