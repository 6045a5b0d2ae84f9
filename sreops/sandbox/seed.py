"""Installs the CRDs and seeds objects through the Kubernetes API, idempotently (like `kubectl apply`)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from sreops.operator.api import GROUP, KINDS, VERSION

REPO = Path(__file__).resolve().parents[2]
CRD_DIR = REPO / "crds"
SAMPLES_DIR = CRD_DIR / "samples"
CONFLICT = 409


def load_documents(paths: Iterable[Path]) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in paths:
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def install_crds(api: client.ApiClient, crd_dir: Path = CRD_DIR, timeout: float = 30.0) -> None:
    ext = client.ApiextensionsV1Api(api)
    crds = load_documents(sorted(crd_dir.glob("*.yaml")))
    for crd in crds:
        try:
            ext.create_custom_resource_definition(cast(Any, crd))  # the client sends plain dicts as they are
        except ApiException as exc:
            if exc.status != CONFLICT:
                raise
            current = ext.read_custom_resource_definition(crd["metadata"]["name"])
            assert current.metadata is not None
            crd["metadata"]["resourceVersion"] = current.metadata.resource_version
            ext.replace_custom_resource_definition(crd["metadata"]["name"], cast(Any, crd))
    # The kinds are served once the CRDs are Established, as on a real API server.
    deadline = time.monotonic() + timeout
    custom = client.CustomObjectsApi(api)
    for kind in KINDS.values():
        while True:
            try:
                custom.list_cluster_custom_object(GROUP, VERSION, kind.plural, limit=1)
                break
            except ApiException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)


def ensure_namespace(api: client.ApiClient, name: str) -> None:
    try:
        client.CoreV1Api(api).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    except ApiException as exc:
        if exc.status != CONFLICT:
            raise


def ensure_secret(api: client.ApiClient, namespace: str, name: str, data: dict[str, str]) -> None:
    body = client.V1Secret(metadata=client.V1ObjectMeta(name=name), type="Opaque", string_data=data)
    core = client.CoreV1Api(api)
    try:
        core.create_namespaced_secret(namespace, body)
    except ApiException as exc:
        if exc.status != CONFLICT:
            raise
        core.patch_namespaced_secret(name, namespace, {"stringData": data})


def apply_object(api: client.ApiClient, obj: dict[str, Any], namespace: str = "default") -> None:
    """Creates an sreops.io object, or updates its spec, labels and annotations if it exists."""
    plural = KINDS[obj["kind"]].plural
    custom = client.CustomObjectsApi(api)
    ns = obj["metadata"].get("namespace", namespace)
    try:
        custom.create_namespaced_custom_object(GROUP, VERSION, ns, plural, obj)
    except ApiException as exc:
        if exc.status != CONFLICT:
            raise
        patch = {"spec": obj.get("spec", {}), "metadata": {k: v for k, v in obj["metadata"].items() if k != "name"}}
        custom.patch_namespaced_custom_object(GROUP, VERSION, ns, plural, obj["metadata"]["name"], patch)


def apply_samples(api: client.ApiClient, namespace: str = "default", samples_dir: Path = SAMPLES_DIR) -> int:
    docs = load_documents(sorted(samples_dir.glob("*.yaml")))
    for doc in docs:
        apply_object(api, doc, namespace)
    return len(docs)
