"""Run Command as SSM runs it: targets resolved to managed instances, rate controls, and each
invocation moving Pending → InProgress → Success/Failed/TimedOut on the simulated clock.

The whole timeline of a command is computed when it is sent (outcomes are known from the scenario);
reads compare it with the clock, and `settle_commands` applies finished invocations to the fleet
(installed patches, closed findings) in time order.
"""

from __future__ import annotations

import heapq
import math
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .errors import AwsError, validation
from .fleet import INSTALLED_STATES, Instance
from .paging import fingerprint, page
from .params import Params, max_results, opt_int, opt_list, opt_str, req_str
from .state import Ctx, World

DELIVERY_S = 1.0  # agent picks the command up
SCAN_S = 4.0
INSTALL_BASE_S = 6.0
INSTALL_PER_PATCH_S = 2.0
EXECUTION_TIMEOUT_S = 7200.0  # AWS-RunPatchBaseline's own execution timeout

DOCUMENTS: dict[str, dict[str, tuple[str, ...] | None]] = {
    # document → parameter → allowed values (None: free-form); which are required is below
    "AWS-RunPatchBaseline": {
        "Operation": ("Scan", "Install"),
        "RebootOption": ("RebootIfNeeded", "NoReboot"),
        "SnapshotId": None,
        "InstallOverrideList": None,
        "BaselineOverride": None,
        "AssociationId": None,
    },
    "AWS-RunShellScript": {"commands": None, "workingDirectory": None, "executionTimeout": None},
    "AWS-RunPowerShellScript": {"commands": None, "workingDirectory": None, "executionTimeout": None},
}
REQUIRED = {
    "AWS-RunPatchBaseline": ("Operation",),
    "AWS-RunShellScript": ("commands",),
    "AWS-RunPowerShellScript": ("commands",),
}
PLUGIN = {
    "AWS-RunPatchBaseline": "PatchLinux",
    "AWS-RunShellScript": "aws:runShellScript",
    "AWS-RunPowerShellScript": "aws:runPowerShellScript",
}

_CONCURRENCY = re.compile(r"^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$")
_ERRORS = re.compile(r"^([1-9][0-9]*|0|[1-9][0-9]%|[0-9]%|100%)$")


@dataclass
class Invocation:
    instance_id: str
    instance_name: str
    outcome: str  # Success | Failed | TimedOut | DeliveryTimedOut | Undeliverable | Skipped
    start: float | None = None
    end: float | None = None
    cancelled_at: float | None = None
    applied: bool = False
    installed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def state(self, now: float) -> tuple[str, str]:
        """(Status, StatusDetails) at `now`."""
        if self.cancelled_at is not None and self.cancelled_at <= now and (self.end is None or self.end > now):
            return "Cancelled", "Cancelled"
        if self.outcome == "Undeliverable":
            return "Failed", "Undeliverable"
        if self.end is None:
            return "Pending", "Pending"
        if self.outcome == "DeliveryTimedOut":
            return ("TimedOut", "DeliveryTimedOut") if now >= self.end else ("Pending", "Pending")
        assert self.start is not None
        if now < self.start:
            return "Pending", "Pending"
        if now < self.end:
            return "InProgress", "InProgress"
        if self.outcome == "TimedOut":
            return "TimedOut", "ExecutionTimedOut"
        return self.outcome, self.outcome


TERMINAL = {"Success", "Failed", "TimedOut", "Cancelled"}


