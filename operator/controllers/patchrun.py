"""PatchRun controller: one AWS-RunPatchBaseline execution of a PatchPolicy, like a Job of a CronJob.

A Manual or Chat run sends its commands (exactly once: see `run_commands`); a Schedule run adopts the
commands of its maintenance-window execution. While it is in progress a timer polls the invocations into
`status.instances` and `status.failedInstances`; when every command has ended the run gets `Complete` or
`Failed`, the policy's `status.lastRun` is set, `sreops_patch_runs_total` counts it, an event says so, and
the policy's runs are pruned to its `historyLimit`.

Conditions: `Complete` (False while running, True on success), `Failed` (True on failure), and `Ready`:
Unknown while running, True when it succeeded, False when it failed or cannot start. `startedAt` and
`finishedAt` are the operator's clock when it sent (or adopted) the commands and when it saw the last one
end, so they compare with the other Kubernetes timestamps.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kopf
from kubernetes.client.exceptions import ApiException

from sreops.operator.accounts import AccountNotReadyError, Placement, placements
from sreops.operator.api import GROUP, KINDS, VERSION, PatchPolicySpec, PatchRunSpec, SpecError, parse_spec, reasons
from sreops.operator.api.conditions import (
    READY,
    ConditionStatus,
    get_condition,
    is_true_for_generation,
    now_rfc3339,
    set_condition,
)
from sreops.operator.api.patchrun import CommandRef
from sreops.operator.api.reasons import (
    ACCOUNT_NOT_IN_POLICY,
    COMMAND_REJECTED,
    POLICY_NOT_FOUND,
    POLICY_SUSPENDED,
    RUNNING,
    SUCCEEDED,
    WAITING_FOR_POLICY,
)
from sreops.operator.aws.clients import Access
from sreops.operator.aws.errors import ErrorKind, classify, error_message, is_aws_error
from sreops.operator.controllers import run_triggers
from sreops.operator.controllers.base import Context, make_handler, raise_for_aws_error, register_reconcile
from sreops.operator.controllers.patchpolicy import SYNCED
from sreops.operator.kube import get_object
from sreops.operator.metrics import RUN_INSTANCE_RESULTS
from sreops.operator.runs.commands import (
    KeyedLocks,
    ScheduledExecution,
    command_progress,
    execution_commands,
    recorded_commands,
    send_once,
)
from sreops.operator.runs.history import is_finished, is_started, phase, runs_of_policy, runs_to_prune
from sreops.operator.runs.objects import delete_run, get_run, list_runs, patch_run_status, set_last_run, set_owner
from sreops.operator.runs.progress import RunProgress, summarize
from sreops.operator.settings import Settings
from sreops.operator.waiting import WaitingError

KIND = KINDS["PatchRun"]
COMPLETE = "Complete"
FAILED = "Failed"


def _policy(spec: PatchRunSpec, ctx: Context) -> tuple[dict[str, Any], PatchPolicySpec]:
    name = spec.policy_ref.name
    obj = get_object(ctx.services.kube, "PatchPolicy", ctx.namespace, name)
    if obj is None:
        raise WaitingError(
            POLICY_NOT_FOUND,
            f"PatchPolicy {name!r} not found in namespace {ctx.namespace!r}; waiting for it (spec.policyRef.name)",
        )
    try:
        return obj, parse_spec(PatchPolicySpec, obj.get("spec"))
    except SpecError as err:
        raise SpecError("spec.policyRef.name", f"PatchPolicy {name!r} has an invalid spec ({err})") from None


def _require_policy_in_place(policy: Mapping[str, Any], cells: list[Placement]) -> None:
    """A run is sent only once its policy is in sync, for its current spec, in every placement: the instances'
    patch group must already name the policy's baseline, or AWS-RunPatchBaseline patches with another one."""
    status = policy.get("status") or {}
    in_sync = is_true_for_generation(policy, SYNCED)
    placed = {
        (t.get("account"), t.get("region"))
        for t in status.get("targets") or []
        if t.get("baselineId") and t.get("patchGroup") and t.get("windowId")
    }
    missing = [c for c in cells if (c.account_id, c.region) not in placed]
    if in_sync and not missing:
        return
    where = ", ".join(f"{c.region} of account {c.account_id}" for c in (missing or cells))
    raise WaitingError(
        WAITING_FOR_POLICY,
        f"PatchPolicy {policy['metadata']['name']} is not in sync yet in {where}: the run is sent once its "
        "baseline and patch group are in place",
    )


