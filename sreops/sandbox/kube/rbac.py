"""Authorization as kube-apiserver does it with `--authorization-mode=RBAC`.

- `request_attributes`: what a request asks for (apiserver's RequestInfoFactory): the verb (get, list,
  watch, create, update, patch, delete, deletecollection; the lower-case method for non-resource
  paths), API group, resource, subresource, namespace (for `namespaces/<name>` the namespace is the
  name) and name (a list or watch with `fieldSelector=metadata.name=X` names X, so resourceNames
  rules apply to it).
- `Authorizer`: members of `system:masters` are allowed everything without looking at RBAC (the
  privileged-group authorizer in front of RBAC); everyone else is allowed by the first rule of a
  ClusterRoleBinding, or of a RoleBinding in the request's namespace, whose subject matches
  (plugin/pkg/auth/authorizer/rbac and pkg/registry/rbac/validation/rule.go). Bindings whose role is
  missing make the denial's reason `RBAC: role.rbac.authorization.k8s.io "x" not found`.
- `forbidden`: the 403 Status the real server writes (responsewriters.ForbiddenStatusError).
- Validation and defaulting of Role, ClusterRole, RoleBinding and ClusterRoleBinding
  (pkg/apis/rbac/validation, pkg/apis/rbac/v1/defaults.go) and the bootstrap policy a new cluster has
  (cluster-admin for system:masters; system:discovery, system:basic-user, system:public-info-viewer).

Not done: ClusterRole `aggregationRule` (stored, never aggregated), the escalation check on writes
of roles and bindings (the `escalate`/`bind` verbs are not consulted: whoever may create a binding may
grant any role), and the default admin/edit/view roles (they are built by aggregation).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, Cause
from .resources import GroupResource
from .store import Store

Obj = dict[str, Any]

GROUP = "rbac.authorization.k8s.io"
ROLES = GroupResource(GROUP, "roles")
CLUSTER_ROLES = GroupResource(GROUP, "clusterroles")
ROLE_BINDINGS = GroupResource(GROUP, "rolebindings")
CLUSTER_ROLE_BINDINGS = GroupResource(GROUP, "clusterrolebindings")
KINDS = ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")

SYSTEM_MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
ANONYMOUS = "system:anonymous"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"


@dataclass(frozen=True)
class UserInfo:
    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def as_json(self) -> Obj:
        """authentication.k8s.io/v1 UserInfo (SelfSubjectReview, audit events)."""
        out: Obj = {"username": self.name}
        if self.uid:
            out["uid"] = self.uid
        if self.groups:
            out["groups"] = list(self.groups)
        if self.extra:
            out["extra"] = {k: list(v) for k, v in self.extra.items()}
        return out


@dataclass(frozen=True)
class Attributes:
    """authorizer.Attributes: one question to the authorizer."""

    user: UserInfo
    verb: str
    resource_request: bool
    path: str = ""
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""


# -- request attributes ---------------------------------------------------------------------------
_METHOD_VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
_NAMESPACE_SUBRESOURCES = ("status", "finalize")


def is_watch(query: Mapping[str, str]) -> bool:
    """`watch` as the apiserver's bool query parameter reads it: anything but "0"/"false" is true."""
    if "watch" not in query:
        return False
    value = query["watch"]
    return value != "0" and value.lower() != "false"


def _valid_path_segment(name: str) -> bool:
    return name not in (".", "..") and "/" not in name and "%" not in name


def _field_selector_name(selector: str | None) -> str | None:
    """The name a field selector requires exactly (`metadata.name=X` or `==X` among its terms)."""
    if not selector:
        return None
    for term in selector.split(","):
        for op in ("==", "="):
            key, sep, value = term.partition(op)
            if sep and not key.endswith("!") and key.strip() == "metadata.name":
                return value.strip()
    return None


