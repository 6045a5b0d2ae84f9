"""Kubernetes name rules (DNS-1123), checked before anything is sent to the API server."""

from __future__ import annotations

import re

from .errors import GatewayError

_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def name_problem(value: str, *, label: bool = False) -> str | None:
    """Why `value` is not a DNS-1123 label (namespaces) or subdomain (object names), or None."""
    limit = 63 if label else 253
    pattern = _LABEL if label else _SUBDOMAIN
    if not value:
        return "must not be empty"
    if len(value) > limit:
        return f"must be at most {limit} characters"
    if not pattern.fullmatch(value):
        if label:
            return "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending alphanumeric"
        return "must be a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', starting and ending alphanumeric"
    return None


def check_name(value: str, field: str, *, label: bool = False) -> str:
    problem = name_problem(value, label=label)
    if problem is not None:
        raise GatewayError(400, "InvalidName", f"{field} {value[:80]!r} {problem}", field)
    return value
