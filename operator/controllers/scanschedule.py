"""ScanSchedule controller: keeps Amazon Inspector scanning on for the schedule's resource types in each account x
region, sweeps its findings on the schedule and on `sreops.io/scan-now`, and reports counts, the top 10, what
changed since the previous sweep, and coverage.

Conditions: `ScanningEnabled` (every wanted type is ENABLED; the message says which types sreops turned on
and which were already on), `ThresholdExceeded` (an unsuppressed finding at or above `severityThreshold`),
`Ready` (the summary: the account is usable, enablement works, sweeps run).

Time is AWS's (the Date of its answers, see aws/clock.py): Inspector stamps findings with its clock, and
the sweep's window (previous sweep, this sweep] is compared with those stamps. `lastScanTime` and
`nextScanTime` are in that clock too.

A sweep runs when the schedule is created (once Inspector has finished enabling what it needs), when
`nextScanTime` has passed (not while suspended), and for each new value of `sreops.io/scan-now` (also while
suspended: it is an explicit request). The values handled are kept in `status.scanNowHandled`, written with
the sweep's results in one status patch, so a value is swept for at most once, across restarts too: a crash
before the patch sweeps again and records it then.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import kopf
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from pydantic import ValidationError

from sreops.operator.accounts import AccountNotReadyError, Placement, placements
from sreops.operator.api import GROUP, KINDS, VERSION, ScanScheduleSpec, SpecError, parse_spec
from sreops.operator.api.common import ObjectRef
from sreops.operator.api.conditions import READY, get_condition
from sreops.operator.api.reasons import (
    ABOVE_THRESHOLD,
    BELOW_THRESHOLD,
    ENABLED,
    ENABLEMENT_FAILED,
    ENABLING,
    INVALID_SPEC,
    SCANNING,
)
from sreops.operator.api.scanschedule import (
    MAX_EXPIRED_SUPPRESSIONS,
    ExpiredSuppression,
    ScanTarget,
)
from sreops.operator.api.schedule import next_run
from sreops.operator.aws import inspector
from sreops.operator.aws.errors import error_message, is_aws_error
from sreops.operator.controllers.base import (
    Context,
    cleanup_failures,
    delete_retry_delay,
    raise_for_aws_error,
    register_reconcile,
)
from sreops.operator.kube import get_object, list_all
from sreops.operator.scanning import enablement, suppressions
from sreops.operator.scanning.coverage import CoverageTally
from sreops.operator.scanning.enablement import Peer
from sreops.operator.scanning.scope import Scope
from sreops.operator.scanning.sweep import Tally, Window, tally_active, tally_resolved
from sreops.operator.services import Services
from sreops.operator.settings import Settings

KIND = KINDS["ScanSchedule"]
SCANNING_ENABLED = "ScanningEnabled"
THRESHOLD_EXCEEDED = "ThresholdExceeded"
SCAN_NOW_ANNOTATION = "sreops.io/scan-now"
SCAN_NOW_KEPT = 20
# A value longer than this is remembered by its digest (status stays small).
MAX_SCAN_NOW_VALUE = 64
MAX_MESSAGE = 500
ENABLEMENT_INDEX = "scan_enablement"
# While Inspector is still ENABLING a type (AWS takes seconds to minutes), look again this often.
ENABLING_RECHECK_SECONDS = 5.0
Logger = logging.Logger | logging.LoggerAdapter[Any]


def _rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _status(body: Mapping[str, Any]) -> Mapping[str, Any]:
    status = body.get("status")
    return status if isinstance(status, Mapping) else {}


def _known_targets(body: Mapping[str, Any]) -> dict[tuple[str, str], ScanTarget]:
    known: dict[tuple[str, str], ScanTarget] = {}
    for raw in _status(body).get("targets") or []:
        try:
            target = ScanTarget.model_validate(raw)
        except ValidationError:
            continue  # a hand-edited entry we cannot read
        known[(target.account, target.region)] = target
    return known


def _peers(kwargs: Mapping[str, Any], uid: str, account: str, region: str) -> list[Peer]:
    index = kwargs.get(ENABLEMENT_INDEX) or {}
    return [
        Peer(peer_uid, frozenset(wanted), frozenset(claimed))
        for peer_uid, wanted, claimed in index.get((account, region), [])
        if peer_uid != uid
    ]


def _peers_now(ctx: Context) -> dict[tuple[str, str], list[Peer]]:
    """Every other schedule's record, read from the API now: a deletion must not miss a peer whose status the
    index (fed by the watch) has not seen yet."""
    found: dict[tuple[str, str], list[Peer]] = {}
    for obj in list_all(ctx.services.kube, KIND.kind, ctx.settings.namespaces):
        uid = str((obj.get("metadata") or {}).get("uid", ""))
        if uid == ctx.uid or (obj.get("metadata") or {}).get("deletionTimestamp"):
            continue
        for key, (_, wanted, claimed) in (_targets_of(uid, obj.get("status")) or {}).items():
            found.setdefault(key, []).append(Peer(uid, frozenset(wanted), frozenset(claimed)))
    return found


def _inspector(services: Services, placement: Placement) -> Any:
    return services.aws.client("inspector2", placement.region, placement.access)


def _accounts(spec: ScanScheduleSpec, placement: Placement) -> list[str]:
    """The accounts whose scanning the schedule keeps on from this placement: its own, and its members."""
    return [placement.account_id, *(m for m in spec.member_accounts if m != placement.account_id)]


# -- when to sweep ------------------------------------------------------------------------------------------


def scan_now_request(body: Mapping[str, Any]) -> str | None:
    """The current scan-now value if it has not been swept for yet."""
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    value = str(annotations.get(SCAN_NOW_ANNOTATION) or "")
    if not value.strip():
        return None
    if len(value) > MAX_SCAN_NOW_VALUE:
        value = "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:16]
    handled = _status(body).get("scanNowHandled") or []
    return None if value in handled else value


def sweep_due(spec: ScanScheduleSpec, body: Mapping[str, Any], now: datetime) -> str | None:
    """Why a sweep is due now (scan-now, first, schedule), or None."""
    if scan_now_request(body) is not None:
        return "scan-now"
    if spec.suspend:
        return None
    last = _parse_time(_status(body).get("lastScanTime"))
    if last is None:
        return "first"
    if next_run(spec.schedule.cron, spec.schedule.timezone, last) <= now:
        return "schedule"
    return None


# -- enablement ---------------------------------------------------------------------------------------------


@dataclass
class EnablementResult:
    targets: list[ScanTarget] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # "EC2 in us-west-2 (111122223333)"
    failed: list[str] = field(default_factory=list)
    turned_on: list[str] = field(default_factory=list)
    turned_off: list[str] = field(default_factory=list)
    time: datetime | None = None  # AWS's clock at the first answer


def _where(spec: ScanScheduleSpec, ctx: Context) -> list[Placement]:
    services = ctx.services
    try:
        return placements(
            services.kube, services.aws, ctx.settings.default_region, ctx.namespace, spec.account_ref, spec.regions
        )
    except AccountNotReadyError as exc:
        ctx.set_condition(SCANNING_ENABLED, "Unknown", exc.reason, exc.message)
        raise
    except Exception as exc:
        if not is_aws_error(exc):
            raise
        raise_for_aws_error(exc, ctx, "finding the account to act in")


def _keep_enabled(spec: ScanScheduleSpec, ctx: Context, where: list[Placement]) -> EnablementResult:
    known = _known_targets(ctx.body)
    result = EnablementResult()
    for placement in where:
        client = _inspector(ctx.services, placement)
        accounts = _accounts(spec, placement)
        states = inspector.account_states(client, accounts)
        result.time = result.time or states.time
        result.failed += [f"{f.account} in {placement.region}: {f.code} {f.message}".strip() for f in states.failed]
        unreachable = {f.account for f in states.failed}
        for account in accounts:
            if account in unreachable:
                continue
            key = (account, placement.region)
            before = known.get(key)
            current = states.states.get(account, {})
            plan = enablement.plan(
                spec.resource_types,
                current,
                before.enabled_by_sreops if before else [],
                _peers(ctx.kwargs, ctx.uid, account, placement.region),
            )
            where_text = f"in {placement.region} ({account})"
            if plan.enable:
                failed = inspector.enable(client, [account], plan.enable)
                if failed:
                    result.failed += [f"{f.account} in {placement.region}: {f.code} {f.message}" for f in failed]
                    plan.enabled_by_sreops = [t for t in plan.enabled_by_sreops if t not in plan.enable]
                else:
                    result.turned_on.append(f"{', '.join(plan.enable)} {where_text}")
            if plan.disable:
                inspector.disable(client, [account], plan.disable)
                result.turned_off.append(f"{', '.join(plan.disable)} {where_text}")
            result.pending += [f"{t} {where_text}" for t in plan.pending]
            result.targets.append(
                ScanTarget(
                    account=account,
                    region=placement.region,
                    resource_types=list(spec.resource_types),
                    enabled_by_sreops=plan.enabled_by_sreops,
                    already_enabled=plan.already_enabled,
                )
            )
    _hand_back_stale(ctx, where, known, result)
    return result


def _hand_back_stale(
    ctx: Context, where: list[Placement], known: dict[tuple[str, str], ScanTarget], result: EnablementResult
) -> None:
    """An account x region that left the spec (a region or member account removed) gives back what sreops
    enabled there, unless another schedule wants it. Its record is kept until that succeeds."""
    current = {(t.account, t.region) for t in result.targets}
    for key, stale in known.items():
        if key in current or not stale.enabled_by_sreops:
            continue
        account, region = key
        placement = Placement(where[0].access, where[0].account_id, region)
        try:
            client = _inspector(ctx.services, placement)
            states = inspector.account_states(client, [account]).states.get(account, {})
            release = enablement.to_release(
                stale.enabled_by_sreops, states, _peers(ctx.kwargs, ctx.uid, account, region)
            )
            if release:
                inspector.disable(client, [account], release)
                result.turned_off.append(f"{', '.join(release)} in {region} ({account})")
        except Exception as exc:
            if not is_aws_error(exc):
                raise
            ctx.logger.warning("cannot give back scanning in %s of %s yet: %s", region, account, error_message(exc))
            result.targets.append(stale)  # remembered: tried again on the next reconcile


def _enablement_message(result: EnablementResult) -> str:
    ours = sorted({t for target in result.targets for t in target.enabled_by_sreops})
    theirs = sorted({t for target in result.targets for t in target.already_enabled})
    parts = [f"enabled by sreops: {', '.join(ours) or 'none'}", f"already on: {', '.join(theirs) or 'none'}"]
    return f"{'; '.join(parts)} ({len(result.targets)} account x region)"


def _report_enablement(ctx: Context, result: EnablementResult) -> None:
    ctx.set_status("targets", [t.to_wire() for t in result.targets])
    for change in result.turned_on:
        kopf.event(ctx.body, type="Normal", reason="ScanningEnabled", message=f"enabled Inspector scanning of {change}")
    for change in result.turned_off:
        kopf.event(ctx.body, type="Normal", reason="ScanningDisabled", message=f"disabled {change} (no longer wanted)")
    if result.failed:
        ctx.set_condition(SCANNING_ENABLED, "False", ENABLEMENT_FAILED, "; ".join(result.failed)[:MAX_MESSAGE])
    elif result.pending:
        ctx.set_condition(
            SCANNING_ENABLED, "False", ENABLING, f"Inspector is enabling {', '.join(result.pending)}"[:MAX_MESSAGE]
        )
    else:
        ctx.set_condition(SCANNING_ENABLED, "True", ENABLED, _enablement_message(result))


# -- the sweep ----------------------------------------------------------------------------------------------


def sweep(
    services: Services, spec: ScanScheduleSpec, where: list[Placement], window: Window
) -> tuple[Tally, CoverageTally]:
    """Lists the schedule's findings (ACTIVE; CLOSED within the window) and coverage in every placement."""
    active, _expired = suppressions.at(spec.suppressions, window.now)
    tally = Tally()
    covered = CoverageTally()
    for placement in where:
        client = _inspector(services, placement)
        scope = Scope.of(spec, placement.account_id)
        for criteria in scope.finding_criteria("ACTIVE"):
            tally_active(tally, inspector.findings(client, criteria), scope, active, window, bool(spec.member_accounts))
        if window.previous is not None:
            for criteria in scope.finding_criteria("CLOSED", "updatedAt", window.previous, window.now):
                tally_resolved(tally, inspector.findings(client, criteria), scope, active, window)
        for criteria in scope.coverage_criteria():
            covered.add(inspector.coverage(client, criteria), scope)
    return tally, covered


