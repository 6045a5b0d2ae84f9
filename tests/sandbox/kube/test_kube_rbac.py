"""RBAC, impersonation and access reviews of the stand-in, each compared with what kube-apiserver does.

Sources: staging/src/k8s.io/apiserver/pkg/endpoints/filters/impersonation.go, .../request/requestinfo.go,
.../handlers/responsewriters/errors.go, plugin/pkg/auth/authorizer/rbac and pkg/registry/rbac/validation.
"""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from sreops.sandbox.kube import ThreadHandle
from tests.sandbox.kube.helpers import GROUP, PLURAL, VERSION, Http, start_server, to_yaml, widget

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("widget_crd")]
RBAC = "rbac.authorization.k8s.io"
AS_ALICE = {"Impersonate-User": "alice"}


@pytest.fixture(scope="module")
def audit_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kube-audit") / "audit.log"


@pytest.fixture(scope="module")
def kube(tmp_path_factory: pytest.TempPathFactory, audit_path: Path) -> Iterator[ThreadHandle]:
    """The shared fixtures' server, with an audit log."""
    handle = start_server(tmp_path_factory.mktemp("kube-state"), bookmark_interval=0.5, audit_log=audit_path)
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def apply(api_client: k8s.ApiClient) -> Callable[..., None]:
    """Creates RBAC objects as the admin (the stand-in's token is system:masters)."""
    rbac = k8s.RbacAuthorizationV1Api(api_client)

    def create(*docs: dict[str, Any]) -> None:
        for doc in docs:
            ns = doc["metadata"].get("namespace")
            kind = doc["kind"]
            if kind == "Role":
                rbac.create_namespaced_role(ns, doc)
            elif kind == "RoleBinding":
                rbac.create_namespaced_role_binding(ns, doc)
            elif kind == "ClusterRole":
                rbac.create_cluster_role(doc)
            else:
                rbac.create_cluster_role_binding(doc)

    return create


def role(name: str, namespace: str | None, *rules: dict[str, Any]) -> dict[str, Any]:
    kind = "Role" if namespace else "ClusterRole"
    md: dict[str, Any] = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": f"{RBAC}/v1", "kind": kind, "metadata": md, "rules": list(rules)}


def binding(name: str, namespace: str | None, role_kind: str, role_name: str, *subjects: str) -> dict[str, Any]:
    """Subjects as "User:alice", "Group:sre", "ServiceAccount:ns/name"."""
    subs = []
    for subject in subjects:
        kind, _, who = subject.partition(":")
        if kind == "ServiceAccount":
            sa_ns, _, sa = who.partition("/")
            subs.append({"kind": kind, "name": sa, "namespace": sa_ns})
        else:
            subs.append({"kind": kind, "name": who, "apiGroup": RBAC})
    md: dict[str, Any] = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {
        "apiVersion": f"{RBAC}/v1",
        "kind": "RoleBinding" if namespace else "ClusterRoleBinding",
        "metadata": md,
        "roleRef": {"apiGroup": RBAC, "kind": role_kind, "name": role_name},
        "subjects": subs,
    }


def rule(verbs: list[str], resources: list[str], groups: tuple[str, ...] = (GROUP,), **more: Any) -> dict[str, Any]:
    return {"verbs": verbs, "apiGroups": list(groups), "resources": resources, **more}


def widgets(namespace: str = "") -> str:
    return f"/apis/{GROUP}/{VERSION}" + (f"/namespaces/{namespace}" if namespace else "") + f"/{PLURAL}"


@pytest.fixture
def other_ns(core: k8s.CoreV1Api, namespace: str) -> str:
    name = namespace + "-b"
    core.create_namespace({"metadata": {"name": name}})
    return name


def _forbidden(resp: Any) -> str:
    assert resp.status == 403, resp.body
    assert resp.body["kind"] == "Status" and resp.body["reason"] == "Forbidden" and resp.body["code"] == 403
    return str(resp.body["message"])