@dataclass
class Command:
    id: str
    account: str
    region: str
    document: str
    parameters: dict[str, list[str]]
    instance_ids: list[str]
    targets: list[dict[str, Any]]
    comment: str
    max_concurrency: str
    max_errors: str
    max_errors_n: int
    timeout_seconds: int
    requested: float
    service_role: str | None
    invocations: dict[str, Invocation]
    cancelled_at: float | None = None
    output_bucket: str | None = None
    output_prefix: str | None = None

    @property
    def operation(self) -> str:
        return (self.parameters.get("Operation") or ["Scan"])[0]

    def status(self, now: float) -> tuple[str, str]:
        states = [i.state(now)[1] for i in self.invocations.values()]
        if self.cancelled_at is not None and now >= self.cancelled_at:
            return "Cancelled", "Cancelled"
        terminal_details = {"Success", "Failed", "ExecutionTimedOut", "DeliveryTimedOut", "Undeliverable", "Cancelled"}
        if not all(s in terminal_details for s in states):
            started = any(s != "Pending" for s in states)
            return ("InProgress", "InProgress") if started else ("Pending", "Pending")
        errors = sum(1 for s in states if s in ("Failed", "ExecutionTimedOut"))
        delivery = sum(1 for s in states if s == "DeliveryTimedOut")
        if errors > self.max_errors_n:
            return "Failed", "Failed"
        if states and all(s == "Undeliverable" for s in states):
            return "Failed", "Undeliverable"
        if errors + delivery > self.max_errors_n and delivery:
            return "TimedOut", "DeliveryTimedOut"
        if all(s in ("Success", "Undeliverable") for s in states):
            return "Success", "Success"
        return "Failed", "Incomplete"

    def to_json(self, now: float) -> dict[str, Any]:
        status, details = self.status(now)
        states = [i.state(now) for i in self.invocations.values()]
        out: dict[str, Any] = {
            "CommandId": self.id,
            "DocumentName": self.document,
            "DocumentVersion": "$DEFAULT",
            "Comment": self.comment,
            "ExpiresAfter": self.requested + self.timeout_seconds + EXECUTION_TIMEOUT_S,
            "Parameters": self.parameters,
            "InstanceIds": self.instance_ids,
            "Targets": self.targets,
            "RequestedDateTime": self.requested,
            "Status": status,
            "StatusDetails": details,
            "OutputS3Region": self.region,
            "MaxConcurrency": self.max_concurrency,
            "MaxErrors": self.max_errors,
            "TargetCount": len(states),
            "CompletedCount": sum(1 for s, _ in states if s in TERMINAL),
            "ErrorCount": sum(1 for _, d in states if d in ("Failed", "ExecutionTimedOut", "Undeliverable")),
            "DeliveryTimedOutCount": sum(1 for _, d in states if d == "DeliveryTimedOut"),
            "TimeoutSeconds": self.timeout_seconds,
            "NotificationConfig": {"NotificationEvents": [], "NotificationType": "Command"},
            "CloudWatchOutputConfig": {"CloudWatchOutputEnabled": False},
        }
        if self.service_role:
            out["ServiceRole"] = self.service_role
        if self.output_bucket:
            out["OutputS3BucketName"] = self.output_bucket
            out["OutputS3KeyPrefix"] = self.output_prefix or ""
        return out


def _rate(value: str, total: int, rounding: str) -> int:
    if value.endswith("%"):
        exact = total * int(value[:-1]) / 100
        return max(1, math.ceil(exact)) if rounding == "up" else int(exact)
    return int(value)


def _iso(t: float | None) -> str:
    if t is None:
        return ""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(t * 1000) % 1000:03d}Z"


def matches_targets(inst: Instance, targets: list[dict[str, Any]]) -> bool:
    """Run Command targets: every key must match (AND), any of its values (OR)."""
    for t in targets:
        key, values = t.get("Key", ""), t.get("Values") or []
        if key == "InstanceIds":
            ok = inst.id in values
        elif key.startswith("tag:"):
            ok = inst.tags.get(key[4:]) in values
        elif key == "tag-key":
            ok = any(k in inst.tags for k in values)
        else:
            ok = False
        if not ok:
            return False
    return True


def check_targets(targets: list[Any], name: str = "Targets") -> list[dict[str, Any]]:
    if len(targets) > 5:
        raise validation(
            f"1 validation error detected: Value at '{name[0].lower() + name[1:]}' failed to satisfy "
            "constraint: Member must have length less than or equal to 5"
        )
    out = []
    for t in targets:
        if not isinstance(t, dict) or not isinstance(t.get("Key"), str) or not isinstance(t.get("Values"), list):
            raise validation(f"{name}: each target needs Key and Values")
        key = t["Key"]
        if not (key in ("InstanceIds", "tag-key", "resource-groups:Name") or key.startswith("tag:")):
            raise validation(f"{name}: unsupported target key {key!r}")
        out.append({"Key": key, "Values": list(t["Values"])})
    return out


