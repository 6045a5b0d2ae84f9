"""Maintenance windows (with targets and tasks) and the executions they start when their schedule
fires on the simulated clock. moto stores windows without Enabled, updates or executions, so the
sandbox owns them entirely."""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import commands
from .errors import AwsError, validation
from .paging import fingerprint, page
from .params import Params, max_results, opt_int, opt_list, opt_str, req_int, req_str, tags_to_dict
from .schedule import Schedule
from .state import Ctx, World


@dataclass
class Window:
    id: str
    account: str
    region: str
    name: str
    description: str | None
    schedule: str
    timezone: str | None
    offset: int | None
    duration: int
    cutoff: int
    allow_unassociated: bool
    enabled: bool
    start_date: str | None
    end_date: str | None
    created: float
    modified: float
    checked_until: float
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)

    def parsed(self) -> Schedule:
        return Schedule(self.schedule, self.timezone, self.offset or 0)

    def next_execution(self, now: float) -> str | None:
        if not self.enabled:
            return None
        t = self.parsed().next_after(now, self.created)
        return datetime.fromtimestamp(t, self.parsed().tz).isoformat(timespec="minutes") if t else None

    def get_json(self, now: float) -> dict[str, Any]:
        out: dict[str, Any] = {
            "WindowId": self.id,
            "Name": self.name,
            "Schedule": self.schedule,
            "Duration": self.duration,
            "Cutoff": self.cutoff,
            "AllowUnassociatedTargets": self.allow_unassociated,
            "Enabled": self.enabled,
            "CreatedDate": self.created,
            "ModifiedDate": self.modified,
        }
        for k, v in (
            ("Description", self.description),
            ("ScheduleTimezone", self.timezone),
            ("ScheduleOffset", self.offset),
            ("StartDate", self.start_date),
            ("EndDate", self.end_date),
            ("NextExecutionTime", self.next_execution(now)),
        ):
            if v is not None:
                out[k] = v
        return out


@dataclass
class TaskRun:
    task_execution_id: str
    task: dict[str, Any]
    invocations: list[tuple[str, str, str]]  # (invocation id, window target id, command id)


@dataclass
class WindowExecution:
    id: str
    window_id: str
    account: str
    region: str
    start: float
    tasks: list[TaskRun]
    skipped: str | None = None

    def status(self, w: World, now: float) -> tuple[str, str, float | None]:
        if self.skipped:
            return "SUCCESS", self.skipped, self.start
        states = [_task_status(w, self, t, now) for t in self.tasks]
        if any(s in ("PENDING", "IN_PROGRESS") for s, _ in states):
            return "IN_PROGRESS", "", None
        end = max((e for _, e in states if e is not None), default=self.start)
        if any(s == "FAILED" for s, _ in states):
            return "FAILED", "One or more tasks in the orchestration failed.", end
        return "SUCCESS", "", end


_CMD_TO_MW = {
    "Pending": "PENDING",
    "InProgress": "IN_PROGRESS",
    "Success": "SUCCESS",
    "Failed": "FAILED",
    "TimedOut": "TIMED_OUT",
    "Cancelled": "CANCELLED",
}


def _command_status(w: World, ex: WindowExecution, cid: str, now: float) -> tuple[str, float | None]:
    cmd = w.ssm[(ex.account, ex.region)].commands[cid]
    status, _ = cmd.status(now)
    ends = [i.end for i in cmd.invocations.values() if i.end is not None]
    end = max(ends, default=cmd.requested) if status not in ("Pending", "InProgress") else None
    return _CMD_TO_MW[status], end


def _task_status(w: World, ex: WindowExecution, t: TaskRun, now: float) -> tuple[str, float | None]:
    if not t.invocations:
        return "SUCCESS", ex.start
    states = [_command_status(w, ex, cid, now) for _, _, cid in t.invocations]
    if any(s in ("PENDING", "IN_PROGRESS") for s, _ in states):
        return "IN_PROGRESS", None
    end = max((e for _, e in states if e is not None), default=ex.start)
    return ("FAILED", end) if any(s != "SUCCESS" for s, _ in states) else ("SUCCESS", end)


