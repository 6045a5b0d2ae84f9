"""The resource a handler is acting on, for log lines written below it (AWS calls) that have no kopf logger.

kopf runs each sync handler in a copy of the caller's context (contextvars), so a value set at the start of a
handler is seen by everything that handler calls, in its thread, and by no other handler.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

_resource: ContextVar[str] = ContextVar("sreops_resource", default="")


def resource_ref(body: Mapping[str, Any]) -> str:
    """`Kind/namespace/name`, e.g. `PatchPolicy/default/web-fleet`."""
    meta = body.get("metadata") or {}
    return f"{body.get('kind', '')}/{meta.get('namespace', '')}/{meta.get('name', '')}"


def acting_on(body: Mapping[str, Any]) -> None:
    _resource.set(resource_ref(body))


def current_resource() -> str:
    """The resource of the handler running in this context, or "" outside any handler."""
    return _resource.get()
