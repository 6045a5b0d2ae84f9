"""What a resync of unchanged PatchPolicies costs: AWS calls per policy (reads and writes, by operation) and the
wall time of one resync round, at 50 and 1,000 policies.

The AWS stand-in is a child process, as in the integration tests, and counts every call it serves. The
operator side runs in-process (running the whole operator for 1,000 policies is too slow on 2 cores): a round
calls, for every policy, what the operator's two timers call on a resync, namely the PatchPolicy reconcile
(`controllers.patchpolicy.reconcile`) and the look for window executions
(`controllers.run_triggers.show_window_executions`), on a thread pool of kopf's default size, and writes the
status back into the in-memory object the way kopf applies a patch. The policies use the operator's own
credentials, so nothing on this path reads Kubernetes. Rounds stand for resyncs one interval apart: between
rounds the clock of the shared reads moves on by one resync interval. Round 1 creates everything; the next two
are the first looks after a start (every window's executions are read twice after its next execution time is
first seen); the round after that is the steady state that is measured.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import kopf
import yaml
from kubernetes import client

from sreops.operator.api import PatchPolicySpec
from sreops.operator.aws.clients import ClientFactory
from sreops.operator.controllers import patchpolicy
from sreops.operator.controllers.base import Context
from sreops.operator.controllers.run_triggers import show_window_executions
from sreops.operator.metrics import OperatorMetrics
from sreops.operator.services import Services
from sreops.operator.settings import Settings
from sreops.sandbox.aws.server import is_write
from sreops.sandbox.processes import start_aws_standin

ROOT = Path(__file__).resolve().parents[1]
SIZES = (50, 1000)
REGION = "us-west-2"
RESYNC_SECONDS = 300.0
# This benchmark at 40a6c94, before the cheap steady state: 12 calls per policy (the 11 first reported, plus
# DescribeInstancePatchStates, as the home fleet has instances the sample targets) and these round times.
OLD_CALLS_PER_POLICY = 12.0
OLD_ROUND_SECONDS = {50: 2.8, 1000: 54.9}
WORKERS = min(32, (os.cpu_count() or 1) + 4)  # asyncio's default executor, which kopf runs sync handlers on
WARM_UP_ROUNDS = 3
log = logging.getLogger("bench.resync")


class FakeClock:
    """The shared reads' clock: a round is one resync interval after the one before."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _policy(namespace: str, n: int) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ROOT / "crds" / "samples" / "patchpolicy.yaml").read_text())
    spec = doc["spec"]
    for own_credentials_and_default_region in ("accountRef", "regions", "patchGroup"):
        spec.pop(own_credentials_and_default_region)
    return {
        "apiVersion": doc["apiVersion"],
        "kind": doc["kind"],
        "metadata": {
            "name": f"p{n}",
            "namespace": namespace,
            "uid": f"{namespace}-{n:05d}",
            "generation": 1,
            "annotations": {},
        },
        "spec": spec,
    }


def _resync(services: Services, raw: dict[str, Any]) -> None:
    """One policy's resync: reconcile, apply the status patch as kopf would, then look for window executions."""
    body = kopf.Body(raw)
    patch = kopf.Patch()
    ctx = Context(body=body, patch=patch, services=services, logger=log)
    spec = PatchPolicySpec.model_validate(raw["spec"])
    patchpolicy.reconcile(spec, ctx)
    ctx.observed()
    status = raw.setdefault("status", {})
    status.update(patch.get("status") or {})
    for fn in patch.fns:
        fn(raw)
    show_window_executions(services, kopf.Body(raw), log)


def _round(services: Services, policies: list[dict[str, Any]]) -> float:
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for future in [pool.submit(_resync, services, p) for p in policies]:
            future.result()
    return time.perf_counter() - start


def _calls(endpoint: str, method: str = "GET") -> dict[str, Any]:
    request = urllib.request.Request(f"{endpoint}/_sandbox/calls", method=method)
    with urllib.request.urlopen(request, timeout=10) as r:
        answer: dict[str, Any] = json.loads(r.read())
    return answer


def _by_operation(answer: dict[str, Any]) -> Counter[str]:
    return Counter({f"{svc}:{op}": n for svc, ops in answer["calls"].items() for op, n in ops.items()})


@contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # boto3 reads the endpoint and the keys from the environment
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _measure(endpoint: str, n: int) -> None:
    clock = FakeClock()
    settings = Settings(default_region=REGION, resync_seconds=RESYNC_SECONDS)
    services = Services(
        settings=settings,
        metrics=OperatorMetrics(),
        aws=ClientFactory(sts_region=REGION),
        kube=client.ApiClient(),  # not called on this path: own credentials, no run to create
    )
    services.shared.clock = clock
    policies = [_policy(f"bench-{n}", i) for i in range(n)]
    for _ in range(WARM_UP_ROUNDS):
        _round(services, policies)
        clock.now += RESYNC_SECONDS
    _calls(endpoint, "DELETE")
    seconds = _round(services, policies)
    answer = _calls(endpoint)
    ops = _by_operation(answer)
    total, writes = answer["total"], answer["writes"]
    per = total / n
    old_seconds = OLD_ROUND_SECONDS[n]
    print(
        f"{n:>5} unchanged policies: {per:.2f} AWS calls each per resync ({(total - writes) / n:.2f} reads, "
        f"{writes / n:.2f} writes; {per / OLD_CALLS_PER_POLICY:.2f}x the old {OLD_CALLS_PER_POLICY:.0f}); "
        f"one resync round {seconds:.1f} s ({seconds / old_seconds:.2f}x the old {old_seconds} s; "
        f"{n / seconds:.0f} policies/s on {WORKERS} threads)"
    )
    for op, count in sorted(ops.items(), key=lambda kv: (-kv[1], kv[0])):
        kind = "write" if is_write(op.split(":", 1)[1]) else "read"
        print(f"        {count / n:6.3f}  {op} ({kind}, {count} in the round)")
    services.kube.close()


def _no_events(*_: Any, **__: Any) -> None:
    """The reconcile runs here outside kopf, which posts Events only from inside its own context (they cost
    Kubernetes writes, not AWS calls, which is what this measures)."""


def run() -> None:
    kopf.event = _no_events  # the Compliant/Ready change Events of controllers/base.py
    with tempfile.TemporaryDirectory(prefix="bench-resync-") as tmp:
        aws_proc, aws_env = start_aws_standin(Path(tmp) / "aws.log")
        try:
            with _environment({**aws_env, "AWS_MAX_ATTEMPTS": "2"}):
                for n in SIZES:
                    _measure(aws_env["AWS_ENDPOINT_URL"], n)
        finally:
            aws_proc.terminate()
            aws_proc.wait(timeout=20)


if __name__ == "__main__":
    run()
