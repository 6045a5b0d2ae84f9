"""`sreops status [KIND/NAME]`: the sreops objects and how they are, one table per kind like `kubectl get`.

The READY column is the Ready condition's status; REASON is its reason when it is not True (blank when it
is). json and yaml print `{"items": [ResourceStatus...]}`, the gateway's /api/v1/status answer.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TextIO

import yaml

from sreops import ops_cli
from sreops.bots.actions import ResourceStatus, kind_view
from sreops.bots.actions.errors import ActionError
from sreops.bots.actions.kinds import BY_NAME

PROG = "sreops status"
OUTPUTS = ("table", "json", "yaml")
# Per kind: (header, summary key) after NAME; READY, REASON and AGE follow.
COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "PatchPolicy": (
        ("OPERATION", "operation"),
        ("COMPLIANT", "compliant"),
        ("SUSPEND", "suspend"),
        ("LAST RUN", "last_result"),
        ("NEXT RUN", "next_run"),
    ),
    "PatchRun": (
        ("POLICY", "policy"),
        ("OPERATION", "operation"),
        ("TRIGGER", "trigger"),
        ("TOTAL", "total"),
        ("SUCCEEDED", "succeeded"),
        ("FAILED", "failed"),
        ("COMPLETE", "complete"),
    ),
    "ScanSchedule": (
        ("CRITICAL", "critical"),
        ("HIGH", "high"),
        ("NEW", "new"),
        ("SUSPEND", "suspend"),
        ("LAST SCAN", "last_scan"),
        ("NEXT SCAN", "next_scan"),
    ),
    "Notifier": (("SLACK", "slack"), ("TEAMS", "teams"), ("SENT", "sent"), ("FAILED", "failed")),
    "AWSAccount": (("ACCOUNT", "account"),),
}


def parse_target(text: str | None) -> tuple[str | None, str | None]:
    """``KIND/NAME``, ``KIND`` or ``NAME`` (a name of any kind, when it is no kind's name) -> (kind, name)."""
    if not text:
        return None, None
    if "/" in text:
        kind, _, name = text.partition("/")
        if not kind or not name or "/" in name:
            raise ops_cli.UsageError(f"{text!r}: expected KIND/NAME, e.g. pp/web-fleet")
        return kind_view(kind).kind, name
    if text.lower().removesuffix(".sreops.io") in BY_NAME:
        return kind_view(text).kind, None
    return None, text


def age(created: object, now: datetime) -> str:
    """kubectl's short age: 45s, 12m, 5h, 3d."""
    if not isinstance(created, str) or not created:
        return "<unknown>"
    try:
        then = datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return "<unknown>"
    seconds = max(0, int((now - then).total_seconds()))
    for unit, size, limit in (("s", 1, 120), ("m", 60, 180 * 60), ("h", 3600, 48 * 3600)):
        if seconds < limit:
            return f"{seconds // size}{unit}"
    return f"{seconds // 86400}d"


def _cell(value: object) -> str:
    return "<none>" if value is None or value == "" else str(value)


def table(items: list[ResourceStatus], all_namespaces: bool, now: datetime) -> str:
    """One table per kind (in the order of `items`), separated by a blank line."""
    blocks = []
    for kind in dict.fromkeys(i.kind for i in items):
        header = [*(["NAMESPACE"] if all_namespaces else []), kind.upper()]
        header += [h for h, _ in COLUMNS[kind]] + ["READY", "REASON", "AGE"]
        rows = [header]
        for item in (i for i in items if i.kind == kind):
            ready = item.ready.status if item.ready else "Unknown"
            reason = item.ready.reason if item.ready and item.ready.status != "True" else ""
            row = [*([item.namespace] if all_namespaces else []), item.name]
            row += [_cell(item.summary.get(key)) for _, key in COLUMNS[kind]]
            row += [ready, reason, age(item.summary.get("created"), now)]
            rows.append(row)
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        blocks.append("\n".join("   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows))
    return "\n\n".join(blocks) + "\n"


def write(output: str, items: list[ResourceStatus], all_namespaces: bool, out: TextIO) -> None:
    document = {"items": [asdict(i) for i in items]}
    if output == "json":
        out.write(json.dumps(document, indent=2) + "\n")
    elif output == "yaml":
        out.write(yaml.safe_dump(document, sort_keys=False))
    else:
        out.write(table(items, all_namespaces, datetime.now(UTC)))


def run(args: argparse.Namespace) -> int:
    def body(backend: ops_cli.Backend, out: TextIO) -> int:
        if args.all_namespaces and args.namespace:
            raise ops_cli.UsageError("-A/--all-namespaces and -n/--namespace exclude each other")
        kind, name = parse_target(args.target)
        namespace = None if args.all_namespaces else backend.namespace(args.namespace)
        try:
            items = backend.status(namespace, kind, name)
        except ActionError as exc:
            if exc.status == 404 and name is not None:
                what = kind or "sreops object"
                where = f" in namespace {namespace!r}" if namespace else ""
                raise ActionError(404, "NotFound", f"{what} {name!r} not found{where}") from None
            raise
        if not items and args.output == "table":
            where = f"in namespace {namespace!r}" if namespace else "in any namespace"
            print(f"No sreops objects found {where}.", file=sys.stderr)
            return ops_cli.EXIT_OK
        write(args.output, items, args.all_namespaces, out)
        return ops_cli.EXIT_OK

    return ops_cli.main(PROG, args, body)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target",
        nargs="?",
        metavar="KIND/NAME",
        help="pp/web-fleet, a kind alone (PatchPolicy, patchpolicies, pp, pr, scan, ntf, awsacct), or a name of "
        "any kind (default: every sreops object)",
    )
    ops_cli.add_namespace_argument(parser)
    parser.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace (adds a NAMESPACE column)")
    parser.add_argument("-o", "--output", choices=OUTPUTS, default="table", help="format (default table)")
    ops_cli.add_connection_arguments(parser)
    parser.set_defaults(func=run)
