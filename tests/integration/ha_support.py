"""Helpers for the high-availability tests: replicas with users of their own, leases, policies, and what the
stand-ins saw (the kube audit log by user, SSM's resources by name)."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from sreops.operator.api import GROUP, VERSION
from tests.integration.conftest import Aws, Kube, OperatorProcess, make_operator

ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = "default"
PLURAL = "patchpolicies"
SHARD_LABEL = "sreops.io/shard"
# Short election durations keep the tests within their budget; the ordering rules are client-go's.
FAST_ELECTION = ("--lease-duration-seconds=4", "--renew-deadline-seconds=3", "--retry-period-seconds=1")
LEASE_DURATION, RETRY_PERIOD = 4.0, 1.0
DEFAULT_ELECTION = ("--lease-duration-seconds=15", "--renew-deadline-seconds=10", "--retry-period-seconds=2")
# At the acceptance sizes a 3 s resync alone would ask the AWS budget for ~300 calls/s (200 policies x ~5 calls
# every 3 s): the backlog, not failover, would decide how long a run-now waits. 30 s is still ten times the
# default's rate.
RESYNC = 30.0 if os.environ.get("SREOPS_HA_FULL") == "1" else 3.0
# The stand-in serves ~300 calls/s: a budget above the defaults keeps bulk creation quick (the defaults are
# exercised by the unit tests and bench_shards).
TEST_RATES = "--aws-rates=ssm:read=50/100,ssm:write=40/80"


def full_size() -> bool:
    """`make ha` runs the acceptance sizes."""
    return os.environ.get("SREOPS_HA_FULL") == "1"


def user_kubeconfig(kube: Kube, user: str, path: Path) -> Path:
    """A kubeconfig for a user of its own (cluster admin through system:masters): the audit log then tells
    the processes apart."""
    token = kube.handle.server.issue_token(user, groups=("system:masters",))
    config = yaml.safe_load(kube.kubeconfig.read_text())
    config["users"][0]["user"]["token"] = token
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


def replica(
    kube: Kube, aws: Aws, workdir: Path, name: str, *flags: str, resync_seconds: float = RESYNC
) -> OperatorProcess:
    kubeconfig = user_kubeconfig(kube, f"system:serviceaccount:sreops:{name}", workdir / name / "kubeconfig")
    return make_operator(
        kube,
        aws.env,
        workdir,
        resync_seconds,
        name=name,
        kubeconfig=kubeconfig,
        flags=(*FAST_ELECTION, TEST_RATES, *flags),
    )


def lease_holder(kube: Kube, lease: str = "sreops-operator") -> str:
    """The holder's POD_NAME (identities are `<POD_NAME>_<uuid>`), '' when free or absent."""
    try:
        obj = client.CoordinationV1Api(kube.api).read_namespaced_lease(lease, NAMESPACE)
    except ApiException as exc:
        if exc.status == 404:
            return ""
        raise
    return str(obj.spec.holder_identity or "").split("_", 1)[0]


def lease_spec(kube: Kube, lease: str = "sreops-operator") -> Any:
    return client.CoordinationV1Api(kube.api).read_namespaced_lease(lease, NAMESPACE).spec


def policy(name: str, run_now: str | None = None, shard: str | None = None) -> dict[str, Any]:
    """The sample policy on the operator's own credentials and default region (the home fleet)."""
    doc: dict[str, Any] = yaml.safe_load((ROOT / "crds" / "samples" / "patchpolicy.yaml").read_text())
    for key in ("accountRef", "regions", "patchGroup"):
        doc["spec"].pop(key)
    doc["spec"]["operation"] = "Scan"
    meta: dict[str, Any] = {"name": name, "labels": {"team": "web"}}
    if shard is not None:
        meta["labels"][SHARD_LABEL] = shard
    if run_now is not None:
        meta["annotations"] = {"sreops.io/run-now": run_now}
    doc["metadata"] = meta
    return doc


def apply_all(kube: Kube, docs: Iterable[dict[str, Any]], workers: int = 8) -> None:
    custom = client.CustomObjectsApi(kube.api)
    with ThreadPoolExecutor(workers) as pool:
        for f in [
            pool.submit(custom.create_namespaced_custom_object, GROUP, VERSION, NAMESPACE, PLURAL, d) for d in docs
        ]:
            f.result()


def policies(kube: Kube) -> list[dict[str, Any]]:
    listing = client.CustomObjectsApi(kube.api).list_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURAL)
    return list(listing["items"])


def ready(obj: dict[str, Any]) -> bool:
    conditions = (obj.get("status") or {}).get("conditions") or []
    generation = obj["metadata"].get("generation")
    return any(
        c["type"] == "Ready" and c["status"] == "True" and c.get("observedGeneration") == generation for c in conditions
    )


def not_ready(kube: Kube, names: set[str]) -> set[str]:
    return names - {p["metadata"]["name"] for p in policies(kube) if ready(p)}


def ssm_resources(aws: Aws, region: str = "us-west-2") -> tuple[Counter[str], Counter[str]]:
    """Baselines and windows of the home account by name (the operator names them sreops-<ns>-<policy>)."""
    ssm = aws.client("ssm", region)
    baselines: Counter[str] = Counter()
    for page in ssm.get_paginator("describe_patch_baselines").paginate(Filters=[{"Key": "OWNER", "Values": ["Self"]}]):
        baselines.update(b["BaselineName"] for b in page["BaselineIdentities"])
    windows: Counter[str] = Counter()
    token: str | None = None
    while True:
        page = ssm.describe_maintenance_windows(**({"NextToken": token} if token else {}))
        windows.update(w["Name"] for w in page["WindowIdentities"])
        token = page.get("NextToken")
        if not token:
            break
    return baselines, windows


def send_commands(aws: Aws) -> int:
    return int(aws.admin("GET", "calls?service=ssm")["calls"].get("ssm", {}).get("SendCommand", 0))


def patch_runs(kube: Kube) -> list[dict[str, Any]]:
    listing = client.CustomObjectsApi(kube.api).list_namespaced_custom_object(GROUP, VERSION, NAMESPACE, "patchruns")
    return list(listing["items"])


def audit(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def writers_by_policy(path: Path, after: str = "") -> dict[str, set[str]]:
    """Which users wrote (patch/update, answered 2xx) each PatchPolicy, from the audit log."""
    out: dict[str, set[str]] = {}
    for event in audit(path):
        ref = event.get("objectRef") or {}
        if ref.get("resource") != PLURAL or event.get("verb") not in ("patch", "update") or not ref.get("name"):
            continue
        if event["stage"] != "ResponseComplete" or not 200 <= event["responseStatus"]["code"] < 300:
            continue
        if event["requestReceivedTimestamp"] < after:
            continue
        out.setdefault(ref["name"], set()).add(event["user"]["username"].rsplit(":", 1)[-1])
    return out
