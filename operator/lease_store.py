"""The Lease lock through the Kubernetes API (client-go's resourcelock.LeaseLock): one coordination.k8s.io/v1
Lease, read, created, and replaced with the resourceVersion it was read at, so a stale write is a 409."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from sreops.operator.leader_election import LeaderRecord, LeaseConflictError, Observed

NOT_FOUND, CONFLICT = 404, 409


def micro_time(when: datetime | None) -> str | None:
    """metav1.MicroTime's wire form: RFC 3339 with microseconds, in UTC."""
    return None if when is None else when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def spec_of(record: LeaderRecord) -> dict[str, Any]:
    return {
        "holderIdentity": record.holder_identity,
        "leaseDurationSeconds": record.lease_duration_seconds,
        "acquireTime": micro_time(record.acquire_time),
        "renewTime": micro_time(record.renew_time),
        "leaseTransitions": record.lease_transitions,
    }


class KubeLeaseStore:
    """Through CoordinationV1Api; bodies are plain JSON (MicroTime as client-go writes it), each request bounded
    by `timeout` so a hung API server cannot hold a renewal past the renew deadline."""

    def __init__(self, api: client.ApiClient, namespace: str, name: str, timeout: float) -> None:
        self.leases: Any = client.CoordinationV1Api(api)  # untyped use: dict bodies, optional fields
        self.namespace = namespace
        self.name = name
        self.timeout = timeout

    def _body(self, record: LeaderRecord, resource_version: str | None = None) -> dict[str, Any]:
        metadata: dict[str, Any] = {"name": self.name, "namespace": self.namespace}
        if resource_version is not None:
            metadata["resourceVersion"] = resource_version
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": metadata, "spec": spec_of(record)}

    def get(self) -> Observed | None:
        try:
            lease = self.leases.read_namespaced_lease(self.name, self.namespace, _request_timeout=self.timeout)
        except ApiException as exc:
            if exc.status == NOT_FOUND:
                return None
            raise
        spec = lease.spec
        record = LeaderRecord(
            holder_identity=spec.holder_identity or "",
            lease_duration_seconds=int(spec.lease_duration_seconds or 0),
            acquire_time=_parse(spec.acquire_time),
            renew_time=_parse(spec.renew_time),
            lease_transitions=int(spec.lease_transitions or 0),
        )
        return Observed(record, str(lease.metadata.resource_version))

    def create(self, record: LeaderRecord) -> str:
        try:
            body = self._body(record)
            lease = self.leases.create_namespaced_lease(self.namespace, body, _request_timeout=self.timeout)
        except ApiException as exc:
            if exc.status == CONFLICT:  # AlreadyExists: someone created it first
                raise LeaseConflictError(f"lease {self.namespace}/{self.name} was created meanwhile") from exc
            raise
        return str(lease.metadata.resource_version)

    def update(self, record: LeaderRecord, resource_version: str) -> str:
        try:
            lease = self.leases.replace_namespaced_lease(
                self.name, self.namespace, self._body(record, resource_version), _request_timeout=self.timeout
            )
        except ApiException as exc:
            if exc.status == CONFLICT:
                raise LeaseConflictError(f"lease {self.namespace}/{self.name} changed meanwhile") from exc
            raise
        return str(lease.metadata.resource_version)
