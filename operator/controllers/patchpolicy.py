"""PatchPolicy controller: keeps, per account x region, a patch baseline with its patch-group registration and a
maintenance window with one target and one AWS-RunPatchBaseline task; reports compliance; cleans up on delete.

Conditions: `Synced` (AWS matches the spec), `Compliant` (the targeted fleet), `Ready` (the summary: the
account is usable and AWS is in sync; a non-compliant fleet is the policy doing its job, not a fault).
A resync that finds a difference while the spec had already been applied is drift: it is repaired and
reported with a Normal `DriftRepaired` event.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import kopf
from pydantic import ValidationError

from sreops.operator.accounts import AccountNotReadyError, Placement, placements
from sreops.operator.api import GROUP, KINDS, VERSION, PatchPolicySpec, reasons
from sreops.operator.api.common import ObjectRef
from sreops.operator.api.conditions import READY, is_true_for_generation, now_rfc3339
from sreops.operator.api.patchpolicy import PolicyTarget
from sreops.operator.api.reasons import (
    AWS_ERROR,
    COMPLIANCE_UNAVAILABLE,
    IN_SYNC,
    PATCH_GROUP_CONFLICT,
    SYNC_FAILED,
)
from sreops.operator.api.schedule import next_run
from sreops.operator.aws.errors import classify, error_message, is_aws_error
from sreops.operator.controllers.base import Context, cleanup_failures, raise_for_aws_error, register_reconcile
from sreops.operator.patching.compliance import COMPLIANT, ComplianceCounts, compliant_condition, fleet_compliance
from sreops.operator.patching.desired import Identity, desired_state
from sreops.operator.patching.sync import PatchGroupConflictError, remove_placement, sync_placement
from sreops.operator.services import Services
from sreops.operator.settings import Settings

KIND = KINDS["PatchPolicy"]
SYNCED = "Synced"
DRIFT_REPAIRED = "DriftRepaired"
MAX_EVENT_MESSAGE = 1000  # Kubernetes truncates event messages at 1 KiB
Key = tuple[str, str]  # (account, region)


def _identity(ctx: Context) -> Identity:
    return Identity(ctx.namespace, ctx.name, ctx.uid)


def _status_targets(body: kopf.Body) -> list[PolicyTarget]:
    targets = []
    for raw in (body.get("status") or {}).get("targets") or []:
        try:
            targets.append(PolicyTarget.model_validate(raw))
        except ValidationError:
            continue  # a hand-edited entry we cannot read: nothing to find by it
    return targets


def _ssm(services: Services, placement: Placement) -> Any:
    return services.aws.client("ssm", placement.region, placement.access)


def _was_in_sync(ctx: Context) -> bool:
    """AWS already matched this generation of the spec: any difference found now is drift."""
    return is_true_for_generation(ctx.body, SYNCED)


def _summarise(changes: list[str]) -> str:
    message = "; ".join(changes)
    return message if len(message) <= MAX_EVENT_MESSAGE else message[: MAX_EVENT_MESSAGE - 3] + "..."


def _not_ready(ctx: Context, reason: str, message: str) -> None:
    ctx.set_condition(READY, "False", reason, message)
    ctx.services.metrics.policy_ready.labels(ctx.namespace, ctx.name).set(0)


def _where(spec: PatchPolicySpec, ctx: Context) -> list[Placement]:
    services = ctx.services
    try:
        return placements(
            services.kube, services.aws, ctx.settings.default_region, ctx.namespace, spec.account_ref, spec.regions
        )
    except AccountNotReadyError as exc:
        # A wait: Ready says so (controllers/base.py) and the account's appearance re-triggers the policy.
        ctx.set_condition(SYNCED, "Unknown", exc.reason, exc.message)
        ctx.services.metrics.policy_ready.labels(ctx.namespace, ctx.name).set(0)
        raise
    except Exception as exc:
        if not is_aws_error(exc):
            raise
        _not_ready(ctx, AWS_ERROR, error_message(exc))
        raise_for_aws_error(exc, ctx, "finding the account to act in")


@contextmanager
def _aws_failures(ctx: Context, doing: list[str]) -> Iterator[None]:
    """Turns a failure while syncing into Synced/Ready=False and kopf's retry."""
    try:
        yield
    except PatchGroupConflictError as exc:
        ctx.set_condition(SYNCED, "False", PATCH_GROUP_CONFLICT, str(exc))
        _not_ready(ctx, PATCH_GROUP_CONFLICT, str(exc))
        raise kopf.TemporaryError(str(exc), delay=ctx.settings.resync_seconds) from exc
    except Exception as exc:
        if not is_aws_error(exc):
            raise
        where = doing[-1] if doing else "syncing"
        ctx.set_condition(SYNCED, "False", SYNC_FAILED, f"{where}: {error_message(exc)}")
        ctx.services.metrics.policy_ready.labels(ctx.namespace, ctx.name).set(0)
        raise_for_aws_error(exc, ctx, where)


