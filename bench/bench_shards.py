"""PatchPolicies over three shards and the unlabelled set, one operator process each, against the stand-ins.

The Kubernetes stand-in runs in-process; the AWS stand-in and the four operators (`--shard a|b|c|none`, leader
election on, each with a quarter of the AWS request budget, as the chart runs them) are child processes. The
AWS stand-in enforces a rate quota of 20 requests/s per account and region over all services (`*:*=quota:20`,
answered with the service's ThrottlingException). N policies (own credentials, all in one account, spread
over `--regions` regions) are spread evenly over a, b, c and unlabelled, and created at once. Figures: time
until every one is Ready, AWS calls per policy to get there, peak RSS of each shard process (VmHWM),
steady-state AWS calls per policy per resync (counted over one resync interval once all are Ready), and the
throttles the stand-in answered (against the calls).

`python -m bench shards` runs the default size (one region: every shard against one quota);
`python -m bench.bench_shards --policies 5000 --regions 10 --resync-seconds 300` the acceptance size: a quota
of 20 requests/s cannot carry 5,000 policies' first apply (about 10 calls each) in one region in less than
40 minutes, whatever the operator does, so they are spread as an organisation's fleet would be.
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
REGIONS = (
    "us-west-2",
    "us-east-1",
    "us-east-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-1",
    "ap-northeast-1",
    "sa-east-1",
    "ca-central-1",
    "ap-south-1",
)
BUDGET_SHARE = 1 / len(SHARDS)  # the four sets act in the same account and regions (the chart's setting)


def _policy(n: int, shard: str, region: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ROOT / "crds" / "samples" / "patchpolicy.yaml").read_text())
    for own_credentials_and_own_region in ("accountRef", "regions", "patchGroup"):
        doc["spec"].pop(own_credentials_and_own_region)
    if region != REGION:
        doc["spec"]["regions"] = [region]
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


def measure(policies: int, regions: int = 1, resync_seconds: int = RESYNC_SECONDS) -> None:
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
                    f"--aws-budget-share={BUDGET_SHARE}",
                    f"--resync-seconds={resync_seconds}",
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
                    GROUP,
                    VERSION,
                    NAMESPACE,
                    "patchpolicies",
                    _policy(i, SHARDS[i % len(SHARDS)], REGIONS[(i // len(SHARDS)) % regions]),
                )

            def all_ready() -> bool:
                exited = [f"{c.name} ({c.proc.returncode})" for c in operators if c.proc and c.proc.poll() is not None]
                if exited:
                    raise RuntimeError(f"operator exited before all were Ready: {', '.join(exited)}")
                return _ready(custom) == policies

            # Every 5 s: listing every policy is a large response from the stand-in, which runs in this process.
            _wait(all_ready, timeout=3600, interval=5.0)
            to_ready = time.perf_counter() - start
            calls = int(_admin(endpoint, "calls")["total"])
            throttled = int(_admin(endpoint, "faults")["injected"]) - throttled_before

            # Steady state: one resync interval with nothing changing.
            _admin(endpoint, "calls", "DELETE")
            steady_throttled_before = int(_admin(endpoint, "faults")["injected"])
            window_start = time.perf_counter()
            time.sleep(resync_seconds)  # the measurement window itself, not a synchronisation
            window = time.perf_counter() - window_start
            steady = int(_admin(endpoint, "calls")["total"])
            steady_throttled = int(_admin(endpoint, "faults")["injected"]) - steady_throttled_before
            rss = {child.name: _peak_rss_mib(child.pid) for child in operators}

            print(
                f"{policies:>5} policies over shards a, b, c + unlabelled in {regions} region(s) of one account, AWS "
                f"quota {QUOTA} requests/s per account and region: {to_ready:.1f} s to all Ready "
                f"({policies / to_ready:.1f}/s), "
                f"{calls / policies:.1f} AWS calls each (throttled ones included); throttles {throttled} of {calls} "
                f"calls ({100 * throttled / max(1, calls):.2f}%)"
            )
            per_resync = steady / policies * (resync_seconds / window)
            print(
                f"        steady state: {per_resync:.2f} AWS calls per policy per resync ({resync_seconds} s), "
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
    parser.add_argument("--regions", type=int, default=1, choices=range(1, len(REGIONS) + 1), help="default 1")
    parser.add_argument("--resync-seconds", type=int, default=RESYNC_SECONDS, help=f"default {RESYNC_SECONDS}")
    args = parser.parse_args()
    measure(args.policies, args.regions, args.resync_seconds)
