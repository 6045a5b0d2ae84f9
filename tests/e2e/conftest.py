"""The end-to-end suite runs only through `make e2e` (SREOPS_E2E=1); `make test` collects and skips it.

Against the sandbox by default (started here, stopped with SIGTERM at the end); with SREOPS_E2E_KUBECONFIG
against a real cluster and AWS account (docs/testing.md, "End-to-end suite"). Everything the suite creates is
named `e2e-<8 hex>-...`, labelled `sreops.io/e2e-run=<8 hex>`, and deleted at the end, also after a failure.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from .cluster import PLURALS, RUN_LABEL, Cluster, owned_in_ssm
from .target import Target, real_target, sandbox_target, wait_for

E2E_DIR = Path(__file__).parent
SKIP_REASON = "end-to-end suite: run it with `make e2e` (sets SREOPS_E2E=1)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("SREOPS_E2E") == "1":
        return
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if E2E_DIR in item.path.parents:
            item.add_marker(skip)


@dataclass
class E2eRun:
    """This run's names: a prefix no other run (or user) has, and a label on everything it creates."""

    id: str = field(default_factory=lambda: secrets.token_hex(4))
    policy_uids: set[str] = field(default_factory=set)  # to find what the operator made in AWS for them

    @property
    def prefix(self) -> str:
        return f"e2e-{self.id}-"

    def name(self, what: str) -> str:
        return self.prefix + what

    @property
    def labels(self) -> dict[str, str]:
        return {RUN_LABEL: self.id}

    @property
    def selector(self) -> str:
        return f"{RUN_LABEL}={self.id}"


@pytest.fixture(scope="session")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    kubeconfig = os.environ.get("SREOPS_E2E_KUBECONFIG")
    if kubeconfig:
        yield real_target(kubeconfig)
        return
    found = sandbox_target(tmp_path_factory.mktemp("sandbox"))
    assert found.sandbox is not None
    try:
        yield found
    finally:
        code = found.sandbox.stop()
        tail = found.sandbox.stderr_path.read_text(errors="replace")[-3000:]
        assert code == 0, f"sreops sandbox did not stop cleanly on SIGTERM (exit {code}):\n{tail}"


@pytest.fixture(scope="session")
def e2e_run() -> E2eRun:
    return E2eRun()


@pytest.fixture(scope="session")
def cluster(target: Target, e2e_run: E2eRun, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    found = Cluster(target, tmp_path_factory.mktemp("kubectl-home"))
    try:
        yield found
    finally:
        try:
            _clean_up(found, e2e_run)
        finally:
            found.close()


def _ours(cluster: Cluster, run: E2eRun) -> list[str]:
    left = [f"{kind}/{o['metadata']['name']}" for kind in PLURALS for o in cluster.items(kind, run.selector)]
    return left + [f"Secret/{name}" for name in _secrets(cluster, run)]


def _secrets(cluster: Cluster, run: E2eRun) -> list[str]:
    found = cluster.core.list_namespaced_secret(cluster.namespace, label_selector=run.selector).items
    return [str(s.metadata.name) for s in found if s.metadata]


def _clean_up(cluster: Cluster, run: E2eRun) -> None:
    """Delete what this run created; the operator removes what it made in AWS before releasing each one.
    Anything the operator left in AWS is then removed here too, and the teardown fails saying so."""
    for kind in ("Notifier", "ScanSchedule", "PatchRun", "PatchPolicy", "AWSAccount"):
        for obj in cluster.items(kind, run.selector):
            cluster.delete(kind, obj["metadata"]["name"])
    for secret in _secrets(cluster, run):
        try:
            cluster.core.delete_namespaced_secret(secret, cluster.namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise
    timeout = 2 * cluster.target.resync_seconds + 120
    wait_for(f"this run's objects to be deleted ({_ours(cluster, run)})", lambda: not _ours(cluster, run), timeout)
    left = _sweep_aws(cluster.target, run)
    assert not left, f"the operator left these in AWS after its policies were deleted (now removed): {left}"


def _sweep_aws(target: Target, run: E2eRun) -> list[str]:
    left = [found for uid in run.policy_uids for found in owned_in_ssm(target, uid)]
    ssm: Any = target.aws("ssm")
    for item in left:
        kind, ident = item.split(" ", 1)
        if kind == "MaintenanceWindow":
            ssm.delete_maintenance_window(WindowId=ident)
        else:
            for group in ssm.get_patch_baseline(BaselineId=ident).get("PatchGroups", []):
                ssm.deregister_patch_baseline_for_patch_group(BaselineId=ident, PatchGroup=group)
            ssm.delete_patch_baseline(BaselineId=ident)
    return left