def request_attributes(method: str, path: str, query: Mapping[str, str], user: UserInfo) -> Attributes:
    """apiserver's RequestInfoFactory.NewRequestInfo, then the attributes built from it."""
    trimmed = path.strip("/")
    parts = trimmed.split("/") if trimmed else []
    non_resource = Attributes(user, method.lower(), False, path=path)
    if len(parts) < 3 or parts[0] not in ("api", "apis"):
        return non_resource
    prefix, parts = parts[0], parts[1:]
    group = ""
    if prefix == "apis":
        if len(parts) < 3:
            return non_resource
        group, parts = parts[0], parts[1:]
    version, parts = parts[0], parts[1:]
    verb = _METHOD_VERBS.get(method.upper(), "")
    if parts and parts[0] in ("watch", "proxy") and len(parts) >= 2:  # legacy /watch/ and /proxy/ paths
        verb, parts = parts[0], parts[1:]
    namespace = ""
    if parts and parts[0] == "namespaces" and len(parts) > 1:
        namespace = parts[1]
        if len(parts) > 2 and parts[2] not in _NAMESPACE_SUBRESOURCES:
            parts = parts[2:]
    resource = parts[0] if parts else ""
    name = parts[1] if len(parts) >= 2 else ""
    subresource = parts[2] if len(parts) >= 3 else ""
    if not name and verb == "get":
        verb = "watch" if is_watch(query) else "list"
        selected = _field_selector_name(query.get("fieldSelector"))
        if selected and _valid_path_segment(selected):
            name = selected
    if not name and verb == "delete":
        verb = "deletecollection"
    return Attributes(
        user,
        verb,
        True,
        path=path,
        api_group=group,
        api_version=version,
        resource=resource,
        subresource=subresource,
        namespace=namespace,
        name=name,
    )


# -- rule matching (rbacv1helpers) ----------------------------------------------------------------
def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def rule_allows(attrs: Attributes, rule: Obj) -> bool:
    verbs = _strings(rule.get("verbs"))
    if "*" not in verbs and attrs.verb not in verbs:
        return False
    if not attrs.resource_request:
        for url in _strings(rule.get("nonResourceURLs")):
            if url in ("*", attrs.path):
                return True
            if url.endswith("*") and attrs.path.startswith(url.rstrip("*")):
                return True
        return False
    groups = _strings(rule.get("apiGroups"))
    if "*" not in groups and attrs.api_group not in groups:
        return False
    combined = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    resources = _strings(rule.get("resources"))
    if not any(r in ("*", combined) or (attrs.subresource and r == f"*/{attrs.subresource}") for r in resources):
        return False
    names = _strings(rule.get("resourceNames"))
    return not names or attrs.name in names


# -- the authorizer -------------------------------------------------------------------------------
def go_quote(text: str) -> str:
    """Go's %q for the strings that appear in these messages."""
    return json.dumps(text, ensure_ascii=False)


def _describe_subject(subject: Obj, binding_namespace: str) -> str:
    kind, name = str(subject.get("kind", "")), str(subject.get("name", ""))
    if kind == "ServiceAccount":
        return f"{kind} {go_quote(name + '/' + str(subject.get('namespace') or binding_namespace))}"
    return f"{kind} {go_quote(name)}"


def _applies(user: UserInfo, subject: Obj, namespace: str) -> bool:
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "User":
        return user.name == name
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        sa_namespace = subject.get("namespace") or namespace
        return bool(sa_namespace) and user.name == f"{SERVICE_ACCOUNT_PREFIX}{sa_namespace}:{name}"
    return False


def _aggregate(errors: list[str]) -> str:
    """utilerrors.NewAggregate(...).Error(): one message, or `[a, b]` without repeats."""
    unique = list(dict.fromkeys(errors))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


