"""ActionError: every failure a caller can show (chat reply, HTTP error, CLI line), mapped from the Kubernetes
API's answers in one place."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError as Urllib3Error

T = TypeVar("T")

# Kubernetes' own status codes kept as they are; anything else is "Kubernetes is not answering properly".
_CODES = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict", 422: "Invalid"}
UNAVAILABLE = 503


class ActionError(Exception):
    """status 400 bad input, 403 forbidden (RBAC), 404 not found, 409 conflict, 503 Kubernetes unreachable;
    `code` is a CamelCase word, `message` one line for people, `field` the input that was wrong (400s)."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "field": self.field}

    def __repr__(self) -> str:
        return f"ActionError({self.status}, {self.code!r}, {self.message!r}, field={self.field!r})"


def one_line(text: str) -> str:
    return " ".join(text.split())


def kube_message(exc: ApiException) -> str:
    """Kubernetes' own message (its Status object names the object and the verb), else the HTTP reason."""
    try:
        message = json.loads(exc.body or "{}").get("message")
    except (ValueError, AttributeError, TypeError):
        message = None
    return one_line(str(message or exc.reason or f"HTTP {exc.status}"))


def from_api_exception(exc: ApiException) -> ActionError:
    status = int(exc.status or 0)
    if status == 0:  # the client raises ApiException(status=0) for some transport failures
        return ActionError(UNAVAILABLE, "KubernetesUnavailable", f"the Kubernetes API is unreachable: {exc.reason}")
    if status in _CODES:
        code = _CODES[status]
        return ActionError(400 if status == 422 else status, code, kube_message(exc))
    if status == 429 or status >= 500:
        return ActionError(
            UNAVAILABLE, "KubernetesUnavailable", f"the Kubernetes API answered {status}: {kube_message(exc)}"
        )
    return ActionError(status if 400 <= status < 500 else UNAVAILABLE, "KubernetesError", kube_message(exc))


def calling(fn: Callable[[], T]) -> T:
    """Runs one Kubernetes call, its failures as ActionError."""
    try:
        return fn()
    except ApiException as exc:
        raise from_api_exception(exc) from None
    except (Urllib3Error, OSError) as exc:
        raise ActionError(
            UNAVAILABLE, "KubernetesUnavailable", f"the Kubernetes API is unreachable: {one_line(str(exc))}"
        ) from None


def conflict_retried(fn: Callable[[], T]) -> T:
    """`fn` (which reads, then writes with the resourceVersion it read) once more after a 409."""
    try:
        return calling(fn)
    except ActionError as exc:
        if exc.status != 409:
            raise
    return calling(fn)
