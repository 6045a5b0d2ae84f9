"""PatchPolicy time to Ready for 200 and 1,000 policies, against a raw floor.

The Kubernetes stand-in runs in-process; the AWS stand-in and the operator are child processes, as in
tests/integration/conftest.py. For each size, N policies (one account, one region each) are created and
timed until every one is Ready. The floor is a script issuing the same calls back to back against the same
stand-ins in the same run: per policy, create the object, read its AWSAccount and Secret, run the same SSM
converge and compliance code the operator runs (so the same AWS calls, the fleet read shared as there), and
patch the status once.
The ratio operator / floor is the operator's overhead (kopf, queues, threads); the aim is at most 1.5x.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, config

from sreops.operator.accounts import placements
from sreops.operator.api import GROUP, VERSION, PatchPolicySpec
from sreops.operator.aws.clients import ClientFactory
from sreops.operator.patching.compliance import fleet_compliance
from sreops.operator.patching.desired import Identity, desired_state
from sreops.operator.patching.shared import SharedReads
from sreops.operator.patching.sync import sync_placement
from sreops.sandbox.aws.scenario import SANDBOX_EXTERNAL_ID
from sreops.sandbox.kube.server import KubeServer
from sreops.sandbox.processes import operator_child, start_aws_standin
from sreops.sandbox.seed import ensure_namespace, install_crds

ROOT = Path(__file__).resolve().parents[1]
SIZES = (200, 1000)
REGION = "us-west-2"
TARGET_RATIO = 1.5


def _policy(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ROOT / "crds" / "samples" / "patchpolicy.yaml").read_text())
    doc["metadata"] = {"name": name}
    doc["spec"].pop("patchGroup")
    return doc


def _ready_count(custom: client.CustomObjectsApi, namespace: str) -> int:
    items = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, "patchpolicies")["items"]
    return sum(
        1
        for o in items
        if any(c["type"] == "Ready" and c["status"] == "True" for c in (o.get("status") or {}).get("conditions", []))
    )


def _setup_account(api: client.ApiClient, namespace: str) -> None:
    ensure_namespace(api, namespace)
    client.CoreV1Api(api).create_namespaced_secret(
        namespace,
        client.V1Secret(metadata=client.V1ObjectMeta(name="prod-aws"), string_data={"externalId": SANDBOX_EXTERNAL_ID}),
    )
    account: dict[str, Any] = yaml.safe_load((ROOT / "crds" / "samples" / "awsaccount.yaml").read_text())
    client.CustomObjectsApi(api).create_namespaced_custom_object(GROUP, VERSION, namespace, "awsaccounts", account)


def _operator_run(api: client.ApiClient, n: int) -> float:
    """Creates n policies and waits until the operator has made all of them Ready."""
    namespace = f"op-{n}"
    custom = client.CustomObjectsApi(api)
    _setup_account(api, namespace)
    _wait(lambda: _account_ready(custom, namespace), 60)
    start = time.perf_counter()
    for i in range(n):
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "patchpolicies", _policy(f"p{i}"))
    _wait(lambda: _ready_count(custom, namespace) == n, 1800, interval=0.5)
    return time.perf_counter() - start


def _account_ready(custom: client.CustomObjectsApi, namespace: str) -> bool:
    obj = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "awsaccounts", "prod")
    return any(c["type"] == "Ready" and c["status"] == "True" for c in (obj.get("status") or {}).get("conditions", []))


def _floor_run(api: client.ApiClient, aws_env: dict[str, str], n: int, account_ns: str) -> float:
    """The same Kubernetes and AWS calls, back to back from one script."""
    namespace = f"floor-{n}"
    ensure_namespace(api, namespace)
    custom = client.CustomObjectsApi(api)
    factory = ClientFactory(sts_region=REGION)
    shared = SharedReads(factory, ttl_seconds=3600)  # the operator's resync interval in this benchmark
    start = time.perf_counter()
    for i in range(n):
        doc = custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "patchpolicies", _policy(f"p{i}"))
        spec = PatchPolicySpec.model_validate(doc["spec"])
        # The operator reads the AWSAccount and its Secret in the policy's namespace; read the bench's one.
        (where,) = placements(api, factory, REGION, account_ns, spec.account_ref, spec.regions)
        identity = Identity(namespace, doc["metadata"]["name"], doc["metadata"]["uid"])
        ssm = factory.client("ssm", where.region, where.access)
        result = sync_placement(ssm, desired_state(spec, identity), identity, where.account_id, where.region, None)
        counts = fleet_compliance(shared.fleet(where.access, where.account_id, where.region), spec.targets)
        status = {"targets": [result.target.to_wire()], "compliance": {"summary": counts.summary}}
        custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace, "patchpolicies", doc["metadata"]["name"], {"status": status}
        )
    return time.perf_counter() - start


def _wait(predicate: Any, timeout: float, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout}s")
        time.sleep(interval)


def _calls(aws_env: dict[str, str]) -> int:
    with urllib.request.urlopen(f"{aws_env['AWS_ENDPOINT_URL']}/_sandbox/calls", timeout=10) as r:
        return int(json.loads(r.read())["total"])


def run() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-pp-") as tmp:
        workdir = Path(tmp)
        handle = KubeServer(workdir / "kube").start_in_thread()
        api = config.new_client_from_config(config_file=str(handle.kubeconfig_path))
        install_crds(api)
        aws_proc, aws_env = start_aws_standin(workdir / "aws.log")
        operator, _ = operator_child(
            {**aws_env, "KUBECONFIG": str(handle.kubeconfig_path), "HOME": str(workdir), "AWS_MAX_ATTEMPTS": "2"},
            workdir / "operator.log",
            "--resync-seconds=3600",  # no resync during the measurement: only creates are timed
            *(f"--namespace=op-{n}" for n in SIZES),  # the floor's objects are not the operator's
            f"--default-region={REGION}",
        )
        saved = {k: os.environ.get(k) for k in aws_env}
        os.environ.update(aws_env)  # the floor's boto3 clients go to the same stand-in
        try:
            operator.start()
            for n in SIZES:
                calls0 = _calls(aws_env)
                op_s = _operator_run(api, n)
                calls1 = _calls(aws_env)
                # The operator is idle now (no resync for an hour), so the floor has the stand-ins to itself.
                floor_s = _floor_run(api, aws_env, n, account_ns=f"op-{n}")
                calls2 = _calls(aws_env)
                print(
                    f"{n:>5} policies: operator {op_s:6.1f} s to Ready ({n / op_s:5.1f}/s, "
                    f"{(calls1 - calls0) / n:.1f} AWS calls each); floor {floor_s:6.1f} s "
                    f"({(calls2 - calls1) / n:.1f} AWS calls each); ratio {op_s / floor_s:.2f}x "
                    f"(aim <= {TARGET_RATIO}x)"
                )
        finally:
            operator.stop()
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            aws_proc.terminate()
            aws_proc.wait(timeout=20)
            api.close()
            handle.stop()


if __name__ == "__main__":
    run()