def test_role_binding_allows_in_its_namespace_only(
    http: Http, apply: Callable[..., None], namespace: str, other_ns: str
) -> None:
    """Real: a Role + RoleBinding grant their verbs in the binding's namespace and nowhere else; a create
    names no object; across all namespaces the request is cluster-scoped."""
    apply(
        role("reader", namespace, rule(["get", "list"], [PLURAL])),
        binding("alice-reads", namespace, "Role", "reader", "User:alice"),
    )
    http.request("POST", widgets(namespace), widget("w1", namespace))
    assert http.request("GET", widgets(namespace), headers=AS_ALICE).status == 200
    assert http.request("GET", widgets(namespace) + "/w1", headers=AS_ALICE).status == 200
    assert _forbidden(http.request("GET", widgets(other_ns), headers=AS_ALICE)) == (
        f'{PLURAL}.{GROUP} is forbidden: User "alice" cannot list resource "{PLURAL}" in API group "{GROUP}" '
        f'in the namespace "{other_ns}"'
    )
    assert _forbidden(http.request("POST", widgets(namespace), widget("w2", namespace), headers=AS_ALICE)) == (
        f'{PLURAL}.{GROUP} is forbidden: User "alice" cannot create resource "{PLURAL}" in API group "{GROUP}" '
        f'in the namespace "{namespace}"'
    )
    assert _forbidden(http.request("GET", widgets(), headers=AS_ALICE)) == (
        f'{PLURAL}.{GROUP} is forbidden: User "alice" cannot list resource "{PLURAL}" in API group "{GROUP}" '
        "at the cluster scope"
    )
    assert _forbidden(http.request("GET", widgets(namespace) + "/w1", headers={"Impersonate-User": "bob"})) == (
        f'{PLURAL}.{GROUP} "w1" is forbidden: User "bob" cannot get resource "{PLURAL}" in API group "{GROUP}" '
        f'in the namespace "{namespace}"'
    )


def test_cluster_role_through_role_binding_is_limited_to_that_namespace(
    http: Http, apply: Callable[..., None], namespace: str, other_ns: str
) -> None:
    """Real: a RoleBinding to a ClusterRole grants the ClusterRole's rules in the binding's namespace
    only; a ClusterRoleBinding grants them in every namespace and cluster-wide."""
    apply(
        role(f"{namespace}-cm-editor", None, rule(["get", "list", "create", "delete"], ["configmaps"], groups=("",))),
        binding("carol-edits", namespace, "ClusterRole", f"{namespace}-cm-editor", "User:carol"),
    )
    carol = {"Impersonate-User": "carol"}
    cm = {"metadata": {"name": "c1"}, "data": {"a": "b"}}
    assert http.request("POST", f"/api/v1/namespaces/{namespace}/configmaps", cm, headers=carol).status == 201
    message = _forbidden(http.request("POST", f"/api/v1/namespaces/{other_ns}/configmaps", cm, headers=carol))
    assert message == (
        f'configmaps is forbidden: User "carol" cannot create resource "configmaps" in API group "" '
        f'in the namespace "{other_ns}"'
    )
    assert _forbidden(http.request("GET", "/api/v1/configmaps", headers=carol)).endswith("at the cluster scope")
    apply(binding(f"{namespace}-carol-everywhere", None, "ClusterRole", f"{namespace}-cm-editor", "User:carol"))
    assert http.request("POST", f"/api/v1/namespaces/{other_ns}/configmaps", cm, headers=carol).status == 201
    assert http.request("GET", "/api/v1/configmaps", headers=carol).status == 200


