"""PatchPolicies over three shards and the unlabelled set, one operator process each, against the stand-ins.

The Kubernetes stand-in runs in-process; the AWS stand-in and the four operators (`--shard a|b|c|none`, leader
election on, as the chart runs them) are child processes. The AWS stand-in enforces a rate quota of 20
requests/s per account and region (`*:*=quota:20`, answered with the service's ThrottlingException). N
policies (own credentials, one region, the same account: the worst case for the quota) are spread evenly over
a, b, c and unlabelled, and created at once. Figures: time until every one is Ready, AWS calls per policy to
get there, peak RSS of each shard process (VmHWM), steady-state AWS calls per policy per resync (counted over
one resync interval once all are Ready), and the throttles the stand-in answered (against the calls).

`python -m bench shards` runs the default size; `python -m bench.bench_shards --policies 5000` the acceptance
size (the request budget is per process, so four shards in one account and region share the quota).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, config

from sreops.operator.api import GROUP, VERSION
from sreops.operator.settings import SHARD_LABEL
from sreops.sandbox.kube.server import KubeServer
from sreops.sandbox.processes import Child, operator_child, start_aws_standin
from sreops.sandbox.seed import ensure_namespace, install_crds

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_POLICIES = 120  # about 3 minutes here, most of it the 20 requests/s quota and one resync interval
SHARDS = ("a", "b", "c", "none")
QUOTA = 20
REGION = "us-west-2"
NAMESPACE = "bench"
RESYNC_SECONDS = 30


def _policy(n: int, shard: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ROOT / "crds" / "samples" / "patchpolicy.yaml").read_text())
    for own_credentials_and_default_region in ("accountRef", "regions", "patchGroup"):
        doc["spec"].pop(own_credentials_and_default_region)
    labels = {} if shard == "none" else {SHARD_LABEL: shard}
    doc["metadata"] = {"name": f"p{n}", "labels": labels}
    return doc


def _ready(custom: client.CustomObjectsApi) -> int:
    items = custom.list_namespaced_custom_object(GROUP, VERSION, NAMESPACE, "patchpolicies")["items"]
    return sum(
        1
        for o in items
        if any(c["type"] == "Ready" and c["status"] == "True" for c in (o.get("status") or {}).get("conditions", []))
    )


def _admin(endpoint: str, path: str, method: str = "GET") -> dict[str, Any]:
    request = urllib.request.Request(f"{endpoint}/_sandbox/{path}", method=method)
    with urllib.request.urlopen(request, timeout=10) as r:
        answer: dict[str, Any] = json.loads(r.read())
    return answer


def _peak_rss_mib(pid: int | None) -> float:
    if pid is None:
        return float("nan")
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _wait(predicate: Any, timeout: float, interval: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout}s")
        time.sleep(interval)


def measure(policies: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-shards-") as tmp:
        workdir = Path(tmp)
        handle = KubeServer(workdir / "kube").start_in_thread()
        api = config.new_client_from_config(config_file=str(handle.kubeconfig_path))
        install_crds(api)
        ensure_namespace(api, NAMESPACE)
        aws_proc, aws_env = start_aws_standin(workdir / "aws.log", "--faults", f"*:*=quota:{QUOTA}")
        endpoint = aws_env["AWS_ENDPOINT_URL"]
        operators: list[Child] = []
        try:
            for shard in SHARDS:
                name = f"operator-{shard}-0"
                env = {**aws_env, "KUBECONFIG": str(handle.kubeconfig_path), "HOME": str(workdir), "POD_NAME": name}
                child, _ = operator_child(
                    {**env, "AWS_MAX_ATTEMPTS": "3"},
                    workdir / f"{name}.log",
                    f"--shard={shard}",
                    f"--resync-seconds={RESYNC_SECONDS}",
                    f"--default-region={REGION}",
                    name=name,
                )
                operators.append(child)
                child.start()
            custom = client.CustomObjectsApi(api)
            _admin(endpoint, "calls", "DELETE")
            throttled_before = int(_admin(endpoint, "faults")["injected"])
            start = time.perf_counter()
            for i in range(policies):
                custom.create_namespaced_custom_object(
                    GROUP, VERSION, NAMESPACE, "patchpolicies", _policy(i, SHARDS[i % len(SHARDS)])
                )
            _wait(lambda: _ready(custom) == policies, timeout=3600)
            to_ready = time.perf_counter() - start
            calls = int(_admin(endpoint, "calls")["total"])
            throttled = int(_admin(endpoint, "faults")["injected"]) - throttled_before

            # Steady state: one resync interval with nothing changing.
            _admin(endpoint, "calls", "DELETE")
            steady_throttled_before = int(_admin(endpoint, "faults")["injected"])
            window_start = time.perf_counter()
            time.sleep(RESYNC_SECONDS)  # the measurement window itself, not a synchronisation
            window = time.perf_counter() - window_start
            steady = int(_admin(endpoint, "calls")["total"])
            steady_throttled = int(_admin(endpoint, "faults")["injected"]) - steady_throttled_before
            rss = {child.name: _peak_rss_mib(child.pid) for child in operators}

            print(
                f"{policies:>5} policies over shards a, b, c + unlabelled, AWS quota {QUOTA} requests/s per account "
                f"and region (all in one): {to_ready:.1f} s to all Ready ({policies / to_ready:.1f}/s), "
                f"{calls / policies:.1f} AWS calls each (throttled ones included); throttles {throttled} of {calls} "
                f"calls ({100 * throttled / max(1, calls):.2f}%)"
            )
            per_resync = steady / policies * (RESYNC_SECONDS / window)
            print(
                f"        steady state: {per_resync:.2f} AWS calls per policy per resync ({RESYNC_SECONDS} s), "
                f"throttles {steady_throttled} of {steady}"
            )
            print("        peak RSS: " + ", ".join(f"{name} {mib:.0f} MiB" for name, mib in rss.items()))
        finally:
            for child in operators:
                child.stop()
            aws_proc.terminate()
            aws_proc.wait(timeout=20)
            api.close()
            handle.stop()


def run() -> None:
    measure(DEFAULT_POLICIES)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policies", type=int, default=DEFAULT_POLICIES, help="policies in all (default 120)")
    measure(parser.parse_args().policies)
