"""What every controller shares: spec validation with the InvalidSpec contract, waits for references, AWS
error handling, status.

A spec that fails validation gets `Ready=False` with reason `InvalidSpec` and a message naming the field,
a Warning event, and `kopf.PermanentError`, so kopf does not retry it until the spec changes (a new
generation triggers the update handler again). No AWS call happens before the spec is accepted.

A reference that does not exist yet (WaitingError) is not an error: the object gets `Ready=False` with the
wait's reason and the handler completes. It is reconciled again when the reference appears (references.py
re-triggers it) and, as a safety net, by a retry timer that backs off from 5 s to the resync interval.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NoReturn, TypeVar

import kopf
from pydantic import ValidationError

from sreops.operator.accounts import AccountNotReadyError
from sreops.operator.api import GROUP, VERSION, Kind, SpecError, parse_spec, reasons
from sreops.operator.api.common import Model
from sreops.operator.api.conditions import (
    READY,
    ConditionStatus,
    condition_patch_fn,
    get_condition,
    is_true_for_generation,
)
from sreops.operator.api.reasons import (
    ACCESS_DENIED,
    ACCOUNT_NOT_FOUND,
    AWS_ERROR,
    AWS_UNAVAILABLE,
    DELETION_PENDING,
    INVALID_SPEC,
)
from sreops.operator.aws.errors import ErrorKind, classify, error_message, is_aws_error
from sreops.operator.executor import background
from sreops.operator.logcontext import acting_on
from sreops.operator.services import Services
from sreops.operator.settings import Settings
from sreops.operator.waiting import WaitingError

M = TypeVar("M", bound=Model)
Logger = logging.Logger | logging.LoggerAdapter[Any]
# The first retry of a waiting object; later ones double up to the resync interval.
WAIT_RETRY_FIRST = 5.0
# A reconcile that waited this long in total for the AWS request budget says so in a Normal event.
BUDGET_EVENT_SECONDS = 5.0
# Conditions whose changes are also Kubernetes Events (what `kubectl describe` and event exporters show). A run's
# conditions have events of their own (RunStarted, RunSucceeded, RunFailed), and so do waits and InvalidSpec
# (report_waiting, report_invalid_spec).
EVENTED_CONDITIONS = frozenset({READY, "Compliant"})
OWN_EVENT_REASONS = reasons.WAITING | {reasons.INVALID_SPEC}


@dataclass
class Context:
    """One handler invocation: the object, where status changes go, and the operator's shared services."""

    body: kopf.Body
    patch: kopf.Patch
    services: Services
    logger: logging.Logger | logging.LoggerAdapter[Any]
    # The rest of kopf's keyword arguments (its indexes, by id).
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    # Asked when a condition set here reaches the API (see condition_patch_fn): whether the object's status
    # then is still one the decision holds for. Kinds whose status other writers advance set it.
    still_applies: Callable[[Mapping[str, Any] | None], bool] | None = None

    def __post_init__(self) -> None:
        acting_on(self.body)  # AWS calls made from here on are logged with this resource

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def kind(self) -> str:
        return str(self.body["kind"])

    @property
    def namespace(self) -> str:
        return str(self.body["metadata"]["namespace"])

    @property
    def name(self) -> str:
        return str(self.body["metadata"]["name"])

    @property
    def uid(self) -> str:
        return str(self.body["metadata"]["uid"])

    @property
    def generation(self) -> int | None:
        value = self.body.get("metadata", {}).get("generation")
        return int(value) if value is not None else None

    def set_condition(self, type_: str, status: ConditionStatus, reason: str, message: str) -> None:
        reasons.check(self.kind, type_, reason)
        self.patch.fns.append(condition_patch_fn(type_, status, reason, message, self.generation, self.still_applies))
        if type_ in EVENTED_CONDITIONS and self.kind != "PatchRun" and reason not in OWN_EVENT_REASONS:
            old = get_condition(self.body.get("status"), type_) or {}
            before, after = (old.get("status"), old.get("reason")), (status, reason)
            # kopf's body lags our own status writes under load: the change announced from this same old state
            # already is not announced again (a body that moved on to another state announces anew).
            key = f"{self.uid}/{type_}"
            if before != after and self.services.evented.get(key) != (before, after):
                self.services.evented.set(key, (before, after))
                level = "Warning" if status == "False" else "Normal"
                kopf.event(self.body, type=level, reason=reason, message=f"{type_}={status}: {message}"[:1000])

    def observed(self) -> None:
        self.set_status("observedGeneration", self.generation)

    def set_status(self, key: str, value: Any) -> None:
        """`status.<key>` in kopf's end-of-handler patch, left out when the object has that value already: a
        resync that changes nothing sends no request (kopf would send a merge patch of every key it is given)."""
        if (self.body.get("status") or {}).get(key) != value or key in self.patch.status:
            self.patch.status[key] = value


