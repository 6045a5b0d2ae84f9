"""What every controller shares: spec validation with the InvalidSpec contract, and status writes.

A spec that fails validation gets `Ready=False` with reason `InvalidSpec` and a message naming the field,
a Warning event, and `kopf.PermanentError`, so kopf does not retry it until the spec changes (a new
generation triggers the update handler again). No AWS call happens before the spec is accepted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import kopf

from sreops.operator.api import GROUP, VERSION, Kind, SpecError, parse_spec
from sreops.operator.api.common import Model
from sreops.operator.api.conditions import READY, ConditionStatus, condition_patch_fn, get_condition
from sreops.operator.metrics import OperatorMetrics
from sreops.operator.settings import Settings

M = TypeVar("M", bound=Model)
INVALID_SPEC = "InvalidSpec"


@dataclass
class Context:
    """One handler invocation: the object, where status changes go, and the operator's settings."""

    body: kopf.Body
    patch: kopf.Patch
    settings: Settings
    logger: logging.Logger | logging.LoggerAdapter[Any]

    @property
    def generation(self) -> int | None:
        value = self.body.get("metadata", {}).get("generation")
        return int(value) if value is not None else None

    def set_condition(self, type_: str, status: ConditionStatus, reason: str, message: str) -> None:
        self.patch.fns.append(condition_patch_fn(type_, status, reason, message, self.generation))

    def observed(self) -> None:
        self.patch.status["observedGeneration"] = self.generation


def accept_spec(kind: Kind, model: type[M], ctx: Context) -> M:
    """The validated spec, or the InvalidSpec contract and a PermanentError."""
    try:
        return parse_spec(model, ctx.body.get("spec"))
    except SpecError as err:
        message = str(err)
        ready = get_condition(ctx.body.get("status"), READY) or {}
        already_reported = (ready.get("reason"), ready.get("message"), ready.get("observedGeneration")) == (
            INVALID_SPEC,
            message,
            ctx.generation,
        )
        ctx.observed()
        ctx.set_condition(READY, "False", INVALID_SPEC, message)
        if not already_reported:  # a resume after an operator restart does not warn again
            kopf.warn(ctx.body, reason=INVALID_SPEC, message=message)
        raise kopf.PermanentError(f"{kind.kind} spec is invalid: {message}") from err


Reconcile = Callable[[Any, Context], None]


def register_reconcile(registry: kopf.OperatorRegistry, kind: Kind, model: type[M], reconcile: Reconcile) -> None:
    """Registers one idempotent reconcile function for create, update and resume (ARCHITECTURE rule 1).

    Handlers are plain `def`: kopf runs them in its thread pool, so the boto3 calls that come with the
    AWS controllers never block the event loop.
    """

    def handler(
        *, body: kopf.Body, patch: kopf.Patch, memo: Any, logger: logging.Logger | logging.LoggerAdapter[Any], **_: Any
    ) -> None:
        ctx = Context(body=body, patch=patch, settings=memo["settings"], logger=logger)
        metrics: OperatorMetrics = memo["metrics"]
        result = "error"
        with metrics.reconcile_duration.labels(kind.kind).time():
            try:
                spec = accept_spec(kind, model, ctx)
                reconcile(spec, ctx)
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

    handler.__name__ = f"reconcile_{kind.kind.lower()}"
    for decorator in (kopf.on.create, kopf.on.update, kopf.on.resume):
        decorator(GROUP, VERSION, kind.plural, registry=registry, id="reconcile")(handler)
