"""One controller module per kind; each exposes `register(registry)`."""

from __future__ import annotations

from typing import Any

import kopf

from sreops.operator import executor
from sreops.operator.api import GROUP, KINDS, VERSION
from sreops.operator.controllers import awsaccount, notifier, patchpolicy, patchrun, references, scanschedule
from sreops.operator.settings import Settings

CONTROLLERS = (awsaccount, patchpolicy, patchrun, scanschedule, notifier, references)


def register_all(registry: kopf.OperatorRegistry, settings: Settings) -> None:
    for controller in CONTROLLERS:
        controller.register(registry, settings)
    _register_deletions(registry)
    if settings.shard is not None:
        _register_departures(registry)


def _register_deletions(registry: kopf.OperatorRegistry) -> None:
    """An object being deleted gets its queued timer calls run first: kopf keeps its finalizer until they end."""

    async def on_event(*, type: str | None, body: kopf.Body, **_: Any) -> None:
        meta = body.get("metadata") or {}
        uid = str(meta.get("uid") or "")
        if type == "DELETED":
            executor.forget_deleted(uid)
        elif meta.get("deletionTimestamp"):
            executor.expedite(uid)  # in memory, brief: on kopf's loop

    for kind in KINDS.values():
        kopf.on.event(GROUP, VERSION, kind.plural, registry=registry, id="deletions")(on_event)


def _register_departures(registry: kopf.OperatorRegistry) -> None:
    """Records objects that leave this shard's watch (shards.py)."""

    async def on_event(*, type: str | None, body: kopf.Body, memo: Any, **_: Any) -> None:
        memo["services"].departures.observe(type, body)  # in memory, brief: on kopf's loop, for every event

    for kind in KINDS.values():
        kopf.on.event(GROUP, VERSION, kind.plural, registry=registry, id="shard-departures")(on_event)
