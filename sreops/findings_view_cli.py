"""`sreops findings SCHEDULE --api-url URL`: the gateway's findings view of a ScanSchedule — what its status
reports (counts, the top 10 findings, lastScanTime, Ready), not a live Inspector listing (that needs AWS
credentials, which an API user does not have)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import TextIO

from sreops import ops_cli
from sreops.bots.actions import FindingsView

SEVERITIES = ("critical", "high", "medium", "low", "informational")
COLUMNS = ("SEVERITY", "VULNERABILITY", "RESOURCE", "FIRST SEEN", "TITLE")
TITLE_WIDTH = 100


def table(view: FindingsView) -> str:
    c = view.counts
    ready = (
        f"Ready {view.ready.status}" + (f" ({view.ready.reason})" if view.ready.status != "True" else "")
        if view.ready
        else "Ready Unknown"
    )
    lines = [f"ScanSchedule {view.namespace}/{view.schedule}: {ready}, last scan {view.last_scan_time or 'never'}"]
    counts = ", ".join(f"{c.get(s, 0)} {s}" for s in SEVERITIES) + f", {c.get('suppressed', 0)} suppressed"
    if "new" in c:
        counts += f"; {c['new']} new, {c.get('resolved', 0)} resolved since the scan before"
    lines.append(counts)
    rows = [list(COLUMNS)]
    for f in view.top:
        title = " ".join(str(f.get("title") or "").split())
        title = title if len(title) <= TITLE_WIDTH else title[: TITLE_WIDTH - 3] + "..."
        rows.append(
            [str(f.get(k) or "-") for k in ("severity", "vulnerabilityId", "resource", "firstObserved")] + [title]
        )
    if len(rows) > 1:
        widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS) - 1)]
        lines += ["  ".join(v.ljust(w) for v, w in zip(r[:-1], widths, strict=True)) + "  " + r[-1] for r in rows]
    total = sum(c.get(s, 0) for s in SEVERITIES)
    lines.append(f"top {len(view.top)} of {total} findings (the schedule's status; without --api-url: a live listing)")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    def body(backend: ops_cli.Backend, out: TextIO) -> int:
        unsupported = [
            flag
            for flag, on in (
                ("--new", args.new),
                ("--show-suppressed", args.show_suppressed),
                ("-o csv", args.output == "csv"),
            )
            if on
        ]
        if unsupported:
            raise ops_cli.UsageError(f"{', '.join(unsupported)}: only without --api-url (a live listing)")
        view = backend.findings(backend.namespace(args.namespace), args.schedule)
        if args.severity:
            keep = SEVERITIES[: SEVERITIES.index(args.severity.lower()) + 1]
            view = FindingsView(
                **{
                    **asdict(view),
                    "ready": view.ready,
                    "top": [f for f in view.top if str(f.get("severity", "")).lower() in keep],
                }
            )
        out.write(json.dumps(asdict(view), indent=2) + "\n" if args.output == "json" else table(view))
        return ops_cli.EXIT_OK

    return ops_cli.main("sreops findings", args, body)