def _outcome(inst: Instance, document: str, operation: str) -> tuple[str, float]:
    if inst.command_outcome == "TimedOut":
        return "TimedOut", EXECUTION_TIMEOUT_S
    if document != "AWS-RunPatchBaseline":
        return inst.command_outcome or "Success", SCAN_S
    if operation == "Scan":
        return inst.command_outcome or "Success", SCAN_S
    missing = [p for p in inst.patches.values() if p.state == "Missing"]
    failing = any(p.spec.fails for p in missing)
    outcome = inst.command_outcome or ("Failed" if failing else "Success")
    return outcome, INSTALL_BASE_S + INSTALL_PER_PATCH_S * len(missing)


def _check_request(
    document: str,
    parameters: dict[str, list[str]],
    max_concurrency: str,
    max_errors: str,
    instance_ids: list[str],
    targets: list[dict[str, Any]],
) -> None:
    if document not in DOCUMENTS:
        raise AwsError("InvalidDocument", f"Document {document} does not exist in your account.")
    allowed = DOCUMENTS[document]
    for k, v in parameters.items():
        if k not in allowed:
            raise AwsError("InvalidParameters", f'Parameter "{k}" is not a valid parameter of {document}.')
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise AwsError("InvalidParameters", f'Parameter "{k}" must be a list of strings.')
        choices = allowed[k]
        if choices is not None and (len(v) != 1 or v[0] not in choices):
            raise AwsError(
                "InvalidParameters", f'Parameter "{k}" value {v} is not one of the allowed values {list(choices)}.'
            )
    for k in REQUIRED[document]:
        if k not in parameters:
            raise AwsError("InvalidParameters", f'Required parameter "{k}" is missing.')
    if not _CONCURRENCY.match(max_concurrency):
        raise validation(f"Invalid MaxConcurrency value: {max_concurrency}")
    if not _ERRORS.match(max_errors):
        raise validation(f"Invalid MaxErrors value: {max_errors}")
    if not instance_ids and not targets:
        raise validation("Either InstanceIds or Targets must be specified.")


def send(
    w: World,
    ctx: Ctx,
    document: str,
    parameters: dict[str, list[str]],
    instance_ids: list[str],
    targets: list[dict[str, Any]],
    max_concurrency: str = "50",
    max_errors: str = "0",
    timeout_seconds: int = 3600,
    comment: str = "",
    service_role: str | None = None,
) -> Command:
    _check_request(document, parameters, max_concurrency, max_errors, instance_ids, targets)
    fleet = w.fleet.region_instances(ctx.account, ctx.region)
    chosen: list[Instance]
    if instance_ids:
        if len(set(instance_ids)) != len(instance_ids):
            raise AwsError("DuplicateInstanceId", "Instance ids are duplicated.")
        bad = [i for i in instance_ids if i not in fleet or not fleet[i].managed]
        if bad:
            raise AwsError(
                "InvalidInstanceId",
                f"Instances [[{', '.join(bad)}]] not in a valid state for account {ctx.account}",
            )
        chosen = [fleet[i] for i in instance_ids]
    else:
        chosen = [i for i in fleet.values() if i.managed and matches_targets(i, targets)]
    operation = (parameters.get("Operation") or ["Scan"])[0]
    now = ctx.now
    invocations: dict[str, Invocation] = {}
    runnable: list[tuple[Invocation, float]] = []
    for inst in chosen:
        if inst.ping == "Inactive":
            inv = Invocation(inst.id, inst.name, "Undeliverable", start=now, end=now)
        elif inst.ping == "ConnectionLost":
            inv = Invocation(inst.id, inst.name, "DeliveryTimedOut", end=now + timeout_seconds)
        else:
            outcome, duration = _outcome(inst, document, operation)
            inv = Invocation(inst.id, inst.name, outcome)
            runnable.append((inv, duration))
        invocations[inst.id] = inv
    total = len(invocations)
    conc = _rate(max_concurrency, total, "up") if total else 1
    errs = _rate(max_errors, total, "down")
    _plan(runnable, now + DELIVERY_S, conc, errs)
    cmd = Command(
        id=str(uuid.uuid4()),
        account=ctx.account,
        region=ctx.region,
        document=document,
        parameters=parameters,
        instance_ids=list(instance_ids) if instance_ids else [i.id for i in chosen],
        targets=targets,
        comment=comment,
        max_concurrency=max_concurrency,
        max_errors=max_errors,
        max_errors_n=errs,
        timeout_seconds=timeout_seconds,
        requested=now,
        service_role=service_role,
        invocations=invocations,
    )
    if targets:
        cmd.instance_ids = []  # AWS reports the targets, not the resolved ids
    w.region(ctx).commands[cmd.id] = cmd
    w.active_commands.add((ctx.account, ctx.region, cmd.id))
    return cmd