def _owned_by(run: Mapping[str, Any], policy: Mapping[str, Any]) -> bool:
    uid = policy["metadata"]["uid"]
    return any(o.get("uid") == uid for o in (run.get("metadata") or {}).get("ownerReferences") or [])


def _write(ctx: Context, update: Mapping[str, Any]) -> None:
    """A direct status write (see run_objects); it also says which generation the status describes."""
    patch_run_status(ctx.services.kube, ctx.namespace, ctx.name, {**update, "observedGeneration": ctx.generation})


def _conditions(
    status: Mapping[str, Any], generation: int | None, *changes: tuple[str, ConditionStatus, str, str]
) -> Any:
    conditions = status.get("conditions")
    for type_, value, reason, message in changes:
        reasons.check(KIND.kind, type_, reason)
        conditions = set_condition(conditions, type_, value, reason, message, generation)
    return conditions


class RunReconciler:
    """Reconcile of one run; `locks` keeps a timer and a change handler of the same run apart."""

    def __init__(self, locks: KeyedLocks) -> None:
        self.locks = locks
        # Finished runs this process has reported on their policy: their resyncs then cost no API call.
        self.reported: set[str] = set()

    def __call__(self, spec: PatchRunSpec, ctx: Context) -> None:
        if is_finished(ctx.body.get("status")):
            if ctx.uid not in self.reported:  # repairs a lastRun lost to a crash; no AWS call
                _report_on_policy(spec, ctx, ctx.body)
                self.reported.add(ctx.uid)
            return
        _decided_at(ctx, ctx.body)
        policy_obj, policy = _policy(spec, ctx)
        if not _owned_by(ctx.body, policy_obj):
            set_owner(ctx.services.kube, ctx.body, policy_obj)
        with self.locks.hold(ctx.uid):
            run = get_run(ctx.services.kube, ctx.namespace, ctx.name)  # fresh: what another handler did counts
            if run is None or run["metadata"]["uid"] != ctx.uid or is_finished(run.get("status")):
                return
            _decided_at(ctx, run)
            self._advance(spec, ctx, run, policy_obj, policy)

    def _advance(
        self,
        spec: PatchRunSpec,
        ctx: Context,
        run: dict[str, Any],
        policy_obj: Mapping[str, Any],
        policy: PatchPolicySpec,
    ) -> None:
        status: dict[str, Any] = dict(run.get("status") or {})
        execution = ScheduledExecution.of(run)
        operation = spec.operation or policy.operation
        if execution is None and not is_started(status) and policy.suspend:
            message = f"PatchPolicy {spec.policy_ref.name} is suspended: it starts no new runs; nothing was sent"
            self._finish(ctx, run, status, None, operation, POLICY_SUSPENDED, message)
            return
        cells = self._placements(ctx, policy)
        if execution is None and not is_started(status):
            _require_policy_in_place(policy_obj, cells)
        access_by_account: dict[str, Access] = {c.account_id: c.access for c in cells}
        first_start = not is_started(status)

        def record(refs: list[CommandRef]) -> None:
            status["commandIds"] = [r.to_wire() for r in refs]
            _write(ctx, {"commandIds": status["commandIds"]})

        factory = ctx.services.aws
        execution_status: str | None = None
        doing = "sending the run's commands" if execution is None else "reading the window execution"
        try:
            if first_start:  # step 1 of exactly-once: mark before anything is sent
                status["startedAt"] = now_rfc3339()
                _write(ctx, {"startedAt": status["startedAt"]})
            recorded = recorded_commands(status)
            if execution is not None:
                access = access_by_account.get(execution.account)
                if access is None:
                    raise AccountNotReadyError(execution.account, ACCOUNT_NOT_IN_POLICY, "not an account of the policy")
                refs, execution_status = execution_commands(factory, access, execution, recorded)
                if len(refs) > len(recorded):
                    record(refs)
            else:
                refs = send_once(factory, ctx.uid, policy, operation, cells, recorded, not first_start, record)
            if first_start:
                what = f"window execution {execution.execution_id}" if execution else f"{len(refs)} command(s)"
                kopf.event(ctx.body, type="Normal", reason="RunStarted", message=f"{operation}: {what}")
            doing = "polling the run's commands"
            progress = summarize(
                (command_progress(factory, access_by_account.get(r.account), r) for r in refs), execution_status
            )
        except Exception as exc:
            if not is_aws_error(exc):
                raise
            if classify(exc) is ErrorKind.INVALID and doing.startswith("sending"):
                # AWS refuses the command itself (document, parameters, targets): retrying cannot help.
                message = f"SSM rejected the command: {error_message(exc)}"
                self._finish(ctx, run, status, None, operation, COMMAND_REJECTED, message)
                return
            raise_for_aws_error(exc, ctx, doing)
        if progress.finished:
            reason = SUCCEEDED if progress.succeeded else FAILED
            self._finish(ctx, run, status, progress, operation, reason, progress.summary())
        else:
            self._running(ctx, status, progress)

    def _placements(self, ctx: Context, policy: PatchPolicySpec) -> list[Placement]:
        services = ctx.services
        try:
            return placements(
                services.kube,
                services.aws,
                ctx.settings.default_region,
                ctx.namespace,
                policy.account_ref,
                policy.regions,
            )
        except Exception as exc:
            if not is_aws_error(exc):
                raise
            raise_for_aws_error(exc, ctx, "finding the account to act in")

    def _running(self, ctx: Context, status: dict[str, Any], progress: RunProgress) -> None:
        message = progress.summary()
        update = {
            "instances": progress.counts.to_wire(),
            "failedInstances": [f.to_wire() for f in progress.failed_instances],
            "conditions": _conditions(
                status, ctx.generation, (COMPLETE, "False", RUNNING, message), (READY, "Unknown", RUNNING, message)
            ),
        }
        if any(status.get(k) != v for k, v in update.items()):  # a poll that saw no change writes nothing
            _write(ctx, update)

    def _finish(
        self,
        ctx: Context,
        run: Mapping[str, Any],
        status: dict[str, Any],
        progress: RunProgress | None,
        operation: str,
        reason: str,
        message: str,
    ) -> None:
        ok = reason == SUCCEEDED
        result = SUCCEEDED if ok else FAILED
        changes: list[tuple[str, ConditionStatus, str, str]] = [
            (COMPLETE, "True" if ok else "False", reason, message),
            (READY, "True" if ok else "False", reason, message),
        ]
        if not ok:
            changes.append((FAILED, "True", reason, message))
        status["finishedAt"] = now_rfc3339()
        status["conditions"] = _conditions(status, ctx.generation, *changes)
        update: dict[str, Any] = {"finishedAt": status["finishedAt"], "conditions": status["conditions"]}
        if progress is not None:
            update["instances"] = progress.counts.to_wire()
            update["failedInstances"] = [f.to_wire() for f in progress.failed_instances]
        _write(ctx, update)
        # Only the handler that wrote finishedAt gets here (fresh read under the run's lock): once each.
        spec = parse_spec(PatchRunSpec, run.get("spec"))
        metrics, policy = ctx.services.metrics, spec.policy_ref.name
        metrics.patch_runs.labels(ctx.namespace, policy, operation, result).inc()
        if progress is not None:
            for label in RUN_INSTANCE_RESULTS:  # the names of InstanceCounts' fields
                metrics.patch_run_instances.labels(ctx.namespace, policy, label).inc(getattr(progress.counts, label))
        kopf.event(
            ctx.body, type="Normal" if ok else "Warning", reason=f"Run{result}", message=f"{operation}: {message}"
        )
        self.locks.forget(ctx.uid)
        _report_on_policy(spec, ctx, {**run, "status": status})
        self.reported.add(ctx.uid)
        prune(ctx, spec.policy_ref.name)