class Authorizer:
    """The privileged-group authorizer, then RBAC over the stored roles and bindings."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def authorize(self, attrs: Attributes) -> tuple[bool, str]:
        """(allowed, reason): reason is `RBAC: allowed by ...` or, for a denial, RBAC's errors or ""."""
        if SYSTEM_MASTERS in attrs.user.groups:
            return True, ""
        errors: list[str] = []
        for source, rules, error in self._rule_sources(attrs.user, attrs.namespace):
            if error is not None:
                errors.append(error)
                continue
            for rule in rules:
                if rule_allows(attrs, rule):
                    return True, f"RBAC: allowed by {source}"
        return False, ("RBAC: " + _aggregate(errors)) if errors else ""

    def rules_for(self, user: UserInfo, namespace: str) -> tuple[list[Obj], list[str]]:
        """All rules that apply to `user` in `namespace` and the errors met (SelfSubjectRulesReview)."""
        rules: list[Obj] = []
        errors: list[str] = []
        if SYSTEM_MASTERS in user.groups:
            rules.append({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]})
            rules.append({"verbs": ["*"], "nonResourceURLs": ["*"]})
        for _, found, error in self._rule_sources(user, namespace):
            if error is not None:
                errors.append(error)
            rules.extend(found)
        return rules, errors

    def _rule_sources(self, user: UserInfo, namespace: str) -> Iterator[tuple[str, list[Obj], str | None]]:
        """(describer, rules, error) per binding that applies, cluster-wide bindings first."""
        for binding in self.store.items(CLUSTER_ROLE_BINDINGS):
            subject = next((s for s in _subjects(binding) if _applies(user, s, "")), None)
            if subject is None:
                continue
            rules, error = self._role_rules(binding.get("roleRef") or {}, "")
            ref = binding.get("roleRef") or {}
            source = (
                f"ClusterRoleBinding {go_quote(binding['metadata']['name'])} of {ref.get('kind', '')} "
                f"{go_quote(str(ref.get('name', '')))} to {_describe_subject(subject, '')}"
            )
            yield source, rules, error
        if not namespace:
            return
        for binding in self.store.items(ROLE_BINDINGS, namespace):
            subject = next((s for s in _subjects(binding) if _applies(user, s, namespace)), None)
            if subject is None:
                continue
            rules, error = self._role_rules(binding.get("roleRef") or {}, namespace)
            ref = binding.get("roleRef") or {}
            source = (
                f"RoleBinding {go_quote(binding['metadata']['name'] + '/' + namespace)} of {ref.get('kind', '')} "
                f"{go_quote(str(ref.get('name', '')))} to {_describe_subject(subject, namespace)}"
            )
            yield source, rules, error

    def _role_rules(self, ref: Obj, namespace: str) -> tuple[list[Obj], str | None]:
        kind, name = ref.get("kind"), str(ref.get("name", ""))
        if kind == "Role":
            role = self.store.get(ROLES, namespace, name)
            if role is None:
                return [], f'role.{GROUP} "{name}" not found'
        elif kind == "ClusterRole":
            role = self.store.get(CLUSTER_ROLES, "", name)
            if role is None:
                return [], f'clusterrole.{GROUP} "{name}" not found'
        else:
            return [], f"unsupported role reference kind: {go_quote(str(kind))}"
        return [r for r in role.get("rules") or [] if isinstance(r, dict)], None


def _subjects(binding: Obj) -> list[Obj]:
    return [s for s in binding.get("subjects") or [] if isinstance(s, dict)]


# -- the 403 ---------------------------------------------------------------------------------------
_HTML = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def forbidden_message(attrs: Attributes) -> str:
    user = go_quote(attrs.user.name)
    if not attrs.resource_request:
        return f"User {user} cannot {attrs.verb} path {go_quote(attrs.path)}"
    resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    where = f"in the namespace {go_quote(attrs.namespace)}" if attrs.namespace else "at the cluster scope"
    group = go_quote(attrs.api_group)
    return f"User {user} cannot {attrs.verb} resource {go_quote(resource)} in API group {group} {where}"


def forbidden(attrs: Attributes, reason: str) -> ApiError:
    """responsewriters.ForbiddenStatusError + apierrors.NewForbidden: the text names the group-resource
    and, if the request named one, the object; `details` always present (empty for non-resource paths)."""
    text = forbidden_message(attrs).translate(_HTML)
    if reason:
        text = f"{text}: {reason}"
    qualified = f"{attrs.resource}.{attrs.api_group}" if attrs.api_group else attrs.resource
    if not attrs.api_group and not attrs.resource:
        message = f"forbidden: {text}"
    elif not attrs.name:
        message = f"{qualified} is forbidden: {text}"
    else:
        message = f"{qualified} {go_quote(attrs.name)} is forbidden: {text}"
    return ApiError(
        403,
        "Forbidden",
        message,
        name=attrs.name or None,
        group=attrs.api_group,
        kind=attrs.resource or None,
        always_details=True,
    )


# -- access reviews --------------------------------------------------------------------------------
def review_attributes(spec: Obj, user: UserInfo) -> Attributes:
    """authorizationutil.AuthorizationAttributesFrom(spec) for a user."""
    resource = spec.get("resourceAttributes")
    if isinstance(resource, dict):
        return Attributes(
            user,
            str(resource.get("verb") or ""),
            True,
            api_group=str(resource.get("group") or ""),
            api_version=str(resource.get("version") or ""),
            resource=str(resource.get("resource") or ""),
            subresource=str(resource.get("subresource") or ""),
            namespace=str(resource.get("namespace") or ""),
            name=str(resource.get("name") or ""),
        )
    other = spec.get("nonResourceAttributes") or {}
    return Attributes(user, str(other.get("verb") or ""), False, path=str(other.get("path") or ""))


