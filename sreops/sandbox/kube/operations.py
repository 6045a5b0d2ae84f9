"""The verbs (create, get, list, update, patch, delete) with kube-apiserver's object semantics.

Stored objects are never mutated in place: every write builds a new dict, so the watch history can
hand out earlier versions safely. Everything here is synchronous and runs on the event loop, which
makes each request atomic with respect to the others.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from . import conversion, meta, patching, rbac, workloads
from .errors import ApiError, Cause, already_exists, bad_request, conflict, forbidden, gone, invalid, not_found
from .resources import GroupResource, Registry, ResourceType, types_from_crd
from .selectors import field_selector, label_selector
from .store import Store
from .validation import Validator

Obj = dict[str, Any]

CRD_GR = GroupResource("apiextensions.k8s.io", "customresourcedefinitions")
NAMESPACES_GR = GroupResource("", "namespaces")
CRD_CLEANUP = "customresourcecleanup.apiextensions.k8s.io"
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
# NamespaceLifecycle refuses to delete these.
IMMORTAL_NAMESPACES = ("default", "kube-system", "kube-public")


@dataclass
class Ctx:
    """Per-request options that change how a write is done."""

    dry_run: bool = False
    field_validation: str = "Ignore"  # Ignore | Warn | Strict (kubectl sends Strict)
    field_manager: str = ""
    force: bool = False
    # A write through namespaces/<name>/finalize: the only one that may change a namespace's spec.finalizers.
    finalize: bool = False
    warnings: list[str] = field(default_factory=list)


def served(rt: ResourceType, obj: Obj) -> Obj:
    """The stored object as seen through `rt` (CR versions: only apiVersion changes; see resources.py)."""
    return conversion.from_storage(rt, obj)


def _content(obj: Obj) -> Obj:
    """What counts for `generation`: everything but metadata and status."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