def fire_windows(w: World, now: float) -> None:
    for (account, region), rs in w.ssm.items():
        for win in list(rs.windows.values()):
            if win.checked_until >= now:
                continue
            if not win.enabled:
                win.checked_until = now
                continue
            for t in win.parsed().fires_between(win.checked_until, now, win.created, limit=20):
                _execute(w, Ctx(account, region, t), win, t)
            win.checked_until = now


def _execute(w: World, ctx: Ctx, win: Window, t: float) -> None:
    rs = w.region(ctx)
    ex = WindowExecution(str(uuid.uuid4()), win.id, ctx.account, ctx.region, t, [])
    running = [e for e in rs.executions.values() if e.window_id == win.id and e.status(w, t)[0] == "IN_PROGRESS"]
    if running:
        ex.skipped = "SKIPPED_OVERLAPPING"
    else:
        for task in sorted(win.tasks.values(), key=lambda x: x.get("Priority") or 0):
            ex.tasks.append(_run_task(w, ctx, win, task))
    rs.executions[ex.id] = ex


def _run_task(w: World, ctx: Ctx, win: Window, task: dict[str, Any]) -> TaskRun:
    run = TaskRun(str(uuid.uuid4()), task, [])
    if task["TaskType"] != "RUN_COMMAND":
        return run
    inv_params = (task.get("TaskInvocationParameters") or {}).get("RunCommand") or {}
    params = inv_params.get("Parameters") or {
        k: v.get("Values", []) for k, v in (task.get("TaskParameters") or {}).items()
    }
    groups: list[tuple[str, list[dict[str, Any]]]] = []
    for t in task.get("Targets") or []:
        if t["Key"] == "WindowTargetIds":
            groups += [(tid, win.targets[tid]["Targets"]) for tid in t["Values"] if tid in win.targets]
        else:
            groups.append(("", [t]))
    for tid, targets in groups:
        ids = next((t["Values"] for t in targets if t["Key"] == "InstanceIds"), None)
        try:
            cmd = commands.send(
                w,
                ctx,
                task["TaskArn"],
                params,
                ids or [],
                [] if ids else targets,
                max_concurrency=task.get("MaxConcurrency") or "50",
                max_errors=task.get("MaxErrors") or "0",
                timeout_seconds=int(inv_params.get("TimeoutSeconds") or 600),
                comment=inv_params.get("Comment") or f"Maintenance Window Execution: {win.id}",
                service_role=task.get("ServiceRoleArn"),
            )
        except AwsError:
            continue  # a task that cannot be sent fails without an invocation, as in AWS
        run.invocations.append((secrets.token_hex(16), tid, cmd.id))
    return run


# ---------------------------------------------------------------------------------------------------
# Operations


def _window(w: World, ctx: Ctx, p: Params) -> Window:
    wid = req_str(p, "WindowId", 20)
    win = w.region(ctx).windows.get(wid)
    if win is None:
        raise AwsError("DoesNotExistException", f"Maintenance window {wid} does not exist")
    return win


def _check_duration(duration: int, cutoff: int) -> None:
    if cutoff >= duration:
        raise validation("The cutoff must be less than the duration.")