def review_status(authorizer: Authorizer, attrs: Attributes) -> Obj:
    allowed, reason = authorizer.authorize(attrs)
    status: Obj = {"allowed": allowed}
    if reason:
        status["reason"] = reason
    return status


def review_shape(spec: Any) -> str | None:
    """What the typed decoder of an access review would reject (400), or None."""
    if spec is None:
        return None
    if not isinstance(spec, dict):
        return "spec must be an object"
    for key in ("resourceAttributes", "nonResourceAttributes"):
        attrs = spec.get(key)
        if attrs is None:
            continue
        # Strings, but for resourceAttributes' fieldSelector/labelSelector objects (not evaluated here).
        if not isinstance(attrs, dict) or any(
            not isinstance(v, str) for k, v in attrs.items() if k not in ("fieldSelector", "labelSelector")
        ):
            return f"spec.{key} must be an object of strings"
    for key in ("user", "uid", "namespace"):
        if spec.get(key) is not None and not isinstance(spec[key], str):
            return f"spec.{key} must be a string"
    groups = spec.get("groups")
    if groups is not None and not (isinstance(groups, list) and all(isinstance(g, str) for g in groups)):
        return "spec.groups must be an array of strings"
    extra = spec.get("extra")
    if extra is not None and not (
        isinstance(extra, dict)
        and all(isinstance(v, list) and all(isinstance(i, str) for i in v) for v in extra.values())
    ):
        return "spec.extra must be a map of string arrays"
    return None


def check_review_spec(spec: Any, *, subject: bool) -> list[Cause]:
    """ValidateSubjectAccessReviewSpec / ValidateSelfSubjectAccessReviewSpec."""
    if not isinstance(spec, dict):
        spec = {}
    causes = []
    has_resource = isinstance(spec.get("resourceAttributes"), dict)
    has_other = isinstance(spec.get("nonResourceAttributes"), dict)
    if has_resource and has_other:
        causes.append(
            Cause(
                "FieldValueInvalid",
                f"Invalid value: {_go_value(spec['nonResourceAttributes'])}: "
                "cannot be specified in combination with resourceAttributes",
                "spec.nonResourceAttributes",
            )
        )
    if not has_resource and not has_other:
        causes.append(
            Cause(
                "FieldValueInvalid",
                'Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified',
                "spec.resourceAttributes",
            )
        )
    if subject and not spec.get("user") and not spec.get("groups"):
        causes.append(
            Cause(
                "FieldValueInvalid",
                f"Invalid value: {go_quote(str(spec.get('user') or ''))}: "
                "at least one of user or group must be specified",
                "spec.user",
            )
        )
    return causes


