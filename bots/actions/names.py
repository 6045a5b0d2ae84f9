"""Names checked before any request: what Kubernetes accepts, so bad input is a 400 naming the field."""

from __future__ import annotations

import re

from sreops.bots.actions.errors import ActionError

# RFC 1123: object names are subdomains (253), namespaces labels (63).
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def object_name(value: object, field: str = "name") -> str:
    if not isinstance(value, str) or not value:
        raise ActionError(400, "BadRequest", f"{field} is required", field)
    if len(value) > 253 or not _SUBDOMAIN.match(value):
        raise ActionError(
            400, "BadRequest", f"{field} {value[:80]!r} is not a Kubernetes name (lower case a-z, 0-9, '-', '.')", field
        )
    return value


def namespace_name(value: object, field: str = "namespace") -> str:
    if not isinstance(value, str) or not value:
        raise ActionError(400, "BadRequest", f"{field} is required", field)
    if len(value) > 63 or not _LABEL.match(value):
        raise ActionError(
            400, "BadRequest", f"{field} {value[:80]!r} is not a Kubernetes namespace (lower case a-z, 0-9, '-')", field
        )
    return value
