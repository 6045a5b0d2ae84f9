"""The Helm chart: lint, render with the default and the full values, validate every manifest against the
Kubernetes schemas (kubernetes-validate, offline), hardening on every pod, CRDs equal to crds/, the monitoring
files from the observability sources, and the rendered chart applied to the Kubernetes stand-in."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from sreops.sandbox.kube.server import KubeServer, ThreadHandle
from tests.deploy.chart import CHART, FULL_VALUES, NAMESPACE, ROOT, helm, rbac_rules, render

K8S_VERSION = "1.30.0"  # the oldest EKS standard-support minor when this was written; the schema is strict
# Kinds of the Prometheus operator: no schema in kubernetes-validate; checked by their own tests below.
CRD_KINDS = {"ServiceMonitor", "PrometheusRule"}


@pytest.fixture(scope="module")
def default_docs() -> list[dict[str, Any]]:
    return render()


@pytest.fixture(scope="module")
def full_docs() -> list[dict[str, Any]]:
    return render(values=FULL_VALUES)


def _kinds(docs: list[dict[str, Any]]) -> set[str]:
    return {d["kind"] for d in docs}


def _pods(docs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for doc in docs:
        if doc["kind"] == "Deployment":
            yield doc["metadata"]["name"], doc["spec"]["template"]["spec"]
        elif doc["kind"] == "Pod":
            yield doc["metadata"]["name"], doc["spec"]


def test_lint_strict_with_default_and_full_values() -> None:
    helm("lint", "--strict", str(CHART))
    helm("lint", "--strict", str(CHART), "--values", str(FULL_VALUES))


def test_chart_crds_equal_the_repository_crds() -> None:
    ours = {p.name: p.read_bytes() for p in (ROOT / "crds").glob("*.yaml")}
    chart = {p.name: p.read_bytes() for p in (CHART / "crds").glob("*.yaml")}
    assert sorted(chart) == sorted(ours), "charts/sreops/crds/ must hold exactly crds/*.yaml"
    for name, text in ours.items():
        assert chart[name] == text, f"charts/sreops/crds/{name} differs from crds/{name}: cp crds/*.yaml {CHART}/crds/"


def test_default_render_has_what_a_cluster_needs(default_docs: list[dict[str, Any]]) -> None:
    assert _kinds(default_docs) >= {
        "Deployment",
        "Service",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "Pod",
    }
    assert not _kinds(default_docs) & (CRD_KINDS | {"Ingress", "ConfigMap"}), "optional parts are off by default"
    deployments = {d["metadata"]["name"]: d for d in default_docs if d["kind"] == "Deployment"}
    operator = deployments["sreops-operator"]
    # Two replicas, one leading on the Lease: a rollout starts a standby before it stops an old pod.
    assert operator["spec"]["replicas"] == 2
    assert operator["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }
    assert not any(a.startswith("--shard") for a in operator["spec"]["template"]["spec"]["containers"][0]["args"])
    env = {e["name"]: e for e in operator["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["POD_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}  # the lease identity
    assert env["POD_NAMESPACE"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}  # the lease's
    pdbs = {d["metadata"]["name"]: d["spec"] for d in default_docs if d["kind"] == "PodDisruptionBudget"}
    assert pdbs["sreops-operator"] == {"maxUnavailable": 1, "selector": operator["spec"]["selector"]}
    lease_rules = [r for _, _, r in rbac_rules(default_docs, "sreops-operator") if "leases" in r["resources"]]
    assert lease_rules == [
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "update"]}
    ]
    assert deployments["sreops-gateway"]["spec"]["replicas"] == 2


def test_each_shard_gets_its_own_deployment_and_the_unlabelled_set_one_more() -> None:
    docs = render("--set", "operator.shards={a,b}")
    for doc in docs:
        if doc["kind"] not in CRD_KINDS:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    operators = {
        d["metadata"]["name"]: d
        for d in docs
        if d["kind"] == "Deployment" and d["metadata"]["labels"]["app.kubernetes.io/component"] == "operator"
    }
    assert sorted(operators) == ["sreops-operator-a", "sreops-operator-b", "sreops-operator-none"]
    selectors = {}
    for name, deployment in operators.items():
        shard = name.removeprefix("sreops-operator-")
        args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        assert [a for a in args if a.startswith("--shard")] == [f"--shard={shard}"]
        assert "--aws-budget-share=0.3333" in args  # three sets act in the same accounts: a third of the budget
        assert deployment["spec"]["replicas"] == 2
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector["sreops.io/operator-shard"] == shard
        assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
        selectors[name] = selector
    # No pod is claimed by two Deployments (nor by two budgets): the shard label tells them apart.
    pods = {name: operators[name]["spec"]["template"]["metadata"]["labels"] for name in operators}
    for name, selector in selectors.items():
        assert [p for p, labels in pods.items() if selector.items() <= labels.items()] == [name]
    pdbs = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "PodDisruptionBudget"}
    for name, selector in selectors.items():
        assert pdbs[name] == {"maxUnavailable": 1, "selector": {"matchLabels": selector}}
    # One metrics Service over every shard's pods.
    (service,) = [d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == "sreops-operator-metrics"]
    assert all(service["spec"]["selector"].items() <= labels.items() for labels in pods.values())


@pytest.mark.parametrize("which", ["default", "full"])
def test_every_manifest_validates_against_the_kubernetes_schema(
    which: str, default_docs: list[dict[str, Any]], full_docs: list[dict[str, Any]]
) -> None:
    docs = default_docs if which == "default" else full_docs
    checked = 0
    for doc in docs:
        if doc["kind"] in CRD_KINDS:
            continue
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            raise AssertionError(f"{doc['kind']}/{doc['metadata']['name']}: {exc.message} at {exc.path}") from exc
        checked += 1
    assert checked >= 15


def test_full_values_switch_everything_on(full_docs: list[dict[str, Any]]) -> None:
    assert _kinds(full_docs) >= {"Ingress", "ServiceMonitor", "PrometheusRule", "ConfigMap"}
    operator_sa = next(
        d for d in full_docs if d["kind"] == "ServiceAccount" and d["metadata"]["name"].endswith("operator")
    )
    assert operator_sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == (
        "arn:aws:iam::111122223333:role/sreops-operator"
    )
    # Watching two namespaces: the operator's kind rules are Roles there, not a ClusterRole.
    roles = {
        (d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) for d in full_docs if "Role" in d["kind"]
    }
    assert ("Role", "team-a", "sreops-operator") in roles and ("Role", "team-b", "sreops-operator") in roles
    assert ("ClusterRole", None, "sreops-operator") not in roles
    operator = next(d for d in full_docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "sreops-operator")
    container = operator["spec"]["template"]["spec"]["containers"][0]
    assert container["image"].startswith("registry.example.com/sreops/sreops@sha256:")
    assert "--namespace=team-a" in container["args"] and "--namespace=team-b" in container["args"]
    env = {e["name"]: e for e in container["env"]}
    assert env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "sreops-aws",
        "key": "AWS_SECRET_ACCESS_KEY",
    }
    gateway = next(d for d in full_docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "sreops-gateway")
    args = gateway["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--slack-signing-secret-file=/etc/sreops/slack/signing-secret" in args
    assert not any("SECRET" in e["name"] for e in gateway["spec"]["template"]["spec"]["containers"][0].get("env", []))


@pytest.mark.parametrize("which", ["default", "full"])
def test_every_pod_is_hardened(which: str, default_docs: list[dict[str, Any]], full_docs: list[dict[str, Any]]) -> None:
    docs = default_docs if which == "default" else full_docs
    pods = list(_pods(docs))
    assert len(pods) == 3  # operator, gateway, the helm test
    for name, spec in pods:
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in spec["containers"]:
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"] == {"drop": ["ALL"]}, name
            assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, name
            assert container["resources"]["requests"] and container["resources"]["limits"]["memory"], name
            if spec.get("restartPolicy") != "Never":
                assert container["livenessProbe"] and container["readinessProbe"], name
    probes = {
        n: s["containers"][0]["livenessProbe"]["httpGet"]["path"]
        for n, s in pods
        if "livenessProbe" in s["containers"][0]
    }
    assert probes == {"sreops-operator": "/healthz", "sreops-gateway": "/health"}


def test_network_policies_limit_ingress_to_the_served_ports(default_docs: list[dict[str, Any]]) -> None:
    policies = {d["metadata"]["name"]: d["spec"] for d in default_docs if d["kind"] == "NetworkPolicy"}
    assert set(policies) == {"sreops-operator", "sreops-gateway"}
    assert policies["sreops-operator"]["ingress"][0]["ports"] == [{"port": "metrics", "protocol": "TCP"}]
    assert policies["sreops-gateway"]["ingress"][0]["ports"] == [{"port": "http", "protocol": "TCP"}]
    for spec in policies.values():
        assert spec["policyTypes"] == ["Ingress", "Egress"]


def test_schema_rejects_bad_values() -> None:
    for bad in (
        "operator.replicas=0",
        "operator.shards={none}",
        "operator.shards={a,a}",
        "operator.shards={Shard_A}",
        "operator.serviceAccount.irsaRoleArn=not-an-arn",
        "securityContext.readOnlyRootFilesystem=false",
        "gateway.unmapped=everyone",
        "nosuchkey=1",
    ):
        done = helm("template", "sreops", str(CHART), "--set", bad, check=False)
        assert done.returncode != 0 and "schema" in done.stderr, bad


def test_monitoring_comes_from_the_observability_files(full_docs: list[dict[str, Any]]) -> None:
    rule = next(d for d in full_docs if d["kind"] == "PrometheusRule")
    source = yaml.safe_load((CHART / "rules" / "sreops.rules.yaml").read_text())
    assert rule["spec"]["groups"] == source["groups"]
    assert "{{ $labels" in json.dumps(rule), "alert templates are passed through, not rendered by helm"
    dashboard = next(d for d in full_docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("dashboard"))
    assert dashboard["metadata"]["namespace"] == "monitoring"
    assert json.loads(dashboard["data"]["sreops.json"]) == json.loads(
        (CHART / "dashboards" / "sreops.json").read_text()
    )
    monitors = {d["metadata"]["name"]: d for d in full_docs if d["kind"] == "ServiceMonitor"}
    jobs = {n: m["spec"]["endpoints"][0]["relabelings"][0]["replacement"] for n, m in monitors.items()}
    assert jobs == {"sreops-operator": "sreops-operator", "sreops-gateway": "sreops-gateway"}  # docs/metrics.md


@pytest.fixture(scope="module")
def kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ThreadHandle, client.ApiClient]]:
    handle = KubeServer(tmp_path_factory.mktemp("kube")).start_in_thread()
    api = config.new_client_from_config(config_file=str(handle.kubeconfig_path))
    try:
        yield handle, api
    finally:
        api.close()
        handle.stop()


def _served_kinds(api: client.ApiClient, api_version: str) -> set[str]:
    group, _, version = api_version.rpartition("/")
    try:
        if group:
            found = client.CustomObjectsApi(api).get_api_resources(group, version)
        else:
            found = client.CoreV1Api(api).get_api_resources()
    except ApiException as exc:
        if exc.status == 404:
            return set()
        raise
    return {r.kind for r in found.resources if "/" not in r.name}


@pytest.mark.kubectl
@pytest.mark.parametrize("values", [None, FULL_VALUES], ids=["default", "full"])
def test_rendered_chart_applies_to_the_kubernetes_standin(
    kube: tuple[ThreadHandle, client.ApiClient], values: Path | None, tmp_path: Path
) -> None:
    """`kubectl apply --server-side` of the CRDs and every manifest whose kind the stand-in serves (all but the
    Prometheus operator's kinds, which are listed and checked by their own tests above)."""
    handle, api = kube
    docs = render("--include-crds", values=values)
    namespaces = {NAMESPACE} | {d["metadata"].get("namespace") for d in docs if d["metadata"].get("namespace")}
    served: dict[str, set[str]] = {}
    applied, skipped = [], set()
    for doc in docs:
        kinds = served.setdefault(doc["apiVersion"], _served_kinds(api, doc["apiVersion"]))
        if doc["kind"] in kinds or doc["kind"] == "CustomResourceDefinition":
            applied.append(doc)
        else:
            skipped.add(doc["kind"])
    # The namespaces first (helm install --create-namespace; a server-side dry run creates nothing), then the
    # chart as a dry run, then for real.
    first, manifest = tmp_path / "namespaces.yaml", tmp_path / "chart.yaml"
    first.write_text(
        yaml.safe_dump_all(
            [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in sorted(namespaces)]
        )
    )
    manifest.write_text(yaml.safe_dump_all(applied))
    env = {**os.environ, "KUBECONFIG": str(handle.kubeconfig_path), "HOME": str(tmp_path)}
    for path, dry_run in ((first, ""), (manifest, "--dry-run=server"), (manifest, "")):
        argv = ["kubectl", "apply", "--server-side", "--field-manager=helm", "-f", str(path)] + (
            [dry_run] if dry_run else []
        )
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
    rbac = client.RbacAuthorizationV1Api(api)
    for doc in applied:
        if doc["kind"] == "ClusterRole":
            assert rbac.read_cluster_role(doc["metadata"]["name"]).rules
        elif doc["kind"] == "Role":
            assert rbac.read_namespaced_role(doc["metadata"]["name"], doc["metadata"]["namespace"]).rules
    assert any(d["kind"] == "ClusterRoleBinding" for d in applied)
    # Stored as rendered (the stand-in serves the workload kinds; nothing runs them, so no replica gets ready).
    apps = client.AppsV1Api(api)
    for doc in applied:
        if doc["kind"] == "Deployment":
            stored = apps.read_namespaced_deployment(doc["metadata"]["name"], doc["metadata"]["namespace"])
            images = [c["image"] for c in doc["spec"]["template"]["spec"]["containers"]]
            assert [c.image for c in stored.spec.template.spec.containers] == images
            assert not stored.status.ready_replicas
    assert {"Deployment", "Service", "ServiceAccount"} <= {d["kind"] for d in applied}
    # Not served by the stand-in (reported, not hidden): the Prometheus operator's kinds, whose CRDs the chart
    # does not carry; everything else was applied.
    assert skipped <= {"ServiceMonitor", "PrometheusRule"}, skipped
