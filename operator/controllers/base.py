"""What every controller shares: spec validation with the InvalidSpec contract, AWS error handling, status.

A spec that fails validation gets `Ready=False` with reason `InvalidSpec` and a message naming the field,
a Warning event, and `kopf.PermanentError`, so kopf does not retry it until the spec changes (a new
generation triggers the update handler again). No AWS call happens before the spec is accepted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

import kopf

from sreops.operator.api import GROUP, VERSION, Kind, SpecError, parse_spec
from sreops.operator.api.common import Model
from sreops.operator.api.conditions import READY, ConditionStatus, condition_patch_fn, get_condition
from sreops.operator.aws.errors import ErrorKind, classify, error_message
from sreops.operator.services import Services
from sreops.operator.settings import Settings

M = TypeVar("M", bound=Model)
INVALID_SPEC = "InvalidSpec"


@dataclass
class Context:
    """One handler invocation: the object, where status changes go, and the operator's shared services."""

    body: kopf.Body
    patch: kopf.Patch
    services: Services
    logger: logging.Logger | logging.LoggerAdapter[Any]

    @property
    def settings(self) -> Settings:
        return self.services.settings

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
        self.patch.fns.append(condition_patch_fn(type_, status, reason, message, self.generation))

    def observed(self) -> None:
        self.patch.status["observedGeneration"] = self.generation


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


Reconcile = Callable[[Any, Context], None]


def register_reconcile(
    registry: kopf.OperatorRegistry, settings: Settings, kind: Kind, model: type[M], reconcile: Reconcile
) -> None:
    """Registers one idempotent reconcile function for create, update and resume (ARCHITECTURE rule 1),
    and calls it again from a timer every `resync_seconds` to catch drift in AWS.

    Handlers are plain `def`: kopf runs them in its thread pool, so boto3 calls never block the event loop.
    The reconcile function raises SpecError for a spec it cannot act on (e.g. a missing reference); that
    gets the same InvalidSpec contract as a spec the model rejects.
    """

    def handler(
        *, body: kopf.Body, patch: kopf.Patch, memo: Any, logger: logging.Logger | logging.LoggerAdapter[Any], **_: Any
    ) -> None:
        services: Services = memo["services"]
        ctx = Context(body=body, patch=patch, services=services, logger=logger)
        metrics = services.metrics
        result = "error"
        with metrics.reconcile_duration.labels(kind.kind).time():
            try:
                try:
                    spec = parse_spec(model, body.get("spec"))
                    reconcile(spec, ctx)
                except SpecError as err:
                    report_invalid_spec(kind, ctx, err)
                ctx.observed()
                result = "success"
            except kopf.PermanentError:
                result = "invalid_spec"
                raise
            except kopf.TemporaryError:
                result = "retry"
                raise
            finally:
                metrics.reconciles.labels(kind.kind, result).inc()

    def resync(*, body: kopf.Body, **kwargs: Any) -> None:
        # An InvalidSpec for this generation stays as it is until the spec changes (API.md).
        ready = get_condition(body.get("status"), READY) or {}
        generation = body.get("metadata", {}).get("generation")
        if ready.get("reason") == INVALID_SPEC and ready.get("observedGeneration") == generation:
            return
        handler(body=body, **kwargs)

    handler.__name__ = f"reconcile_{kind.kind.lower()}"
    for decorator in (kopf.on.create, kopf.on.update, kopf.on.resume):
        decorator(GROUP, VERSION, kind.plural, registry=registry, id="reconcile")(handler)
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
    )(resync)


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
        ctx.set_condition(READY, "False", "AccessDenied", message)
        delay = ctx.settings.resync_seconds  # someone has to fix IAM: retry slowly
    elif kind.retryable:
        ctx.set_condition(READY, "False", "AwsUnavailable", message)
    else:
        ctx.set_condition(READY, "False", "AwsError", message)
    raise kopf.TemporaryError(message, delay=delay) from exc
