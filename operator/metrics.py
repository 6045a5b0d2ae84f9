"""Prometheus metrics of the operator: `sreops_*` names, unit suffixes, bounded labels.

A dedicated registry (not the global one) so tests and a second operator in one process stay independent.
"""

from __future__ import annotations

from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

RESULTS = ("success", "invalid_spec", "retry", "error")


class OperatorMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.reconciles = Counter(
            "sreops_reconciles_total",
            "Reconciles by kind and result (success, invalid_spec, retry, error).",
            ["kind", "result"],
            registry=self.registry,
        )
        self.reconcile_duration = Histogram(
            "sreops_reconcile_duration_seconds",
            "Time spent in one reconcile, by kind.",
            ["kind"],
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )

    def serve(self, port: int, host: str = "0.0.0.0") -> WSGIServer:  # noqa: S104 - a pod serves on all interfaces
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return server
