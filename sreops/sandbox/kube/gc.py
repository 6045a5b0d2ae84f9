"""Background work the real control plane does outside the request path.

- ownerReference garbage collection (background propagation): a dependent whose owners are all gone
  is deleted; dangling references to some of its owners are dropped;
- `foregroundDeletion` and `orphan` finalizers on owners;
- namespace termination: contents are deleted, then the namespace's `kubernetes` finalizer goes;
- CRD deletion: instances are deleted, then the `customresourcecleanup` finalizer goes.

Like the real controllers it is eventually consistent: a sweep runs shortly after any deletion.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from .errors import ApiError
from .operations import CRD_CLEANUP, CRD_GR, NAMESPACES_GR, Api, Ctx
from .resources import GroupResource, ResourceType

Obj = dict[str, Any]
log = logging.getLogger(__name__)


class GarbageCollector:
    def __init__(self, api: Api) -> None:
        self.api = api
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        api.gc_wakeup = self._wakeup.set

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop())
        self._wakeup.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while True:
            await self._wakeup.wait()
            await asyncio.sleep(0.05)  # coalesce a burst of deletions into one sweep
            self._wakeup.clear()
            try:
                self.sweep()
            except Exception:
                log.exception("garbage collection sweep failed")

    def _type(self, gr: GroupResource) -> ResourceType | None:
        return self.api.registry.storage_of(gr)

    def _delete(self, gr: GroupResource, obj: Obj, options: Obj | None = None) -> None:
        rt = self._type(gr)
        md = obj["metadata"]
        if rt is None or md.get("deletionTimestamp"):
            return
        with contextlib.suppress(ApiError):
            self.api.delete(rt, md.get("namespace"), md["name"], options or {"propagationPolicy": "Background"}, Ctx())

    def _update_meta(self, gr: GroupResource, obj: Obj, **changes: Any) -> None:
        rt = self._type(gr)
        if rt is None:
            return
        new = {**obj, "metadata": {**obj["metadata"], **changes}}
        with contextlib.suppress(ApiError):
            self.api._commit(rt, obj, new, Ctx(), status=False)

    def _owner_state(self, ref: Obj, namespace: str) -> str:
        """ "live", "absent" or "unknown" for an ownerReference of an object in `namespace` ("" if
        cluster-scoped). Like the real collector, the owner is looked up by the reference's group, kind
        and name (in the dependent's namespace if the kind is namespaced) and must have the reference's
        uid: the uid of an object of another kind or namespace does not make it an owner."""
        group = str(ref.get("apiVersion", "")).rpartition("/")[0]
        rt = next((t for t in self.api.registry.all() if t.group == group and t.kind == ref.get("kind")), None)
        if rt is None or (rt.namespaced and not namespace):
            return "unknown"  # an unresolvable reference: the dependent is kept, as on the real server
        owner = self.api.store.get(rt.storage, namespace if rt.namespaced else "", str(ref.get("name", "")))
        return "live" if owner is not None and owner["metadata"]["uid"] == ref.get("uid") else "absent"

    def sweep(self) -> None:
        store = self.api.store
        objects = list(store.all_objects())
        dependents: dict[str, list[tuple[GroupResource, Obj]]] = {}
        for gr, obj in objects:
            refs = obj["metadata"].get("ownerReferences") or []
            states = [self._owner_state(ref, _key(obj)[0]) for ref in refs]
            for ref, state in zip(refs, states, strict=True):
                if state == "live":
                    dependents.setdefault(str(ref["uid"]), []).append((gr, obj))
            kept = [ref for ref, state in zip(refs, states, strict=True) if state != "absent"]
            if refs and not kept:
                self._delete(gr, obj)
            elif len(kept) < len(refs):
                self._update_meta(gr, obj, ownerReferences=kept)
        for gr, obj in objects:
            md = obj["metadata"]
            if not md.get("deletionTimestamp"):
                continue
            finalizers = md.get("finalizers") or []
            mine = [d for d in dependents.get(md["uid"], []) if store.get(d[0], *_key(d[1])) is not None]
            if "orphan" in finalizers:
                for dgr, dep in mine:
                    refs = [r for r in dep["metadata"].get("ownerReferences") or [] if r.get("uid") != md["uid"]]
                    self._update_meta(dgr, dep, ownerReferences=refs)
                self._drop_finalizer(gr, "orphan", md)
            elif "foregroundDeletion" in finalizers:
                for dgr, dep in mine:
                    self._delete(dgr, dep, {"propagationPolicy": "Foreground"})
                if not mine:
                    self._drop_finalizer(gr, "foregroundDeletion", md)
            if gr == NAMESPACES_GR:
                self._finish_namespace(obj)
            elif gr == CRD_GR and CRD_CLEANUP in finalizers:
                self._finish_crd(obj)

    def _drop_finalizer(self, gr: GroupResource, finalizer: str, md: Obj) -> None:
        current = self.api.store.get(gr, md.get("namespace") or "", md["name"])
        if current is None:
            return
        remaining = [f for f in current["metadata"].get("finalizers") or [] if f != finalizer]
        self._update_meta(gr, current, finalizers=remaining)

    def _finish_namespace(self, ns: Obj) -> None:
        store = self.api.store
        name = ns["metadata"]["name"]
        left = 0
        for gr in store.resources():
            rt = self._type(gr)
            if rt is None or not rt.namespaced:
                continue
            for obj in store.items(gr, name):
                left += 1
                self._delete(gr, obj)
        finalizers = (ns.get("spec") or {}).get("finalizers") or []
        if left == 0 and "kubernetes" in finalizers:
            current = store.get(NAMESPACES_GR, "", name)
            rt = self._type(NAMESPACES_GR)
            if current is not None and rt is not None:
                # Only its own finalizer: other spec.finalizers belong to other controllers.
                rest = [f for f in finalizers if f != "kubernetes"]
                new = {**current, "spec": {**current.get("spec", {}), "finalizers": rest}}
                with contextlib.suppress(ApiError):
                    self.api._commit(rt, current, new, Ctx(finalize=True), status=False)

    def _finish_crd(self, crd: Obj) -> None:
        store = self.api.store
        spec = crd.get("spec") or {}
        gr = GroupResource(str(spec.get("group", "")), str((spec.get("names") or {}).get("plural", "")))
        items = store.items(gr)
        for obj in items:
            self._delete(gr, obj)
        if not items:
            store.drop_resource(gr)
            self._drop_finalizer(CRD_GR, CRD_CLEANUP, crd["metadata"])


def _key(obj: Obj) -> tuple[str, str]:
    md = obj["metadata"]
    return (str(md.get("namespace") or ""), str(md["name"]))