def _decided_at(ctx: Context, run: Mapping[str, Any]) -> None:
    """A condition this reconcile sets through kopf (a wait, an AWS error) describes the run as it was read here:
    kopf may apply it late (see condition_patch_fn), and it must not land on a run that got further meanwhile
    (a wait for the policy on a run another handler sent, or anything on a finished run)."""
    seen = phase(run.get("status"))
    ctx.still_applies = lambda fresh: phase(fresh) <= seen


def _report_on_policy(spec: PatchRunSpec, ctx: Context, run: Mapping[str, Any]) -> None:
    """The policy's status.lastRun names this run unless a run that finished later is there."""
    policy = get_object(ctx.services.kube, "PatchPolicy", ctx.namespace, spec.policy_ref.name)
    if policy is None:
        return
    status = run.get("status") or {}
    finished_at = str(status.get("finishedAt") or "")
    current = (policy.get("status") or {}).get("lastRun") or {}
    if current.get("name") == ctx.name or str(current.get("finishedAt") or "") > finished_at:
        return
    complete = get_condition(status, COMPLETE) or {}
    result = SUCCEEDED if complete.get("status") == "True" else FAILED
    last_run = {"name": ctx.name, "result": result, "finishedAt": finished_at}
    set_last_run(ctx.services.kube, ctx.namespace, spec.policy_ref.name, last_run)