def test_resource_names_limit_named_requests(http: Http, apply: Callable[..., None], namespace: str) -> None:
    """Real: resourceNames restrict get/patch to those objects; a list names no object so it is refused,
    unless its fieldSelector is metadata.name=<one of them> (RequestInfo takes the name from it)."""
    apply(
        role("only-w1", namespace, rule(["get", "list", "watch", "patch"], [PLURAL], resourceNames=["w1"])),
        binding("alice-w1", namespace, "Role", "only-w1", "User:alice"),
    )
    for name in ("w1", "w2"):
        http.request("POST", widgets(namespace), widget(name, namespace))
    assert http.request("GET", widgets(namespace) + "/w1", headers=AS_ALICE).status == 200
    assert _forbidden(http.request("GET", widgets(namespace) + "/w2", headers=AS_ALICE)).startswith(
        f'{PLURAL}.{GROUP} "w2" is forbidden: User "alice" cannot get resource'
    )
    patch = {"spec": {"size": 4}}
    ok = http.request(
        "PATCH", widgets(namespace) + "/w1", patch, headers=AS_ALICE, content_type="application/merge-patch+json"
    )
    assert ok.status == 200 and ok.body["spec"]["size"] == 4
    assert _forbidden(http.request("GET", widgets(namespace), headers=AS_ALICE)).startswith(
        f'{PLURAL}.{GROUP} is forbidden: User "alice" cannot list resource'
    )
    listed = http.request("GET", widgets(namespace) + "?fieldSelector=metadata.name%3Dw1", headers=AS_ALICE)
    assert listed.status == 200 and [i["metadata"]["name"] for i in listed.body["items"]] == ["w1"]
    refused = http.request("GET", widgets(namespace) + "?watch=true&fieldSelector=metadata.name%3Dw2", headers=AS_ALICE)
    assert _forbidden(refused).startswith(f'{PLURAL}.{GROUP} "w2" is forbidden: User "alice" cannot watch resource')


def test_status_subresource_is_authorized_separately(http: Http, apply: Callable[..., None], namespace: str) -> None:
    """Real: a rule on `widgets` does not cover `widgets/status` (and the reverse); `*/status` covers
    every kind's status."""
    apply(
        role("spec-writer", namespace, rule(["get", "patch"], [PLURAL])),
        role("status-writer", namespace, rule(["patch"], ["*/status"])),
        binding("alice-spec", namespace, "Role", "spec-writer", "User:alice"),
        binding("bob-status", namespace, "Role", "status-writer", "User:bob"),
    )
    http.request("POST", widgets(namespace), widget("w", namespace))
    merge = "application/merge-patch+json"
    status = {"status": {"observedGeneration": 1}}
    url = widgets(namespace) + "/w"
    assert http.request("PATCH", url, {"spec": {"size": 2}}, headers=AS_ALICE, content_type=merge).status == 200
    assert _forbidden(http.request("PATCH", url + "/status", status, headers=AS_ALICE, content_type=merge)) == (
        f'{PLURAL}.{GROUP} "w" is forbidden: User "alice" cannot patch resource "{PLURAL}/status" '
        f'in API group "{GROUP}" in the namespace "{namespace}"'
    )
    bob = {"Impersonate-User": "bob"}
    assert http.request("PATCH", url + "/status", status, headers=bob, content_type=merge).status == 200
    assert http.request("PATCH", url, {"spec": {"size": 3}}, headers=bob, content_type=merge).status == 403