def _go_value(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


# -- validation of the RBAC kinds ------------------------------------------------------------------
def check_shape(kind: str, obj: Obj) -> str | None:
    """What the typed decoder would reject (the real server answers 400)."""
    if kind in ("Role", "ClusterRole"):
        rules = obj.get("rules")
        if rules is not None and not isinstance(rules, list):
            return "rules must be an array"
        for rule in rules or []:
            if not isinstance(rule, dict):
                return "rules must be an array of objects"
            for key in ("verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs"):
                value = rule.get(key)
                if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                    return f"rules[].{key} must be an array of strings"
    if kind in ("RoleBinding", "ClusterRoleBinding"):
        ref = obj.get("roleRef")
        if ref is not None and not (isinstance(ref, dict) and all(isinstance(v, str) for v in ref.values())):
            return "roleRef must be an object of strings"
        subjects = obj.get("subjects")
        if subjects is not None and not (
            isinstance(subjects, list)
            and all(isinstance(s, dict) and all(isinstance(v, str) for v in s.values()) for s in subjects)
        ):
            return "subjects must be an array of objects of strings"
    return None


def check_name(name: str) -> Cause | None:
    """ValidateRBACName: any path segment name (so `system:discovery` is fine)."""
    problem = None
    if name in (".", ".."):
        problem = f"may not be '{name}'"
    elif "/" in name:
        problem = "may not contain '/'"
    elif "%" in name:
        problem = "may not contain '%'"
    if problem is None:
        return None
    return Cause("FieldValueInvalid", f"Invalid value: {go_quote(name)}: {problem}", "metadata.name")


def set_defaults(kind: str, obj: Obj) -> None:
    """pkg/apis/rbac/v1/defaults.go: roleRef.apiGroup and subjects' apiGroup."""
    if kind not in ("RoleBinding", "ClusterRoleBinding"):
        return
    ref = obj.get("roleRef")
    if isinstance(ref, dict) and not ref.get("apiGroup"):
        ref["apiGroup"] = GROUP
    for subject in obj.get("subjects") or []:
        if isinstance(subject, dict) and not subject.get("apiGroup"):
            if subject.get("kind") in ("User", "Group"):
                subject["apiGroup"] = GROUP
            elif subject.get("kind") == "ServiceAccount":
                subject["apiGroup"] = ""


def _go_strings(values: list[str]) -> str:
    return "[]string{" + ", ".join(go_quote(v) for v in values) + "}"


def _unsupported(value: str, supported: list[str]) -> str:
    return f"Unsupported value: {go_quote(value)}: supported values: " + ", ".join(go_quote(s) for s in supported)


def _check_rule(rule: Obj, namespaced: bool, at: str) -> list[Cause]:
    causes = []
    if not rule.get("verbs"):
        causes.append(
            Cause("FieldValueRequired", "Required value: verbs must contain at least one value", f"{at}.verbs")
        )
    urls = _strings(rule.get("nonResourceURLs"))
    if urls:
        shown = _go_strings(urls)
        if namespaced:
            causes.append(
                Cause(
                    "FieldValueInvalid",
                    f"Invalid value: {shown}: namespaced rules cannot apply to non-resource URLs",
                    f"{at}.nonResourceURLs",
                )
            )
        if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
            causes.append(
                Cause(
                    "FieldValueInvalid",
                    f"Invalid value: {shown}: rules cannot apply to both regular resources and non-resource URLs",
                    f"{at}.nonResourceURLs",
                )
            )
        return causes
    if not rule.get("apiGroups"):
        causes.append(
            Cause(
                "FieldValueRequired",
                "Required value: resource rules must supply at least one api group",
                f"{at}.apiGroups",
            )
        )
    if not rule.get("resources"):
        causes.append(
            Cause(
                "FieldValueRequired",
                "Required value: resource rules must supply at least one resource",
                f"{at}.resources",
            )
        )
    return causes


def _check_subject(subject: Obj, namespaced: bool, at: str) -> list[Cause]:
    causes = []
    kind, name, group = str(subject.get("kind", "")), str(subject.get("name", "")), str(subject.get("apiGroup", ""))
    if not name:
        causes.append(Cause("FieldValueRequired", "Required value", f"{at}.name"))
    if kind == "ServiceAccount":
        if group:
            causes.append(Cause("FieldValueNotSupported", _unsupported(group, [""]), f"{at}.apiGroup"))
        if not namespaced and not subject.get("namespace"):
            causes.append(Cause("FieldValueRequired", "Required value", f"{at}.namespace"))
    elif kind in ("User", "Group"):
        if group != GROUP:
            causes.append(Cause("FieldValueNotSupported", _unsupported(group, [GROUP]), f"{at}.apiGroup"))
    else:
        causes.append(
            Cause("FieldValueNotSupported", _unsupported(kind, ["ServiceAccount", "User", "Group"]), f"{at}.kind")
        )
    return causes


def _go_role_ref(ref: Obj) -> str:
    return (
        f"rbac.RoleRef{{APIGroup:{go_quote(str(ref.get('apiGroup', '')))}, Kind:{go_quote(str(ref.get('kind', '')))}, "
        f"Name:{go_quote(str(ref.get('name', '')))}}}"
    )


def validate(kind: str, obj: Obj, old: Obj | None) -> list[Cause]:
    """ValidateRole/ClusterRole/RoleBinding/ClusterRoleBinding (and their Update forms)."""
    causes: list[Cause] = []
    if kind in ("Role", "ClusterRole"):
        for i, rule in enumerate(obj.get("rules") or []):
            causes += _check_rule(rule, kind == "Role", f"rules[{i}]")
        return causes
    if kind not in ("RoleBinding", "ClusterRoleBinding"):
        return causes
    namespaced = kind == "RoleBinding"
    ref = obj.get("roleRef") or {}
    if ref.get("apiGroup") != GROUP:
        causes.append(
            Cause("FieldValueNotSupported", _unsupported(str(ref.get("apiGroup", "")), [GROUP]), "roleRef.apiGroup")
        )
    allowed_kinds = ["Role", "ClusterRole"] if namespaced else ["ClusterRole"]
    if ref.get("kind") not in allowed_kinds:
        causes.append(
            Cause("FieldValueNotSupported", _unsupported(str(ref.get("kind", "")), allowed_kinds), "roleRef.kind")
        )
    ref_name = str(ref.get("name", ""))
    if not ref_name:
        causes.append(Cause("FieldValueRequired", "Required value", "roleRef.name"))
    elif (problem := check_name(ref_name)) is not None:
        causes.append(Cause(problem.reason, problem.message, "roleRef.name"))
    for i, subject in enumerate(obj.get("subjects") or []):
        causes += _check_subject(subject, namespaced, f"subjects[{i}]")
    if old is not None and (old.get("roleRef") or {}) != ref:
        causes.append(
            Cause("FieldValueInvalid", f"Invalid value: {_go_role_ref(ref)}: cannot change roleRef", "roleRef")
        )
    return causes


# -- the bootstrap policy --------------------------------------------------------------------------
_BOOTSTRAP_META: Obj = {
    "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
    "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"},
}
_PUBLIC_INFO = ["/healthz", "/livez", "/readyz", "/version", "/version/"]