def prune(ctx: Context, policy_name: str) -> None:
    """Deletes the policy's oldest finished runs beyond its historyLimit."""
    policy = get_object(ctx.services.kube, "PatchPolicy", ctx.namespace, policy_name)
    if policy is None:
        return
    try:
        limit = parse_spec(PatchPolicySpec, policy.get("spec")).history_limit
    except SpecError:
        return
    try:
        runs = runs_of_policy(list_runs(ctx.services.kube, ctx.namespace), policy_name)
        for run in runs_to_prune(runs, limit):
            name = run["metadata"]["name"]
            deleted = delete_run(ctx.services.kube, run)
            ctx.logger.info("pruning PatchRun %s (policy %s keeps %d): %s", name, policy_name, limit, deleted or "gone")
    except ApiException as exc:
        # Pruning is policy-wide: the policy's next run to finish prunes what this one could not.
        ctx.logger.warning("cannot prune the runs of PatchPolicy %s now: %s %s", policy_name, exc.status, exc.reason)


def _in_progress(status: Mapping[str, Any] | None, **_: Any) -> bool:
    return is_started(status) and not is_finished(status)


def _unfinished(status: Mapping[str, Any] | None) -> bool:
    return not is_finished(status)


def register(registry: kopf.OperatorRegistry, settings: Settings) -> None:
    reconcile = RunReconciler(KeyedLocks())
    # A finished run has nothing left to converge: its resync timer stops (a restart's resume still repairs
    # a lastRun lost to a crash).
    register_reconcile(registry, settings, KIND, PatchRunSpec, reconcile, resync_when=_unfinished)
    # Only runs in progress are polled: the timer stops when finishedAt is written.
    kopf.timer(
        GROUP,
        VERSION,
        KIND.plural,
        registry=registry,
        id="poll",
        interval=settings.run_poll_seconds,
        initial_delay=settings.run_poll_seconds,
        when=_in_progress,
    )(make_handler(KIND, PatchRunSpec, reconcile))
    run_triggers.register(registry, settings)
