"""Operator start-up: settings into memo, kopf configuration, handlers in our own registry.

Using an explicit `kopf.OperatorRegistry` (not kopf's global one) means importing this package registers
nothing; `build_registry` is the single place where handlers are attached.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import kopf

from sreops.operator import kopf_storage
from sreops.operator.controllers import register_all
from sreops.operator.metrics import OperatorMetrics
from sreops.operator.services import Services
from sreops.operator.settings import Settings

FIELD_MANAGER_PREFIX = "sreops.io"


def configure_kopf(settings: Settings, kopf_settings: kopf.OperatorSettings) -> None:
    kopf_settings.persistence.finalizer = settings.finalizer
    # Annotations, not status.kopf: our CRDs have structural schemas, so the API server would prune
    # kopf's progress records from status. Under kopf.sreops.io/, so sreops.io/ annotations are seen changing.
    kopf_settings.persistence.progress_storage = kopf_storage.ProgressStorage()
    kopf_settings.persistence.diffbase_storage = kopf_storage.DiffBaseStorage()
    # Only warnings and errors become Kubernetes events; explicit kopf.event/warn calls always do.
    kopf_settings.posting.level = logging.WARNING
    # Reconnect watches regularly so a silently dropped connection is noticed.
    kopf_settings.watching.server_timeout = settings.watch_timeout_seconds
    kopf_settings.watching.client_timeout = settings.watch_timeout_seconds + 30
    kopf_settings.watching.connect_timeout = 10
    kopf_settings.networking.error_backoffs = [1, 2, 5, 10, 20]
    # A deleted object keeps kopf's finalizer until its timers have exited; a timer caught inside its handler
    # is checked again after this many seconds (kopf's default, 60, holds every such deletion for a minute).
    kopf_settings.background.cancellation_polling = 5.0


def build_registry(settings: Settings) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()

    @kopf.on.startup(registry=registry)
    def startup(
        *, settings: kopf.OperatorSettings, logger: logging.Logger | logging.LoggerAdapter[Any], **_: Any
    ) -> None:
        configure_kopf(operator_settings, settings)
        logger.info(
            "sreops operator starting: namespaces=%s default_region=%s resync=%ss",
            ",".join(operator_settings.namespaces) or "*",
            operator_settings.default_region,
            operator_settings.resync_seconds,
        )

    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        return kopf.login_via_client(**kwargs)

    @kopf.on.probe(registry=registry, id="settings")
    def probe(**_: Any) -> str:
        return "ok"

    operator_settings = settings
    register_all(registry, settings)
    return registry


async def run_async(settings: Settings, stop_flag: asyncio.Event | None = None) -> None:
    kopf.configure(
        verbose=settings.verbose,
        log_format=kopf.LogFormat.JSON if settings.log_format == "json" else kopf.LogFormat.FULL,
    )
    metrics = OperatorMetrics()
    services = Services.create(settings, metrics)
    metrics_server = metrics.serve(settings.metrics_port)
    try:
        await kopf.operator(
            registry=build_registry(settings),
            memo=kopf.Memo(services=services),
            clusterwide=settings.clusterwide,
            namespaces=list(settings.namespaces),
            # One replica; kopf's peering needs cluster-wide CRDs of its own that we do not install.
            standalone=True,
            liveness_endpoint=f"http://0.0.0.0:{settings.health_port}/healthz",
            stop_flag=stop_flag,
        )
    finally:
        metrics_server.shutdown()
        services.kube.close()


def run(settings: Settings) -> None:
    asyncio.run(run_async(settings))
