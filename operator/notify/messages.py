"""An event read off status (transitions.Occurrence) as the message builders' Event: title, facts, counts,
the top failing instances or findings, the kubectl command, and the buttons."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sreops.bots.notify.events import Action, Event, Item, kubectl_get
from sreops.operator.notify.transitions import Occurrence

SEVERITY_KEYS = ("critical", "high", "medium", "low", "informational")
TITLES = {
    "RunStarted": "Patch run started",
    "RunProgress": "Patch run in progress",
    "RunSucceeded": "Patch run succeeded",
    "RunFailed": "Patch run failed",
    "ComplianceChanged": "Fleet compliance changed",
    "NewFindings": "New vulnerability findings",
    "ThresholdExceeded": "Findings above threshold",
    "FindingsResolved": "Findings resolved",
    "SuppressionExpired": "Suppression expired",
    "InvalidSpec": "Invalid spec",
    "AccountAccessLost": "AWS account access lost",
    "NotReady": "Not ready",
}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _run(occ: Occurrence, body: Mapping[str, Any]) -> dict[str, Any]:
    spec = body.get("spec") or {}
    policy = str((spec.get("policyRef") or {}).get("name") or "")
    counts = occ.detail.get("instances") or {}
    facts = [
        ("Policy", policy),
        ("Operation", str(spec.get("operation") or "")),
        ("Trigger", str(spec.get("trigger") or "")),
    ]
    where = sorted(
        {f"{c.get('region')} ({c.get('account')})" for c in (body.get("status") or {}).get("commandIds") or []}
    )
    if where:
        facts.append(("Where", ", ".join(where)))
    items = [
        Item(str(f.get("instanceId", "")), f"{f.get('status', '')}: {f.get('detail', '')}".strip(": "))
        for f in occ.detail.get("failedInstances") or []
    ]
    number = [(k, int(counts.get(k) or 0)) for k in ("total", "succeeded", "failed", "inProgress", "timedOut")]
    summary = (
        f"{counts.get('succeeded', 0)}/{counts.get('total', 0)} instances succeeded, {counts.get('failed', 0)} failed"
    )
    actions = [Action("run-now", policy), Action("pause", policy)] if policy else []
    return {"facts": facts, "counts": number, "items": items, "summary": summary, "actions": actions}


def _findings(occ: Occurrence) -> dict[str, Any]:
    found = occ.detail.get("findings") or {}
    counts = [(k, int(found.get(k) or 0)) for k in (*SEVERITY_KEYS, "suppressed")]
    items = [
        Item(
            f"{t.get('severity', '')} {t.get('vulnerabilityId', '')}",
            f"{t.get('resource', '')} {t.get('title', '')}".strip(),
        )
        for t in occ.detail.get("topFindings") or []
    ]
    if occ.type == "NewFindings":
        summary = f"{occ.detail.get('new', 0)} new since the last sweep"
    elif occ.type == "FindingsResolved":
        summary = f"{occ.detail.get('resolved', 0)} closed since the last sweep"
    elif occ.type == "SuppressionExpired":
        d = occ.detail
        on = f" on {d.get('resource')}" if d.get("resource") else ""
        return {"summary": f"{d.get('vulnerabilityId')}{on} expired on {d.get('expires')}: its findings count again"}
    else:
        summary = str(occ.detail.get("message") or "")
    worst = next((k.upper() for k in SEVERITY_KEYS if occ.severities.get(k)), None)
    return {"counts": counts, "items": items, "summary": summary, "severity": worst}


def to_event(occ: Occurrence, body: Mapping[str, Any]) -> Event:
    parts: dict[str, Any] = {"summary": str(occ.detail.get("message") or "")}
    if occ.kind == "PatchRun":
        parts = _run(occ, body)
    elif occ.kind == "ScanSchedule" and occ.type not in ("InvalidSpec", "AccountAccessLost", "NotReady"):
        parts = _findings(occ)
    elif occ.type == "ComplianceChanged":
        c = occ.detail.get("compliance") or {}
        parts = {
            "summary": str(occ.detail.get("message") or ""),
            "counts": [
                (k, int(c.get(k) or 0))
                for k in ("instances", "compliant", "nonCompliant", "unreported", "missingPatches", "failedPatches")
            ],
            "actions": [Action("run-now", occ.name)],
        }
    elif occ.kind == "PatchPolicy":
        parts["actions"] = [Action("resume" if (body.get("spec") or {}).get("suspend") else "pause", occ.name)]
    if occ.type in ("InvalidSpec", "AccountAccessLost", "NotReady"):
        parts.setdefault("facts", [])
        parts["facts"] = [*parts["facts"], ("Reason", str(occ.detail.get("reason") or ""))]
        parts["summary"] = str(occ.detail.get("message") or "")
    return Event(
        type=occ.type,
        key=occ.key,
        kind=occ.kind,
        namespace=occ.namespace,
        name=occ.name,
        title=f"{TITLES.get(occ.type, occ.type)}: {occ.kind} {occ.name}",
        time=occ.time or _now(),
        kubectl=kubectl_get(occ.kind, occ.namespace, occ.name),
        **parts,
    )
