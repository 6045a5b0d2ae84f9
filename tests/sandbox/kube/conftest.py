"""Fixtures for the Kubernetes API stand-in: a server per module (free port), clients, the test CRD."""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from sreops.sandbox.kube import ThreadHandle
from tests.sandbox.kube.helpers import WIDGET_CRD, Http, start_server


@pytest.fixture(scope="module")
def kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadHandle]:
    handle = start_server(tmp_path_factory.mktemp("kube-state"), bookmark_interval=0.5)
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def api_client(kube: ThreadHandle) -> Iterator[k8s.ApiClient]:
    api = k8s_config.new_client_from_config(config_file=str(kube.kubeconfig_path))
    yield api
    api.close()


@pytest.fixture(scope="module")
def custom(api_client: k8s.ApiClient) -> k8s.CustomObjectsApi:
    return k8s.CustomObjectsApi(api_client)


@pytest.fixture(scope="module")
def core(api_client: k8s.ApiClient) -> k8s.CoreV1Api:
    return k8s.CoreV1Api(api_client)


@pytest.fixture(scope="module")
def widget_crd(api_client: k8s.ApiClient) -> dict[str, Any]:
    ext = k8s.ApiextensionsV1Api(api_client)
    created: dict[str, Any] = api_client.sanitize_for_serialization(
        ext.create_custom_resource_definition(copy.deepcopy(WIDGET_CRD))
    )
    return created


@pytest.fixture(scope="module")
def http(kube: ThreadHandle) -> Http:
    return Http(kube)


@pytest.fixture
def namespace(core: k8s.CoreV1Api, request: pytest.FixtureRequest) -> str:
    """A fresh namespace per test, so tests in a module do not see each other's objects."""
    # Parametrized test names carry "[...]": keep only what a namespace name may hold.
    name = "t-" + re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:40].strip("-") + "-" + os.urandom(2).hex()
    core.create_namespace({"metadata": {"name": name}})
    return name


KUBECTL = shutil.which("kubectl")


@pytest.fixture
def kubectl(kube: ThreadHandle, tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Runs the real kubectl with a fresh HOME (its discovery cache) and the stand-in's kubeconfig."""
    if KUBECTL is None:
        pytest.skip("kubectl is not installed")
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "KUBECONFIG": str(kube.kubeconfig_path)}

    def run(
        *args: str, check: bool = True, input: str | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [KUBECTL, *args], env=env, capture_output=True, text=True, input=input, timeout=timeout, check=False
        )
        if check and done.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return done

    run.env = env  # type: ignore[attr-defined]
    return run
