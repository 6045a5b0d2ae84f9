"""What creates PatchRuns for a PatchPolicy: the `sreops.io/run-now` annotation and maintenance-window
executions.

- run-now: each value of the annotation creates one PatchRun whose name is derived from the value, so a
  repeated value, two handlers racing or an operator restart meet 409 AlreadyExists instead of a second run.
  A field handler reacts to the annotation changing (kopf keeps its own bookkeeping under `kopf.sreops.io/`,
  so it sees `sreops.io/` annotations change), and the values handled are remembered in another annotation
  of the policy, so a value whose run was pruned long ago does not start it again.
- schedule: a timer looks for executions of the policy's windows (`status.targets[].windowId`) and shows each
  as a PatchRun with `trigger: Schedule` named after the execution id. The newest execution adopted per
  window is remembered in an annotation on the policy, so an execution whose run was pruned is not shown
  again; a window seen for the first time shows only its newest execution. The same timer is the safety
  net for a run-now value whose event handler failed.
"""

from __future__ import annotations

import contextlib
import json
import logging
from datetime import datetime
from typing import Any

import kopf
from kubernetes.client.exceptions import ApiException

from sreops.operator.accounts import AccountNotReadyError, placements
from sreops.operator.api import GROUP, KINDS, VERSION, PatchPolicySpec, SpecError, parse_spec
from sreops.operator.api.patchpolicy import PolicyTarget
from sreops.operator.aws import ssm_commands
from sreops.operator.aws.errors import error_message, is_aws_error
from sreops.operator.executor import background
from sreops.operator.logcontext import acting_on
from sreops.operator.runs.commands import WINDOW_EXECUTION_ANNOTATION, ScheduledExecution
from sreops.operator.runs.objects import annotate_policy, create_run, new_run
from sreops.operator.runs.plan import (
    RUN_NOW_ANNOTATION,
    RUN_NOW_BY_ANNOTATION,
    run_now_name,
    schedule_run_name,
    trigger_for,
)
from sreops.operator.services import Services
from sreops.operator.settings import Settings

POLICIES = KINDS["PatchPolicy"].plural
REQUESTED_BY_ANNOTATION = "sreops.io/requested-by"
# windowId -> StartTime (ISO 8601, AWS's clock) of the newest execution shown as a PatchRun.
SEEN_EXECUTIONS_ANNOTATION = "sreops.io/seen-window-executions"
MAX_ANNOTATION_VALUE = 1024
# The names of the runs the last run-now values started (kept on the policy; the newest 20).
HANDLED_RUN_NOW_ANNOTATION = "sreops.io/run-now-handled"
HANDLED_RUN_NOW_KEPT = 20
Logger = logging.Logger | logging.LoggerAdapter[Any]


def _handled_values(policy: kopf.Body) -> list[str]:
    try:
        handled = json.loads(policy.metadata.annotations.get(HANDLED_RUN_NOW_ANNOTATION) or "[]")
    except ValueError:
        return []
    return [str(h) for h in handled] if isinstance(handled, list) else []


def start_run_now(services: Services, policy: kopf.Body, logger: Logger) -> str | None:
    """Creates the PatchRun of the policy's current run-now value; returns its name, or None when there is
    no value or it was handled before."""
    annotations = policy.metadata.annotations
    value = annotations.get(RUN_NOW_ANNOTATION, "")
    meta = policy["metadata"]
    name = run_now_name(meta["name"], meta["uid"], value)
    handled = _handled_values(policy)
    if not value.strip() or name in handled or meta.get("deletionTimestamp"):
        return None
    started = f"{meta['uid']}/{name}"
    if services.run_now_started.get(started):
        return None  # done here; kopf's body (a timer's) predates our annotation
    requested_by = annotations.get(RUN_NOW_BY_ANNOTATION)
    run_annotations = {RUN_NOW_ANNOTATION: value[:MAX_ANNOTATION_VALUE]}
    if requested_by:
        run_annotations[REQUESTED_BY_ANNOTATION] = requested_by[:MAX_ANNOTATION_VALUE]
    spec: dict[str, Any] = {"policyRef": {"name": meta["name"]}, "trigger": trigger_for(requested_by)}
    # The operation is fixed when the run is asked for (and shows in `kubectl get pr`); with an invalid
    # policy spec it is left out and the run reports the policy's spec itself.
    with contextlib.suppress(SpecError):
        spec["operation"] = parse_spec(PatchPolicySpec, policy.get("spec")).operation
    if create_run(services.kube, new_run(policy, name, spec, run_annotations)):
        logger.info("run-now %r: created PatchRun %s", value, name)
    else:
        logger.info("run-now %r: PatchRun %s exists already; not starting another", value, name)
    # Written after the run exists: a crash in between only meets the 409 above again.
    remembered = json.dumps([*handled, name][-HANDLED_RUN_NOW_KEPT:])
    annotate_policy(services.kube, meta["namespace"], meta["name"], HANDLED_RUN_NOW_ANNOTATION, remembered)
    services.run_now_started.set(started)
    return name


