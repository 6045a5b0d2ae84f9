"""What the operator builds once at start-up and every handler shares, kept in kopf's memo."""

from __future__ import annotations

from dataclasses import dataclass, field

from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

from sreops.operator.aws.clients import ClientFactory
from sreops.operator.metrics import OperatorMetrics
from sreops.operator.patching.shared import SharedReads
from sreops.operator.settings import Settings


@dataclass(frozen=True)
class Services:
    settings: Settings
    metrics: OperatorMetrics
    aws: ClientFactory
    kube: client.ApiClient
    # Reads shared between policies (one per account x region per resync interval), made with `aws`.
    shared: SharedReads = field(init=False)

    def __post_init__(self) -> None:
        # Built here rather than passed in, so every Services (tests build their own) has one.
        object.__setattr__(self, "shared", SharedReads(self.aws, ttl_seconds=self.settings.resync_seconds))

    @classmethod
    def create(cls, settings: Settings, metrics: OperatorMetrics) -> Services:
        factory = ClientFactory(
            sts_region=settings.default_region,
            on_call=metrics.observe_aws_call,
            on_throttle=metrics.observe_aws_throttle,
        )
        return cls(settings=settings, metrics=metrics, aws=factory, kube=kube_api_client())


def kube_api_client() -> client.ApiClient:
    """In-cluster credentials when running in a pod, else the current kubeconfig context."""
    try:
        config.load_incluster_config()
        return client.ApiClient()
    except ConfigException:
        api: client.ApiClient = config.new_client_from_config()
        return api
