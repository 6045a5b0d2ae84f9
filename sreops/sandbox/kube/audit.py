"""An audit log like kube-apiserver's `--audit-log-path` with a policy of `level: Metadata` for everything.

One JSON line per request, an `audit.k8s.io/v1` Event at stage `ResponseComplete` (a watch also gets
one at `ResponseStarted` when its stream begins, as long-running requests do on the real server):
`auditID`, `stage`, `requestURI`, `verb`, `user` (`username`, `uid`, `groups`, `extra`),
`impersonatedUser` (when impersonating), `sourceIPs`, `userAgent`, `objectRef` (`resource`,
`namespace`, `name`, `apiGroup`, `apiVersion`, `subresource`; resource requests only),
`responseStatus` (`code`, and `status`/`reason`/`message` for failures), `requestReceivedTimestamp`,
`stageTimestamp` and the annotations `authorization.k8s.io/decision` (`allow`/`forbid`) and
`authorization.k8s.io/reason`. Request and response bodies are never logged (level Metadata), so
Secret data and tokens do not end up here.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .rbac import Attributes, UserInfo

Obj = dict[str, Any]


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Entry:
    """What one request contributes to its audit events, filled in as the request is served."""

    uri: str
    source_ip: str
    user_agent: str
    received: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    audit_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    user: UserInfo | None = None
    impersonated: UserInfo | None = None
    attrs: Attributes | None = None
    decision: str = ""
    reason: str = ""


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._file = path.open("a", encoding="utf-8")

    def write(self, entry: Entry, stage: str, code: int, status: Obj | None = None) -> None:
        event: Obj = {
            "kind": "Event",
            "apiVersion": "audit.k8s.io/v1",
            "level": "Metadata",
            "auditID": entry.audit_id,
            "stage": stage,
            "requestURI": entry.uri,
            "verb": entry.attrs.verb if entry.attrs else "",
            "user": entry.user.as_json() if entry.user else {},
            "sourceIPs": [entry.source_ip] if entry.source_ip else [],
            "userAgent": entry.user_agent,
        }
        if entry.impersonated is not None:
            event["impersonatedUser"] = entry.impersonated.as_json()
        attrs = entry.attrs
        if attrs is not None and attrs.resource_request:
            ref: Obj = {"resource": attrs.resource}
            for key, value in (
                ("namespace", attrs.namespace),
                ("name", attrs.name),
                ("apiGroup", attrs.api_group),
                ("apiVersion", attrs.api_version),
                ("subresource", attrs.subresource),
            ):
                if value:
                    ref[key] = value
            event["objectRef"] = ref
        response: Obj = {"metadata": {}, "code": code}
        if status is not None and status.get("status") == "Failure":
            response.update({k: status[k] for k in ("status", "message", "reason") if status.get(k)})
        event["responseStatus"] = response
        event["requestReceivedTimestamp"] = _stamp(entry.received)
        event["stageTimestamp"] = _stamp(dt.datetime.now(dt.UTC))
        if entry.decision:
            event["annotations"] = {
                "authorization.k8s.io/decision": entry.decision,
                "authorization.k8s.io/reason": entry.reason,
            }
        line = json.dumps(event, separators=(",", ":")) + "\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()