def _cluster_role(name: str, rules: list[Obj]) -> Obj:
    return {
        "apiVersion": f"{GROUP}/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name, **_BOOTSTRAP_META},
        "rules": rules,
    }


def _cluster_binding(name: str, groups: list[str]) -> Obj:
    return {
        "apiVersion": f"{GROUP}/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name, **_BOOTSTRAP_META},
        "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": name},
        "subjects": [{"apiGroup": GROUP, "kind": "Group", "name": g} for g in groups],
    }


def bootstrap_policy() -> list[tuple[GroupResource, Obj]]:
    """The roles and bindings kube-apiserver's RBAC bootstrap creates that matter here
    (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go)."""
    return [
        (
            CLUSTER_ROLES,
            _cluster_role(
                "cluster-admin",
                [
                    {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]},
                    {"verbs": ["*"], "nonResourceURLs": ["*"]},
                ],
            ),
        ),
        (
            CLUSTER_ROLES,
            _cluster_role(
                "system:discovery",
                [
                    {
                        "verbs": ["get"],
                        "nonResourceURLs": [
                            *_PUBLIC_INFO,
                            "/api",
                            "/api/*",
                            "/apis",
                            "/apis/*",
                            "/openapi",
                            "/openapi/*",
                        ],
                    }
                ],
            ),
        ),
        (
            CLUSTER_ROLES,
            _cluster_role(
                "system:basic-user",
                [
                    {
                        "verbs": ["create"],
                        "apiGroups": ["authorization.k8s.io"],
                        "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                    },
                    {"verbs": ["create"], "apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"]},
                ],
            ),
        ),
        (
            CLUSTER_ROLES,
            _cluster_role("system:public-info-viewer", [{"verbs": ["get"], "nonResourceURLs": _PUBLIC_INFO}]),
        ),
        (CLUSTER_ROLE_BINDINGS, _cluster_binding("cluster-admin", [SYSTEM_MASTERS])),
        (CLUSTER_ROLE_BINDINGS, _cluster_binding("system:discovery", [AUTHENTICATED])),
        (CLUSTER_ROLE_BINDINGS, _cluster_binding("system:basic-user", [AUTHENTICATED])),
        (CLUSTER_ROLE_BINDINGS, _cluster_binding("system:public-info-viewer", [AUTHENTICATED, UNAUTHENTICATED])),
    ]


_SA_USER = re.compile(r"system:serviceaccount:([^:]+):([^:]+)")


def split_service_account(username: str) -> tuple[str, str] | None:
    """serviceaccount.SplitUsername: (namespace, name) of `system:serviceaccount:<ns>:<name>`."""
    m = _SA_USER.fullmatch(username)
    return (m.group(1), m.group(2)) if m else None
