"""One AWS stand-in per test session (moto's state is process-global), on a random free port, with a
frozen simulated clock (speed 0) that tests move with `sandbox.advance(...)`.

Clients use botocore's standard retry mode with few attempts, as the operator will."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from sreops.sandbox.aws.scenario import (
    AccountSpec,
    FindingSpec,
    InstanceSpec,
    PatchSpec,
    ResourceSpec,
    Scenario,
    generate_scenario,
)
from sreops.sandbox.aws.server import AwsSandbox

PROD = "111122223333"
STAGING = "444455556666"
LAB = "333333333333"  # hand-made account with an external id and instances the tests mutate
LAB_ROLE = f"arn:aws:iam::{LAB}:role/sreops-lab"
LAB_EXTERNAL_ID = "lab-secret"
REGION = "us-west-2"
SCAN = "555566667777"  # hand-made account whose findings the Inspector lifecycle tests add and close
SCAN_ROLE = f"arn:aws:iam::{SCAN}:role/sreops"
SCAN_LAMBDA = f"arn:aws:lambda:{REGION}:{SCAN}:function:scan-fn"
OUTSIDER = "246802468024"  # a standalone account: not a member of the Inspector delegated administrator


def _hex(n: int) -> str:
    return f"i-{n:017x}"


def lab_instances() -> list[InstanceSpec]:
    """Small, fully known instances in the lab account (us-west-2)."""
    out = []
    for n in range(1, 13):
        patches = [
            PatchSpec(id=f"ALAS-{n}-1", title="openssl fix", classification="Security", severity="Critical"),
            PatchSpec(id=f"ALAS-{n}-2", title="curl fix", classification="Bugfix", severity="Medium"),
            PatchSpec(id=f"ALAS-{n}-3", title="done", state="Installed"),
        ]
        role = "web" if n <= 6 else "db"
        if n == 5:  # one web instance whose install fails on one patch
            patches[1] = PatchSpec(id="ALAS-5-2", title="broken", classification="Bugfix", fails=True)
        findings = [
            FindingSpec(
                vulnerability_id=f"CVE-2024-{1000 + n}",
                severity="CRITICAL",
                package="openssl",
                fixed_by_patch=f"ALAS-{n}-1",
            ),
            FindingSpec(vulnerability_id=f"CVE-2024-{2000 + n}", severity="LOW", package="bash"),
        ]
        out.append(
            InstanceSpec(
                id=_hex(n),
                account=LAB,
                region=REGION,
                os="AMAZON_LINUX_2023",
                name=f"lab-{n}",
                tags={"Role": role, "Env": "lab", "Patch Group": f"lab-{role}"},
                patches=patches,
                findings=findings,
                ping="ConnectionLost" if n == 12 else "Online",
            )
        )
    for n in range(20, 24):  # every run on these fails
        out.append(
            InstanceSpec(
                id=_hex(n),
                account=LAB,
                region=REGION,
                tags={"Role": "flaky"},
                command_outcome="Failed",
                patches=[PatchSpec(id="KB2")],
            )
        )
    out.append(
        InstanceSpec(
            id=_hex(24),
            account=LAB,
            region=REGION,
            tags={"Role": "hang"},
            command_outcome="TimedOut",
            patches=[PatchSpec(id="KB3")],
        )
    )
    out.append(
        InstanceSpec(
            id=_hex(99),
            account=LAB,
            region=REGION,
            tags={"Role": "web"},
            managed=False,
            not_scanned_reason="UNMANAGED_EC2_INSTANCE",
        )
    )
    # many db-role instances for pagination and the 50-id limit
    for n in range(100, 160):
        out.append(
            InstanceSpec(
                id=_hex(n),
                account=LAB,
                region="us-east-1",
                tags={"Role": "bulk"},
                patches=[PatchSpec(id="KB1", state="Installed")],
            )
        )
    return out


def scan_instances() -> list[InstanceSpec]:
    """Instances of the SCAN account (us-west-2): two missing patches each, a CRITICAL finding fixed by the
    first and a LOW one nothing fixes; one unmanaged instance Inspector does not scan."""
    out = [
        InstanceSpec(
            id=_hex(n),
            account=SCAN,
            region=REGION,
            name=f"scan-{n}",
            tags={"Role": "scan", "Env": "scan"},
            patches=[PatchSpec(id=f"ALAS-S{n}-1"), PatchSpec(id=f"ALAS-S{n}-2")],
            findings=[
                FindingSpec(
                    vulnerability_id=f"CVE-2025-{3000 + n}",
                    severity="CRITICAL",
                    package="openssl",
                    fixed_by_patch=f"ALAS-S{n}-1",
                ),
                FindingSpec(vulnerability_id=f"CVE-2025-{4000 + n}", severity="LOW", package="bash"),
            ],
        )
        for n in range(300, 304)
    ]
    out.append(
        InstanceSpec(
            id=_hex(399),
            account=SCAN,
            region=REGION,
            tags={"Role": "scan"},
            managed=False,
            not_scanned_reason="UNMANAGED_EC2_INSTANCE",
        )
    )
    return out


def make_scenario() -> Scenario:
    base = generate_scenario(seed=7)
    lab = AccountSpec(
        id=LAB,
        name="lab",
        role_arn=LAB_ROLE,
        external_id=LAB_EXTERNAL_ID,
        regions=[REGION, "us-east-1"],
        inspector_enabled=["EC2"],
    )
    scan = AccountSpec(id=SCAN, name="scan", role_arn=SCAN_ROLE, regions=[REGION], inspector_enabled=["EC2", "LAMBDA"])
    scan_fn = ResourceSpec(
        id=SCAN_LAMBDA, type="AWS_LAMBDA_FUNCTION", account=SCAN, region=REGION, tags={"Env": "scan"}
    )
    outsider = AccountSpec(
        id=OUTSIDER,
        name="outsider",
        role_arn=f"arn:aws:iam::{OUTSIDER}:role/sreops",
        regions=[REGION],
        inspector_member=False,
    )
    outsider_vm = InstanceSpec(
        id=_hex(500),
        account=OUTSIDER,
        region=REGION,
        tags={"Role": "outside"},
        findings=[FindingSpec(vulnerability_id="CVE-2025-5000", severity="HIGH", package="glibc")],
    )
    return Scenario(
        start_time=base.start_time,
        accounts=[*base.accounts, lab, scan, outsider],
        instances=[*base.instances, *lab_instances(), *scan_instances(), outsider_vm],
        resources=[*base.resources, scan_fn],
        inspector_admin=base.inspector_admin,  # the generated security account; every other account but OUTSIDER
    )


@pytest.fixture(scope="session")
def sandbox() -> Iterator[AwsSandbox]:
    sb = AwsSandbox(make_scenario(), port=0, speed=0)
    sb.start()
    yield sb
    sb.stop()


@pytest.fixture
def clean_faults(sandbox: AwsSandbox) -> Iterator[None]:
    sandbox.set_faults("")
    yield
    sandbox.set_faults("")


ClientFactory = Callable[..., Any]


@pytest.fixture(scope="session")
def client(sandbox: AwsSandbox) -> ClientFactory:
    """client(service, account=None, region=REGION, attempts=2): a boto3 client acting as `account`
    (assumed through STS like the operator does) or as the sandbox's own identity."""
    creds_cache: dict[str, dict[str, str]] = {}

    def make(service: str, account: str | None = None, region: str = REGION, attempts: int = 2) -> Any:
        config = Config(
            retries={"mode": "standard", "total_max_attempts": attempts}, connect_timeout=5, read_timeout=10
        )
        kw: dict[str, Any] = {"endpoint_url": sandbox.endpoint_url, "region_name": region, "config": config}
        if account is None:
            kw.update(sandbox.credentials)
        else:
            if account not in creds_cache:
                sts = boto3.client("sts", **kw, **sandbox.credentials)
                acct = sandbox.scenario.account(account)
                assert acct is not None
                args = {"RoleArn": acct.role_arn, "RoleSessionName": "tests"}
                if acct.external_id:
                    args["ExternalId"] = acct.external_id
                c = sts.assume_role(**args)["Credentials"]
                creds_cache[account] = {
                    "aws_access_key_id": c["AccessKeyId"],
                    "aws_secret_access_key": c["SecretAccessKey"],
                    "aws_session_token": c["SessionToken"],
                }
            kw.update(creds_cache[account])
        return boto3.client(service, **kw)

    return make