def _plan(runnable: list[tuple[Invocation, float]], t0: float, concurrency: int, max_errors: int) -> None:
    """Discrete-event rollout: at most `concurrency` running; once errors exceed `max_errors` no new
    invocation starts (the rest end Cancelled when the threshold is crossed)."""
    queue = list(runnable)
    queue.reverse()
    running: list[tuple[float, int, Invocation]] = []
    t, errors, seq = t0, 0, 0
    stopped_at: float | None = None
    while queue or running:
        while stopped_at is None and queue and len(running) < concurrency:
            inv, duration = queue.pop()
            inv.start, inv.end = t, t + duration
            heapq.heappush(running, (inv.end, seq, inv))
            seq += 1
        if not running:
            break
        t, _, done = heapq.heappop(running)
        if done.outcome in ("Failed", "TimedOut"):
            errors += 1
            if errors > max_errors and stopped_at is None:
                stopped_at = t
    for inv, _ in queue:
        inv.outcome, inv.cancelled_at = "Skipped", stopped_at


def settle_commands(w: World, now: float) -> None:
    due: list[tuple[float, Command, Invocation]] = []
    for key in list(w.active_commands):
        account, region, cid = key
        cmd = w.ssm[(account, region)].commands[cid]
        pending = False
        for inv in cmd.invocations.values():
            if inv.applied:
                continue
            if inv.cancelled_at is not None and (inv.end is None or inv.cancelled_at < inv.end):
                inv.applied = True
                continue
            if inv.end is None or inv.outcome in ("Undeliverable", "DeliveryTimedOut"):
                if inv.end is not None and inv.end <= now:
                    inv.applied = True
                else:
                    pending = True
                continue
            if inv.end <= now:
                due.append((inv.end, cmd, inv))
            else:
                pending = True
        if not pending:
            w.active_commands.discard(key)
    due.sort(key=lambda d: d[0])
    for end, cmd, inv in due:
        _apply(w, cmd, inv, end)
        inv.applied = True


def _apply(w: World, cmd: Command, inv: Invocation, end: float) -> None:
    inst = w.fleet.find_instance(cmd.account, cmd.region, inv.instance_id)
    if inst is None or cmd.document != "AWS-RunPatchBaseline" or inv.outcome == "TimedOut":
        return
    inst.last_scan = end
    inst.last_operation_start = inv.start
    inst.last_operation = cmd.operation
    reboot = (cmd.parameters.get("RebootOption") or ["RebootIfNeeded"])[0]
    inst.last_reboot_option = reboot
    if cmd.operation != "Install":
        return
    rejected = _rejected_patches(w, cmd, inst)
    installed: set[str] = set()
    for p in inst.patches.values():
        if p.state != "Missing" or p.spec.id in rejected:
            continue
        if p.spec.fails or (inv.outcome == "Failed" and inst.command_outcome == "Failed"):
            p.state = "Failed"
            inv.failed.append(p.spec.id)
        else:
            p.state = "InstalledPendingReboot" if reboot == "NoReboot" else "Installed"
            p.installed_time = end
            installed.add(p.spec.id)
            inv.installed.append(p.spec.id)
    if reboot == "NoReboot":
        inst.last_no_reboot_install = end
    w.fleet.close_findings(inst, installed, end)


def _rejected_patches(w: World, cmd: Command, inst: Instance) -> set[str]:
    rs = w.ssm.get((cmd.account, cmd.region))
    group = inst.patch_group
    if rs is None or group is None:
        return set()
    bid = rs.patch_groups.get(group, {}).get(inst.os)
    baseline = rs.baselines.get(bid or "")
    return set(baseline.get("RejectedPatches") or []) if baseline else set()