def test_forbidden_status_shape_and_non_resource_paths(http: Http) -> None:
    """Real: the 403 is a v1 Status with details {name, group (omitted for core), kind = resource};
    non-resource paths are `forbidden: User "x" cannot get path "/p"` with empty details; an unknown
    path is refused before routing (403, not 404), while discovery is open to every authenticated user."""
    resp = http.request("GET", "/api/v1/namespaces/default/secrets/s1", headers=AS_ALICE)
    assert resp.status == 403
    assert resp.body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'secrets "s1" is forbidden: User "alice" cannot get resource "secrets" in API group "" '
        'in the namespace "default"',
        "reason": "Forbidden",
        "details": {"name": "s1", "kind": "secrets"},
        "code": 403,
    }
    resp = http.request("GET", "/metrics", headers=AS_ALICE)
    assert resp.status == 403
    assert resp.body["message"] == 'forbidden: User "alice" cannot get path "/metrics"'
    assert resp.body["details"] == {}
    assert http.request("GET", "/metrics").status == 404  # the admin gets past authorization
    # A namespace's own name is its namespace (RequestInfo), so the message says "in the namespace".
    assert _forbidden(http.request("GET", "/api/v1/namespaces/default", headers=AS_ALICE)) == (
        'namespaces "default" is forbidden: User "alice" cannot get resource "namespaces" in API group "" '
        'in the namespace "default"'
    )
    for path in ("/api", "/api/v1", "/apis", f"/apis/{GROUP}/{VERSION}", "/version", "/openapi/v2"):
        assert http.request("GET", path, headers=AS_ALICE).status == 200, path


def test_impersonation_needs_the_impersonate_verb(kube: ThreadHandle, http: Http, apply: Callable[..., None]) -> None:
    """Real: impersonating needs `impersonate` on users (core group, cluster scope; resourceNames
    apply), groups, uids and userextras (authentication.k8s.io); the first refused check is the 403,
    naming what was to be impersonated."""
    token = kube.server.issue_token("gw-one", ("gateways",))
    alice = http.request("GET", "/api/v1/namespaces/default/configmaps", headers=AS_ALICE, token=token)
    assert _forbidden(alice) == (
        'users "alice" is forbidden: User "gw-one" cannot impersonate resource "users" in API group "" '
        "at the cluster scope"
    )
    assert alice.body["details"] == {"name": "alice", "kind": "users"}
    apply(
        role("gw-one-impersonator", None, rule(["impersonate"], ["users"], groups=("",), resourceNames=["alice"])),
        binding("gw-one-impersonator", None, "ClusterRole", "gw-one-impersonator", "User:gw-one"),
    )
    # alice may not list configmaps: the request is now judged as alice.
    listed = http.request("GET", "/api/v1/namespaces/default/configmaps", headers=AS_ALICE, token=token)
    assert 'User "alice" cannot list' in _forbidden(listed)
    assert http.request("GET", "/api", headers={"Impersonate-User": "bob"}, token=token).status == 403
    as_group = {**AS_ALICE, "Impersonate-Group": "sre"}
    assert _forbidden(http.request("GET", "/api", headers=as_group, token=token)) == (
        'groups "sre" is forbidden: User "gw-one" cannot impersonate resource "groups" in API group "" '
        "at the cluster scope"
    )
    extra = {**AS_ALICE, "Impersonate-Extra-Chat-Id": "T1/U2"}
    assert _forbidden(http.request("GET", "/api", headers=extra, token=token)) == (
        'userextras.authentication.k8s.io "T1/U2" is forbidden: User "gw-one" cannot impersonate resource '
        '"userextras/chat-id" in API group "authentication.k8s.io" at the cluster scope'
    )
    uid = {**AS_ALICE, "Impersonate-Uid": "u-1"}
    assert _forbidden(http.request("GET", "/api", headers=uid, token=token)).startswith(
        'uids.authentication.k8s.io "u-1" is forbidden: User "gw-one" cannot impersonate resource "uids"'
    )
    sa = {"Impersonate-User": "system:serviceaccount:default:robot"}
    assert _forbidden(http.request("GET", "/api", headers=sa, token=token)) == (
        'serviceaccounts "robot" is forbidden: User "gw-one" cannot impersonate resource "serviceaccounts" '
        'in API group "" in the namespace "default"'
    )


