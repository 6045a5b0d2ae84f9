"""Reads: the status of sreops objects, a ScanSchedule's findings, a PatchRun's progress.

They take the client to read with: pass `impersonating(api, actor)` to read as a chat/API user.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from kubernetes.client import ApiClient, CustomObjectsApi

from sreops.bots.actions.errors import ActionError, calling
from sreops.bots.actions.kinds import VIEWS, KindView, kind_view
from sreops.bots.actions.names import namespace_name, object_name
from sreops.bots.actions.views import ConditionView, FindingsView, ResourceStatus, RunProgress
from sreops.operator.api import GROUP, VERSION


def condition(obj: Mapping[str, Any], type_: str) -> ConditionView | None:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(c, Mapping) and c.get("type") == type_:
            return ConditionView(
                type=type_,
                status=str(c.get("status") or "Unknown"),
                reason=str(c.get("reason") or ""),
                message=str(c.get("message") or ""),
            )
    return None


def resource_status(view: KindView, obj: Mapping[str, Any]) -> ResourceStatus:
    meta = obj.get("metadata") or {}
    summary = {**view.summary(obj), "created": meta.get("creationTimestamp")}
    return ResourceStatus(
        view.kind, str(meta.get("namespace") or ""), str(meta.get("name") or ""), condition(obj, "Ready"), summary
    )


def get_object(api: ApiClient, view: KindView, namespace: str, name: str) -> dict[str, Any]:
    """The object; ActionError 404 naming it when it is not there."""
    try:
        obj = calling(
            lambda: CustomObjectsApi(api).get_namespaced_custom_object(GROUP, VERSION, namespace, view.plural, name)
        )
    except ActionError as exc:
        if exc.status == 404:
            raise not_found(view.kind, namespace, name) from None
        raise
    return cast(dict[str, Any], obj)


def not_found(kind: str, namespace: str, name: str) -> ActionError:
    return ActionError(404, "NotFound", f"{kind} {name!r} not found in namespace {namespace!r}")


def _list(api: ApiClient, view: KindView, namespace: str | None, name: str | None) -> list[dict[str, Any]]:
    custom = CustomObjectsApi(api)
    selector = f"metadata.name={name}" if name else None
    if namespace is None:
        listing = calling(
            lambda: custom.list_cluster_custom_object(GROUP, VERSION, view.plural, field_selector=selector)
        )
    else:
        listing = calling(
            lambda: custom.list_namespaced_custom_object(
                GROUP, VERSION, namespace, view.plural, field_selector=selector
            )
        )
    return cast(list[dict[str, Any]], cast(dict[str, Any], listing).get("items") or [])


def status(
    api: ApiClient, namespace: str | None, kind: str | None = None, name: str | None = None
) -> list[ResourceStatus]:
    """The status of the sreops objects of a kind (all kinds if None) in a namespace (all if None), or of the
    ones with that name. Kinds the caller may not list are left out when no kind is asked for (403 only if
    every kind is forbidden); a name that matches nothing is a 404."""
    if namespace is not None:
        namespace_name(namespace)
    if name is not None:
        object_name(name)
    views = [kind_view(kind)] if kind else list(VIEWS)
    found: list[ResourceStatus] = []
    forbidden: ActionError | None = None
    for view in views:
        try:
            if name is not None and namespace is not None:
                try:
                    objects = [get_object(api, view, namespace, name)]
                except ActionError as exc:
                    if exc.status != 404:
                        raise
                    objects = []
            else:
                objects = _list(api, view, namespace, name)
        except ActionError as exc:
            if exc.status != 403 or kind:
                raise
            forbidden = exc
            continue
        found += [resource_status(view, obj) for obj in sorted(objects, key=_key)]
    if not found and forbidden is not None:
        raise forbidden
    if not found and name is not None:
        what = kind_view(kind).kind if kind else "sreops object"
        where = f" in namespace {namespace!r}" if namespace else ""
        raise ActionError(404, "NotFound", f"{what} {name!r} not found{where}")
    return found


def _key(obj: Mapping[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def findings(api: ApiClient, namespace: str, schedule: str) -> FindingsView:
    """A ScanSchedule's findings as its status reports them (counts, the top 10, lastScanTime, Ready)."""
    view = kind_view("ScanSchedule")
    obj = get_object(api, view, namespace_name(namespace), object_name(schedule, "schedule"))
    st = obj.get("status") or {}
    counts = {k: v for k, v in (st.get("findings") or {}).items() if isinstance(v, int)}
    for key, field in (("new", "newSinceLastScan"), ("resolved", "resolvedSinceLastScan")):
        if isinstance(st.get(field), int):
            counts[key] = st[field]
    top = [dict(f) for f in st.get("topFindings") or [] if isinstance(f, Mapping)]
    last = st.get("lastScanTime")
    return FindingsView(namespace, schedule, condition(obj, "Ready"), counts, top, str(last) if last else None)


def run_progress(api: ApiClient, namespace: str, run: str) -> RunProgress | None:
    """A PatchRun's counts and, once it has ended, its result; None until the operator has created it."""
    view = kind_view("PatchRun")
    try:
        obj = get_object(api, view, namespace_name(namespace), object_name(run, "run"))
    except ActionError as exc:
        if exc.status == 404:
            return None
        raise
    st = obj.get("status") or {}
    complete, failed = condition(obj, "Complete"), condition(obj, "Failed")
    succeeded = complete is not None and complete.status == "True"
    has_failed = failed is not None and failed.status == "True"
    done = bool(st.get("finishedAt")) or succeeded or has_failed
    result = ("Succeeded" if succeeded and not has_failed else "Failed") if done else None
    instances = {k: v for k, v in (st.get("instances") or {}).items() if isinstance(v, int)}
    failed_instances = [dict(f) for f in st.get("failedInstances") or [] if isinstance(f, Mapping)]
    return RunProgress(namespace, run, done, result, instances, failed_instances)
