"""The `sreops sandbox kube` entry point and smaller verbs (dry run, delete collection)."""

from __future__ import annotations

import argparse
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from kubernetes import client as k8s

from sreops.sandbox.kube import cli
from sreops.sandbox.kube.resources import version_priority
from tests.sandbox.kube.helpers import GROUP, PLURAL, VERSION, Http, widget

ROOT = Path(__file__).resolve().parents[3]


def test_cli_arguments() -> None:
    """The CLI takes --host (default 127.0.0.1), --port (default 0: a free port) and --state-dir."""
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(["--port", "1234", "--state-dir", "/tmp/x"])
    assert (args.host, args.port, args.state_dir) == ("127.0.0.1", 1234, Path("/tmp/x"))


@pytest.mark.slow
def test_cli_serves_until_sigterm_and_keeps_state(tmp_path: Path) -> None:
    """Like a real apiserver process: it serves the kubeconfig's cluster until SIGTERM, exits 0, and
    its objects are on disk for the next start."""
    proc = subprocess.Popen(
        [sys.executable, "-P", "-m", "sreops.sandbox.kube.cli", "--state-dir", str(tmp_path), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = re.search(r"https://\S+", line)
        assert url, line
        config = yaml.safe_load((tmp_path / "kubeconfig").read_text())
        assert config["clusters"][0]["cluster"]["server"] == url.group(0)
        time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    state = json.loads((tmp_path / "kube-objects.json").read_text())
    names = [o["metadata"]["name"] for r in state["resources"] if r["resource"] == "namespaces" for o in r["items"]]
    assert "default" in names and state["resourceVersion"] >= 4


@pytest.mark.usefixtures("widget_crd")
def test_dry_run_validates_without_storing(http: Http, custom: k8s.CustomObjectsApi, namespace: str) -> None:
    """Real: ?dryRun=All runs admission and validation and returns the result, but stores nothing."""
    base = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}"
    resp = http.request("POST", base + "?dryRun=All", widget("dry", namespace))
    assert resp.status == 201 and resp.body["metadata"]["uid"]
    assert http.request("GET", base + "/dry").status == 404
    bad = http.request("POST", base + "?dryRun=All", widget("dry", namespace, size=50))
    assert bad.status == 422


@pytest.mark.usefixtures("widget_crd")
def test_delete_collection_with_label_selector(custom: k8s.CustomObjectsApi, namespace: str) -> None:
    """Real: DELETE on a collection with labelSelector deletes the matching objects only."""
    for name, app in (("a", "x"), ("b", "x"), ("c", "y")):
        body = widget(name, namespace)
        body["metadata"]["labels"] = {"app": app}
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
    custom.delete_collection_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, label_selector="app=x")
    left = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)
    assert [o["metadata"]["name"] for o in left["items"]] == ["c"]


def test_protobuf_garbage_is_400_or_415(http: Http) -> None:
    """Real: a protobuf body that does not decode is a 4xx Status, not a 500."""
    for raw in (b"k8s\x00\x0a\xff", b"not-the-magic", b"k8s\x00\x0a\x04\x12\x02ab"):
        resp = http.request("POST", "/api/v1/namespaces", raw=raw, content_type="application/vnd.kubernetes.protobuf")
        assert resp.status in (400, 415) and resp.body["kind"] == "Status"


def test_version_priority_orders_like_kubernetes() -> None:
    """Real: discovery prefers versions by Kubernetes priority: GA, then beta, then alpha, newer first."""
    versions = ["v1alpha1", "v2", "v1beta2", "foo", "v1", "v1beta1", "v2alpha1"]
    assert sorted(versions, key=version_priority) == ["v2", "v1", "v1beta2", "v1beta1", "v2alpha1", "v1alpha1", "foo"]
