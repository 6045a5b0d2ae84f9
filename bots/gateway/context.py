"""What every route handler shares: settings, the gateway's Kubernetes client, caches, metrics, the runner."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from kubernetes.client import ApiClient

from sreops.bots.actions import Actor

from .apikeys import SECRET, ApiKeys, parse_api_keys
from .errors import GatewayError
from .identity import CONFIG_MAP, Identity, IdentityMap, parse_identities, unmapped_identity
from .kube import TtlCached, read_config_map_data, read_secret_data
from .metrics import GatewayMetrics
from .ratelimit import RateLimiter
from .runner import Runner
from .settings import Settings


@dataclass(frozen=True)
class Caller:
    """A chat user resolved to a Kubernetes identity; `read_only` for unmapped users."""

    actor: Actor
    read_only: bool


@dataclass
class Gateway:
    settings: Settings
    api: ApiClient
    metrics: GatewayMetrics = field(default_factory=GatewayMetrics)
    runner: Runner = field(default_factory=Runner)
    clock: Callable[[], float] = time.time  # wall clock: rate-limit windows, Slack timestamps
    identities: TtlCached[IdentityMap] = field(init=False)
    api_keys: TtlCached[ApiKeys] = field(init=False)
    limiter: RateLimiter = field(init=False)
    http: aiohttp.ClientSession | None = None  # for Slack's response_url; opened with the app

    def __post_init__(self) -> None:
        ns, ttl = self.settings.namespace, self.settings.config_ttl_seconds
        self.identities = TtlCached(
            f"ConfigMap {CONFIG_MAP}",
            lambda: parse_identities(read_config_map_data(self.api, ns, CONFIG_MAP)),
            ttl,
            self.runner.executor,
        )
        self.api_keys = TtlCached(
            f"Secret {SECRET}",
            lambda: parse_api_keys(read_secret_data(self.api, ns, SECRET)),
            ttl,
            self.runner.executor,
        )
        self.limiter = RateLimiter(self.settings.rate_per_second, self.settings.rate_per_day, self.clock)

    async def caller(self, channel: str, chat_id: str) -> Caller:
        """The Kubernetes identity of a chat user, by the identities ConfigMap and `--unmapped`."""
        mapped: Identity | None = (await self.identities.get()).lookup(channel, chat_id)
        if mapped is not None:
            return Caller(Actor(mapped.user, mapped.groups, channel, chat_id), read_only=False)
        if self.settings.unmapped == "none":
            raise GatewayError(403, "Unmapped", "This chat account is not mapped to a Kubernetes identity.")
        fallback = unmapped_identity()
        return Caller(Actor(fallback.user, fallback.groups, channel, chat_id), read_only=True)


GATEWAY_KEY = web.AppKey("gateway", Gateway)
