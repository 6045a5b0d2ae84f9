"""Operator settings: read once at start-up (flags, then environment, then defaults) and kept in kopf's memo.

Nothing here runs at import time; `Settings.from_sources` is called by `sreops operator`.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from sreops.operator.api.common import REGION_PATTERN

LogFormat = Literal["json", "text"]


class SettingsError(ValueError):
    """A setting has a value the operator cannot start with."""


@dataclass(frozen=True)
class Settings:
    namespaces: tuple[str, ...] = ()  # empty: every namespace (cluster-wide)
    default_region: str = "us-east-1"
    resync_seconds: float = 300.0
    # How often a PatchRun in progress is polled and maintenance-window executions are looked for.
    run_poll_seconds: float = 30.0
    # How long one watch request lasts before kopf reconnects from the last resourceVersion it saw.
    watch_timeout_seconds: int = 300
    log_format: LogFormat = "text"
    verbose: bool = False
    health_port: int = 8080
    metrics_port: int = 9090
    finalizer: str = "sreops.io/finalizer"
    # Slack's Web API (the sandbox points it at its stand-in).
    slack_api_url: str = "https://slack.com/api/"
    # How often each Notifier looks for events to deliver.
    notify_poll_seconds: float = 2.0

    @property
    def clusterwide(self) -> bool:
        return not self.namespaces

    @classmethod
    def from_sources(cls, args: argparse.Namespace, env: Mapping[str, str]) -> Settings:
        def pick(flag: object, var: str, default: str) -> str:
            return str(flag) if flag not in (None, [], ()) else env.get(var, default)

        namespaces_flag = ",".join(args.namespace) if args.namespace else None
        namespaces = tuple(n for n in pick(namespaces_flag, "SREOPS_NAMESPACES", "").split(",") if n.strip())
        region = pick(args.default_region, "SREOPS_DEFAULT_REGION", env.get("AWS_DEFAULT_REGION", "us-east-1"))
        log_format = pick(args.log_format, "SREOPS_LOG_FORMAT", "text")
        try:
            resync = float(pick(args.resync_seconds, "SREOPS_RESYNC_SECONDS", "300"))
            # Unset, a run is polled as often as resources are resynced, at most every 30 s.
            run_poll = float(
                pick(getattr(args, "run_poll_seconds", None), "SREOPS_RUN_POLL_SECONDS", str(min(30.0, resync)))
            )
            # An integer: the API server's timeoutSeconds takes no fraction.
            watch_timeout = int(
                pick(getattr(args, "watch_timeout_seconds", None), "SREOPS_WATCH_TIMEOUT_SECONDS", "300")
            )
            health_port = int(pick(args.health_port, "SREOPS_HEALTH_PORT", "8080"))
            metrics_port = int(pick(args.metrics_port, "SREOPS_METRICS_PORT", "9090"))
        except ValueError as exc:
            raise SettingsError(f"not a number: {exc}") from exc
        slack_api_url = pick(getattr(args, "slack_api_url", None), "SREOPS_SLACK_API_URL", "https://slack.com/api/")
        if not re.fullmatch(r"https?://\S+", slack_api_url):
            raise SettingsError(f"Slack API URL {slack_api_url!r} is not an http(s) URL")
        if not re.fullmatch(REGION_PATTERN, region):
            raise SettingsError(f"default region {region!r} is not an AWS region name")
        if log_format not in ("json", "text"):
            raise SettingsError(f"log format {log_format!r} must be json or text")
        if resync < 1:
            raise SettingsError("resync interval must be at least 1 second")
        if run_poll < 1:
            raise SettingsError("run poll interval must be at least 1 second")
        if watch_timeout < 1:
            raise SettingsError("watch timeout must be at least 1 second")
        return cls(
            namespaces=tuple(n.strip() for n in namespaces),
            default_region=region,
            resync_seconds=resync,
            run_poll_seconds=run_poll,
            watch_timeout_seconds=watch_timeout,
            log_format="json" if log_format == "json" else "text",
            verbose=bool(args.verbose),
            health_port=health_port,
            metrics_port=metrics_port,
            slack_api_url=slack_api_url,
        )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--namespace",
        "-n",
        action="append",
        help="namespace to watch (repeatable; env SREOPS_NAMESPACES, comma-separated); default: all namespaces",
    )
    parser.add_argument("--default-region", help="AWS region when neither resource nor account names one")
    parser.add_argument("--resync-seconds", type=float, help="how often each resource is re-checked (default 300)")
    parser.add_argument(
        "--run-poll-seconds",
        type=float,
        help="how often a PatchRun in progress is polled (default: the resync interval, at most 30)",
    )
    parser.add_argument(
        "--watch-timeout-seconds",
        type=int,
        help="how long each watch request lasts before it is renewed from the last resourceVersion (default 300)",
    )
    parser.add_argument(
        "--slack-api-url", help="Slack Web API base URL (env SREOPS_SLACK_API_URL; default https://slack.com/api/)"
    )
    parser.add_argument("--log-format", choices=["json", "text"], help="log line format (default text)")
    parser.add_argument("--health-port", type=int, help="liveness endpoint port, /healthz (default 8080)")
    parser.add_argument("--metrics-port", type=int, help="Prometheus /metrics port (default 9090)")
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logging")


def from_environment(args: argparse.Namespace) -> Settings:
    return Settings.from_sources(args, os.environ)
