"""One controller module per kind; each exposes `register(registry)`."""

from __future__ import annotations

import kopf

from sreops.operator.controllers import awsaccount, notifier, patchpolicy, patchrun, references, scanschedule
from sreops.operator.settings import Settings

CONTROLLERS = (awsaccount, patchpolicy, patchrun, scanschedule, notifier, references)


def register_all(registry: kopf.OperatorRegistry, settings: Settings) -> None:
    for controller in CONTROLLERS:
        controller.register(registry, settings)