def report_invalid_spec(kind: Kind, ctx: Context, err: SpecError) -> NoReturn:
    """The InvalidSpec contract: Ready=False naming the field, one Warning event, no retry."""
    message = str(err)
    ready = get_condition(ctx.body.get("status"), READY) or {}
    already_reported = (ready.get("reason"), ready.get("message"), ready.get("observedGeneration")) == (
        INVALID_SPEC,
        message,
        ctx.generation,
    )
    ctx.observed()
    ctx.set_condition(READY, "False", INVALID_SPEC, message)
    if not already_reported:  # a resume after an operator restart, or a resync, does not warn again
        kopf.warn(ctx.body, reason=INVALID_SPEC, message=message)
    raise kopf.PermanentError(f"{kind.kind} spec is invalid: {message}") from err


def report_budget_delay(ctx: Context, waited: float) -> None:
    """The AWS request budget (aws/ratelimit.py) held this reconcile back: say so, it explains a slow Ready."""
    message = f"AWS calls waited {waited:.1f}s in total for the request budget of their account and region"
    kopf.event(ctx.body, type="Normal", reason="AwsRequestBudget", message=message)
    ctx.logger.info(message)


Reconcile = Callable[[Any, Context], None]
Handler = Callable[..., None]
StatusFilter = Callable[[Mapping[str, Any] | None], bool]


def is_waiting(status: Mapping[str, Any] | None) -> bool:
    """Ready=False because a referenced object does not exist or is not usable yet."""
    ready = get_condition(status, READY) or {}
    return ready.get("status") == "False" and ready.get("reason") in reasons.WAITING


def report_waiting(ctx: Context, wait: WaitingError) -> None:
    """Ready=False with the wait's reason; a Normal event when the object starts waiting for this reason."""
    ready = get_condition(ctx.body.get("status"), READY) or {}
    ctx.observed()
    ctx.set_condition(READY, "False", wait.reason, wait.message)
    if ready.get("reason") != wait.reason:
        kopf.event(ctx.body, type="Normal", reason=wait.reason, message=wait.message)
    ctx.logger.info("waiting (%s): %s", wait.reason, wait.message)


class WaitBackoff:
    """When each waiting object is retried next, by uid: after WAIT_RETRY_FIRST, then doubling up to `cap`.
    Kept in memory: a restarted operator resumes (and so reconciles) every object anyway."""

    def __init__(self, cap: float) -> None:
        self.cap = max(cap, WAIT_RETRY_FIRST)
        self._next: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def due(self, uid: str, now: float) -> bool:
        with self._lock:
            at, delay = self._next.get(uid, (now, WAIT_RETRY_FIRST))
            if now < at:
                return False
            delay = min(delay * 2, self.cap)
            self._next[uid] = (now + delay, delay)
            return True

    def forget(self, uid: str) -> None:
        with self._lock:
            self._next.pop(uid, None)


class ObjectLocks:
    """One object is reconciled by one thread at a time. kopf runs an object's timers next to its change
    handlers, so a resync could otherwise overlap a retry of the same object and write an older view after a
    newer one. Striped (a fixed set of locks chosen by uid): no per-object state to clean up."""

    STRIPES = 256

    def __init__(self) -> None:
        self._locks = [threading.Lock() for _ in range(self.STRIPES)]

    def of(self, uid: str) -> threading.Lock:
        return self._locks[hash(uid) % self.STRIPES]