def _raw(kube: ThreadHandle, path: str, headers: list[tuple[str, str]], body: Any = None) -> tuple[int, str, str]:
    """One request with repeated headers (urllib merges them), as client-go sends Impersonate-Group."""
    host, port = kube.url.removeprefix("https://").split(":")
    context = ssl.create_default_context(cafile=str(kube.server.state_dir / "ca.crt"))
    conn = http.client.HTTPSConnection(host, int(port), context=context, timeout=30)
    try:
        conn.putrequest("POST" if body is not None else "GET", path)
        conn.putheader("Authorization", f"Bearer {kube.token}")
        data = json.dumps(body).encode() if body is not None else b""
        if body is not None:
            conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(len(data)))
        for key, value in headers:
            conn.putheader(key, value)
        conn.endheaders(data)
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type") or "", resp.read().decode()
    finally:
        conn.close()


def test_group_impersonation(kube: ThreadHandle, http: Http, apply: Callable[..., None], namespace: str) -> None:
    """Real: each Impersonate-Group header adds a group; the impersonated user gets system:authenticated
    unless it asked for system:authenticated or system:unauthenticated; a group binding then applies."""
    apply(
        role("sre-reader", namespace, rule(["list"], [PLURAL])),
        binding("sre-reads", namespace, "Role", "sre-reader", "Group:sre"),
    )
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    headers = [("Impersonate-User", "dave"), ("Impersonate-Group", "sre"), ("Impersonate-Group", "oncall")]
    code, _, text = _raw(kube, "/apis/authentication.k8s.io/v1/selfsubjectreviews", headers, review)
    assert code == 201
    assert json.loads(text)["status"]["userInfo"] == {
        "username": "dave",
        "groups": ["sre", "oncall", "system:authenticated"],
    }
    assert _raw(kube, widgets(namespace), headers)[0] == 200
    assert _raw(kube, widgets(namespace), headers[:1])[0] == 403
    code, _, text = _raw(kube, "/apis/authentication.k8s.io/v1/selfsubjectreviews", headers[:1], review)
    assert json.loads(text)["status"]["userInfo"] == {"username": "dave", "groups": ["system:authenticated"]}


def test_group_without_user_is_the_real_servers_internal_error(kube: ThreadHandle) -> None:
    """Real: Impersonate-Group without Impersonate-User fails in buildImpersonationRequests and the filter
    answers with responsewriters.InternalError: 500, text/plain, the request URI and the references."""
    code, content_type, text = _raw(kube, "/api/v1/namespaces", [("Impersonate-Group", "sre")])
    assert code == 500 and content_type.startswith("text/plain")
    assert (
        text
        == 'Internal Server Error: "/api/v1/namespaces": requested [{Group  sre    }] without impersonating a user\n'
    )


def _sar(http: Http, spec: dict[str, Any], kind: str = "SubjectAccessReview", **kw: Any) -> Any:
    plural = kind.lower() + "s"
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": kind, "spec": spec}
    return http.request("POST", f"/apis/authorization.k8s.io/v1/{plural}", body, **kw)


