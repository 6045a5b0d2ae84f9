"""The workload kinds the Helm chart renders: Deployment, Service, ServiceAccount, Pod, PodDisruptionBudget,
NetworkPolicy and Ingress, with the server-set parts kube-apiserver's registry strategies give them.

What the real strategies (pkg/registry/<group>/<kind>/strategy.go, 1.32) do and this module copies:
- generation: Deployment, PodDisruptionBudget, NetworkPolicy and Ingress start at 1 and are bumped when
  anything but metadata and status changes; Service, ServiceAccount and Pod have none (Pod's
  metadata.generation arrives in 1.33).
- status subresource: Deployment, Service, Pod, PodDisruptionBudget and Ingress; writes to the main resource
  keep the stored status, /status writes change nothing else. NetworkPolicy has had no status since 1.28.
- PrepareForCreate replaces whatever status the body carries by the empty one: `{}` for a Deployment,
  `{"loadBalancer": {}}` for a Service and an Ingress, the four zero counters of a PodDisruptionBudget, and
  `{"phase": "Pending", "qosClass": ...}` for a Pod (the QoS class computed from the containers' resources).

Nothing runs these objects: no scheduler, kubelet or controllers, so a Deployment never gets replicas
(status stays `{}`, `kubectl get` shows READY 0/N), a Pod stays Pending, a Service gets no endpoints.
"""

from __future__ import annotations

from typing import Any

from .resources import workload_types

Obj = dict[str, Any]


GROUP_RESOURCES = frozenset(rt.group_resource for rt in workload_types())


def _containers(pod_spec: Obj) -> list[Obj]:
    found = [*(pod_spec.get("initContainers") or []), *(pod_spec.get("containers") or [])]
    return [c for c in found if isinstance(c, dict)]


def qos_class(pod_spec: Obj) -> str:
    """pkg/apis/core/helper/qos.GetPodQOS: Guaranteed when every container's cpu and memory limits are set
    and requests (defaulted to limits) equal them, BestEffort when no container asks for cpu or memory."""
    any_set, guaranteed = False, True
    for container in _containers(pod_spec):
        resources = container.get("resources") or {}
        limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
        for name in ("cpu", "memory"):
            if name in limits or name in requests:
                any_set = True
            if name not in limits or str(requests.get(name, limits[name])) != str(limits[name]):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def initial_status(kind: str, obj: Obj) -> Obj | None:
    """The status PrepareForCreate stores, whatever the request carried (None: the kind has no status)."""
    if kind == "Deployment":
        return {}
    if kind in ("Service", "Ingress"):
        return {"loadBalancer": {}}
    if kind == "PodDisruptionBudget":
        return {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0}
    if kind == "Pod":
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        return {"phase": "Pending", "qosClass": qos_class(spec or {})}
    return None
