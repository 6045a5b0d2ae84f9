"""The real kubectl (1.32) against the stand-in: what users type must behave as on a cluster."""

from __future__ import annotations

import copy
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s

from tests.sandbox.kube.helpers import GROUP, PLURAL, VERSION, WIDGET_CRD, to_yaml, widget

pytestmark = [pytest.mark.kubectl, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
Kubectl = Callable[..., subprocess.CompletedProcess[str]]


def _popen(kubectl: Kubectl, *args: str) -> subprocess.Popen[str]:
    """Starts kubectl in the background; it is killed after 60 s so that a hang fails the test instead."""
    exe = shutil.which("kubectl")
    assert exe is not None
    proc = subprocess.Popen(
        [exe, *args],
        env=kubectl.env,  # type: ignore[attr-defined]
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    timer = threading.Timer(60, proc.kill)
    timer.daemon = True
    timer.start()
    return proc


def _crd_yaml() -> str:
    return to_yaml(copy.deepcopy(WIDGET_CRD))


@pytest.fixture
def kubectl_ns(kubectl: Kubectl, namespace: str) -> str:
    kubectl("apply", "-f", "-", input=_crd_yaml())
    return namespace


def test_apply_get_printer_columns_and_categories(kubectl: Kubectl, kubectl_ns: str) -> None:
    """Real: `kubectl apply` creates then patches (merge patch for CRs, `configured`/`unchanged`);
    `kubectl get <shortName>` prints the CRD's printer columns from the server-side Table, priority>0
    ones only with -o wide; `kubectl get <category>` lists every kind in the category."""
    doc = widget("w1", kubectl_ns, size=4, mode="Fast")
    assert "created" in kubectl("apply", "-f", "-", input=to_yaml(doc)).stdout
    assert "unchanged" in kubectl("apply", "-f", "-", input=to_yaml(doc)).stdout
    doc["spec"]["size"] = 5
    assert "configured" in kubectl("apply", "-f", "-", input=to_yaml(doc)).stdout
    out = kubectl("get", "wd", "-n", kubectl_ns).stdout.splitlines()
    assert out[0].split() == ["NAME", "SIZE", "READY", "AGE"]
    row = out[1].split()
    assert row[:2] == ["w1", "5"] and len(row) == 3  # READY is blank: no status yet (a null cell)
    wide = kubectl("get", "wd", "-n", kubectl_ns, "-o", "wide").stdout.splitlines()
    assert wide[0].split() == ["NAME", "SIZE", "READY", "MODE", "AGE"]
    assert kubectl("get", "testing", "-n", kubectl_ns).stdout.splitlines()[1].split()[0] == "w1"
    got = yaml.safe_load(kubectl("get", "widget", "w1", "-n", kubectl_ns, "-o", "yaml").stdout)
    assert got["metadata"]["generation"] == 2 and got["spec"]["mode"] == "Fast"


def test_explain_reads_the_crd_schema(kubectl: Kubectl, kubectl_ns: str) -> None:
    """Real: `kubectl explain widget.spec.window` shows the field's description and sub-fields from
    the published OpenAPI v3 schema."""
    out = kubectl("explain", "widget.spec.window").stdout
    assert "A time window." in out
    assert "cutoffHours" in out and "durationHours" in out
    assert "<integer>" in out


def test_invalid_apply_names_the_field(kubectl: Kubectl, kubectl_ns: str) -> None:
    """Real: an apply that violates the schema or a CEL rule fails with `The Widget "x" is invalid:`
    naming the field; unknown fields fail under kubectl's default strict validation."""
    bad = kubectl(
        "apply",
        "-f",
        "-",
        input=to_yaml(widget("bad", kubectl_ns, window={"durationHours": 2, "cutoffHours": 5})),
        check=False,
    )
    assert bad.returncode != 0
    assert 'The Widget "bad" is invalid' in bad.stderr
    assert "spec.window.cutoffHours" in bad.stderr
    doc = widget("unknown", kubectl_ns)
    doc["spec"]["nonsense"] = 1
    unknown = kubectl("apply", "-f", "-", input=to_yaml(doc), check=False)
    assert unknown.returncode != 0 and 'unknown field "spec.nonsense"' in unknown.stderr


def test_wait_for_condition(kubectl: Kubectl, kubectl_ns: str, custom: k8s.CustomObjectsApi) -> None:
    """Real: `kubectl wait --for=condition=Ready` watches the object and returns once status says so."""
    kubectl("apply", "-f", "-", input=to_yaml(widget("ready", kubectl_ns)))
    proc = _popen(kubectl, "wait", "--for=condition=Ready", "widget/ready", "-n", kubectl_ns, "--timeout=30s")
    time.sleep(1.0)
    assert proc.poll() is None
    custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, kubectl_ns, PLURAL, "ready", {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    )
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "condition met" in out


def test_delete_wait_returns_when_the_finalizer_is_removed(
    kubectl: Kubectl, kubectl_ns: str, custom: k8s.CustomObjectsApi
) -> None:
    """Real: `kubectl delete --wait` blocks while a finalizer holds the object and returns once it is gone."""
    doc = widget("held", kubectl_ns)
    doc["metadata"]["finalizers"] = ["test.sreops.io/hold"]
    kubectl("apply", "-f", "-", input=to_yaml(doc))
    proc = _popen(kubectl, "delete", "widget", "held", "-n", kubectl_ns, "--wait", "--timeout=30s")
    time.sleep(1.5)
    assert proc.poll() is None
    obj = custom.get_namespaced_custom_object(GROUP, VERSION, kubectl_ns, PLURAL, "held")
    assert obj["metadata"]["deletionTimestamp"]
    custom.patch_namespaced_custom_object(
        GROUP, VERSION, kubectl_ns, PLURAL, "held", {"metadata": {"finalizers": None}}
    )
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert 'widget.test.sreops.io "held" deleted' in out


def test_get_watch_streams_changes(kubectl: Kubectl, kubectl_ns: str, custom: k8s.CustomObjectsApi) -> None:
    """Real: `kubectl get -w` prints the table, then a row per change (watch with as=Table)."""
    kubectl("apply", "-f", "-", input=to_yaml(widget("live", kubectl_ns)))
    proc = _popen(kubectl, "get", "wd", "-n", kubectl_ns, "-w")
    assert proc.stdout is not None
    header = proc.stdout.readline()
    first = proc.stdout.readline()
    assert header.split()[:2] == ["NAME", "SIZE"] and first.split()[:2] == ["live", "3"]
    custom.patch_namespaced_custom_object(GROUP, VERSION, kubectl_ns, PLURAL, "live", {"spec": {"size": 7}})
    changed = proc.stdout.readline()
    proc.terminate()
    proc.wait(timeout=10)
    assert changed.split()[:2] == ["live", "7"]


def test_server_side_apply_label_annotate_patch_describe(kubectl: Kubectl, kubectl_ns: str) -> None:
    """Real: `apply --server-side`, `label`, `annotate`, `patch --type=merge|json`, `describe` and the
    built-in ConfigMap apply (strategic merge) all work."""
    doc = to_yaml(widget("ssa", kubectl_ns))
    assert "serverside-applied" in kubectl("apply", "--server-side", "-f", "-", input=doc).stdout
    kubectl("label", "widget", "ssa", "-n", kubectl_ns, "team=web")
    kubectl("annotate", "widget", "ssa", "-n", kubectl_ns, "note=hi")
    kubectl("patch", "widget", "ssa", "-n", kubectl_ns, "--type=merge", "-p", '{"spec":{"size":6}}')
    kubectl(
        "patch",
        "widget",
        "ssa",
        "-n",
        kubectl_ns,
        "--type=json",
        "-p",
        '[{"op":"replace","path":"/spec/size","value":8}]',
    )
    got = yaml.safe_load(kubectl("get", "widget", "ssa", "-n", kubectl_ns, "-o", "yaml").stdout)
    assert got["metadata"]["labels"] == {"team": "web"}
    assert got["metadata"]["annotations"]["note"] == "hi"
    assert got["spec"]["size"] == 8
    assert "Name:" in kubectl("describe", "widget", "ssa", "-n", kubectl_ns).stdout
    cm: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cfg", "namespace": kubectl_ns},
        "data": {"a": "1", "b": "2"},
    }
    kubectl("apply", "-f", "-", input=to_yaml(cm))
    cm["data"] = {"a": "1", "c": "3"}
    kubectl("apply", "-f", "-", input=to_yaml(cm))
    data = yaml.safe_load(kubectl("get", "cm", "cfg", "-n", kubectl_ns, "-o", "yaml").stdout)["data"]
    assert data == {"a": "1", "c": "3"}
    kubectl("label", "cm", "cfg", "-n", kubectl_ns, "x=y")
    assert "cfg" in kubectl("get", "cm", "-n", kubectl_ns, "-l", "x=y").stdout


def test_typed_create_commands_and_auth_can_i(kubectl: Kubectl, namespace: str) -> None:
    """Real: `kubectl create ns|configmap|secret` send protobuf bodies, which the server decodes;
    `kubectl auth can-i` asks a SelfSubjectAccessReview (the admin, in system:masters: yes)."""
    kubectl("create", "ns", namespace + "-typed")
    kubectl("create", "configmap", "lit", "-n", namespace, "--from-literal=a=b")
    kubectl("create", "secret", "generic", "sec", "-n", namespace, "--from-literal=pw=hunter2")
    ns = yaml.safe_load(kubectl("get", "ns", namespace + "-typed", "-o", "yaml").stdout)
    assert ns["status"]["phase"] == "Active" and "generateName" not in ns["metadata"]
    cm = yaml.safe_load(kubectl("get", "cm", "lit", "-n", namespace, "-o", "yaml").stdout)
    assert cm["data"] == {"a": "b"}
    secret = yaml.safe_load(kubectl("get", "secret", "sec", "-n", namespace, "-o", "yaml").stdout)
    assert secret["data"] == {"pw": "aHVudGVyMg=="} and secret["type"] == "Opaque"
    assert kubectl("auth", "can-i", "delete", "widgets", "-n", namespace, check=False).stdout.strip() == "yes"


def _crd_files() -> list[Path]:
    return sorted((ROOT / "crds").glob("*.yaml"))


@pytest.mark.skipif(not _crd_files(), reason="crds/ has no CRDs yet")
def test_acceptance_with_project_crds(kubectl: Kubectl, api_client: k8s.ApiClient) -> None:
    """The acceptance list of issue 3 with the project's CRDs, as on a real cluster: apply CRDs and
    samples, list by category, printer columns, explain, invalid samples rejected with the field named,
    wait for Ready, delete --wait through a finalizer, get -w streaming a change."""
    custom = k8s.CustomObjectsApi(api_client)
    kubectl("apply", "-f", str(ROOT / "crds"))
    kubectl("apply", "-f", str(ROOT / "crds" / "samples"))
    listed = kubectl("get", "sreops").stdout
    for kind in ("patchpolicy", "scanschedule", "notifier", "awsaccount", "patchrun"):
        assert f"{kind}.sreops.io/" in listed, listed
    header = kubectl("get", "pp").stdout.splitlines()[0]
    for column in ("NAME", "OPERATION", "COMPLIANT", "READY", "LAST RUN", "NEXT RUN", "AGE"):
        assert column in header, header
    explain = kubectl("explain", "patchpolicy.spec.window").stdout
    assert "cutoffHours" in explain and "durationHours" in explain

    for sample in sorted((ROOT / "crds" / "samples" / "invalid").glob("*.yaml")):
        text = sample.read_text()
        expected = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("# field:")]
        done = kubectl("apply", "-f", str(sample), check=False)
        assert done.returncode != 0, f"{sample.name} was accepted"
        assert "is invalid" in done.stderr or "Invalid" in done.stderr, done.stderr
        for field in expected:
            assert field in done.stderr, f"{sample.name}: {field} not in {done.stderr}"

    policy = yaml.safe_load((ROOT / "crds" / "samples" / "patchpolicy.yaml").read_text())
    name = policy["metadata"]["name"]
    ns = policy["metadata"].get("namespace", "default")
    waiter = _popen(kubectl, "wait", "--for=condition=Ready", f"pp/{name}", "-n", ns, "--timeout=30s")
    time.sleep(1.0)
    custom.patch_namespaced_custom_object_status(
        "sreops.io",
        "v1alpha1",
        ns,
        "patchpolicies",
        name,
        {
            "status": {
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True",
                        "reason": "Synced",
                        "message": "ok",
                        "lastTransitionTime": "2026-01-01T00:00:00Z",
                        "observedGeneration": 1,
                    }
                ]
            }
        },
    )
    out, err = waiter.communicate(timeout=30)
    assert waiter.returncode == 0, err

    watcher = _popen(kubectl, "get", "pp", "-n", ns, "-w", "--no-headers")
    assert watcher.stdout is not None
    assert watcher.stdout.readline().split()[0] == name
    custom.patch_namespaced_custom_object(
        "sreops.io", "v1alpha1", ns, "patchpolicies", name, {"spec": {"operation": "Scan"}}
    )
    changed = watcher.stdout.readline()
    watcher.terminate()
    watcher.wait(timeout=10)
    assert changed.split()[:2] == [name, "Scan"]

    custom.patch_namespaced_custom_object(
        "sreops.io", "v1alpha1", ns, "patchpolicies", name, {"metadata": {"finalizers": ["sreops.io/test-hold"]}}
    )
    deleter = _popen(kubectl, "delete", "pp", name, "-n", ns, "--wait", "--timeout=30s")
    time.sleep(1.5)
    assert deleter.poll() is None
    custom.patch_namespaced_custom_object(
        "sreops.io", "v1alpha1", ns, "patchpolicies", name, {"metadata": {"finalizers": None}}
    )
    out, err = deleter.communicate(timeout=30)
    assert deleter.returncode == 0, err
    assert "deleted" in out
