"""`sreops gateway`: settings, logging, the Kubernetes client, and the server with a graceful shutdown."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

from aiohttp import web

from . import logs
from .app import build_app
from .context import Gateway
from .kube import load_api_client
from .settings import Settings, SettingsError, add_arguments

log = logging.getLogger("sreops.gateway")

__all__ = ["add_arguments", "run", "serve"]


async def serve(gateway: Gateway, stop: asyncio.Event | None = None) -> None:
    """Serves until `stop` is set (SIGTERM/SIGINT set it): then the socket closes, in-flight requests get
    `shutdown_seconds` to finish, and background replies what is left of it."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(
        build_app(gateway), access_log=None, shutdown_timeout=gateway.settings.shutdown_seconds, handle_signals=False
    )
    await runner.setup()
    site = web.TCPSite(runner, gateway.settings.host, gateway.settings.port)
    try:
        await site.start()
        log.info(
            "gateway listening",
            extra={
                "port": gateway.settings.port,
                "namespace": gateway.settings.namespace,
                "slack": gateway.settings.slack_enabled,
                "teams": gateway.settings.teams_enabled,
                "unmapped": gateway.settings.unmapped,
            },
        )
        await stop.wait()
        log.info("gateway stopping", extra={"deadline_seconds": gateway.settings.shutdown_seconds})
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await runner.cleanup()
        log.info("gateway stopped")


def run(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_sources(args, os.environ)
    except SettingsError as exc:
        print(f"sreops gateway: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log_format)
    api = load_api_client()
    try:
        asyncio.run(serve(Gateway(settings, api)))
    except OSError as exc:
        print(f"sreops gateway: cannot listen on {settings.host}:{settings.port}: {exc.strerror}", file=sys.stderr)
        return 1
    finally:
        api.close()
    return 0