def make_handler(kind: Kind, model: type[M], reconcile: Reconcile, backoff: WaitBackoff | None = None) -> Handler:
    """The kopf handler around `reconcile`: parses the spec, applies the InvalidSpec and waiting contracts,
    counts the result, one invocation per object at a time. Plain `def`: kopf runs it in its thread pool, so
    boto3 calls never block the loop."""
    locks = ObjectLocks()

    def handler(*, body: kopf.Body, patch: kopf.Patch, memo: Any, logger: Logger, **kwargs: Any) -> None:
        with locks.of(str(body.get("metadata", {}).get("uid", ""))):
            _handle(body=body, patch=patch, memo=memo, logger=logger, **kwargs)

    def _handle(*, body: kopf.Body, patch: kopf.Patch, memo: Any, logger: Logger, **kwargs: Any) -> None:
        services: Services = memo["services"]
        if services.departures.gone(body):
            return  # relabelled to another shard: a timer kopf left running (shards.py)
        ctx = Context(body=body, patch=patch, services=services, logger=logger, kwargs=kwargs)
        metrics = services.metrics
        result = "error"
        budget = services.aws.budget
        if budget is not None:
            budget.reset_waited()
        with metrics.reconcile_duration.labels(kind.kind).time():
            try:
                try:
                    spec = parse_spec(model, body.get("spec"))
                    reconcile(spec, ctx)
                    if backoff is not None:
                        backoff.forget(ctx.uid)
                    result = "success"
                except SpecError as err:
                    report_invalid_spec(kind, ctx, err)
                except WaitingError as wait:
                    report_waiting(ctx, wait)
                    result = "waiting"
                ctx.observed()
            except kopf.PermanentError:
                result = "invalid_spec"
                raise
            except kopf.TemporaryError:
                result = "retry"
                raise
            finally:
                metrics.reconciles.labels(kind.kind, result).inc()
                if budget is not None and budget.waited() >= BUDGET_EVENT_SECONDS:
                    report_budget_delay(ctx, budget.waited())

    handler.__name__ = f"reconcile_{kind.kind.lower()}"
    return handler


RESYNC_FAILURES_TOLERATED = 3  # transient failures in a row of a Ready object's drift check before it says so


def _merge(patch: kopf.Patch, scratch: kopf.Patch, with_conditions: bool = True) -> None:
    """Moves what a reconcile wrote into `scratch` to kopf's patch (conditions are transformations, in fns)."""
    for key, value in scratch.items():
        if isinstance(value, dict) and isinstance(patch.get(key), dict):
            patch[key].update(value)
        else:
            patch[key] = value
    if with_conditions:
        patch.fns.extend(scratch.fns)


def tolerant_resync(
    handler: Handler, kind: Kind, failures: dict[str, int], body: kopf.Body, kwargs: dict[str, Any]
) -> None:
    """A drift check of a Ready object that AWS answered with a throttle, a 5xx or no answer at all leaves its
    conditions as they are, up to RESYNC_FAILURES_TOLERATED times in a row: the check did not find AWS out of
    sync, and a Ready (and its gauge, which alerts read) that flapped with every throttle would page people for
    nothing (the full fault suite, 30% throttling and 10% 500s: 13% of 200 Ready policies were False at any
    moment). The statuses it wrote (resource ids) are kept. Any other failure, or one more, is reported as a
    change-driven reconcile reports it. `failures` counts per uid."""
    patch: kopf.Patch = kwargs.pop("patch")
    scratch = kopf.Patch()
    uid = str(body["metadata"].get("uid", ""))
    try:
        handler(body=body, patch=scratch, **kwargs)
    except kopf.TemporaryError as exc:
        cause = exc.__cause__
        count = failures.get(uid, 0) + 1
        if cause is None or not is_aws_error(cause) or not classify(cause).retryable:
            count = RESYNC_FAILURES_TOLERATED  # access denied, an unknown error: say so at once
        if count >= RESYNC_FAILURES_TOLERATED:
            failures.pop(uid, None)
            _merge(patch, scratch)
            raise
        failures[uid] = count
        _merge(patch, scratch, with_conditions=False)
        if kind.kind == "PatchPolicy":  # the one kind with a Ready gauge; the failed reconcile set it to 0
            meta = body["metadata"]
            kwargs["memo"]["services"].metrics.policy_ready.labels(meta.get("namespace"), meta.get("name")).set(1)
        kwargs["logger"].warning("drift check failed (%d in a row, Ready kept): %s", count, exc)
        return
    except BaseException:
        _merge(patch, scratch)
        raise
    failures.pop(uid, None)
    _merge(patch, scratch)


