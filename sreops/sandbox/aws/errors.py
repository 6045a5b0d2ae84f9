"""AWS-style errors and how each wire protocol renders them, so botocore parses them like the real ones."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

# Wire protocol per service (botocore's service model `protocol`).
PROTOCOLS: dict[str, str] = {
    "ssm": "json",
    "inspector2": "rest-json",
    "sts": "query",
    "ec2": "ec2",
    "iam": "query",
    "cloudwatch": "query",
    "sns": "query",
    "logs": "json",
}


@dataclass
class AwsError(Exception):
    """An error answered to the client: `code` is the `__type` / `<Code>` botocore maps to an exception."""

    code: str
    message: str
    status: int = 400
    extra: dict[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def validation(message: str, code: str = "ValidationException") -> AwsError:
    return AwsError(code, message, 400)


def render(err: AwsError, service: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body of `err` in the protocol `service` speaks."""
    request_id = str(uuid.uuid4())
    protocol = PROTOCOLS.get(service, "json")
    if protocol in ("json", "rest-json"):
        payload: dict[str, object] = {"message": err.message, **err.extra}
        if protocol == "json":
            payload["__type"] = err.code
            ctype = "application/x-amz-json-1.1"
        else:
            ctype = "application/json"
        headers = [
            ("Content-Type", ctype),
            ("x-amzn-RequestId", request_id),
            ("x-amzn-ErrorType", err.code),
        ]
        return err.status, headers, json.dumps(payload).encode()
    code, msg = escape(err.code), escape(err.message)
    if protocol == "ec2":
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code}</Code>'
            f"<Message>{msg}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
        )
    else:
        kind = "Sender" if err.status < 500 else "Receiver"
        body = (
            f"<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>{msg}</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
    return err.status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body.encode()


# The codes real services answer for throttling and server faults (botocore retries all of them).
THROTTLE_CODES: dict[str, tuple[str, int, str]] = {
    "ssm": ("ThrottlingException", 400, "Rate exceeded"),
    "inspector2": ("ThrottlingException", 429, "Rate exceeded"),
    "sts": ("Throttling", 400, "Rate exceeded"),
    "ec2": ("RequestLimitExceeded", 503, "Request limit exceeded."),
}
ERROR_500_CODES: dict[str, str] = {
    "ssm": "InternalServerError",
    "inspector2": "InternalServerException",
    "sts": "InternalFailure",
    "ec2": "InternalError",
}


def throttle_error(service: str) -> AwsError:
    code, status, msg = THROTTLE_CODES.get(service, ("ThrottlingException", 400, "Rate exceeded"))
    return AwsError(code, msg, status)


def server_error(service: str, status: int) -> AwsError:
    if status == 503:
        code = "Unavailable" if service == "ec2" else "ServiceUnavailable"
        return AwsError(code, "Service is unavailable. Please try again later.", 503)
    return AwsError(ERROR_500_CODES.get(service, "InternalFailure"), "An internal error occurred.", 500)
