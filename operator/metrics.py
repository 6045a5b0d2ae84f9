"""Prometheus metrics of the operator: `sreops_*` names, unit suffixes, bounded labels.

Labels are kinds, results, AWS service/operation/error codes and account ids, and namespace/name of a
policy, schedule or notifier for per-object series; never instance ids. A dedicated registry (not the global
one) keeps tests independent; it holds the process and platform collectors the global one would have.
docs/metrics.md lists every series (a test compares it with this registry).
"""

from __future__ import annotations

import contextlib
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    start_http_server,
)

RESULTS = ("success", "invalid_spec", "retry", "error")
COMPLIANCE_STATES = ("compliant", "non_compliant", "unreported")
RUN_INSTANCE_RESULTS = ("succeeded", "failed", "timed_out")
FINDING_SEVERITIES = ("critical", "high", "medium", "low", "informational", "suppressed")


class OperatorMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        # process_resident_memory_bytes, process_start_time_seconds (restarts), python_info.
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self.reconciles = Counter(
            "sreops_reconciles_total",
            "Reconciles by kind and result (success, waiting, invalid_spec, retry, error).",
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
        self.aws_calls = Counter(
            "sreops_aws_calls_total",
            "AWS API calls by service, operation, result code (OK or the AWS error code) and account id.",
            ["service", "operation", "code", "account"],
            registry=self.registry,
        )
        self.aws_throttles = Counter(
            "sreops_aws_throttles_total",
            "AWS API attempts answered with a throttling error (each retry counts), by account id.",
            ["service", "operation", "account"],
            registry=self.registry,
        )
        self.patch_runs = Counter(
            "sreops_patch_runs_total",
            "Finished PatchRuns by policy, operation and result (Succeeded, Failed).",
            ["namespace", "policy", "operation", "result"],
            registry=self.registry,
        )
        self.patch_run_instances = Counter(
            "sreops_patch_run_instances_total",
            "Instances of finished PatchRuns by policy and result (succeeded, failed, timed_out).",
            ["namespace", "policy", "result"],
            registry=self.registry,
        )
        self.policy_instances = Gauge(
            "sreops_policy_instances",
            "Targeted instances of a PatchPolicy by compliance state.",
            ["namespace", "policy", "state"],
            registry=self.registry,
        )
        self.policy_ready = Gauge(
            "sreops_policy_ready",
            "1 when a PatchPolicy is Ready, else 0.",
            ["namespace", "policy"],
            registry=self.registry,
        )

        self.scan_findings = Gauge(
            "sreops_scan_findings",
            "Active findings of a ScanSchedule's last sweep by severity (suppressed: hidden by a suppression).",
            ["namespace", "schedule", "severity"],
            registry=self.registry,
        )
        self.scan_sweep_duration = Histogram(
            "sreops_scan_sweep_duration_seconds",
            "Time one findings sweep took (listing, counting, coverage).",
            buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
            registry=self.registry,
        )
        self.scan_findings_listed = Counter(
            "sreops_scan_findings_listed_total",
            "Findings read from Inspector by sweeps (active and recently closed).",
            ["namespace", "schedule"],
            registry=self.registry,
        )
        self.scan_new_findings = Counter(
            "sreops_scan_new_findings_total",
            "Findings first observed since the previous sweep (not suppressed).",
            ["namespace", "schedule"],
            registry=self.registry,
        )
        self.scan_resolved_findings = Counter(
            "sreops_scan_resolved_findings_total",
            "Findings closed since the previous sweep (not suppressed).",
            ["namespace", "schedule"],
            registry=self.registry,
        )
        self.scan_coverage_gaps = Gauge(
            "sreops_scan_coverage_gaps",
            "Resources in a ScanSchedule's scope that Inspector does not scan.",
            ["namespace", "schedule"],
            registry=self.registry,
        )
        self.scan_last_sweep = Gauge(
            "sreops_scan_last_sweep_timestamp_seconds",
            "When a ScanSchedule's last sweep ran (AWS's clock, seconds since the epoch).",
            ["namespace", "schedule"],
            registry=self.registry,
        )
        self.scan_next_sweep = Gauge(
            "sreops_scan_next_sweep_timestamp_seconds",
            "When a ScanSchedule's next scheduled sweep is due (AWS's clock; no series while suspended).",
            ["namespace", "schedule"],
            registry=self.registry,
        )

        self.notifications = Counter(
            "sreops_notifications_total",
            "Notification sends by destination (slack, teams) and result (sent, failed, retry).",
            ["destination", "result"],
            registry=self.registry,
        )
        self.notification_digests = Counter(
            "sreops_notification_digests_total",
            "Digest messages sent for events over a Notifier's rate limit.",
            registry=self.registry,
        )
        self.notification_send_duration = Histogram(
            "sreops_notification_send_duration_seconds",
            "Time one notification took to send (all its destinations).",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.notification_ledger_entries = Gauge(
            "sreops_notification_ledger_entries",
            "Entries in a Notifier's delivery ledger.",
            ["namespace", "notifier"],
            registry=self.registry,
        )

        self.aws_budget_wait = Counter(
            "sreops_aws_budget_wait_seconds_total",
            "Seconds AWS calls waited for a token of their account x region x service request budget.",
            ["service", "account"],
            registry=self.registry,
        )
        self.aws_budget_delays = Counter(
            "sreops_aws_budget_delayed_calls_total",
            "AWS call attempts that had to wait for the request budget.",
            ["service", "account"],
            registry=self.registry,
        )
        self.kube_client_wait = Counter(
            "sreops_kube_client_wait_seconds_total",
            "Seconds the operator's Kubernetes client waited: for its QPS budget, or out a 429's Retry-After.",
            ["reason"],
            registry=self.registry,
        )
        self.leader = Gauge(
            "sreops_leader",
            "1 while this process holds its Lease and acts, 0 while it stands by.",
            ["lease"],
            registry=self.registry,
        )

    def observe_aws_budget_wait(self, service: str, account: str, seconds: float) -> None:
        self.aws_budget_wait.labels(service, account).inc(seconds)
        self.aws_budget_delays.labels(service, account).inc()

    def observe_kube_wait(self, reason: str, seconds: float) -> None:
        self.kube_client_wait.labels(reason).inc(seconds)

    def observe_aws_call(self, service: str, operation: str, code: str, account: str) -> None:
        self.aws_calls.labels(service, operation, code, account).inc()

    def observe_aws_throttle(self, service: str, operation: str, account: str) -> None:
        self.aws_throttles.labels(service, operation, account).inc()

    def forget_policy(self, namespace: str, policy: str) -> None:
        """Drops a deleted policy's series so gauges do not report it forever."""
        for state in COMPLIANCE_STATES:
            with contextlib.suppress(KeyError):
                self.policy_instances.remove(namespace, policy, state)
        with contextlib.suppress(KeyError):
            self.policy_ready.remove(namespace, policy)
        for operation in ("Scan", "Install"):
            for run_result in ("Succeeded", "Failed"):
                with contextlib.suppress(KeyError):
                    self.patch_runs.remove(namespace, policy, operation, run_result)
        for result in RUN_INSTANCE_RESULTS:
            with contextlib.suppress(KeyError):
                self.patch_run_instances.remove(namespace, policy, result)

    def forget_schedule(self, namespace: str, schedule: str) -> None:
        for severity in FINDING_SEVERITIES:
            with contextlib.suppress(KeyError):
                self.scan_findings.remove(namespace, schedule, severity)
        for metric in (
            self.scan_findings_listed,
            self.scan_new_findings,
            self.scan_resolved_findings,
            self.scan_coverage_gaps,
            self.scan_last_sweep,
            self.scan_next_sweep,
        ):
            with contextlib.suppress(KeyError):
                metric.remove(namespace, schedule)

    def forget_notifier(self, namespace: str, notifier: str) -> None:
        with contextlib.suppress(KeyError):
            self.notification_ledger_entries.remove(namespace, notifier)

    def serve(self, port: int, host: str = "0.0.0.0") -> WSGIServer:  # noqa: S104 - a pod serves on all interfaces
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return server
