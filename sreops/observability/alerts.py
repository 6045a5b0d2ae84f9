"""The alert rules, one source for the plain Prometheus rules file and the chart's PrometheusRule.

Each alert carries, next to its expression, the `data` queries it is built from (the expression without its
threshold): the real-scrape test checks that each of them returns series from the real operator and gateway,
so a misspelt metric or label cannot hide behind a comparison that is simply never true. Each data query is
part of the expression text (a test checks it). Every alert links to its section of docs/runbook.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sreops.operator.aws.errors import ACCESS_DENIED_CODES

# Relative to the repository (docs/runbook.md); a deployment can render the rules with its own absolute base.
RUNBOOK_URL = "docs/runbook.md"
# Scrape job names the rules select on: the sandbox's Prometheus uses them, the chart's ServiceMonitors set them.
OPERATOR_JOB = "sreops-operator"
GATEWAY_JOB = "sreops-gateway"
COMPLIANCE_THRESHOLD = 0.9  # compliant share of a policy's targeted instances (also the dashboard's threshold)
CRITICAL_FINDINGS_THRESHOLD = 0  # more than this many active critical findings in a schedule
GROUP_NAME = "sreops"


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    data: tuple[str, ...]  # what `expr` compares: each must return series in the real-scrape test
    for_: str
    severity: str  # critical | warning
    summary: str
    description: str
    anchor: str  # the section of docs/runbook.md
    gateway: bool = False  # built on the gateway's metrics

    @property
    def runbook_url(self) -> str:
        return f"{RUNBOOK_URL}#{self.anchor}"


def _rate_share(metric: str, bad: str, by: str, window: str) -> str:
    return f"sum by ({by}) (rate({metric}{{{bad}}}[{window}])) / sum by ({by}) (rate({metric}[{window}]))"


_ACCESS_DENIED = "|".join(sorted(ACCESS_DENIED_CODES))
_UP = f'up{{job="{OPERATOR_JOB}"}}'
_RECONCILE_ERRORS = _rate_share("sreops_reconciles_total", 'result=~"error|retry"', "kind", "10m")
_THROTTLES = "sum by (service, account) (rate(sreops_aws_throttles_total[5m]))"
_DENIED = f'sum by (account, service) (increase(sreops_aws_calls_total{{code=~"{_ACCESS_DENIED}"}}[10m]))'
_RUNS_FAILED = 'sum by (namespace, policy) (increase(sreops_patch_runs_total{result="Failed"}[1h]))'
_COMPLIANT = (
    'sum by (namespace, policy) (sreops_policy_instances{state="compliant"})'
    " / sum by (namespace, policy) (sreops_policy_instances)"
)
_CRITICAL = 'max by (namespace, schedule) (sreops_scan_findings{severity="critical"})'
_SINCE_SWEEP = "time() - sreops_scan_last_sweep_timestamp_seconds"
_INTERVAL = "sreops_scan_next_sweep_timestamp_seconds - sreops_scan_last_sweep_timestamp_seconds"
_NOTIFY_FAILED = 'sum by (destination) (increase(sreops_notifications_total{result=~"failed|retry"}[15m]))'
_GATEWAY_5XX = _rate_share("sreops_gateway_requests_total", 'status=~"5.."', "route", "5m")
_AUTH_FAILURES = "sum by (channel, reason) (rate(sreops_gateway_auth_failures_total[5m]))"

ALERTS: tuple[Alert, ...] = (
    Alert(
        "SreopsOperatorDown",
        f"{_UP} == 0 or absent({_UP})",
        (_UP,),
        "5m",
        "critical",
        "The sreops operator is down",
        "Prometheus has not scraped the operator ({{ $labels.instance }}) for 5 minutes: nothing is reconciled, "
        "no run is tracked, no notification is sent.",
        "operator-down",
    ),
    Alert(
        "SreopsReconcileErrors",
        f"{_RECONCILE_ERRORS} > 0.1",
        (_RECONCILE_ERRORS,),
        "15m",
        "warning",
        "{{ $labels.kind }} reconciles keep failing",
        "{{ $value | humanizePercentage }} of {{ $labels.kind }} reconciles ended in an error or a retry, "
        "for 15 minutes on end.",
        "reconcile-errors",
    ),
    Alert(
        "SreopsAwsThrottling",
        f"{_THROTTLES} > 0.2",
        (_THROTTLES,),
        "15m",
        "warning",
        "AWS throttles {{ $labels.service }} calls in account {{ $labels.account }}",
        '{{ $value | printf "%.2f" }} throttled {{ $labels.service }} attempts per second in account '
        "{{ $labels.account }} for 15 minutes: resyncs and runs are slowed down.",
        "aws-throttling",
    ),
    Alert(
        "SreopsAwsAccessDenied",
        f"{_DENIED} > 0",
        (_DENIED,),
        "0m",
        "critical",
        "AWS denies sreops access in account {{ $labels.account }}",
        '{{ $value | printf "%.0f" }} {{ $labels.service }} calls in account {{ $labels.account }} were denied '
        "(AccessDenied or expired/invalid credentials) in the last 10 minutes.",
        "aws-access-denied",
    ),
    Alert(
        "SreopsPatchRunFailed",
        f"{_RUNS_FAILED} > 0",
        (_RUNS_FAILED,),
        "0m",
        "warning",
        "A PatchRun of {{ $labels.namespace }}/{{ $labels.policy }} failed",
        '{{ $value | printf "%.0f" }} PatchRuns of policy {{ $labels.namespace }}/{{ $labels.policy }} failed in the '
        "last hour; `kubectl get patchruns -n {{ $labels.namespace }}` lists them with their failed instances.",
        "patch-run-failed",
    ),
    Alert(
        "SreopsComplianceLow",
        f"{_COMPLIANT} < {COMPLIANCE_THRESHOLD}",
        (_COMPLIANT,),
        "24h",
        "warning",
        "PatchPolicy {{ $labels.namespace }}/{{ $labels.policy }} below "
        f"{COMPLIANCE_THRESHOLD:.0%} compliant for a day",
        "Only {{ $value | humanizePercentage }} of the instances targeted by "
        "{{ $labels.namespace }}/{{ $labels.policy }} have been compliant for 24 hours.",
        "compliance-low",
    ),
    Alert(
        "SreopsCriticalFindings",
        f"{_CRITICAL} > {CRITICAL_FINDINGS_THRESHOLD}",
        (_CRITICAL,),
        "5m",
        "critical",
        "Critical findings in ScanSchedule {{ $labels.namespace }}/{{ $labels.schedule }}",
        "The last sweep of {{ $labels.namespace }}/{{ $labels.schedule }} found {{ $value }} active critical "
        "Inspector findings.",
        "critical-findings",
    ),
    Alert(
        "SreopsFindingsSweepStale",
        f"({_SINCE_SWEEP}) > 2 * ({_INTERVAL}) + 600",
        (_SINCE_SWEEP, _INTERVAL),
        "10m",
        "warning",
        "ScanSchedule {{ $labels.namespace }}/{{ $labels.schedule }} missed two sweeps",
        "The last findings sweep of {{ $labels.namespace }}/{{ $labels.schedule }} was {{ $value | humanizeDuration }} "
        "ago: two scheduled sweeps have passed without one.",
        "findings-sweep-stale",
    ),
    Alert(
        "SreopsNotificationsFailing",
        f"{_NOTIFY_FAILED} > 0",
        (_NOTIFY_FAILED,),
        "10m",
        "warning",
        "Notifications to {{ $labels.destination }} are failing",
        '{{ $value | printf "%.0f" }} {{ $labels.destination }} sends failed or were retried in the last 15 minutes, '
        "for 10 minutes on end.",
        "notifications-failing",
    ),
    Alert(
        "SreopsGateway5xx",
        f"{_GATEWAY_5XX} > 0.05",
        (_GATEWAY_5XX,),
        "10m",
        "warning",
        "The gateway answers {{ $labels.route }} with 5xx",
        "{{ $value | humanizePercentage }} of requests to {{ $labels.route }} got a 5xx answer for 10 minutes.",
        "gateway-errors",
        gateway=True,
    ),
    Alert(
        "SreopsGatewayAuthFailures",
        f"{_AUTH_FAILURES} > 0.5",
        (_AUTH_FAILURES,),
        "10m",
        "warning",
        "Many {{ $labels.channel }} requests fail authentication ({{ $labels.reason }})",
        '{{ $value | printf "%.2f" }} {{ $labels.channel }} requests per second were refused '
        "({{ $labels.reason }}) for 10 minutes: a misconfigured secret, an expired key, or someone probing "
        "the gateway.",
        "gateway-auth-failures",
        gateway=True,
    ),
)


def rule(alert: Alert) -> dict[str, Any]:
    return {
        "alert": alert.name,
        "expr": alert.expr,
        "for": alert.for_,
        "labels": {"severity": alert.severity},
        "annotations": {
            "summary": alert.summary,
            "description": alert.description,
            "runbook_url": alert.runbook_url,
        },
    }


def rules_file() -> dict[str, Any]:
    """A Prometheus rules file (`rule_files:`, `promtool check rules`)."""
    return {"groups": [{"name": GROUP_NAME, "rules": [rule(a) for a in ALERTS]}]}


def prometheus_rule() -> dict[str, Any]:
    """The same rules as a prometheus-operator PrometheusRule (the chart ships it)."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "sreops", "labels": {"app.kubernetes.io/name": "sreops"}},
        "spec": rules_file(),
    }
