"""Operator start-up: settings into memo, kopf configuration, handlers in our own registry.

Using an explicit `kopf.OperatorRegistry` (not kopf's global one) means importing this package registers
nothing; `build_registry` is the single place where handlers are attached.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Callable
from typing import Any

import kopf
from aiohttp import web

from sreops.operator import kopf_storage, routine_logs
from sreops.operator.api import GROUP, KINDS
from sreops.operator.controllers import register_all
from sreops.operator.executor import PriorityExecutor
from sreops.operator.leader_election import ElectionConfig, LeaderElector, default_identity
from sreops.operator.leadership import Fence, Leadership
from sreops.operator.lease_store import KubeLeaseStore
from sreops.operator.metrics import OperatorMetrics
from sreops.operator.services import Services, kube_api_client
from sreops.operator.settings import Settings

FIELD_MANAGER_PREFIX = "sreops.io"
HANDLER_THREADS = 32


def configure_kopf(settings: Settings, kopf_settings: kopf.OperatorSettings) -> None:
    kopf_settings.persistence.finalizer = settings.finalizer
    # Annotations, not status.kopf: our CRDs have structural schemas, so the API server would prune
    # kopf's progress records from status. Under kopf.sreops.io/, so sreops.io/ annotations are seen changing.
    kopf_settings.persistence.progress_storage = kopf_storage.ProgressStorage()
    kopf_settings.persistence.diffbase_storage = kopf_storage.DiffBaseStorage()
    # Sync handlers, timers and indexers share one thread pool (kopf's default: CPUs + 4 threads). Handlers spend
    # their time waiting for AWS, the Kubernetes API and the request budgets; with a handful of threads a few
    # slow ones held back every other object's reconcile and even the index updates of new watch events. Ours
    # runs changes before queued drift resyncs (executor.py).
    kopf_settings.execution.executor = PriorityExecutor(HANDLER_THREADS)
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
    # A 429's Retry-After is waited out even when kopf's own backoff is shorter (client-go's behaviour).
    kopf_settings.networking.enforce_retry_after = True
    # Shards: every list and watch kopf makes of our kinds carries the shard's label selector, so the API
    # server sends only the shard's objects. Secrets are not sharded: any shard may need any of them.
    selector = settings.shard_selector
    if selector is not None:
        for kind in KINDS.values():
            kopf_settings.watching.label_selectors[GROUP, kind.plural] = selector


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


def election_config(settings: Settings) -> ElectionConfig:
    return ElectionConfig(
        lease_name=settings.lease_name,
        namespace=settings.lease_namespace,
        identity=default_identity(settings.identity or socket.gethostname()),
        lease_duration=settings.lease_duration_seconds,
        renew_deadline=settings.renew_deadline_seconds,
        retry_period=settings.retry_period_seconds,
    )


async def serve_health(port: int, state: Callable[[], dict[str, Any]]) -> web.AppRunner:
    """/healthz for the kubelet (and the sandbox's supervisor): 200 from a standby as from the leader; the body
    says which it is."""

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok", **state()})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "0.0.0.0", port).start()  # noqa: S104 - a pod serves on all interfaces
    return runner


def stop_on_signals(stopped_early: threading.Event | None = None) -> asyncio.Event:
    """An event set by SIGTERM or SIGINT, installed for the process's whole life: a signal that arrives while
    the replica stands by, between winning the lease and kopf's start, or during kopf's start-up is not lost.
    (kopf installs handlers of its own once it runs; they stop it the same way.) Handlers installed only for the
    standby could lose a SIGTERM that landed while the winning lease request was in flight (removed before the
    loop ran them): the replica went on to lead and exited only at the kubelet's SIGKILL."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not the main thread
            loop.add_signal_handler(sig, stop.set)
    if stopped_early is not None and stopped_early.is_set():  # a signal before the loop's handlers existed
        stop.set()
    return stop


async def stand_by(leadership: Leadership, stop: asyncio.Event) -> bool:
    """True when this process won the lease and should go on to lead; False when it was stopped first. A signal
    whose handler the loop runs only after this returns still sets `stop`, which kopf gets as its stop flag."""
    return await leadership.acquire(stop) and not stop.is_set()


async def run_async(
    settings: Settings, stop_flag: asyncio.Event | None = None, stopped_early: threading.Event | None = None
) -> None:
    stop = stop_flag if stop_flag is not None else stop_on_signals(stopped_early)
    kopf.configure(
        verbose=settings.verbose,
        log_format=kopf.LogFormat.JSON if settings.log_format == "json" else kopf.LogFormat.FULL,
        # "[namespace/name]" before each object's message in text (as kopf's own CLI does); JSON has it as a field.
        log_prefix=settings.log_format != "json",
    )
    routine_logs.install(settings.verbose)
    metrics = OperatorMetrics()
    elector: LeaderElector | None = None
    fence = Fence()
    services = Services.create(settings, metrics, fence)
    if settings.leader_elect:
        config = election_config(settings)
        # Its own client: the lease is written by a standby too, so it must not pass the fence or the budget.
        timeout = config.renew_deadline / 2
        store = KubeLeaseStore(kube_api_client(), config.namespace, config.lease_name, timeout=timeout)
        elector = LeaderElector(config, store)
        fence.elector = elector
    metrics_server = metrics.serve(settings.metrics_port)
    elected = elector

    def state() -> dict[str, Any]:
        if elected is None:
            return {"leading": True}
        return {"leading": elected.may_act(), "identity": elected.identity, "lease": elected.config.lease_name}

    health = await serve_health(settings.health_port, state)
    leadership: Leadership | None = None
    try:
        if elector is not None:
            gauge = metrics.leader.labels(elector.config.lease_name)
            gauge.set(0)
            leadership = Leadership(elector, on_change=lambda led: gauge.set(1 if led else 0))
            if not await stand_by(leadership, stop):
                return  # stopped while standing by (the lease is released below if it was just won)
            leadership.start_watchdog()
            leadership.start_renewing()
        await kopf.operator(
            registry=build_registry(settings),
            memo=kopf.Memo(services=services),
            clusterwide=settings.clusterwide,
            namespaces=list(settings.namespaces),
            # Leader election on a Lease replaces kopf's peering (which needs cluster-wide CRDs of its own).
            standalone=True,
            stop_flag=stop,
        )
    finally:
        if leadership is not None:
            leadership.release()  # one bounded request; the loop is shutting down anyway
        with contextlib.suppress(Exception):
            await health.cleanup()
        metrics_server.shutdown()
        services.kube.close()


def run(settings: Settings, stopped_early: threading.Event | None = None) -> None:
    """`stopped_early`: set by the CLI's signal handlers, installed before the imports."""
    asyncio.run(run_async(settings, stopped_early=stopped_early))