def test_subject_access_reviews(http: Http, apply: Callable[..., None], namespace: str) -> None:
    """Real: a SubjectAccessReview evaluates RBAC for spec.user/groups (nothing added: no
    system:authenticated unless listed); allowed carries RBAC's `allowed by` reason, a denial none,
    a binding to a missing role its error; a spec without attributes or subject is 422."""
    apply(
        role("patcher", namespace, rule(["patch"], [PLURAL])),
        binding("erin-patches", namespace, "Role", "patcher", "User:erin"),
        binding("ghost", namespace, "Role", "no-such-role", "User:frank"),
    )
    attrs = {"namespace": namespace, "verb": "patch", "group": GROUP, "resource": PLURAL, "name": "w"}
    resp = _sar(http, {"user": "erin", "resourceAttributes": attrs})
    assert resp.status == 201
    assert resp.body["status"] == {
        "allowed": True,
        "reason": f'RBAC: allowed by RoleBinding "erin-patches/{namespace}" of Role "patcher" to User "erin"',
    }
    assert _sar(http, {"user": "erin", "resourceAttributes": {**attrs, "verb": "delete"}}).body["status"] == {
        "allowed": False
    }
    assert _sar(http, {"user": "frank", "resourceAttributes": attrs}).body["status"] == {
        "allowed": False,
        "reason": f'RBAC: role.{RBAC} "no-such-role" not found',
    }
    discovery = {"nonResourceAttributes": {"path": "/apis", "verb": "get"}}
    assert _sar(http, {"user": "erin", **discovery}).body["status"]["allowed"] is False
    with_group = _sar(http, {"user": "erin", "groups": ["system:authenticated"], **discovery}).body["status"]
    assert with_group == {
        "allowed": True,
        "reason": 'RBAC: allowed by ClusterRoleBinding "system:discovery" of ClusterRole "system:discovery" '
        'to Group "system:authenticated"',
    }
    bad = _sar(http, {"user": "erin"})
    assert bad.status == 422 and bad.body["reason"] == "Invalid"
    assert bad.body["details"]["causes"][0]["field"] == "spec.resourceAttributes"
    nobody = _sar(http, {"resourceAttributes": attrs})
    assert nobody.status == 422 and "at least one of user or group must be specified" in nobody.body["message"]
    local = http.request(
        "POST",
        f"/apis/authorization.k8s.io/v1/namespaces/{namespace}/localsubjectaccessreviews",
        {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "LocalSubjectAccessReview",
            "spec": {"user": "erin", "resourceAttributes": attrs},
        },
    )
    assert local.status == 201 and local.body["status"]["allowed"] is True


def test_self_subject_access_review_is_for_the_impersonated_user(
    http: Http, apply: Callable[..., None], namespace: str
) -> None:
    """Real: a SelfSubjectAccessReview answers for the requester after impersonation (system:basic-user
    lets every authenticated user ask); the admin (system:masters) is allowed without an RBAC reason."""
    apply(
        role("runner", namespace, rule(["patch"], [PLURAL])),
        binding("grace-runs", namespace, "Role", "runner", "User:grace"),
    )
    spec = {"resourceAttributes": {"namespace": namespace, "verb": "patch", "group": GROUP, "resource": PLURAL}}
    grace = _sar(http, spec, "SelfSubjectAccessReview", headers={"Impersonate-User": "grace"})
    assert grace.status == 201 and grace.body["status"]["allowed"] is True
    assert grace.body["status"]["reason"].startswith(f'RBAC: allowed by RoleBinding "grace-runs/{namespace}"')
    other = {"resourceAttributes": {**spec["resourceAttributes"], "namespace": "default"}}
    assert _sar(http, other, "SelfSubjectAccessReview", headers={"Impersonate-User": "grace"}).body["status"] == {
        "allowed": False
    }
    assert _sar(http, other, "SelfSubjectAccessReview").body["status"] == {"allowed": True}


