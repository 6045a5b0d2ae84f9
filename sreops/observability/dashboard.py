"""The sreops Grafana dashboard, built with grafana-foundation-sdk.

One row per concern (the order an SRE looks at them: is the fleet patched, did runs fail, what did Inspector
find, are notifications going out, is AWS pushing back, is the operator healthy, the gateway, the processes).
Variables: the Prometheus data source, namespace, policy and schedule (multi-valued, "All" = `.*`, so every
query filters with `=~`). Thresholds and units on every panel. The committed JSON is
charts/sreops/dashboards/sreops.json (a test checks it is what this module builds).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from grafana_foundation_sdk.builders import common as common_builder
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import (
    DataSourceRef,
    Threshold,
    ThresholdsMode,
    VariableOption,
    VariableRefresh,
    VariableSort,
)

from sreops.observability.alerts import COMPLIANCE_THRESHOLD, GATEWAY_JOB, OPERATOR_JOB

UID = "sreops-overview"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
NS = 'namespace=~"$namespace"'
POLICY = f'{NS}, policy=~"$policy"'
SCHEDULE = f'{NS}, schedule=~"$schedule"'
JOBS = f'job=~"{OPERATOR_JOB}|{GATEWAY_JOB}"'
RATE = "$__rate_interval"
NAMESPACED = "sreops_policy_ready|sreops_scan_findings|sreops_notification_ledger_entries"  # have a namespace
GREEN, YELLOW, RED = "green", "#EAB839", "red"


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class PanelSpec:
    title: str
    description: str
    queries: tuple[Query, ...]
    unit: str
    # (value, color) steps above the base colour; None: the base only.
    thresholds: tuple[tuple[float, str], ...] = ()
    base: str = GREEN
    kind: str = "timeseries"  # timeseries | stat
    bars: bool = False
    width: int = 8


@dataclass(frozen=True)
class RowSpec:
    title: str
    panels: tuple[PanelSpec, ...] = field(default_factory=tuple)


def _q(expr: str, legend: str = "") -> tuple[Query, ...]:
    return (Query(expr, legend),)


_COMPLIANT_SHARE = (
    f'sum by (namespace, policy) (sreops_policy_instances{{{POLICY}, state="compliant"}})'
    f" / sum by (namespace, policy) (sreops_policy_instances{{{POLICY}}})"
)

ROWS: tuple[RowSpec, ...] = (
    RowSpec(
        "Fleet compliance",
        (
            PanelSpec(
                "Compliant share per policy",
                f"Compliant instances / targeted instances; the alert fires below {COMPLIANCE_THRESHOLD:.0%} for 24 h.",
                _q(_COMPLIANT_SHARE, "{{namespace}}/{{policy}}"),
                "percentunit",
                ((COMPLIANCE_THRESHOLD, YELLOW), (0.99, GREEN)),
                base=RED,
                kind="stat",
            ),
            PanelSpec(
                "Instances by compliance state",
                "Targeted instances of the selected policies: compliant, non-compliant, not reporting to SSM.",
                _q(f"sum by (state) (sreops_policy_instances{{{POLICY}}})", "{{state}}"),
                "short",
            ),
            PanelSpec(
                "Policies not Ready",
                "PatchPolicies whose Ready condition is False (see `kubectl get pp`).",
                _q(f"sum(1 - sreops_policy_ready{{{POLICY}}})", "not ready"),
                "short",
                ((1, RED),),
                kind="stat",
            ),
        ),
    ),
    RowSpec(
        "Patch runs",
        (
            PanelSpec(
                "Patch runs by result",
                "Finished PatchRuns per interval, by result.",
                _q(f"sum by (result) (increase(sreops_patch_runs_total{{{POLICY}}}[{RATE}]))", "{{result}}"),
                "short",
                bars=True,
            ),
            PanelSpec(
                "Failed instances per policy",
                "Instances that failed or timed out in finished runs, per interval.",
                _q(
                    f"sum by (namespace, policy) (increase("
                    f'sreops_patch_run_instances_total{{{POLICY}, result=~"failed|timed_out"}}[{RATE}]))',
                    "{{namespace}}/{{policy}}",
                ),
                "short",
                ((1, RED),),
                bars=True,
            ),
            PanelSpec(
                "Failed instances (24 h)",
                "Instances that failed or timed out in runs that finished in the last 24 hours.",
                _q(
                    f'sum(increase(sreops_patch_run_instances_total{{{POLICY}, result=~"failed|timed_out"}}[24h]))',
                    "failed",
                ),
                "short",
                ((1, YELLOW), (10, RED)),
                kind="stat",
            ),
        ),
    ),
    RowSpec(
        "Vulnerability findings",
        (
            PanelSpec(
                "Active findings by severity",
                "Findings of the last sweep per schedule and severity (suppressed ones left out).",
                _q(
                    f'sum by (schedule, severity) (sreops_scan_findings{{{SCHEDULE}, severity!="suppressed"}})',
                    "{{schedule}} {{severity}}",
                ),
                "short",
            ),
            PanelSpec(
                "Critical findings",
                "Active critical findings; the alert fires above 0.",
                _q(f'sum(sreops_scan_findings{{{SCHEDULE}, severity="critical"}})', "critical"),
                "short",
                ((1, RED),),
                kind="stat",
            ),
            PanelSpec(
                "New and resolved per sweep",
                "Findings first observed and closed since the previous sweep.",
                (
                    Query(
                        f"sum by (schedule) (increase(sreops_scan_new_findings_total{{{SCHEDULE}}}[{RATE}]))",
                        "new {{schedule}}",
                    ),
                    Query(
                        f"sum by (schedule) (increase(sreops_scan_resolved_findings_total{{{SCHEDULE}}}[{RATE}]))",
                        "resolved {{schedule}}",
                    ),
                ),
                "short",
                bars=True,
            ),
        ),
    ),
    RowSpec(
        "Scan coverage",
        (
            PanelSpec(
                "Coverage gaps",
                "Resources in a schedule's scope that Inspector does not scan (status.coverage.notScanned).",
                _q(
                    f"sum by (namespace, schedule) (sreops_scan_coverage_gaps{{{SCHEDULE}}})",
                    "{{namespace}}/{{schedule}}",
                ),
                "short",
                ((1, YELLOW),),
            ),
            PanelSpec(
                "Time since the last sweep",
                "Against AWS's clock; the stale-sweep alert fires after two missed schedules.",
                _q(f"time() - sreops_scan_last_sweep_timestamp_seconds{{{SCHEDULE}}}", "{{namespace}}/{{schedule}}"),
                "s",
                ((7200, YELLOW), (86400, RED)),
            ),
            PanelSpec(
                "Sweep duration (p95)",
                "How long one findings sweep takes.",
                _q(
                    f"histogram_quantile(0.95, sum by (le) (rate(sreops_scan_sweep_duration_seconds_bucket[{RATE}])))",
                    "p95",
                ),
                "s",
                ((60, YELLOW), (300, RED)),
            ),
        ),
    ),
    RowSpec(
        "Notifications",
        (
            PanelSpec(
                "Deliveries by destination and result",
                "Slack and Teams sends per second: sent, retry (an attempt failed), failed (given up).",
                _q(
                    f"sum by (destination, result) (rate(sreops_notifications_total[{RATE}]))",
                    "{{destination}} {{result}}",
                ),
                "reqps",
            ),
            PanelSpec(
                "Digests",
                "Digest messages sent for events over a Notifier's rate limit.",
                _q(f"sum(increase(sreops_notification_digests_total[{RATE}]))", "digests"),
                "short",
                bars=True,
            ),
            PanelSpec(
                "Send latency (p95) and ledger size",
                "Time to send one notification; entries in the delivery ledgers.",
                (
                    Query(
                        "histogram_quantile(0.95, sum by (le) "
                        f"(rate(sreops_notification_send_duration_seconds_bucket[{RATE}])))",
                        "p95 send",
                    ),
                    Query(f"sum(sreops_notification_ledger_entries{{{NS}}})", "ledger entries"),
                ),
                "s",
            ),
        ),
    ),
    RowSpec(
        "AWS",
        (
            PanelSpec(
                "AWS calls by service and account",
                "API calls per second (all results).",
                _q(f"sum by (service, account) (rate(sreops_aws_calls_total[{RATE}]))", "{{service}} {{account}}"),
                "reqps",
            ),
            PanelSpec(
                "AWS errors by code",
                "Calls answered with an error, by service, account and AWS error code.",
                _q(
                    f'sum by (service, account, code) (rate(sreops_aws_calls_total{{code!="OK"}}[{RATE}]))',
                    "{{service}} {{account}} {{code}}",
                ),
                "reqps",
                ((0.01, RED),),
            ),
            PanelSpec(
                "AWS throttles",
                "Attempts AWS answered with a throttling error (each retry counts).",
                _q(
                    f"sum by (service, account) (rate(sreops_aws_throttles_total[{RATE}]))",
                    "{{service}} {{account}}",
                ),
                "reqps",
                ((0.2, RED),),
            ),
        ),
    ),
    RowSpec(
        "Reconciles",
        (
            PanelSpec(
                "Reconciles by kind and result",
                "Reconciles per second.",
                _q(f"sum by (kind, result) (rate(sreops_reconciles_total[{RATE}]))", "{{kind}} {{result}}"),
                "ops",
            ),
            PanelSpec(
                "Reconcile latency (p95)",
                "Time spent in one reconcile, by kind.",
                _q(
                    "histogram_quantile(0.95, sum by (kind, le) "
                    f"(rate(sreops_reconcile_duration_seconds_bucket[{RATE}])))",
                    "{{kind}}",
                ),
                "s",
                ((5, YELLOW), (30, RED)),
            ),
            PanelSpec(
                "Reconcile errors",
                "Share of reconciles ending in an error or a retry; the alert fires above 10% for 15 minutes.",
                _q(
                    f'sum by (kind) (rate(sreops_reconciles_total{{result=~"error|retry"}}[{RATE}]))'
                    f" / sum by (kind) (rate(sreops_reconciles_total[{RATE}]))",
                    "{{kind}}",
                ),
                "percentunit",
                ((0.1, RED),),
            ),
        ),
    ),
    RowSpec(
        "Gateway",
        (
            PanelSpec(
                "Requests by route and status",
                "HTTP requests per second answered by the gateway.",
                _q(
                    f"sum by (route, status) (rate(sreops_gateway_requests_total[{RATE}]))",
                    "{{route}} {{status}}",
                ),
                "reqps",
            ),
            PanelSpec(
                "Request latency (p95)",
                "Slack needs an acknowledgement within 3 s.",
                _q(
                    "histogram_quantile(0.95, sum by (route, le) "
                    f"(rate(sreops_gateway_request_duration_seconds_bucket[{RATE}])))",
                    "{{route}}",
                ),
                "s",
                ((1, YELLOW), (3, RED)),
            ),
            PanelSpec(
                "Auth failures, commands, rate limiting",
                "Refused requests by channel and reason; commands by result; 429s by window.",
                (
                    Query(
                        f"sum by (channel, reason) (rate(sreops_gateway_auth_failures_total[{RATE}]))",
                        "auth {{channel}} {{reason}}",
                    ),
                    Query(
                        f"sum by (channel, result) (rate(sreops_gateway_commands_total[{RATE}]))",
                        "command {{channel}} {{result}}",
                    ),
                    Query(f"sum by (window) (rate(sreops_gateway_rate_limited_total[{RATE}]))", "429 {{window}}"),
                ),
                "reqps",
                ((0.5, RED),),
            ),
        ),
    ),
    RowSpec(
        "Processes",
        (
            PanelSpec(
                "Resident memory",
                "Of the operator and the gateway.",
                _q(f"process_resident_memory_bytes{{{JOBS}}}", "{{job}}"),
                "bytes",
                ((512 * 1024 * 1024, YELLOW), (1024 * 1024 * 1024, RED)),
            ),
            PanelSpec(
                "Restarts (1 h)",
                "Process starts in the last hour (a changed start time is a restart).",
                _q(f"changes(process_start_time_seconds{{{JOBS}}}[1h])", "{{job}}"),
                "short",
                ((1, YELLOW), (3, RED)),
                kind="stat",
            ),
            PanelSpec(
                "Up",
                "1 when Prometheus scrapes the process.",
                _q(f"up{{{JOBS}}}", "{{job}}"),
                "short",
                ((1, GREEN),),
                base=RED,
                kind="stat",
            ),
        ),
    ),
)


def _thresholds(spec: PanelSpec) -> dash.ThresholdsConfig:
    steps = [Threshold(value=None, color=spec.base)] + [Threshold(value=v, color=c) for v, c in spec.thresholds]
    return dash.ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps(steps)


def _panel(spec: PanelSpec) -> Any:
    panel: Any
    if spec.kind == "stat":
        panel = stat.Panel().color_mode(common.BigValueColorMode.BACKGROUND).graph_mode(common.BigValueGraphMode.AREA)
    else:
        panel = timeseries.Panel().legend(
            common_builder.VizLegendOptions()
            .display_mode(common.LegendDisplayMode.TABLE)
            .placement(common.LegendPlacement.BOTTOM)
            .show_legend(True)
        )
        if spec.bars:
            panel = panel.draw_style(common.GraphDrawStyle.BARS).fill_opacity(60)
        if spec.thresholds:
            line = common.GraphTresholdsStyleMode.LINE  # sic: the SDK's spelling
            panel = panel.thresholds_style(common_builder.GraphThresholdsStyleConfig().mode(line))
    panel = (
        panel.title(spec.title)
        .description(spec.description)
        .datasource(DATASOURCE)
        .unit(spec.unit)
        .thresholds(_thresholds(spec))
        .height(8)
        .span(spec.width)
    )
    for n, query in enumerate(spec.queries):
        panel = panel.with_target(
            prometheus.Dataquery()
            .expr(query.expr)
            .legend_format(query.legend)
            .ref_id(chr(ord("A") + n))
            .datasource(DATASOURCE)
        )
    return panel


def _label_variable(name: str, label: str, query: str) -> dash.QueryVariable:
    return (
        dash.QueryVariable(name)
        .label(label)
        .datasource(DATASOURCE)
        .query(query)
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(".*")
        .current(VariableOption(selected=True, text="All", value="$__all"))
    )


def build() -> dict[str, Any]:
    board = (
        dash.Dashboard("sreops")
        .uid(UID)
        .description("sreops: patching, vulnerability findings, notifications, AWS, the operator and the gateway.")
        .tags(["sreops"])
        .time("now-6h", "now")
        .refresh("1m")
        .timezone("browser")
        .with_variable(dash.DatasourceVariable("datasource").label("Data source").type("prometheus"))
        .with_variable(
            _label_variable(
                "namespace",
                "Namespace",
                f'label_values({{__name__=~"{NAMESPACED}"}}, namespace)',
            )
        )
        .with_variable(
            _label_variable("policy", "Policy", 'label_values(sreops_policy_ready{namespace=~"$namespace"}, policy)')
        )
        .with_variable(
            _label_variable(
                "schedule", "Schedule", 'label_values(sreops_scan_findings{namespace=~"$namespace"}, schedule)'
            )
        )
    )
    ids = iter(range(1, 1000))  # stable ids: links to a panel (viewPanel=N) survive regeneration
    for row in ROWS:
        board = board.with_row(dash.Row(row.title).id(next(ids)))
        for spec in row.panels:
            board = board.with_panel(_panel(spec).id(next(ids)))
    encoded: dict[str, Any] = json.loads(json.dumps(board.build(), cls=JSONEncoder))
    return encoded


def render() -> str:
    return json.dumps(build(), indent=2, sort_keys=True) + "\n"
