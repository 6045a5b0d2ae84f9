"""AWS stand-in throughput: inspector2 list_findings pages/s over 100,000 findings (boto3 paginator),
SSM calls/s, and the stand-in's memory while holding them (measured in a subprocess)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import boto3
from botocore.config import Config

from sreops.sandbox.aws.scenario import DOC_ACCOUNT_IDS, SANDBOX_EXTERNAL_ID

FINDINGS = 100_000
INSTANCES = 1_000
REGION = "us-west-2"
ACCOUNT_ROLE = f"arn:aws:iam::{DOC_ACCOUNT_IDS[0]}:role/sreops"


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run() -> None:
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-P",
            "-m",
            "sreops.sandbox.aws.cli",
            "--speed",
            "0",
            "--accounts",
            "1",
            "--regions",
            REGION,
            "--instances",
            str(INSTANCES),
            "--findings",
            str(FINDINGS),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        env: dict[str, str] = {}
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("#"):
                break
            k, _, v = line.strip().partition("=")
            env[k] = v
        startup = time.monotonic() - t0
        config = Config(retries={"mode": "standard", "total_max_attempts": 2})
        base = {"endpoint_url": env["AWS_ENDPOINT_URL"], "region_name": REGION, "config": config}
        sts = boto3.client(
            "sts",
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            **base,
        )
        c = sts.assume_role(RoleArn=ACCOUNT_ROLE, RoleSessionName="bench", ExternalId=SANDBOX_EXTERNAL_ID)[
            "Credentials"
        ]
        creds = {
            "aws_access_key_id": c["AccessKeyId"],
            "aws_secret_access_key": c["SecretAccessKey"],
            "aws_session_token": c["SessionToken"],
        }
        insp = boto3.client("inspector2", **base, **creds)
        ssm = boto3.client("ssm", **base, **creds)

        t = time.monotonic()
        pages = count = 0
        for page in insp.get_paginator("list_findings").paginate(PaginationConfig={"PageSize": 100}):
            pages += 1
            count += len(page["findings"])
        dt = time.monotonic() - t
        print(f"stand-in startup with {FINDINGS:,} findings, {INSTANCES:,} instances: {startup:.1f} s")
        print(f"inspector2 list_findings: {count:,} findings in {pages} pages, {dt:.1f} s, {pages / dt:.0f} pages/s")

        t = time.monotonic()
        crit = 0
        flt = {"severity": [{"comparison": "EQUALS", "value": "CRITICAL"}]}
        for page in insp.get_paginator("list_findings").paginate(filterCriteria=flt):
            crit += len(page["findings"])
        dt = time.monotonic() - t
        print(f"inspector2 list_findings severity=CRITICAL: {crit:,} findings, {dt:.2f} s")

        ids = [i["InstanceId"] for i in ssm.describe_instance_information(MaxResults=50)["InstanceInformationList"]]
        n = 400
        t = time.monotonic()
        for k in range(n):
            if k % 2:
                ssm.describe_instance_information(MaxResults=50)
            else:
                ssm.describe_instance_patch_states(InstanceIds=ids)
        dt = time.monotonic() - t
        print(f"ssm describe_instance_information + describe_instance_patch_states: {n / dt:.0f} calls/s (serial)")
        print(f"stand-in RSS holding {FINDINGS:,} findings: {_rss_mib(proc.pid):.0f} MiB")
    finally:
        proc.terminate()
        proc.wait(timeout=15)


if __name__ == "__main__":
    run()