def test_kubectl_as_a_user(kubectl: Callable[..., Any], apply: Callable[..., None], namespace: str) -> None:
    """Real: `kubectl auth can-i --as` sends a SelfSubjectAccessReview with Impersonate-User and prints
    yes/no (exit 0/1); `kubectl get --as` does discovery as that user and prints the server's 403;
    `kubectl get roles,rolebindings` print NAME/CREATED AT and NAME/ROLE/AGE (+ USERS, GROUPS with -o wide);
    `auth whoami` (SelfSubjectReview) and `auth can-i --list` (SelfSubjectRulesReview) answer for the --as user."""
    docs = [
        role("pp-patcher", namespace, rule(["get", "list", "patch"], [PLURAL])),
        binding("henry-patches", namespace, "Role", "pp-patcher", "User:henry", "Group:sre"),
    ]
    assert "created" in kubectl("apply", "-f", "-", input=to_yaml(*docs)).stdout
    assert "unchanged" in kubectl("apply", "-f", "-", input=to_yaml(*docs)).stdout
    yes = kubectl("auth", "can-i", "--as", "henry", "patch", PLURAL, "-n", namespace, check=False)
    assert (yes.returncode, yes.stdout.strip()) == (0, "yes")
    no = kubectl("auth", "can-i", "--as", "henry", "delete", PLURAL, "-n", namespace, check=False)
    assert (no.returncode, no.stdout.strip()) == (1, "no")
    elsewhere = kubectl("auth", "can-i", "--as", "henry", "patch", PLURAL, "-n", "default", check=False)
    assert elsewhere.stdout.strip() == "no"
    assert kubectl("get", PLURAL, "--as", "henry", "-n", namespace).returncode == 0
    refused = kubectl("get", PLURAL, "--as", "henry", "-n", "default", check=False)
    assert refused.returncode == 1
    assert (
        f'Error from server (Forbidden): {PLURAL}.{GROUP} is forbidden: User "henry" cannot list resource '
        f'"{PLURAL}" in API group "{GROUP}" in the namespace "default"'
    ) in refused.stderr
    roles = kubectl("get", "roles", "-n", namespace).stdout.splitlines()
    assert roles[0].split() == ["NAME", "CREATED", "AT"] and roles[1].split()[0] == "pp-patcher"
    wide = kubectl("get", "rolebindings", "-n", namespace, "-o", "wide").stdout.splitlines()
    assert wide[0].split() == ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"]
    assert wide[1].split()[:2] == ["henry-patches", "Role/pp-patcher"] and "henry" in wide[1] and "sre" in wide[1]
    whoami = json.loads(kubectl("auth", "whoami", "--as", "henry", "--as-group", "sre", "-o", "json").stdout)
    assert whoami["status"]["userInfo"] == {"username": "henry", "groups": ["sre", "system:authenticated"]}
    listed = kubectl("auth", "can-i", "--list", "--as", "henry", "-n", namespace).stdout
    assert any(line.split()[:1] == [f"{PLURAL}.{GROUP}"] and "[get list patch]" in line for line in listed.splitlines())
    assert "cluster-admin" in kubectl("get", "clusterroles").stdout


def test_watch_is_authorized_like_a_list(kube: ThreadHandle, apply: Callable[..., None], namespace: str) -> None:
    """Real: `?watch=true` is the verb watch, separate from list; with it, the `kubernetes` client's
    watch streams as the impersonated user."""
    apply(
        role("lister", namespace, rule(["list"], [PLURAL])),
        binding("ivy-lists", namespace, "Role", "lister", "User:ivy"),
    )
    api = k8s_config.new_client_from_config(config_file=str(kube.kubeconfig_path))
    try:
        api.set_default_header("Impersonate-User", "ivy")
        custom = k8s.CustomObjectsApi(api)
        assert custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)["items"] == []
        with pytest.raises(ApiException) as refused:
            custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, watch=True, timeout_seconds=1)
        assert refused.value.status == 403
        assert f'cannot watch resource "{PLURAL}"' in json.loads(refused.value.body)["message"]
    finally:
        api.close()