def op_create_maintenance_window(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    name = req_str(p, "Name", 128)
    schedule = req_str(p, "Schedule", 256)
    duration = req_int(p, "Duration", 1, 24)
    cutoff = req_int(p, "Cutoff", 0, 23)
    if "AllowUnassociatedTargets" not in p:
        raise validation(
            "1 validation error detected: Value null at 'allowUnassociatedTargets' failed to "
            "satisfy constraint: Member must not be null"
        )
    _check_duration(duration, cutoff)
    tz = opt_str(p, "ScheduleTimezone")
    offset = opt_int(p, "ScheduleOffset", 1, 6)
    Schedule(schedule, tz, offset or 0)
    tags = tags_to_dict(opt_list(p, "Tags", max_len=1000))
    win = Window(
        id="mw-" + secrets.token_hex(9)[:17],
        account=ctx.account,
        region=ctx.region,
        name=name,
        description=opt_str(p, "Description"),
        schedule=schedule,
        timezone=tz,
        offset=offset,
        duration=duration,
        cutoff=cutoff,
        allow_unassociated=bool(p["AllowUnassociatedTargets"]),
        enabled=True,
        start_date=opt_str(p, "StartDate"),
        end_date=opt_str(p, "EndDate"),
        created=ctx.now,
        modified=ctx.now,
        checked_until=ctx.now,
    )
    rs = w.region(ctx)
    rs.windows[win.id] = win
    if tags:
        rs.tags[("MaintenanceWindow", win.id)] = tags
    return {"WindowId": win.id}


def op_get_maintenance_window(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    return _window(w, ctx, p).get_json(ctx.now)


def op_update_maintenance_window(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    win = _window(w, ctx, p)
    replace = bool(p.get("Replace", False))
    duration = opt_int(p, "Duration", 1, 24, win.duration)
    cutoff = opt_int(p, "Cutoff", 0, 23, win.cutoff)
    assert duration is not None and cutoff is not None
    _check_duration(duration, cutoff)
    schedule = opt_str(p, "Schedule", win.schedule) or win.schedule
    tz = opt_str(p, "ScheduleTimezone", None if replace else win.timezone)
    offset = opt_int(p, "ScheduleOffset", 1, 6, None if replace else win.offset)
    Schedule(schedule, tz, offset or 0)
    enabled = p.get("Enabled", win.enabled)
    if enabled and not win.enabled:
        win.checked_until = ctx.now  # re-enabling does not replay what fired while disabled
    win.name = opt_str(p, "Name", win.name) or win.name
    win.description = opt_str(p, "Description", None if replace else win.description)
    win.schedule, win.timezone, win.offset = schedule, tz, offset
    win.duration, win.cutoff = duration, cutoff
    win.allow_unassociated = bool(p.get("AllowUnassociatedTargets", win.allow_unassociated))
    win.enabled = bool(enabled)
    win.start_date = opt_str(p, "StartDate", None if replace else win.start_date)
    win.end_date = opt_str(p, "EndDate", None if replace else win.end_date)
    win.modified = ctx.now
    out = win.get_json(ctx.now)
    for k in ("CreatedDate", "ModifiedDate", "NextExecutionTime"):
        out.pop(k, None)
    return out


def op_delete_maintenance_window(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    wid = req_str(p, "WindowId", 20)
    rs = w.region(ctx)
    # AWS answers success for an unknown id here.
    if rs.windows.pop(wid, None) is not None:
        rs.tags.pop(("MaintenanceWindow", wid), None)
    return {"WindowId": wid}


def op_describe_maintenance_windows(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    filters = opt_list(p, "Filters", max_len=5)
    limit = max_results(p, 10, 100, 50)
    wins = sorted(w.region(ctx).windows.values(), key=lambda x: x.created)
    for f in filters:
        key, values = f.get("Key"), f.get("Values") or []
        if key == "Name":
            wins = [x for x in wins if x.name in values]
        elif key == "Enabled":
            wins = [x for x in wins if str(x.enabled).lower() in [v.lower() for v in values]]
        else:
            raise validation(f"Invalid filter key: {key}")
    chunk, token = page(wins, limit, p.get("NextToken"), fingerprint("dmw", filters))
    items = []
    for x in chunk:
        j = x.get_json(ctx.now)
        for k in ("AllowUnassociatedTargets", "CreatedDate", "ModifiedDate"):
            j.pop(k, None)
        items.append(j)
    out: dict[str, Any] = {"WindowIdentities": items}
    if token:
        out["NextToken"] = token
    return out


def op_register_target(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    win = _window(w, ctx, p)
    opt_str(p, "ResourceType", choices=("INSTANCE", "RESOURCE_GROUP"))
    req_str(p, "ResourceType")
    targets = commands.check_targets(opt_list(p, "Targets", min_len=1))
    tid = str(uuid.uuid4())
    win.targets[tid] = {
        "WindowId": win.id,
        "WindowTargetId": tid,
        "ResourceType": p["ResourceType"],
        "Targets": targets,
        **{k: p[k] for k in ("OwnerInformation", "Name", "Description") if p.get(k) is not None},
    }
    return {"WindowTargetId": tid}


def _target(win: Window, p: Params) -> dict[str, Any]:
    tid = req_str(p, "WindowTargetId", 36)
    if tid not in win.targets:
        raise AwsError("DoesNotExistException", f"Window target {tid} does not exist in window {win.id}")
    return win.targets[tid]


def op_update_target(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    win = _window(w, ctx, p)
    t = _target(win, p)
    replace = bool(p.get("Replace", False))
    if "Targets" in p or replace:
        t["Targets"] = commands.check_targets(opt_list(p, "Targets", min_len=1))
    for k in ("OwnerInformation", "Name", "Description"):
        if k in p:
            t[k] = p[k]
        elif replace:
            t.pop(k, None)
    return {k: v for k, v in t.items() if k != "ResourceType"}


def op_deregister_target(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    win = _window(w, ctx, p)
    t = _target(win, p)
    if p.get("Safe"):
        for task in win.tasks.values():
            for tt in task.get("Targets") or []:
                if tt["Key"] == "WindowTargetIds" and t["WindowTargetId"] in tt["Values"]:
                    raise AwsError("TargetInUseException", "The target is in use by a task.")
    del win.targets[t["WindowTargetId"]]
    return {"WindowId": win.id, "WindowTargetId": t["WindowTargetId"]}


def op_describe_targets(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    win = _window(w, ctx, p)
    items = list(win.targets.values())
    for f in opt_list(p, "Filters", max_len=5):
        key, values = f.get("Key"), f.get("Values") or []
        if key in ("WindowTargetId", "OwnerInformation", "Name"):
            items = [t for t in items if t.get(key) in values]
        else:
            raise validation(f"Invalid filter key: {key}")
    limit = max_results(p, 10, 100, 50)
    chunk, token = page(items, limit, p.get("NextToken"), fingerprint("dmwt", win.id, p.get("Filters")))
    out: dict[str, Any] = {"Targets": chunk}
    if token:
        out["NextToken"] = token
    return out


_TASK_FIELDS = (
    "ServiceRoleArn",
    "TaskParameters",
    "TaskInvocationParameters",
    "Priority",
    "MaxConcurrency",
    "MaxErrors",
    "LoggingInfo",
    "Name",
    "Description",
    "CutoffBehavior",
    "AlarmConfiguration",
)


def _check_task(win: Window, task: dict[str, Any]) -> None:
    if task["TaskType"] == "RUN_COMMAND" and task["TaskArn"] not in commands.DOCUMENTS:
        raise validation(f"Task ARN {task['TaskArn']} is not a valid document.")
    for t in task.get("Targets") or []:
        if t["Key"] == "WindowTargetIds":
            for tid in t["Values"]:
                if tid not in win.targets:
                    raise AwsError("DoesNotExistException", f"Window target {tid} does not exist")


def op_register_task(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    win = _window(w, ctx, p)
    task_arn = req_str(p, "TaskArn", 1600)
    task_type = opt_str(p, "TaskType", choices=("RUN_COMMAND", "AUTOMATION", "STEP_FUNCTIONS", "LAMBDA"))
    if task_type is None:
        req_str(p, "TaskType")
    targets = opt_list(p, "Targets", max_len=5)
    tid = str(uuid.uuid4())
    task: dict[str, Any] = {
        "WindowId": win.id,
        "WindowTaskId": tid,
        "TaskArn": task_arn,
        "TaskType": task_type,
        "Targets": targets,
    }
    task.update({k: p[k] for k in _TASK_FIELDS if p.get(k) is not None})
    task.setdefault("Priority", 1)
    _check_task(win, task)
    win.tasks[tid] = task
    return {"WindowTaskId": tid}


def _task(win: Window, p: Params) -> dict[str, Any]:
    tid = req_str(p, "WindowTaskId", 36)
    if tid not in win.tasks:
        raise AwsError("DoesNotExistException", f"Window task {tid} does not exist in window {win.id}")
    return win.tasks[tid]


def op_get_task(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    return dict(_task(_window(w, ctx, p), p))


def op_update_task(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    win = _window(w, ctx, p)
    task = _task(win, p)
    replace = bool(p.get("Replace", False))
    new = dict(task)
    for k in ("TaskArn", "Targets", *_TASK_FIELDS):
        if k in p:
            new[k] = p[k]
        elif replace and k not in ("TaskArn", "Targets"):
            new.pop(k, None)
    _check_task(win, new)
    task.clear()
    task.update(new)
    return {k: v for k, v in task.items() if k != "TaskType"}


def op_deregister_task(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    win = _window(w, ctx, p)
    task = _task(win, p)
    del win.tasks[task["WindowTaskId"]]
    return {"WindowId": win.id, "WindowTaskId": task["WindowTaskId"]}


def op_describe_tasks(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    win = _window(w, ctx, p)
    items = []
    for t in win.tasks.values():
        j = {k: v for k, v in t.items() if k not in ("TaskType", "TaskInvocationParameters")}
        j["Type"] = t["TaskType"]
        items.append(j)
    for f in opt_list(p, "Filters", max_len=5):
        key, values = f.get("Key"), f.get("Values") or []
        field_ = {"WindowTaskId": "WindowTaskId", "TaskArn": "TaskArn", "TaskType": "Type"}.get(key or "")
        if field_ is None:
            raise validation(f"Invalid filter key: {key}")
        items = [t for t in items if t.get(field_) in values]
    limit = max_results(p, 10, 100, 50)
    chunk, token = page(items, limit, p.get("NextToken"), fingerprint("dmwtk", win.id, p.get("Filters")))
    out: dict[str, Any] = {"Tasks": chunk}
    if token:
        out["NextToken"] = token
    return out


def _execution(w: World, ctx: Ctx, p: Params) -> WindowExecution:
    eid = req_str(p, "WindowExecutionId", 36)
    ex = w.region(ctx).executions.get(eid)
    if ex is None:
        raise AwsError("DoesNotExistException", f"Window execution {eid} does not exist")
    return ex


def op_describe_executions(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    wid = req_str(p, "WindowId", 20)
    exs = sorted(
        (e for e in w.region(ctx).executions.values() if e.window_id == wid), key=lambda e: e.start, reverse=True
    )
    for f in opt_list(p, "Filters", max_len=5):
        key, values = f.get("Key"), f.get("Values") or []
        if key not in ("ExecutionStartsBefore", "ExecutionStartsAfter") or not values:
            raise validation(f"Invalid filter key: {key}")
        t = datetime.fromisoformat(values[0].replace("Z", "+00:00")).timestamp()
        exs = [e for e in exs if (e.start <= t if key == "ExecutionStartsBefore" else e.start >= t)]
    limit = max_results(p, 10, 100, 50)
    chunk, token = page(exs, limit, p.get("NextToken"), fingerprint("dmwe", wid, p.get("Filters")))
    items = []
    for e in chunk:
        status, details, end = e.status(w, ctx.now)
        j: dict[str, Any] = {"WindowId": wid, "WindowExecutionId": e.id, "Status": status, "StartTime": e.start}
        if details:
            j["StatusDetails"] = details
        if end is not None:
            j["EndTime"] = end
        items.append(j)
    out: dict[str, Any] = {"WindowExecutions": items}
    if token:
        out["NextToken"] = token
    return out


def op_get_execution(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    ex = _execution(w, ctx, p)
    status, details, end = ex.status(w, ctx.now)
    out: dict[str, Any] = {
        "WindowExecutionId": ex.id,
        "TaskIds": [t.task_execution_id for t in ex.tasks],
        "Status": status,
        "StartTime": ex.start,
    }
    if details:
        out["StatusDetails"] = details
    if end is not None:
        out["EndTime"] = end
    return out


def op_describe_execution_tasks(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    ex = _execution(w, ctx, p)
    items = []
    for t in ex.tasks:
        status, end = _task_status(w, ex, t, ctx.now)
        j: dict[str, Any] = {
            "WindowExecutionId": ex.id,
            "TaskExecutionId": t.task_execution_id,
            "Status": status,
            "StartTime": ex.start,
            "TaskArn": t.task["TaskArn"],
            "TaskType": t.task["TaskType"],
        }
        if end is not None:
            j["EndTime"] = end
        items.append(j)
    return {"WindowExecutionTaskIdentities": items}


def op_describe_execution_task_invocations(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    ex = _execution(w, ctx, p)
    tid = req_str(p, "TaskId", 36)
    run = next((t for t in ex.tasks if t.task_execution_id == tid), None)
    if run is None:
        raise AwsError("DoesNotExistException", f"Task {tid} does not exist in execution {ex.id}")
    items = []
    for inv_id, target_id, cid in run.invocations:
        status, end = _command_status(w, ex, cid, ctx.now)
        cmd = w.ssm[(ex.account, ex.region)].commands[cid]
        j: dict[str, Any] = {
            "WindowExecutionId": ex.id,
            "TaskExecutionId": run.task_execution_id,
            "InvocationId": inv_id,
            "ExecutionId": cid,
            "TaskType": "RUN_COMMAND",
            "Parameters": _json_params(cmd),
            "Status": status,
            "StartTime": cmd.requested,
        }
        if target_id:
            j["WindowTargetId"] = target_id
        if end is not None:
            j["EndTime"] = end
        items.append(j)
    limit = max_results(p, 10, 100, 50)
    chunk, token = page(items, limit, p.get("NextToken"), fingerprint("dmweti", ex.id, tid))
    out: dict[str, Any] = {"WindowExecutionTaskInvocationIdentities": chunk}
    if token:
        out["NextToken"] = token
    return out


def _json_params(cmd: commands.Command) -> str:
    return json.dumps({"documentName": cmd.document, "parameters": cmd.parameters}, sort_keys=True)


OPS = {
    "CreateMaintenanceWindow": op_create_maintenance_window,
    "GetMaintenanceWindow": op_get_maintenance_window,
    "UpdateMaintenanceWindow": op_update_maintenance_window,
    "DeleteMaintenanceWindow": op_delete_maintenance_window,
    "DescribeMaintenanceWindows": op_describe_maintenance_windows,
    "RegisterTargetWithMaintenanceWindow": op_register_target,
    "UpdateMaintenanceWindowTarget": op_update_target,
    "DeregisterTargetFromMaintenanceWindow": op_deregister_target,
    "DescribeMaintenanceWindowTargets": op_describe_targets,
    "RegisterTaskWithMaintenanceWindow": op_register_task,
    "GetMaintenanceWindowTask": op_get_task,
    "UpdateMaintenanceWindowTask": op_update_task,
    "DeregisterTaskFromMaintenanceWindow": op_deregister_task,
    "DescribeMaintenanceWindowTasks": op_describe_tasks,
    "DescribeMaintenanceWindowExecutions": op_describe_executions,
    "GetMaintenanceWindowExecution": op_get_execution,
    "DescribeMaintenanceWindowExecutionTasks": op_describe_execution_tasks,
    "DescribeMaintenanceWindowExecutionTaskInvocations": op_describe_execution_task_invocations,
}
