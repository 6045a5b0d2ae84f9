"""The gateway's Prometheus metrics: exactly the names the dashboards and alerts are built on.

Each gateway app gets its own registry (so tests can run several in one process), holding the process
and platform collectors that the default registry would have.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector

OTHER_ROUTE = "other"  # the route label of any path that matches no route (bounded label values)
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class GatewayMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.requests = Counter(
            "sreops_gateway_requests_total",
            "HTTP requests answered, by route template, method and status code.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "sreops_gateway_request_duration_seconds",
            "Time to answer an HTTP request, by route template.",
            ["route"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.auth_failures = Counter(
            "sreops_gateway_auth_failures_total",
            "Requests refused because they could not be authenticated, by channel and reason.",
            ["channel", "reason"],
            registry=self.registry,
        )
        self.commands = Counter(
            "sreops_gateway_commands_total",
            "Commands run, by channel (slack, teams, api), command and result (ok, denied, not_found, invalid, error).",
            ["channel", "command", "result"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "sreops_gateway_rate_limited_total",
            "API requests refused with 429, by the window whose limit was reached (second, day).",
            ["window"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
