"""The kinds the stand-in serves: built-ins it needs, and the ones CustomResourceDefinitions register.

Several served versions of one CRD share one storage (`GroupResource`); the stand-in does no
conversion between versions (like a CRD with `conversion: None`, only `apiVersion` is rewritten).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple

Obj = dict[str, Any]

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
SUBRESOURCE_VERBS = ("get", "patch", "update")


class GroupResource(NamedTuple):
    group: str
    resource: str

    def __str__(self) -> str:
        return f"{self.resource}.{self.group}" if self.group else self.resource


@dataclass
class ResourceType:
    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    status_subresource: bool = False
    # CRD `additionalPrinterColumns` (name, type, jsonPath, format, description, priority).
    printer_columns: list[Obj] = field(default_factory=list)
    # The version's openAPIV3Schema (None for built-ins: they are not validated beyond basics).
    schema: Obj | None = None
    crd_name: str | None = None
    # Built-ins whose PATCH accepts strategic merge (kubectl sends it for them).
    strategic_merge: bool = False
    # Objects of kinds with a generation: CRs and CRDs (the server bumps it on spec changes).
    has_generation: bool = False
    # Create-only review kinds (SelfSubjectAccessReview, SubjectAccessReview, ...): answered, never stored.
    review: bool = False
    # Kinds stored under another group (events.k8s.io Events live with core/v1 Events).
    storage_group: str | None = None

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> GroupResource:
        return GroupResource(self.group, self.plural)

    @property
    def storage(self) -> GroupResource:
        return GroupResource(self.group if self.storage_group is None else self.storage_group, self.plural)

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def is_custom(self) -> bool:
        return self.crd_name is not None


def builtin_types() -> list[ResourceType]:
    """The built-in kinds kopf, kubectl and the operator touch."""
    return [
        ResourceType(
            "",
            "v1",
            "namespaces",
            "namespace",
            "Namespace",
            namespaced=False,
            short_names=("ns",),
            status_subresource=True,
            strategic_merge=True,
        ),
        ResourceType("", "v1", "configmaps", "configmap", "ConfigMap", True, short_names=("cm",), strategic_merge=True),
        ResourceType("", "v1", "secrets", "secret", "Secret", True, strategic_merge=True),
        ResourceType("", "v1", "events", "event", "Event", True, short_names=("ev",), strategic_merge=True),
        ResourceType("events.k8s.io", "v1", "events", "event", "Event", True, short_names=("ev",), storage_group=""),
        ResourceType("coordination.k8s.io", "v1", "leases", "lease", "Lease", True, strategic_merge=True),
        *(
            ResourceType(group, "v1", plural, "", kind, namespaced=namespaced, review=True)
            for group, plural, kind, namespaced in (
                ("authorization.k8s.io", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False),
                ("authorization.k8s.io", "subjectaccessreviews", "SubjectAccessReview", False),
                ("authorization.k8s.io", "localsubjectaccessreviews", "LocalSubjectAccessReview", True),
                ("authorization.k8s.io", "selfsubjectrulesreviews", "SelfSubjectRulesReview", False),
                ("authentication.k8s.io", "selfsubjectreviews", "SelfSubjectReview", False),
            )
        ),
        *(
            ResourceType(
                "rbac.authorization.k8s.io", "v1", plural, kind.lower(), kind, namespaced, strategic_merge=True
            )
            for plural, kind, namespaced in (
                ("roles", "Role", True),
                ("rolebindings", "RoleBinding", True),
                ("clusterroles", "ClusterRole", False),
                ("clusterrolebindings", "ClusterRoleBinding", False),
            )
        ),
        ResourceType(
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
            "customresourcedefinition",
            "CustomResourceDefinition",
            namespaced=False,
            short_names=("crd", "crds"),
            categories=("api-extensions",),
            status_subresource=True,
            has_generation=True,
        ),
    ]


def workload_types() -> list[ResourceType]:
    """The kinds the Helm chart renders, named as the real discovery documents name them (see workloads.py)."""
    return [
        ResourceType(
            "apps",
            "v1",
            "deployments",
            "deployment",
            "Deployment",
            True,
            short_names=("deploy",),
            categories=("all",),
            status_subresource=True,
            strategic_merge=True,
            has_generation=True,
        ),
        ResourceType(
            "",
            "v1",
            "services",
            "service",
            "Service",
            True,
            short_names=("svc",),
            categories=("all",),
            status_subresource=True,
            strategic_merge=True,
        ),
        ResourceType("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", True, short_names=("sa",)),
        ResourceType(
            "",
            "v1",
            "pods",
            "pod",
            "Pod",
            True,
            short_names=("po",),
            categories=("all",),
            status_subresource=True,
            strategic_merge=True,
        ),
        ResourceType(
            "policy",
            "v1",
            "poddisruptionbudgets",
            "poddisruptionbudget",
            "PodDisruptionBudget",
            True,
            short_names=("pdb",),
            status_subresource=True,
            strategic_merge=True,
            has_generation=True,
        ),
        ResourceType(
            "networking.k8s.io",
            "v1",
            "networkpolicies",
            "networkpolicy",
            "NetworkPolicy",
            True,
            short_names=("netpol",),
            strategic_merge=True,
            has_generation=True,
        ),
        ResourceType(
            "networking.k8s.io",
            "v1",
            "ingresses",
            "ingress",
            "Ingress",
            True,
            short_names=("ing",),
            status_subresource=True,
            strategic_merge=True,
            has_generation=True,
        ),
    ]


def types_from_crd(crd: Obj) -> list[ResourceType]:
    """One ResourceType per served version of a CustomResourceDefinition object."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    kind = str(names.get("kind", ""))
    out = []
    for version in spec.get("versions") or []:
        if not version.get("served", True):
            continue
        subresources = version.get("subresources") or {}
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        out.append(
            ResourceType(
                group=str(spec.get("group", "")),
                version=str(version.get("name", "")),
                plural=str(names.get("plural", "")),
                singular=str(names.get("singular") or kind.lower()),
                kind=kind,
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                status_subresource="status" in subresources,
                printer_columns=list(version.get("additionalPrinterColumns") or []),
                schema=schema if isinstance(schema, dict) else None,
                crd_name=str((crd.get("metadata") or {}).get("name", "")),
                has_generation=True,
            )
        )
    return out


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Kubernetes version ordering (v1 > v1beta2 > v1beta1 > v1alpha1 > other names), as a sort key."""
    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if m is None:
        return (3, 0, 0, version)
    stability = {None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    return (stability, -int(m.group(1)), -int(m.group(3) or 0), "")


class Registry:
    """Served (group, version, plural) → ResourceType; CRDs add and remove entries at run time."""

    def __init__(self) -> None:
        self._types: dict[tuple[str, str, str], ResourceType] = {}
        for rt in [*builtin_types(), *workload_types()]:
            self.add(rt)

    def add(self, rt: ResourceType) -> None:
        self._types[(rt.group, rt.version, rt.plural)] = rt

    def replace_crd(self, crd_name: str, types: list[ResourceType]) -> None:
        self.remove_crd(crd_name)
        for rt in types:
            self.add(rt)

    def remove_crd(self, crd_name: str) -> None:
        for key in [k for k, rt in self._types.items() if rt.crd_name == crd_name]:
            del self._types[key]

    def get(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._types.get((group, version, plural))

    def all(self) -> list[ResourceType]:
        return list(self._types.values())

    def group_versions(self) -> dict[str, list[str]]:
        """group → served versions, the preferred (by Kubernetes version priority) first."""
        out: dict[str, list[str]] = {}
        for rt in self._types.values():
            versions = out.setdefault(rt.group, [])
            if rt.version not in versions:
                versions.append(rt.version)
        return {group: sorted(versions, key=version_priority) for group, versions in out.items()}

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [rt for rt in self._types.values() if rt.group == group and rt.version == version]

    def storage_of(self, gr: GroupResource) -> ResourceType | None:
        """A served type of a storage, the one in the storage's own group (used by the GC)."""
        for rt in self._types.values():
            if rt.group_resource == gr:
                return rt
        return next((rt for rt in self._types.values() if rt.storage == gr), None)