def only_annotations(diff: kopf.Diff) -> bool:
    """The change touches nothing but metadata.annotations (kopf's diff of the object's essence)."""
    return bool(diff) and all(tuple(item[1])[:2] == ("metadata", "annotations") for item in diff)


def register_reconcile(
    registry: kopf.OperatorRegistry,
    settings: Settings,
    kind: Kind,
    model: type[M],
    reconcile: Reconcile,
    resync_when: StatusFilter | None = None,
    reads_annotations: bool = True,
) -> Handler:
    """Registers one idempotent reconcile function for create, update and resume (ARCHITECTURE rule 1),
    calls it again from a timer every `resync_seconds` to catch drift in AWS (only while `resync_when`
    holds, if given), and retries waiting objects with a backoff. Returns the handler.

    `reads_annotations=False`: the reconcile does not read the object's annotations, so a change of annotations
    alone (kopf sees them as an update) to an object Ready for its generation is not reconciled again: each
    run-now on a PatchPolicy writes three of them, and each re-applied the whole policy in AWS (about ten calls
    against a budget the run itself needs).

    The reconcile function raises SpecError for a spec that is wrong in itself (InvalidSpec) and
    WaitingError for a reference that is not there yet.
    """
    backoff = WaitBackoff(cap=settings.resync_seconds)
    handler = make_handler(kind, model, reconcile, backoff)

    @background  # drift checks wait while changes are queued (executor.py)
    def resync(*, body: kopf.Body, **kwargs: Any) -> None:
        if body.get("metadata", {}).get("deletionTimestamp"):
            return  # its cleanup is deleting what a resync would check (and might put back)
        # An InvalidSpec for this generation stays as it is until the spec changes (API.md).
        ready = get_condition(body.get("status"), READY) or {}
        generation = body.get("metadata", {}).get("generation")
        if ready.get("reason") == INVALID_SPEC and ready.get("observedGeneration") == generation:
            return
        try:
            if not is_true_for_generation(body, READY):
                handler(body=body, **kwargs)
                return
            tolerant_resync(handler, kind, resync_failures, body, kwargs)
        except kopf.TemporaryError as exc:
            # kopf stops an object's timers when its deletion starts, but a call already running goes on: the
            # soak test's resync failed on the window its cleanup had just deleted. The body is kopf's live one.
            if not body.get("metadata", {}).get("deletionTimestamp"):
                raise
            kwargs["logger"].info("drift check ended by the deletion: %s", exc)

    resync_failures: dict[str, int] = {}

    def retry_waiting(*, body: kopf.Body, **kwargs: Any) -> None:
        if body.get("metadata", {}).get("deletionTimestamp"):
            return
        if backoff.due(str(body["metadata"]["uid"]), time.monotonic()):
            handler(body=body, **kwargs)

    def resync_filter(status: Mapping[str, Any] | None, meta: Mapping[str, Any], **_: Any) -> bool:
        return not meta.get("deletionTimestamp") and (resync_when is None or resync_when(status))

    def waiting_filter(status: Mapping[str, Any] | None, meta: Mapping[str, Any], **_: Any) -> bool:
        return not meta.get("deletionTimestamp") and is_waiting(status)

    def update(*, body: kopf.Body, diff: kopf.Diff, **kwargs: Any) -> None:
        if not reads_annotations and only_annotations(diff) and is_true_for_generation(body, READY):
            return
        handler(body=body, diff=diff, **kwargs)

    for decorator in (kopf.on.create, kopf.on.resume):
        decorator(GROUP, VERSION, kind.plural, registry=registry, id="reconcile")(handler)
    kopf.on.update(GROUP, VERSION, kind.plural, registry=registry, id="reconcile")(update)
    # The first resync waits a full interval, and none runs while the object is changing: the change
    # handlers are already reconciling it then.
    kopf.timer(
        GROUP,
        VERSION,
        kind.plural,
        registry=registry,
        id="resync",
        interval=settings.resync_seconds,
        initial_delay=settings.resync_seconds,
        idle=min(settings.resync_seconds, 10.0),
        when=resync_filter,
    )(resync)
    # The safety net for waits: the watch on the referenced kinds re-triggers at once, this catches a missed one.
    kopf.timer(
        GROUP,
        VERSION,
        kind.plural,
        registry=registry,
        id="wait-retry",
        interval=WAIT_RETRY_FIRST / 2,
        initial_delay=WAIT_RETRY_FIRST,
        idle=WAIT_RETRY_FIRST,
        when=waiting_filter,
    )(retry_waiting)
    return handler


