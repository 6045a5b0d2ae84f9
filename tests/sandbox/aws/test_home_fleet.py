"""The home account (the sandbox's own credentials, as an operator running in its fleet's account through
IRSA uses) has a fleet of its own: plain boto3 with sandbox.env's values, no role assumed, sees it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from sreops.sandbox.aws.scenario import HOME_ACCOUNT, InstanceSpec
from sreops.sandbox.aws.server import AwsSandbox
from sreops.sandbox.envfile import write_env_file
from sreops.sandbox.seed import SAMPLES_DIR

REGIONS = ("us-west-2", "us-east-1")


@pytest.fixture
def own_session(sandbox: AwsSandbox, monkeypatch: pytest.MonkeyPatch) -> boto3.session.Session:
    """boto3 as a user with sandbox.env sourced: endpoint and keys from the environment, nothing else."""
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    for key, value in sandbox.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    return boto3.session.Session()


def _home(sandbox: AwsSandbox, region: str) -> list[InstanceSpec]:
    return [i for i in sandbox.scenario.instances if i.account == HOME_ACCOUNT and i.region == region]


def _findings(insp: Any, **kw: Any) -> list[dict[str, Any]]:
    return [f for page in insp.get_paginator("list_findings").paginate(**kw) for f in page["findings"]]


@pytest.mark.parametrize("region", REGIONS)
def test_own_credentials_see_instances_patch_states_and_findings(
    own_session: boto3.session.Session, sandbox: AwsSandbox, region: str
) -> None:
    home = _home(sandbox, region)
    assert len(home) >= 5

    ec2 = own_session.client("ec2", region_name=region)
    reservations = ec2.describe_instances()["Reservations"]
    described = {i["InstanceId"]: i for r in reservations for i in r["Instances"]}
    assert set(described) == {i.id for i in home}
    for spec in home:
        assert {t["Key"]: t["Value"] for t in described[spec.id]["Tags"]} == spec.tags

    ssm = own_session.client("ssm", region_name=region)
    pages = ssm.get_paginator("describe_instance_information").paginate()
    managed = {i["InstanceId"] for p in pages for i in p["InstanceInformationList"]}
    assert managed == {i.id for i in home if i.managed}

    states = {
        s["InstanceId"]: s
        for s in ssm.describe_instance_patch_states(InstanceIds=sorted(managed))["InstancePatchStates"]
    }
    assert set(states) == {i.id for i in home if i.managed and i.patches}
    for spec in home:
        if spec.id in states:
            missing = sum(1 for p in spec.patches if p.state == "Missing")
            assert states[spec.id]["MissingCount"] == missing
            assert states[spec.id]["PatchGroup"] == spec.tags["Patch Group"]
    assert sum(s["MissingCount"] for s in states.values()) > 0

    found = _findings(own_session.client("inspector2", region_name=region))
    assert {f["awsAccountId"] for f in found} == {HOME_ACCOUNT}
    assert sorted((f["resources"][0]["id"], f["packageVulnerabilityDetails"]["vulnerabilityId"]) for f in found) == (
        sorted((i.id, f.vulnerability_id) for i in home for f in i.findings)
    )
    assert any(f["severity"] in ("CRITICAL", "HIGH") for f in found)


def _sample(kind: str) -> dict[str, Any]:
    for path in sorted(SAMPLES_DIR.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc["kind"] == kind:
                return dict(doc["spec"])
    raise LookupError(kind)


def test_samples_without_account_ref_target_home_instances(own_session: boto3.session.Session) -> None:
    """The PatchPolicy and ScanSchedule samples, minus their accountRef, select instances of the home fleet
    in their regions: managed, of the policy's OS and patch group, with findings."""
    policy = _sample("PatchPolicy")
    for region in policy["regions"]:
        ssm = own_session.client("ssm", region_name=region)
        tag_filters = [{"Key": f"tag:{k}", "Values": [v]} for k, v in policy["targets"]["tags"].items()]
        selected = ssm.describe_instance_information(Filters=tag_filters)["InstanceInformationList"]
        assert selected, f"no home instance in {region} matches {policy['targets']}"
        ids = [i["InstanceId"] for i in selected]
        states = ssm.describe_instance_patch_states(InstanceIds=ids)["InstancePatchStates"]
        assert {s["PatchGroup"] for s in states} == {policy["patchGroup"]}
        ec2 = own_session.client("ec2", region_name=region)
        assert len(ec2.describe_instances(InstanceIds=ids)["Reservations"]) == len(ids)
    assert policy["operatingSystem"] == "AMAZON_LINUX_2023"
    assert all(i["PlatformName"] == "Amazon Linux" and i["PlatformVersion"] == "2023" for i in selected)

    scan = _sample("ScanSchedule")
    for region in scan["regions"]:
        insp = own_session.client("inspector2", region_name=region)
        tags = [{"comparison": "EQUALS", "key": k, "value": v} for k, v in scan["targets"]["tags"].items()]
        assert _findings(insp, filterCriteria={"resourceTags": tags})


SCRIPT = """
import json, boto3
ssm = boto3.client("ssm")
ids = [i["InstanceId"] for i in ssm.describe_instance_information()["InstanceInformationList"]]
print(json.dumps({
    "account": boto3.client("sts").get_caller_identity()["Account"],
    "instances": sum(len(r["Instances"]) for r in boto3.client("ec2").describe_instances()["Reservations"]),
    "patchStates": len(ssm.describe_instance_patch_states(InstanceIds=ids)["InstancePatchStates"]),
    "findings": sum(len(p["findings"]) for p in boto3.client("inspector2").get_paginator("list_findings").paginate()),
}))
"""


def test_a_shell_with_sandbox_env_sourced_sees_the_home_fleet(sandbox: AwsSandbox, tmp_path: Path) -> None:
    """Literally the README's other terminal: `set -a; . sandbox.env; set +a`, then boto3 with no arguments."""
    env_file = write_env_file(tmp_path, sandbox.env())
    clean = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}  # no AWS_* or profile from this machine
    out = subprocess.run(
        ["bash", "-c", f'set -a; . "{env_file}"; set +a; exec "{sys.executable}" -P -c "$0"', SCRIPT],
        env=clean,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    region = sandbox.env()["AWS_DEFAULT_REGION"]
    home = _home(sandbox, region)
    assert json.loads(out) == {
        "account": HOME_ACCOUNT,
        "instances": len(home),
        "patchStates": sum(1 for i in home if i.managed and i.patches),
        "findings": sum(len(i.findings) for i in home),
    }