def _output(cmd: Command, inv: Invocation, now: float) -> tuple[str, str, int]:
    status, _ = inv.state(now)
    if status in ("Pending", "InProgress"):
        return "", "", -1
    if cmd.document == "AWS-RunPatchBaseline" and status in ("Success", "Failed"):
        lines = [f"Patch operation {cmd.operation} on {inv.instance_id}"]
        if inv.installed:
            lines.append("Installed: " + ", ".join(inv.installed))
        err = ""
        if inv.failed:
            err = "Failed to install: " + ", ".join(inv.failed)
        return "\n".join(lines), err, 0 if status == "Success" else 1
    if status == "TimedOut":
        return "", "Command execution timed out.", -1
    return "", "", 0 if status == "Success" else 1


def _invocation_json(cmd: Command, inv: Invocation, now: float, details: bool) -> dict[str, Any]:
    status, sdetails = inv.state(now)
    out: dict[str, Any] = {
        "CommandId": cmd.id,
        "InstanceId": inv.instance_id,
        "InstanceName": inv.instance_name,
        "Comment": cmd.comment,
        "DocumentName": cmd.document,
        "DocumentVersion": "$DEFAULT",
        "RequestedDateTime": cmd.requested,
        "Status": status,
        "StatusDetails": sdetails,
        "TraceOutput": "",
        "StandardOutputUrl": "",
        "StandardErrorUrl": "",
        "CommandPlugins": [],
        "NotificationConfig": {"NotificationEvents": [], "NotificationType": "Command"},
        "CloudWatchOutputConfig": {"CloudWatchOutputEnabled": False},
    }
    if cmd.service_role:
        out["ServiceRole"] = cmd.service_role
    if details:
        stdout, stderr, code = _output(cmd, inv, now)
        plugin: dict[str, Any] = {
            "Name": PLUGIN[cmd.document],
            "Status": status,
            "StatusDetails": sdetails,
            "ResponseCode": code,
            "Output": (stdout + ("\n" + stderr if stderr else ""))[:2500],
            "OutputS3Region": cmd.region,
        }
        if inv.start is not None and now >= inv.start:
            plugin["ResponseStartDateTime"] = inv.start
        if inv.end is not None and now >= inv.end:
            plugin["ResponseFinishDateTime"] = inv.end
        out["CommandPlugins"] = [plugin]
    return out


# ---------------------------------------------------------------------------------------------------
# Operations