class Api:
    def __init__(self, store: Store, registry: Registry) -> None:
        self.store = store
        self.registry = registry
        self._validators: dict[int, Validator] = {}
        self._applied: dict[tuple[GroupResource, str, str, str], Any] = {}
        self.gc_wakeup: Any = None  # set by the garbage collector: a callable that schedules a sweep
        for crd in store.items(CRD_GR):
            registry.replace_crd(crd["metadata"]["name"], types_from_crd(crd))
        for name in SYSTEM_NAMESPACES:
            if store.get(NAMESPACES_GR, "", name) is None:
                self.create(self._rt("", "v1", "namespaces"), None, {"metadata": {"name": name}}, Ctx())

    def _rt(self, group: str, version: str, plural: str) -> ResourceType:
        rt = self.registry.get(group, version, plural)
        assert rt is not None
        return rt

    def _wake_gc(self) -> None:
        if self.gc_wakeup is not None:
            self.gc_wakeup()

    # -- reads ----------------------------------------------------------------------------------
    def get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        obj = self.store.get(rt.storage, namespace or "", name)
        if obj is None:
            raise not_found(rt.plural, rt.group, name)
        return served(rt, obj)

    def list(self, rt: ResourceType, namespace: str | None, query: dict[str, str]) -> Obj:
        self._check_list_rv(query)
        labels = label_selector(query.get("labelSelector"))
        fields = field_selector(query.get("fieldSelector"), rt.kind)
        items = [o for o in (served(rt, s) for s in self.store.items(rt.storage, namespace)) if labels(o) and fields(o)]
        list_meta: Obj = {"resourceVersion": str(self.store.rv)}
        token = query.get("continue")
        if token:
            start = self._decode_continue(token)
            items = [o for o in items if "/".join(meta_key(o)) > start]
        limit = int(query.get("limit") or 0) if (query.get("limit") or "0").isdigit() else 0
        if limit and len(items) > limit:
            rest = len(items) - limit
            items = items[:limit]
            last = "/".join(meta_key(items[-1]))
            raw = json.dumps({"v": "meta.k8s.io/v1", "rv": self.store.rv, "start": last})
            list_meta["continue"] = base64.urlsafe_b64encode(raw.encode()).decode()
            list_meta["remainingItemCount"] = rest
        return {
            "kind": rt.list_kind,
            "apiVersion": rt.api_version,
            "metadata": list_meta,
            "items": items,
        }

    def _check_list_rv(self, query: dict[str, str]) -> None:
        rv = query.get("resourceVersion")
        if not rv or rv == "0":
            return
        if not rv.isdigit():
            raise bad_request(f"invalid resource version: {rv}")
        if int(rv) > self.store.rv:
            raise ApiError(
                504,
                "Timeout",
                f"Too large resource version: {rv}, current: {self.store.rv}",
                causes=[Cause("ResourceVersionTooLarge", "Too large resource version", "")],
                retry_after=1,
            )
        # Exact reads of an old snapshot are not kept: only the current state is served.
        if query.get("resourceVersionMatch") == "Exact" and int(rv) != self.store.rv:
            raise gone(f"The resourceVersion for the provided list is too old: {rv}")

    @staticmethod
    def _decode_continue(token: str) -> str:
        try:
            data = json.loads(base64.urlsafe_b64decode(token.encode()))
            return str(data["start"])
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise bad_request(f"continue key is not valid: {exc}") from exc

    # -- create ---------------------------------------------------------------------------------
    def create(self, rt: ResourceType, namespace: str | None, body: Any, ctx: Ctx) -> Obj:
        if not isinstance(body, dict):
            raise bad_request("the body of the request was not a JSON object")
        obj = copy.deepcopy(body)
        if obj.get("metadata") is None:
            obj["metadata"] = {}
        self._check_shape(rt, obj)
        md = obj["metadata"]
        self._check_kind(rt, obj)
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        namespace = self._place(rt, md, namespace)
        name = str(md["name"])
        causes = []
        if rt.group == rbac.GROUP:
            name_problem = rbac.check_name(name)
        else:
            name_problem = meta.check_name(name, label=rt.kind == "Namespace")
        if name_problem:
            causes.append(name_problem)
        causes += meta.check_labels(md.get("labels"))
        if causes:
            raise invalid(rt.kind, rt.group, name, causes)
        if self.store.get(rt.storage, namespace or "", name) is not None:
            raise already_exists(rt.plural, rt.group, name)
        for server_field in (
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "managedFields",
            "selfLink",
        ):
            md.pop(server_field, None)
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = meta.now()
        if rt.has_generation:
            md["generation"] = 1
        if rt.status_subresource and rt.is_custom:
            obj.pop("status", None)  # creating through the main resource never sets status
        self._prepare_builtin(rt, obj, None, ctx)
        self._validate(rt, obj, None, ctx)
        if rt.group_resource == CRD_GR:
            self._prepare_crd(obj)
        if ctx.dry_run:
            return served(rt, obj)
        md["resourceVersion"] = self.store.next_rv()
        self.store.save(rt.storage, conversion.to_storage(rt, obj), None)
        if rt.group_resource == CRD_GR:
            self.registry.replace_crd(name, types_from_crd(obj))
        if md.get("ownerReferences"):
            self._wake_gc()
        return served(rt, obj)

    def _place(self, rt: ResourceType, md: Obj, namespace: str | None) -> str | None:
        """Settles metadata.namespace and metadata.name (from generateName) of an object being created."""
        if rt.namespaced:
            body_ns = md.get("namespace")
            if body_ns and namespace and body_ns != namespace:
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            md["namespace"] = namespace = namespace or body_ns or "default"
            self._require_namespace(rt, namespace, str(md.get("name") or ""))
        else:
            md.pop("namespace", None)
        if not md.get("name"):
            prefix = md.get("generateName")
            if not prefix:
                raise invalid(
                    rt.kind,
                    rt.group,
                    "",
                    [Cause("FieldValueRequired", "Required value: name or generateName is required", "metadata.name")],
                )
            md["name"] = meta.generated_name(str(prefix))
            while self.store.get(rt.storage, namespace or "", md["name"]) is not None:
                md["name"] = meta.generated_name(str(prefix))
        return namespace

    @staticmethod
    def _check_shape(rt: ResourceType, obj: Obj) -> None:
        problem = meta.check_metadata_shape(obj.get("metadata")) or meta.check_builtin_shape(rt.kind, obj)
        if problem is None and rt.group == rbac.GROUP:
            problem = rbac.check_shape(rt.kind, obj)
        if problem is None and not isinstance(obj.get("kind", ""), str | None):
            problem = "kind must be a string"
        if problem is None and not isinstance(obj.get("apiVersion", ""), str | None):
            problem = "apiVersion must be a string"
        if problem is not None:
            raise bad_request(f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: {problem}')

    def _check_kind(self, rt: ResourceType, obj: Obj) -> None:
        kind, api_version = obj.get("kind"), obj.get("apiVersion")
        if kind and kind != rt.kind:
            raise bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({rt.api_version})"
                if api_version and api_version != rt.api_version
                else f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})"
            )

    def _require_namespace(self, rt: ResourceType, namespace: str, name: str) -> None:
        """NamespaceLifecycle admission: nothing new in a namespace that is missing or being terminated."""
        ns = self.store.get(NAMESPACES_GR, "", namespace)
        if ns is None:
            raise not_found("namespaces", "", namespace)
        if ns["metadata"].get("deletionTimestamp"):
            raise forbidden(
                rt.plural,
                rt.group,
                name,
                f"unable to create new content in namespace {namespace} because it is being terminated",
                [Cause("NamespaceTerminating", f"namespace {namespace} is being terminated", "metadata.namespace")],
            )

    def _prepare_builtin(self, rt: ResourceType, obj: Obj, old: Obj | None, ctx: Ctx) -> None:
        if rt.group == rbac.GROUP:
            rbac.set_defaults(rt.kind, obj)
            causes = rbac.validate(rt.kind, obj, old)
            if causes:
                raise invalid(rt.kind, rt.group, str(obj["metadata"].get("name", "")), causes)
        elif rt.group_resource == NAMESPACES_GR:
            spec = obj.setdefault("spec", {})
            if old is None:  # created with the `kubernetes` finalizer, whatever the body says
                finalizers = list(spec.get("finalizers") or [])
                spec["finalizers"] = finalizers if "kubernetes" in finalizers else [*finalizers, "kubernetes"]
            elif not ctx.finalize:  # only /finalize changes them
                spec["finalizers"] = list((old.get("spec") or {}).get("finalizers") or [])
            phase = "Terminating" if obj["metadata"].get("deletionTimestamp") else "Active"
            obj["status"] = {**(obj.get("status") or {}), "phase": phase}
            obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
        elif rt.group_resource == GroupResource("", "secrets"):
            string_data = obj.pop("stringData", None)
            if isinstance(string_data, dict):
                data = obj.setdefault("data", {})
                for key, value in string_data.items():
                    data[key] = base64.b64encode(str(value).encode()).decode()
            if not obj.get("type"):
                obj["type"] = "Opaque"
        elif old is None and rt.group_resource in workloads.GROUP_RESOURCES:
            # PrepareForCreate: the body's status is replaced, never kept.
            status = workloads.initial_status(rt.kind, obj)
            obj.pop("status", None)
            if status is not None:
                obj["status"] = status

    def _prepare_crd(self, obj: Obj) -> None:
        spec = obj.get("spec") or {}
        names = spec.get("names") or {}
        causes = []
        if not spec.get("group"):
            causes.append(Cause("FieldValueRequired", "Required value", "spec.group"))
        if not names.get("plural"):
            causes.append(Cause("FieldValueRequired", "Required value", "spec.names.plural"))
        if not names.get("kind"):
            causes.append(Cause("FieldValueRequired", "Required value", "spec.names.kind"))
        versions = spec.get("versions") or []
        if not versions:
            causes.append(
                Cause(
                    "FieldValueRequired",
                    "Required value: must have exactly one version marked as storage version",
                    "spec.versions",
                )
            )
        for i, version in enumerate(versions):
            if not (version.get("schema") or {}).get("openAPIV3Schema"):
                causes.append(
                    Cause(
                        "FieldValueRequired",
                        "Required value: schemas are required",
                        f"spec.versions[{i}].schema.openAPIV3Schema",
                    )
                )
        expected = f"{names.get('plural')}.{spec.get('group')}"
        if obj["metadata"]["name"] != expected:
            causes.append(
                Cause(
                    "FieldValueInvalid",
                    f'Invalid value: "{obj["metadata"]["name"]}": must be spec.names.plural+"."+spec.group',
                    "metadata.name",
                )
            )
        if causes:
            raise invalid("CustomResourceDefinition", "apiextensions.k8s.io", obj["metadata"]["name"], causes)
        finalizers = obj["metadata"].setdefault("finalizers", [])
        if CRD_CLEANUP not in finalizers and not obj["metadata"].get("deletionTimestamp"):
            finalizers.append(CRD_CLEANUP)
        accepted = {**names, "singular": names.get("singular") or str(names["kind"]).lower()}
        accepted.setdefault("listKind", f"{names['kind']}List")
        spec["names"] = accepted
        spec.setdefault("scope", "Namespaced")
        for version in versions:
            version.setdefault("served", True)
        stamp = meta.now()
        terminating = bool(obj["metadata"].get("deletionTimestamp"))
        conditions = [
            {
                "type": "NamesAccepted",
                "status": "True",
                "reason": "NoConflicts",
                "message": "no conflicts found",
                "lastTransitionTime": stamp,
            },
            {
                "type": "Established",
                "status": "True",
                "reason": "InitialNamesAccepted",
                "message": "the initial names have been accepted",
                "lastTransitionTime": stamp,
            },
        ]
        if terminating:
            conditions.append(
                {
                    "type": "Terminating",
                    "status": "True",
                    "reason": "InstanceDeletionInProgress",
                    "message": "CustomResource deletion is in progress",
                    "lastTransitionTime": stamp,
                }
            )
        old_status = obj.get("status") or {}
        obj["status"] = {
            "acceptedNames": accepted,
            "conditions": old_status.get("conditions")
            if old_status.get("conditions") and not terminating
            else conditions,
            "storedVersions": sorted(
                {str(v.get("name")) for v in versions if v.get("storage")} | set(old_status.get("storedVersions") or [])
            ),
        }

    def _validate(self, rt: ResourceType, obj: Obj, old: Obj | None, ctx: Ctx) -> None:
        if rt.schema is None:
            return
        validator = self._validators.get(id(rt.schema))
        if validator is None or validator.root is not rt.schema:
            validator = self._validators[id(rt.schema)] = Validator(rt.schema)
        outcome = validator.run(obj, old)
        name = str(obj["metadata"].get("name", ""))
        if outcome.pruned and ctx.field_validation == "Strict":
            unknown = ", ".join(f'unknown field "{p}"' for p in outcome.pruned)
            raise bad_request(
                f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
                f"strict decoding error: {unknown}"
            )
        if outcome.pruned and ctx.field_validation == "Warn":
            ctx.warnings += [f'unknown field "{p}"' for p in outcome.pruned]
        if outcome.causes:
            raise invalid(rt.kind, rt.group, name, outcome.causes)

    # -- update ---------------------------------------------------------------------------------
    def replace(self, rt: ResourceType, namespace: str | None, name: str, body: Any, ctx: Ctx, *, status: bool) -> Obj:
        if not isinstance(body, dict) or not isinstance(body.get("metadata", {}), dict):
            raise bad_request("the body of the request was not a JSON object")
        old = self.store.get(rt.storage, namespace or "", name)
        if old is None:
            raise not_found(rt.plural, rt.group, name)
        body_md = body.get("metadata") or {}
        if body_md.get("name") and body_md["name"] != name:
            raise bad_request("the name of the object does not match the name on the URL")
        rv = body_md.get("resourceVersion")
        if not rv and rt.is_custom:
            raise invalid(
                rt.kind,
                rt.group,
                name,
                [
                    Cause(
                        "FieldValueInvalid",
                        "Invalid value: 0x0: must be specified for an update",
                        "metadata.resourceVersion",
                    )
                ],
            )
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise conflict(rt.plural, rt.group, name)
        self._check_kind(rt, body)
        return self._commit(rt, old, copy.deepcopy(body), ctx, status=status)

    def patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        content_type: str,
        raw: bytes,
        ctx: Ctx,
        *,
        status: bool,
    ) -> Obj:
        patch = patching.parse_body(content_type, raw)
        old = self.store.get(rt.storage, namespace or "", name)
        if content_type in (patching.APPLY, patching.APPLY_CBOR):
            return self._apply(rt, namespace, name, old, patch, ctx, status=status)
        if old is None:
            raise not_found(rt.plural, rt.group, name)
        current = served(rt, old)
        if content_type == patching.MERGE:
            if not isinstance(patch, dict):
                raise bad_request("merge patch must be a JSON object")
            new = patching.merge_patch(current, patch)
        elif content_type == patching.JSON_PATCH:
            new = patching.json_patch(current, patch)
        elif content_type == patching.STRATEGIC:
            if not rt.strategic_merge:
                raise ApiError(
                    415,
                    "UnsupportedMediaType",
                    f"the body of the request was in an unknown format - accepted media types include: "
                    f"{patching.JSON_PATCH}, {patching.MERGE}, {patching.APPLY}",
                )
            if not isinstance(patch, dict):
                raise bad_request("strategic merge patch must be a JSON object")
            new = patching.strategic_merge(current, patch)
        else:
            raise ApiError(
                415, "UnsupportedMediaType", f"the body of the request was in an unknown format: {content_type}"
            )
        md = new.get("metadata") if isinstance(new, dict) else None
        if not isinstance(md, dict):
            raise bad_request("the patched object has no metadata")
        rv = md.get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise conflict(rt.plural, rt.group, name)
        if md.get("name") != name:
            raise bad_request("the name of the object does not match the name on the URL")
        return self._commit(rt, old, new, ctx, status=status)

    def _apply(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        old: Obj | None,
        applied: Any,
        ctx: Ctx,
        *,
        status: bool,
    ) -> Obj:
        if not isinstance(applied, dict) or not isinstance(applied.get("metadata", {}), dict):
            raise bad_request("the applied configuration must be an object with metadata")
        if not ctx.field_manager:
            raise bad_request("PATCH, application/apply-patch+yaml requires fieldManager to be set")
        key = (rt.storage, namespace or "", name, ctx.field_manager)
        if old is None:
            body = copy.deepcopy(applied)
            body.setdefault("metadata", {})["name"] = name
            created = self.create(rt, namespace, body, ctx)
            if not ctx.dry_run:
                self._applied[key] = copy.deepcopy(applied)
            return created
        new = patching.apply_merge(served(rt, old), applied, rt.schema)
        previous = self._applied.get(key)
        if previous is not None:
            for section in ("spec", "status", "data"):
                patching.remove_dropped(new.get(section), previous.get(section), applied.get(section))
        new["metadata"] = {**new["metadata"], "resourceVersion": old["metadata"]["resourceVersion"]}
        result = self._commit(rt, old, new, ctx, status=status)
        if not ctx.dry_run:
            self._applied[key] = copy.deepcopy(applied)
        return result

    @staticmethod
    def _keep_server_fields(rt: ResourceType, old: Obj, new: Obj, *, status: bool) -> Obj:
        """Server-owned metadata comes from the stored object; with a status subresource, either only
        status (a /status write) or everything but status (a main-resource write) is taken from `new`."""
        old_md = old["metadata"]
        md = new["metadata"]
        new["apiVersion"], new["kind"] = rt.api_version, rt.kind
        for kept in (
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
        ):
            if kept in old_md:
                md[kept] = old_md[kept]
            else:
                md.pop(kept, None)
        md.pop("managedFields", None)
        if rt.status_subresource:
            if status:
                # /status writes change status only (metadata and spec come from the stored object).
                new = {**copy.deepcopy(old), "status": new.get("status")}
                if new["status"] is None:
                    del new["status"]
                new["apiVersion"], new["kind"] = rt.api_version, rt.kind
                md = new["metadata"]
            elif "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        return new

    def _commit(self, rt: ResourceType, old: Obj, new: Obj, ctx: Ctx, *, status: bool) -> Obj:
        """Shared tail of PUT and PATCH: keeps server-owned fields, validates, stores (if changed)."""
        gr = rt.storage
        old_md = old["metadata"]
        if not isinstance(new, dict):
            raise bad_request("the object must be a JSON object")
        if new.get("metadata") is None:
            new["metadata"] = {}
        self._check_shape(rt, new)
        new = self._keep_server_fields(rt, old, new, status=status)
        md = new["metadata"]
        causes = meta.check_labels(md.get("labels"))
        if causes:
            raise invalid(rt.kind, rt.group, md["name"], causes)
        self._prepare_builtin(rt, new, old, ctx)
        self._validate(rt, new, old, ctx)
        if gr == CRD_GR:
            self._prepare_crd(new)
        if old_md.get("deletionTimestamp"):
            added = set(md.get("finalizers") or []) - set(old_md.get("finalizers") or [])
            if added:
                raise invalid(
                    rt.kind,
                    rt.group,
                    md["name"],
                    [
                        Cause(
                            "FieldValueForbidden",
                            "Forbidden: no new finalizers can be added if the object is being deleted",
                            "metadata.finalizers",
                        )
                    ],
                )
        if rt.has_generation and _content(new) != _content(served(rt, old)):
            md["generation"] = int(old_md.get("generation", 1)) + 1
        md["resourceVersion"] = old_md["resourceVersion"]
        if new == served(rt, old):
            return new  # a no-op write: no new resourceVersion and no watch event, as on the real server
        if ctx.dry_run:
            return new
        md["resourceVersion"] = self.store.next_rv()
        if md.get("deletionTimestamp") and not self._pending_finalizers(rt, new):
            self.store.remove(gr, conversion.to_storage(rt, new))
            self._after_removal(rt, new)
            return new
        self.store.save(gr, conversion.to_storage(rt, new), old)
        if gr == CRD_GR:
            self.registry.replace_crd(md["name"], types_from_crd(new))
        if md.get("ownerReferences") != old_md.get("ownerReferences"):
            self._wake_gc()
        return new

    # -- delete ---------------------------------------------------------------------------------
    @staticmethod
    def _pending_finalizers(rt: ResourceType, obj: Obj) -> bool:
        if obj["metadata"].get("finalizers"):
            return True
        return rt.group_resource == NAMESPACES_GR and bool((obj.get("spec") or {}).get("finalizers"))

    def delete(self, rt: ResourceType, namespace: str | None, name: str, options: Obj, ctx: Ctx) -> tuple[Obj, bool]:
        """Returns (object, removed now). Objects with finalizers get a deletionTimestamp and stay."""
        if rt.group_resource == NAMESPACES_GR and name in IMMORTAL_NAMESPACES:
            raise forbidden("namespaces", "", name, "this namespace may not be deleted")
        old = self.store.get(rt.storage, namespace or "", name)
        if old is None:
            raise not_found(rt.plural, rt.group, name)
        pre = options.get("preconditions") or {}
        if pre.get("uid") and pre["uid"] != old["metadata"]["uid"]:
            raise conflict(
                rt.plural,
                rt.group,
                name,
                f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: {old['metadata']['uid']}",
            )
        if pre.get("resourceVersion") and pre["resourceVersion"] != old["metadata"]["resourceVersion"]:
            raise conflict(
                rt.plural,
                rt.group,
                name,
                f"Precondition failed: ResourceVersion in precondition: {pre['resourceVersion']}, "
                f"ResourceVersion in object meta: {old['metadata']['resourceVersion']}",
            )
        new = copy.deepcopy(old)
        md = new["metadata"]
        policy = options.get("propagationPolicy")
        if policy is None and options.get("orphanDependents") is not None:
            policy = "Orphan" if options["orphanDependents"] else "Background"
        finalizers = list(md.get("finalizers") or [])
        if not md.get("deletionTimestamp"):
            if policy == "Foreground" and "foregroundDeletion" not in finalizers:
                finalizers.append("foregroundDeletion")
            elif policy == "Orphan" and "orphan" not in finalizers:
                finalizers.append("orphan")
        if finalizers:
            md["finalizers"] = finalizers
        if rt.group_resource == NAMESPACES_GR:
            new["status"] = {**(new.get("status") or {}), "phase": "Terminating"}
        if ctx.dry_run:
            return served(rt, new), False
        if self._pending_finalizers(rt, new):
            if md.get("deletionTimestamp") and new == old:
                return served(rt, old), False
            if not md.get("deletionTimestamp") and rt.has_generation:
                # Real: marking an object as deleting bumps its generation (apiserver's markAsDeleting), so
                # status written for the spec before no longer claims to describe the object.
                md["generation"] = int(md.get("generation", 1)) + 1
            md.setdefault("deletionTimestamp", meta.now())
            md.setdefault("deletionGracePeriodSeconds", 0)
            if rt.group_resource == CRD_GR:
                self._prepare_crd(new)
            md["resourceVersion"] = self.store.next_rv()
            self.store.save(rt.storage, new, old)
            self._wake_gc()
            return served(rt, new), False
        md["resourceVersion"] = self.store.next_rv()
        self.store.remove(rt.storage, new)
        self._after_removal(rt, new)
        return served(rt, new), True

    def _after_removal(self, rt: ResourceType, obj: Obj) -> None:
        if rt.group_resource == CRD_GR:
            self.registry.remove_crd(obj["metadata"]["name"])
        gr = rt.storage
        self._applied = {k: v for k, v in self._applied.items() if not (k[0] == gr and k[1:3] == meta_key(obj))}
        self._wake_gc()

    def delete_collection(
        self, rt: ResourceType, namespace: str | None, query: dict[str, str], options: Obj, ctx: Ctx
    ) -> Obj:
        listed = self.list(rt, namespace, {k: v for k, v in query.items() if k in ("labelSelector", "fieldSelector")})
        for item in listed["items"]:
            md = item["metadata"]
            self.delete(rt, md.get("namespace"), md["name"], options, ctx)
        return listed


def meta_key(obj: Obj) -> tuple[str, str]:
    md = obj.get("metadata") or {}
    return (str(md.get("namespace") or ""), str(md.get("name") or ""))
