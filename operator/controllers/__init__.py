"""One controller module per kind; each exposes `register(registry)`."""

from __future__ import annotations

from typing import Any

import kopf

from sreops.operator.api import GROUP, KINDS, VERSION
from sreops.operator.controllers import awsaccount, notifier, patchpolicy, patchrun, references, scanschedule
from sreops.operator.settings import Settings

CONTROLLERS = (awsaccount, patchpolicy, patchrun, scanschedule, notifier, references)


def register_all(registry: kopf.OperatorRegistry, settings: Settings) -> None:
    for controller in CONTROLLERS:
        controller.register(registry, settings)
    if settings.shard is not None:
        _register_departures(registry)


def _register_departures(registry: kopf.OperatorRegistry) -> None:
    """Records objects that leave this shard's watch (shards.py)."""

    async def on_event(*, type: str | None, body: kopf.Body, memo: Any, **_: Any) -> None:
        memo["services"].departures.observe(type, body)  # in memory, brief: on kopf's loop, for every event

    for kind in KINDS.values():
        kopf.on.event(GROUP, VERSION, kind.plural, registry=registry, id="shard-departures")(on_event)
