"""Operator settings: read once at start-up (flags, then environment, then defaults) and kept in kopf's memo.

Nothing here runs at import time; `Settings.from_sources` is called by `sreops operator`.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sreops.operator.api.common import REGION_PATTERN
from sreops.operator.aws.ratelimit import RateSpecError, parse_rates, scaled

LogFormat = Literal["json", "text"]
SHARD_LABEL = "sreops.io/shard"
NO_SHARD = "none"  # --shard none: only objects without the shard label
LEASE_PREFIX = "sreops-operator"
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


def is_label_value(text: str) -> bool:
    """A valid Kubernetes label value, as a shard name must be."""
    return bool(_LABEL_VALUE.match(text))


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
    # Leader election (client-go's defaults); off only for a single process that must not wait for a Lease.
    leader_elect: bool = True
    lease_namespace: str = "default"
    identity: str = ""  # empty: <hostname>_<uuid>, chosen at start
    lease_duration_seconds: float = 15.0
    renew_deadline_seconds: float = 10.0
    retry_period_seconds: float = 2.0
    # The shard this process serves (sreops.io/shard label value), "none" for unlabelled objects, None for all.
    shard: str | None = None
    # Our Kubernetes client's budget toward the API server (client-go's rest.Config QPS and Burst).
    kube_qps: float = 20.0
    kube_burst: int = 30
    # Overrides of the AWS request budget (aws/ratelimit.py), e.g. "ssm:read=20/40,ssm:write=5/10".
    aws_rates: str = ""
    aws_budget_share: float = 1.0

    @property
    def clusterwide(self) -> bool:
        return not self.namespaces

    @property
    def lease_name(self) -> str:
        return LEASE_PREFIX if self.shard is None else f"{LEASE_PREFIX}-{self.shard}"

    @property
    def shard_selector(self) -> str | None:
        """The server-side label selector of every watch and list of sharded kinds, or None for all objects."""
        if self.shard is None:
            return None
        return f"!{SHARD_LABEL}" if self.shard == NO_SHARD else f"{SHARD_LABEL}={self.shard}"

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
        election = _election_from_sources(args, env, pick)
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
            **election,
        )


def _election_from_sources(
    args: argparse.Namespace, env: Mapping[str, str], pick: Callable[[object, str, str], str]
) -> dict[str, Any]:
    """Leader election, shard and Kubernetes client budget settings (flags, then SREOPS_* environment)."""
    flag = getattr(args, "leader_elect", None)
    elect_text = ("true" if flag else "false") if flag is not None else env.get("SREOPS_LEADER_ELECT", "true")
    if elect_text.lower() not in ("true", "false", "1", "0"):
        raise SettingsError(f"SREOPS_LEADER_ELECT {elect_text!r} must be true or false")
    shard = pick(getattr(args, "shard", None), "SREOPS_SHARD", "") or None
    if shard is not None and not _LABEL_VALUE.match(shard):
        raise SettingsError(f"shard {shard!r} is not a label value (63 characters: letters, digits, -_.)")
    lease_namespace = pick(
        getattr(args, "lease_namespace", None), "SREOPS_LEASE_NAMESPACE", env.get("POD_NAMESPACE", "default")
    )
    try:
        durations = {
            key: float(pick(getattr(args, key, None), f"SREOPS_{key.upper()}", default))
            for key, default in (
                ("lease_duration_seconds", "15"),
                ("renew_deadline_seconds", "10"),
                ("retry_period_seconds", "2"),
                ("kube_qps", "20"),
            )
        }
        burst = int(pick(getattr(args, "kube_burst", None), "SREOPS_KUBE_BURST", "30"))
    except ValueError as exc:
        raise SettingsError(f"not a number: {exc}") from exc
    lease, renew, retry = (
        durations["lease_duration_seconds"],
        durations["renew_deadline_seconds"],
        durations["retry_period_seconds"],
    )
    # client-go's own checks (NewLeaderElector).
    if not lease > renew > 1.2 * retry > 0:
        raise SettingsError("leader election needs lease duration > renew deadline > 1.2 x retry period > 0")
    if durations["kube_qps"] <= 0 or burst < 1:
        raise SettingsError("Kubernetes client QPS must be positive and burst at least 1")
    aws_rates = pick(getattr(args, "aws_rates", None), "SREOPS_AWS_RATES", "")
    share_text = pick(getattr(args, "aws_budget_share", None), "SREOPS_AWS_BUDGET_SHARE", "1")
    try:
        share = float(share_text)
        scaled(parse_rates(aws_rates), share)
    except RateSpecError as exc:
        raise SettingsError(str(exc)) from exc
    except ValueError as exc:  # not a number
        raise SettingsError(f"AWS budget share: {exc}") from exc
    return {
        "aws_rates": aws_rates,
        "aws_budget_share": share,
        "leader_elect": elect_text.lower() in ("true", "1"),
        "lease_namespace": lease_namespace,
        "identity": pick(getattr(args, "identity", None), "SREOPS_IDENTITY", env.get("POD_NAME", "")),
        "shard": shard,
        **durations,
        "kube_burst": burst,
    }


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
    election = parser.add_argument_group("high availability (docs/design.md, Scaling)")
    election.add_argument(
        "--leader-elect",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="elect one active replica with a coordination.k8s.io Lease (env SREOPS_LEADER_ELECT; default true)",
    )
    election.add_argument(
        "--lease-namespace",
        help="namespace of the Lease (env SREOPS_LEASE_NAMESPACE, else POD_NAMESPACE, else default)",
    )
    election.add_argument(
        "--identity", help="this replica's holder identity prefix (env SREOPS_IDENTITY, else POD_NAME, else the host)"
    )
    election.add_argument(
        "--lease-duration-seconds", type=float, help="how long a standby waits on an unrenewed lease (default 15)"
    )
    election.add_argument(
        "--renew-deadline-seconds", type=float, help="the leader stops acting if it cannot renew this long (default 10)"
    )
    election.add_argument("--retry-period-seconds", type=float, help="renew/acquire attempts interval (default 2)")
    election.add_argument(
        "--shard",
        help="serve only objects labelled sreops.io/shard=NAME ('none': only unlabelled ones); env SREOPS_SHARD; "
        "default: every object",
    )
    election.add_argument("--kube-qps", type=float, help="Kubernetes client requests per second (default 20)")
    election.add_argument("--kube-burst", type=int, help="Kubernetes client burst (default 30)")
    election.add_argument(
        "--aws-rates",
        help="AWS request budget overrides, service:read|write=RATE/BURST,... (env SREOPS_AWS_RATES)",
    )
    election.add_argument(
        "--aws-budget-share",
        help="the fraction of every AWS rate this process may use, e.g. 0.25 for one of four shards acting in the "
        "same accounts and regions (env SREOPS_AWS_BUDGET_SHARE, default 1)",
    )


def from_environment(args: argparse.Namespace) -> Settings:
    return Settings.from_sources(args, os.environ)