def test_rbac_objects_are_validated(http: Http, namespace: str) -> None:
    """Real: rules need verbs, and apiGroups + resources or (cluster roles only) nonResourceURLs;
    roleRef.apiGroup and subjects' apiGroup are defaulted; roleRef cannot change; names may hold ':'."""
    base = f"/apis/{RBAC}/v1/namespaces/{namespace}"
    bad = http.request("POST", base + "/roles", role("r", namespace, {"verbs": ["get"], "nonResourceURLs": ["/x"]}))
    assert bad.status == 422
    assert bad.body["message"] == (
        f'Role.{RBAC} "r" is invalid: rules[0].nonResourceURLs: Invalid value: []string{{"/x"}}: '
        "namespaced rules cannot apply to non-resource URLs"
    )
    empty = http.request("POST", base + "/roles", role("r", namespace, {"apiGroups": [""], "resources": ["pods"]}))
    assert empty.status == 422 and empty.body["details"]["causes"][0]["field"] == "rules[0].verbs"
    doc = binding("b:with-colon", namespace, "Role", "r", "User:alice")
    del doc["roleRef"]["apiGroup"], doc["subjects"][0]["apiGroup"]
    created = http.request("POST", base + "/rolebindings", doc)
    assert created.status == 201
    assert created.body["roleRef"]["apiGroup"] == RBAC and created.body["subjects"][0]["apiGroup"] == RBAC
    changed = {**created.body, "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "r"}}
    moved = http.request("PUT", base + "/rolebindings/b:with-colon", changed)
    assert moved.status == 422 and moved.body["details"]["causes"][0]["field"] == "roleRef"
    cluster = binding("crb", None, "Role", "r", "ServiceAccount:/robot")
    refused = http.request("POST", f"/apis/{RBAC}/v1/clusterrolebindings", cluster)
    assert refused.status == 422
    fields = [c["field"] for c in refused.body["details"]["causes"]]
    assert fields == ["roleRef.kind", "subjects[0].namespace"]


def test_audit_log_records_who_did_what(http: Http, audit_path: Path, namespace: str) -> None:
    """Real (audit.k8s.io/v1, level Metadata): one ResponseComplete event per request with the
    authenticated user, the impersonated user, verb, objectRef, response code and the authorization
    decision; request bodies are not logged."""
    http.request("GET", widgets(namespace) + "/nope", headers={"Impersonate-User": "judy"})
    http.request(
        "POST", f"/api/v1/namespaces/{namespace}/secrets", {"metadata": {"name": "s"}, "stringData": {"k": "hunter2"}}
    )
    text = audit_path.read_text()
    assert "hunter2" not in text
    events = [json.loads(line) for line in text.splitlines()]
    judy = next(e for e in events if e.get("impersonatedUser", {}).get("username") == "judy")
    assert judy["apiVersion"] == "audit.k8s.io/v1" and judy["stage"] == "ResponseComplete"
    assert judy["user"]["username"] == "sandbox-admin" and "system:masters" in judy["user"]["groups"]
    assert judy["impersonatedUser"]["groups"] == ["system:authenticated"]
    assert judy["verb"] == "get"
    assert judy["objectRef"] == {
        "resource": PLURAL,
        "namespace": namespace,
        "name": "nope",
        "apiGroup": GROUP,
        "apiVersion": VERSION,
    }
    assert judy["responseStatus"]["code"] == 403 and judy["responseStatus"]["reason"] == "Forbidden"
    assert judy["annotations"]["authorization.k8s.io/decision"] == "forbid"
    created = next(e for e in events if e.get("objectRef", {}).get("resource") == "secrets" and e["verb"] == "create")
    assert (
        created["responseStatus"]["code"] == 201 and created["annotations"]["authorization.k8s.io/decision"] == "allow"
    )
    assert yaml.safe_dump(created)  # a plain JSON document


def test_malformed_reviews_and_headers_are_4xx(http: Http) -> None:
    """Real: a review body the typed decoder cannot read is 400 BadRequest; odd impersonation values are
    just names (here refused by RBAC for a user without rights), never a server error."""
    for spec in ({"user": 1, "resourceAttributes": {}}, {"user": "a", "groups": "sre"}, {"resourceAttributes": []}, []):
        resp = _sar(http, spec)  # type: ignore[arg-type]
        assert resp.status == 400 and resp.body["reason"] == "BadRequest", spec
    odd = {"Impersonate-User": "é ü/%00", "Impersonate-Extra-%ZZ": "x"}
    resp = http.request("GET", "/apis", headers=odd, token=None)
    assert resp.status == 401
    resp = http.request("GET", "/apis", headers=odd)
    assert resp.status == 200  # the admin may impersonate anyone; the user then may read discovery
