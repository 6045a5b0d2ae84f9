"""`sreops findings` as a user runs it: the real CLI process, configured by KUBECONFIG and the AWS
environment only, against the Kubernetes and AWS stand-ins. No operator: the schedule and its AWSAccount
(with the status the operator would have given it) are created directly, and the CLI's output is compared
with an independent boto3 listing of the stand-in.

The stand-in's clock is frozen at 2026-01-05T12:00Z and its findings were first observed a day earlier. The
prod account 111122223333 (reached through its role) has Env=prod on every instance, so the schedule's
targets {Env: prod, Role: db} make Inspector filter on Env and the CLI check Role.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from sreops.operator.api import GROUP, VERSION
from sreops.sandbox.aws.scenario import SANDBOX_EXTERNAL_ID
from tests.integration.conftest import Aws, Kube

pytestmark = [pytest.mark.integration, pytest.mark.slow]
NS = "default"
ACCOUNT = "111122223333"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sreops"
REGIONS = ("us-west-2", "us-east-1")
SEVERITY_RANK = {"CRITICAL": 0, "HIGH": 1, "MEDIUM": 2, "LOW": 3, "INFORMATIONAL": 4, "UNTRIAGED": 4}


def _findings_cli(kube: Kube, aws: Aws, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **aws.env, "KUBECONFIG": str(kube.kubeconfig), "HOME": str(home), "AWS_MAX_ATTEMPTS": "2"}
    return subprocess.run(
        [sys.executable, "-P", "-m", "sreops.cli", "findings", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _account(kube: Kube) -> None:
    kube.core.create_namespaced_secret(
        NS,
        client.V1Secret(metadata=client.V1ObjectMeta(name="prod-aws"), string_data={"externalId": SANDBOX_EXTERNAL_ID}),
    )
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "AWSAccount",
        "metadata": {"name": "prod"},
        "spec": {"roleArn": ROLE, "externalIdSecretRef": {"name": "prod-aws", "key": "externalId"}},
    }
    kube.custom.create_namespaced_custom_object(GROUP, VERSION, NS, "awsaccounts", body)


def _account_verified(kube: Kube) -> None:
    """The status the AWSAccount controller writes once it has verified the role."""
    obj = kube.custom.get_namespaced_custom_object(GROUP, VERSION, NS, "awsaccounts", "prod")
    generation = obj["metadata"]["generation"]
    ready = {
        "type": "Ready",
        "status": "True",
        "reason": "Verified",
        "message": "role assumed",
        "observedGeneration": generation,
        "lastTransitionTime": "2026-01-05T12:00:00Z",
    }
    status = {"observedGeneration": generation, "accountId": ACCOUNT, "conditions": [ready]}
    kube.custom.patch_namespaced_custom_object_status(GROUP, VERSION, NS, "awsaccounts", "prod", {"status": status})


def _boto3_listing(aws: Aws) -> list[dict[str, Any]]:
    """Every ACTIVE EC2 finding of the prod account on an Env=prod, Role=db instance, by plain boto3."""
    out = []
    criteria = {
        "findingStatus": [{"comparison": "EQUALS", "value": "ACTIVE"}],
        "resourceType": [{"comparison": "EQUALS", "value": "AWS_EC2_INSTANCE"}],
        "awsAccountId": [{"comparison": "EQUALS", "value": ACCOUNT}],
    }
    for region in REGIONS:
        inspector = aws.client("inspector2", region, ROLE, SANDBOX_EXTERNAL_ID)
        for page in inspector.get_paginator("list_findings").paginate(filterCriteria=criteria):
            for f in page["findings"]:
                tags = f["resources"][0].get("tags") or {}
                if tags.get("Env") == "prod" and tags.get("Role") == "db":
                    out.append({**f, "region": region})
    return out


def _vuln(f: dict[str, Any]) -> str:
    return str(f["packageVulnerabilityDetails"]["vulnerabilityId"])


def _resource(f: dict[str, Any]) -> str:
    return str(f["resources"][0]["id"])


def _expected(f: dict[str, Any]) -> dict[str, Any]:
    return {
        "severity": f["severity"],
        "vulnerabilityId": _vuln(f),
        "resource": _resource(f),
        "account": f["awsAccountId"],
        "region": f["region"],
        "firstObserved": f["firstObservedAt"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "title": f["title"],
        "findingArn": f["findingArn"],
        "suppressed": False,
    }


def test_findings_lists_the_schedules_scope_live_with_its_suppressions(kube: Kube, aws: Aws, tmp_path: Path) -> None:
    # Two vulnerabilities found on two db instances each (every generated CVE is on one resource only).
    db = {(_resource(f), f["region"]) for f in _boto3_listing(aws)}
    first, second = sorted(db)[:2]
    for vuln in ("CVE-2024-3094", "CVE-2024-6387"):
        for resource, region in (first, second):
            found = {"account": ACCOUNT, "region": region, "resourceId": resource, "vulnerabilityId": vuln}
            aws.admin("POST", "findings", {**found, "severity": "CRITICAL"})
    listing = _boto3_listing(aws)
    assert len(listing) >= 10, "the default fleet has findings on its prod db instances"
    everywhere, on_one, one_resource = "CVE-2024-3094", "CVE-2024-6387", first[0]
    expired = next(_vuln(f) for f in listing if _vuln(f) not in (everywhere, on_one))
    suppressions = [
        # Until 2026-06-01: in force by AWS's clock (2026-01-05), whatever this machine's clock says.
        {"vulnerabilityId": everywhere, "reason": "not reachable", "expires": "2026-06-01"},
        {"vulnerabilityId": on_one, "resource": one_resource, "reason": "compensating control"},
        {"vulnerabilityId": expired, "reason": "was accepted", "expires": "2026-01-02"},  # counts again
    ]
    schedule = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ScanSchedule",
        "metadata": {"name": "prod-db"},
        "spec": {
            "accountRef": {"name": "prod"},
            "regions": list(REGIONS),
            "resourceTypes": ["EC2"],
            "schedule": {"cron": "0 * * * *", "timezone": "UTC"},
            "targets": {"tags": {"Env": "prod", "Role": "db"}},
            "suppressions": suppressions,
        },
    }
    kube.custom.create_namespaced_custom_object(GROUP, VERSION, NS, "scanschedules", schedule)
    _account(kube)

    # The account exists but the operator has not verified it: a clear line, exit status 1.
    result = _findings_cli(kube, aws, tmp_path, "prod-db")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "sreops findings: AWSAccount prod: not verified yet\n"

    _account_verified(kube)
    hidden = [f for f in listing if _vuln(f) == everywhere or (_vuln(f) == on_one and _resource(f) == one_resource)]
    shown = [f for f in listing if f not in hidden]
    assert any(_vuln(f) == on_one for f in shown), "the resource-scoped suppression leaves the others"
    assert any(_vuln(f) == expired for f in shown)

    result = _findings_cli(kube, aws, tmp_path, "prod-db", "-o", "json")
    assert (result.returncode, result.stderr) == (0, "")
    got = json.loads(result.stdout)
    assert sorted(got, key=lambda f: f["findingArn"]) == sorted(map(_expected, shown), key=lambda f: f["findingArn"])

    result = _findings_cli(kube, aws, tmp_path, "prod-db")  # table, namespace from the kubeconfig context
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["SEVERITY", "VULNERABILITY", "RESOURCE", "ACCOUNT"]
    assert lines[-2:] == [
        f"{len(shown)} findings ({len(hidden)} suppressed hidden)",
        f"expired suppressions, whose findings count again: {expired} (2026-01-02)",
    ]
    ranks = [SEVERITY_RANK[line.split()[0]] for line in lines[1:-2]]
    assert ranks == sorted(ranks) and len(ranks) == len(shown)

    result = _findings_cli(kube, aws, tmp_path, "prod-db", "-n", NS, "--severity", "high", "-o", "csv")
    assert result.returncode == 0, result.stderr
    header, *rows = list(csv.reader(io.StringIO(result.stdout)))
    assert header == ["SEVERITY", "VULNERABILITY", "RESOURCE", "ACCOUNT", "REGION", "FIRST SEEN", "TITLE"]
    high = [f for f in shown if SEVERITY_RANK[f["severity"]] <= 1]
    assert sorted(r[2] + r[1] for r in rows) == sorted(_resource(f) + _vuln(f) for f in high)

    # --new: after a sweep at AWS's now, nothing is new until Inspector finds something.
    now = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    patch = {"status": {"lastScanTime": now.strftime("%Y-%m-%dT%H:%M:%SZ")}}
    kube.custom.patch_namespaced_custom_object_status(GROUP, VERSION, NS, "scanschedules", "prod-db", patch)
    result = _findings_cli(kube, aws, tmp_path, "prod-db", "--new", "-o", "json")
    assert (result.returncode, result.stdout) == (0, "[]\n")
    aws.advance("1h")
    db = shown[0]
    new_finding = {
        "account": ACCOUNT,
        "region": db["region"],
        "resourceId": _resource(db),
        "vulnerabilityId": "CVE-2026-0001",
        "severity": "CRITICAL",
    }
    published = aws.admin("POST", "findings", new_finding)
    # New too, but suppressed: not shown.
    suppressed = {**new_finding, "vulnerabilityId": everywhere, "severity": "LOW", "package": "another-package"}
    aws.admin("POST", "findings", suppressed)
    result = _findings_cli(kube, aws, tmp_path, "prod-db", "--new", "-o", "json")
    assert result.returncode == 0, result.stderr
    assert [(f["findingArn"], f["firstObserved"]) for f in json.loads(result.stdout)] == [
        (published["findingArn"], "2026-01-05T13:00:00Z")
    ]
