"""botocore's `adaptive` retry mode against sreops' request budget (operator/aws/ratelimit.py), measured.

The AWS stand-in enforces a quota of 20 requests/s per account and region (`*:*=quota:20`, a ThrottlingException
past it). Several processes' worth of demand (PROCESSES clients, THREADS threads each, calling
DescribePatchBaselines as fast as they can for SECONDS s) runs three ways: botocore `standard` retries alone;
`adaptive` (its client-side rate limiter lives in each client, as each process would have its own); and
`standard` behind our budget, one per process, at 1/PROCESSES of the default SSM read rate (what
`--aws-budget-share` gives each shard). Figures: calls answered per second, the throttles the stand-in sent, and
their share of the requests it received (botocore's retries included).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from sreops.operator.aws.clients import ClientFactory
from sreops.operator.aws.ratelimit import AwsBudget, parse_rates, scaled
from sreops.sandbox.processes import start_aws_standin

QUOTA = 20
PROCESSES = 4
THREADS = 4
SECONDS = 20.0
REGION = "us-west-2"


def _admin(endpoint: str, path: str, method: str = "GET") -> dict[str, Any]:
    with urllib.request.urlopen(urllib.request.Request(f"{endpoint}/_sandbox/{path}", method=method), timeout=10) as r:
        answer: dict[str, Any] = json.loads(r.read())
    return answer


def _hammer(clients: list[Any]) -> tuple[int, int]:
    """Every client called by THREADS threads for SECONDS s: (answered, gave up after botocore's retries)."""
    answered, failed = [0], [0]
    lock = threading.Lock()
    deadline = time.monotonic() + SECONDS

    def work(client: Any) -> None:
        while time.monotonic() < deadline:
            try:
                client.describe_patch_baselines(MaxResults=10)
                ok = True
            except ClientError:
                ok = False
            with lock:
                (answered if ok else failed)[0] += 1

    threads = [threading.Thread(target=work, args=(c,)) for c in clients for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answered[0], failed[0]


def _plain(mode: str, env: dict[str, str]) -> Callable[[], Any]:
    config = Config(retries={"mode": mode, "max_attempts": 3})
    return lambda: boto3.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"]
    ).client("ssm", region_name=REGION, endpoint_url=env["AWS_ENDPOINT_URL"], config=config)


def _budgeted() -> Any:
    budget = AwsBudget(scaled(parse_rates(""), 1 / PROCESSES))
    return ClientFactory(sts_region=REGION, budget=budget).client("ssm", REGION)


def run() -> None:
    log = Path(tempfile.mkdtemp(prefix="bench-adaptive-")) / "aws.log"
    proc, env = start_aws_standin(log, "--faults", f"*:*=quota:{QUOTA}")
    try:
        os.environ.update(env)  # the budgeted clients find the stand-in's endpoint and keys there, as the operator does
        endpoint = env["AWS_ENDPOINT_URL"]
        print(
            f"{PROCESSES} processes x {THREADS} threads, DescribePatchBaselines for {SECONDS:g} s, quota {QUOTA}/s "
            "per account and region:"
        )
        for name, make in (
            ("standard retries alone", _plain("standard", env)),
            ("botocore adaptive", _plain("adaptive", env)),
            (f"standard + sreops budget (share 1/{PROCESSES})", _budgeted),
        ):
            clients = [make() for _ in range(PROCESSES)]
            _admin(endpoint, "calls", "DELETE")
            before = int(_admin(endpoint, "faults")["injected"])
            answered, failed = _hammer(clients)
            received = int(_admin(endpoint, "calls")["total"])
            throttled = int(_admin(endpoint, "faults")["injected"]) - before
            print(
                f"  {name:<40} {answered / SECONDS:5.1f} answered/s, {failed} gave up, throttles {throttled} of "
                f"{received} requests ({100 * throttled / max(1, received):.1f}%)"
            )
    finally:
        proc.terminate()
        proc.wait(timeout=20)


if __name__ == "__main__":
    run()