def _sync(spec: PatchPolicySpec, ctx: Context, where: list[Placement]) -> list[str]:
    """Converges every placement and removes those no longer wanted; writes status.targets even on failure."""
    identity = _identity(ctx)
    desired = desired_state(spec, identity)
    known: dict[Key, PolicyTarget] = {(t.account, t.region): t for t in _status_targets(ctx.body)}
    targets: dict[Key, PolicyTarget] = dict(known)
    changes: list[str] = []
    doing: list[str] = []
    wanted = {(p.account_id, p.region): p for p in where}
    try:
        with _aws_failures(ctx, doing):
            for key, placement in wanted.items():
                doing.append(f"syncing {placement.region} of account {placement.account_id}")
                windows = ctx.services.shared.windows_reader(placement.access, *key)
                result = sync_placement(_ssm(ctx.services, placement), desired, identity, *key, known.get(key), windows)
                targets[key] = result.target
                changes += [f"{placement.region}: {c}" for c in result.changes]
            for key, stale in known.items():
                if key in wanted:
                    continue
                same_account = next((p for p in where if p.account_id == stale.account), None)
                if same_account is None:
                    # The policy now names another account: the old one's credentials are gone with the reference.
                    kopf.warn(
                        ctx.body,
                        reason="OrphanedResources",
                        message=f"left in account {stale.account} {stale.region} (no longer referenced): "
                        f"baseline {stale.baseline_id}, window {stale.window_id}",
                    )
                else:
                    doing.append(f"removing {stale.region} of account {stale.account}")
                    stale_placement = Placement(same_account.access, stale.account, stale.region)
                    removed = remove_placement(_ssm(ctx.services, stale_placement), identity, stale)
                    changes += [f"{stale.region}: removed {r} (region no longer in spec)" for r in removed]
                del targets[key]
    finally:
        ordered = [targets[k] for k in wanted if k in targets] + [t for k, t in targets.items() if k not in wanted]
        ctx.set_status("targets", [t.to_wire() for t in ordered])
    return changes


def _report_compliance(spec: PatchPolicySpec, ctx: Context, where: list[Placement]) -> None:
    metrics = ctx.services.metrics
    counts = ComplianceCounts()
    try:
        for placement in where:
            fleet = ctx.services.shared.fleet(placement.access, placement.account_id, placement.region)
            counts += fleet_compliance(fleet, spec.targets)
    except Exception as exc:
        if not is_aws_error(exc):
            raise
        # Compliance is a report: failing to read it does not make the policy's AWS resources wrong.
        ctx.set_condition(COMPLIANT, "Unknown", COMPLIANCE_UNAVAILABLE, error_message(exc))
        ctx.logger.warning("cannot read compliance (%s): %s", classify(exc).value, error_message(exc))
        return
    ctx.set_status("compliance", counts.to_status(now_rfc3339()).to_wire())
    ctx.set_condition(COMPLIANT, *compliant_condition(counts))
    for state, value in (
        ("compliant", counts.compliant),
        ("non_compliant", counts.non_compliant),
        ("unreported", counts.unreported),
    ):
        metrics.policy_instances.labels(ctx.namespace, ctx.name, state).set(value)


