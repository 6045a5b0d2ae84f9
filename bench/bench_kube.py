"""Kubernetes API stand-in: creates/s over HTTPS, watch event latency, RSS holding 5,000 PatchPolicies.

The stand-in runs as its own process (`python -m sreops.sandbox.kube.cli`), as in the sandbox, so
its RSS is measured alone. Targets (issue 3): 5,000 creates in under 20 s on 2 cores, RSS under 300 MB.
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parents[1]
OBJECTS = 5_000
CONCURRENCY = 16
WATCH_SAMPLES = 300
TARGET_SECONDS = 20.0
TARGET_RSS_MB = 300.0


def _policy(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "sreops.io/v1alpha1",
        "kind": "PatchPolicy",
        "metadata": {"name": f"fleet-{i:05d}", "labels": {"team": f"t{i % 10}"}},
        "spec": {
            "accountRef": {"name": "prod"},
            "regions": ["us-west-2", "us-east-1"],
            "targets": {"tags": {"Role": "web", "Env": "prod"}},
            "operatingSystem": "AMAZON_LINUX_2023",
            "baseline": {
                "approvalRules": [
                    {
                        "classifications": ["Security", "Bugfix"],
                        "severities": ["Critical", "Important"],
                        "approveAfterDays": 7,
                        "complianceLevel": "CRITICAL",
                    }
                ]
            },
            "schedule": {"cron": "0 3 * * 0", "timezone": "America/Los_Angeles"},
            "window": {"durationHours": 3, "cutoffHours": 1},
            "operation": "Install",
            "rollout": {"maxConcurrency": "10%", "maxErrors": "1"},
        },
    }


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _start(state_dir: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-P", "-m", "sreops.sandbox.kube.cli", "--state-dir", str(state_dir), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        found = re.search(r"serving at (https://\S+)", line)
        if found:
            return proc, found.group(1)
    raise RuntimeError("the stand-in did not start")


async def _bench(url: str, state_dir: Path, pid: int) -> None:
    token = (state_dir / "token").read_text().strip()
    context = ssl.create_default_context(cafile=str(state_dir / "ca.crt"))
    headers = {"Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(ssl=context, limit=CONCURRENCY * 2)
    async with aiohttp.ClientSession(url, headers=headers, connector=connector) as http:
        crd_file = ROOT / "crds" / "patchpolicy.yaml"
        crd = yaml.safe_load(crd_file.read_text())
        async with http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=crd) as resp:
            assert resp.status in (201, 409), await resp.text()
        base = "/apis/sreops.io/v1alpha1/namespaces/default/patchpolicies"
        rss_before = _rss_mb(pid)

        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(OBJECTS):
            queue.put_nowait(i)
        failures = 0

        async def worker() -> None:
            nonlocal failures
            while not queue.empty():
                i = queue.get_nowait()
                async with http.post(base, json=_policy(i)) as resp:
                    await resp.read()
                    failures += resp.status != 201

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        create_s = time.perf_counter() - start
        rss_after = _rss_mb(pid)

        start = time.perf_counter()
        async with http.get(base) as resp:
            listing = await resp.json()
        list_s = time.perf_counter() - start

        latencies = await _watch_latency(http, base, listing["metadata"]["resourceVersion"])

    print(
        f"creates: {OBJECTS} PatchPolicies in {create_s:.2f} s at concurrency {CONCURRENCY} "
        f"= {OBJECTS / create_s:.0f}/s ({failures} failed); target < {TARGET_SECONDS:.0f} s: "
        f"{create_s / TARGET_SECONDS:.2f}x of the budget"
    )
    print(f"list: {len(listing['items'])} objects in {list_s * 1000:.0f} ms")
    p50 = statistics.median(latencies) * 1000
    p95 = statistics.quantiles(latencies, n=20)[18] * 1000
    print(f"watch latency (patch sent -> event received, {len(latencies)} samples): p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    print(
        f"RSS: {rss_before:.0f} MB empty, {rss_after:.0f} MB holding {OBJECTS} objects; "
        f"target < {TARGET_RSS_MB:.0f} MB: "
        f"{rss_after / TARGET_RSS_MB:.2f}x of the budget"
    )


async def _watch_latency(http: aiohttp.ClientSession, base: str, rv: str) -> list[float]:
    sent: dict[str, float] = {}
    received: dict[str, float] = {}
    opened = asyncio.Event()

    async def watch() -> None:
        async with http.get(base, params={"watch": "true", "resourceVersion": rv}) as resp:
            opened.set()
            async for line in resp.content:
                event = json.loads(line)
                key = (
                    event["object"]["metadata"]["name"] + ":" + str(event["object"]["spec"]["window"]["durationHours"])
                )
                received.setdefault(key, time.perf_counter())
                if len(received) >= WATCH_SAMPLES:
                    return

    task = asyncio.create_task(watch())
    await opened.wait()
    for i in range(WATCH_SAMPLES):
        name = f"fleet-{i:05d}"
        sent[f"{name}:4"] = time.perf_counter()
        patch = {"spec": {"window": {"durationHours": 4}}}
        async with http.patch(
            f"{base}/{name}", json=patch, headers={"Content-Type": "application/merge-patch+json"}
        ) as resp:
            await resp.read()
    await asyncio.wait_for(task, timeout=30)
    return [received[k] - sent[k] for k in sent if k in received]


def run() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-kube-") as tmp:
        state_dir = Path(tmp)
        proc, url = _start(state_dir)
        try:
            asyncio.run(_bench(url, state_dir, proc.pid))
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    run()
