"""What `sreops sandbox` shows: every sreops.io object with its Ready condition and a one-line summary,
and the processes it supervises."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, cast

from kubernetes import client

from sreops.operator.api import GROUP, KINDS, VERSION
from sreops.operator.api.conditions import READY, get_condition
from sreops.sandbox.processes import ProcessStatus, rfc3339


@dataclass(frozen=True)
class Row:
    kind: str
    namespace: str
    name: str
    ready: str
    reason: str
    message: str
    summary: str


def _summary(kind: str, status: dict[str, Any]) -> str:
    if kind == "PatchPolicy":
        compliance = status.get("compliance") or {}
        last = (status.get("lastRun") or {}).get("result", "-")
        return f"compliant {compliance.get('summary', '-')}, last run {last}, next {status.get('nextRunTime', '-')}"
    if kind == "PatchRun":
        n = status.get("instances") or {}
        return f"{n.get('succeeded', 0)}/{n.get('total', 0)} succeeded, {n.get('failed', 0)} failed"
    if kind == "ScanSchedule":
        f = status.get("findings") or {}
        return f"critical {f.get('critical', 0)}, high {f.get('high', 0)}, new {status.get('newSinceLastScan', 0)}"
    if kind == "AWSAccount":
        return f"account {status.get('accountId', '-')}"
    if kind == "Notifier":
        return f"sent {status.get('sent', 0)}, failed {status.get('failed', 0)}"
    return ""


def collect(api: client.ApiClient) -> list[Row]:
    custom = client.CustomObjectsApi(api)
    rows: list[Row] = []
    for kind in KINDS.values():
        listing = cast(dict[str, Any], custom.list_cluster_custom_object(GROUP, VERSION, kind.plural))
        for obj in listing.get("items", []):
            status = obj.get("status") or {}
            ready = get_condition(status, READY) or {}
            meta = obj["metadata"]
            rows.append(
                Row(
                    kind=kind.kind,
                    namespace=meta.get("namespace", ""),
                    name=meta["name"],
                    ready=ready.get("status", "Unknown"),
                    reason=ready.get("reason", ""),
                    message=ready.get("message", ""),
                    summary=_summary(kind.kind, status),
                )
            )
    return rows


def as_json(rows: list[Row]) -> list[dict[str, str]]:
    return [asdict(r) for r in rows]


def as_table(rows: list[Row]) -> str:
    header = ("KIND", "NAMESPACE", "NAME", "READY", "REASON", "SUMMARY")
    return _table(header, [(r.kind, r.namespace, r.name, r.ready, r.reason, r.summary) for r in rows])


def processes_table(processes: list[ProcessStatus], roles: dict[str, tuple[str, str]] | None = None) -> str:
    """`roles`, when given, adds each operator's lease and whether it leads it: name -> (lease, role)."""
    rows: list[tuple[str, ...]]
    if roles is None:
        header: tuple[str, ...] = ("PROCESS", "STATE", "PID", "RESTARTS", "LAST EXIT")
        rows = [(p.name, _state(p), str(p.pid or "-"), str(p.restarts), _last_exit(p)) for p in processes]
        return _table(header, rows)
    header = ("PROCESS", "STATE", "PID", "RESTARTS", "LEASE", "ROLE", "LAST EXIT")
    rows = []
    for p in processes:
        lease, role = roles.get(p.name, ("-", "-"))
        rows.append((p.name, _state(p), str(p.pid or "-"), str(p.restarts), lease, role, _last_exit(p)))
    return _table(header, rows)


def _state(p: ProcessStatus) -> str:
    if p.running:
        return "Running" if p.ready else "Starting"
    if p.next_restart is not None:
        return "BackOff, restart at " + rfc3339(p.next_restart)
    return "Stopped"


def _last_exit(p: ProcessStatus) -> str:
    return "-" if p.last_exit is None else p.last_exit.describe()


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """Columns padded to their widest cell; the last one is left ragged."""
    cells = [header, *rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header) - 1)]
    lines = []
    for c in cells:
        lines.append("  ".join(v.ljust(w) for v, w in zip(c[:-1], widths, strict=True)) + "  " + c[-1])
    return "\n".join(lines)