# Deletion retries back off from a few seconds to five minutes while AWS cannot be reached.
DELETE_BACKOFF_FIRST = 5.0
DELETE_BACKOFF_MAX = 300.0


def delete_retry_delay(retry: int) -> float:
    return float(min(DELETE_BACKOFF_FIRST * 2 ** min(retry, 10), DELETE_BACKOFF_MAX))


@contextmanager
def cleanup_failures(ctx: Context, retry: int, left: str, not_yet: str, doing: list[str]) -> Iterator[None]:
    """The deletion contract around a cleanup in AWS. A spec that cannot be read, or an account that no longer
    exists, leaves AWS as it is with a `CleanupSkipped` warning (`left` says what is left) and lets the
    deletion go on. An account not usable yet, or an AWS error, keeps the finalizer: Ready=False (`not_yet`
    says what waits) and a retry that backs off. `doing[-1]` names the step that failed."""
    try:
        yield
    except (SpecError, ValidationError) as exc:
        kopf.warn(ctx.body, reason="CleanupSkipped", message=f"{left}: {exc}")
    except AccountNotReadyError as exc:
        if exc.reason == ACCOUNT_NOT_FOUND:
            # No account to act through (deleted first, e.g. with its namespace): nothing can be cleaned up.
            message = f"{left}: {exc.message}"
            kopf.warn(ctx.body, reason="CleanupSkipped", message=message)
            ctx.logger.warning(message)  # the event cannot be posted in a terminating namespace
            return
        ctx.set_condition(READY, "False", exc.reason, f"{not_yet}: {exc.message}")
        raise kopf.TemporaryError(exc.message, delay=delete_retry_delay(retry)) from exc
    except Exception as exc:
        if not is_aws_error(exc):
            raise
        message = f"{doing[-1] if doing else 'cleaning up'}: {error_message(exc)}"
        ctx.set_condition(READY, "False", DELETION_PENDING, f"{not_yet}: {message}")
        raise kopf.TemporaryError(message, delay=delete_retry_delay(retry)) from exc


# Retry delays (seconds) by error kind: throttling backs off, an unreachable endpoint waits longer, access
# denied waits for a human to fix IAM.
RETRY_DELAYS = {
    ErrorKind.THROTTLED: 30.0,
    ErrorKind.TRANSIENT: 15.0,
    ErrorKind.UNREACHABLE: 60.0,
    ErrorKind.NOT_FOUND: 10.0,
    ErrorKind.OTHER: 60.0,
}


def raise_for_aws_error(exc: BaseException, ctx: Context, doing: str) -> NoReturn:
    """Turns an AWS error into conditions and the right kopf retry (ARCHITECTURE rule 3)."""
    kind = classify(exc)
    message = f"{doing}: {error_message(exc)}"
    if kind is ErrorKind.INVALID:
        ctx.observed()
        ctx.set_condition(READY, "False", INVALID_SPEC, f"AWS rejected the spec while {message}")
        kopf.warn(ctx.body, reason=INVALID_SPEC, message=f"AWS rejected the spec while {message}")
        raise kopf.PermanentError(message) from exc
    delay = RETRY_DELAYS.get(kind, 60.0)
    if kind is ErrorKind.ACCESS_DENIED:
        ctx.set_condition(READY, "False", ACCESS_DENIED, message)
        delay = ctx.settings.resync_seconds  # someone has to fix IAM: retry slowly
    elif kind.retryable:
        ctx.set_condition(READY, "False", AWS_UNAVAILABLE, message)
    else:
        ctx.set_condition(READY, "False", AWS_ERROR, message)
    raise kopf.TemporaryError(message, delay=delay) from exc