def reconcile(spec: PatchPolicySpec, ctx: Context) -> None:
    ctx.observed()
    was_in_sync = _was_in_sync(ctx)
    where = _where(spec, ctx)
    changes = _sync(spec, ctx, where)
    if changes and was_in_sync:
        message = _summarise(changes)
        kopf.event(ctx.body, type="Normal", reason=DRIFT_REPAIRED, message=message)
        ctx.logger.info("drift repaired: %s", message)
    elif changes:
        ctx.logger.info("applied the spec: %s", _summarise(changes))
    regions = ", ".join(f"{p.region} ({p.account_id})" for p in where)
    ctx.set_condition(SYNCED, "True", IN_SYNC, f"baseline, patch group, window, target and task match in {regions}")
    _report_compliance(spec, ctx, where)
    # In AWS's clock (aws/clock.py): the maintenance window opens by it.
    ctx.set_status(
        "nextRunTime",
        None
        if spec.suspend
        else next_run(spec.schedule.cron, spec.schedule.timezone, ctx.services.aws.clock.now()).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        ),
    )
    ctx.set_condition(READY, "True", reasons.SYNCED, f"in sync in {len(where)} account x region placement(s)")
    ctx.services.metrics.policy_ready.labels(ctx.namespace, ctx.name).set(1)


# -- deletion -----------------------------------------------------------------------------------------------


def _cleanup_placements(
    body: kopf.Body, services: Services, namespace: str
) -> list[tuple[Placement, PolicyTarget | None]]:
    """Every account x region where the policy may own resources: its status, and its spec (a status write
    may have been lost after a create)."""
    raw_spec = body.get("spec") or {}
    ref_raw = raw_spec.get("accountRef")
    account_ref = ObjectRef.model_validate(ref_raw) if ref_raw else None
    spec_regions = [str(r) for r in raw_spec.get("regions") or []]
    known = _status_targets(body)
    base = placements(
        services.kube, services.aws, services.settings.default_region, namespace, account_ref, spec_regions
    )
    found: dict[Key, tuple[Placement, PolicyTarget | None]] = {(p.account_id, p.region): (p, None) for p in base}
    access = base[0].access if base else None
    for target in known:
        key = (target.account, target.region)
        if key in found:
            found[key] = (found[key][0], target)
        elif access is not None and base and target.account == base[0].account_id:
            found[key] = (Placement(access, target.account, target.region), target)
    return list(found.values())


def delete(
    *,
    body: kopf.Body,
    patch: kopf.Patch,
    memo: Any,
    retry: int,
    logger: logging.Logger | logging.LoggerAdapter[Any],
    **_: Any,
) -> None:
    services: Services = memo["services"]
    ctx = Context(body=body, patch=patch, services=services, logger=logger)
    if (body.get("spec") or {}).get("deletionPolicy") == "Retain":
        logger.info("deletionPolicy Retain: AWS resources are kept")
    else:
        _delete_aws_resources(ctx, retry)
    services.metrics.forget_policy(ctx.namespace, ctx.name)


def _delete_aws_resources(ctx: Context, retry: int) -> None:
    identity = _identity(ctx)
    doing = ["finding the account"]
    with cleanup_failures(ctx, retry, "AWS resources left in place", "cannot delete AWS resources yet", doing):
        for placement, known in _cleanup_placements(ctx.body, ctx.services, ctx.namespace):
            doing.append(f"deleting in {placement.region} of account {placement.account_id}")
            removed = remove_placement(_ssm(ctx.services, placement), identity, known)
            if removed:
                ctx.logger.info("deleted in %s: %s", placement.region, ", ".join(removed))


def register(registry: kopf.OperatorRegistry, settings: Settings) -> None:
    register_reconcile(registry, settings, KIND, PatchPolicySpec, reconcile, reads_annotations=False)
    kopf.on.delete(GROUP, VERSION, KIND.plural, registry=registry, id="cleanup")(delete)
