"""The workload kinds the Helm chart renders (workloads.py): discovery, create/list/apply/delete with
kubectl and the `kubernetes` client, watch, tables, and the registry-strategy behaviours the stand-in copies."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import watch

from tests.sandbox.kube.helpers import Http, to_yaml

Kubectl = Callable[..., subprocess.CompletedProcess[str]]
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
LABELS = {"app": "web"}
POD_SPEC: dict[str, Any] = {"containers": [{"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]}

# (apiVersion, plural, kind, body without apiVersion/kind/metadata)
KINDS: list[tuple[str, str, str, dict[str, Any]]] = [
    (
        "apps/v1",
        "deployments",
        "Deployment",
        {
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": LABELS},
                "template": {"metadata": {"labels": LABELS}, "spec": POD_SPEC},
            }
        },
    ),
    ("v1", "services", "Service", {"spec": {"selector": LABELS, "ports": [{"port": 80, "targetPort": 8080}]}}),
    ("v1", "serviceaccounts", "ServiceAccount", {"automountServiceAccountToken": False}),
    ("v1", "pods", "Pod", {"spec": POD_SPEC}),
    ("policy/v1", "poddisruptionbudgets", "PodDisruptionBudget", {"spec": {"minAvailable": 1, "selector": {}}}),
    (
        "networking.k8s.io/v1",
        "networkpolicies",
        "NetworkPolicy",
        {"spec": {"podSelector": {"matchLabels": LABELS}, "policyTypes": ["Ingress"]}},
    ),
    (
        "networking.k8s.io/v1",
        "ingresses",
        "Ingress",
        {
            "spec": {
                "rules": [
                    {
                        "host": "sreops.example.com",
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": "web", "port": {"number": 80}}},
                                }
                            ]
                        },
                    }
                ]
            }
        },
    ),
]
IDS = [kind for _, _, kind, _ in KINDS]


def _doc(api_version: str, kind: str, name: str, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": namespace}, **body}


def _path(api_version: str, plural: str, namespace: str, name: str = "") -> str:
    prefix = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
    return f"{prefix}/namespaces/{namespace}/{plural}" + (f"/{name}" if name else "")


@pytest.mark.kubectl
@pytest.mark.parametrize(("api_version", "plural", "kind", "body"), KINDS, ids=IDS)
def test_each_kind_is_created_listed_applied_and_deleted_with_kubectl(
    kubectl: Kubectl, http: Http, namespace: str, api_version: str, plural: str, kind: str, body: dict[str, Any]
) -> None:
    """kubectl finds the kind in discovery, server-side applies it (dry run first: nothing stored), lists it
    with the printer columns, re-applies a change, and deletes it."""
    doc = _doc(api_version, kind, "web", namespace, body)
    kubectl("apply", "--server-side", "--dry-run=server", "-f", "-", input=to_yaml(doc))
    assert http.request("GET", _path(api_version, plural, namespace, "web")).status == 404
    kubectl("apply", "--server-side", "--field-manager=helm", "-f", "-", input=to_yaml(doc))
    listed = kubectl("get", plural, "-n", namespace, "--no-headers").stdout.split()
    assert listed[0] == "web" and listed[-1].endswith("s"), listed  # NAME first, AGE last ("3s")
    doc["metadata"]["labels"] = {"changed": "yes"}
    kubectl("apply", "--server-side", "--field-manager=helm", "-f", "-", input=to_yaml(doc))
    stored = json.loads(kubectl("get", plural, "web", "-n", namespace, "-o", "json").stdout)
    assert stored["metadata"]["labels"] == {"changed": "yes"}
    assert stored["kind"] == kind and stored["apiVersion"] == api_version
    kubectl("delete", plural, "web", "-n", namespace, "--wait=true")
    assert http.request("GET", _path(api_version, plural, namespace, "web")).status == 404


def test_discovery_names_them_as_the_real_server_does(http: Http) -> None:
    """Real (kube-apiserver 1.32 /api/v1, /apis/apps/v1, ...): short names, the `all` category for
    deployments, services and pods, /status subresources where the kind has a status (NetworkPolicy has none
    since 1.28), and the groups apps, policy and networking.k8s.io in /apis."""
    core = {r["name"]: r for r in http.request("GET", "/api/v1").body["resources"]}
    apps = {r["name"]: r for r in http.request("GET", "/apis/apps/v1").body["resources"]}
    policy = {r["name"]: r for r in http.request("GET", "/apis/policy/v1").body["resources"]}
    net = {r["name"]: r for r in http.request("GET", "/apis/networking.k8s.io/v1").body["resources"]}
    assert apps["deployments"]["shortNames"] == ["deploy"] and apps["deployments"]["categories"] == ["all"]
    assert core["services"]["shortNames"] == ["svc"] and core["pods"]["categories"] == ["all"]
    assert core["serviceaccounts"]["shortNames"] == ["sa"] and "serviceaccounts/status" not in core
    assert policy["poddisruptionbudgets"]["shortNames"] == ["pdb"]
    assert net["networkpolicies"]["shortNames"] == ["netpol"] and net["ingresses"]["shortNames"] == ["ing"]
    for resources, name in (
        (apps, "deployments"),
        (core, "services"),
        (core, "pods"),
        (policy, "poddisruptionbudgets"),
        (net, "ingresses"),
    ):
        assert resources[f"{name}/status"]["verbs"] == ["get", "patch", "update"]
    assert "networkpolicies/status" not in net
    groups = {g["name"] for g in http.request("GET", "/apis").body["groups"]}
    assert {"apps", "policy", "networking.k8s.io"} <= groups


@pytest.mark.parametrize(
    ("api_version", "plural", "kind", "body", "status"),
    [
        (*KINDS[0], {}),
        (*KINDS[1], {"loadBalancer": {}}),
        (*KINDS[3], {"phase": "Pending", "qosClass": "BestEffort"}),
        (*KINDS[4], {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0}),
        (*KINDS[6], {"loadBalancer": {}}),
    ],
    ids=["Deployment", "Service", "Pod", "PodDisruptionBudget", "Ingress"],
)
def test_create_replaces_the_body_status_and_status_writes_only_change_status(
    http: Http,
    namespace: str,
    api_version: str,
    plural: str,
    kind: str,
    body: dict[str, Any],
    status: dict[str, Any],
) -> None:
    """Real: the strategies' PrepareForCreate store the empty status whatever the body says (Deployment `{}`,
    Service/Ingress `{loadBalancer: {}}`, PDB's zero counters, Pod Pending with its QoS class); PrepareForUpdate
    keeps the stored status on main-resource writes and /status writes change status only. Nothing runs the
    objects, so the status stays as created (a Deployment at 0 ready replicas)."""
    doc = _doc(api_version, kind, "s", namespace, {**body, "status": {"readyReplicas": 5, "phase": "Running"}})
    created = http.request("POST", _path(api_version, plural, namespace), doc)
    assert created.status == 201, created.body
    assert created.body["status"] == status
    merge = "application/merge-patch+json"
    path = _path(api_version, plural, namespace, "s")
    main = http.request("PATCH", path, {"status": {"observedGeneration": 9}}, content_type=merge)
    assert main.status == 200 and main.body["status"] == status
    written = http.request(
        "PATCH",
        path + "/status",
        {"metadata": {"labels": {"x": "y"}}, "status": {"observedGeneration": 9}},
        content_type=merge,
    )
    assert written.status == 200, written.body
    assert written.body["status"] == {**status, "observedGeneration": 9} and "labels" not in written.body["metadata"]


@pytest.mark.parametrize(("api_version", "plural", "kind", "body"), KINDS, ids=IDS)
def test_generation_only_for_the_kinds_whose_strategy_sets_it(
    http: Http, namespace: str, api_version: str, plural: str, kind: str, body: dict[str, Any]
) -> None:
    """Real: Deployment, PodDisruptionBudget, NetworkPolicy and Ingress start at generation 1 and bump it on a
    spec change, not on a label change; Service, ServiceAccount and Pod have no generation in 1.32."""
    path = _path(api_version, plural, namespace)
    created = http.request("POST", path, _doc(api_version, kind, "g", namespace, body)).body
    merge = "application/merge-patch+json"
    labelled = http.request("PATCH", f"{path}/g", {"metadata": {"labels": {"a": "b"}}}, content_type=merge).body
    changed = http.request("PATCH", f"{path}/g", {"spec": {"extra": "x"}}, content_type=merge).body
    if kind in ("Deployment", "PodDisruptionBudget", "NetworkPolicy", "Ingress"):
        generations = [o["metadata"].get("generation") for o in (created, labelled, changed)]
        assert generations == [1, 1, 2]
    else:
        assert all("generation" not in o["metadata"] for o in (created, labelled))


@pytest.mark.parametrize(
    ("resources", "qos"),
    [
        ({}, "BestEffort"),
        ({"requests": {"cpu": "100m"}}, "Burstable"),
        ({"limits": {"cpu": "1", "memory": "1Gi"}}, "Guaranteed"),
        ({"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}, "Guaranteed"),
        ({"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}, "Burstable"),
    ],
)
def test_pod_qos_class_is_computed_on_create(
    core: k8s.CoreV1Api, namespace: str, resources: dict[str, Any], qos: str
) -> None:
    """Real: GetPodQOS (requests default to limits; Guaranteed needs cpu and memory limits on every container)."""
    spec = {"containers": [{"name": "c", "image": "busybox", "resources": resources}]}
    pod = core.create_namespaced_pod(namespace, {"metadata": {"name": "q"}, "spec": spec})
    assert pod.status.phase == "Pending" and pod.status.qos_class == qos


def test_typed_client_lists_and_watches_deployments(api_client: k8s.ApiClient, namespace: str) -> None:
    """The `kubernetes` AppsV1Api works against the stand-in: create, list, a watch that sees the ADDED and
    DELETED events, delete."""
    apps = k8s.AppsV1Api(api_client)
    body = _doc("apps/v1", "Deployment", "w", namespace, KINDS[0][3])
    created = apps.create_namespaced_deployment(namespace, body)
    listing = apps.list_namespaced_deployment(namespace)
    assert [d.metadata.name for d in listing.items] == ["w"]
    assert created.status.ready_replicas is None and created.spec.replicas == 2
    apps.delete_namespaced_deployment("w", namespace)
    seen = [
        (event["type"], event["object"].metadata.name)
        for event in watch.Watch().stream(
            apps.list_namespaced_deployment,
            namespace,
            resource_version=listing.metadata.resource_version,
            timeout_seconds=1,
        )
    ]
    assert seen == [("DELETED", "w")]


def test_tables_have_the_kubectl_columns(http: Http, namespace: str) -> None:
    """Real printers (pkg/printers/internalversion): the column names kubectl shows, with READY 0/2 for a
    Deployment nothing runs, the Service's ports, the PDB's numbers and the NetworkPolicy's selector."""
    for api_version, plural, kind, body in KINDS:
        http.request("POST", _path(api_version, plural, namespace), _doc(api_version, kind, "t", namespace, body))
    expected = {
        "deployments": (["Name", "Ready", "Up-to-date", "Available", "Age"], ["t", "0/2", 0, 0]),
        "services": (["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age"], ["t", "ClusterIP"]),
        "serviceaccounts": (["Name", "Secrets", "Age"], ["t", 0]),
        "pods": (["Name", "Ready", "Status", "Restarts", "Age"], ["t", "0/1", "Pending", "0"]),
        "poddisruptionbudgets": (
            ["Name", "Min Available", "Max Unavailable", "Allowed Disruptions", "Age"],
            ["t", "1", "N/A", 0],
        ),
        "networkpolicies": (["Name", "Pod-Selector", "Age"], ["t", "app=web"]),
        "ingresses": (["Name", "Class", "Hosts", "Address", "Ports", "Age"], ["t", "<none>", "sreops.example.com"]),
    }
    for api_version, plural, _, _ in KINDS:
        table = http.request("GET", _path(api_version, plural, namespace), headers={"Accept": TABLE}).body
        names, first_cells = expected[plural]
        assert [c["name"] for c in table["columnDefinitions"] if c["priority"] == 0] == names, plural
        assert table["rows"][0]["cells"][: len(first_cells)] == first_cells, plural
    service = http.request("GET", _path("v1", "services", namespace), headers={"Accept": TABLE}).body
    assert service["rows"][0]["cells"][4] == "80/TCP"


def test_strategic_merge_merges_containers_by_name(http: Http, namespace: str) -> None:
    """Real: PodSpec.containers has patchMergeKey `name` (kubectl set image / edit send such patches), so a
    strategic merge patch of one container keeps the others."""
    spec = {"containers": [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]}
    path = _path("v1", "pods", namespace)
    http.request("POST", path, _doc("v1", "Pod", "m", namespace, {"spec": spec}))
    patched = http.request(
        "PATCH",
        f"{path}/m",
        {"spec": {"containers": [{"name": "b", "image": "b:2"}]}},
        content_type="application/strategic-merge-patch+json",
    )
    assert patched.status == 200, patched.body
    assert [(c["name"], c["image"]) for c in patched.body["spec"]["containers"]] == [("a", "a:1"), ("b", "b:2")]