def op_send_command(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    document = req_str(p, "DocumentName", 128)
    instance_ids = opt_list(p, "InstanceIds", max_len=50)
    targets = check_targets(opt_list(p, "Targets"))
    if instance_ids and targets:
        raise validation("InstanceIds and Targets cannot both be specified.")
    parameters = p.get("Parameters") or {}
    if not isinstance(parameters, dict):
        raise AwsError("InvalidParameters", "Parameters must be a map of lists of strings.")
    cmd = send(
        w,
        ctx,
        document,
        parameters,
        instance_ids,
        targets,
        max_concurrency=opt_str(p, "MaxConcurrency", "50") or "50",
        max_errors=opt_str(p, "MaxErrors", "0") or "0",
        timeout_seconds=opt_int(p, "TimeoutSeconds", 30, 2592000, 3600) or 3600,
        comment=opt_str(p, "Comment", "") or "",
        service_role=opt_str(p, "ServiceRoleArn"),
    )
    cmd.output_bucket = opt_str(p, "OutputS3BucketName")
    cmd.output_prefix = opt_str(p, "OutputS3KeyPrefix")
    return {"Command": cmd.to_json(ctx.now)}


def _get_command(w: World, ctx: Ctx, cid: str) -> Command:
    cmd = w.region(ctx).commands.get(cid)
    if cmd is None:
        raise AwsError("InvalidCommandId", "")
    return cmd


def _filter_commands(cmds: list[Command], filters: list[Any], now: float) -> list[Command]:
    for f in filters:
        key, value = f.get("key"), f.get("value")
        if key == "Status":
            cmds = [c for c in cmds if c.status(now)[0] == value]
        elif key == "DocumentName":
            cmds = [c for c in cmds if c.document == value]
        elif key in ("InvokedAfter", "InvokedBefore"):
            try:
                t = datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
            except ValueError:
                raise AwsError("InvalidFilterValue", f"Invalid filter value: {value}") from None
            cmds = [c for c in cmds if (c.requested >= t if key == "InvokedAfter" else c.requested <= t)]
        elif key == "ExecutionStage":
            want_exec = value == "Executing"
            cmds = [c for c in cmds if (c.status(now)[0] in ("Pending", "InProgress")) == want_exec]
        else:
            raise AwsError("InvalidFilterKey", "")
    return cmds


def op_list_commands(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    cid, iid = opt_str(p, "CommandId"), opt_str(p, "InstanceId")
    filters = opt_list(p, "Filters", max_len=5)
    limit = max_results(p, 1, 50, 50)
    rs = w.region(ctx)
    cmds = [_get_command(w, ctx, cid)] if cid else sorted(rs.commands.values(), key=lambda c: -c.requested)
    if iid:
        cmds = [c for c in cmds if iid in c.invocations]
    cmds = _filter_commands(cmds, filters, ctx.now)
    chunk, token = page(cmds, limit, p.get("NextToken"), fingerprint("lc", cid, iid, filters))
    out: dict[str, Any] = {"Commands": [c.to_json(ctx.now) for c in chunk]}
    if token:
        out["NextToken"] = token
    return out


def op_list_command_invocations(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    cid, iid = opt_str(p, "CommandId"), opt_str(p, "InstanceId")
    details = bool(p.get("Details", False))
    filters = opt_list(p, "Filters", max_len=5)
    limit = max_results(p, 1, 50, 50)
    rs = w.region(ctx)
    cmds = [_get_command(w, ctx, cid)] if cid else sorted(rs.commands.values(), key=lambda c: -c.requested)
    pairs = [(c, inv) for c in _filter_commands(cmds, filters, ctx.now) for inv in c.invocations.values()]
    if iid:
        pairs = [(c, inv) for c, inv in pairs if inv.instance_id == iid]
    chunk, token = page(pairs, limit, p.get("NextToken"), fingerprint("lci", cid, iid, filters))
    out: dict[str, Any] = {"CommandInvocations": [_invocation_json(c, i, ctx.now, details) for c, i in chunk]}
    if token:
        out["NextToken"] = token
    return out


def op_get_command_invocation(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    cid = req_str(p, "CommandId", 36)
    iid = req_str(p, "InstanceId")
    cmd = w.region(ctx).commands.get(cid)
    inv = cmd.invocations.get(iid) if cmd else None
    if cmd is None or inv is None:
        raise AwsError("InvocationDoesNotExist", "")
    plugin = opt_str(p, "PluginName")
    if plugin and plugin != PLUGIN[cmd.document]:
        raise AwsError("InvalidPluginName", "")
    status, details = inv.state(ctx.now)
    stdout, stderr, code = _output(cmd, inv, ctx.now)
    started = inv.start is not None and ctx.now >= inv.start
    ended = inv.end is not None and ctx.now >= inv.end and status in TERMINAL
    elapsed = 0.0
    if started and inv.start is not None:
        elapsed = (inv.end if ended and inv.end else ctx.now) - inv.start
    return {
        "CommandId": cmd.id,
        "InstanceId": iid,
        "Comment": cmd.comment,
        "DocumentName": cmd.document,
        "DocumentVersion": "$DEFAULT",
        "PluginName": PLUGIN[cmd.document],
        "ResponseCode": code,
        "ExecutionStartDateTime": _iso(inv.start) if started else "",
        "ExecutionElapsedTime": f"PT{elapsed:.3f}S" if started else "",
        "ExecutionEndDateTime": _iso(inv.end) if ended else "",
        "Status": status,
        "StatusDetails": details,
        "StandardOutputContent": stdout,
        "StandardOutputUrl": "",
        "StandardErrorContent": stderr,
        "StandardErrorUrl": "",
        "CloudWatchOutputConfig": {"CloudWatchOutputEnabled": False},
    }


def op_cancel_command(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    cmd = _get_command(w, ctx, req_str(p, "CommandId", 36))
    only = set(opt_list(p, "InstanceIds", max_len=50))
    for inv in cmd.invocations.values():
        if (not only or inv.instance_id in only) and inv.state(ctx.now)[0] not in TERMINAL:
            inv.cancelled_at = ctx.now
    if not only:
        cmd.cancelled_at = ctx.now
    return {}


OPS = {
    "SendCommand": op_send_command,
    "ListCommands": op_list_commands,
    "ListCommandInvocations": op_list_command_invocations,
    "GetCommandInvocation": op_get_command_invocation,
    "CancelCommand": op_cancel_command,
}

__all__ = ["INSTALLED_STATES", "OPS", "Command", "matches_targets", "send"]
