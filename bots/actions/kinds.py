"""The kinds `status` reads, by any name kubectl accepts for them, and the summary shown of each."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sreops.bots.actions.errors import ActionError
from sreops.operator.api import KINDS

Summary = dict[str, str | int | None]


def _get(obj: Mapping[str, Any], *path: str) -> Any:
    value: Any = obj
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _flag(value: Any) -> str:
    return "true" if value is True else "false"


def _condition_status(obj: Mapping[str, Any], type_: str) -> str | None:
    for condition in _get(obj, "status", "conditions") or []:
        if isinstance(condition, Mapping) and condition.get("type") == type_:
            return _text(condition.get("status"))
    return None


def _policy(obj: Mapping[str, Any]) -> Summary:
    return {
        "operation": _text(_get(obj, "spec", "operation")),
        "compliant": _text(_get(obj, "status", "compliance", "summary")),
        "suspend": _flag(_get(obj, "spec", "suspend")),
        "last_run": _text(_get(obj, "status", "lastRun", "name")),
        "last_result": _text(_get(obj, "status", "lastRun", "result")),
        "next_run": _text(_get(obj, "status", "nextRunTime")),
    }


def _run(obj: Mapping[str, Any]) -> Summary:
    instances = _get(obj, "status", "instances") or {}
    return {
        "policy": _text(_get(obj, "spec", "policyRef", "name")),
        "operation": _text(_get(obj, "spec", "operation")),
        "trigger": _text(_get(obj, "spec", "trigger")),
        "total": _int(instances.get("total")),
        "succeeded": _int(instances.get("succeeded")),
        "failed": _int(instances.get("failed")),
        "in_progress": _int(instances.get("inProgress")),
        "complete": _condition_status(obj, "Complete"),
        "started_at": _text(_get(obj, "status", "startedAt")),
        "finished_at": _text(_get(obj, "status", "finishedAt")),
    }


def _schedule(obj: Mapping[str, Any]) -> Summary:
    findings = _get(obj, "status", "findings") or {}
    return {
        "critical": _int(findings.get("critical")),
        "high": _int(findings.get("high")),
        "new": _int(_get(obj, "status", "newSinceLastScan")),
        "suspend": _flag(_get(obj, "spec", "suspend")),
        "last_scan": _text(_get(obj, "status", "lastScanTime")),
        "next_scan": _text(_get(obj, "status", "nextScanTime")),
    }


def _notifier(obj: Mapping[str, Any]) -> Summary:
    return {
        "slack": _text(_get(obj, "spec", "slack", "channel")),
        "teams": "yes" if _get(obj, "spec", "teams") else "no",
        "sent": _int(_get(obj, "status", "sent")),
        "failed": _int(_get(obj, "status", "failed")),
        "last_sent": _text(_get(obj, "status", "lastSentTime")),
    }


def _account(obj: Mapping[str, Any]) -> Summary:
    return {"account": _text(_get(obj, "status", "accountId")), "role": _text(_get(obj, "spec", "roleArn"))}


@dataclass(frozen=True)
class KindView:
    kind: str
    plural: str
    names: tuple[str, ...]  # singular, plural and short names (lower case), as the CRD defines them
    summary: Callable[[Mapping[str, Any]], Summary]


# Shown in this order. Short names are the CRDs' (crds/*.yaml); `ss` is accepted for ScanSchedule too
# (the CRD's own short name is `scan`).
VIEWS: tuple[KindView, ...] = (
    KindView("PatchPolicy", KINDS["PatchPolicy"].plural, ("patchpolicy", "pp"), _policy),
    KindView("PatchRun", KINDS["PatchRun"].plural, ("patchrun", "pr"), _run),
    KindView("ScanSchedule", KINDS["ScanSchedule"].plural, ("scanschedule", "scan", "ss"), _schedule),
    KindView("Notifier", KINDS["Notifier"].plural, ("notifier", "ntf"), _notifier),
    KindView("AWSAccount", KINDS["AWSAccount"].plural, ("awsaccount", "awsacct"), _account),
)
BY_NAME: dict[str, KindView] = {n: v for v in VIEWS for n in (*v.names, v.plural, v.kind.lower())}


def kind_view(name: str) -> KindView:
    """The kind named (case-insensitive; singular, plural, short name, or `kind.sreops.io`)."""
    key = name.strip().lower().removesuffix(".sreops.io")
    if key not in BY_NAME:
        known = ", ".join(v.kind for v in VIEWS)
        raise ActionError(
            400, "BadRequest", f"unknown kind {name!r}; one of {known} (or pp, pr, scan, ntf, awsacct)", "kind"
        )
    return BY_NAME[key]