def _severity_text(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{n} {severity}" for severity, n in counts.items() if n and severity != "suppressed")


def _report_sweep(
    spec: ScanScheduleSpec,
    ctx: Context,
    window: Window,
    tally: Tally,
    covered: CoverageTally,
    scan_now: str | None,
    previous: Mapping[str, Any],
) -> None:
    status = ctx.patch.status
    status["lastScanTime"] = _rfc3339(window.now)
    status["findings"] = tally.findings().to_wire()
    status["newSinceLastScan"] = tally.new_total
    status["resolvedSinceLastScan"] = tally.resolved
    status["newBySeverity"] = tally.new_by_severity().to_wire()
    status["topFindings"] = [f.to_wire() for f in tally.top()]
    status["coverage"] = covered.to_status().to_wire()
    status["memberAccounts"] = [m.to_wire() for m in tally.member_counts()] if spec.member_accounts else None
    _active, expired = suppressions.at(spec.suppressions, window.now)
    status["expiredSuppressions"] = [e.to_wire() for e in expired[:MAX_EXPIRED_SUPPRESSIONS]] or None
    if scan_now is not None:
        handled = [str(v) for v in previous.get("scanNowHandled") or []]
        status["scanNowHandled"] = [*handled, scan_now][-SCAN_NOW_KEPT:]

    above = tally.at_or_above(spec.severity_threshold)
    was_above = (get_condition(previous, THRESHOLD_EXCEEDED) or {}).get("status") == "True"
    if above:
        message = f"{_severity_text(above)} at or above {spec.severity_threshold}"
        ctx.set_condition(THRESHOLD_EXCEEDED, "True", ABOVE_THRESHOLD, message)
        if not was_above:
            kopf.warn(ctx.body, reason=THRESHOLD_EXCEEDED, message=message)
    else:
        message = f"no unsuppressed finding at or above {spec.severity_threshold}"
        ctx.set_condition(THRESHOLD_EXCEEDED, "False", BELOW_THRESHOLD, message)
    if tally.new_total:
        since = _rfc3339(window.previous) if window.previous else ""
        kopf.event(
            ctx.body,
            type="Normal",
            reason="NewFindings",
            message=f"{tally.new_total} new since {since}: {_severity_text(tally.new)}",
        )
    if tally.resolved:
        message = f"{tally.resolved} closed since the last sweep"
        kopf.event(ctx.body, type="Normal", reason="FindingsResolved", message=message)
    for gone in suppressions.newly_expired(spec.suppressions, window.previous, window.now):
        kopf.event(ctx.body, type="Normal", reason="SuppressionExpired", message=_expired_text(gone))
    _observe(ctx, tally, covered, window)


def _write_now(ctx: Context, fresh: Mapping[str, Any]) -> None:
    """After a sweep, the whole status (conditions included) goes to the API before the handler returns: kopf
    would write it only afterwards, outside the per-object lock, and the next reconcile must see this sweep."""
    body: dict[str, Any] = {"status": copy.deepcopy(dict(_status(fresh)))}
    for fn in ctx.patch.fns:
        fn(cast(Any, body))
    record = dict(ctx.patch.status)
    record["conditions"] = body["status"].get("conditions") or []
    try:
        client.CustomObjectsApi(ctx.services.kube).patch_namespaced_custom_object_status(
            GROUP, VERSION, ctx.namespace, KIND.plural, ctx.name, {"status": record}
        )
    except ApiException as exc:  # kopf's own patch after the handler writes it too
        ctx.logger.warning("writing the sweep's status early failed: %s %s", exc.status, exc.reason)


def _expired_text(s: ExpiredSuppression) -> str:
    on = f" on {s.resource}" if s.resource else ""
    return f"suppression of {s.vulnerability_id}{on} expired on {s.expires}: its findings count again"


def _observe(ctx: Context, tally: Tally, covered: CoverageTally, window: Window) -> None:
    metrics = ctx.services.metrics
    labels = (ctx.namespace, ctx.name)
    for severity, n in tally.counts.items():
        metrics.scan_findings.labels(*labels, severity).set(n)
    metrics.scan_findings_listed.labels(*labels).inc(tally.listed)
    metrics.scan_new_findings.labels(*labels).inc(tally.new_total)
    metrics.scan_resolved_findings.labels(*labels).inc(tally.resolved)
    metrics.scan_coverage_gaps.labels(*labels).set(covered.gaps)
    metrics.scan_last_sweep.labels(*labels).set(window.now.timestamp())


def _observe_times(ctx: Context, last: datetime | None, due: datetime | None) -> None:
    """Last and next sweep at every reconcile (also after a restart), for the stale-sweep alert."""
    metrics, labels = ctx.services.metrics, (ctx.namespace, ctx.name)
    if last is not None:
        metrics.scan_last_sweep.labels(*labels).set(last.timestamp())
    if due is None:
        with contextlib.suppress(KeyError):
            metrics.scan_next_sweep.remove(*labels)
    else:
        metrics.scan_next_sweep.labels(*labels).set(due.timestamp())


# -- reconcile ----------------------------------------------------------------------------------------------


def _next_scan(spec: ScanScheduleSpec, last: datetime | None) -> datetime | None:
    return None if spec.suspend or last is None else next_run(spec.schedule.cron, spec.schedule.timezone, last)


def _next_scan_time(
    spec: ScanScheduleSpec, ctx: Context, last: datetime | None, read_fresh: bool
) -> tuple[datetime | None, datetime | None]:
    """The next sweep after `last`, and the last sweep it counts from. A timer's body can lag our own last status
    write: computed from its older lastScanTime, nextScanTime would move back to a time already swept (seen on a
    clean-clone run), so a change not made from a fresh read is checked against the API first."""
    due = _next_scan(spec, last)
    shown = _rfc3339(due) if due is not None else None
    if read_fresh and shown != _status(ctx.body).get("nextScanTime"):
        fresh = get_object(ctx.services.kube, KIND.kind, ctx.namespace, ctx.name)
        if fresh is not None:
            last = _parse_time(_status(fresh).get("lastScanTime"))
            due = _next_scan(spec, last)
    return due, last


def reconcile(spec: ScanScheduleSpec, ctx: Context) -> None:
    ctx.observed()
    where = _where(spec, ctx)
    try:
        enabled = _keep_enabled(spec, ctx, where)
    except Exception as exc:
        if not is_aws_error(exc):
            raise
        ctx.set_condition(SCANNING_ENABLED, "False", ENABLEMENT_FAILED, error_message(exc))
        raise_for_aws_error(exc, ctx, "keeping Inspector scanning enabled")
    _report_enablement(ctx, enabled)
    now = enabled.time or ctx.services.aws.clock.now()
    why = sweep_due(spec, ctx.body, now)
    last = _parse_time(_status(ctx.body).get("lastScanTime"))
    fresh: Mapping[str, Any] | None = None
    if why == "first" and enabled.pending:
        why = None  # the first sweep waits until Inspector scans what it was asked to
    if why is not None:
        # kopf's body may not show our own last status write yet (the watch lags): ask again from the API, so
        # a sweep already recorded (or a scan-now value already handled) is not swept for twice.
        fresh = get_object(ctx.services.kube, KIND.kind, ctx.namespace, ctx.name)
        if fresh is not None:
            last = _parse_time(_status(fresh).get("lastScanTime"))
        if fresh is None or sweep_due(spec, fresh, now) is None:
            why = None
    if why is not None and fresh is not None:
        scan_now = scan_now_request(fresh)
        window = Window(previous=last, now=now)
        started = time.monotonic()
        try:
            tally, covered = sweep(ctx.services, spec, where, window)
        except Exception as exc:
            if not is_aws_error(exc):
                raise
            raise_for_aws_error(exc, ctx, "sweeping Inspector findings")
        ctx.services.metrics.scan_sweep_duration.observe(time.monotonic() - started)
        _report_sweep(spec, ctx, window, tally, covered, scan_now, _status(fresh))
        ctx.logger.info(
            "swept (%s): %d findings listed, %d new, %d resolved", why, tally.listed, tally.new_total, tally.resolved
        )
        last = now
    due, last = _next_scan_time(spec, ctx, last, read_fresh=fresh is None)
    ctx.set_status("nextScanTime", _rfc3339(due) if due is not None else None)
    _observe_times(ctx, last, due)
    if enabled.failed:
        ctx.set_condition(READY, "False", ENABLEMENT_FAILED, "; ".join(enabled.failed)[:MAX_MESSAGE])
    else:
        schedule = "scheduled sweeps suspended" if spec.suspend else f"sweeping on {spec.schedule.cron}"
        ctx.set_condition(READY, "True", SCANNING, f"{schedule} in {len(where)} account x region placement(s)")
    if fresh is not None and why is not None:
        _write_now(ctx, fresh)
    if enabled.pending:
        raise kopf.TemporaryError("Inspector is still enabling scanning", delay=ENABLING_RECHECK_SECONDS)


# -- deletion -----------------------------------------------------------------------------------------------


def _cleanup_placements(body: kopf.Body, services: Services, namespace: str) -> list[Placement]:
    raw_spec = body.get("spec") or {}
    ref_raw = raw_spec.get("accountRef")
    account_ref = ObjectRef.model_validate(ref_raw) if ref_raw else None
    regions = [str(r) for r in raw_spec.get("regions") or []]
    return placements(services.kube, services.aws, services.settings.default_region, namespace, account_ref, regions)


def _release(ctx: Context, retry: int) -> None:
    """Disables what this schedule enabled and no other schedule wants, in every account x region."""
    claimed = {key: t.enabled_by_sreops for key, t in _known_targets(ctx.body).items() if t.enabled_by_sreops}
    if not claimed:
        return
    doing = ["finding the account"]
    try:
        with cleanup_failures(ctx, retry, "Inspector scanning left as it is", "cannot disable scanning yet", doing):
            where = {p.region: p for p in _cleanup_placements(ctx.body, ctx.services, ctx.namespace)}
            peers = _peers_now(ctx)
            for (account, region), types in claimed.items():
                # A region that left the spec is reached with the same credentials.
                first = next(iter(where.values()))
                placement = where.get(region) or Placement(first.access, first.account_id, region)
                doing.append(f"disabling scanning in {region} of account {account}")
                client = _inspector(ctx.services, placement)
                states = inspector.account_states(client, [account]).states.get(account, {})
                release = enablement.to_release(types, states, peers.get((account, region), []))
                if release:
                    inspector.disable(client, [account], release)
                    ctx.logger.info("disabled %s in %s of account %s", ", ".join(release), region, account)
    except ApiException as exc:  # listing the other schedules: the API is busy or restarting
        message = f"listing ScanSchedules: {exc.status} {exc.reason}"
        raise kopf.TemporaryError(message, delay=delete_retry_delay(retry)) from exc


def delete(*, body: kopf.Body, patch: kopf.Patch, memo: Any, retry: int, logger: Logger, **kwargs: Any) -> None:
    services: Services = memo["services"]
    ctx = Context(body=body, patch=patch, services=services, logger=logger, kwargs=kwargs)
    _release(ctx, retry)
    services.metrics.forget_schedule(ctx.namespace, ctx.name)


# -- registration -------------------------------------------------------------------------------------------


async def _index(*, uid: str, status: Mapping[str, Any] | None, **_: Any) -> Any:
    # async (pure, brief): kopf runs it on its loop for every watch event, not through its thread pool.
    return _targets_of(uid, status)


def _targets_of(uid: str, status: Mapping[str, Any] | None) -> Any:
    """(account, region) → (uid, wanted types, types sreops enabled) for every schedule's targets."""
    out = {}
    for raw in (status or {}).get("targets") or []:
        try:
            t = ScanTarget.model_validate(raw)
        except ValidationError:
            continue
        out[(t.account, t.region)] = (uid, tuple(t.resource_types), tuple(t.enabled_by_sreops))
    return out or None


def _sweep_filter(spec: kopf.Spec, status: Mapping[str, Any] | None, meta: Mapping[str, Any], **_: Any) -> bool:
    if meta.get("deletionTimestamp"):
        return False
    ready = get_condition(status, READY) or {}
    if ready.get("reason") == INVALID_SPEC and ready.get("observedGeneration") == meta.get("generation"):
        return False
    return ready.get("status") == "True"


def _due_now(body: Mapping[str, Any], services: Services) -> bool:
    try:
        spec = parse_spec(ScanScheduleSpec, body.get("spec"))
    except SpecError:
        return False
    return sweep_due(spec, body, services.aws.clock.now()) is not None


def register(registry: kopf.OperatorRegistry, settings: Settings) -> None:
    kopf.index(GROUP, VERSION, KIND.plural, registry=registry, id=ENABLEMENT_INDEX)(_index)
    handler = register_reconcile(registry, settings, KIND, ScanScheduleSpec, reconcile)
    kopf.on.delete(GROUP, VERSION, KIND.plural, registry=registry, id="cleanup")(delete)

    def sweep_if_due(*, body: kopf.Body, memo: Any, **kwargs: Any) -> None:
        # Cheap: no AWS call unless a sweep is due by AWS's clock as last seen (the reconcile checks again
        # with a fresh reading before it sweeps).
        if _due_now(body, memo["services"]):
            handler(body=body, memo=memo, **kwargs)

    kopf.timer(
        GROUP,
        VERSION,
        KIND.plural,
        registry=registry,
        id="sweep-due",
        interval=settings.run_poll_seconds,
        initial_delay=settings.run_poll_seconds,
        idle=min(settings.run_poll_seconds, 10.0),
        when=_sweep_filter,
    )(sweep_if_due)
