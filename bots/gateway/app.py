"""The gateway's aiohttp application: routes, request limits, the error and metrics middleware, health.

- Every answer that is not a success is JSON `{"error": {"code", "message", "field"}}` with a 4xx/5xx:
  unknown paths 404, wrong methods 405, bodies over `--max-body-bytes` 413, anything unexpected 500
  without a traceback (the exception's type is logged, never its message or the request).
- `GET /health`: the process serves (liveness). `GET /ready`: the Kubernetes API answers (readiness).
  `GET /metrics`: Prometheus text, on the same port.
- Graceful shutdown (SIGTERM, SIGINT): the listening socket closes at once, requests in flight get up to
  `--shutdown-seconds` to finish, then delayed Slack replies get what is left of it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import aiohttp
from aiohttp import web

from . import api, slack, teams
from .context import GATEWAY_KEY, Gateway
from .errors import GatewayError, error_response
from .kube import reachable
from .metrics import OTHER_ROUTE

log = logging.getLogger("sreops.gateway")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def route_of(request: web.Request) -> str:
    """The route template (bounded label values); `other` for paths that match no route."""
    info = request.match_info
    if isinstance(info, web.UrlMappingMatchInfo) and info.http_exception is None and info.route.resource is not None:
        return info.route.resource.canonical
    return OTHER_ROUTE


@web.middleware
async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost: every answer, even an error, is counted, timed and logged (route template, never the query)."""
    gateway = request.app[GATEWAY_KEY]
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    finally:
        elapsed = time.perf_counter() - started
        route = route_of(request)
        gateway.metrics.requests.labels(route, request.method, str(status)).inc()
        gateway.metrics.duration.labels(route).observe(elapsed)
        if route not in ("/health", "/ready", "/metrics"):
            log.info(
                "request",
                extra={"method": request.method, "route": route, "status": status, "ms": round(elapsed * 1000, 1)},
            )


@web.middleware
async def errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except GatewayError as exc:
        return exc.response()
    except web.HTTPRequestEntityTooLarge:
        limit = request.app[GATEWAY_KEY].settings.max_body_bytes
        return error_response(413, "PayloadTooLarge", f"the body is larger than {limit} bytes", "body")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return error_response(exc.status, exc.reason.replace(" ", ""), exc.reason, headers=headers)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.error("unhandled error", extra={"route": route_of(request), "error": type(exc).__name__}, exc_info=exc)
        return error_response(500, "InternalError", "The gateway failed to answer this request.")


async def health(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def ready(request: web.Request) -> web.Response:
    gateway = request.app[GATEWAY_KEY]
    if await gateway.runner.call(lambda: reachable(gateway.api)):
        return web.json_response({"status": "ready"})
    return error_response(503, "KubernetesUnavailable", "The Kubernetes API does not answer.")


async def metrics(request: web.Request) -> web.Response:
    gateway = request.app[GATEWAY_KEY]
    return web.Response(body=gateway.metrics.render(), headers={"Content-Type": gateway.metrics.content_type})


async def _open_http(app: web.Application) -> None:
    gateway = app[GATEWAY_KEY]
    gateway.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))


async def _drain(app: web.Application) -> None:
    gateway = app[GATEWAY_KEY]
    await gateway.runner.drain(gateway.settings.shutdown_seconds)
    if gateway.http is not None:
        await gateway.http.close()


def build_app(gateway: Gateway) -> web.Application:
    app = web.Application(middlewares=[observe, errors_as_json], client_max_size=gateway.settings.max_body_bytes)
    app[GATEWAY_KEY] = gateway
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.router.add_get("/metrics", metrics)
    slack.setup(app)
    teams.setup(app)
    api.setup(app)
    app.on_startup.append(_open_http)
    app.on_shutdown.append(_drain)
    return app
