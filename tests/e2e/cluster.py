"""The suite's view of the cluster and the AWS account: kubectl apply, the Kubernetes client for reads and
waits, and boto3 for what the operator owns in SSM. Nothing here knows whether it is the sandbox."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from .target import Target

GROUP, VERSION = "sreops.io", "v1alpha1"
PLURALS = {
    "PatchPolicy": "patchpolicies",
    "PatchRun": "patchruns",
    "ScanSchedule": "scanschedules",
    "Notifier": "notifiers",
    "AWSAccount": "awsaccounts",
}
RUN_LABEL = "sreops.io/e2e-run"  # on everything the suite creates, with the run's id


@dataclass
class Cluster:
    target: Target
    home: Path  # kubectl's HOME (its discovery cache)

    def __post_init__(self) -> None:
        self.api = config.new_client_from_config(config_file=str(self.target.kubeconfig))
        self.custom = client.CustomObjectsApi(self.api)
        self.core = client.CoreV1Api(self.api)

    @property
    def namespace(self) -> str:
        return self.target.namespace

    def close(self) -> None:
        self.api.close()

    def kubectl(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            ["kubectl", "-n", self.namespace, *args],
            input=stdin,
            env=self.target.kubectl_env(self.home),
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        if done.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def apply(self, *documents: dict[str, Any]) -> None:
        """`kubectl apply -f -` of a YAML stream, as a user applies manifests. (Not a `kind: List`: kubectl
        validates a List against /openapi/v2 in protobuf, which the sandbox's API server does not serve.)"""
        self.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(documents))

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        try:
            obj: Any = self.custom.get_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURALS[kind], name)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return dict(obj)

    def items(self, kind: str, label_selector: str = "") -> list[dict[str, Any]]:
        found: Any = self.custom.list_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURALS[kind], label_selector=label_selector
        )
        return list(found["items"])

    def annotate(self, kind: str, name: str, annotations: dict[str, str]) -> None:
        body = {"metadata": {"annotations": annotations}}
        self.custom.patch_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURALS[kind], name, body)

    def delete(self, kind: str, name: str) -> None:
        try:
            self.custom.delete_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURALS[kind], name)
        except ApiException as exc:
            if exc.status != 404:
                raise

    def runs_of(self, policy: str) -> list[dict[str, Any]]:
        """Every PatchRun naming the policy (the operator's runs carry no label of ours; the name is unique)."""
        return [r for r in self.items("PatchRun") if r["spec"]["policyRef"]["name"] == policy]

    def events_for(self, name: str, reason: str) -> list[Any]:
        found = self.core.list_namespaced_event(self.namespace, field_selector=f"involvedObject.name={name}")
        return [e for e in found.items if e.reason == reason]


def condition(obj: dict[str, Any] | None, kind: str) -> dict[str, Any]:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return dict(cond)
    return {}


def ready_for_generation(obj: dict[str, Any] | None) -> bool:
    """Ready=True for the object's current spec."""
    if obj is None:
        return False
    ready = condition(obj, "Ready")
    return ready.get("status") == "True" and ready.get("observedGeneration") == obj["metadata"]["generation"]


def run_ended(run: dict[str, Any]) -> bool:
    """A PatchRun's terminal state: Complete=True (succeeded) or Failed=True."""
    return condition(run, "Complete").get("status") == "True" or condition(run, "Failed").get("status") == "True"


def owned_in_ssm(target: Target, uid: str) -> list[str]:
    """The patch baselines and maintenance windows in the target's region tagged `sreops.io/uid=<uid>`."""
    ssm = target.aws("ssm")
    found = []
    for kind, ident in _ssm_resources(ssm):
        tags = ssm.list_tags_for_resource(ResourceType=kind, ResourceId=ident)["TagList"]
        if {"Key": "sreops.io/uid", "Value": uid} in tags:
            found.append(f"{kind} {ident}")
    return found


def _ssm_resources(ssm: Any) -> Iterator[tuple[str, str]]:
    pages = ssm.get_paginator("describe_patch_baselines").paginate(Filters=[{"Key": "OWNER", "Values": ["Self"]}])
    for page in pages:
        for baseline in page["BaselineIdentities"]:
            yield "PatchBaseline", baseline["BaselineId"]
    for page in ssm.get_paginator("describe_maintenance_windows").paginate():
        for window in page["WindowIdentities"]:
            yield "MaintenanceWindow", window["WindowId"]


def patch_group_registered(target: Target, patch_group: str) -> bool:
    ssm = target.aws("ssm")
    for page in ssm.get_paginator("describe_patch_groups").paginate():
        if any(m["PatchGroup"] == patch_group for m in page["Mappings"]):
            return True
    return False
