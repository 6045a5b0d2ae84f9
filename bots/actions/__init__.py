"""What chat commands, the HTTP API and the CLI do: Kubernetes reads and writes, made as the caller.

Plain synchronous functions over a `kubernetes.client.ApiClient`. Writes take the Actor and impersonate it;
reads take the client to read with (`impersonating(api, actor)` for a chat/API user). Every failure is an
ActionError (400 bad input, 403 forbidden, 404 not found, 409 conflict, 503 Kubernetes unreachable).
Writes do not audit themselves: after a write, the caller calls `audit()` with its own client.
"""

from sreops.bots.actions.audit import audit
from sreops.bots.actions.errors import ActionError
from sreops.bots.actions.identity import Actor, impersonating
from sreops.bots.actions.kinds import kind_view
from sreops.bots.actions.reads import findings, run_progress, status
from sreops.bots.actions.views import (
    ConditionView,
    FindingsView,
    ResourceStatus,
    RunProgress,
    RunRequested,
    ScanRequested,
    SuspendChanged,
)
from sreops.bots.actions.writes import SCAN_NOW_ANNOTATION, request_value, run_now, scan_now, set_suspend

__all__ = [
    "SCAN_NOW_ANNOTATION",
    "ActionError",
    "Actor",
    "ConditionView",
    "FindingsView",
    "ResourceStatus",
    "RunProgress",
    "RunRequested",
    "ScanRequested",
    "SuspendChanged",
    "audit",
    "findings",
    "impersonating",
    "kind_view",
    "request_value",
    "run_now",
    "run_progress",
    "scan_now",
    "set_suspend",
    "status",
]
