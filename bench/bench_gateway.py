"""Gateway: latency of signed Slack slash commands at 100 requests/s (open loop, like Slack's traffic).

The gateway runs as its own process (`sreops gateway`) against the Kubernetes stand-in (in this process,
HTTPS, RBAC and impersonation on); each command is `/sreops status pp/web-fleet`, signed as Slack signs
it, read from Kubernetes as the mapped user. Slack allows 3 s; the target is p99 < 300 ms.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
from kubernetes import config

from sreops.sandbox import gateway_seed
from sreops.sandbox.chat.slack_signing import signed_headers, slash_command_body
from sreops.sandbox.kube.server import KubeServer
from sreops.sandbox.processes import gateway_child
from sreops.sandbox.seed import apply_samples, install_crds

RATE = 100.0
SECONDS = 10.0
SECRET = "bench-signing-secret"  # the benchmark's own
TARGET_P99_MS = 300.0


async def _load(url: str) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    failures = 0
    body = slash_command_body("status pp/web-fleet", response_url="http://127.0.0.1:9/commands/bench")
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) as session:

        async def one() -> None:
            nonlocal failures
            headers = signed_headers(SECRET, body)
            started = time.perf_counter()
            try:
                async with session.post(url + "/slack/commands", data=body, headers=headers) as response:
                    payload = await response.json()
                    if response.status != 200 or "web-fleet" not in str(payload):
                        failures += 1
            except aiohttp.ClientError:
                failures += 1
            latencies.append(time.perf_counter() - started)

        for _ in range(20):  # warm up: connections, caches
            await one()
        latencies.clear()
        failures = 0
        start = time.perf_counter()
        tasks = []
        for i in range(int(RATE * SECONDS)):
            delay = start + i / RATE - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(one()))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    return latencies, failures, elapsed


def run() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as tmp:
        state = Path(tmp)
        kube = KubeServer(state / "kube").start_in_thread()
        api = config.new_client_from_config(config_file=str(kube.kubeconfig_path))
        child = None
        try:
            install_crds(api)
            apply_samples(api, "default")
            gateway_seed.seed_rbac(api, "default")
            gateway_seed.seed_identities(api, "default")
            env = {"KUBECONFIG": str(kube.kubeconfig_path), "SREOPS_SLACK_SIGNING_SECRET": SECRET}
            child, port = gateway_child(
                env, state / "gateway.log", "--namespace=default", "--slack-response-url-prefix=http://127.0.0.1:9/"
            )
            child.start(timeout=60)
            latencies, failures, elapsed = asyncio.run(_load(f"http://127.0.0.1:{port}"))
        finally:
            if child is not None:
                child.stop()
            api.close()
            kube.stop()
    ms = sorted(x * 1000 for x in latencies)
    p50 = statistics.median(ms)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    print(
        f"signed slash commands at {RATE:.0f}/s for {SECONDS:.0f} s: {len(ms)} sent in {elapsed:.1f} s, "
        f"{failures} failed"
    )
    print(f"latency p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {ms[-1]:.1f} ms (target p99 < {TARGET_P99_MS:.0f} ms)")
