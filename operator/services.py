"""What the operator builds once at start-up and every handler shares, kept in kopf's memo."""

from __future__ import annotations

from dataclasses import dataclass, field

from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

from sreops.operator import kube_budget
from sreops.operator.aws.clients import ClientFactory
from sreops.operator.aws.models import declared_operations, trimmed_in_child
from sreops.operator.aws.ratelimit import AwsBudget, parse_rates, scaled
from sreops.operator.executor import running_background
from sreops.operator.leadership import Fence
from sreops.operator.metrics import OperatorMetrics
from sreops.operator.patching.shared import SharedReads
from sreops.operator.recent import RecentValues
from sreops.operator.settings import Settings
from sreops.operator.shards import Departures


@dataclass(frozen=True)
class Services:
    settings: Settings
    metrics: OperatorMetrics
    aws: ClientFactory
    kube: client.ApiClient
    # Reads shared between policies (one per account x region per resync interval), made with `aws`.
    shared: SharedReads = field(init=False)
    # Checked before every side effect: AWS calls, our Kubernetes writes, notifications (leadership.py).
    fence: Fence = field(default_factory=Fence)
    # Objects relabelled away to another shard, whose kopf timers still tick here (shards.py).
    departures: Departures = field(default_factory=Departures)
    # Run-now values this process has turned into a PatchRun and recorded on the policy (run_triggers.py).
    run_now_started: RecentValues = field(default_factory=RecentValues)
    # The condition changes this process has announced with an Event (base.Context.set_condition).
    evented: RecentValues = field(default_factory=RecentValues)

    def __post_init__(self) -> None:
        # Built here rather than passed in, so every Services (tests build their own) has one.
        object.__setattr__(self, "shared", SharedReads(self.aws, ttl_seconds=self.settings.resync_seconds))

    @classmethod
    def create(cls, settings: Settings, metrics: OperatorMetrics, fence: Fence | None = None) -> Services:
        fence = fence or Fence()
        rates = scaled(parse_rates(settings.aws_rates), settings.aws_budget_share)
        budget = AwsBudget(rates, on_wait=metrics.observe_aws_budget_wait, is_background=running_background)
        operations = declared_operations()
        factory = ClientFactory(
            sts_region=settings.default_region,
            on_call=metrics.observe_aws_call,
            on_throttle=metrics.observe_aws_throttle,
            budget=budget,
            guard=fence.check,
            operations=operations,
            trimmed=trimmed_in_child(operations),  # before any thread of ours is started
        )
        kube = kube_api_client()
        kube_budget.install(
            kube,
            kube_budget.TokenBucket(settings.kube_qps, settings.kube_burst),
            guard=fence.check,
            observe=metrics.observe_kube_wait,
        )
        return cls(settings=settings, metrics=metrics, aws=factory, kube=kube, fence=fence)


def kube_api_client() -> client.ApiClient:
    """In-cluster credentials when running in a pod, else the current kubeconfig context."""
    try:
        config.load_incluster_config()
        return client.ApiClient()
    except ConfigException:
        api: client.ApiClient = config.new_client_from_config()
        return api
