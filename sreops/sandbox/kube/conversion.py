"""Conversion between the two Event APIs, which share one storage as on the real server.

Events are stored in the core/v1 form (what kopf and `kubectl get events` use); events.k8s.io/v1
reads and writes them through this field mapping (the one kube-apiserver applies).
"""

from __future__ import annotations

from typing import Any

from .resources import ResourceType

Obj = dict[str, Any]

# events.k8s.io/v1 field -> core/v1 field; fields with the same name in both are copied as they are.
_EVENTS_TO_CORE = {
    "regarding": "involvedObject",
    "note": "message",
    "reportingController": "reportingComponent",
    "deprecatedSource": "source",
    "deprecatedFirstTimestamp": "firstTimestamp",
    "deprecatedLastTimestamp": "lastTimestamp",
    "deprecatedCount": "count",
}
_CORE_TO_EVENTS = {core: new for new, core in _EVENTS_TO_CORE.items()}


def _rename(obj: Obj, names: dict[str, str]) -> Obj:
    return {names.get(key, key): value for key, value in obj.items()}


def needs_conversion(rt: ResourceType) -> bool:
    return rt.storage != rt.group_resource


def to_storage(rt: ResourceType, obj: Obj) -> Obj:
    """A served-form object (as written through `rt`) in its storage form."""
    if not needs_conversion(rt):
        return obj
    out = _rename(obj, _EVENTS_TO_CORE)
    out["apiVersion"], out["kind"] = "v1", rt.kind
    return out


def from_storage(rt: ResourceType, obj: Obj) -> Obj:
    """A stored object as seen through `rt` (same dict when no conversion is needed)."""
    if needs_conversion(rt):
        out = _rename(obj, _CORE_TO_EVENTS)
        out["apiVersion"], out["kind"] = rt.api_version, rt.kind
        return out
    if obj.get("apiVersion") == rt.api_version and obj.get("kind") == rt.kind:
        return obj
    return {**obj, "apiVersion": rt.api_version, "kind": rt.kind}