def _window_targets(policy: kopf.Body) -> list[PolicyTarget]:
    targets = []
    for raw in (policy.get("status") or {}).get("targets") or []:
        try:
            target = PolicyTarget.model_validate(raw)
        except ValueError:
            continue
        if target.window_id:
            targets.append(target)
    return targets


def _seen(policy: kopf.Body) -> dict[str, str]:
    try:
        seen = json.loads(policy.metadata.annotations.get(SEEN_EXECUTIONS_ANNOTATION) or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in seen.items()} if isinstance(seen, dict) else {}


def show_window_executions(services: Services, policy: kopf.Body, logger: Logger) -> list[str]:
    """Creates a Schedule PatchRun for each new execution of the policy's windows; returns their names."""
    try:
        spec = parse_spec(PatchPolicySpec, policy.get("spec"))
    except SpecError:
        return []  # the policy's own controller reports it
    targets = _window_targets(policy)
    meta = policy["metadata"]
    cells = placements(
        services.kube, services.aws, services.settings.default_region, meta["namespace"], spec.account_ref, spec.regions
    )
    access = {c.account_id: c.access for c in cells}
    seen = _seen(policy)
    marks = dict(seen)
    created = []
    looks = []
    for target in targets:
        assert target.window_id is not None
        if target.account not in access:
            continue
        # DescribeMaintenanceWindowExecutions is per window: read it only when the shared window listing says
        # the window's next execution time moved since its executions were last read.
        look = services.shared.executions_due(access[target.account], target.account, target.region, target.window_id)
        if look is None:
            continue
        looks.append(look)
        since = datetime.fromisoformat(seen[target.window_id]) if target.window_id in seen else None
        executions = ssm_commands.describe_maintenance_window_executions(
            services.aws, access[target.account], target.region, target.window_id, started_after=since
        )
        if since is None:
            executions = executions[:1]  # first sight of this window: its newest execution only
        for execution in reversed(executions):  # oldest first, so the mark only moves forward
            start = execution.start_time
            if start is None or (since is not None and start <= since):
                continue
            marks[target.window_id] = start.isoformat()
            if execution.status.startswith("SKIPPED") or execution.status_details.startswith("SKIPPED"):
                continue  # nothing ran
            where = ScheduledExecution(target.account, target.region, target.window_id, execution.execution_id)
            name = schedule_run_name(meta["name"], execution.execution_id)
            body = new_run(
                policy,
                name,
                {"policyRef": {"name": meta["name"]}, "operation": spec.operation, "trigger": "Schedule"},
                {WINDOW_EXECUTION_ANNOTATION: where.annotation()},
            )
            if create_run(services.kube, body):
                logger.info(
                    "window %s execution %s: created PatchRun %s", target.window_id, execution.execution_id, name
                )
                created.append(name)
    if marks != seen:  # after the runs exist: a crash in between re-creates nothing (409)
        annotate_policy(services.kube, meta["namespace"], meta["name"], SEEN_EXECUTIONS_ANNOTATION, json.dumps(marks))
    for look in looks:  # only now: a failure above reads the executions again next time
        services.shared.executions_read(look)
    return created


RUN_NOW_RETRY_SECONDS = 5.0


def register(registry: kopf.OperatorRegistry, settings: Settings) -> None:
    # The id is not "run-now": kopf_storage purges legacy progress keys `sreops.io/<id>`.
    @kopf.on.field(
        GROUP,
        VERSION,
        POLICIES,
        registry=registry,
        id="start-run-now",
        field=("metadata", "annotations", RUN_NOW_ANNOTATION),
    )
    def run_now(*, body: kopf.Body, memo: Any, logger: Logger, **_: Any) -> None:
        try:
            start_run_now(memo["services"], body, logger)
        except ApiException as exc:
            raise kopf.TemporaryError(
                f"run-now: cannot create the PatchRun yet: {exc.status} {exc.reason}", delay=RUN_NOW_RETRY_SECONDS
            ) from exc

    @kopf.timer(
        GROUP,
        VERSION,
        POLICIES,
        registry=registry,
        id="run-triggers",
        interval=settings.resync_seconds,
        initial_delay=settings.resync_seconds,
    )
    @background  # a periodic look, like a resync: behind changes for threads and the AWS budget (executor.py)
    def run_triggers(*, body: kopf.Body, memo: Any, logger: Logger, **_: Any) -> None:
        acting_on(body)
        services: Services = memo["services"]
        if services.departures.gone(body):
            return  # relabelled to another shard (shards.py)
        start_run_now(services, body, logger)
        if not _has_windows(body.get("status")):
            return
        try:
            show_window_executions(services, body, logger)
        except AccountNotReadyError as exc:
            logger.info("not looking for window executions: %s", exc.message)
        except Exception as exc:
            if not is_aws_error(exc):
                raise
            # The next tick tries again; the policy's own controller reports AWS trouble on the policy.
            logger.warning("looking for window executions: %s", error_message(exc))


def _has_windows(status: Any) -> bool:
    return any(t.get("windowId") for t in (status or {}).get("targets") or [])
