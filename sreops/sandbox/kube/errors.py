"""API errors rendered as `meta.k8s.io/v1` Status objects, the way kube-apiserver reports failures.

Every failure a client can cause ends up here as a 4xx with a Status body; clients (kubectl,
kopf, the `kubernetes` package) read `reason`, `code` and `details.causes`, not the text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]


@dataclass(frozen=True)
class Cause:
    """One entry of `details.causes`: `field` uses the server's dotted path form, e.g. `spec.window`."""

    reason: str
    message: str
    field: str


@dataclass
class ApiError(Exception):
    code: int
    reason: str
    message: str
    name: str | None = None
    group: str | None = None
    kind: str | None = None
    causes: list[Cause] = field(default_factory=list)
    retry_after: int | None = None
    # apimachinery's NewForbidden always sets details, so an empty one is rendered as `{}`.
    always_details: bool = False

    def __str__(self) -> str:
        return f"{self.code} {self.reason}: {self.message}"

    def status(self) -> Obj:
        details: Obj = {}
        if self.name is not None:
            details["name"] = self.name
        if self.group:  # omitted for the core group, like Go's omitempty
            details["group"] = self.group
        if self.kind is not None:
            details["kind"] = self.kind
        if self.causes:
            details["causes"] = [{"reason": c.reason, "message": c.message, "field": c.field} for c in self.causes]
        if self.retry_after is not None:
            details["retryAfterSeconds"] = self.retry_after
        body: Obj = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if details or self.always_details:
            body["details"] = details
        return body


def not_found(resource: str, group: str, name: str) -> ApiError:
    qualified = f"{resource}.{group}" if group else resource
    return ApiError(404, "NotFound", f'{qualified} "{name}" not found', name=name, group=group, kind=resource)


def already_exists(resource: str, group: str, name: str) -> ApiError:
    qualified = f"{resource}.{group}" if group else resource
    return ApiError(409, "AlreadyExists", f'{qualified} "{name}" already exists', name=name, group=group, kind=resource)


def conflict(resource: str, group: str, name: str, why: str | None = None) -> ApiError:
    qualified = f"{resource}.{group}" if group else resource
    text = why or "the object has been modified; please apply your changes to the latest version and try again"
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified} "{name}": {text}',
        name=name,
        group=group,
        kind=resource,
    )


def forbidden(resource: str, group: str, name: str, why: str, causes: list[Cause] | None = None) -> ApiError:
    """403 Forbidden as admission plugins report it (apimachinery's NewForbidden)."""
    qualified = f"{resource}.{group}" if group else resource
    subject = f'{qualified} "{name}"' if name else qualified
    return ApiError(
        403,
        "Forbidden",
        f"{subject} is forbidden: {why}",
        name=name or None,
        group=group,
        kind=resource,
        causes=causes or [],
    )


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def invalid(kind: str, group: str, name: str, causes: list[Cause]) -> ApiError:
    """422 Invalid, with the message text kube-apiserver builds from the field errors."""
    qualified = f"{kind}.{group}" if group else kind
    texts = [f"{c.field}: {c.message}" if c.field else c.message for c in causes]
    joined = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    return ApiError(
        422,
        "Invalid",
        f'{qualified} "{name}" is invalid: {joined}',
        name=name,
        group=group,
        kind=kind,
        causes=causes,
    )


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message)
