"""Several operator processes in the sandbox: replicas of one Deployment, and one Deployment per shard.

Each process gets a name (its log, pid file and POD_NAME, so its lease identity is `<name>_<uuid>`, as in a pod)
and the shard it serves. Which one leads is read from its shard's Lease: the holder must be the identity of the
process's current run (asked of its /healthz once per pid, since a restarted process keeps its name but not its
uuid) and the lease must not have expired (a SIGKILLed or paused leader still names itself until another takes
over).
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from sreops.operator.settings import LEASE_PREFIX, NO_SHARD

OPERATOR = "operator"


@dataclass(frozen=True)
class Replica:
    name: str
    shard: str | None  # the --shard value, None: every object (no sharding)
    shards: int = 1  # how many shard sets act in the same accounts and regions (as the chart's shards + none)

    @property
    def lease(self) -> str:
        return LEASE_PREFIX if self.shard is None else f"{LEASE_PREFIX}-{self.shard}"

    def flags(self) -> list[str]:
        if self.shard is None:
            return []
        return [f"--shard={self.shard}", f"--aws-budget-share={1 / self.shards:.4f}"]


def plan(replicas: int = 1, shards: tuple[str, ...] = ()) -> list[Replica]:
    """The processes to run: `operator` alone by default; `operator-<i>` for replicas without shards;
    `operator-<shard>-<i>` for each shard, then for `none` (the unlabelled objects), when shards are given."""
    if replicas < 1:
        raise ValueError("operator replicas must be at least 1")
    if not shards:
        if replicas == 1:
            return [Replica(OPERATOR, None)]
        return [Replica(f"{OPERATOR}-{i}", None) for i in range(replicas)]
    if NO_SHARD in shards or len(set(shards)) != len(shards):
        raise ValueError(f"shards must be distinct and not {NO_SHARD!r} (the unlabelled set is always added)")
    sets = (*shards, NO_SHARD)
    return [Replica(f"{OPERATOR}-{s}-{i}", s, len(sets)) for s in sets for i in range(replicas)]


def run_identity(health_url: str, timeout: float = 1.0) -> str | None:
    """The lease identity of the run answering `health_url` (None while it does not answer)."""
    try:
        with urllib.request.urlopen(health_url, timeout=timeout) as response:  # noqa: S310 - our loopback URL
            body: dict[str, Any] = json.loads(response.read())
    except (OSError, ValueError):
        return None
    identity = body.get("identity")
    return identity if isinstance(identity, str) and identity else None


@dataclass(frozen=True)
class LeaseHolder:
    identity: str
    fresh: bool  # renewed within its lease duration: the holder may still act


def lease_holders(api: client.ApiClient, namespace: str, now: datetime | None = None) -> dict[str, LeaseHolder]:
    """Every Lease in `namespace` by name, with its holder and whether it has expired."""
    now = now or datetime.now(UTC)
    try:
        leases = client.CoordinationV1Api(api).list_namespaced_lease(namespace).items
    except ApiException:
        return {}
    holders: dict[str, LeaseHolder] = {}
    for lease in leases:
        spec, name = lease.spec, lease.metadata.name if lease.metadata is not None else None
        if spec is None or not spec.holder_identity or not name:
            continue
        renewed = spec.renew_time or spec.acquire_time
        fresh = False
        if renewed is not None and spec.lease_duration_seconds:
            if renewed.tzinfo is None:
                renewed = renewed.replace(tzinfo=UTC)
            fresh = now <= renewed + timedelta(seconds=spec.lease_duration_seconds)
        holders[name] = LeaseHolder(spec.holder_identity, fresh)
    return holders
